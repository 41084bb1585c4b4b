//! Translation cost for the Cohere v2 dialect (a native format): building `/v2/chat` from the
//! typical OpenAI request, turning a complete answer into an OpenAI body, translating one
//! `content-delta` stream event into an OpenAI chunk.

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::chat_request;
use switchyard_providers::{
    dialect_for, AuthStyle, Call, DialectKind, Endpoint, ProviderEndpoint, ProviderKind, Secret,
};

/// The typical answer (same text and usage as `OPENAI_RESPONSE`) in Cohere's shape.
const COHERE_RESPONSE: &str = r#"{"id":"c14c80c3-18eb-4519-9460-6c92edd8cfb4","message":{"role":"assistant","content":[{"type":"text","text":"It is sunny in Paris today, around 21 degrees, with a light breeze from the west."}]},"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":57,"output_tokens":19},"tokens":{"input_tokens":120,"output_tokens":19}}}"#;

/// One `content-delta` event as Cohere sends it.
const COHERE_EVENT: &str = "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\" sunny\"}}}}\n\n";

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "cohere".into(),
        kind: ProviderKind::Cohere,
        authority: "api.cohere.com".into(),
        base_path: String::new(),
        api_key: Secret::new("co-bench"),
        headers: Vec::new(),
        stream_usage: false,
        auth: AuthStyle::Bearer,
        options: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let dialect = dialect_for(DialectKind::Cohere);
    let p = provider();
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let call = |body, stream| Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "command-a-03-2025",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut g = c.benchmark_group("cohere");
    g.bench_function("request/chat", |b| {
        b.iter(|| dialect.build_request(&p, &call(&plain, false)))
    });
    g.bench_function("response/json", |b| {
        let body = Bytes::from_static(COHERE_RESPONSE.as_bytes());
        b.iter(|| {
            let mut t = dialect.response_translator(&p, &call(&plain, false));
            let mut out = Vec::with_capacity(2);
            let _ = t.push(body.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box(t.usage())
        })
    });
    g.bench_function("stream/event", |b| {
        let event = Bytes::from_static(COHERE_EVENT.as_bytes());
        let mut t = dialect.response_translator(&p, &call(&streamed, true));
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            let _ = t.push(event.clone(), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

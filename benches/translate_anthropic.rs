//! Translation cost for the Anthropic dialect: building a Messages request from the typical
//! chat request, translating a typical `message` body, translating one stream event (a text
//! delta) into an OpenAI chunk.

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::chat_request;
use switchyard_providers::{
    dialect_for, AuthStyle, Call, DialectKind, Endpoint, ProviderEndpoint, ProviderKind, Secret,
};

/// A typical Anthropic answer, the same content as the OpenAI benchmark's response.
const RESPONSE: &str = r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"It is sunny in Paris today, around 21 degrees, with a light breeze from the west."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":57,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":19}}"#;

/// The start of a stream, fed once before measuring single events.
const STREAM_START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":57,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";

/// A typical stream event (one text delta).
const EVENT: &str = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" sunny\"}}\n\n";

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "anthropic".into(),
        kind: ProviderKind::Anthropic,
        authority: "api.anthropic.com".into(),
        base_path: "/v1".into(),
        api_key: Secret::new("sk-ant-bench"),
        headers: Vec::new(),
        stream_usage: false,
        auth: AuthStyle::Header("x-api-key"),
        options: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let dialect = dialect_for(DialectKind::Anthropic);
    let p = provider();
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let call = |body, stream| Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "claude-sonnet-4-5",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut g = c.benchmark_group("anthropic");
    g.bench_function("request/messages", |b| {
        b.iter(|| dialect.build_request(&p, &call(&plain, false)))
    });
    g.bench_function("response/json", |b| {
        let body = Bytes::from_static(RESPONSE.as_bytes());
        b.iter(|| {
            let mut t = dialect.response_translator(&p, &call(&plain, false));
            let mut out = Vec::with_capacity(1);
            let _ = t.push(body.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box((out, t.usage()))
        })
    });
    g.bench_function("stream/event", |b| {
        let event = Bytes::from_static(EVENT.as_bytes());
        let mut t = dialect.response_translator(&p, &call(&streamed, true));
        let mut out = Vec::with_capacity(2);
        let _ = t.push(Bytes::from_static(STREAM_START.as_bytes()), &mut out);
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

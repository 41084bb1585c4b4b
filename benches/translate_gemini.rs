//! Translation cost for the Gemini / Vertex AI dialect: mapping the typical chat request to
//! `generateContent`, rebuilding a typical answer as an OpenAI chat completion, and
//! translating one stream event into an OpenAI chunk.

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::chat_request;
use switchyard_providers::{
    dialect_for, AuthStyle, Call, DialectKind, Endpoint, ProviderEndpoint, ProviderKind, Secret,
};

/// A typical `generateContent` answer, the same content as the OpenAI bench's response.
const GEMINI_RESPONSE: &str = r#"{"candidates":[{"content":{"parts":[{"text":"It is sunny in Paris today, around 21 degrees, with a light breeze from the west."}],"role":"model"},"finishReason":"STOP","avgLogprobs":-0.05}],"usageMetadata":{"promptTokenCount":57,"candidatesTokenCount":19,"totalTokenCount":76,"promptTokensDetails":[{"modality":"TEXT","tokenCount":57}]},"modelVersion":"gemini-2.0-flash","responseId":"R5sqaJaWNrPYj8MPjK2X2Q4"}"#;

/// One streamed chunk (a content delta), CRLF-framed as Gemini sends it.
const GEMINI_EVENT: &str = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" sunny\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":57,\"totalTokenCount\":57},\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"R5sqaJaWNrPYj8MPjK2X2Q4\"}\r\n\r\n";

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "gemini".into(),
        kind: ProviderKind::Gemini,
        authority: "generativelanguage.googleapis.com".into(),
        base_path: "/v1beta".into(),
        api_key: Secret::new("AIza-bench"),
        headers: Vec::new(),
        stream_usage: false,
        auth: AuthStyle::Header("x-goog-api-key"),
        options: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    let dialect = dialect_for(DialectKind::Gemini);
    let p = provider();
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let call = |body, stream| Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "gemini-2.0-flash",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut g = c.benchmark_group("gemini");
    g.bench_function("request/chat", |b| {
        b.iter(|| dialect.build_request(&p, &call(&plain, false)))
    });
    g.bench_function("response/json", |b| {
        let body = Bytes::from_static(GEMINI_RESPONSE.as_bytes());
        b.iter(|| {
            let mut t = dialect.response_translator(&p, &call(&plain, false));
            let mut out = Vec::with_capacity(2);
            let _ = t.push(body.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box(t.usage())
        })
    });
    g.bench_function("stream/event", |b| {
        let event = Bytes::from_static(GEMINI_EVENT.as_bytes());
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

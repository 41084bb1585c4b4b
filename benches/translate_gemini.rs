//! Translation cost for the Gemini / Vertex AI dialect: mapping the typical chat request to
//! `generateContent`, rebuilding a typical answer as an OpenAI chat completion, and
//! translating one stream event into an OpenAI chunk.

use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{bench_dialect, DialectBench};
use switchyard_providers::{AuthStyle, ProviderEndpoint, ProviderKind, Secret};

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
    bench_dialect(
        c,
        &DialectBench {
            group: "gemini",
            request: "request/chat",
            provider: provider(),
            model: "gemini-2.0-flash",
            now: SystemTime::UNIX_EPOCH,
            response: Bytes::from_static(GEMINI_RESPONSE.as_bytes()),
            stream_prelude: None,
            event: Bytes::from_static(GEMINI_EVENT.as_bytes()),
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Translation cost for the Cohere v2 dialect (a native format): building `/v2/chat` from the
//! typical OpenAI request, turning a complete answer into an OpenAI body, translating one
//! `content-delta` stream event into an OpenAI chunk.

use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{bench_dialect, DialectBench};
use switchyard_providers::{AuthStyle, ProviderEndpoint, ProviderKind, Secret};

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
    bench_dialect(
        c,
        &DialectBench {
            group: "cohere",
            request: "request/chat",
            provider: provider(),
            model: "command-a-03-2025",
            now: SystemTime::UNIX_EPOCH,
            response: Bytes::from_static(COHERE_RESPONSE.as_bytes()),
            stream_prelude: None,
            event: Bytes::from_static(COHERE_EVENT.as_bytes()),
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Translation cost for the Anthropic dialect: building a Messages request from the typical
//! chat request, translating a typical `message` body, translating one stream event (a text
//! delta) into an OpenAI chunk.

use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{bench_dialect, DialectBench};
use switchyard_providers::{AuthStyle, ProviderEndpoint, ProviderKind, Secret};

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
    bench_dialect(
        c,
        &DialectBench {
            group: "anthropic",
            request: "request/messages",
            provider: provider(),
            model: "claude-sonnet-4-5",
            now: SystemTime::UNIX_EPOCH,
            response: Bytes::from_static(RESPONSE.as_bytes()),
            stream_prelude: Some(Bytes::from_static(STREAM_START.as_bytes())),
            event: Bytes::from_static(EVENT.as_bytes()),
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

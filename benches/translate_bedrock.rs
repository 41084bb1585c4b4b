//! Translation cost for the Bedrock dialect: building a signed Converse request, translating
//! a Converse answer, translating one ConverseStream event-stream frame.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{bench_dialect, DialectBench};
use switchyard_providers::bedrock::eventstream;
use switchyard_providers::{
    AuthStyle, AwsCredentials, ProviderEndpoint, ProviderKind, ProviderOptions, Secret,
};

const RESPONSE: &str = r#"{"output":{"message":{"role":"assistant","content":[{"text":"It is sunny in Paris today, around 21 degrees, with a light breeze from the west."}]}},"stopReason":"end_turn","usage":{"inputTokens":57,"outputTokens":19,"totalTokens":76},"metrics":{"latencyMs":412}}"#;

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "bedrock".into(),
        kind: ProviderKind::Bedrock,
        authority: "bedrock-runtime.us-east-1.amazonaws.com".into(),
        base_path: String::new(),
        api_key: Secret::default(),
        headers: Vec::new(),
        stream_usage: false,
        auth: AuthStyle::AwsSigV4,
        options: ProviderOptions {
            region: Some("us-east-1".into()),
            aws: Some(AwsCredentials {
                access_key_id: Secret::new("AKIDEXAMPLE"),
                secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                session_token: None,
            }),
            ..Default::default()
        },
    }
}

fn bench(c: &mut Criterion) {
    bench_dialect(
        c,
        &DialectBench {
            group: "bedrock",
            request: "request/signed",
            provider: provider(),
            model: "anthropic.claude-3-haiku-20240307-v1:0",
            now: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            response: Bytes::from_static(RESPONSE.as_bytes()),
            stream_prelude: None,
            event: Bytes::from(eventstream::event(
                "contentBlockDelta",
                br#"{"contentBlockIndex":0,"delta":{"text":" sunny"},"p":"abcdefgh"}"#,
            )),
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Translation cost for the Bedrock dialect: building a signed Converse request, translating
//! a Converse answer, translating one ConverseStream event-stream frame.

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::chat_request;
use switchyard_providers::bedrock::eventstream;
use switchyard_providers::{
    dialect_for, AuthStyle, AwsCredentials, Call, DialectKind, Endpoint, ProviderEndpoint,
    ProviderKind, ProviderOptions, Secret,
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
    let dialect = dialect_for(DialectKind::Bedrock);
    let p = provider();
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let call = |body, stream| Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "anthropic.claude-3-haiku-20240307-v1:0",
        stream,
        client_key: None,
        now: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    let mut g = c.benchmark_group("bedrock");
    g.bench_function("request/signed", |b| {
        b.iter(|| dialect.build_request(&p, &call(&plain, false)))
    });
    g.bench_function("response/json", |b| {
        let body = Bytes::from_static(RESPONSE.as_bytes());
        b.iter(|| {
            let mut t = dialect.response_translator(&p, &call(&plain, false));
            let mut out = Vec::with_capacity(2);
            let _ = t.push(body.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box(t.usage())
        })
    });
    g.bench_function("stream/event", |b| {
        let frame = Bytes::from(eventstream::event(
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"text":" sunny"},"p":"abcdefgh"}"#,
        ));
        let mut t = dialect.response_translator(&p, &call(&streamed, true));
        let mut out = Vec::with_capacity(2);
        b.iter(|| {
            out.clear();
            let _ = t.push(frame.clone(), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

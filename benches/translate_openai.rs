//! Translation cost for the OpenAI dialect (the passthrough family): building the upstream
//! request, forwarding a response body, forwarding one stream event.

use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{
    bench_dialect, call, chat_request, DialectBench, OPENAI_EVENT, OPENAI_RESPONSE,
};
use switchyard_providers::{
    dialect_for, AuthStyle, DialectKind, ProviderEndpoint, ProviderKind, Secret,
};

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "openai".into(),
        kind: ProviderKind::OpenAi,
        authority: "api.openai.com".into(),
        base_path: "/v1".into(),
        api_key: Secret::new("sk-bench"),
        headers: Vec::new(),
        stream_usage: true,
        auth: AuthStyle::Bearer,
        options: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    bench_dialect(
        c,
        &DialectBench {
            group: "openai",
            request: "request/same_model",
            provider: provider(),
            model: "gpt-4o-mini",
            now: SystemTime::UNIX_EPOCH,
            response: Bytes::from_static(OPENAI_RESPONSE.as_bytes()),
            stream_prelude: None,
            event: Bytes::from_static(OPENAI_EVENT.as_bytes()),
        },
    );
    // A route alias renames the model: the one edit a passthrough makes.
    let p = provider();
    let plain = chat_request(false);
    let dialect = dialect_for(DialectKind::OpenAi);
    c.benchmark_group("openai")
        .bench_function("request/alias_rewrite", |b| {
            b.iter(|| {
                dialect.build_request(&p, &call(&plain, false, "gpt-4o", SystemTime::UNIX_EPOCH))
            })
        });
}

criterion_group!(benches, bench);
criterion_main!(benches);

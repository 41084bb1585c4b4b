//! Translation cost for the Azure OpenAI dialect: OpenAI's passthrough on a deployment URL
//! (request with the path and `api-version` built, response body and one stream event).

use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{bench_dialect, DialectBench, OPENAI_EVENT, OPENAI_RESPONSE};
use switchyard_providers::{AuthStyle, ProviderEndpoint, ProviderKind, Secret};

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "azure".into(),
        kind: ProviderKind::AzureOpenAi,
        authority: "res.openai.azure.com".into(),
        base_path: String::new(),
        api_key: Secret::new("az-bench"),
        headers: Vec::new(),
        stream_usage: true,
        auth: AuthStyle::Header("api-key"),
        options: Default::default(),
    }
}

fn bench(c: &mut Criterion) {
    bench_dialect(
        c,
        &DialectBench {
            group: "azure_openai",
            request: "request/same_model",
            provider: provider(),
            model: "gpt-4o-mini",
            now: SystemTime::UNIX_EPOCH,
            response: Bytes::from_static(OPENAI_RESPONSE.as_bytes()),
            stream_prelude: None,
            event: Bytes::from_static(OPENAI_EVENT.as_bytes()),
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

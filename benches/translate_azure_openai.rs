//! Translation cost for the Azure OpenAI dialect: OpenAI's passthrough on a deployment URL
//! (request with the path and `api-version` built, response body and one stream event).

use std::hint::black_box;
use std::time::SystemTime;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_benches::{chat_request, OPENAI_EVENT, OPENAI_RESPONSE};
use switchyard_providers::{
    dialect_for, AuthStyle, Call, DialectKind, Endpoint, ProviderEndpoint, ProviderKind, Secret,
};

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
    let dialect = dialect_for(DialectKind::AzureOpenAi);
    let p = provider();
    let plain = chat_request(false);
    let streamed = chat_request(true);
    let call = |body, stream, model| Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model,
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH,
    };
    let mut g = c.benchmark_group("azure_openai");
    g.bench_function("request/same_model", |b| {
        b.iter(|| dialect.build_request(&p, &call(&plain, false, "gpt-4o-mini")))
    });
    g.bench_function("response/json", |b| {
        let body = Bytes::from_static(OPENAI_RESPONSE.as_bytes());
        b.iter(|| {
            let mut t = dialect.response_translator(&p, &call(&plain, false, "gpt-4o-mini"));
            let mut out = Vec::with_capacity(2);
            let _ = t.push(body.clone(), &mut out);
            let _ = t.finish(&mut out);
            black_box(t.usage())
        })
    });
    g.bench_function("stream/event", |b| {
        let event = Bytes::from_static(OPENAI_EVENT.as_bytes());
        let mut t = dialect.response_translator(&p, &call(&streamed, true, "gpt-4o-mini"));
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

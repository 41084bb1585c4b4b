//! The model catalog on the hot path: looking a model up by the forms providers report (an id,
//! an alias, a Bedrock profile that falls back to its base model, a Vertex AI resource name, a
//! miss), the cost of one request, and building the `/v1/models` list once per config.

// The inputs are constants: a failure to load one is a bug in the benchmark, and aborting the
// run loudly is the right answer.
#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchyard_config::catalog::listing::model_list;
use switchyard_config::catalog::{Catalog, TokenCounts};
use switchyard_providers::ProviderKind;

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("the built-in catalog loads");
    let cases = [
        ("id", ProviderKind::OpenAi, "gpt-4o"),
        (
            "alias",
            ProviderKind::Anthropic,
            "claude-sonnet-4-5-20250929",
        ),
        (
            "bedrock_profile_fallback",
            ProviderKind::Bedrock,
            "us.meta.llama3-3-70b-instruct-v1:0",
        ),
        (
            "vertex_resource_name",
            ProviderKind::VertexAi,
            "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro",
        ),
        ("miss", ProviderKind::OpenAi, "gpt-unknown-2030-01-01"),
    ];
    let mut g = c.benchmark_group("catalog_lookup");
    for (name, kind, model) in cases {
        g.bench_function(name, |b| {
            b.iter(|| catalog.get(black_box(kind), black_box(model)).is_some())
        });
    }
    g.finish();

    let tokens = TokenCounts::openai(12_000, 800, 10_000, 300);
    c.bench_function("catalog_cost/lookup_and_cost", |b| {
        b.iter(|| {
            catalog
                .cost(
                    black_box(ProviderKind::OpenAi),
                    black_box("gpt-4o-2024-08-06"),
                    black_box(&tokens),
                )
                .map(|c| c.total())
        })
    });
}

fn listing(c: &mut Criterion) {
    let config = switchyard_config::load_str(
        "providers:\n  oa: { kind: openai }\n  claude: { kind: anthropic, api_key: k }\nroutes:\n  fast: { targets: [ { provider: oa, model: gpt-4o } ] }\n",
        "bench.yaml",
        &|_| None,
    )
    .expect("the bench config loads");
    c.bench_function("catalog_listing/model_list_and_json", |b| {
        b.iter(|| model_list(black_box(&config), 0).to_json().map(|v| v.len()))
    });
}

criterion_group!(benches, lookups, listing);
criterion_main!(benches);

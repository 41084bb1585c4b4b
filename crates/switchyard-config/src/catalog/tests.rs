//! The built-in catalog, lookups by the forms providers report, overrides from a config, and
//! costs per provider convention on real catalog prices.

use super::listing::{model_list, model_object};
use super::*;
use crate::{load_str, Config, ConfigError};

fn builtin() -> Arc<Catalog> {
    Catalog::builtin().unwrap()
}

fn kind(name: &str) -> ProviderKind {
    ProviderKind::from_name(name).unwrap()
}

fn usd(rate: Option<Rate>) -> f64 {
    rate.unwrap().usd_per_million()
}

fn load(text: &str) -> Config {
    load_str(text, "test.yaml", &|_| None).unwrap()
}

fn one_error(text: &str) -> ConfigError {
    let mut errs = load_str(text, "test.yaml", &|_| None).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.remove(0)
}

/// The kinds the catalog must cover: every native dialect and the large OpenAI-compatible
/// providers.
const COVERED: &[&str] = &[
    "openai",
    "anthropic",
    "gemini",
    "vertex-ai",
    "bedrock",
    "azure-openai",
    "cohere",
    "groq",
    "mistral",
    "deepseek",
    "together",
    "fireworks",
    "xai",
    "perplexity",
    "cerebras",
    "deepinfra",
    "openrouter",
];

#[test]
fn the_embedded_catalog_loads_and_every_covered_kind_has_a_cited_block() {
    let c = builtin();
    assert!((80..=200).contains(&c.len()), "{} models", c.len());
    for name in COVERED {
        let k = kind(name);
        let s = c.source(k).unwrap_or_else(|| panic!("no block for {name}"));
        assert!(
            s.pricing_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            "{name}"
        );
        assert!(s.retrieved.is_some() && s.figures.is_some(), "{name}");
        let models: Vec<_> = c.models_of(k).collect();
        assert!(!models.is_empty(), "{name} has no model");
        for m in models {
            assert!(m.pricing.base.input.is_some(), "{name}/{}", m.id);
            assert_eq!(
                m.pricing.base.output.is_some(),
                !m.is_embedding(),
                "{name}/{}",
                m.id
            );
            if let (Some(ctx), Some(out)) = (m.context_window, m.max_output_tokens) {
                assert!(out < ctx, "{name}/{}", m.id);
            }
        }
    }
    // Every block in the file is one of a known kind with a source.
    assert!(c.sources().iter().all(|s| s.pricing_url.is_some()));
    // Context windows are known for all but these (neither source gives Together's).
    let unknown: Vec<&str> = c
        .models()
        .iter()
        .filter(|m| m.context_window.is_none())
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        unknown,
        [
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
            "meta-llama/Llama-4-Scout-17B-16E-Instruct"
        ]
    );
}

#[test]
fn bedrock_covers_anthropic_nova_llama_and_mistral() {
    let c = builtin();
    for family in ["anthropic.claude", "amazon.nova", "meta.llama", "mistral."] {
        assert!(
            c.models_of(kind("bedrock"))
                .any(|m| m.id.starts_with(family)),
            "{family}"
        );
    }
}

#[test]
fn embedding_models_are_priced_per_input_token() {
    let c = builtin();
    let m = c.get(kind("openai"), "text-embedding-3-small").unwrap();
    assert!(m.is_embedding());
    assert_eq!(usd(m.pricing.base.input), 0.02);
    let cost = m.cost(&TokenCounts::openai(1_000, 0, 0, 0)).unwrap();
    assert_eq!(cost.total(), NanoUsd(20_000));
    for k in ["gemini", "bedrock", "cohere", "mistral"] {
        assert!(c.models_of(kind(k)).any(ModelInfo::is_embedding), "{k}");
    }
}

#[test]
fn lookups_accept_the_forms_providers_report() {
    let c = builtin();
    let id = |k: &str, m: &str| c.get(kind(k), m).map(|m| m.id.as_str());
    // Documented snapshots of an alias; an older snapshot priced apart is not guessed.
    assert_eq!(id("openai", "gpt-4o-2024-08-06"), Some("gpt-4o"));
    assert_eq!(id("openai", "gpt-4o-2024-05-13"), None);
    assert_eq!(
        id("anthropic", "claude-sonnet-4-5-20250929"),
        Some("claude-sonnet-4-5")
    );
    // Gemini's `models/` prefix and Vertex AI's resource names.
    assert_eq!(
        id("gemini", "models/gemini-2.5-flash"),
        Some("gemini-2.5-flash")
    );
    assert_eq!(
        id(
            "vertex-ai",
            "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro"
        ),
        Some("gemini-2.5-pro")
    );
    assert_eq!(id("gemini", "models/nope"), None);
    // Bedrock: geographic profiles of Claude 4.5 have entries of their own (10% more),
    // global ones are aliases of the base model, others fall back to the base model.
    let sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    let us = c.get(kind("bedrock"), &format!("us.{sonnet}")).unwrap();
    let global = c.get(kind("bedrock"), &format!("global.{sonnet}")).unwrap();
    assert_eq!(
        (usd(us.pricing.base.input), usd(global.pricing.base.input)),
        (3.3, 3.0)
    );
    assert_eq!(global.id, sonnet);
    assert_eq!(
        id("bedrock", "us.meta.llama3-3-70b-instruct-v1:0"),
        Some("meta.llama3-3-70b-instruct-v1:0")
    );
    assert_eq!(
        id(
            "bedrock",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
        ),
        Some("amazon.nova-pro-v1:0")
    );
    assert_eq!(
        id(
            "bedrock",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
        ),
        Some("us.anthropic.claude-haiku-4-5-20251001-v1:0")
    );
    // Kinds do not share models; other kinds strip nothing.
    assert_eq!(id("groq", "gpt-4o"), None);
    assert_eq!(id("openai", "models/gpt-4o"), None);
    assert_eq!(id("ollama", "llama3.2"), None);
}

#[test]
fn costs_follow_each_provider_convention_on_catalog_prices() {
    let c = builtin();
    // OpenAI gpt-4o ($2.50 / $1.25 cached / $10): cached tokens inside prompt_tokens.
    let cost = c
        .cost(
            kind("openai"),
            "gpt-4o-2024-11-20",
            &TokenCounts::openai(10_000, 1_000, 8_000, 0),
        )
        .unwrap();
    assert_eq!(
        (cost.input, cost.cached_input, cost.output),
        (NanoUsd(5_000_000), NanoUsd(10_000_000), NanoUsd(10_000_000))
    );
    // Anthropic claude-sonnet-4-5 ($3 / $0.30 read / $3.75 write / $15): reads and writes apart.
    let cost = c
        .cost(
            kind("anthropic"),
            "claude-sonnet-4-5",
            &TokenCounts::anthropic(100, 500, 20_000, 4_000),
        )
        .unwrap();
    assert_eq!(
        cost.total(),
        NanoUsd(300_000 + 6_000_000 + 15_000_000 + 7_500_000)
    );
    // Bedrock's Converse counts the same way, at the profile's price.
    let cost = c
        .cost(
            kind("bedrock"),
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            &TokenCounts::bedrock_converse(1_000, 0, 0, 0),
        )
        .unwrap();
    assert_eq!(cost.total(), NanoUsd(3_300_000));
    // Gemini 2.5 Pro: thoughts are output; above 200K prompt tokens the long-context prices.
    let m = c.get(kind("gemini"), "gemini-2.5-pro").unwrap();
    let short = m.cost(&TokenCounts::gemini(1_000, 100, 0, 900)).unwrap();
    assert_eq!(short.output, NanoUsd(1_000 * 10_000));
    let long = m.cost(&TokenCounts::gemini(300_000, 0, 0, 0)).unwrap();
    assert!(long.long_context);
    assert_eq!(long.input, NanoUsd(300_000 * 2_500));
    // Unknown models are unpriced, never free.
    assert_eq!(
        c.cost(kind("openai"), "gpt-unknown", &TokenCounts::default()),
        Err(Unpriced::UnknownModel)
    );
}

#[test]
fn rates_are_exact_and_refuse_nonsense() {
    let r = Rate::from_usd_per_million(2.5).unwrap();
    assert_eq!(r.pico_usd_per_token(), 2_500_000);
    assert_eq!(r.usd_per_token_string(), "0.0000025");
    assert_eq!(
        Rate::from_usd_per_million(0.01875)
            .unwrap()
            .usd_per_token_string(),
        "0.00000001875"
    );
    assert_eq!(
        Rate::from_usd_per_million(0.0)
            .unwrap()
            .usd_per_token_string(),
        "0"
    );
    assert_eq!(
        Rate::from_usd_per_million(1_000_000.0)
            .unwrap()
            .usd_per_token_string(),
        "1"
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY, 2_000_000.0, 0.000_000_1] {
        assert!(Rate::from_usd_per_million(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_config_without_catalog_shares_the_builtin_one() {
    let c = load("");
    assert!(Arc::ptr_eq(&c.catalog, &builtin()));
}

#[test]
fn a_config_overrides_prices_field_by_field_and_adds_models() {
    let c = load(
        r#"
catalog:
  providers:
    openai:
      models:
        gpt-4o: { price: { input: 2.0 }, aliases: [my-gpt4o-deployment] }
        gpt-4o-2024-05-13:
          price: { input: 5, output: 15 }
          context_window: 128000
    vllm:
      models:
        my-llama:
          price: { input: 0, output: 0 }
          modalities: { input: [text, image] }
"#,
    );
    let cat = &c.catalog;
    let gpt4o = cat.get(kind("openai"), "gpt-4o").unwrap();
    assert_eq!(usd(gpt4o.pricing.base.input), 2.0);
    assert_eq!(usd(gpt4o.pricing.base.output), 10.0);
    assert_eq!(usd(gpt4o.pricing.base.cached_input), 1.25);
    assert_eq!(
        cat.get(kind("openai"), "my-gpt4o-deployment")
            .map(|m| &m.id),
        Some(&gpt4o.id)
    );
    assert_eq!(
        cat.get(kind("openai"), "gpt-4o-2024-08-06")
            .map(|m| m.id.as_str()),
        Some("gpt-4o")
    );
    let old = cat.get(kind("openai"), "gpt-4o-2024-05-13").unwrap();
    assert_eq!(usd(old.pricing.base.input), 5.0);
    let local = cat.get(kind("vllm"), "my-llama").unwrap();
    assert_eq!(
        local
            .cost(&TokenCounts::openai(100, 100, 0, 0))
            .unwrap()
            .total(),
        NanoUsd(0)
    );
    assert!(local.input_modalities.contains(Modality::Image));
    assert_eq!(local.output_modalities, Modalities::TEXT);
    // Everything else is the built-in catalog.
    assert_eq!(cat.len(), builtin().len() + 2);
    assert_eq!(
        cat.get(kind("anthropic"), "claude-haiku-4-5"),
        builtin().get(kind("anthropic"), "claude-haiku-4-5")
    );
}

#[test]
fn a_new_model_takes_over_a_builtin_alias() {
    let c = load(
        "catalog:\n  providers:\n    openai:\n      models:\n        gpt-4o-2024-11-20: { price: { input: 9, output: 9 } }\n",
    );
    let m = c.catalog.get(kind("openai"), "gpt-4o-2024-11-20").unwrap();
    assert_eq!(m.id, "gpt-4o-2024-11-20");
    let base = c.catalog.get(kind("openai"), "gpt-4o").unwrap();
    assert!(!base.aliases.iter().any(|a| a == "gpt-4o-2024-11-20"));
}

#[test]
fn replace_mode_keeps_only_the_configs_models() {
    let c = load(
        "catalog:\n  mode: replace\n  providers:\n    openai:\n      models:\n        gpt-4o: { price: { input: 1, output: 2 } }\n",
    );
    assert_eq!(c.catalog.len(), 1);
    assert!(c
        .catalog
        .get(kind("anthropic"), "claude-haiku-4-5")
        .is_none());
    assert_eq!(
        c.catalog.get(kind("openai"), "gpt-4o").unwrap().aliases,
        Vec::<String>::new()
    );
}

#[test]
fn catalog_errors_name_file_line_and_field() {
    let cases = [
        ("catalog:\n  providers:\n    martian: { models: {} }\n", 3, "catalog.providers.martian", "unknown provider kind"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        gpt-4o:\n          price: { input: -1 }\n", 6, "catalog.providers.openai.models.gpt-4o.price.input", "not a price"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        x:\n          price: { input: 0.0000001 }\n", 6, "catalog.providers.openai.models.x.price.input", "six decimal places"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        x:\n          modalities: { input: [smell] }\n", 6, "catalog.providers.openai.models.x.modalities.input", "unknown modality"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        text-embedding-3-small:\n          price: { output: 1 }\n", 6, "catalog.providers.openai.models.text-embedding-3-small.price.output", "per input token"),
        ("catalog:\n  mode: merge\n", 2, "catalog.mode", "`extend` or `replace`"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        x: { colour: red }\n", 5, "catalog.providers.openai.models.x.colour", "unknown field `colour`"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        x: { aliases: [gpt-4o] }\n", 5, "catalog.providers.openai.models.x.aliases", "names both"),
        ("catalog:\n  providers:\n    openai:\n      retrieved: yesterday\n", 4, "catalog.providers.openai.retrieved", "YYYY-MM-DD"),
        ("catalog:\n  providers:\n    openai:\n      models:\n        x:\n          long_context: { above: 0, input: 1 }\n", 6, "catalog.providers.openai.models.x.long_context.above", "greater than zero"),
    ];
    for (text, line, field, message) in cases {
        let e = one_error(text);
        assert_eq!(e.file, "test.yaml");
        assert_eq!(e.line, Some(line), "{text}\n→ {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{text}\n→ {e}");
        assert!(e.message.contains(message), "{text}\n→ {e}");
    }
}

const LISTED: &str = r#"
providers:
  oa: { kind: openai, models: [gpt-4o, my-model] }
  claude: { kind: anthropic, api_key: k }
  also: { kind: openai, models: [my-model] }
routes:
  fast: { targets: [ { provider: oa, model: gpt-4o-2024-08-06 } ] }
  mixed:
    strategy: fallback
    targets:
      - { provider: oa, model: gpt-4o }
      - { provider: claude, model: claude-sonnet-4-5 }
  opaque: { targets: [ { provider: oa } ] }
"#;

#[test]
fn the_models_list_has_routes_provider_models_and_unambiguous_bare_names() {
    let c = load(LISTED);
    let list = model_list(&c, 1_700_000_000);
    let ids: Vec<&str> = list.data().iter().map(|o| o.id.as_str()).collect();
    assert_eq!(&ids[..3], ["fast", "mixed", "opaque"]);
    assert!(ids.contains(&"oa/gpt-4o") && ids.contains(&"oa/my-model"));
    assert!(ids.contains(&"also/my-model"));
    // A provider without `models:` lists its kind's catalog models.
    assert!(ids.contains(&"claude/claude-sonnet-4-5"));
    assert_eq!(
        ids.iter().filter(|i| i.starts_with("claude/")).count(),
        c.catalog.models_of(kind("anthropic")).count()
    );
    // Bare names: only those one provider lists.
    assert!(ids.contains(&"gpt-4o") && !ids.contains(&"my-model"));

    let gpt4o = list.get("oa/gpt-4o").unwrap();
    assert_eq!(
        (gpt4o.object, gpt4o.created, gpt4o.owned_by.as_str()),
        ("model", 1_700_000_000, "oa")
    );
    assert_eq!(gpt4o.context_length, Some(128_000));
    let p = gpt4o.pricing.as_ref().unwrap();
    assert_eq!(
        (p.prompt.as_str(), p.completion.as_str()),
        ("0.0000025", "0.00001")
    );
    assert_eq!(p.input_cache_read.as_deref(), Some("0.00000125"));
    assert_eq!(
        gpt4o.architecture.as_ref().unwrap().modality,
        "text+image->text"
    );
    // A route over one model describes it; over different prices, limits but no price.
    let fast = list.get("fast").unwrap();
    assert_eq!(fast.owned_by, "switchyard");
    assert_eq!(fast.pricing, gpt4o.pricing);
    let mixed = list.get("mixed").unwrap();
    assert_eq!(mixed.context_length, Some(128_000));
    assert_eq!(mixed.pricing, None);
    assert_eq!(
        mixed.top_provider.as_ref().unwrap().max_completion_tokens,
        Some(16_384)
    );
    // A target sending the client's model (`opaque`) is not in the catalog: plain object.
    let opaque = list.get("opaque").unwrap();
    assert!(opaque.context_length.is_none() && opaque.architecture.is_none());
    // Unknown models are listed plainly.
    assert_eq!(list.get("oa/my-model").unwrap().pricing, None);

    let body: serde_json::Value = serde_json::from_slice(&list.to_json().unwrap()).unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["id"], "fast");
    assert_eq!(body["data"][0]["pricing"]["prompt"], "0.0000025");
    assert!(body["data"][2].get("pricing").is_none());
}

#[test]
fn any_routable_id_has_a_model_object() {
    let c = load(LISTED);
    let o = model_object(&c, "oa/gpt-4o-2024-11-20", 1).unwrap();
    assert_eq!(o.context_length, Some(128_000));
    assert_eq!(model_object(&c, "fast", 1).unwrap().owned_by, "switchyard");
    assert_eq!(model_object(&c, "gpt-4o", 1).unwrap().owned_by, "oa");
    assert!(model_object(&c, "my-model", 1).is_none());
    assert!(model_object(&c, "nobody/gpt-4o", 1).is_none());
    assert!(model_object(&c, "oa/", 1).is_none());
    let e = model_object(&c, "claude/claude-haiku-4-5-20251001", 1).unwrap();
    assert_eq!(e.top_provider.unwrap().max_completion_tokens, Some(64_000));
}

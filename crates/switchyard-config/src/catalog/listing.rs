//! The entries of `GET /v1/models` and `GET /v1/models/{id}`, computed from the config and
//! its catalog. Pure: the gateway builds the list once per config and serves it.
//!
//! Each entry is OpenAI's model object (`id`, `object: "model"`, `created`, `owned_by`) plus,
//! when the catalog knows the model, the fields OpenRouter's models API uses (the common
//! shape clients such as Open WebUI, LibreChat and the OpenRouter SDKs read):
//! `context_length`, `architecture.{modality, input_modalities, output_modalities}`,
//! `pricing.{prompt, completion, input_cache_read, input_cache_write}` (USD per token, as
//! decimal strings) and `top_provider.{context_length, max_completion_tokens}`.
//!
//! What is listed, in this order, each id once:
//! 1. every route, owned by `switchyard`;
//! 2. every provider's models as `provider/model`, owned by the provider: the models its
//!    `models:` lists, or, when it lists none, the catalog's models of its kind;
//! 3. each model named in exactly one provider's `models:` under its bare name (the names
//!    the router resolves without a provider).
//!
//! A route carries catalog fields when every target it can reach resolves to a catalog
//! model: the smallest context window and completion limit, the modalities all share, and
//! the prices only when all targets cost the same.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use switchyard_providers::ProviderKind;

use super::{Modalities, Modality, ModelInfo, Pricing, Rate};
use crate::model::Config;
use crate::route::{NodeKind, RouteNode, TargetProvider};

/// One model object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModelObject {
    /// What a client sends as `model`.
    pub id: String,
    /// Always `"model"`.
    pub object: &'static str,
    /// Unix time (the caller's; the gateway passes its start time).
    pub created: u64,
    /// `switchyard` for routes, else the provider's config name.
    pub owned_by: String,
    /// Largest prompt plus completion, in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// Modalities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// Prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<PricingObject>,
    /// Limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_provider: Option<TopProvider>,
}

/// OpenRouter's `architecture`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Architecture {
    /// `text+image->text`.
    pub modality: String,
    /// `text`, `image`, `audio`, `video`.
    pub input_modalities: Vec<&'static str>,
    /// `text`, `image`, `audio`, `embeddings`.
    pub output_modalities: Vec<&'static str>,
}

/// OpenRouter's `pricing`: USD per token as decimal strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricingObject {
    /// Uncached prompt tokens.
    pub prompt: String,
    /// Generated tokens (`"0"` for embedding models).
    pub completion: String,
    /// Prompt tokens read from cache, when priced apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_cache_read: Option<String>,
    /// Prompt tokens written to cache, when priced apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_cache_write: Option<String>,
}

/// OpenRouter's `top_provider`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopProvider {
    /// Largest prompt plus completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    /// Largest completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
}

/// The whole list, indexed by id.
#[derive(Clone, Debug, Default)]
pub struct ModelList {
    data: Vec<ModelObject>,
    by_id: HashMap<String, usize>,
}

impl ModelList {
    /// The entries, in listing order.
    pub fn data(&self) -> &[ModelObject] {
        &self.data
    }

    /// A listed entry (`GET /v1/models/{id}`). For a routable id that is not listed (any
    /// `provider/model`), use [`model_object`].
    pub fn get(&self, id: &str) -> Option<&ModelObject> {
        self.by_id.get(id).and_then(|&i| self.data.get(i))
    }

    /// The `GET /v1/models` body: `{"object":"list","data":[…]}`.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Body<'a> {
            object: &'static str,
            data: &'a [ModelObject],
        }
        serde_json::to_vec(&Body {
            object: "list",
            data: &self.data,
        })
    }

    fn push(&mut self, o: ModelObject) {
        if !self.by_id.contains_key(&o.id) {
            self.by_id.insert(o.id.clone(), self.data.len());
            self.data.push(o);
        }
    }
}

/// Everything `GET /v1/models` lists for `config`, with `created` as every entry's time.
pub fn model_list(config: &Config, created: u64) -> ModelList {
    let mut list = ModelList::default();
    for r in &config.routes {
        list.push(route_object(config, &r.name, &r.node, created));
    }
    let mut listed_by: HashMap<&str, usize> = HashMap::new();
    for p in &config.providers {
        for m in &p.models {
            *listed_by.entry(m.as_str()).or_default() += 1;
        }
    }
    for p in &config.providers {
        let catalog_ids: Vec<&str>;
        let models: Vec<&str> = if p.models.is_empty() {
            catalog_ids = config
                .catalog
                .models_of(p.kind)
                .map(|m| m.id.as_str())
                .collect();
            catalog_ids
        } else {
            p.models.iter().map(String::as_str).collect()
        };
        for m in models {
            let info = config.catalog.get(p.kind, m);
            list.push(object(format!("{}/{m}", p.name), &p.name, created, info));
        }
    }
    for p in &config.providers {
        for m in &p.models {
            if listed_by.get(m.as_str()) == Some(&1) {
                let info = config.catalog.get(p.kind, m);
                list.push(object(m.clone(), &p.name, created, info));
            }
        }
    }
    list
}

/// The model object for any id a client may send, listed or not: a route, `provider/model`
/// (any model of a configured provider), or a bare model name one provider lists — resolved
/// in the router's order.
pub fn model_object(config: &Config, id: &str, created: u64) -> Option<ModelObject> {
    if let Some(r) = config.route(id) {
        return Some(route_object(config, &r.name, &r.node, created));
    }
    if let Some((provider, model)) = id.split_once('/') {
        if let Some(p) = config
            .provider_id(provider)
            .and_then(|i| config.provider(i))
        {
            if !model.is_empty() {
                let info = config.catalog.get(p.kind, model);
                return Some(object(id.to_owned(), &p.name, created, info));
            }
        }
    }
    let mut owners = config
        .providers
        .iter()
        .filter(|p| p.models.iter().any(|m| m == id));
    match (owners.next(), owners.next()) {
        (Some(p), None) => Some(object(
            id.to_owned(),
            &p.name,
            created,
            config.catalog.get(p.kind, id),
        )),
        _ => None,
    }
}

fn object(id: String, owner: &str, created: u64, info: Option<&ModelInfo>) -> ModelObject {
    let mut o = ModelObject {
        id,
        object: "model",
        created,
        owned_by: owner.to_owned(),
        context_length: None,
        architecture: None,
        pricing: None,
        top_provider: None,
    };
    if let Some(m) = info {
        describe(
            &mut o,
            m.context_window,
            m.max_output_tokens,
            m.input_modalities,
            m.output_modalities,
            Some(&m.pricing),
        );
    }
    o
}

fn describe(
    o: &mut ModelObject,
    context: Option<u64>,
    max_output: Option<u64>,
    input: Modalities,
    output: Modalities,
    pricing: Option<&Pricing>,
) {
    o.context_length = context;
    let names = |m: Modalities| m.names();
    o.architecture = Some(Architecture {
        modality: format!("{}->{}", names(input).join("+"), names(output).join("+")),
        input_modalities: names(input),
        output_modalities: names(output),
    });
    o.pricing = pricing.and_then(|p| pricing_object(p, output.contains(Modality::Embedding)));
    o.top_provider = Some(TopProvider {
        context_length: context,
        max_completion_tokens: max_output,
    });
}

fn pricing_object(p: &Pricing, embedding: bool) -> Option<PricingObject> {
    let s = |r: Rate| r.usd_per_token_string();
    let completion = match (p.base.output, embedding) {
        (Some(r), _) => s(r),
        (None, true) => "0".to_owned(),
        (None, false) => return None,
    };
    Some(PricingObject {
        prompt: s(p.base.input?),
        completion,
        input_cache_read: p.base.cached_input.map(s),
        input_cache_write: p.base.cache_write.map(s),
    })
}

fn route_object(config: &Config, name: &str, node: &RouteNode, created: u64) -> ModelObject {
    let mut o = object(name.to_owned(), "switchyard", created, None);
    let mut leaves = Vec::new();
    collect_leaves(config, node, name, None, &mut leaves);
    let infos: Option<Vec<&ModelInfo>> = leaves
        .iter()
        .map(|(kind, model)| config.catalog.get(*kind, model))
        .collect();
    let Some(infos) = infos.filter(|i| !i.is_empty()) else {
        return o;
    };
    let min = |f: fn(&ModelInfo) -> Option<u64>| {
        infos
            .iter()
            .map(|m| f(m))
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().min())
    };
    let both = |f: fn(&ModelInfo) -> Modalities| {
        infos
            .iter()
            .map(|m| f(m))
            .fold(Modalities::ALL, Modalities::intersect)
    };
    let first = infos.first().map(|m| &m.pricing);
    let same_price = infos.iter().all(|m| Some(&m.pricing) == first);
    describe(
        &mut o,
        min(|m| m.context_window),
        min(|m| m.max_output_tokens),
        both(|m| m.input_modalities),
        both(|m| m.output_modalities),
        first.filter(|_| same_price),
    );
    o
}

/// Every target a route can reach, as (kind, model sent). A target without a `model` sends
/// the nearest `override_params.model` above it, else the client's, i.e. the route name.
fn collect_leaves(
    config: &Config,
    node: &RouteNode,
    route: &str,
    inherited: Option<&str>,
    out: &mut Vec<(ProviderKind, String)>,
) {
    let overridden = match node.settings.override_params.get("model") {
        Some(Value::String(m)) => Some(m.as_str()),
        _ => inherited,
    };
    match &node.kind {
        NodeKind::Target(t) => {
            let kind = match &t.provider {
                TargetProvider::Configured(id) => config.provider(*id).map(|p| p.kind),
                TargetProvider::Inline { kind, .. } => Some(*kind),
            };
            let model = t.model.as_deref().or(overridden).unwrap_or(route);
            if let Some(kind) = kind {
                out.push((kind, model.to_owned()));
            }
        }
        NodeKind::Group { children, .. } => {
            for c in children {
                collect_leaves(config, c, route, overridden, out);
            }
        }
    }
}

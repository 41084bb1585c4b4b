//! The model catalog: for each provider kind, the models it serves with their prices, context
//! window, largest completion and modalities.
//!
//! The built-in catalog is `conf/models.yaml`, embedded in the binary ([`BUILTIN_CATALOG`]) and
//! parsed once per process ([`Catalog::builtin`]); a config's `catalog:` section extends or
//! replaces it (validated in `validate/catalog.rs`, like every other section). The result is
//! an immutable [`Catalog`] held by [`crate::Config`].
//!
//! Lookups ([`Catalog::get`]) are two hash probes on a map built at load time, plus, for the
//! forms providers report back (Gemini's `models/…`, Vertex AI resource names, Bedrock ARNs
//! and cross-Region inference profiles), one or two more. Costs are computed by [`cost`];
//! the `/v1/models` answer by [`listing`].

pub mod cost;
pub mod listing;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};

use switchyard_providers::{DialectKind, ProviderKind};

use crate::errors::ConfigErrors;
pub use cost::{Cost, NanoUsd, TokenCounts, TokenKind, Unpriced};

/// The built-in catalog, `conf/models.yaml`.
pub const BUILTIN_CATALOG: &str = include_str!("../../../../conf/models.yaml");

/// The name shown for [`BUILTIN_CATALOG`] in error messages.
pub const BUILTIN_CATALOG_NAME: &str = "<embedded conf/models.yaml>";

/// A token price, held exactly as an integer number of pico-dollars per token — the same
/// number as micro-dollars per million tokens, so every published price (at most six decimals
/// of a dollar per million tokens) is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(u64);

impl Rate {
    /// The largest price accepted: $1,000,000 per million tokens (a dollar a token).
    pub const MAX_USD_PER_MILLION: f64 = 1_000_000.0;

    /// A price given in USD per million tokens, as pricing pages publish them. Refuses
    /// negative, non-finite and absurd values, and more than six decimal places.
    pub fn from_usd_per_million(usd: f64) -> Result<Self, String> {
        if !usd.is_finite() || usd < 0.0 {
            return Err(format!(
                "`{usd}` is not a price: use a number of USD (0 or more)"
            ));
        }
        if usd > Self::MAX_USD_PER_MILLION {
            return Err(format!(
                "`{usd}` USD per million tokens is more than a dollar a token"
            ));
        }
        let scaled = usd * 1e6;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 * scaled.max(1.0) {
            return Err(format!(
                "`{usd}` has more than six decimal places (prices are USD per million tokens)"
            ));
        }
        // In range: 0 ≤ rounded ≤ 1e12.
        Ok(Self(rounded as u64))
    }

    /// A price from pico-dollars per token.
    pub const fn from_pico_usd_per_token(pico: u64) -> Self {
        Self(pico)
    }

    /// Pico-dollars per token (= micro-dollars per million tokens).
    pub const fn pico_usd_per_token(self) -> u64 {
        self.0
    }

    /// USD per million tokens, for display.
    pub fn usd_per_million(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// USD per token as an exact decimal string (`2.50/M` → `"0.0000025"`), the form
    /// OpenRouter's models API uses.
    pub fn usd_per_token_string(self) -> String {
        let whole = self.0 / 1_000_000_000_000;
        let frac = self.0 % 1_000_000_000_000;
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:012}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}/M tokens", self.usd_per_million())
    }
}

/// The prices of one tier. An absent `cached_input` or `cache_write` means the provider does
/// not price those tokens apart: they cost `input`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    /// Prompt tokens neither read from nor written to a cache.
    pub input: Option<Rate>,
    /// Generated tokens, reasoning included.
    pub output: Option<Rate>,
    /// Prompt tokens read from the provider's cache.
    pub cached_input: Option<Rate>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write: Option<Rate>,
}

/// Prices that apply to the whole request once its prompt is larger than `above` tokens
/// (Gemini Pro, Claude with a 1M context, GPT-5.4+ beyond 272K, Grok beyond 128K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongContext {
    /// Prompt tokens (cached ones included) above which these prices apply.
    pub above: u64,
    /// The prices; absent fields follow the same rules as [`Rates`] within this tier.
    pub rates: Rates,
}

/// A model's prices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pricing {
    /// The standard prices.
    pub base: Rates,
    /// Prices for long prompts, when the provider charges more for them.
    pub long_context: Option<LongContext>,
}

impl Pricing {
    /// True when the model has no price at all.
    pub fn is_unpriced(&self) -> bool {
        self.base.input.is_none() && self.base.output.is_none()
    }

    /// The long-context tier, when a prompt of `prompt_tokens` tokens is above its threshold.
    pub fn long_tier(&self, prompt_tokens: u64) -> Option<&LongContext> {
        self.long_context
            .as_ref()
            .filter(|lc| prompt_tokens > lc.above)
    }

    /// The prices that apply to a prompt of `prompt_tokens` tokens.
    pub fn rates_for(&self, prompt_tokens: u64) -> &Rates {
        self.long_tier(prompt_tokens)
            .map_or(&self.base, |lc| &lc.rates)
    }
}

/// A kind of content a model takes or produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modality {
    /// Text.
    Text,
    /// Images.
    Image,
    /// Audio.
    Audio,
    /// Video (input only).
    Video,
    /// Embedding vectors (output only, and alone; `embeddings`, as OpenRouter names it).
    Embedding,
}

impl Modality {
    /// Every modality, in display order.
    pub const ALL: [Modality; 5] = [
        Modality::Text,
        Modality::Image,
        Modality::Audio,
        Modality::Video,
        Modality::Embedding,
    ];

    /// The name used in YAML and in `/v1/models`.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Text => "text",
            Modality::Image => "image",
            Modality::Audio => "audio",
            Modality::Video => "video",
            Modality::Embedding => "embeddings",
        }
    }

    /// Parses a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of modalities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Modalities(u8);

impl Modalities {
    /// No modality.
    pub const NONE: Modalities = Modalities(0);
    /// Text alone.
    pub const TEXT: Modalities = Modalities(1);
    /// Every modality.
    pub const ALL: Modalities = Modalities(0b1_1111);

    /// This set with `m` added.
    pub fn with(self, m: Modality) -> Self {
        Self(self.0 | m.bit())
    }

    /// Whether `m` is in the set.
    pub fn contains(self, m: Modality) -> bool {
        self.0 & m.bit() != 0
    }

    /// The modalities in both sets.
    pub fn intersect(self, other: Modalities) -> Self {
        Self(self.0 & other.0)
    }

    /// True for the empty set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in [`Modality::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Modality> {
        Modality::ALL.into_iter().filter(move |m| self.contains(*m))
    }

    /// The members' names.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Modality::name).collect()
    }
}

impl FromIterator<Modality> for Modalities {
    fn from_iter<I: IntoIterator<Item = Modality>>(iter: I) -> Self {
        iter.into_iter().fold(Modalities::NONE, Modalities::with)
    }
}

/// One model of the catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// The provider kind that serves it.
    pub kind: ProviderKind,
    /// The id the provider's API expects.
    pub id: String,
    /// Other ids the provider documents for it at the same price.
    pub aliases: Vec<String>,
    /// Its prices.
    pub pricing: Pricing,
    /// Largest prompt plus completion, in tokens.
    pub context_window: Option<u64>,
    /// Largest completion, in tokens, where published.
    pub max_output_tokens: Option<u64>,
    /// What it takes.
    pub input_modalities: Modalities,
    /// What it produces.
    pub output_modalities: Modalities,
    /// Where its figures come from, when not from its provider's block.
    pub source: Option<String>,
}

impl ModelInfo {
    /// A model with no price and no limits, taking and producing text.
    pub fn new(kind: ProviderKind, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            aliases: Vec::new(),
            pricing: Pricing::default(),
            context_window: None,
            max_output_tokens: None,
            input_modalities: Modalities::TEXT,
            output_modalities: Modalities::TEXT,
            source: None,
        }
    }

    /// True for an embedding model (priced per input token).
    pub fn is_embedding(&self) -> bool {
        self.output_modalities.contains(Modality::Embedding)
    }

    /// The cost of one request's tokens (see [`cost`] for the rules).
    pub fn cost(&self, tokens: &TokenCounts) -> Result<Cost, Unpriced> {
        self.pricing.cost(tokens)
    }
}

/// Where a provider kind's figures come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSource {
    /// The kind.
    pub kind: ProviderKind,
    /// Its public pricing page.
    pub pricing_url: Option<String>,
    /// When the figures were read (`YYYY-MM-DD`).
    pub retrieved: Option<String>,
    /// Where the figures come from, when not only from the pricing page.
    pub figures: Option<String>,
}

/// A hash map with foldhash's hasher: lookups hash a model id on every priced request, and
/// SipHash (std's default) costs several times more on ids of 10–80 bytes. Keys come from the
/// config, so flooding a bucket is not something a client can do.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The catalog: immutable once built, looked up on the hot path.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    models: Vec<ModelInfo>,
    /// Per kind: every id and alias → index into `models`.
    index: FastMap<ProviderKind, FastMap<Box<str>, usize>>,
    sources: Vec<ProviderSource>,
}

static BUILTIN: LazyLock<Result<Arc<Catalog>, ConfigErrors>> =
    LazyLock::new(|| crate::validate::catalog::builtin().map(Arc::new));

/// Prefixes of Bedrock's cross-Region inference profiles (`us.anthropic.claude-…`).
const BEDROCK_PROFILE_PREFIXES: &[&str] = &[
    "us.", "eu.", "apac.", "jp.", "au.", "ca.", "us-gov.", "global.",
];

impl Catalog {
    /// The built-in catalog, parsed and validated once per process.
    pub fn builtin() -> Result<Arc<Catalog>, ConfigErrors> {
        BUILTIN.clone()
    }

    /// Builds the lookup index. The caller (validation) has refused duplicate ids and aliases
    /// within a kind; should one slip through, the first model keeps it.
    pub(crate) fn new(models: Vec<ModelInfo>, sources: Vec<ProviderSource>) -> Self {
        let mut index: FastMap<ProviderKind, FastMap<Box<str>, usize>> = FastMap::default();
        for (i, m) in models.iter().enumerate() {
            let map = index.entry(m.kind).or_default();
            map.entry(m.id.as_str().into()).or_insert(i);
        }
        // Ids first, then aliases, so an id always wins over another model's alias.
        for (i, m) in models.iter().enumerate() {
            let map = index.entry(m.kind).or_default();
            for a in &m.aliases {
                map.entry(a.as_str().into()).or_insert(i);
            }
        }
        Self {
            models,
            index,
            sources,
        }
    }

    /// The model a provider of `kind` calls `model`: by id or alias, then in the forms
    /// providers report back — Gemini and Vertex AI names with a `models/` (or full resource)
    /// prefix, Bedrock ARNs, and Bedrock cross-Region inference profiles (`us.…`, `eu.…`,
    /// `global.…`) when the catalog has no entry of their own (geographic profiles of newer
    /// models cost more and are listed apart). Dated snapshots resolve only where the
    /// catalog lists them as aliases: a snapshot may be priced differently from its alias.
    pub fn get(&self, kind: ProviderKind, model: &str) -> Option<&ModelInfo> {
        let map = self.index.get(&kind)?;
        let find = |id: &str| map.get(id).and_then(|&i| self.models.get(i));
        if let Some(m) = find(model) {
            return Some(m);
        }
        match kind.info().dialect {
            DialectKind::Gemini => {
                let at = model.rfind("models/")?;
                find(&model[at + "models/".len()..])
            }
            DialectKind::Bedrock => {
                let id = model.rsplit_once('/').map_or(model, |(_, id)| id);
                if id.len() != model.len() {
                    if let Some(m) = find(id) {
                        return Some(m);
                    }
                }
                let base = BEDROCK_PROFILE_PREFIXES
                    .iter()
                    .find_map(|p| id.strip_prefix(p))?;
                find(base)
            }
            _ => None,
        }
    }

    /// The cost of one request's tokens on `model` of `kind`; [`Unpriced::UnknownModel`]
    /// when the catalog does not know the model.
    pub fn cost(
        &self,
        kind: ProviderKind,
        model: &str,
        tokens: &TokenCounts,
    ) -> Result<Cost, Unpriced> {
        self.get(kind, model)
            .ok_or(Unpriced::UnknownModel)?
            .cost(tokens)
    }

    /// Every model, kinds in catalog order.
    pub fn models(&self) -> &[ModelInfo] {
        &self.models
    }

    /// The models of one kind, in catalog order.
    pub fn models_of(&self, kind: ProviderKind) -> impl Iterator<Item = &ModelInfo> {
        self.models.iter().filter(move |m| m.kind == kind)
    }

    /// Where a kind's figures come from.
    pub fn source(&self, kind: ProviderKind) -> Option<&ProviderSource> {
        self.sources.iter().find(|s| s.kind == kind)
    }

    /// Every kind's source, in catalog order.
    pub fn sources(&self) -> &[ProviderSource] {
        &self.sources
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// True when the catalog has no model.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    pub(crate) fn into_parts(self) -> (Vec<ModelInfo>, Vec<ProviderSource>) {
        (self.models, self.sources)
    }
}

#[cfg(test)]
mod tests;

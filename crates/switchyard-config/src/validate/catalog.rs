//! Lowering the built-in `conf/models.yaml` and a config's `catalog:` section into a
//! [`Catalog`]. Both use one raw schema ([`RawCatalog`]); a config's section either extends
//! the built-in catalog (entries for known models change only the fields they give; new ones
//! are added) or replaces it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_saphyr::Spanned;
use switchyard_providers::ProviderKind;

use super::Ctx;
use crate::catalog::{
    Catalog, LongContext, Modalities, Modality, ModelInfo, ProviderSource, Rate, Rates,
    BUILTIN_CATALOG, BUILTIN_CATALOG_NAME,
};
use crate::errors::ConfigErrors;
use crate::raw::{RawCatalog, RawCatalogModel, RawCatalogProvider, RawLongContext, RawPrice};

/// The built-in catalog file: a config holding only `catalog:`, so `switchyard check` reads it
/// too.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogFile {
    catalog: RawCatalog,
}

/// Parses and validates the embedded `conf/models.yaml`.
pub(crate) fn builtin() -> Result<Catalog, ConfigErrors> {
    let file: RawCatalogFile = crate::raw::parse_as(BUILTIN_CATALOG, BUILTIN_CATALOG_NAME)?;
    let mut cx = Ctx {
        file: BUILTIN_CATALOG_NAME,
        env: &|_| None,
        errors: Vec::new(),
    };
    if let Some(m) = &file.catalog.mode {
        cx.err(m, "catalog.mode", "the built-in catalog has no mode");
    }
    let catalog = lower(&mut cx, &file.catalog, None);
    if cx.errors.is_empty() {
        Ok(catalog)
    } else {
        Err(ConfigErrors(cx.errors))
    }
}

/// The catalog a config runs with: the built-in one, extended or replaced by its `catalog:`.
pub(crate) fn for_config(cx: &mut Ctx<'_>, raw: Option<&RawCatalog>) -> Arc<Catalog> {
    let builtin = match Catalog::builtin() {
        Ok(c) => c,
        Err(errs) => {
            cx.errors.extend(errs.0);
            Arc::new(Catalog::default())
        }
    };
    let Some(raw) = raw else { return builtin };
    let replace = match &raw.mode {
        None => false,
        Some(m) => match m.value.trim() {
            "extend" => false,
            "replace" => true,
            other => {
                cx.err(
                    m,
                    "catalog.mode",
                    format!("`{other}` is not a mode: use `extend` or `replace`"),
                );
                false
            }
        },
    };
    Arc::new(lower(cx, raw, (!replace).then_some(&*builtin)))
}

/// Builds a catalog from `raw`, on top of `base` when given.
fn lower(cx: &mut Ctx<'_>, raw: &RawCatalog, base: Option<&Catalog>) -> Catalog {
    let (mut models, mut sources) = base.cloned().map(Catalog::into_parts).unwrap_or_default();
    for (name, block) in &raw.providers {
        let field = format!("catalog.providers.{name}");
        let Some(kind) = ProviderKind::from_name(name) else {
            cx.err(
                block,
                &field,
                format!(
                    "unknown provider kind `{name}`; known kinds: {}",
                    ProviderKind::names().join(", ")
                ),
            );
            continue;
        };
        source(cx, kind, &block.value, &field, &mut sources);
        for (id, entry) in &block.value.models {
            let mfield = format!("{field}.models.{id}");
            if !valid_id(id) {
                cx.err(
                    entry,
                    &mfield,
                    "a model id cannot be empty or contain whitespace",
                );
                continue;
            }
            let at = models.iter().position(|m| m.kind == kind && &m.id == id);
            if at.is_none() && base.is_some() {
                // A new model may take over an alias the built-in catalog gave another one
                // (a snapshot priced apart from its alias).
                for m in models.iter_mut().filter(|m| m.kind == kind) {
                    m.aliases.retain(|a| a != id);
                }
            }
            let start = at
                .and_then(|i| models.get(i).cloned())
                .unwrap_or_else(|| ModelInfo::new(kind, id.clone()));
            let Some(merged) = model(cx, start, entry, &mfield) else {
                continue;
            };
            match at.and_then(|i| models.get_mut(i)) {
                Some(slot) => *slot = merged,
                None => models.push(merged),
            }
        }
        duplicates(cx, kind, &models, block, &field);
    }
    Catalog::new(models, sources)
}

/// Refuses two models of a kind answering to the same name; the error points at the alias
/// or entry of this block that made the collision.
fn duplicates(
    cx: &mut Ctx<'_>,
    kind: ProviderKind,
    models: &[ModelInfo],
    block: &Spanned<RawCatalogProvider>,
    field: &str,
) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for m in models.iter().filter(|m| m.kind == kind) {
        for name in std::iter::once(&m.id).chain(&m.aliases) {
            let Some(other) = seen.insert(name, &m.id) else {
                continue;
            };
            let msg = format!(
                "`{name}` names both `{other}` and `{}`: an id or alias may name one model",
                m.id
            );
            let alias = block.value.models.iter().find_map(|(id, e)| {
                let a = e.value.aliases.iter().find(|a| &a.value == name)?;
                Some((id, a))
            });
            match alias {
                Some((id, a)) => cx.err(a, format!("{field}.models.{id}.aliases"), msg),
                None => match block.value.models.get(name.as_str()) {
                    Some(e) => cx.err(e, format!("{field}.models.{name}"), msg),
                    None => cx.err(block, field, msg),
                },
            }
        }
    }
}

fn source(
    cx: &mut Ctx<'_>,
    kind: ProviderKind,
    raw: &RawCatalogProvider,
    field: &str,
    sources: &mut Vec<ProviderSource>,
) {
    let i = match sources.iter().position(|s| s.kind == kind) {
        Some(i) => i,
        None => {
            sources.push(ProviderSource {
                kind,
                pricing_url: None,
                retrieved: None,
                figures: None,
            });
            sources.len() - 1
        }
    };
    let Some(s) = sources.get_mut(i) else { return };
    if let Some(url) = &raw.pricing_url {
        if url.value.starts_with("https://") && !url.value.contains(char::is_whitespace) {
            s.pricing_url = Some(url.value.clone());
        } else {
            cx.err(
                url,
                format!("{field}.pricing_url"),
                "must be an https:// URL",
            );
        }
    }
    if let Some(date) = &raw.retrieved {
        if is_date(&date.value) {
            s.retrieved = Some(date.value.clone());
        } else {
            cx.err(
                date,
                format!("{field}.retrieved"),
                "must be a date written YYYY-MM-DD",
            );
        }
    }
    if let Some(f) = &raw.figures {
        s.figures = Some(f.clone());
    }
}

/// Applies one YAML entry to `m` (a built-in entry being overridden, or a new one).
fn model(
    cx: &mut Ctx<'_>,
    mut m: ModelInfo,
    raw: &Spanned<RawCatalogModel>,
    field: &str,
) -> Option<ModelInfo> {
    let before = cx.errors.len();
    let r = &raw.value;
    for a in &r.aliases {
        if !valid_id(&a.value) || a.value == m.id {
            cx.err(
                a,
                format!("{field}.aliases"),
                format!(
                    "`{}` is not a usable alias: not empty, no whitespace, not the model's own id",
                    a.value
                ),
            );
        } else if !m.aliases.contains(&a.value) {
            m.aliases.push(a.value.clone());
        }
    }
    if let Some(p) = &r.price {
        rates(
            cx,
            &mut m.pricing.base,
            price_fields(&p.value),
            &format!("{field}.price"),
        );
    }
    if let Some(lc) = &r.long_context {
        m.pricing.long_context = long_context(cx, &lc.value, &format!("{field}.long_context"));
    }
    if let Some(n) = &r.context_window {
        m.context_window = positive(cx, n, &format!("{field}.context_window"));
    }
    if let Some(n) = &r.max_output_tokens {
        m.max_output_tokens = positive(cx, n, &format!("{field}.max_output_tokens"));
    }
    if let Some(md) = &r.modalities {
        let mfield = format!("{field}.modalities");
        if !md.value.input.is_empty() {
            m.input_modalities = modalities(cx, &md.value.input, &format!("{mfield}.input"));
        }
        if !md.value.output.is_empty() {
            m.output_modalities = modalities(cx, &md.value.output, &format!("{mfield}.output"));
        }
        if m.input_modalities.contains(Modality::Embedding) {
            cx.err(
                md,
                format!("{mfield}.input"),
                "`embeddings` is an output modality",
            );
        }
        if m.is_embedding() && m.output_modalities != Modalities::NONE.with(Modality::Embedding) {
            cx.err(
                md,
                format!("{mfield}.output"),
                "an embedding model outputs `embeddings` alone",
            );
        }
    }
    if let Some(s) = &r.source {
        m.source = Some(s.clone());
    }
    if m.is_embedding() && m.pricing.base.output.is_some() {
        let msg = "embedding models are priced per input token: give `input` only";
        let ofield = format!("{field}.price.output");
        match r.price.as_ref().and_then(|p| p.value.output.as_ref()) {
            Some(at) => cx.err(at, ofield, msg),
            None => cx.err(raw, ofield, msg),
        }
    }
    if m.pricing.long_context.is_some() && m.pricing.base.input.is_none() {
        cx.err(
            raw,
            format!("{field}.long_context"),
            "long-context prices need the standard `price.input` too",
        );
    }
    (cx.errors.len() == before).then_some(m)
}

type PriceFields<'a> = [(&'a Option<Spanned<f64>>, &'static str); 4];

fn rates(cx: &mut Ctx<'_>, into: &mut Rates, raw: PriceFields<'_>, field: &str) {
    for (v, name) in raw {
        let Some(v) = v else { continue };
        let slot = match name {
            "input" => &mut into.input,
            "output" => &mut into.output,
            "cached_input" => &mut into.cached_input,
            _ => &mut into.cache_write,
        };
        match Rate::from_usd_per_million(v.value) {
            Ok(r) => *slot = Some(r),
            Err(e) => cx.err(v, format!("{field}.{name}"), e),
        }
    }
}

fn price_fields(p: &RawPrice) -> PriceFields<'_> {
    [
        (&p.input, "input"),
        (&p.output, "output"),
        (&p.cached_input, "cached_input"),
        (&p.cache_write, "cache_write"),
    ]
}

fn long_context(cx: &mut Ctx<'_>, raw: &RawLongContext, field: &str) -> Option<LongContext> {
    let above = positive(cx, &raw.above, &format!("{field}.above"))?;
    let mut r = Rates::default();
    let fields = [
        (&raw.input, "input"),
        (&raw.output, "output"),
        (&raw.cached_input, "cached_input"),
        (&raw.cache_write, "cache_write"),
    ];
    rates(cx, &mut r, fields, field);
    if r.input.is_none() {
        cx.err(
            &raw.above,
            format!("{field}.input"),
            "long-context prices need `input`",
        );
        return None;
    }
    Some(LongContext { above, rates: r })
}

fn positive(cx: &mut Ctx<'_>, n: &Spanned<u64>, field: &str) -> Option<u64> {
    if n.value == 0 {
        cx.err(n, field, "must be greater than zero");
        return None;
    }
    Some(n.value)
}

fn modalities(cx: &mut Ctx<'_>, raw: &[Spanned<String>], field: &str) -> Modalities {
    let mut out = Modalities::NONE;
    for name in raw {
        match Modality::from_name(name.value.trim()) {
            Some(m) => out = out.with(m),
            None => cx.err(
                name,
                field,
                format!(
                    "unknown modality `{}`; use text, image, audio, video or embeddings",
                    name.value
                ),
            ),
        }
    }
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && !id.contains(char::is_whitespace)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

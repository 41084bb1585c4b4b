//! `auth:` and `validation:`: gateway keys (inline and from `auth.keys_file`), lowered to
//! digests, and the request-validation bounds.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use serde_saphyr::Spanned;
use switchyard_providers::ProviderKind;

use super::Ctx;
use crate::errors::ConfigError;
use crate::keys::KeyDigest;
use crate::model::{GatewayKey, Validation, ValidationLimits};
use crate::raw::{RawAuth, RawKey, RawKeysFile, RawValidation};

/// What an `allow` entry may name.
pub(super) struct Names<'a> {
    pub routes: &'a [&'a str],
    pub providers: &'a [&'a str],
}

/// The keys of `auth.keys` and `auth.keys_file` (read now, relative to the config file's
/// directory), each checked; a missing or invalid keys file is a config error.
pub(super) fn auth(cx: &mut Ctx<'_>, raw: Option<&RawAuth>, names: &Names<'_>) -> Vec<GatewayKey> {
    let Some(raw) = raw else { return Vec::new() };
    let mut seen = Seen::default();
    let mut keys = Vec::new();
    for (i, k) in raw.keys.iter().enumerate() {
        if let Some(key) = key(cx, k, &format!("auth.keys[{i}]"), names, &mut seen) {
            keys.push(key);
        }
    }
    let Some(file) = &raw.keys_file else {
        return keys;
    };
    let Some(path) = cx.expand(file, "auth.keys_file") else {
        return keys;
    };
    let path = match Path::new(cx.file).parent() {
        Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
        _ => Path::new(&path).to_path_buf(),
    };
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            cx.err(
                file,
                "auth.keys_file",
                format!("cannot read the keys file {shown}: {e}"),
            );
            return keys;
        }
    };
    let parsed: RawKeysFile = match crate::raw::parse_as(&text, &shown) {
        Ok(p) => p,
        Err(e) => {
            cx.errors.push(e);
            return keys;
        }
    };
    // Errors in the keys file name the keys file.
    let mut fcx = Ctx {
        file: &shown,
        env: cx.env,
        errors: Vec::new(),
    };
    for (i, k) in parsed.keys.iter().enumerate() {
        if let Some(key) = key(&mut fcx, k, &format!("keys[{i}]"), names, &mut seen) {
            keys.push(key);
        }
    }
    cx.errors.append(&mut fcx.errors);
    if keys.is_empty() && raw.keys.is_empty() {
        cx.errors.push(ConfigError::at(
            cx.file,
            super::loc(file),
            "auth.keys_file",
            format!("the keys file {shown} holds no key: every request would be refused"),
        ));
    }
    keys
}

#[derive(Default)]
struct Seen {
    names: BTreeSet<String>,
    digests: HashSet<KeyDigest>,
}

fn key(
    cx: &mut Ctx<'_>,
    k: &RawKey,
    field: &str,
    names: &Names<'_>,
    seen: &mut Seen,
) -> Option<GatewayKey> {
    let name = k.name.value.trim();
    if name.is_empty() {
        cx.err(&k.name, format!("{field}.name"), "a key needs a name");
        return None;
    }
    if !seen.names.insert(name.to_owned()) {
        cx.err(
            &k.name,
            format!("{field}.name"),
            format!("duplicate key name `{name}`"),
        );
    }
    let digest = match (&k.key, &k.key_sha256) {
        (Some(_), Some(h)) => {
            cx.err(
                h,
                format!("{field}.key_sha256"),
                "give `key` or `key_sha256`, not both",
            );
            return None;
        }
        (None, None) => {
            cx.err(
                &k.name,
                field,
                "a key needs `key` (the key itself, e.g. `${VAR}`) or `key_sha256` (its SHA-256 in hex, from `switchyard keys new`)",
            );
            return None;
        }
        (Some(raw), None) => {
            let key = cx.expand(raw, &format!("{field}.key"))?;
            if key.len() < 8 {
                cx.err(
                    raw,
                    format!("{field}.key"),
                    "a gateway key must be at least 8 characters",
                );
                return None;
            }
            (KeyDigest::of(key.as_bytes()), raw)
        }
        (None, Some(raw)) => {
            let hex = cx.expand(raw, &format!("{field}.key_sha256"))?;
            let Some(d) = KeyDigest::from_hex(hex.trim()) else {
                cx.err(
                    raw,
                    format!("{field}.key_sha256"),
                    "must be 64 hex digits: the SHA-256 of the key (`switchyard keys new` prints it)",
                );
                return None;
            };
            (d, raw)
        }
    };
    let (digest, at) = digest;
    if !seen.digests.insert(digest) {
        cx.err(at, field, "the same key is listed twice");
        return None;
    }
    let allow = k.allow.as_ref().map(|a| allow(cx, a, field, names));
    let max_tokens = match &k.max_tokens {
        Some(n) if n.value == 0 => {
            cx.err(n, format!("{field}.max_tokens"), "must be at least 1");
            None
        }
        other => other.as_ref().map(|n| n.value),
    };
    Some(GatewayKey {
        name: name.to_owned(),
        digest,
        metadata: k.metadata.clone(),
        allow,
        max_tokens,
        limits: super::limits::limits(cx, k.limits.as_ref(), &format!("{field}.limits")),
        budget: super::limits::budget(cx, k.budget.as_ref(), &format!("{field}.budget")),
    })
}

/// Checks an allow list: each entry names a route, or is a `provider/model` pattern whose
/// provider part is a configured provider, a provider kind, or holds a `*`.
fn allow(
    cx: &mut Ctx<'_>,
    raw: &Spanned<Vec<String>>,
    field: &str,
    names: &Names<'_>,
) -> Vec<String> {
    let field = format!("{field}.allow");
    if raw.value.is_empty() {
        cx.err(
            raw,
            &field,
            "an empty allow list lets the key use nothing: list routes and `provider/model` patterns, or remove `allow` to allow every model",
        );
    }
    for entry in &raw.value {
        let entry = entry.as_str();
        if names.routes.contains(&entry) {
            continue;
        }
        let known = match entry.split_once('/') {
            Some((provider, model)) => {
                !model.is_empty()
                    && (provider.contains('*')
                        || names.providers.contains(&provider)
                        || ProviderKind::from_name(provider).is_some())
            }
            None => entry.contains('*'),
        };
        if !known {
            cx.err(
                raw,
                &field,
                format!(
                    "`{entry}` is neither a route nor a `provider/model` pattern of a configured provider or a provider kind (`*` matches anything, as in `openai/*`)"
                ),
            );
        }
    }
    raw.value.clone()
}

/// `validation:`.
pub(super) fn validation(cx: &mut Ctx<'_>, raw: &RawValidation) -> Validation {
    let d = ValidationLimits::default();
    let mut bounded = |v: &Option<Spanned<u64>>, name: &str, max: u64, default: u64| match v {
        Some(n) if n.value == 0 || n.value > max => {
            cx.err(
                n,
                format!("validation.{name}"),
                format!("must be between 1 and {max}"),
            );
            default
        }
        Some(n) => n.value,
        None => default,
    };
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let limits = ValidationLimits {
        max_messages: size(bounded(
            &raw.max_messages,
            "max_messages",
            1_000_000,
            d.max_messages as u64,
        )),
        max_depth: size(bounded(
            &raw.max_depth,
            "max_depth",
            switchyard_providers::validate::MAX_DEPTH as u64,
            d.max_depth as u64,
        )),
        max_n: bounded(&raw.max_n, "max_n", 1_000_000, d.max_n),
        max_tokens: match &raw.max_tokens {
            None => d.max_tokens,
            some => Some(bounded(some, "max_tokens", u64::MAX, 1)),
        },
        max_tools: size(bounded(
            &raw.max_tools,
            "max_tools",
            1_000_000,
            d.max_tools as u64,
        )),
        max_stop: size(bounded(
            &raw.max_stop,
            "max_stop",
            1_000_000,
            d.max_stop as u64,
        )),
    };
    Validation {
        enabled: raw.enabled.unwrap_or(true),
        limits,
    }
}

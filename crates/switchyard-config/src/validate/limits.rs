//! Lowering `limits:`, and the `limits` / `budget` fields of keys and routes.

use std::time::Duration;

use serde_saphyr::Spanned;
use switchyard_providers::Secret;

use super::Ctx;
use crate::limits::{
    Budget, Limits, LimitsConfig, LimitsStore, OnStoreError, Period, Rate, RawBudget, RawLimits,
    RawLimitsSection,
};

/// `requests` / `tokens` of one scope.
pub(crate) fn limits(cx: &mut Ctx<'_>, raw: Option<&RawLimits>, field: &str) -> Limits {
    let Some(raw) = raw else {
        return Limits::default();
    };
    let mut rate = |s: &Option<Spanned<String>>, name: &str| -> Option<Rate> {
        let s = s.as_ref()?;
        match Rate::parse(&s.value) {
            Ok(r) => Some(r),
            Err(e) => {
                cx.err(s, format!("{field}.{name}"), e);
                None
            }
        }
    };
    Limits {
        requests: rate(&raw.requests, "requests"),
        tokens: rate(&raw.tokens, "tokens"),
    }
}

/// `budget: { usd, per }`.
pub(crate) fn budget(cx: &mut Ctx<'_>, raw: Option<&RawBudget>, field: &str) -> Option<Budget> {
    let raw = raw?;
    let per = match Period::parse_budget(raw.per.value.trim()) {
        Some(p) => p,
        None => {
            cx.err(
                &raw.per,
                format!("{field}.per"),
                format!(
                    "`{}` is not a budget period: use day, week or month",
                    raw.per.value
                ),
            );
            return None;
        }
    };
    let usd = raw.usd.value;
    // 9e9 dollars is half of what a signed 64-bit count of nano-dollars holds.
    if !(usd.is_finite() && usd > 0.0 && usd <= 9e9) {
        cx.err(
            &raw.usd,
            format!("{field}.usd"),
            "must be a number of dollars greater than 0",
        );
        return None;
    }
    Some(Budget {
        nano_usd: (usd * 1e9).round() as u64,
        per,
    })
}

/// The top-level `limits:` section.
pub(crate) fn section(cx: &mut Ctx<'_>, raw: Option<&RawLimitsSection>) -> LimitsConfig {
    let Some(raw) = raw else {
        return LimitsConfig::default();
    };
    let per_user = limits(cx, raw.per_user.as_ref(), "limits.per_user");
    let global = limits(cx, raw.global.as_ref(), "limits.global");
    let store = raw.store.as_ref().and_then(|s| {
        let url = cx.expand(&s.redis, "limits.store.redis")?;
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("redis://") || lower.starts_with("redis+unix://")) {
            // Never echo the URL: it may carry a password.
            cx.err(
                &s.redis,
                "limits.store.redis",
                "must be a `redis://host:port` URL (TLS `rediss://` is not compiled in)",
            );
            return None;
        }
        let on_error = match s.on_error.as_ref().map(|o| o.value.trim()) {
            None | Some("allow") => OnStoreError::Allow,
            Some("deny") => OnStoreError::Deny,
            Some(other) => {
                let msg = format!("`{other}`: use allow or deny");
                if let Some(o) = &s.on_error {
                    cx.err(o, "limits.store.on_error", msg);
                }
                return None;
            }
        };
        let sync_interval = match &s.sync_interval {
            None => Duration::from_millis(20),
            Some(d)
                if d.value.0 < Duration::from_millis(1) || d.value.0 > Duration::from_secs(10) =>
            {
                cx.err(
                    d,
                    "limits.store.sync_interval",
                    "must be between 1ms and 10s",
                );
                return None;
            }
            Some(d) => d.value.0,
        };
        let prefix = s
            .prefix
            .as_ref()
            .map_or_else(|| "switchyard:".to_owned(), |p| p.value.clone());
        Some(LimitsStore {
            redis: Secret::new(url),
            on_error,
            sync_interval,
            prefix,
        })
    });
    LimitsConfig {
        per_user,
        global,
        store,
    }
}

//! Budgets in money (`budget: { usd, per }` on keys and routes), counted in the catalog's
//! nano-dollars on the same window counters as the rate limits (calendar day, ISO week or
//! month, UTC; shared through Redis when a store is configured, so spend survives a restart).
//!
//! A request is refused once a budget that applies to it is spent (429, `budget_exceeded`,
//! `x-should-retry: false`, the reset time). A request already admitted runs to its end: the
//! overshoot is at most what the requests in flight at that moment cost. The cost is added
//! when the request completes, from the usage the provider reported and the price of the
//! model the last attempt used. A model the catalog has no price for is not treated as free
//! without a trace: it adds nothing to the budget (there is no price to add) but is counted
//! in `switchyard_budget_unpriced_requests_total` and logged (at most once a minute), so an
//! operator can add its price under `catalog:`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use switchyard_config::catalog::TokenCounts;
use switchyard_config::limits::{Budget, Period};
use switchyard_config::{Catalog, Config};
use switchyard_pipeline::{AttemptCx, GatewayError, ProviderKind, RequestCx};

use super::counters::{scope_id, Counters};

/// The model the last attempt of a request used, for its price.
#[derive(Clone)]
struct LastTarget {
    kind: ProviderKind,
    model: String,
}

/// Budgets and the spend against them.
pub struct Spend {
    counters: Arc<Counters>,
    catalog: Arc<Catalog>,
    keys: Vec<(Arc<str>, u64, Budget)>,
    routes: Vec<(String, u64, Budget)>,
    unpriced: prometheus::IntCounter,
    last_log_ms: AtomicU64,
}

fn key_scope(name: &str) -> u64 {
    scope_id(&["key", name, "spend"])
}

fn route_scope(name: &str) -> u64 {
    scope_id(&["route", name, "spend"])
}

impl Spend {
    /// The budgets of `config`.
    pub fn new(config: &Config, counters: Arc<Counters>, unpriced: prometheus::IntCounter) -> Self {
        Self {
            counters,
            catalog: config.catalog.clone(),
            keys: config
                .auth
                .iter()
                .filter_map(|k| Some((Arc::from(k.name.as_str()), key_scope(&k.name), k.budget?)))
                .collect(),
            routes: config
                .routes
                .iter()
                .filter_map(|r| Some((r.name.clone(), route_scope(&r.name), r.budget?)))
                .collect(),
            unpriced,
            last_log_ms: AtomicU64::new(0),
        }
    }

    /// The spend counters, to follow in the shared store from the start.
    pub fn watched(config: &Config) -> Vec<(u64, Period)> {
        let keys = config
            .auth
            .iter()
            .filter_map(|k| Some((key_scope(&k.name), k.budget?.per)));
        let routes = config
            .routes
            .iter()
            .filter_map(|r| Some((route_scope(&r.name), r.budget?.per)));
        keys.chain(routes).collect()
    }

    /// The budgets that apply to `cx`: its key's and its route's.
    fn applying<'a>(&'a self, cx: &RequestCx) -> impl Iterator<Item = (bool, u64, Budget)> + 'a {
        let key = cx.key.as_ref().and_then(|k| {
            self.keys
                .iter()
                .find(|(n, _, _)| *n == k.name)
                .map(|&(_, id, b)| (true, id, b))
        });
        let route = self
            .routes
            .iter()
            .find(|(n, _, _)| n.as_str() == &*cx.route)
            .map(|&(_, id, b)| (false, id, b));
        key.into_iter().chain(route)
    }

    /// Refuses the request when a budget that applies to it is spent.
    pub fn check(&self, cx: &RequestCx, now: u64) -> Result<(), GatewayError> {
        if self.keys.is_empty() && self.routes.is_empty() {
            return Ok(());
        }
        for (is_key, id, b) in self.applying(cx) {
            let (spent, idx) = self.counters.count(id, b.per, now);
            if spent < b.nano_usd {
                continue;
            }
            let end = b.per.end_ms(idx);
            let reset = rfc3339(end);
            let whose = match (is_key, &cx.key) {
                (true, Some(k)) => format!("gateway key `{}`", k.name),
                _ => format!("route `{}`", cx.route),
            };
            let secs = Duration::from_millis(end.saturating_sub(now))
                .as_secs()
                .max(1);
            return Err(GatewayError::Refused {
                status: 429,
                code: "budget_exceeded",
                message: format!(
                    "the budget of ${:.2} per {} for {whose} is spent (${:.4}); it resets at {reset}",
                    b.nano_usd as f64 / 1e9,
                    b.per.name(),
                    spent as f64 / 1e9,
                ),
                param: None,
                headers: vec![
                    ("x-should-retry", "false".into()),
                    ("x-switchyard-budget-reset", reset),
                    ("retry-after", secs.to_string()),
                ],
            });
        }
        Ok(())
    }

    /// Notes the model an attempt uses, when a budget will need its price.
    pub fn attempt(&self, cx: &mut RequestCx, attempt: &AttemptCx<'_>) {
        if self.applying(cx).next().is_none() {
            return;
        }
        cx.extensions.insert(LastTarget {
            kind: attempt.kind,
            model: attempt.model.to_owned(),
        });
    }

    /// Adds the request's cost to the budgets that apply to it.
    pub fn record(&self, cx: &mut RequestCx, now: u64) {
        let Some(target) = cx.extensions.remove::<LastTarget>() else {
            return;
        };
        let Some(usage) = cx.usage.as_ref() else {
            return;
        };
        let tokens = TokenCounts::from_usage(target.kind, usage);
        let cost = match self.catalog.cost(target.kind, &target.model, &tokens) {
            Ok(c) => c.total().0,
            Err(_) => {
                self.unpriced.inc();
                let last = self.last_log_ms.load(Ordering::Relaxed);
                if now.saturating_sub(last) >= 60_000
                    && self
                        .last_log_ms
                        .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    log::warn!(
                        target: "switchyard",
                        provider = target.kind.name(),
                        model = target.model.as_str();
                        "budget: no price for this model in the catalog; its requests are counted in switchyard_budget_unpriced_requests_total but add nothing to budgets (add its price under `catalog:`)"
                    );
                }
                return;
            }
        };
        if cost == 0 {
            return;
        }
        let applying: Vec<_> = self.applying(cx).collect();
        for (_, id, b) in applying {
            self.counters.add(id, b.per, cost, now);
        }
    }
}

/// `2027-01-01T00:00:00Z` for a time in milliseconds since the epoch.
fn rfc3339(ms: u64) -> String {
    let t = switchyard_providers::time::UtcDateTime::from_system_time(
        UNIX_EPOCH + Duration::from_millis(ms),
    );
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_rfc3339() {
        assert_eq!(rfc3339(1_798_761_600_000), "2027-01-01T00:00:00Z");
    }
}

//! Routing decisions for Switchyard.
//!
//! Given the validated config and a client's `model`, decide which providers to try and in
//! what order. Pure: no I/O, no clock, no randomness that a caller does not pass in. The
//! gateway owns the attempt loop and asks the router only what to try next.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_config::{Config, ProviderId, Strategy};

/// One thing to try: a provider and the model to ask it for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The provider.
    pub provider: ProviderId,
    /// The model to send; `None` keeps the client's.
    pub model: Option<Arc<str>>,
    /// The target's position in its route (reported to clients as the option index).
    pub target_index: usize,
}

/// What a model name resolved to.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A bounded label for metrics and logs: the route name, or `direct` / `catalog`.
    pub label: Arc<str>,
    /// What to try, in order.
    pub attempts: Arc<[Attempt]>,
}

/// The routing table compiled from a config.
#[derive(Debug, Default)]
pub struct Router {
    routes: HashMap<String, Plan>,
    catalog: HashMap<String, ProviderId>,
    providers: HashMap<String, ProviderId>,
    direct_label: Arc<str>,
    catalog_label: Arc<str>,
}

impl Router {
    /// Compiles the routing table. Route plans are built here, once, so that resolving a
    /// request is a hash lookup.
    pub fn new(config: &Config) -> Self {
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let targets = r.targets.iter().enumerate().map(|(i, t)| Attempt {
                    provider: t.provider,
                    model: t.model.as_deref().map(Arc::from),
                    target_index: i,
                });
                let attempts: Arc<[Attempt]> = match r.strategy {
                    Strategy::Single => targets.take(1).collect(),
                    Strategy::Fallback => targets.collect(),
                };
                let plan = Plan {
                    label: Arc::from(r.name.as_str()),
                    attempts,
                };
                (r.name.clone(), plan)
            })
            .collect();
        // A bare model name listed by exactly one provider routes to it; one listed by
        // several is ambiguous and must be addressed as `provider/model` or through a route.
        let mut catalog: HashMap<String, Option<ProviderId>> = HashMap::new();
        for (i, p) in config.providers.iter().enumerate() {
            for m in &p.models {
                catalog
                    .entry(m.clone())
                    .and_modify(|e| *e = None)
                    .or_insert(Some(ProviderId(i)));
            }
        }
        Self {
            routes,
            catalog: catalog
                .into_iter()
                .filter_map(|(m, p)| p.map(|p| (m, p)))
                .collect(),
            providers: config
                .providers
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.clone(), ProviderId(i)))
                .collect(),
            direct_label: Arc::from("direct"),
            catalog_label: Arc::from("catalog"),
        }
    }

    /// Resolves a client's `model`: a route alias first, then `provider/model`, then a bare
    /// model name that exactly one provider lists.
    pub fn resolve(&self, model: &str) -> Option<Plan> {
        if let Some(plan) = self.routes.get(model) {
            return Some(plan.clone());
        }
        if let Some((provider, rest)) = model.split_once('/') {
            if let Some(&id) = self.providers.get(provider) {
                if !rest.is_empty() {
                    return Some(self.single(self.direct_label.clone(), id, rest));
                }
            }
        }
        self.catalog
            .get(model)
            .map(|&id| self.single(self.catalog_label.clone(), id, model))
    }

    fn single(&self, label: Arc<str>, provider: ProviderId, model: &str) -> Plan {
        Plan {
            label,
            attempts: Arc::from(vec![Attempt {
                provider,
                model: Some(Arc::from(model)),
                target_index: 0,
            }]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        switchyard_config::load_str(
            r#"
providers:
  a: { kind: openai, models: [shared, only-a] }
  b: { kind: openai, models: [shared] }
routes:
  fast: { targets: [ { provider: b, model: m1 }, { provider: a } ] }
  one: { targets: [ { provider: a, model: m2 } ] }
  "a/x": { targets: [ { provider: b } ] }
"#,
            "t.yaml",
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn aliases_resolve_to_their_targets_in_order() {
        let r = Router::new(&config());
        let p = r.resolve("fast").unwrap();
        assert_eq!(&*p.label, "fast");
        assert_eq!(p.attempts.len(), 2);
        assert_eq!(p.attempts[0].provider, ProviderId(1));
        assert_eq!(p.attempts[0].model.as_deref(), Some("m1"));
        assert_eq!(p.attempts[1].model, None);
        assert_eq!(p.attempts[1].target_index, 1);
    }

    #[test]
    fn provider_slash_model_addresses_a_provider_directly() {
        let r = Router::new(&config());
        let p = r.resolve("a/gpt-4o").unwrap();
        assert_eq!(&*p.label, "direct");
        assert_eq!(p.attempts[0].provider, ProviderId(0));
        assert_eq!(p.attempts[0].model.as_deref(), Some("gpt-4o"));
        // A route alias wins over direct addressing.
        assert_eq!(&*r.resolve("a/x").unwrap().label, "a/x");
        assert!(r.resolve("zzz/gpt-4o").is_none());
        assert!(r.resolve("a/").is_none());
    }

    #[test]
    fn catalog_models_route_only_when_unambiguous() {
        let r = Router::new(&config());
        let p = r.resolve("only-a").unwrap();
        assert_eq!(&*p.label, "catalog");
        assert_eq!(p.attempts[0].provider, ProviderId(0));
        assert!(r.resolve("shared").is_none());
        assert!(r.resolve("unknown").is_none());
    }
}

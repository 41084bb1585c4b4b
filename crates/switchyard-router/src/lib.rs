//! Routing decisions for Switchyard.
//!
//! - [`Router::resolve`]: which route tree serves a client's `model` (an alias, `provider/model`,
//!   or a bare model name one provider lists).
//! - [`walk::Walk`]: given a tree, which target to try next, after which delay, as attempts
//!   fail (fallback, load balancing, conditions, retries with backoff and `Retry-After`).
//! - [`health::HealthRegistry`]: circuit breakers and load figures per target.
//!
//! Pure: no I/O; time and randomness are passed in. The gateway owns the attempt loop and
//! asks only what to try next.

pub mod health;
pub mod walk;

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_config::route::{NodeKind, NodeSettings, RouteNode, TargetProvider, TargetSpec};
use switchyard_config::{Config, ProviderId};

pub use health::{BreakerPolicy, Circuit, HealthRegistry, TargetHealth, TargetState};
pub use walk::{Attempt, Effective, Next, Outcome, Walk, WalkContext};

/// What a model name resolved to.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A bounded label for metrics and logs: the route name, or `direct` / `catalog`.
    pub label: Arc<str>,
    /// The tree to walk.
    pub root: Arc<RouteNode>,
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

/// A one-target tree.
pub fn single_target(provider: TargetProvider, model: Option<String>) -> RouteNode {
    RouteNode {
        kind: NodeKind::Target(TargetSpec { provider, model }),
        name: None,
        weight: 1.0,
        path: "config".into(),
        settings: NodeSettings::default(),
    }
}

impl Router {
    /// Compiles the routing table once, so resolving a request is a hash lookup.
    pub fn new(config: &Config) -> Self {
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let plan = Plan {
                    label: Arc::from(r.name.as_str()),
                    root: Arc::new(r.node.clone()),
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
                    return Some(self.direct(self.direct_label.clone(), id, rest));
                }
            }
        }
        self.catalog
            .get(model)
            .map(|&id| self.direct(self.catalog_label.clone(), id, model))
    }

    /// A configured route by name (for `x-switchyard-config: <name>`).
    pub fn route(&self, name: &str) -> Option<Plan> {
        self.routes.get(name).cloned()
    }

    /// A configured provider by name.
    pub fn provider(&self, name: &str) -> Option<ProviderId> {
        self.providers.get(name).copied()
    }

    fn direct(&self, label: Arc<str>, provider: ProviderId, model: &str) -> Plan {
        Plan {
            label,
            root: Arc::new(single_target(
                TargetProvider::Configured(provider),
                Some(model.to_owned()),
            )),
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
  "a/x": { targets: [ { provider: b } ] }
"#,
            "t.yaml",
            &|_| None,
        )
        .unwrap()
    }

    fn target(p: &Plan) -> (&TargetProvider, Option<&str>) {
        let NodeKind::Target(t) = &p.root.kind else {
            panic!()
        };
        (&t.provider, t.model.as_deref())
    }

    #[test]
    fn aliases_resolve_to_their_route() {
        let r = Router::new(&config());
        let p = r.resolve("fast").unwrap();
        assert_eq!(&*p.label, "fast");
        assert!(matches!(p.root.kind, NodeKind::Group { .. }));
    }

    #[test]
    fn provider_slash_model_addresses_a_provider_directly() {
        let r = Router::new(&config());
        let p = r.resolve("a/gpt-4o").unwrap();
        assert_eq!(&*p.label, "direct");
        assert!(matches!(
            target(&p),
            (TargetProvider::Configured(ProviderId(0)), Some("gpt-4o"))
        ));
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
        assert!(matches!(
            target(&p),
            (TargetProvider::Configured(ProviderId(0)), Some("only-a"))
        ));
        assert!(r.resolve("shared").is_none());
        assert!(r.resolve("unknown").is_none());
    }
}

//! What the router's walk asks the gateway: request facts for conditional rules, and the
//! health of each target.

use serde_json::{Map, Value};
use switchyard_config::route::{Facts, TargetProvider, TargetSpec};
use switchyard_providers::JsonEnvelope;
use switchyard_router::{TargetState, WalkContext};

use crate::state::State;

/// What conditional rules can read about the request.
pub struct RequestFacts<'a> {
    /// The body (`params.*`).
    pub body: &'a JsonEnvelope,
    /// The metadata header (`metadata.*`).
    pub metadata: Option<&'a Map<String, Value>>,
    /// The path (`url.pathname`).
    pub path: &'a str,
}

impl Facts for RequestFacts<'_> {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let (root, rest) = path.split_first()?;
        let (first, rest) = rest.split_first()?;
        let mut value = match root.as_str() {
            "params" => serde_json::from_str::<Value>(self.body.get_raw(first)?).ok()?,
            "metadata" => self.metadata?.get(first)?.clone(),
            "url" if first == "pathname" && rest.is_empty() => {
                return Some(Value::String(self.path.to_owned()))
            }
            _ => return None,
        };
        for key in rest {
            value = match value {
                Value::Object(mut m) => m.remove(key)?,
                Value::Array(mut a) => {
                    let i: usize = key.parse().ok()?;
                    (i < a.len()).then(|| a.swap_remove(i))?
                }
                _ => return None,
            };
        }
        Some(value)
    }
}

/// The walk's view of the gateway: request facts and target health.
pub struct WalkView<'a> {
    /// The snapshot.
    pub state: &'a State,
    /// Request facts.
    pub facts: RequestFacts<'a>,
    /// The client's `model`, for targets that keep it.
    pub client_model: &'a str,
    /// The health clock's reading when the walk started.
    pub now: u64,
}

impl WalkContext for WalkView<'_> {
    fn facts(&self) -> &dyn Facts {
        &self.facts
    }

    fn target_state(&self, target: &TargetSpec, model: Option<&str>) -> TargetState {
        let healthy = TargetState {
            healthy: true,
            badness: 0.0,
            latency_us: 0.0,
            inflight: 0,
        };
        let TargetProvider::Configured(id) = target.provider else {
            return healthy;
        };
        self.state
            .health
            .target(id, Some(model.unwrap_or(self.client_model)))
            .map_or(healthy, |h| h.state(self.now))
    }
}

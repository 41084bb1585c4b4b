//! Checks on the request rather than its text: the model (`default.modelWhitelist`,
//! `default.modelRules`), the metadata (`default.requiredMetadataKeys`) and the endpoint
//! (`default.allowedRequestTypes`).

use serde_json::Value;

use crate::input::{CheckInput, HookEvent};
use crate::params::{Operator, Params};
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

/// `default.modelWhitelist`: passes when the request's model is in `models` (with `not`:
/// when it is not).
#[derive(Clone, Debug)]
pub(crate) struct ModelWhitelist {
    models: Vec<String>,
    not: bool,
}

impl ModelWhitelist {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            models: p.nonempty_strings("models")?,
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let Some(model) = input.model.filter(|m| !m.is_empty()) else {
            return Outcome::error("Missing model in request");
        };
        let in_list = self.models.iter().any(|m| m == model);
        let verdict = invert(in_list, self.not);
        let explanation = match (verdict, self.not) {
            (true, false) => format!("Model \"{model}\" is allowed."),
            (true, true) => format!("Model \"{model}\" is not in the allowed list as expected."),
            (false, false) => format!("Model \"{model}\" is not in the allowed list."),
            (false, true) => {
                format!("Model \"{model}\" is in the allowed list when it should not be.")
            }
        };
        Outcome::verdict(verdict, explanation)
            .with("verdict", verdict)
            .with("not", self.not)
            .with("requestedModel", model)
            .with("allowedModels", self.models.clone())
    }
}

/// `default.modelRules`: `rules: {"defaults": [models], "metadata": {key: {value: [models]}}}`.
/// The allowed models are the union of the lists whose metadata key and value the request
/// carries, or `defaults` when none matches.
/// Metadata key → (value → allowed models).
type MetadataRules = Vec<(String, Vec<(String, Vec<String>)>)>;

#[derive(Clone, Debug)]
pub(crate) struct ModelRules {
    defaults: Vec<String>,
    metadata: MetadataRules,
    not: bool,
}

impl ModelRules {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let Some(Value::Object(rules)) = p.value("rules") else {
            return Err(
                p.error("missing parameter `rules` (an object with `defaults` and/or `metadata`)")
            );
        };
        let strings = |v: &Value, what: &str| -> Result<Vec<String>, ConfigError> {
            v.as_array()
                .and_then(|a| a.iter().map(|m| m.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| p.error(format!("`{what}` must be a list of model names")))
        };
        let defaults = match rules.get("defaults") {
            Some(v) => strings(v, "rules.defaults")?,
            None => Vec::new(),
        };
        let mut metadata = Vec::new();
        match rules.get("metadata") {
            None => {}
            Some(Value::Object(keys)) => {
                for (key, values) in keys {
                    let Value::Object(values) = values else {
                        return Err(p.error(format!(
                            "`rules.metadata.{key}` must map values to model lists"
                        )));
                    };
                    let mut list = Vec::new();
                    for (value, models) in values {
                        list.push((
                            value.clone(),
                            strings(models, &format!("rules.metadata.{key}.{value}"))?,
                        ));
                    }
                    metadata.push((key.clone(), list));
                }
            }
            Some(_) => return Err(p.error("`rules.metadata` must be an object")),
        }
        if let Some(other) = rules.keys().find(|k| *k != "defaults" && *k != "metadata") {
            return Err(p.error(format!(
                "unknown key `rules.{other}` (accepted: defaults, metadata)"
            )));
        }
        Ok(Self {
            defaults,
            metadata,
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let Some(model) = input.model.filter(|m| !m.is_empty()) else {
            return Outcome::error("Missing model in request");
        };
        let mut allowed: Vec<&str> = Vec::new();
        let mut matched = Vec::new();
        for (key, values) in &self.metadata {
            let Some(have) = input.metadata.and_then(|m| m.get(key)) else {
                continue;
            };
            let have: Vec<String> = match have {
                Value::Array(items) => items.iter().map(scalar).collect(),
                Value::Null => continue,
                v => vec![scalar(v)],
            };
            for h in &have {
                if let Some((_, models)) = values.iter().find(|(v, _)| v == h) {
                    matched.push(format!("{key}:{h}"));
                    allowed.extend(models.iter().map(String::as_str));
                }
            }
        }
        let using_defaults = allowed.is_empty();
        if using_defaults {
            allowed.extend(self.defaults.iter().map(String::as_str));
        }
        if allowed.is_empty() {
            return Outcome::error("No allowed models resolved from rules");
        }
        let in_list = allowed.contains(&model);
        let verdict = invert(in_list, self.not);
        let mut explanation = match (verdict, self.not) {
            (true, false) => format!("Model \"{model}\" is allowed by rules."),
            (true, true) => format!("Model \"{model}\" is not permitted by rules (blocked list)."),
            (false, false) => format!("Model \"{model}\" is not allowed by rules."),
            (false, true) => format!("Model \"{model}\" is permitted by rules (in blocked list)."),
        };
        if verdict && !matched.is_empty() {
            explanation.push_str(&format!(" (matched rules: {})", matched.join(", ")));
        } else if verdict && using_defaults {
            explanation.push_str(" (using default models)");
        }
        Outcome::verdict(verdict, explanation)
    }
}

/// A metadata value as Portkey's `String(v)` would print it.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `default.requiredMetadataKeys`: passes when all / any / none of `metadataKeys` are in
/// the request's metadata. Before the request only, as in Portkey.
#[derive(Clone, Debug)]
pub(crate) struct RequiredMetadataKeys {
    keys: Vec<String>,
    operator: Operator,
}

impl RequiredMetadataKeys {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            keys: p.nonempty_strings("metadataKeys")?,
            operator: Operator::read(p, Some(Operator::All))?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        if input.event != HookEvent::BeforeRequest {
            return Outcome::error("This plugin only works for before_request_hooks");
        }
        let (found, missing): (Vec<&String>, Vec<&String>) = self
            .keys
            .iter()
            .partition(|k| input.metadata.is_some_and(|m| m.contains_key(k.as_str())));
        let verdict = self.operator.passes(found.len(), self.keys.len());
        let op = self.operator.as_str();
        let tail = match (self.operator, verdict) {
            (Operator::Any, true) => "At least one metadata key was found.",
            (Operator::All, true) => "All metadata keys were found.",
            (Operator::None, true) | (Operator::Any, false) => "No metadata keys were found.",
            (Operator::All, false) => "Some metadata keys were missing.",
            (Operator::None, false) => "Some metadata keys were found.",
        };
        let status = if verdict { "passed" } else { "failed" };
        let owned = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>();
        Outcome::verdict(
            verdict,
            format!("Check {status} for '{op}' metadata keys. {tail}"),
        )
        .with("missing_metadata_keys", owned(missing))
        .with("found_metadata_keys", owned(found))
        .with("operator", op)
    }
}

/// `default.allowedRequestTypes`: `allowedTypes` and/or `blockedTypes` (lists or
/// comma-separated), falling back to the metadata keys `supported_endpoints` and
/// `blocked_endpoints`; blocked wins; neither list allows everything.
#[derive(Clone, Debug)]
pub(crate) struct AllowedRequestTypes {
    allowed: Vec<String>,
    blocked: Vec<String>,
}

impl AllowedRequestTypes {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let allowed = p.strings("allowedTypes", true)?.unwrap_or_default();
        let blocked = p.strings("blockedTypes", true)?.unwrap_or_default();
        if let Some(both) = allowed.iter().find(|t| blocked.contains(t)) {
            return Err(p.error(format!("`{both}` is both allowed and blocked")));
        }
        Ok(Self { allowed, blocked })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let from_metadata = |key: &str| -> Vec<String> {
            match input.metadata.and_then(|m| m.get(key)) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Some(Value::String(s)) => s
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
                _ => Vec::new(),
            }
        };
        let allowed = if self.allowed.is_empty() {
            from_metadata("supported_endpoints")
        } else {
            self.allowed.clone()
        };
        let blocked = if self.blocked.is_empty() {
            from_metadata("blocked_endpoints")
        } else {
            self.blocked.clone()
        };
        let t = input.request_type;
        if t.is_empty() {
            return Outcome::error("Request type not found in context");
        }
        let is_blocked = blocked.iter().any(|b| b == t);
        let is_allowed = allowed.iter().any(|a| a == t);
        let (verdict, mode, explanation) = match (allowed.is_empty(), blocked.is_empty()) {
            (true, true) => (
                true,
                "unrestricted",
                format!("Request type \"{t}\" is allowed (no restrictions configured)."),
            ),
            (true, false) => (
                !is_blocked,
                "blocklist",
                if is_blocked {
                    format!("Request type \"{t}\" is blocked.")
                } else {
                    format!("Request type \"{t}\" is allowed (not in blocklist).")
                },
            ),
            (false, true) => (
                is_allowed,
                "allowlist",
                if is_allowed {
                    format!("Request type \"{t}\" is allowed.")
                } else {
                    format!(
                        "Request type \"{t}\" is not allowed. Allowed types are: {}",
                        allowed.join(", ")
                    )
                },
            ),
            (false, false) => (
                !is_blocked && is_allowed,
                "combined",
                if is_blocked {
                    format!("Request type \"{t}\" is explicitly blocked.")
                } else if is_allowed {
                    format!("Request type \"{t}\" is allowed (in allowlist and not blocked).")
                } else {
                    format!("Request type \"{t}\" is not in the allowed list.")
                },
            ),
        };
        Outcome::verdict(verdict, explanation)
            .with("currentRequestType", t)
            .with("verdict", verdict)
            .with("mode", mode)
    }
}

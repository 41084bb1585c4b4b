//! The validated form of a route: a tree of strategies over targets, with the settings each
//! node passes down (retry, timeouts, parameter overrides), and the condition language used
//! by conditional routing. Built from YAML routes and from per-request JSON configs alike.

use std::time::Duration;

use regex::Regex;
use serde_json::{Map, Value};
use switchyard_providers::{AuthStyle, ProviderKind, ProviderOptions, Secret};

use crate::model::{BaseUrl, ProviderId};

/// One node of a route tree.
#[derive(Debug, Clone)]
pub struct RouteNode {
    /// A target or a group of nodes.
    pub kind: NodeKind,
    /// The name conditional routing refers to.
    pub name: Option<String>,
    /// Load-balancing weight (default 1; 0 never chosen).
    pub weight: f64,
    /// Where the node sits, in Portkey's notation (`config.targets[1].targets[0]`), reported
    /// to clients as `x-portkey-last-used-option-index`.
    pub path: String,
    /// Settings this node sets for itself and its descendants.
    pub settings: NodeSettings,
}

/// What a node is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A provider and model.
    Target(TargetSpec),
    /// A strategy over children.
    Group {
        /// How the children are used.
        mode: Mode,
        /// The children.
        children: Vec<RouteNode>,
    },
}

/// A leaf: where to send the request.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// The provider.
    pub provider: TargetProvider,
    /// The model to send; `None` keeps the client's (or `override_params.model`).
    pub model: Option<String>,
}

impl TargetSpec {
    /// The one rule for the model an attempt at this target asks for: the target's own
    /// `model`, else the nearest `override_params.model` in force above it (`overridden`),
    /// else `None` — the client's model.
    pub fn model_or<'a>(&'a self, overridden: Option<&'a str>) -> Option<&'a str> {
        self.model.as_deref().or(overridden)
    }
}

impl NodeSettings {
    /// This node's own `override_params.model`, if it sets one.
    pub fn model_override(&self) -> Option<&str> {
        self.override_params.get("model").and_then(Value::as_str)
    }
}

/// The provider of a leaf.
#[derive(Debug, Clone)]
pub enum TargetProvider {
    /// A provider from the config.
    Configured(ProviderId),
    /// A provider described inside a per-request config (`provider` kind + `api_key`).
    Inline {
        /// Its kind.
        kind: ProviderKind,
        /// The client's key for it.
        api_key: Secret,
        /// Where it lives, when not at the kind's public URL.
        custom_host: Option<BaseUrl>,
        /// Provider-specific settings (Portkey's `aws_*`, `vertex_*`, `openai_*`, Azure's).
        extra: Option<Box<InlineSettings>>,
    },
}

/// Provider-specific settings of an inline provider, from a per-request config.
#[derive(Debug, Clone, Default)]
pub struct InlineSettings {
    /// Region, project, API version, AWS credentials.
    pub options: ProviderOptions,
    /// Extra headers (`OpenAI-Organization`, `OpenAI-Project`), marked sensitive.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// How the key is sent, when not the kind's way (an Azure Entra ID token: bearer).
    pub auth: Option<AuthStyle>,
}

/// How a group uses its children.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The first child only.
    Single,
    /// Children in order; the next one when the failure's status is in the set.
    Fallback {
        /// Statuses that move on (transport errors count as 502/504).
        on_status: StatusSet,
    },
    /// Children in an order chosen by the balance policy; the next one on failure.
    LoadBalance {
        /// The policy.
        balance: Balance,
        /// Statuses that move on to another child.
        on_status: StatusSet,
    },
    /// The child named by the first matching rule, else `default`.
    Conditional {
        /// Rules, in order.
        rules: Vec<Rule>,
        /// The child used when no rule matches.
        default: Option<String>,
    },
}

/// A load-balancing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// Random in proportion to weight.
    Weighted,
    /// Lowest recent latency first (weights break ties).
    LeastLatency,
    /// Fewest requests in flight first (weights break ties).
    LeastInflight,
}

/// A conditional-routing rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// When it applies.
    pub query: Condition,
    /// The child (by name) it selects.
    pub then: String,
}

/// A set of HTTP statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusSet {
    /// Every non-2xx status (Portkey's fallback default).
    AnyError,
    /// These statuses.
    Only(Vec<u16>),
}

impl StatusSet {
    /// 429 and every 5xx: the default for fallback and load balancing.
    pub fn default_failover() -> Self {
        let mut v = vec![429];
        v.extend(500..600);
        StatusSet::Only(v)
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        match self {
            StatusSet::AnyError => !(200..300).contains(&status),
            StatusSet::Only(v) => v.contains(&status),
        }
    }
}

/// A retry policy for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub attempts: u32,
    /// Statuses worth retrying (transport errors count as 502/504).
    pub on_status: StatusSet,
    /// First backoff delay.
    pub initial: Duration,
    /// Largest backoff delay.
    pub max: Duration,
    /// Growth factor per retry.
    pub multiplier: f64,
    /// Honour `Retry-After` / `retry-after-ms` from the provider.
    pub use_retry_after: bool,
    /// A `Retry-After` longer than this is not waited for: the target is given up.
    pub retry_after_cap: Duration,
}

impl RetryPolicy {
    /// The default statuses retried: 429, 500, 502, 503, 504, and Anthropic's 529
    /// (overloaded).
    pub fn default_statuses() -> StatusSet {
        StatusSet::Only(vec![429, 500, 502, 503, 504, 529])
    }

    /// Portkey's default retry statuses, for `x-portkey-config`: 429, 500, 502, 503, 504.
    pub fn portkey_statuses() -> StatusSet {
        StatusSet::Only(vec![429, 500, 502, 503, 504])
    }
}

/// Timeouts a node sets; unset fields inherit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartialTimeouts {
    /// Connect.
    pub connect: Option<Duration>,
    /// First byte.
    pub first_byte: Option<Duration>,
    /// Idle between body reads.
    pub idle: Option<Duration>,
    /// Whole attempt.
    pub total: Option<Duration>,
    /// `total` came from a Portkey config's `request_timeout`: running out answers 408
    /// (Portkey's status) rather than 504.
    pub total_is_request_timeout: bool,
}

impl PartialTimeouts {
    /// `self` where set, else `parent`.
    pub fn or(self, parent: PartialTimeouts) -> PartialTimeouts {
        let (total, total_is_request_timeout) = match self.total {
            Some(t) => (Some(t), self.total_is_request_timeout),
            None => (parent.total, parent.total_is_request_timeout),
        };
        PartialTimeouts {
            connect: self.connect.or(parent.connect),
            first_byte: self.first_byte.or(parent.first_byte),
            idle: self.idle.or(parent.idle),
            total,
            total_is_request_timeout,
        }
    }

    /// Fills unset fields from complete timeouts.
    pub fn resolve(self, base: crate::model::Timeouts) -> crate::model::Timeouts {
        crate::model::Timeouts {
            connect: self.connect.unwrap_or(base.connect),
            first_byte: self.first_byte.unwrap_or(base.first_byte),
            idle: self.idle.unwrap_or(base.idle),
            total: self.total.unwrap_or(base.total),
        }
    }
}

/// Settings a node sets; descendants inherit what they do not set themselves.
#[derive(Debug, Clone, Default)]
pub struct NodeSettings {
    /// Retry policy (inherited whole; shared, as every attempt below the node carries it).
    pub retry: Option<std::sync::Arc<RetryPolicy>>,
    /// Request parameters forced on the provider request (merged; the deeper node wins).
    pub override_params: Map<String, Value>,
    /// Timeouts (inherited field by field).
    pub timeouts: PartialTimeouts,
    /// Client request headers passed on to the provider (inherited whole).
    pub forward_headers: Option<std::sync::Arc<[http::HeaderName]>>,
}

/// What a condition can look at.
pub trait Facts {
    /// The value at a path: `params.<field>[.<sub>…]` (the request body), `metadata.<key>`
    /// (the metadata header), `url.pathname`.
    fn lookup(&self, path: &[String]) -> Option<Value>;
}

/// A MongoDB-style query, as in Portkey's conditional routing.
#[derive(Debug, Clone)]
pub enum Condition {
    /// All must hold.
    And(Vec<Condition>),
    /// One must hold.
    Or(Vec<Condition>),
    /// A comparison on a path.
    Compare {
        /// The path, split on `.`.
        path: Vec<String>,
        /// The operator.
        op: Op,
    },
}

/// A comparison operator.
#[derive(Debug, Clone)]
pub enum Op {
    /// `$eq`
    Eq(Value),
    /// `$ne`
    Ne(Value),
    /// `$gt`
    Gt(f64),
    /// `$gte`
    Gte(f64),
    /// `$lt`
    Lt(f64),
    /// `$lte`
    Lte(f64),
    /// `$in`
    In(Vec<Value>),
    /// `$nin`
    Nin(Vec<Value>),
    /// `$regex`
    Regex(Regex),
    /// `$exists`
    Exists(bool),
}

impl Condition {
    /// Parses a query object: keys are paths (implicitly AND-ed) or `$and` / `$or`; a path
    /// maps to an operator object (`{"$in": [...]}`, several operators AND-ed) or to a plain
    /// value (equality).
    pub fn parse(query: &Value) -> Result<Self, String> {
        let obj = query
            .as_object()
            .ok_or("a query must be an object of conditions")?;
        let mut all = Vec::new();
        for (key, v) in obj {
            match key.as_str() {
                "$and" | "$or" => {
                    let items = v
                        .as_array()
                        .ok_or_else(|| format!("`{key}` takes an array of queries"))?;
                    let subs = items
                        .iter()
                        .map(Condition::parse)
                        .collect::<Result<Vec<_>, _>>()?;
                    all.push(if key == "$and" {
                        Condition::And(subs)
                    } else {
                        Condition::Or(subs)
                    });
                }
                k if k.starts_with('$') => {
                    return Err(format!("unknown operator `{k}` at the top of a query"))
                }
                path => {
                    let path = normalize_path(path)?;
                    match v
                        .as_object()
                        .filter(|o| o.keys().any(|k| k.starts_with('$')))
                    {
                        Some(ops) => {
                            for (op, arg) in ops {
                                all.push(Condition::Compare {
                                    path: path.clone(),
                                    op: Op::parse(op, arg)?,
                                });
                            }
                        }
                        None => all.push(Condition::Compare {
                            path,
                            op: Op::Eq(v.clone()),
                        }),
                    }
                }
            }
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Condition::And(all)
        })
    }

    /// Evaluates against request facts.
    pub fn matches(&self, facts: &dyn Facts) -> bool {
        match self {
            Condition::And(c) => c.iter().all(|c| c.matches(facts)),
            Condition::Or(c) => c.iter().any(|c| c.matches(facts)),
            Condition::Compare { path, op } => op.test(facts.lookup(path).as_ref()),
        }
    }
}

/// `model` and `user` are shorthands for `params.model` / `params.user`; every path must start
/// with `params`, `metadata` or `url`.
fn normalize_path(path: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("`{path}` is not a valid path"));
    }
    match parts[0].as_str() {
        "params" | "metadata" | "url" if parts.len() > 1 => Ok(parts),
        "model" | "user" if parts.len() == 1 => Ok(vec!["params".into(), parts[0].clone()]),
        _ => Err(format!(
            "`{path}` must start with `params.`, `metadata.` or `url.` (or be `model` / `user`)"
        )),
    }
}

impl Op {
    fn parse(op: &str, arg: &Value) -> Result<Op, String> {
        let num = || arg.as_f64().ok_or_else(|| format!("`{op}` takes a number"));
        let list = || {
            arg.as_array()
                .cloned()
                .ok_or_else(|| format!("`{op}` takes an array"))
        };
        Ok(match op {
            "$eq" => Op::Eq(arg.clone()),
            "$ne" => Op::Ne(arg.clone()),
            "$gt" => Op::Gt(num()?),
            "$gte" => Op::Gte(num()?),
            "$lt" => Op::Lt(num()?),
            "$lte" => Op::Lte(num()?),
            "$in" => Op::In(list()?),
            "$nin" => Op::Nin(list()?),
            "$exists" => Op::Exists(arg.as_bool().ok_or("`$exists` takes true or false")?),
            "$regex" => {
                let pattern = arg.as_str().ok_or("`$regex` takes a string")?;
                let re = regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("invalid `$regex`: {e}"))?;
                Op::Regex(re)
            }
            other => {
                return Err(format!(
                    "unknown operator `{other}` (use $eq $ne $gt $gte $lt $lte $in $nin $regex $exists)"
                ))
            }
        })
    }

    fn test(&self, v: Option<&Value>) -> bool {
        match self {
            Op::Exists(want) => v.is_some_and(|v| !v.is_null()) == *want,
            Op::Ne(x) => v.is_none_or(|v| !loose_eq(v, x)),
            Op::Nin(xs) => v.is_none_or(|v| !xs.iter().any(|x| loose_eq(v, x))),
            _ => {
                let Some(v) = v else { return false };
                match self {
                    Op::Eq(x) => loose_eq(v, x),
                    Op::In(xs) => xs.iter().any(|x| loose_eq(v, x)),
                    Op::Gt(n) => v.as_f64().is_some_and(|v| v > *n),
                    Op::Gte(n) => v.as_f64().is_some_and(|v| v >= *n),
                    Op::Lt(n) => v.as_f64().is_some_and(|v| v < *n),
                    Op::Lte(n) => v.as_f64().is_some_and(|v| v <= *n),
                    Op::Regex(re) => v.as_str().is_some_and(|s| re.is_match(s)),
                    Op::Exists(_) | Op::Ne(_) | Op::Nin(_) => false,
                }
            }
        }
    }
}

/// Equality where numbers compare by value (`1` equals `1.0`).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct F(Value);
    impl Facts for F {
        fn lookup(&self, path: &[String]) -> Option<Value> {
            let mut v = &self.0;
            for p in path {
                v = v.get(p)?;
            }
            Some(v.clone())
        }
    }

    fn facts() -> F {
        F(json!({
            "params": {"model": "gpt-4o", "user": "u-17", "max_tokens": 900, "temperature": 0.2},
            "metadata": {"tier": "paid", "region": "eu"},
            "url": {"pathname": "/v1/chat/completions"}
        }))
    }

    fn q(v: Value) -> Condition {
        Condition::parse(&v).unwrap()
    }

    #[test]
    fn operators() {
        let f = facts();
        assert!(q(json!({"metadata.tier": {"$eq": "paid"}})).matches(&f));
        assert!(q(json!({"metadata.tier": "paid"})).matches(&f));
        assert!(!q(json!({"metadata.tier": {"$ne": "paid"}})).matches(&f));
        assert!(q(json!({"metadata.missing": {"$ne": "x"}})).matches(&f));
        assert!(q(json!({"model": {"$in": ["gpt-4o", "o3"]}})).matches(&f));
        assert!(q(json!({"params.model": {"$nin": ["o3"]}})).matches(&f));
        assert!(q(json!({"params.max_tokens": {"$gt": 500, "$lt": 1000}})).matches(&f));
        assert!(!q(json!({"params.max_tokens": {"$gte": 901}})).matches(&f));
        assert!(q(json!({"params.max_tokens": {"$lte": 900.0}})).matches(&f));
        assert!(q(json!({"user": {"$regex": "^u-1[0-9]$"}})).matches(&f));
        assert!(q(json!({"params.temperature": {"$exists": true}})).matches(&f));
        assert!(q(json!({"params.seed": {"$exists": false}})).matches(&f));
        assert!(q(json!({"url.pathname": "/v1/chat/completions"})).matches(&f));
    }

    #[test]
    fn and_or() {
        let f = facts();
        assert!(
            q(json!({"$or": [{"metadata.tier": "free"}, {"metadata.region": "eu"}]})).matches(&f)
        );
        assert!(
            !q(json!({"$and": [{"metadata.tier": "paid"}, {"metadata.region": "us"}]})).matches(&f)
        );
        assert!(q(json!({"metadata.tier": "paid", "model": "gpt-4o"})).matches(&f));
    }

    #[test]
    fn bad_queries_are_refused_with_a_reason() {
        for (bad, why) in [
            (
                json!({"metadata.tier": {"$like": "x"}}),
                "unknown operator `$like`",
            ),
            (json!({"tier": "paid"}), "must start with"),
            (json!({"$or": {"a": 1}}), "takes an array"),
            (json!({"user": {"$regex": "("}}), "invalid `$regex`"),
            (json!({"params.n": {"$gt": "big"}}), "takes a number"),
            (json!(["x"]), "must be an object"),
        ] {
            let e = Condition::parse(&bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn status_sets() {
        assert!(StatusSet::default_failover().contains(429));
        assert!(StatusSet::default_failover().contains(503));
        assert!(!StatusSet::default_failover().contains(400));
        assert!(StatusSet::AnyError.contains(400));
        assert!(!StatusSet::AnyError.contains(204));
    }
}

//! Walking a route tree: which target to try next, after what delay, given how the last
//! attempt went. A pure state machine — the gateway makes the attempts and reports outcomes.
//!
//! Semantics:
//! - a **target** is tried, then retried per its (inherited) retry policy while the failure's
//!   status is in the policy's set, waiting an exponential backoff with jitter or the
//!   provider's `Retry-After` (a `Retry-After` beyond the cap gives the target up);
//! - a **fallback** group tries children in order, moving on while the failure's status is in
//!   its `on_status` set; a **loadbalance** group does the same over an order drawn by its
//!   balance policy; **single** and **conditional** groups never move on;
//! - unhealthy children are tried after healthy ones, least bad first, so a request still has
//!   a chance when everything is unhealthy;
//! - a target that cannot serve the request at all is skipped: never retried, and every
//!   fallback or load-balancing group moves past it whatever its status set.

use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value};
use switchyard_config::route::{
    Balance, Facts, Mode, NodeKind, PartialTimeouts, RetryPolicy, RouteNode, TargetSpec,
};

use crate::health::TargetState;

/// What the walk needs from the running gateway.
pub trait WalkContext {
    /// Request facts for conditional rules.
    fn facts(&self) -> &dyn Facts;
    /// The health of a target (healthy when unknown); `model` is the one it would be asked
    /// for when known from the route ([`TargetSpec::model_or`]), else the client's applies.
    fn target_state(&self, target: &TargetSpec, model: Option<&str>) -> TargetState;
}

/// Settings in force at a node: its own over its ancestors'.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    /// Retry policy.
    pub retry: Option<std::sync::Arc<RetryPolicy>>,
    /// Forced request parameters.
    pub override_params: Map<String, Value>,
    /// Timeouts.
    pub timeouts: PartialTimeouts,
    /// Client request headers passed on to the provider.
    pub forward_headers: Option<std::sync::Arc<[http::HeaderName]>>,
}

impl Effective {
    /// The `override_params.model` in force, if any.
    pub fn model_override(&self) -> Option<&str> {
        self.override_params.get("model").and_then(Value::as_str)
    }

    fn under(&self, node: &RouteNode) -> Effective {
        let mut override_params = self.override_params.clone();
        for (k, v) in &node.settings.override_params {
            override_params.insert(k.clone(), v.clone());
        }
        Effective {
            retry: node.settings.retry.clone().or_else(|| self.retry.clone()),
            override_params,
            timeouts: node.settings.timeouts.or(self.timeouts),
            forward_headers: node
                .settings
                .forward_headers
                .clone()
                .or_else(|| self.forward_headers.clone()),
        }
    }
}

/// One attempt to make.
#[derive(Debug, Clone)]
pub struct Attempt<'p> {
    /// The leaf node.
    pub node: &'p RouteNode,
    /// Its target.
    pub target: &'p TargetSpec,
    /// Settings in force.
    pub settings: Effective,
    /// Wait this long first.
    pub delay: Duration,
    /// 0 for the first try of this target, then 1, 2… for retries.
    pub retry: u32,
}

/// How an attempt failed, as the walk needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The status the failure counts as: the provider's, or 502 (connection problems) / 504
    /// (timeouts) for transport errors.
    pub status: u16,
    /// The provider's `Retry-After`, if any.
    pub retry_after: Option<Duration>,
    /// The target could not serve the request at all (its dialect cannot express it, or a
    /// stage ruled it out): it is not retried, and every fallback or load-balancing group
    /// above it moves on whatever its status set.
    pub skipped: bool,
}

impl Outcome {
    /// A failed attempt with this status.
    pub fn failed(status: u16, retry_after: Option<Duration>) -> Self {
        Self {
            status,
            retry_after,
            skipped: false,
        }
    }

    /// A target that cannot serve the request.
    pub fn skipped() -> Self {
        Self {
            status: 400,
            retry_after: None,
            skipped: true,
        }
    }
}

/// What to do next.
#[derive(Debug)]
pub enum Next<'p> {
    /// Make this attempt.
    Try(Attempt<'p>),
    /// Nothing left to try.
    Exhausted,
    /// A conditional group matched no rule and has no default (its path).
    NoMatch(&'p str),
}

enum State {
    Leaf { tries: u32 },
    Group { order: Vec<usize>, pos: usize },
}

struct Frame<'p> {
    node: &'p RouteNode,
    eff: Effective,
    state: State,
}

/// The walk over one request's route tree.
pub struct Walk<'p> {
    stack: Vec<Frame<'p>>,
}

impl<'p> Walk<'p> {
    /// Starts at `root`; returns the walk and its first step.
    pub fn start(
        root: &'p RouteNode,
        cx: &dyn WalkContext,
        rng: &mut impl Rng,
    ) -> (Self, Next<'p>) {
        let mut w = Walk { stack: Vec::new() };
        let first = w.descend(root, &Effective::default(), cx, rng);
        let next = match first {
            Descend::Attempt(a) => Next::Try(a),
            Descend::NoMatch(p) => Next::NoMatch(p),
            Descend::Empty => w.propagate(None, cx, rng),
        };
        (w, next)
    }

    /// The step after an attempt failed with `outcome`.
    pub fn next(
        &mut self,
        outcome: &Outcome,
        cx: &dyn WalkContext,
        rng: &mut impl Rng,
    ) -> Next<'p> {
        self.propagate(Some(outcome), cx, rng)
    }

    fn propagate(
        &mut self,
        outcome: Option<&Outcome>,
        cx: &dyn WalkContext,
        rng: &mut impl Rng,
    ) -> Next<'p> {
        while let Some(frame) = self.stack.last_mut() {
            let node = frame.node;
            match &mut frame.state {
                State::Leaf { tries } => {
                    if let (Some(o), Some(policy), NodeKind::Target(target)) =
                        (outcome, &frame.eff.retry, &node.kind)
                    {
                        if !o.skipped
                            && *tries < policy.attempts
                            && policy.on_status.contains(o.status)
                        {
                            if let Some(delay) = retry_delay(policy, *tries, o.retry_after, rng) {
                                *tries += 1;
                                return Next::Try(Attempt {
                                    node,
                                    target,
                                    settings: frame.eff.clone(),
                                    delay,
                                    retry: *tries,
                                });
                            }
                        }
                    }
                    self.stack.pop();
                }
                State::Group { order, pos } => {
                    let moves_on = match (&node.kind, outcome) {
                        (
                            NodeKind::Group {
                                mode:
                                    Mode::Fallback { on_status } | Mode::LoadBalance { on_status, .. },
                                ..
                            },
                            Some(o),
                        ) => o.skipped || on_status.contains(o.status),
                        // An empty child (nothing to try) never blocks its siblings.
                        (
                            NodeKind::Group {
                                mode: Mode::Fallback { .. } | Mode::LoadBalance { .. },
                                ..
                            },
                            None,
                        ) => true,
                        _ => false,
                    };
                    if moves_on && *pos + 1 < order.len() {
                        *pos += 1;
                        let child_index = order[*pos];
                        let eff = frame.eff.clone();
                        let NodeKind::Group { children, .. } = &node.kind else {
                            self.stack.pop();
                            continue;
                        };
                        let Some(child) = children.get(child_index) else {
                            self.stack.pop();
                            continue;
                        };
                        match self.descend(child, &eff, cx, rng) {
                            Descend::Attempt(a) => return Next::Try(a),
                            Descend::NoMatch(p) => return Next::NoMatch(p),
                            Descend::Empty => continue,
                        }
                    }
                    self.stack.pop();
                }
            }
        }
        Next::Exhausted
    }

    fn descend(
        &mut self,
        node: &'p RouteNode,
        parent: &Effective,
        cx: &dyn WalkContext,
        rng: &mut impl Rng,
    ) -> Descend<'p> {
        let eff = parent.under(node);
        match &node.kind {
            NodeKind::Target(target) => {
                self.stack.push(Frame {
                    node,
                    eff: eff.clone(),
                    state: State::Leaf { tries: 0 },
                });
                Descend::Attempt(Attempt {
                    node,
                    target,
                    settings: eff,
                    delay: Duration::ZERO,
                    retry: 0,
                })
            }
            NodeKind::Group { mode, children } => {
                let overridden = eff.model_override();
                let order = match mode {
                    Mode::Single => vec![0],
                    Mode::Fallback { .. } => {
                        health_order(children, (0..children.len()).collect(), overridden, cx)
                    }
                    Mode::LoadBalance { balance, .. } => {
                        let drawn = balance_order(children, *balance, overridden, cx, rng);
                        health_order(children, drawn, overridden, cx)
                    }
                    Mode::Conditional { rules, default } => {
                        let facts = cx.facts();
                        let chosen = rules
                            .iter()
                            .find(|r| r.query.matches(facts))
                            .map(|r| r.then.as_str())
                            .or(default.as_deref());
                        match chosen.and_then(|name| {
                            children
                                .iter()
                                .position(|c| c.name.as_deref() == Some(name))
                        }) {
                            Some(i) => vec![i],
                            None => return Descend::NoMatch(&node.path),
                        }
                    }
                };
                let Some(&first) = order.first() else {
                    return Descend::Empty;
                };
                self.stack.push(Frame {
                    node,
                    eff: eff.clone(),
                    state: State::Group { order, pos: 0 },
                });
                match children.get(first) {
                    Some(child) => match self.descend(child, &eff, cx, rng) {
                        Descend::Empty => match self.propagate(None, cx, rng) {
                            Next::Try(a) => Descend::Attempt(a),
                            Next::NoMatch(p) => Descend::NoMatch(p),
                            Next::Exhausted => Descend::Empty,
                        },
                        d => d,
                    },
                    None => Descend::Empty,
                }
            }
        }
    }
}

enum Descend<'p> {
    Attempt(Attempt<'p>),
    NoMatch(&'p str),
    Empty,
}

/// Healthy subtrees first in the given order, then unhealthy ones least bad first.
fn health_order(
    children: &[RouteNode],
    order: Vec<usize>,
    overridden: Option<&str>,
    cx: &dyn WalkContext,
) -> Vec<usize> {
    let states: Vec<(usize, TargetState)> = order
        .into_iter()
        .map(|i| (i, subtree_state(&children[i], overridden, cx)))
        .collect();
    let (mut healthy, mut sick): (Vec<_>, Vec<_>) =
        states.into_iter().partition(|(_, s)| s.healthy);
    sick.sort_by(|a, b| a.1.badness.total_cmp(&b.1.badness));
    healthy.append(&mut sick);
    healthy.into_iter().map(|(i, _)| i).collect()
}

/// A subtree is healthy when any target in it is; its badness is its least bad target's.
/// `overridden` is the `override_params.model` in force above `node`.
fn subtree_state(node: &RouteNode, overridden: Option<&str>, cx: &dyn WalkContext) -> TargetState {
    let overridden = node.settings.model_override().or(overridden);
    match &node.kind {
        NodeKind::Target(t) => cx.target_state(t, t.model_or(overridden)),
        NodeKind::Group { children, .. } => children
            .iter()
            .map(|c| subtree_state(c, overridden, cx))
            .reduce(|a, b| TargetState {
                healthy: a.healthy || b.healthy,
                badness: a.badness.min(b.badness),
                latency_us: a.latency_us.min(b.latency_us),
                inflight: a.inflight + b.inflight,
            })
            .unwrap_or(TargetState {
                healthy: false,
                badness: f64::MAX,
                latency_us: 0.0,
                inflight: 0,
            }),
    }
}

/// The order a load-balancing group tries its children in. Weight-0 children are left out.
/// Weighted: a random order drawn without replacement in proportion to weight
/// (Efraimidis–Spirakis: sort by `u^(1/w)`), so the first pick is chosen by weight and the
/// rest serve as failover. Least latency / least in flight: ascending, weighted draw breaks ties.
fn balance_order(
    children: &[RouteNode],
    balance: Balance,
    overridden: Option<&str>,
    cx: &dyn WalkContext,
    rng: &mut impl Rng,
) -> Vec<usize> {
    let mut keyed: Vec<(usize, f64, f64)> = children
        .iter()
        .enumerate()
        .filter(|(_, c)| c.weight > 0.0)
        .map(|(i, c)| {
            let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
            let draw = u.powf(1.0 / c.weight);
            let metric = match balance {
                Balance::Weighted => 0.0,
                Balance::LeastLatency => subtree_state(c, overridden, cx).latency_us,
                Balance::LeastInflight => subtree_state(c, overridden, cx).inflight as f64,
            };
            (i, metric, draw)
        })
        .collect();
    keyed.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.2.total_cmp(&a.2)));
    keyed.into_iter().map(|(i, _, _)| i).collect()
}

/// The wait before retry number `tries + 1`: the provider's `Retry-After` when it gave one
/// (`None` when it exceeds the cap: not worth waiting), else exponential backoff with equal
/// jitter (half fixed, half random) so concurrent retries spread out.
pub fn retry_delay(
    policy: &RetryPolicy,
    tries: u32,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Option<Duration> {
    if let (true, Some(ra)) = (policy.use_retry_after, retry_after) {
        return (ra <= policy.retry_after_cap).then_some(ra);
    }
    let exp = policy.initial.as_secs_f64() * policy.multiplier.powi(tries.min(30) as i32);
    let capped = exp.min(policy.max.as_secs_f64());
    let jittered = capped / 2.0 + rng.gen_range(0.0..=capped / 2.0);
    Some(Duration::from_secs_f64(jittered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::collections::HashMap;
    use switchyard_config::route::TargetProvider;
    use switchyard_config::ProviderId;

    struct Cx {
        facts: FactsMap,
        sick: Vec<usize>,
    }
    struct FactsMap(Value);
    impl Facts for FactsMap {
        fn lookup(&self, path: &[String]) -> Option<Value> {
            let mut v = &self.0;
            for p in path {
                v = v.get(p)?;
            }
            Some(v.clone())
        }
    }
    impl WalkContext for Cx {
        fn facts(&self) -> &dyn Facts {
            &self.facts
        }
        fn target_state(&self, t: &TargetSpec, _: Option<&str>) -> TargetState {
            let TargetProvider::Configured(ProviderId(id)) = t.provider else {
                unreachable!()
            };
            TargetState {
                healthy: !self.sick.contains(&id),
                badness: id as f64,
                latency_us: 0.0,
                inflight: 0,
            }
        }
    }

    fn cx() -> Cx {
        Cx {
            facts: FactsMap(serde_json::json!({"metadata": {"tier": "paid"}})),
            sick: vec![],
        }
    }

    fn route(yaml: &str) -> RouteNode {
        let text = format!("providers:\n  p0: {{kind: openai}}\n  p1: {{kind: openai}}\n  p2: {{kind: openai}}\n  p3: {{kind: openai}}\nroutes:\n  r:\n{yaml}");
        let c = switchyard_config::load_str(&text, "t.yaml", &|_| None).unwrap();
        c.route("r").unwrap().node.clone()
    }

    fn provider(a: &Attempt<'_>) -> usize {
        let TargetProvider::Configured(ProviderId(id)) = a.target.provider else {
            unreachable!()
        };
        id
    }

    fn fail(status: u16) -> Outcome {
        Outcome::failed(status, None)
    }

    /// Runs the walk with every attempt failing with `statuses` in turn; returns providers tried.
    fn run(root: &RouteNode, cx: &Cx, statuses: &[u16]) -> Vec<(usize, u32)> {
        let mut rng = StdRng::seed_from_u64(7);
        let (mut w, mut next) = Walk::start(root, cx, &mut rng);
        let mut tried = Vec::new();
        let mut i = 0;
        while let Next::Try(a) = next {
            tried.push((provider(&a), a.retry));
            let status = statuses.get(i).copied().unwrap_or(503);
            i += 1;
            next = w.next(&fail(status), cx, &mut rng);
        }
        tried
    }

    #[test]
    fn fallback_moves_on_only_for_listed_statuses() {
        let r = route("    strategy: { mode: fallback, on_status_codes: [429, 503] }\n    targets: [ {provider: p0}, {provider: p1}, {provider: p2} ]\n");
        assert_eq!(
            run(&r, &cx(), &[503, 429, 503]),
            vec![(0, 0), (1, 0), (2, 0)]
        );
        assert_eq!(run(&r, &cx(), &[503, 400]), vec![(0, 0), (1, 0)]);
    }

    #[test]
    fn retries_come_before_fallback_and_obey_retry_after() {
        let r = route("    retry: { attempts: 2, on_status_codes: [429, 503] }\n    targets: [ {provider: p0}, {provider: p1} ]\n");
        assert_eq!(
            run(&r, &cx(), &[429, 503, 503, 429, 500]),
            vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)],
            "500 is not retried here"
        );
        let mut rng = StdRng::seed_from_u64(1);
        let (mut w, _) = Walk::start(&r, &cx(), &mut rng);
        let Next::Try(a) = w.next(
            &Outcome::failed(429, Some(Duration::from_millis(1500))),
            &cx(),
            &mut rng,
        ) else {
            panic!()
        };
        assert_eq!((a.delay, a.retry), (Duration::from_millis(1500), 1));
        // A Retry-After beyond the cap gives the target up.
        let Next::Try(a) = w.next(
            &Outcome::failed(429, Some(Duration::from_secs(3600))),
            &cx(),
            &mut rng,
        ) else {
            panic!()
        };
        assert_eq!((provider(&a), a.retry), (1, 0));
    }

    #[test]
    fn a_target_that_cannot_serve_is_skipped_not_retried() {
        // A fallback moving on only for 429 still moves past a skipped target, and the
        // skipped one is not retried even though its retry policy covers every status.
        let r = route("    strategy: { mode: fallback, on_status_codes: [429] }\n    retry: { attempts: 3, on_status_codes: [400, 429] }\n    targets: [ {provider: p0}, {provider: p1}, {provider: p2} ]\n");
        let mut rng = StdRng::seed_from_u64(1);
        let (mut w, first) = Walk::start(&r, &cx(), &mut rng);
        let Next::Try(a) = first else { panic!() };
        assert_eq!(provider(&a), 0);
        let Next::Try(a) = w.next(&Outcome::skipped(), &cx(), &mut rng) else {
            panic!()
        };
        assert_eq!((provider(&a), a.retry), (1, 0));
        // A plain 400 from the provider is retried per the policy, and does not fall back.
        let Next::Try(a) = w.next(&fail(400), &cx(), &mut rng) else {
            panic!()
        };
        assert_eq!((provider(&a), a.retry), (1, 1));
        // A single-target route has nothing to move on to.
        let single = route("    targets: [ {provider: p0} ]\n");
        let (mut w, _) = Walk::start(&single, &cx(), &mut rng);
        assert!(matches!(
            w.next(&Outcome::skipped(), &cx(), &mut rng),
            Next::Exhausted
        ));
    }

    #[test]
    fn unhealthy_targets_go_last_but_are_still_tried() {
        let r = route("    targets: [ {provider: p0}, {provider: p1}, {provider: p2} ]\n");
        let mut c = cx();
        c.sick = vec![0, 1];
        assert_eq!(run(&r, &c, &[]), vec![(2, 0), (0, 0), (1, 0)]);
        c.sick = vec![0, 1, 2];
        assert_eq!(run(&r, &c, &[]).len(), 3);
    }

    #[test]
    fn weighted_load_balancing_follows_weights_and_fails_over() {
        let r = route("    strategy: loadbalance\n    targets: [ {provider: p0, weight: 3}, {provider: p1, weight: 1}, {provider: p2, weight: 0} ]\n");
        let mut rng = StdRng::seed_from_u64(42);
        let mut counts = HashMap::new();
        for _ in 0..20_000 {
            let (_, next) = Walk::start(&r, &cx(), &mut rng);
            let Next::Try(a) = next else { panic!() };
            *counts.entry(provider(&a)).or_insert(0) += 1;
        }
        let share = counts[&0] as f64 / 20_000.0;
        assert!((share - 0.75).abs() < 0.015, "{share}");
        assert!(!counts.contains_key(&2), "weight 0 is never chosen");
        // The other child is the failover.
        let tried = run(&r, &cx(), &[503]);
        assert_eq!(tried.len(), 2);
    }

    #[test]
    fn least_inflight_prefers_the_idle_target() {
        struct Busy;
        impl WalkContext for Busy {
            fn facts(&self) -> &dyn Facts {
                unreachable!()
            }
            fn target_state(&self, t: &TargetSpec, _: Option<&str>) -> TargetState {
                let TargetProvider::Configured(ProviderId(id)) = t.provider else {
                    unreachable!()
                };
                TargetState {
                    healthy: true,
                    badness: 0.0,
                    latency_us: 0.0,
                    inflight: if id == 0 { 9 } else { 1 },
                }
            }
        }
        let r = route("    strategy: { mode: loadbalance, balance: least_inflight }\n    targets: [ {provider: p0, weight: 100}, {provider: p1} ]\n");
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let (_, next) = Walk::start(&r, &Busy, &mut rng);
            let Next::Try(a) = next else { panic!() };
            assert_eq!(provider(&a), 1);
        }
    }

    #[test]
    fn conditional_routes_pick_by_rule_then_default() {
        let r = route("    strategy: { mode: conditional, conditions: [ { query: { metadata.tier: paid }, then: premium } ], default: cheap }\n    targets: [ {provider: p0, name: cheap}, {provider: p1, name: premium} ]\n");
        assert_eq!(run(&r, &cx(), &[])[0].0, 1);
        let mut c = cx();
        c.facts = FactsMap(serde_json::json!({"metadata": {"tier": "free"}}));
        assert_eq!(
            run(&r, &c, &[]),
            vec![(0, 0)],
            "a conditional group does not fall back"
        );
        let r = route("    strategy: { mode: conditional, conditions: [ { query: { metadata.tier: gold }, then: premium } ] }\n    targets: [ {provider: p0, name: cheap}, {provider: p1, name: premium} ]\n");
        let mut rng = StdRng::seed_from_u64(1);
        assert!(matches!(
            Walk::start(&r, &cx(), &mut rng).1,
            Next::NoMatch("config")
        ));
    }

    #[test]
    fn nested_groups_fall_back_across_levels_and_settings_inherit() {
        let r = route("    override_params: { max_tokens: 10, temperature: 0 }\n    timeouts: { total: 9s }\n    targets:\n      - strategy: fallback\n        override_params: { max_tokens: 20 }\n        targets: [ {provider: p0, timeouts: { connect: 1s }}, {provider: p1} ]\n      - {provider: p2}\n");
        let mut rng = StdRng::seed_from_u64(1);
        let (mut w, next) = Walk::start(&r, &cx(), &mut rng);
        let Next::Try(a) = next else { panic!() };
        assert_eq!(a.settings.override_params["max_tokens"], 20);
        assert_eq!(a.settings.override_params["temperature"], 0);
        assert_eq!(a.settings.timeouts.total, Some(Duration::from_secs(9)));
        assert_eq!(a.settings.timeouts.connect, Some(Duration::from_secs(1)));
        assert_eq!(a.node.path, "config.targets[0].targets[0]");
        let Next::Try(b) = w.next(&fail(500), &cx(), &mut rng) else {
            panic!()
        };
        assert_eq!((provider(&b), b.settings.timeouts.connect), (1, None));
        let Next::Try(c) = w.next(&fail(500), &cx(), &mut rng) else {
            panic!()
        };
        assert_eq!(
            (provider(&c), c.node.path.as_str()),
            (2, "config.targets[1]")
        );
        assert_eq!(c.settings.override_params["max_tokens"], 10);
        assert!(matches!(
            w.next(&fail(500), &cx(), &mut rng),
            Next::Exhausted
        ));
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            attempts: 5,
            on_status: RetryPolicy::default_statuses(),
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            multiplier: 2.0,
            use_retry_after: true,
            retry_after_cap: Duration::from_secs(60),
        };
        let mut rng = StdRng::seed_from_u64(9);
        for (tries, lo, hi) in [(0, 50, 100), (1, 100, 200), (2, 200, 400), (5, 500, 1000)] {
            for _ in 0..100 {
                let d = retry_delay(&p, tries, None, &mut rng).unwrap().as_millis();
                assert!((lo..=hi).contains(&(d as u64)), "try {tries}: {d}");
            }
        }
    }
}

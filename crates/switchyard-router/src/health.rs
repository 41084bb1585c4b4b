//! Target health: a circuit breaker per target fed by the gateway's outcomes (passive), the
//! provider-level verdict of active health checks, and the latency and in-flight figures
//! load balancing reads. Lock-free: every field is an atomic, so the hot path never waits.
//!
//! Targets are keyed by (provider, model) for every model named in the config and by provider
//! alone for the rest, all registered when the config loads: a request can never add a key,
//! so memory does not grow with the models clients ask for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use switchyard_config::route::{NodeKind, RouteNode, TargetProvider};
use switchyard_config::{Config, ProviderId};

/// When a circuit opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the circuit; 0 disables the breaker.
    pub failures: u32,
    /// How long an open circuit refuses traffic before letting one probe through.
    pub cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failures: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// A circuit's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Traffic flows.
    Closed,
    /// Traffic is refused until the cooldown ends.
    Open,
    /// The cooldown ended: one probe may go through to decide.
    HalfOpen,
}

impl Circuit {
    /// A label for metrics and the admin endpoint.
    pub fn label(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}

/// Health of one target. Times are microseconds since the registry's epoch.
#[derive(Debug)]
pub struct TargetHealth {
    policy: BreakerPolicy,
    failures: AtomicU32,
    open_until: AtomicU64,
    probing: AtomicBool,
    ewma_us: AtomicU64,
    inflight: AtomicI64,
    provider_up: Arc<AtomicBool>,
}

/// What routing needs to know about a target right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetState {
    /// Worth sending to (active check up, circuit not open, no probe already in flight).
    pub healthy: bool,
    /// Among unhealthy targets, lower is less bad (time until the circuit half-opens, µs).
    pub badness: f64,
    /// Smoothed time to first byte, µs (0 when unknown).
    pub latency_us: f64,
    /// Requests in flight.
    pub inflight: i64,
}

impl TargetHealth {
    fn new(policy: BreakerPolicy, provider_up: Arc<AtomicBool>) -> Self {
        Self {
            policy,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            ewma_us: AtomicU64::new(0),
            inflight: AtomicI64::new(0),
            provider_up,
        }
    }

    /// The circuit's state at `now`.
    pub fn circuit(&self, now: u64) -> Circuit {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            Circuit::Closed
        } else if now < until {
            Circuit::Open
        } else {
            Circuit::HalfOpen
        }
    }

    /// The state routing reads.
    pub fn state(&self, now: u64) -> TargetState {
        let circuit = self.circuit(now);
        let up = self.provider_up.load(Ordering::Relaxed);
        let healthy = up
            && match circuit {
                Circuit::Closed => true,
                Circuit::Open => false,
                Circuit::HalfOpen => !self.probing.load(Ordering::Acquire),
            };
        let until = self.open_until.load(Ordering::Acquire);
        let mut badness = until.saturating_sub(now) as f64;
        if !up {
            badness += 1e12;
        }
        TargetState {
            healthy,
            badness,
            latency_us: self.ewma_us.load(Ordering::Relaxed) as f64,
            inflight: self.inflight.load(Ordering::Relaxed),
        }
    }

    /// An attempt is starting. In the half-open state the first caller becomes the probe.
    pub fn begin(&self, now: u64) {
        self.inflight.fetch_add(1, Ordering::Relaxed);
        if self.circuit(now) == Circuit::HalfOpen {
            let _ = self
                .probing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// The attempt succeeded after `latency` (time to the response header).
    pub fn success(&self, latency: Duration) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
        self.open_until.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
        let sample = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        let old = self.ewma_us.load(Ordering::Relaxed);
        // EWMA with α = 0.2; the first sample seeds it. Races only blur the average.
        let new = if old == 0 {
            sample
        } else {
            (old * 4 + sample) / 5
        };
        self.ewma_us.store(new.max(1), Ordering::Relaxed);
    }

    /// The attempt failed in a way that counts against the target (transport error, 429,
    /// 5xx). Opens the circuit after `policy.failures` in a row; a failed probe reopens it.
    pub fn failure(&self, now: u64) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        if self.policy.failures == 0 {
            return;
        }
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let was_probe = self.probing.swap(false, Ordering::AcqRel);
        if n >= self.policy.failures || was_probe {
            let until = now + self.policy.cooldown.as_micros() as u64;
            self.open_until.store(until.max(1), Ordering::Release);
        }
    }

    /// The attempt ended without a verdict on the target (the client's error, or it left).
    pub fn neutral(&self) {
        self.inflight.fetch_sub(1, Ordering::Relaxed);
        self.probing.store(false, Ordering::Release);
    }

    /// Consecutive failures so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }
}

struct ProviderHealth {
    up: Arc<AtomicBool>,
    any: Arc<TargetHealth>,
    by_model: HashMap<Box<str>, Arc<TargetHealth>>,
}

/// Every target's health. Times are microseconds on the caller's clock (the gateway's
/// `Clock`): this crate reads no clock.
pub struct HealthRegistry {
    providers: Vec<ProviderHealth>,
    names: Vec<String>,
}

/// One target's health, for the admin endpoint and metrics.
#[derive(Debug, Clone)]
pub struct TargetReport {
    /// Provider name.
    pub provider: String,
    /// Model, or `None` for the provider-wide entry.
    pub model: Option<String>,
    /// Circuit state.
    pub circuit: Circuit,
    /// Whether routing will prefer it.
    pub healthy: bool,
    /// Active health check verdict for the provider.
    pub provider_up: bool,
    /// Consecutive failures.
    pub failures: u32,
    /// Smoothed time to first byte, seconds.
    pub latency_seconds: f64,
    /// Requests in flight.
    pub inflight: i64,
}

impl HealthRegistry {
    /// Registers every (provider, model) the config names, and every provider.
    pub fn new(config: &Config, policy: BreakerPolicy) -> Self {
        let mut providers: Vec<ProviderHealth> = config
            .providers
            .iter()
            .map(|_| {
                let up = Arc::new(AtomicBool::new(true));
                ProviderHealth {
                    any: Arc::new(TargetHealth::new(policy, up.clone())),
                    up,
                    by_model: HashMap::new(),
                }
            })
            .collect();
        let mut add = |id: ProviderId, model: &str| {
            if let Some(p) = providers.get_mut(id.0) {
                let up = p.up.clone();
                p.by_model
                    .entry(model.into())
                    .or_insert_with(|| Arc::new(TargetHealth::new(policy, up)));
            }
        };
        for (i, p) in config.providers.iter().enumerate() {
            for m in &p.models {
                add(ProviderId(i), m);
            }
        }
        fn walk(n: &RouteNode, overridden: Option<&str>, add: &mut dyn FnMut(ProviderId, &str)) {
            let overridden = n.settings.model_override().or(overridden);
            match &n.kind {
                NodeKind::Target(t) => {
                    if let (TargetProvider::Configured(id), Some(m)) =
                        (&t.provider, t.model_or(overridden))
                    {
                        add(*id, m);
                    }
                }
                NodeKind::Group { children, .. } => {
                    children.iter().for_each(|c| walk(c, overridden, add))
                }
            }
        }
        for r in &config.routes {
            walk(&r.node, None, &mut add);
        }
        Self {
            providers,
            names: config.providers.iter().map(|p| p.name.clone()).collect(),
        }
    }

    /// The health entry for a target: the (provider, model) one when the config names that
    /// model, else the provider-wide one.
    pub fn target(&self, provider: ProviderId, model: Option<&str>) -> Option<&Arc<TargetHealth>> {
        let p = self.providers.get(provider.0)?;
        Some(model.and_then(|m| p.by_model.get(m)).unwrap_or(&p.any))
    }

    /// The flag active health checks set for a provider.
    pub fn provider_up(&self, provider: ProviderId) -> Option<&Arc<AtomicBool>> {
        self.providers.get(provider.0).map(|p| &p.up)
    }

    /// Every entry as of `now`, for reporting.
    pub fn report(&self, now: u64) -> Vec<TargetReport> {
        let mut out = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            let name = self.names.get(i).cloned().unwrap_or_default();
            let mut entries: Vec<(Option<String>, &Arc<TargetHealth>)> = vec![(None, &p.any)];
            let mut models: Vec<_> = p.by_model.iter().collect();
            models.sort_by(|a, b| a.0.cmp(b.0));
            entries.extend(models.into_iter().map(|(m, h)| (Some(m.to_string()), h)));
            for (model, h) in entries {
                let s = h.state(now);
                out.push(TargetReport {
                    provider: name.clone(),
                    model,
                    circuit: h.circuit(now),
                    healthy: s.healthy,
                    provider_up: p.up.load(Ordering::Relaxed),
                    failures: h.consecutive_failures(),
                    latency_seconds: s.latency_us / 1e6,
                    inflight: s.inflight,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(failures: u32) -> TargetHealth {
        TargetHealth::new(
            BreakerPolicy {
                failures,
                cooldown: Duration::from_secs(10),
            },
            Arc::new(AtomicBool::new(true)),
        )
    }

    const S: u64 = 1_000_000;

    #[test]
    fn the_circuit_opens_after_consecutive_failures_and_half_opens_after_cooldown() {
        let t = target(3);
        for _ in 0..2 {
            t.begin(0);
            t.failure(0);
        }
        assert_eq!(t.circuit(0), Circuit::Closed);
        t.begin(0);
        t.failure(S);
        assert_eq!(t.circuit(2 * S), Circuit::Open);
        assert!(!t.state(2 * S).healthy);
        assert_eq!(t.circuit(11 * S), Circuit::HalfOpen);
        assert!(t.state(11 * S).healthy);
        // One probe at a time.
        t.begin(11 * S);
        assert!(!t.state(11 * S).healthy);
        // A failed probe reopens at once.
        t.failure(12 * S);
        assert_eq!(t.circuit(13 * S), Circuit::Open);
        // A successful probe closes it.
        t.begin(23 * S);
        t.success(Duration::from_millis(5));
        assert_eq!(t.circuit(23 * S), Circuit::Closed);
        assert_eq!(t.consecutive_failures(), 0);
        assert_eq!(t.state(23 * S).inflight, 0);
    }

    #[test]
    fn a_success_resets_the_count_and_feeds_latency() {
        let t = target(2);
        t.begin(0);
        t.failure(0);
        t.begin(0);
        t.success(Duration::from_millis(10));
        t.begin(0);
        t.failure(0);
        assert_eq!(t.circuit(0), Circuit::Closed);
        assert_eq!(t.state(0).latency_us, 10_000.0);
    }

    #[test]
    fn zero_failures_disables_the_breaker_and_a_down_provider_is_unhealthy() {
        let t = target(0);
        for _ in 0..100 {
            t.begin(0);
            t.failure(0);
        }
        assert_eq!(t.circuit(0), Circuit::Closed);
        t.provider_up.store(false, Ordering::Relaxed);
        assert!(!t.state(0).healthy);
    }
}

//! Prometheus metrics. One registry per process; every label set is bounded: routes and
//! providers come from config (plus the fixed `direct`, `catalog`, `zero_config` and `none`),
//! statuses are HTTP codes, outcomes and errors are fixed enums.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Buckets from 0.5 ms to 10 min: gateway overhead at the low end, long generations at the top.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0, 600.0,
];

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by route, provider and final status.
    pub requests: IntCounterVec,
    /// Whole-request duration by route and provider.
    pub duration: HistogramVec,
    /// Time from the request arriving to the response header reaching the client.
    pub time_to_first_byte: HistogramVec,
    /// Upstream attempts by provider and outcome.
    pub attempts: IntCounterVec,
    /// Tokens by route, provider and kind (prompt, completion, cached).
    pub tokens: IntCounterVec,
    /// Errors the gateway produced, by code.
    pub errors: IntCounterVec,
    /// Requests being served.
    pub inflight: IntGauge,
    /// Build information (value 1).
    pub build_info: IntGaugeVec,
    /// 1 when routing prefers a target (circuit not open, provider up).
    pub target_healthy: IntGaugeVec,
    /// 1 while a target's circuit is open.
    pub target_circuit_open: IntGaugeVec,
    /// Active health check verdict per provider.
    pub provider_up: IntGaugeVec,
}

impl Metrics {
    /// Registers every metric. Fails only on a programming error (a duplicate name).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "switchyard_requests_total",
                "Requests served, by route, provider and HTTP status.",
            ),
            &["route", "provider", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "switchyard_request_duration_seconds",
                "Time from request to the last byte of the response.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route", "provider"],
        )?;
        let time_to_first_byte = HistogramVec::new(
            HistogramOpts::new(
                "switchyard_time_to_first_byte_seconds",
                "Time from request to the response header reaching the client (for streams: the first event).",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route", "provider"],
        )?;
        let attempts = IntCounterVec::new(
            Opts::new(
                "switchyard_upstream_attempts_total",
                "Attempts made to providers, by outcome.",
            ),
            &["provider", "outcome"],
        )?;
        let tokens = IntCounterVec::new(
            Opts::new("switchyard_tokens_total", "Tokens reported by providers."),
            &["route", "provider", "type"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "switchyard_errors_total",
                "Errors returned by the gateway, by error code.",
            ),
            &["code"],
        )?;
        let inflight = IntGauge::new(
            "switchyard_inflight_requests",
            "Requests currently being served.",
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("switchyard_build_info", "Build information."),
            &["version"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(time_to_first_byte.clone()))?;
        registry.register(Box::new(attempts.clone()))?;
        registry.register(Box::new(tokens.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(inflight.clone()))?;
        registry.register(Box::new(build_info.clone()))?;
        let target_healthy = IntGaugeVec::new(
            Opts::new(
                "switchyard_target_healthy",
                "1 when routing prefers the target (circuit not open, provider up).",
            ),
            &["provider", "model"],
        )?;
        let target_circuit_open = IntGaugeVec::new(
            Opts::new(
                "switchyard_target_circuit_open",
                "1 while the target's circuit breaker is open.",
            ),
            &["provider", "model"],
        )?;
        let provider_up = IntGaugeVec::new(
            Opts::new(
                "switchyard_provider_up",
                "Active health check verdict (1 when no checks run).",
            ),
            &["provider"],
        )?;
        registry.register(Box::new(target_healthy.clone()))?;
        registry.register(Box::new(target_circuit_open.clone()))?;
        registry.register(Box::new(provider_up.clone()))?;
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Ok(Self {
            registry,
            requests,
            duration,
            time_to_first_byte,
            attempts,
            tokens,
            errors,
            inflight,
            build_info,
            target_healthy,
            target_circuit_open,
            provider_up,
        })
    }

    /// Copies the health registry into the gauges (done at scrape time: the registry is the
    /// source of truth, the gauges a view of it).
    pub fn observe_health(&self, reports: &[switchyard_router::health::TargetReport]) {
        for r in reports {
            let model = r.model.as_deref().unwrap_or("*");
            let labels = [r.provider.as_str(), model];
            self.target_healthy
                .with_label_values(&labels)
                .set(i64::from(r.healthy));
            self.target_circuit_open
                .with_label_values(&labels)
                .set(i64::from(r.circuit == switchyard_router::Circuit::Open));
            self.provider_up
                .with_label_values(&[r.provider.as_str()])
                .set(i64::from(r.provider_up));
        }
    }

    /// Adds a metric owned by a stage (limits, budgets) to the exposition.
    pub fn register(
        &self,
        c: Box<dyn prometheus::core::Collector>,
    ) -> Result<(), prometheus::Error> {
        self.registry.register(c)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8192);
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

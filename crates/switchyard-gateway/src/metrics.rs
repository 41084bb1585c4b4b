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
        })
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8192);
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

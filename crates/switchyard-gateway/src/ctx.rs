//! Per-request state (Pingora's `CTX`): what happened, for metrics and the access log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::IntGauge;
use switchyard_providers::{Endpoint, Usage};

/// Label used before a route or provider is known.
pub const NONE: &str = "none";

/// The state of one request.
pub struct RequestCtx {
    /// When the request arrived.
    pub start: Instant,
    /// Our id for it (`x-switchyard-request-id`).
    pub request_id: String,
    /// The endpoint, once matched.
    pub endpoint: Option<Endpoint>,
    /// Route label.
    pub route: Arc<str>,
    /// Label of the provider that answered (or was tried last).
    pub provider: Arc<str>,
    /// The client's `model`.
    pub model: Option<String>,
    /// The gateway key's name, when keys are configured.
    pub key_name: Option<String>,
    /// The client asked for a stream.
    pub stream: bool,
    /// Upstream attempts made.
    pub attempts: u32,
    /// Path of the route node that answered (`config.targets[1]`).
    pub option_path: Option<String>,
    /// Retries of the target that answered.
    pub retries: u32,
    /// The status sent to the client (0 until a header is written; 499 if the client left).
    pub status: u16,
    /// The error code, when the request failed.
    pub error: Option<&'static str>,
    /// Token usage reported by the provider.
    pub usage: Option<Usage>,
    /// Time until the response header was written.
    pub first_byte: Option<Duration>,
    _inflight: InflightGuard,
}

impl RequestCtx {
    /// A new context; counts the request as in flight until it is dropped.
    pub fn new(inflight: &IntGauge, none: &Arc<str>) -> Self {
        Self {
            start: Instant::now(),
            request_id: String::new(),
            endpoint: None,
            route: none.clone(),
            provider: none.clone(),
            model: None,
            key_name: None,
            stream: false,
            attempts: 0,
            option_path: None,
            retries: 0,
            status: 0,
            error: None,
            usage: None,
            first_byte: None,
            _inflight: InflightGuard::new(inflight),
        }
    }
}

struct InflightGuard(IntGauge);

impl InflightGuard {
    fn new(g: &IntGauge) -> Self {
        g.inc();
        Self(g.clone())
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

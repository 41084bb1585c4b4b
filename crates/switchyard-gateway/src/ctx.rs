//! Pingora's per-request `CTX`: the stages' [`RequestCx`] plus what only the gateway keeps.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use prometheus::IntGauge;
use switchyard_pipeline::RequestCx;

pub use switchyard_pipeline::NONE;

/// The state of one request. Derefs to the [`RequestCx`] the stages see.
pub struct RequestCtx {
    /// What stages see.
    pub cx: RequestCx,
    _inflight: InflightGuard,
}

impl RequestCtx {
    /// A new context; counts the request as in flight until it is dropped.
    pub fn new(inflight: &IntGauge, none: &Arc<str>) -> Self {
        Self {
            cx: RequestCx::new(none),
            _inflight: InflightGuard::new(inflight),
        }
    }
}

impl Deref for RequestCtx {
    type Target = RequestCx;
    fn deref(&self) -> &RequestCx {
        &self.cx
    }
}

impl DerefMut for RequestCtx {
    fn deref_mut(&mut self) -> &mut RequestCx {
        &mut self.cx
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

//! Pingora's per-request `CTX`: the stages' [`RequestCx`] plus what only the gateway keeps.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use prometheus::IntGauge;
use switchyard_pipeline::RequestCx;

use crate::budget::{Budget, Hold};

pub use switchyard_pipeline::NONE;

/// The state of one request. Derefs to the [`RequestCx`] the stages see.
pub struct RequestCtx {
    /// What stages see.
    pub cx: RequestCx,
    /// What the request holds of the gateway's memory budget (its body, answers held back).
    pub hold: Hold,
    _inflight: InflightGuard,
}

impl RequestCtx {
    /// A new context; counts the request as in flight until it is dropped.
    pub fn new(inflight: &IntGauge, none: &Arc<str>, budget: &Arc<Budget>) -> Self {
        Self {
            cx: RequestCx::new(none),
            hold: Hold::new(budget),
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

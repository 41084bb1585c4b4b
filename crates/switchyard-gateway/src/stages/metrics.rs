//! Prometheus accounting of every request and attempt (`switchyard_requests_total`,
//! durations, time to first byte, tokens, errors, attempts). Always registered.

use std::sync::Arc;

use switchyard_pipeline::{AttemptReport, Hooks, RequestCx, RequestHead, Stage};

use crate::metrics::Metrics;

/// The stage recording metrics.
pub struct MetricsStage {
    metrics: Arc<Metrics>,
}

impl MetricsStage {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl Stage for MetricsStage {
    fn name(&self) -> &str {
        "metrics"
    }

    fn hooks(&self) -> Hooks {
        Hooks::AFTER_ATTEMPT | Hooks::ON_COMPLETE
    }

    fn after_attempt(&self, _cx: &mut RequestCx, report: &AttemptReport<'_>) {
        self.metrics
            .attempts
            .with_label_values(&[report.provider, report.outcome])
            .inc();
    }

    fn on_complete(&self, cx: &mut RequestCx, _head: &RequestHead) {
        let m = &self.metrics;
        let status = cx.final_status();
        let status_label = http::StatusCode::from_u16(status)
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|_| "other".into());
        m.requests
            .with_label_values(&[&*cx.route, &*cx.provider, &status_label])
            .inc();
        m.duration
            .with_label_values(&[&*cx.route, &*cx.provider])
            .observe(cx.start.elapsed().as_secs_f64());
        if let Some(t) = cx.first_byte {
            m.time_to_first_byte
                .with_label_values(&[&*cx.route, &*cx.provider])
                .observe(t.as_secs_f64());
        }
        if let Some(u) = cx.usage {
            let tokens = |kind: &str, n: u64| {
                if n > 0 {
                    m.tokens
                        .with_label_values(&[&*cx.route, &*cx.provider, kind])
                        .inc_by(n);
                }
            };
            tokens("prompt", u.prompt_tokens);
            tokens("completion", u.completion_tokens);
            tokens("cached", u.cached_tokens);
        }
        if let Some(code) = cx.error {
            m.errors.with_label_values(&[code]).inc();
        }
    }
}

//! The built-in stages and the one place they are registered from config.
//!
//! Adding a stage: a module here implementing `switchyard_pipeline::Stage`, and one line in
//! [`pipeline`] registering it when its config asks for it. Order matters within a hook:
//! stages run in registration order (keys before limits before everything that costs money;
//! accounting last), then the configured plugins in config order.

mod access_log;
mod auth;
mod counters;
mod limits;
mod metrics;
mod spend;
mod validate;

use std::sync::Arc;

use switchyard_config::Config;
use switchyard_pipeline::{Pipeline, Plugin};

pub use access_log::AccessLog;
pub use auth::{check_allowed, Auth, KeyAllow};
pub use counters::Sync as LimitsSync;
pub use limits::LimitsStage;
pub use metrics::MetricsStage;
pub use validate::Validate;

use crate::metrics::Metrics;

/// Builds the pipeline for `config`: the built-in stages it turns on, then its plugins.
pub fn pipeline(
    config: &Config,
    metrics: &Arc<Metrics>,
    plugins: &[Plugin],
) -> Result<Pipeline, String> {
    build(config, metrics, plugins).map(|(p, _)| p)
}

/// [`pipeline`], with the background task that shares limit counters through Redis when
/// `limits.store` is configured (the caller runs it).
pub fn build(
    config: &Config,
    metrics: &Arc<Metrics>,
    plugins: &[Plugin],
) -> Result<(Pipeline, Option<LimitsSync>), String> {
    let mut p = Pipeline::new();
    let mut sync = None;
    if !config.auth.is_empty() {
        p.register(Arc::new(Auth::new(&config.auth)));
    }
    if config.validation.enabled {
        p.register(Arc::new(Validate::new(&config.validation, &config.auth)));
    }
    if config.has_limits() {
        let (stage, s) = limits_stage(config, metrics).map_err(|e| format!("metrics: {e}"))?;
        p.register(Arc::new(stage));
        sync = s;
    }
    p.register(Arc::new(MetricsStage::new(metrics.clone())));
    if config.log.access_log {
        p.register(Arc::new(AccessLog));
    }
    for used in &config.plugins {
        let plugin = switchyard_pipeline::plugin::find(plugins, &used.name).ok_or_else(|| {
            let known: Vec<&str> = plugins.iter().map(|p| p.name).collect();
            format!(
                "plugins: no plugin named `{}` is compiled into this binary (known: {})",
                used.name,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })?;
        let stage =
            (plugin.build)(&used.settings).map_err(|e| format!("plugins: `{}`: {e}", used.name))?;
        p.register(stage);
    }
    Ok((p, sync))
}

/// The limits stage over fresh counters, and their sync task when a store is configured.
fn limits_stage(
    config: &Config,
    metrics: &Metrics,
) -> Result<(LimitsStage, Option<LimitsSync>), prometheus::Error> {
    let store = config.limits.store.clone();
    let counters = Arc::new(counters::Counters::new(store.is_some()));
    let unpriced = prometheus::IntCounter::new(
        "switchyard_budget_unpriced_requests_total",
        "Requests under a budget whose model has no price in the catalog (they add nothing to the budget).",
    )?;
    metrics.register(Box::new(unpriced.clone()))?;
    let spend = spend::Spend::new(config, counters.clone(), unpriced);
    let stage = LimitsStage::new(config, counters.clone(), spend);
    let sync = match store {
        Some(store) => {
            let up = prometheus::IntGauge::new(
                "switchyard_limits_store_up",
                "1 while the shared limits store (Redis) answers.",
            )?;
            let errors = prometheus::IntCounter::new(
                "switchyard_limits_store_errors_total",
                "Failed synchronisations with the shared limits store.",
            )?;
            metrics.register(Box::new(up.clone()))?;
            metrics.register(Box::new(errors.clone()))?;
            up.set(1);
            Some(LimitsSync::new(
                counters,
                store,
                LimitsStage::watched(config),
                counters::StoreMetrics { up, errors },
            ))
        }
        None => None,
    };
    Ok((stage, sync))
}

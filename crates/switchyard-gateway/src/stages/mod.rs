//! The built-in stages and the one place they are registered from config.
//!
//! Adding a stage: a module here implementing `switchyard_pipeline::Stage`, and one line in
//! [`pipeline`] registering it when its config asks for it. Order matters within a hook:
//! stages run in registration order (keys before limits before everything that costs money;
//! accounting last), then the configured plugins in config order.

mod access_log;
mod auth;
mod metrics;
mod validate;

use std::sync::Arc;

use switchyard_config::Config;
use switchyard_pipeline::{Pipeline, Plugin};

pub use access_log::AccessLog;
pub use auth::{check_allowed, Auth, KeyAllow};
pub use metrics::MetricsStage;
pub use validate::Validate;

use crate::metrics::Metrics;

/// Builds the pipeline for `config`: the built-in stages it turns on, then its plugins.
pub fn pipeline(
    config: &Config,
    metrics: &Arc<Metrics>,
    plugins: &[Plugin],
) -> Result<Pipeline, String> {
    let mut p = Pipeline::new();
    if !config.auth.is_empty() {
        p.register(Arc::new(Auth::new(&config.auth)));
    }
    if config.validation.enabled {
        p.register(Arc::new(Validate::new(&config.validation, &config.auth)));
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
    Ok(p)
}

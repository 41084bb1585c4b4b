//! The plugins compiled into this binary. A config turns one on by name under `plugins:`.
//!
//! To add a plugin: add its crate to this crate's `Cargo.toml` and one line to [`PLUGINS`]
//! (see `examples/request-tagger/README.md`).

use switchyard_gateway::Plugin;

/// Every compiled-in plugin.
pub const PLUGINS: &[Plugin] = &[switchyard_plugin_request_tagger::PLUGIN];

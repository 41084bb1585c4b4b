//! Compiled-in plugins: stages a user's config turns on by name.
//!
//! A plugin crate exports a [`Plugin`]; the `switchyard` binary lists it in one line
//! (`crates/switchyard/src/plugins.rs`); a config enables it with
//! `plugins: [ { use: <name>, with: { … } } ]`, and the gateway registers the stage its
//! `build` returns, in config order, after the built-in stages.

use std::sync::Arc;

use crate::stage::Stage;

/// A plugin the binary was compiled with.
#[derive(Clone, Copy)]
pub struct Plugin {
    /// The name configs use (`use: <name>`).
    pub name: &'static str,
    /// One line on what it does (`switchyard plugins` prints it).
    pub about: &'static str,
    /// Builds the stage from its `with:` settings (JSON; `null` when absent). An error is a
    /// configuration error: the gateway refuses to start and `switchyard check` reports it.
    pub build: fn(&serde_json::Value) -> Result<Arc<dyn Stage>, String>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("name", &self.name).finish()
    }
}

/// Finds `name` among `plugins`.
pub fn find<'p>(plugins: &'p [Plugin], name: &str) -> Option<&'p Plugin> {
    plugins.iter().find(|p| p.name == name)
}

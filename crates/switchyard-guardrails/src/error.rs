//! Why a guardrail configuration was refused. Every error names what it is about.

/// A guardrail, hook or check that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A check id neither Switchyard nor Portkey's default plugin has.
    #[error("unknown guardrail check `{id}` (built in: {known})")]
    UnknownCheck {
        /// The id as written.
        id: String,
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// A real Portkey check that Switchyard does not run.
    #[error("guardrail check `{id}` is not supported by Switchyard: {why}")]
    Unsupported {
        /// The id.
        id: String,
        /// What to use instead, or why not.
        why: &'static str,
    },
    /// A check's parameters are missing, mistyped or unknown.
    #[error("guardrail check `{check}`: {message}")]
    Parameter {
        /// The check id.
        check: String,
        /// What is wrong.
        message: String,
    },
    /// A hook object is malformed.
    #[error("guardrail `{hook}`: {message}")]
    Hook {
        /// The hook's id (or its position when it has none).
        hook: String,
        /// What is wrong.
        message: String,
    },
    /// A guardrail referenced by id that no configuration defines.
    #[error("guardrail `{0}` is not defined (referenced by id; define it in the gateway config)")]
    UnknownGuardrail(String),
    /// The config around the hooks has the wrong shape.
    #[error("{0}")]
    Shape(String),
}

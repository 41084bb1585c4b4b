//! What a check returns.
//!
//! Portkey's semantics: `verdict: true` means the check PASSED (`default.regexMatch` passes
//! when the text matches its `rule`, unless `not: true`). A check that could not run (no
//! text to analyse, a webhook that timed out) has an `error` and `verdict: false`, and —
//! again as in Portkey — does not fail its guardrail unless the check set `failOnError`.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The result of one check.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The check id as configured, e.g. `default.regexMatch`.
    pub id: String,
    /// True when the check passed.
    pub verdict: bool,
    /// Why the check could not run, if it could not.
    pub error: Option<String>,
    /// A short human explanation. Never contains a matched value.
    pub explanation: String,
    /// Check-specific details, as in Portkey's `data` (counts, found keys…; never the text).
    pub data: Map<String, Value>,
    /// For masking checks that changed something: every input segment, masked.
    pub transformed: Option<Vec<String>>,
    /// For webhooks that returned `transformedData`: the replacement request or response JSON.
    pub replaced_body: Option<Box<RawValue>>,
    /// From the check's `failOnError`: an error fails the guardrail.
    pub fail_on_error: bool,
    /// How long the check took, in milliseconds; set by the caller (this crate reads no clock).
    pub execution_time_ms: u64,
    /// When the check started, in milliseconds since the Unix epoch; set by the caller.
    pub created_at_ms: Option<u64>,
}

impl CheckResult {
    /// True when the check masked texts or replaced the body.
    pub fn transformed(&self) -> bool {
        self.transformed.is_some() || self.replaced_body.is_some()
    }

    /// Whether this result lets its guardrail pass: passed, or errored without `failOnError`.
    pub fn counts_as_pass(&self) -> bool {
        self.verdict || (self.error.is_some() && !self.fail_on_error)
    }
}

/// What a check's logic produced, before the check's identity is attached.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Outcome {
    pub verdict: bool,
    pub error: Option<String>,
    pub explanation: String,
    pub data: Map<String, Value>,
    pub transformed: Option<Vec<String>>,
}

impl Outcome {
    pub(crate) fn verdict(verdict: bool, explanation: impl Into<String>) -> Self {
        Self {
            verdict,
            explanation: explanation.into(),
            ..Self::default()
        }
    }

    /// A check that could not run (Portkey: `error` set, `verdict: false`).
    pub(crate) fn error(message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            verdict: false,
            explanation: format!("The check could not run: {message}"),
            error: Some(message),
            ..Self::default()
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }
}

/// Applies Portkey's `not`: the verdict inverted.
pub(crate) fn invert(pass: bool, not: bool) -> bool {
    pass != not
}

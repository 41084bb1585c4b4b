//! The built-in checks and the one table that maps check ids (Portkey's `default.*` and
//! Switchyard's `switchyard.*`) to them.
//!
//! A [`Check`] is built once from its id and parameters (regexes and schemas compiled
//! then), is `Send + Sync`, and runs any number of times on a [`CheckInput`].

mod code;
mod counts;
mod fence;
mod json;
mod matching;
mod pii;
mod request;
mod urls;

use serde_json::{Map, Value};

use crate::input::CheckInput;
use crate::params::Params;
use crate::pii::PiiDetector;
use crate::verdict::{CheckResult, Outcome};
use crate::webhook::WebhookCheck;
use crate::ConfigError;

/// Every check id this crate builds, with the parameters it reads.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("default.regexMatch", "rule, not"),
    ("default.regexReplace", "rule, redactText, failOnDetection"),
    ("default.sentenceCount", "minSentences, maxSentences, not"),
    ("default.wordCount", "minWords, maxWords, not"),
    (
        "default.characterCount",
        "minCharacters, maxCharacters, not",
    ),
    ("default.jsonSchema", "schema, not"),
    ("default.jsonKeys", "keys, operator, not (false only)"),
    (
        "default.contains",
        "words, operator, ignoreCase, wholeWords, not (false only)",
    ),
    ("default.validUrls", "onlyDNS, not"),
    ("default.containsCode", "format, not"),
    ("default.alluppercase", "not"),
    ("default.alllowercase", "not"),
    ("default.endsWith", "suffix, not"),
    ("default.notNull", "not"),
    ("default.modelWhitelist", "models, not"),
    ("default.modelRules", "rules, not"),
    ("default.requiredMetadataKeys", "metadataKeys, operator"),
    ("default.allowedRequestTypes", "allowedTypes, blockedTypes"),
    ("default.webhook", "webhookURL, headers, timeout"),
    ("default.log", "logURL, headers, timeout"),
    ("switchyard.pii", "categories, redact, not"),
];

/// Portkey's plugin namespaces other than `default`: partner services reached over HTTP.
const PARTNERS: &[&str] = &[
    "portkey",
    "aporia",
    "sydelabs",
    "pillar",
    "patronus",
    "mistral",
    "pangea",
    "promptfoo",
    "bedrock",
    "acuvity",
    "lasso",
    "exa",
    "azure",
    "promptsecurity",
    "panw-prisma-airs",
    "qualifire",
    "javelin",
    "f5-guardrails",
    "crowdstrike-aidr",
    "walledai",
];

/// Which texts a check reads and may rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The primary segments (Portkey's: the last message, choice 0).
    Primary,
    /// Every segment, whatever its role: PII sent earlier in a conversation is resent with
    /// every turn, so masking only the last message would leak it.
    All,
}

#[derive(Debug)]
enum Kind {
    RegexMatch(matching::RegexMatch),
    RegexReplace(matching::RegexReplace),
    Count(counts::Count),
    JsonSchema(Box<json::JsonSchema>),
    JsonKeys(json::JsonKeys),
    Contains(matching::Contains),
    ValidUrls(urls::ValidUrls),
    ContainsCode(code::ContainsCode),
    Case(matching::Case),
    EndsWith(matching::EndsWith),
    NotNull(matching::NotNull),
    ModelWhitelist(request::ModelWhitelist),
    ModelRules(request::ModelRules),
    RequiredMetadataKeys(request::RequiredMetadataKeys),
    AllowedRequestTypes(request::AllowedRequestTypes),
    Pii(pii::Pii),
    Webhook(WebhookCheck),
}

/// One configured check.
#[derive(Debug)]
pub struct Check {
    id: String,
    kind: Kind,
    fail_on_error: bool,
    enabled: bool,
}

/// What running a check gives: a result, or a call the gateway must make (webhooks).
#[derive(Debug)]
pub enum Step<'c> {
    /// The check ran.
    Done(CheckResult),
    /// The check is a webhook: build its request with [`crate::webhook`], send it, and turn
    /// the answer into a result with [`Check::webhook_result`].
    Call(&'c WebhookCheck),
}

impl Check {
    /// Builds the check `id` (e.g. `default.regexMatch`) from Portkey-style `parameters`.
    /// Unknown ids, unsupported Portkey checks, and missing, mistyped or unknown parameters
    /// are refused with an error naming them.
    pub fn new(id: &str, parameters: &Map<String, Value>) -> Result<Self, ConfigError> {
        let mut p = Params::new(id, parameters);
        let fail_on_error = p.bool("failOnError", false)?;
        let enabled = p.bool("is_enabled", true)?;
        let kind = build(id, &mut p)?;
        p.finish()?;
        Ok(Self {
            id: id.to_owned(),
            kind,
            fail_on_error,
            enabled,
        })
    }

    /// The id as configured.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// False when configured with `is_enabled: false` (Portkey skips such checks).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// Which texts the check reads.
    pub fn scope(&self) -> Scope {
        match self.kind {
            Kind::Pii(_) => Scope::All,
            _ => Scope::Primary,
        }
    }

    /// True for checks that may rewrite texts (`switchyard.pii` with `redact`,
    /// `default.regexReplace`).
    pub fn masks(&self) -> bool {
        matches!(self.kind, Kind::RegexReplace(_))
            || matches!(&self.kind, Kind::Pii(p) if p.redacts())
    }

    /// The detector of a `switchyard.pii` check, for masking a stream with
    /// `switchyard_providers::text::StreamMasker`.
    pub fn pii_detector(&self) -> Option<&PiiDetector> {
        match &self.kind {
            Kind::Pii(p) => Some(p.detector()),
            _ => None,
        }
    }

    /// The webhook, when this check is `default.webhook` or `default.log`.
    pub fn webhook(&self) -> Option<&WebhookCheck> {
        match &self.kind {
            Kind::Webhook(w) => Some(w),
            _ => None,
        }
    }

    /// Whether an error fails the guardrail (`failOnError`).
    pub fn fail_on_error(&self) -> bool {
        self.fail_on_error
    }

    /// Runs the check.
    pub fn run(&self, input: &CheckInput<'_>) -> Step<'_> {
        let outcome = match &self.kind {
            Kind::RegexMatch(c) => c.run(input),
            Kind::RegexReplace(c) => c.run(input),
            Kind::Count(c) => c.run(input),
            Kind::JsonSchema(c) => c.run(input),
            Kind::JsonKeys(c) => c.run(input),
            Kind::Contains(c) => c.run(input),
            Kind::ValidUrls(c) => c.run(input),
            Kind::ContainsCode(c) => c.run(input),
            Kind::Case(c) => c.run(input),
            Kind::EndsWith(c) => c.run(input),
            Kind::NotNull(c) => c.run(input),
            Kind::ModelWhitelist(c) => c.run(input),
            Kind::ModelRules(c) => c.run(input),
            Kind::RequiredMetadataKeys(c) => c.run(input),
            Kind::AllowedRequestTypes(c) => c.run(input),
            Kind::Pii(c) => c.run(input),
            Kind::Webhook(w) => return Step::Call(w),
        };
        Step::Done(self.result(outcome))
    }

    /// Runs a check that needs no I/O; a webhook gives an error result instead.
    pub fn run_local(&self, input: &CheckInput<'_>) -> CheckResult {
        match self.run(input) {
            Step::Done(r) => r,
            Step::Call(_) => self.result(Outcome::error(
                "webhook checks need the gateway to call them",
            )),
        }
    }

    pub(crate) fn result(&self, o: Outcome) -> CheckResult {
        CheckResult {
            id: self.id.clone(),
            verdict: o.verdict,
            error: o.error,
            explanation: o.explanation,
            data: o.data,
            transformed: o.transformed,
            replaced_body: None,
            fail_on_error: self.fail_on_error,
            execution_time_ms: 0,
            created_at_ms: None,
        }
    }
}

fn build(id: &str, p: &mut Params<'_>) -> Result<Kind, ConfigError> {
    use counts::Unit;
    Ok(match id {
        "default.regexMatch" => Kind::RegexMatch(matching::RegexMatch::build(p)?),
        "default.regexReplace" => Kind::RegexReplace(matching::RegexReplace::build(p)?),
        "default.sentenceCount" => Kind::Count(counts::Count::build(p, Unit::Sentences)?),
        "default.wordCount" => Kind::Count(counts::Count::build(p, Unit::Words)?),
        "default.characterCount" => Kind::Count(counts::Count::build(p, Unit::Characters)?),
        "default.jsonSchema" => {
            Kind::JsonSchema(Box::new(json::JsonSchema::build(p, json::Extractor)?))
        }
        "default.jsonKeys" => Kind::JsonKeys(json::JsonKeys::build(p, json::Extractor)?),
        "default.contains" => Kind::Contains(matching::Contains::build(p)?),
        "default.validUrls" => Kind::ValidUrls(urls::ValidUrls::build(p)?),
        "default.containsCode" => Kind::ContainsCode(code::ContainsCode::build(p)?),
        "default.alluppercase" => Kind::Case(matching::Case::build(p, true)?),
        "default.alllowercase" => Kind::Case(matching::Case::build(p, false)?),
        "default.endsWith" => Kind::EndsWith(matching::EndsWith::build(p)?),
        "default.notNull" => Kind::NotNull(matching::NotNull::build(p)?),
        "default.modelWhitelist" => Kind::ModelWhitelist(request::ModelWhitelist::build(p)?),
        "default.modelRules" => Kind::ModelRules(request::ModelRules::build(p)?),
        "default.requiredMetadataKeys" => {
            Kind::RequiredMetadataKeys(request::RequiredMetadataKeys::build(p)?)
        }
        "default.allowedRequestTypes" => {
            Kind::AllowedRequestTypes(request::AllowedRequestTypes::build(p)?)
        }
        "default.webhook" => Kind::Webhook(WebhookCheck::build(p, false)?),
        "default.log" => Kind::Webhook(WebhookCheck::build(p, true)?),
        "switchyard.pii" => Kind::Pii(pii::Pii::build(p)?),
        "default.jwt" => {
            return Err(ConfigError::Unsupported {
                id: id.to_owned(),
                why: "JWT validation needs a JWKS fetched over the network; it is not built in",
            })
        }
        "default.addPrefix" => {
            return Err(ConfigError::Unsupported {
                id: id.to_owned(),
                why: "prompt prefixes are a request mutation, not a check; use override_params",
            })
        }
        _ => return Err(unknown(id)),
    })
}

fn unknown(id: &str) -> ConfigError {
    if let Some((ns, _)) = id.split_once('.') {
        if PARTNERS.contains(&ns) {
            return ConfigError::Unsupported {
                id: id.to_owned(),
                why: "partner guardrails call the vendor's API; reach your service through `default.webhook`",
            };
        }
    }
    ConfigError::UnknownCheck {
        id: id.to_owned(),
        known: BUILT_IN
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Check>();
    }

    #[test]
    fn every_listed_id_builds_with_minimal_parameters() {
        let minimal = |id: &str| -> Map<String, Value> {
            let v = match id {
                "default.regexMatch" | "default.regexReplace" => serde_json::json!({"rule": "x"}),
                "default.jsonSchema" => serde_json::json!({"schema": {"type": "object"}}),
                "default.jsonKeys" => serde_json::json!({"keys": ["a"], "operator": "any"}),
                "default.contains" => serde_json::json!({"words": ["a"], "operator": "any"}),
                "default.containsCode" => serde_json::json!({"format": "Python"}),
                "default.endsWith" => serde_json::json!({"suffix": "."}),
                "default.modelWhitelist" => serde_json::json!({"models": ["m"]}),
                "default.modelRules" => serde_json::json!({"rules": {"defaults": ["m"]}}),
                "default.requiredMetadataKeys" => serde_json::json!({"metadataKeys": ["k"]}),
                "default.webhook" => serde_json::json!({"webhookURL": "https://example.com/hook"}),
                "default.log" => serde_json::json!({"logURL": "https://example.com/log"}),
                _ => serde_json::json!({}),
            };
            v.as_object().cloned().unwrap_or_default()
        };
        for (id, _) in BUILT_IN {
            Check::new(id, &minimal(id)).unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }

    #[test]
    fn unknown_and_unsupported_ids_are_named() {
        let empty = Map::new();
        let e = Check::new("default.regexMatc", &empty).unwrap_err();
        assert!(matches!(&e, ConfigError::UnknownCheck { id, .. } if id == "default.regexMatc"));
        assert!(e.to_string().contains("default.regexMatch"));
        let e = Check::new("default.jwt", &empty).unwrap_err().to_string();
        assert!(e.contains("`default.jwt` is not supported"), "{e}");
        let e = Check::new("patronus.pii", &empty).unwrap_err().to_string();
        assert!(e.contains("default.webhook"), "{e}");
        let e = Check::new("regexMatch", &empty).unwrap_err();
        assert!(matches!(e, ConfigError::UnknownCheck { .. }));
    }

    #[test]
    fn parameters_are_checked_at_load() {
        let p = |v: Value| v.as_object().cloned().unwrap_or_default();
        // Portkey's docs example writes `regex`; the parameter is `rule`.
        let e = Check::new(
            "default.regexMatch",
            &p(serde_json::json!({"regex": "test"})),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "guardrail check `default.regexMatch`: missing parameter `rule`"
        );
        let e = Check::new(
            "default.regexMatch",
            &p(serde_json::json!({"rule": "test", "regex": "x"})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("unknown parameter `regex` (accepted: not, rule)"),
            "{e}"
        );
        let e = Check::new(
            "default.regexMatch",
            &p(serde_json::json!({"rule": "(?<=a)b"})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a supported regex"), "{e}");
        let e = Check::new(
            "default.wordCount",
            &p(serde_json::json!({"minWords": "3"})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`minWords` must be a whole number"), "{e}");
        let e = Check::new(
            "default.wordCount",
            &p(serde_json::json!({"minWords": 5, "maxWords": 2})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("greater than"), "{e}");
        let e = Check::new(
            "default.contains",
            &p(serde_json::json!({"words": ["a"], "operator": "some"})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("any, all or none"), "{e}");
        let e = Check::new(
            "switchyard.pii",
            &p(serde_json::json!({"categories": ["SSN"]})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown category `SSN`"), "{e}");
        let e = Check::new(
            "default.jsonSchema",
            &p(serde_json::json!({"schema": {"type": 5}})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a valid JSON Schema"), "{e}");
        let e = Check::new(
            "default.jsonSchema",
            &p(serde_json::json!({"schema": {"$ref": "file:///etc/passwd"}})),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a valid JSON Schema"), "{e}");
    }
}

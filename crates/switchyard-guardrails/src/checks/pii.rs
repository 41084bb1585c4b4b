//! `switchyard.pii`: detect (and with `redact`, mask) e-mail addresses, phone numbers,
//! card numbers, IBANs and API-key-shaped secrets in every text of the body, whatever its
//! role. Parameters follow Portkey's hosted `portkey.pii`: `categories` (default: all of
//! `EMAIL_ADDRESS`, `PHONE_NUMBER`, `CREDIT_CARD`, `IBAN_CODE`, `API_KEY`), `redact`, `not`.
//!
//! Verdict: passes when nothing was found; with `redact`, findings are masked and the check
//! passes (the request goes on, masked); with `not`, passes when something was found.

use crate::input::CheckInput;
use crate::params::Params;
use crate::pii::{summarize, KindSet, PiiDetector, PiiKind};
use crate::verdict::Outcome;
use crate::ConfigError;

#[derive(Clone, Debug)]
pub(crate) struct Pii {
    detector: PiiDetector,
    redact: bool,
    not: bool,
}

impl Pii {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let kinds = match p.strings("categories", false)? {
            None => KindSet::all(),
            Some(names) => {
                let mut set = KindSet::empty();
                for n in &names {
                    let kind = PiiKind::from_category(n).ok_or_else(|| {
                        let known: Vec<&str> = PiiKind::ALL.iter().map(|k| k.category()).collect();
                        p.error(format!(
                            "unknown category `{n}` (known: {})",
                            known.join(", ")
                        ))
                    })?;
                    set = set.with(kind);
                }
                if set.is_empty() {
                    return Err(p.error("`categories` must name at least one category"));
                }
                set
            }
        };
        Ok(Self {
            detector: PiiDetector::new(kinds).map_err(|e| p.error(e.to_string()))?,
            redact: p.bool("redact", false)?,
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn redacts(&self) -> bool {
        self.redact
    }

    pub(crate) fn detector(&self) -> &PiiDetector {
        &self.detector
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let mut all = Vec::new();
        let mut masked: Vec<String> = Vec::new();
        let mut findings = Vec::new();
        for t in input.texts() {
            findings.clear();
            self.detector.find(t, &mut findings);
            if self.redact {
                masked.push(if findings.is_empty() {
                    t.to_string()
                } else {
                    crate::pii::mask_with(t, &findings)
                });
            }
            all.append(&mut findings);
        }
        let found = !all.is_empty();
        let verdict = if self.not {
            found
        } else {
            !found || self.redact
        };
        let summary = summarize(&all);
        let explanation = match (found, self.redact) {
            (false, _) => "No PII or secrets found.".to_owned(),
            (true, true) => format!("Found and masked {summary}."),
            (true, false) => format!("Found {summary}."),
        };
        let mut categories: Vec<&str> = all.iter().map(|f| f.kind.category()).collect();
        categories.sort_unstable();
        categories.dedup();
        let mut out = Outcome::verdict(verdict, explanation)
            .with("verdict", verdict)
            .with("not", self.not)
            .with("detectedCategories", categories)
            .with("count", all.len());
        out.transformed = (found && self.redact).then_some(masked);
        out
    }
}

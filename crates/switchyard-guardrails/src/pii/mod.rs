//! PII and secret detection, and masking with stable placeholders.
//!
//! Each kind has a candidate regex (compiled once, when the detector is built) and a
//! validator that turns candidates into findings, so a pattern can stay loose while the
//! verdict stays strict: card numbers must pass Luhn and carry a known issuer prefix, IBANs
//! must have their country's length and a mod-97 checksum of 1, phone numbers must look like
//! E.164 or a common national layout. Boundaries are checked by hand instead of with `\b`,
//! which would push the regex engine off its DFA on non-ASCII text.
//!
//! Masking replaces every finding with its kind's placeholder:
//!
//! | kind | placeholder | Portkey category |
//! |---|---|---|
//! | e-mail address | `[EMAIL]` | `EMAIL_ADDRESS` |
//! | phone number | `[PHONE]` | `PHONE_NUMBER` |
//! | payment card number | `[CARD]` | `CREDIT_CARD` |
//! | IBAN | `[IBAN]` | `IBAN_CODE` |
//! | API key, token, JWT | `[SECRET]` | `API_KEY` |
//!
//! For `Authorization: Bearer <token>` only the token is replaced (`Bearer [SECRET]`).

mod card;
mod email;
mod iban;
mod phone;
mod secret;

use std::ops::Range;

use switchyard_providers::text::{Redaction, Redactor};

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PiiKind {
    /// An API key, access token or JWT.
    Secret,
    /// A payment card number (Luhn-valid, known issuer prefix).
    Card,
    /// An IBAN (country length and mod-97 checksum valid).
    Iban,
    /// An e-mail address.
    Email,
    /// A phone number (E.164 or a common national layout).
    Phone,
}

impl PiiKind {
    /// Every kind, in the order overlaps are settled (first wins).
    pub const ALL: [PiiKind; 5] = [
        PiiKind::Secret,
        PiiKind::Card,
        PiiKind::Iban,
        PiiKind::Email,
        PiiKind::Phone,
    ];

    /// The text that replaces a finding of this kind when masking.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Secret => "[SECRET]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
        }
    }

    /// The category name used in configs and results (Portkey's names where it has one).
    pub fn category(self) -> &'static str {
        match self {
            PiiKind::Secret => "API_KEY",
            PiiKind::Card => "CREDIT_CARD",
            PiiKind::Iban => "IBAN_CODE",
            PiiKind::Email => "EMAIL_ADDRESS",
            PiiKind::Phone => "PHONE_NUMBER",
        }
    }

    /// The kind named by a category, if any.
    pub fn from_category(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.category() == name)
    }

    fn noun(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (PiiKind::Secret, true) => "secret",
            (PiiKind::Secret, false) => "secrets",
            (PiiKind::Card, true) => "card number",
            (PiiKind::Card, false) => "card numbers",
            (PiiKind::Iban, true) => "IBAN",
            (PiiKind::Iban, false) => "IBANs",
            (PiiKind::Email, true) => "e-mail address",
            (PiiKind::Email, false) => "e-mail addresses",
            (PiiKind::Phone, true) => "phone number",
            (PiiKind::Phone, false) => "phone numbers",
        }
    }
}

/// One detected value: where it is and what it is. Never carries the value itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The kind.
    pub kind: PiiKind,
    /// Byte range in the text searched.
    pub range: Range<usize>,
    /// A finer label: the secret's issuer ("OpenAI key", "AWS access key id"…), else the kind.
    pub label: &'static str,
}

/// A set of kinds to look for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    /// Every kind.
    pub fn all() -> Self {
        Self(0b1_1111)
    }

    /// No kind.
    pub fn empty() -> Self {
        Self(0)
    }

    /// This set with `kind` added.
    pub fn with(self, kind: PiiKind) -> Self {
        Self(self.0 | Self::bit(kind))
    }

    /// True when `kind` is in the set.
    pub fn contains(self, kind: PiiKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// True when no kind is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bit(kind: PiiKind) -> u8 {
        match kind {
            PiiKind::Secret => 1,
            PiiKind::Card => 2,
            PiiKind::Iban => 4,
            PiiKind::Email => 8,
            PiiKind::Phone => 16,
        }
    }
}

/// Finds PII and secrets in text. Built once (regexes compiled), used from any thread.
#[derive(Clone, Debug)]
pub struct PiiDetector {
    kinds: KindSet,
    email: Option<email::Email>,
    phone: Option<phone::Phone>,
    card: Option<card::Card>,
    iban: Option<iban::Iban>,
    secret: Option<secret::Secret>,
}

impl PiiDetector {
    /// A detector for `kinds`.
    pub fn new(kinds: KindSet) -> Result<Self, regex::Error> {
        Ok(Self {
            kinds,
            email: kinds
                .contains(PiiKind::Email)
                .then(email::Email::new)
                .transpose()?,
            phone: kinds
                .contains(PiiKind::Phone)
                .then(phone::Phone::new)
                .transpose()?,
            card: kinds
                .contains(PiiKind::Card)
                .then(card::Card::new)
                .transpose()?,
            iban: kinds
                .contains(PiiKind::Iban)
                .then(iban::Iban::new)
                .transpose()?,
            secret: kinds
                .contains(PiiKind::Secret)
                .then(secret::Secret::new)
                .transpose()?,
        })
    }

    /// The kinds this detector looks for.
    pub fn kinds(&self) -> KindSet {
        self.kinds
    }

    /// Appends the findings in `text`, sorted by start and never overlapping: where two
    /// kinds claim overlapping bytes, the earlier in [`PiiKind::ALL`] wins.
    pub fn find(&self, text: &str, out: &mut Vec<Finding>) {
        let first = out.len();
        if let Some(d) = &self.secret {
            d.find(text, out);
        }
        // One pass tells which detectors can find anything: most prose has no `@`, no
        // 8-digit run and no IBAN start, and then only the secret regex runs.
        let s = Signals::scan(text);
        if let (Some(d), Some(from)) = (&self.card, s.card_from) {
            d.find(text, from, out);
        }
        if let (Some(d), Some(from)) = (&self.iban, s.iban_from) {
            d.find(text, from, out);
        }
        if s.at {
            if let Some(d) = &self.email {
                d.find(text, out);
            }
        }
        if let (Some(d), Some(from)) = (&self.phone, s.phone_from) {
            d.find(text, from, out);
        }
        let found = out.split_off(first);
        out.extend(settle_overlaps(found));
    }

    /// The findings in `text`.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        self.find(text, &mut out);
        out
    }

    /// `text` with every finding replaced by its placeholder, or `None` when nothing was found.
    pub fn mask(&self, text: &str) -> Option<String> {
        let findings = self.findings(text);
        (!findings.is_empty()).then(|| mask_with(text, &findings))
    }
}

impl Redactor for PiiDetector {
    fn redact<'r>(&'r self, text: &str, out: &mut Vec<Redaction<'r>>) {
        let mut findings = Vec::new();
        self.find(text, &mut findings);
        out.extend(findings.into_iter().map(|f| Redaction {
            range: f.range,
            replacement: f.kind.placeholder(),
        }));
    }
}

/// `text` with each finding replaced by its placeholder; findings sorted, not overlapping.
pub fn mask_with(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in findings {
        if f.range.start < at || f.range.end > text.len() {
            continue;
        }
        out.push_str(text.get(at..f.range.start).unwrap_or_default());
        out.push_str(f.kind.placeholder());
        at = f.range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// A short count of findings by kind, e.g. "2 e-mail addresses, 1 card number". Never the values.
pub fn summarize(findings: &[Finding]) -> String {
    let mut parts = Vec::new();
    for kind in PiiKind::ALL {
        let n = findings.iter().filter(|f| f.kind == kind).count();
        if n > 0 {
            parts.push(format!("{n} {}", kind.noun(n)));
        }
    }
    parts.join(", ")
}

/// Sorts findings by start and drops any that overlap a kept one, keeping the finding of
/// the higher-priority kind.
fn settle_overlaps(mut found: Vec<Finding>) -> Vec<Finding> {
    if found.len() < 2 {
        return found;
    }
    // Priority first, so a kept finding is never displaced by a lower kind.
    found.sort_by_key(|f| (f.kind, f.range.start));
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if !kept
            .iter()
            .any(|k| k.range.start < f.range.end && f.range.start < k.range.end)
        {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.range.start);
    kept
}

/// The character just before byte `at`, if any.
fn char_before(text: &str, at: usize) -> Option<char> {
    text.get(..at)?.chars().next_back()
}

/// The character at byte `at`, if any.
fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..)?.chars().next()
}

/// What one pass over a text says about which detectors can match.
struct Signals {
    /// An `@` (e-mail).
    at: bool,
    /// Where the first run of 13 digits starts, single spaces or dashes between them
    /// allowed (card).
    card_from: Option<usize>,
    /// Where the first run of 8 digits starts, up to two of ` ().-` between them allowed,
    /// less two bytes for a leading `+` or `(` (phone).
    phone_from: Option<usize>,
    /// The first two capitals followed by two digits (IBAN).
    iban_from: Option<usize>,
}

impl Signals {
    /// Jumps from digit to digit (a tight search), walking each run of digits and
    /// separators once; `@` is found with `memchr`.
    fn scan(text: &str) -> Self {
        let b = text.as_bytes();
        let mut s = Signals {
            at: memchr::memchr(b'@', b).is_some(),
            card_from: None,
            phone_from: None,
            iban_from: None,
        };
        let mut i = 0;
        while let Some(p) = b
            .get(i..)
            .and_then(|r| r.iter().position(u8::is_ascii_digit))
        {
            let start = i + p;
            if s.iban_from.is_none()
                && start >= 2
                && b[start - 1].is_ascii_uppercase()
                && b[start - 2].is_ascii_uppercase()
                && b.get(start + 1).is_some_and(u8::is_ascii_digit)
            {
                s.iban_from = Some(start - 2);
            }
            // Walk the run of digits and phone separators; a card's count restarts at any
            // other separator, both end where the phone's does.
            let (mut card, mut phone) = (0u32, 0u32);
            let (mut card_gap, mut phone_gap) = (0u32, 0u32);
            let mut j = start;
            let mut card_start = start;
            while let Some(&c) = b.get(j) {
                if c.is_ascii_digit() {
                    card += 1;
                    phone += 1;
                    card_gap = 0;
                    phone_gap = 0;
                    if card >= 13 && s.card_from.is_none() {
                        s.card_from = Some(card_start);
                    }
                    if phone >= 8 && s.phone_from.is_none() {
                        s.phone_from = Some(start.saturating_sub(2));
                    }
                } else {
                    card_gap += 1;
                    phone_gap += 1;
                    if !(c == b' ' || c == b'-') || card_gap > 1 {
                        card = 0;
                        card_start = j + 1;
                    }
                    if !matches!(c, b' ' | b'-' | b'(' | b')' | b'.') || phone_gap > 2 {
                        break;
                    }
                }
                j += 1;
            }
            if s.card_from.is_some() && s.phone_from.is_some() && s.iban_from.is_some() {
                break;
            }
            i = j.max(start + 1);
        }
        s
    }
}

/// Where to look next after a digit-run candidate starting at `start` was refused: the
/// start of its next digit group (a later start may still be a value), else `end`.
fn next_group(text: &str, start: usize, end: usize) -> usize {
    let b = text.as_bytes();
    let mut i = start;
    while i < end && !b[i].is_ascii_digit() {
        i += 1;
    }
    while i < end && b[i].is_ascii_digit() {
        i += 1;
    }
    while i < end && !b[i].is_ascii_digit() {
        i += 1;
    }
    i.min(end).max(start + 1)
}

/// A letter, digit or underscore, in any script: what glues a token to its neighbours.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> PiiDetector {
        PiiDetector::new(KindSet::all()).unwrap()
    }

    #[test]
    fn masks_each_kind_with_its_placeholder() {
        let text = "Mail jane.doe@example.com, call +1 415-555-2671, card 4111 1111 1111 1111, \
                    IBAN DE89 3704 0044 0532 0130 00, key AKIAIOSFODNN7EXAMPLE.";
        assert_eq!(
            all().mask(text).unwrap(),
            "Mail [EMAIL], call [PHONE], card [CARD], IBAN [IBAN], key [SECRET]."
        );
    }

    #[test]
    fn searches_start_at_char_boundaries_and_later_runs() {
        // The pre-scan starts the phone search two bytes before the digits: inside `—`.
        assert_eq!(
            all().mask("call —+44 20 7946 0958 now").unwrap(),
            "call —[PHONE] now"
        );
        // A short run first, the card later in the same run of separators.
        assert_eq!(
            all().mask("v1.2.3 4111 1111 1111 1111").unwrap(),
            "v1.2.3 [CARD]"
        );
        assert_eq!(all().mask("12.34 and 5"), None);
    }

    #[test]
    fn summary_counts_without_values() {
        let f = all().findings("a@b.io and c@d.io, 4111111111111111");
        assert_eq!(summarize(&f), "1 card number, 2 e-mail addresses");
    }

    #[test]
    fn only_the_kinds_asked_for() {
        let d = PiiDetector::new(KindSet::empty().with(PiiKind::Email)).unwrap();
        assert_eq!(
            d.mask("a@b.io 4111111111111111").unwrap(),
            "[EMAIL] 4111111111111111"
        );
        assert_eq!(d.mask("nothing here"), None);
    }

    #[test]
    fn overlapping_claims_keep_the_stronger_kind() {
        // A card number is also a long digit run a phone pattern might like.
        let f = all().findings("4111 1111 1111 1111");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, PiiKind::Card);
    }
}

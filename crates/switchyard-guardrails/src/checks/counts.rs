//! `default.wordCount`, `default.sentenceCount`, `default.characterCount`: the text's count
//! must lie in `[min, max]` (or, with `not`, outside it). Counting follows Portkey exactly:
//! words are runs separated by whitespace in the trimmed text; sentences are the number of
//! `.`, `!` and `?`; characters are UTF-16 code units (JavaScript's `length`). Absent bounds
//! take the defaults of Portkey's manifest (0 and 99 999 words or sentences, 9 999 999
//! characters).

use crate::input::CheckInput;
use crate::params::Params;
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Words,
    Sentences,
    Characters,
}

impl Unit {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Unit::Words => ("minWords", "maxWords"),
            Unit::Sentences => ("minSentences", "maxSentences"),
            Unit::Characters => ("minCharacters", "maxCharacters"),
        }
    }

    fn default_max(self) -> u64 {
        match self {
            Unit::Words | Unit::Sentences => 99_999,
            Unit::Characters => 9_999_999,
        }
    }

    fn count(self, text: &str) -> u64 {
        match self {
            Unit::Words => words(text),
            Unit::Sentences => {
                memchr::memchr3_iter(b'.', b'!', b'?', text.as_bytes()).count() as u64
            }
            Unit::Characters if text.is_ascii() => text.len() as u64,
            Unit::Characters => text.chars().map(|c| c.len_utf16() as u64).sum(),
        }
    }
}

/// Runs of non-whitespace (JavaScript's `\s`: Unicode White_Space and U+FEFF).
fn words(text: &str) -> u64 {
    let mut count = 0;
    let mut in_word = false;
    let mut step = |space: bool| {
        if !space && !in_word {
            count += 1;
        }
        in_word = !space;
    };
    if text.is_ascii() {
        for &b in text.as_bytes() {
            step(matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
        }
    } else {
        for c in text.chars() {
            step(c.is_whitespace() || c == '\u{feff}');
        }
    }
    count
}

#[derive(Clone, Debug)]
pub(crate) struct Count {
    unit: Unit,
    min: u64,
    max: u64,
    not: bool,
}

impl Count {
    pub(crate) fn build(p: &mut Params<'_>, unit: Unit) -> Result<Self, ConfigError> {
        let (min_name, max_name) = unit.names();
        let min = p.count(min_name, 0)?;
        let max = p.count(max_name, unit.default_max())?;
        let not = p.bool("not", false)?;
        if min > max {
            return Err(p.error(format!(
                "`{min_name}` ({min}) is greater than `{max_name}` ({max})"
            )));
        }
        Ok(Self {
            unit,
            min,
            max,
            not,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = match self.unit {
            Unit::Words => input.text().trim(),
            _ => input.text(),
        };
        if text.is_empty() && self.unit != Unit::Sentences {
            return Outcome::error("Missing text to analyze");
        }
        let n = self.unit.count(text);
        let in_range = (self.min..=self.max).contains(&n);
        let verdict = invert(in_range, self.not);
        let (lo, hi, not) = (self.min, self.max, self.not);
        let out = match self.unit {
            Unit::Sentences => {
                let explanation = match (verdict, not) {
                    (true, false) => format!("The sentence count ({n}) is within the specified range of {lo} to {hi}."),
                    (true, true) => format!("The sentence count ({n}) is outside the specified range of {lo} to {hi} as expected."),
                    (false, false) => format!("The sentence count ({n}) is outside the specified range of {lo} to {hi}."),
                    (false, true) => format!("The sentence count ({n}) is within the specified range of {lo} to {hi} when it should not be."),
                };
                Outcome::verdict(verdict, explanation)
                    .with("sentenceCount", n)
                    .with("minCount", lo)
                    .with("maxCount", hi)
            }
            Unit::Words | Unit::Characters => {
                let (what, count_key) = if self.unit == Unit::Words {
                    ("words", "wordCount")
                } else {
                    ("characters", "characterCount")
                };
                let explanation = match (verdict, not) {
                    (true, false) => format!("The text contains {n} {what}, which is within the specified range of {lo}-{hi} {what}."),
                    (true, true) => format!("The text contains {n} {what}, which is outside the specified range of {lo}-{hi} {what} as expected."),
                    (false, false) => format!("The text contains {n} {what}, which is outside the specified range of {lo}-{hi} {what}."),
                    (false, true) => format!("The text contains {n} {what}, which is within the specified range of {lo}-{hi} {what} when it should not be."),
                };
                let (min_name, max_name) = self.unit.names();
                Outcome::verdict(verdict, explanation)
                    .with(count_key, n)
                    .with(min_name, lo)
                    .with(max_name, hi)
            }
        };
        out.with("not", not).with("verdict", verdict)
    }
}

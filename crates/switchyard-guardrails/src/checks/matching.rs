//! Checks on the words of the text: regex match and replace, contains any / all / none,
//! ends with, all upper / lower case, not empty.

use regex::{Regex, RegexBuilder};

use crate::input::CheckInput;
use crate::params::{Operator, Params};
use crate::pii::is_word_char;
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

const MISSING_TEXT: &str = "Missing text to analyze";

/// Compiles a pattern written for JavaScript's `RegExp` with Rust's `regex` (linear time:
/// look-around and back-references are refused at load).
fn compile(p: &Params<'_>, pattern: &str, flags: &str) -> Result<Regex, ConfigError> {
    RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| p.error(format!("`rule` is not a supported regex: {e}")))
}

/// `default.regexMatch`: passes when the text matches `rule` (or, with `not`, does not).
#[derive(Clone, Debug)]
pub(crate) struct RegexMatch {
    rule: String,
    re: Regex,
    not: bool,
}

impl RegexMatch {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let rule = p.str("rule")?.to_owned();
        let not = p.bool("not", false)?;
        let re = compile(p, &rule, "")?;
        Ok(Self { rule, re, not })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error("Missing text to match");
        }
        let matches = self.re.is_match(text);
        let verdict = invert(matches, self.not);
        let r = &self.rule;
        let explanation = match (verdict, self.not) {
            (true, false) => format!("The regex pattern '{r}' successfully matched the text."),
            (true, true) => format!("The regex pattern '{r}' did not match the text as expected."),
            (false, false) => format!("The regex pattern '{r}' did not match the text."),
            (false, true) => {
                format!("The regex pattern '{r}' matched the text when it should not have.")
            }
        };
        Outcome::verdict(verdict, explanation)
            .with("regexPattern", self.rule.as_str())
            .with("not", self.not)
            .with("verdict", verdict)
    }
}

/// `default.regexReplace`: replaces matches of `rule` in the primary texts with
/// `redactText` (default `[REDACTED]`); passes unless `failOnDetection` and something
/// matched. `rule` may be written `/pattern/flags` (`g` replaces every match, as in
/// JavaScript; without it only the first match in each text).
#[derive(Clone, Debug)]
pub(crate) struct RegexReplace {
    rule: String,
    re: Regex,
    global: bool,
    redact_text: String,
    fail_on_detection: bool,
}

impl RegexReplace {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let rule = p.str("rule")?.to_owned();
        let redact_text = p.opt_str("redactText")?.unwrap_or("[REDACTED]").to_owned();
        let fail_on_detection = p.bool("failOnDetection", false)?;
        let (pattern, flags) = split_js_regex(&rule);
        if flags.contains('y') {
            return Err(p.error("the sticky flag `y` is not supported"));
        }
        let re = compile(p, pattern, flags)?;
        Ok(Self {
            global: flags.contains('g'),
            rule,
            re,
            redact_text,
            fail_on_detection,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let primary = input.primary();
        let texts = input.texts();
        if input.text().is_empty() {
            return Outcome::error("Missing text to match");
        }
        let mut changed = false;
        let replaced: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if !primary.contains(&i) || !self.re.is_match(t) {
                    return t.to_string();
                }
                changed = true;
                let limit = if self.global { 0 } else { 1 };
                self.re
                    .replacen(t, limit, regex::NoExpand(&self.redact_text))
                    .into_owned()
            })
            .collect();
        let verdict = !(self.fail_on_detection && changed);
        let explanation = if changed {
            format!(
                "Pattern '{}' matched and was replaced with '{}'",
                self.rule, self.redact_text
            )
        } else {
            format!("The regex pattern '{}' did not match any text.", self.rule)
        };
        let mut out = Outcome::verdict(verdict, explanation)
            .with("regexPattern", self.rule.as_str())
            .with("verdict", verdict);
        out.transformed = changed.then_some(replaced);
        out
    }
}

/// Splits `/pattern/flags` like Portkey's `parseRegex`; anything else is a bare pattern.
fn split_js_regex(rule: &str) -> (&str, &str) {
    if let Some(rest) = rule.strip_prefix('/') {
        if let Some(slash) = rest.rfind('/') {
            let (pattern, flags) = (&rest[..slash], &rest[slash + 1..]);
            if !pattern.is_empty() && flags.chars().all(|c| "gimsuyd".contains(c)) {
                return (pattern, flags);
            }
        }
    }
    (rule, "")
}

#[derive(Clone, Debug)]
struct Word {
    text: String,
    /// Case-insensitive matcher, when asked for.
    re: Option<Regex>,
}

/// `default.contains`: passes when any / all / none of `words` occur in the text.
/// Portkey matches substrings, case-sensitively; Switchyard adds `ignoreCase` (Unicode
/// case folding) and `wholeWords` (a match must not touch a letter, digit or `_`).
#[derive(Clone, Debug)]
pub(crate) struct Contains {
    words: Vec<Word>,
    operator: Operator,
    whole_words: bool,
}

impl Contains {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let words = p.nonempty_strings("words")?;
        let operator = Operator::read(p, None)?;
        let ignore_case = p.bool("ignoreCase", false)?;
        let whole_words = p.bool("wholeWords", false)?;
        p.no_op_flag("not", "use `operator: none`")?;
        if words.iter().any(String::is_empty) {
            return Err(p.error("`words` must not contain an empty string"));
        }
        let words = words
            .into_iter()
            .map(|text| {
                let re = if ignore_case {
                    Some(
                        RegexBuilder::new(&regex::escape(&text))
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| p.error(format!("word `{text}`: {e}")))?,
                    )
                } else {
                    None
                };
                Ok(Word { text, re })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            words,
            operator,
            whole_words,
        })
    }

    fn found(&self, word: &Word, text: &str) -> bool {
        let bounded = |start: usize, end: usize| {
            !self.whole_words
                || (!text[..start].chars().next_back().is_some_and(is_word_char)
                    && !text[end..].chars().next().is_some_and(is_word_char))
        };
        match &word.re {
            Some(re) => re.find_iter(text).any(|m| bounded(m.start(), m.end())),
            None if !self.whole_words => text.contains(&word.text),
            None => text
                .match_indices(&word.text)
                .any(|(i, w)| bounded(i, i + w.len())),
        }
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        let (found, missing): (Vec<&Word>, Vec<&Word>) =
            self.words.iter().partition(|w| self.found(w, text));
        let verdict = self.operator.passes(found.len(), self.words.len());
        let op = self.operator.as_str();
        let tail = match (self.operator, verdict) {
            (Operator::Any, true) => "At least one word was found.",
            (Operator::All, true) => "All words were found.",
            (Operator::None, true) | (Operator::Any, false) => "No words were found.",
            (Operator::All, false) => "Some words were missing.",
            (Operator::None, false) => "Some words were found.",
        };
        let status = if verdict { "passed" } else { "failed" };
        let names = |ws: &[&Word]| ws.iter().map(|w| w.text.clone()).collect::<Vec<_>>();
        Outcome::verdict(verdict, format!("Check {status} for '{op}' words. {tail}"))
            .with("foundWords", names(&found))
            .with("missingWords", names(&missing))
            .with("operator", op)
    }
}

/// `default.endsWith`: passes when the text ends with `suffix` (or `suffix` and a period).
#[derive(Clone, Debug)]
pub(crate) struct EndsWith {
    suffix: String,
    not: bool,
}

impl EndsWith {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            suffix: p.str("suffix")?.to_owned(),
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error(MISSING_TEXT);
        }
        let with_period = text
            .strip_suffix('.')
            .is_some_and(|t| t.ends_with(&self.suffix));
        let ends = text.ends_with(&self.suffix) || with_period;
        let verdict = invert(ends, self.not);
        let s = &self.suffix;
        let explanation = match (verdict, self.not) {
            (true, false) if with_period && !text.ends_with(s) => {
                format!("The text ends with \"{s}\" (including trailing period).")
            }
            (true, false) => format!("The text ends with \"{s}\"."),
            (true, true) => format!("The text does not end with \"{s}\" as expected."),
            (false, false) => format!("The text does not end with \"{s}\"."),
            (false, true) => format!("The text ends with \"{s}\" when it should not."),
        };
        Outcome::verdict(verdict, explanation)
            .with("suffix", s.as_str())
            .with("not", self.not)
            .with("verdict", verdict)
    }
}

/// `default.alluppercase` / `default.alllowercase`: passes when no ASCII letter of the
/// other case occurs (Portkey looks at `a-z` and `A-Z` only).
#[derive(Clone, Debug)]
pub(crate) struct Case {
    upper: bool,
    not: bool,
}

impl Case {
    pub(crate) fn build(p: &mut Params<'_>, upper: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            upper,
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error(MISSING_TEXT);
        }
        let all = if self.upper {
            !text.bytes().any(|b| b.is_ascii_lowercase())
        } else {
            !text.bytes().any(|b| b.is_ascii_uppercase())
        };
        let verdict = invert(all, self.not);
        let (case, other) = if self.upper {
            ("uppercase", "lowercase")
        } else {
            ("lowercase", "uppercase")
        };
        let explanation = match (verdict, self.not) {
            (true, false) => format!("All alphabetic characters in the text are {case}."),
            (true, true) => format!("The text contains {other} characters as expected."),
            (false, false) => format!("The text contains {other} characters."),
            (false, true) => {
                format!("All alphabetic characters in the text are {case} when they should not be.")
            }
        };
        Outcome::verdict(verdict, explanation)
            .with("not", self.not)
            .with("verdict", verdict)
    }
}

/// `default.notNull`: passes when the content is not empty (whitespace counts as empty).
#[derive(Clone, Debug)]
pub(crate) struct NotNull {
    not: bool,
}

impl NotNull {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            not: p.bool("not", false)?,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let is_null = input.text().trim().is_empty();
        let verdict = invert(!is_null, self.not);
        let explanation = if is_null {
            "Content is null, undefined, or empty."
        } else {
            "Content exists and is not null."
        };
        Outcome::verdict(verdict, explanation)
            .with("isNull", is_null)
            .with("verdict", if verdict { "passed" } else { "failed" })
    }
}

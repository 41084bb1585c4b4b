//! `default.containsCode`: the text has a fenced code block in a given language.
//!
//! Blocks are found as Portkey finds them: ```` ```lang ````, a newline, anything, a
//! newline, ```` ``` ````; the fence's language tag is mapped to a name with Portkey's
//! table (`py` → `Python`, `ts` → `TypeScript`…). `format` is one of those names (Portkey);
//! Switchyard also accepts a list of names (any of them), and no `format` at all, meaning a
//! fenced block of any language — including one without a tag.

use super::fence;
use crate::input::CheckInput;
use crate::params::Params;
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

/// Portkey's fence-tag → language table.
const LANGUAGES: &[(&str, &str)] = &[
    ("sql", "SQL"),
    ("py", "Python"),
    ("python", "Python"),
    ("gyp", "Python"),
    ("ts", "TypeScript"),
    ("tsx", "TypeScript"),
    ("typescript", "TypeScript"),
    ("js", "JavaScript"),
    ("jsx", "JavaScript"),
    ("javascript", "JavaScript"),
    ("java", "Java"),
    ("cs", "C#"),
    ("cpp", "C++"),
    ("c", "C"),
    ("rb", "Ruby"),
    ("php", "PHP"),
    ("swift", "Swift"),
    ("kt", "Kotlin"),
    ("go", "Go"),
    ("rs", "Rust"),
    ("scala", "Scala"),
    ("r", "R"),
    ("pl", "Perl"),
    ("sh", "Shell"),
    ("html", "HTML"),
    ("css", "CSS"),
    ("xml", "XML"),
    ("json", "JSON"),
    ("yml", "YAML"),
    ("md", "Markdown"),
    ("dockerfile", "Dockerfile"),
];

fn language(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|(t, _)| *t == lower)
        .map_or(lower, |(_, name)| (*name).to_owned())
}

#[derive(Clone, Debug)]
pub(crate) struct ContainsCode {
    /// Any of these languages; `None`: any fenced block.
    formats: Option<Vec<String>>,
    not: bool,
}

impl ContainsCode {
    pub(crate) fn build(p: &mut Params<'_>) -> Result<Self, ConfigError> {
        let formats = match p.value("format") {
            None => None,
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(vec![s.clone()]),
            Some(_) => match p.strings("format", false)? {
                Some(list) if !list.is_empty() => Some(list),
                _ => {
                    return Err(
                        p.error("`format` must be a language name or a non-empty list of them")
                    )
                }
            },
        };
        let not = p.bool("not", false)?;
        Ok(Self { formats, not })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error("No text content to analyze");
        }
        let found: Vec<String> = fence::code_blocks(text, false)
            .into_iter()
            .filter_map(|b| b.tag.map(language))
            .collect();
        let (has, searched) = match &self.formats {
            Some(formats) => (
                found.iter().any(|l| formats.contains(l)),
                formats.join(" or "),
            ),
            None => (
                !fence::code_blocks(text, true).is_empty(),
                "any language".to_owned(),
            ),
        };
        let verdict = invert(has, self.not);
        let explanation = if found.is_empty() && self.formats.is_some() {
            "No code blocks found in the text".to_owned()
        } else {
            match (verdict, self.not) {
                (true, false) => format!("Found code block(s) in {searched} format"),
                (true, true) => format!("No code blocks in {searched} format found as expected"),
                (false, false) => format!("No code blocks in {searched} format found"),
                (false, true) => {
                    format!("Found code block(s) in {searched} format when none were expected")
                }
            }
        };
        Outcome::verdict(verdict, explanation)
            .with("searchedFormat", searched)
            .with("not", self.not)
            .with("foundFormats", found)
    }
}

//! `default.jsonSchema` and `default.jsonKeys` on JSON found in the text.
//!
//! Where the JSON is: the whole text if it parses; else every fenced code block
//! (```` ```json ```` or a bare ```` ``` ````) that parses; else every balanced `{…}` object
//! in the text that parses (Portkey uses a lazy `{[\s\S]*?}` here, which cuts nested objects
//! short; braces are matched properly instead, strings and escapes respected). A check
//! passes when at least one candidate satisfies it, as in Portkey.

use serde_json::{Map, Value};

use super::fence;
use crate::input::CheckInput;
use crate::params::{Operator, Params};
use crate::verdict::{invert, Outcome};
use crate::ConfigError;

/// At most this many candidates are parsed from one text.
const MAX_CANDIDATES: usize = 16;

/// Finds JSON values in free text.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extractor;

impl Extractor {
    pub(crate) fn candidates(&self, text: &str) -> Vec<Value> {
        let trimmed = text.trim();
        if trimmed.starts_with(['{', '[']) {
            if let Ok(v) = serde_json::from_str(trimmed) {
                return vec![v];
            }
        }
        let mut out = Vec::new();
        for block in fence::json_blocks(text).into_iter().take(MAX_CANDIDATES) {
            let block = block.trim();
            // Only something that can be JSON is handed to the parser.
            if block.starts_with(['{', '[', '"']) || block.starts_with(|c: char| c.is_ascii_digit())
            {
                if let Ok(v) = serde_json::from_str(block) {
                    out.push(v);
                }
            }
        }
        if !out.is_empty() {
            return out;
        }
        let bytes = text.as_bytes();
        let mut from = 0;
        while out.len() < MAX_CANDIDATES {
            let Some(open) = memchr::memchr(b'{', &bytes[from..]).map(|i| from + i) else {
                break;
            };
            match balanced_end(bytes, open).and_then(|end| {
                serde_json::from_str::<Value>(&text[open..end])
                    .ok()
                    .map(|v| (end, v))
            }) {
                Some((end, v)) => {
                    out.push(v);
                    from = end;
                }
                None => from = open + 1,
            }
        }
        out
    }
}

/// The index after the `}` closing the object opened at `open`, if it closes.
fn balanced_end(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in b.iter().enumerate().skip(open) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (c == b'}').then_some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Refuses every `$ref` to another document: schemas come whole from the config, and
/// compiling one must not read files or the network.
struct NoLoader;

impl boon::UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(format!("`{url}`: schemas may not reference other documents").into())
    }
}

/// `default.jsonSchema`: passes when JSON in the text validates against `schema` (draft
/// 2020-12 unless the schema's `$schema` names another; `format` is asserted, as Portkey's
/// validator does).
pub(crate) struct JsonSchema {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
    extractor: Extractor,
    not: bool,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("not", &self.not)
            .finish_non_exhaustive()
    }
}

impl JsonSchema {
    pub(crate) fn build(p: &mut Params<'_>, extractor: Extractor) -> Result<Self, ConfigError> {
        let schema = match p.value("schema") {
            Some(v @ (Value::Object(_) | Value::Bool(_))) => v.clone(),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| p.error(format!("`schema` is not valid JSON: {e}")))?,
            Some(_) => return Err(p.error("`schema` must be a JSON Schema object")),
            None => return Err(p.error("missing parameter `schema`")),
        };
        let not = p.bool("not", false)?;
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler.use_loader(Box::new(NoLoader));
        let loc = "urn:switchyard:guardrail-schema";
        let mut schemas = boon::Schemas::new();
        let invalid =
            |e: boon::CompileError| p.error(format!("`schema` is not a valid JSON Schema: {e}"));
        compiler.add_resource(loc, schema).map_err(invalid)?;
        let index = compiler.compile(loc, &mut schemas).map_err(invalid)?;
        Ok(Self {
            schemas,
            index,
            extractor,
            not,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let candidates = self.extractor.candidates(input.text());
        if candidates.is_empty() {
            return Outcome::verdict(false, "No valid JSON found in the response.")
                .with("not", self.not);
        }
        let mut first_errors: Option<Vec<Value>> = None;
        let mut valid = false;
        for c in &candidates {
            match self.schemas.validate(c, self.index) {
                Ok(()) => {
                    valid = true;
                    break;
                }
                Err(e) => {
                    if first_errors.is_none() {
                        let mut errs = Vec::new();
                        leaf_errors(&e, &mut errs);
                        first_errors = Some(errs);
                    }
                }
            }
        }
        let verdict = invert(valid, self.not);
        let explanation = match (verdict, self.not) {
            (true, false) => "Successfully validated JSON against the provided schema.",
            (true, true) => "Successfully validated JSON does not match the schema as expected.",
            (false, false) => "Failed to validate JSON against the provided schema.",
            (false, true) => "JSON matches the schema when it should not.",
        };
        let errors = if valid {
            Vec::new()
        } else {
            first_errors.unwrap_or_default()
        };
        Outcome::verdict(verdict, explanation)
            .with("not", self.not)
            .with("validationErrors", errors)
    }
}

/// The failing leaves of a validation error as `{path, message}`: the instance path and
/// the schema keyword that failed, never the instance's values.
fn leaf_errors(e: &boon::ValidationError<'_, '_>, out: &mut Vec<Value>) {
    if out.len() >= 10 {
        return;
    }
    if e.causes.is_empty() {
        let keyword = e.kind.keyword_path().map_or("schema", |k| k.keyword);
        let mut m = Map::new();
        m.insert("path".into(), e.instance_location.to_string().into());
        m.insert("message".into(), format!("failed `{keyword}`").into());
        out.push(Value::Object(m));
    }
    for c in &e.causes {
        leaf_errors(c, out);
    }
}

/// `default.jsonKeys`: passes when a JSON object in the text has any / all / none of `keys`
/// at its top level.
#[derive(Clone, Debug)]
pub(crate) struct JsonKeys {
    keys: Vec<String>,
    operator: Operator,
    extractor: Extractor,
}

impl JsonKeys {
    pub(crate) fn build(p: &mut Params<'_>, extractor: Extractor) -> Result<Self, ConfigError> {
        let keys = p.nonempty_strings("keys")?;
        let operator = Operator::read(p, None)?;
        p.no_op_flag("not", "use `operator: none`")?;
        Ok(Self {
            keys,
            operator,
            extractor,
        })
    }

    pub(crate) fn run(&self, input: &CheckInput<'_>) -> Outcome {
        let text = input.text();
        if text.is_empty() {
            return Outcome::error("Missing text to analyze");
        }
        let candidates = self.extractor.candidates(text);
        if candidates.is_empty() {
            return Outcome::verdict(false, "No valid JSON found in the text.")
                .with("requiredKeys", self.keys.clone())
                .with("operator", self.operator.as_str());
        }
        let mut best: (bool, Vec<&String>, Vec<&String>) =
            (false, Vec::new(), self.keys.iter().collect());
        for c in &candidates {
            let obj = c.as_object();
            let (present, missing): (Vec<&String>, Vec<&String>) = self
                .keys
                .iter()
                .partition(|k| obj.is_some_and(|o| o.contains_key(k.as_str())));
            let pass = self.operator.passes(present.len(), self.keys.len());
            if pass || present.len() > best.1.len() {
                best = (pass, present, missing);
            }
            if pass {
                break;
            }
        }
        let (verdict, present, missing) = best;
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        let present_text = if present.is_empty() {
            "No matching keys found".to_owned()
        } else {
            format!("Found keys: [{}]", list(&present))
        };
        let missing_text = if missing.is_empty() {
            "No missing keys".to_owned()
        } else {
            format!("Missing keys: [{}]", list(&missing))
        };
        let explanation = match (self.operator, verdict) {
            (Operator::Any, true) => {
                format!("Successfully found at least one required key. {present_text}.")
            }
            (Operator::Any, false) => format!("Failed to find any required keys. {missing_text}."),
            (Operator::All, true) => {
                format!("Successfully found all required keys. {present_text}.")
            }
            (Operator::All, false) => format!("Failed to find all required keys. {missing_text}."),
            (Operator::None, true) => {
                format!("Successfully verified no required keys are present. {missing_text}.")
            }
            (Operator::None, false) => {
                format!("Found some keys that should not be present. {present_text}.")
            }
        };
        let owned = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>();
        Outcome::verdict(verdict, explanation)
            .with("verdict", verdict)
            .with("presentKeys", owned(present))
            .with("missingKeys", owned(missing))
            .with("operator", self.operator.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_whole_fenced_and_embedded() {
        let x = Extractor;
        assert_eq!(
            x.candidates(r#" {"a":1} "#),
            vec![serde_json::json!({"a":1})]
        );
        assert_eq!(
            x.candidates("Here:\n```json\n{\"a\":{\"b\":2}}\n```\nand ```\n[1]\n```"),
            vec![serde_json::json!({"a":{"b":2}}), serde_json::json!([1])]
        );
        // Nested objects in prose: matched whole, not cut at the first `}`.
        assert_eq!(
            x.candidates(r#"The result is {"a":{"b":"}"}} and {"c":3}. {broken"#),
            vec![
                serde_json::json!({"a":{"b":"}"}}),
                serde_json::json!({"c":3})
            ]
        );
        assert!(x.candidates("no json here { nor here").is_empty());
    }
}

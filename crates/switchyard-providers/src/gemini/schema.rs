//! JSON Schema → the OpenAPI 3.0 subset Gemini's `Schema` accepts (function parameters and
//! `responseSchema`).
//!
//! Gemini refuses unknown keys (`additionalProperties`, `$schema`, `const`…) with a 400, so
//! keys outside its subset are dropped — they only constrain or annotate, and the model is
//! still told the structure. What changes meaning is translated instead: `type: [T, "null"]`
//! becomes `nullable`, `oneOf` becomes `anyOf`, `const` becomes a one-value `enum`, and local
//! `$ref`s are inlined.

use std::cell::Cell;

use serde_json::{Map, Value};

use crate::canonical::invalid;
use crate::error::TranslateError;

/// Keys of Gemini's `Schema` object kept as they are (after their values are converted).
const KEPT: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "items",
    "minimum",
    "maximum",
    "propertyOrdering",
];

/// How deep `$ref`s are followed: deeper means a recursive schema, which Gemini cannot take.
const MAX_DEPTH: usize = 32;

/// How many bytes of definitions inlining `$ref`s may copy in one schema. The depth bound
/// alone does not bound the work: a definition that refers to the next one twice, 30 levels
/// down, doubles at each level.
const MAX_INLINED_BYTES: usize = 1024 * 1024;

/// A tool's `parameters`; `None` for an object without properties, which Gemini refuses
/// (a function without parameters simply has none).
pub(crate) fn parameters(schema: &Value, param: &str) -> Result<Option<Value>, TranslateError> {
    let out = to_gemini(schema, param)?;
    let empty_object = out.get("type").and_then(Value::as_str) == Some("object")
        && out
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    Ok((!empty_object).then_some(out))
}

/// Converts a schema; `param` names it in errors.
pub(crate) fn to_gemini(schema: &Value, param: &str) -> Result<Value, TranslateError> {
    let defs = Defs {
        root: schema,
        param,
        inlined: Cell::new(0),
    };
    defs.convert(schema, 0)
}

struct Defs<'a> {
    root: &'a Value,
    param: &'a str,
    /// Bytes of definitions inlined so far (as serialised JSON).
    inlined: Cell<usize>,
}

impl Defs<'_> {
    fn resolve(&self, reference: &str) -> Result<&Value, TranslateError> {
        let target = reference.strip_prefix("#/").and_then(|path| {
            path.split('/').try_fold(self.root, |v, seg| {
                v.get(seg.replace("~1", "/").replace("~0", "~"))
            })
        });
        let target = target.ok_or_else(|| {
            invalid(
                format!("schema reference `{reference}` cannot be resolved (only local `#/…` references are)"),
                self.param,
            )
        })?;
        let inlined = self.inlined.get().saturating_add(json_len(target));
        self.inlined.set(inlined);
        if inlined > MAX_INLINED_BYTES {
            return Err(invalid(
                "the schema's `$ref`s expand to more than 1 MiB",
                self.param,
            ));
        }
        Ok(target)
    }

    fn convert(&self, v: &Value, depth: usize) -> Result<Value, TranslateError> {
        if depth > MAX_DEPTH {
            return Err(invalid(
                "recursive schemas are not supported by Gemini",
                self.param,
            ));
        }
        let Some(obj) = v.as_object() else {
            // `true`/`false` schemas and other oddities: accept anything.
            return Ok(Value::Object(Map::new()));
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let mut inlined = self.convert(self.resolve(r)?, depth + 1)?;
            // Sibling annotations of a `$ref` (e.g. a description) still apply.
            if let (Some(desc), Some(o)) = (obj.get("description"), inlined.as_object_mut()) {
                o.insert("description".into(), desc.clone());
            }
            return Ok(inlined);
        }
        if let Some(Value::Array(all)) = obj.get("allOf") {
            if all.len() == 1 {
                return self.convert(&all[0], depth + 1);
            }
        }
        let mut out = Map::new();
        for (k, val) in obj {
            match k.as_str() {
                "type" => match val {
                    Value::Array(types) => {
                        let non_null: Vec<&Value> = types
                            .iter()
                            .filter(|t| t.as_str() != Some("null"))
                            .collect();
                        if non_null.len() < types.len() {
                            out.insert("nullable".into(), Value::Bool(true));
                        }
                        match non_null.as_slice() {
                            [] => {}
                            [one] => {
                                out.insert("type".into(), (*one).clone());
                            }
                            many => {
                                let any: Vec<Value> = many
                                    .iter()
                                    .map(|t| serde_json::json!({ "type": t }))
                                    .collect();
                                out.insert("anyOf".into(), Value::Array(any));
                            }
                        }
                    }
                    Value::String(t) if t == "null" => {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    other => {
                        out.insert("type".into(), other.clone());
                    }
                },
                "properties" => {
                    let mut props = Map::new();
                    if let Some(p) = val.as_object() {
                        for (name, s) in p {
                            props.insert(name.clone(), self.convert(s, depth + 1)?);
                        }
                    }
                    out.insert("properties".into(), Value::Object(props));
                }
                "items" => {
                    out.insert("items".into(), self.convert(val, depth + 1)?);
                }
                "anyOf" | "oneOf" => {
                    let mut any = Vec::new();
                    for s in val.as_array().into_iter().flatten() {
                        if s.get("type").and_then(Value::as_str) == Some("null")
                            && s.as_object().is_some_and(|o| o.len() == 1)
                        {
                            out.insert("nullable".into(), Value::Bool(true));
                            continue;
                        }
                        any.push(self.convert(s, depth + 1)?);
                    }
                    match any.len() {
                        0 => {}
                        1 => {
                            if let Some(Value::Object(only)) = any.pop() {
                                for (k, v) in only {
                                    out.entry(k).or_insert(v);
                                }
                            }
                        }
                        _ => {
                            out.insert("anyOf".into(), Value::Array(any));
                        }
                    }
                }
                "const" => {
                    out.insert("enum".into(), Value::Array(vec![val.clone()]));
                }
                "enum" => {
                    // Gemini's enums are strings.
                    let values: Vec<Value> = val
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|e| !e.is_null())
                        .map(|e| match e {
                            Value::String(_) => e.clone(),
                            other => Value::String(other.to_string()),
                        })
                        .collect();
                    out.insert("enum".into(), Value::Array(values));
                }
                key if KEPT.contains(&key) => {
                    out.insert(k.clone(), val.clone());
                }
                _ => {}
            }
        }
        if out.contains_key("enum") && !out.contains_key("type") {
            out.insert("type".into(), Value::String("string".into()));
        }
        Ok(Value::Object(out))
    }
}

/// The length of `v` serialised, without building the text.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_unknown_keys_and_translates_the_rest() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "T", "type": "object", "additionalProperties": false,
            "properties": {
                "kind": {"const": "a"},
                "n": {"type": ["integer", "null"], "default": 3, "minimum": 0},
                "pick": {"oneOf": [{"type": "string"}, {"type": "number"}]},
                "opt": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}], "description": "maybe"},
                "list": {"type": "array", "items": {"$ref": "#/$defs/Item"}}
            },
            "required": ["kind"],
            "$defs": {"Item": {"type": "object", "properties": {"id": {"type": "string", "enum": ["x", "y"]}}}}
        });
        assert_eq!(
            to_gemini(&s, "p").unwrap(),
            json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["a"]},
                    "n": {"type": "integer", "nullable": true, "minimum": 0},
                    "pick": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                    "opt": {"nullable": true, "description": "maybe", "type": "object",
                            "properties": {"id": {"type": "string", "enum": ["x", "y"]}}},
                    "list": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string", "enum": ["x", "y"]}}}}
                },
                "required": ["kind"]
            })
        );
    }

    #[test]
    fn recursive_and_remote_references_are_refused() {
        let rec = json!({"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"});
        assert!(to_gemini(&rec, "p")
            .unwrap_err()
            .to_string()
            .contains("recursive"));
        let remote = json!({"$ref": "https://example.com/s.json"});
        assert!(to_gemini(&remote, "p").is_err());
    }

    #[test]
    fn parameterless_functions_send_no_parameters() {
        assert_eq!(parameters(&json!({"type": "object"}), "p").unwrap(), None);
        assert_eq!(
            parameters(&json!({"type": "object", "properties": {}}), "p").unwrap(),
            None
        );
        assert!(parameters(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}}),
            "p"
        )
        .unwrap()
        .is_some());
    }

    /// Found while writing the fuzz targets: each definition naming the next four times,
    /// 15 levels down, inlined 4^15 copies (hours of CPU and unbounded memory per request)
    /// before inlining was bounded.
    #[test]
    fn references_that_multiply_are_refused_quickly() {
        let mut defs = serde_json::Map::new();
        for i in 0..15 {
            let next = json!({"$ref": format!("#/$defs/D{}", i + 1)});
            defs.insert(
                format!("D{i}"),
                json!({"type": "object", "properties": {"a": next, "b": next, "c": next, "d": next}}),
            );
        }
        defs.insert("D15".into(), json!({"type": "string"}));
        let s = json!({"$defs": defs, "$ref": "#/$defs/D0"});
        let e = to_gemini(&s, "tools[0].function.parameters").unwrap_err();
        assert!(e.to_string().contains("more than 1 MiB"), "{e}");
    }
}

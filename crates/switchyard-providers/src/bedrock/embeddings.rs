//! OpenAI `/v1/embeddings` on Bedrock: InvokeModel (`POST /model/{modelId}/invoke`) in the
//! Amazon Titan Text Embeddings request format, `{"inputText": …, "dimensions": …}` →
//! `{"embedding": […], "inputTextTokenCount": n}`.
//!
//! Titan embeds one text per call, so an `input` array of more than one string is refused
//! with a 400 rather than fanned out behind the client's back; token-id inputs and
//! `encoding_format: base64` are refused too. Other embedding families on Bedrock (Cohere
//! Embed) take a different body and are not translated here.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::canonical::{invalid, unsupported};
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;
use crate::translator::{Whole, WholeAnswer};
use crate::usage::Usage;

/// Largest embedding answer held for translation.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The Titan InvokeModel body for an OpenAI embeddings request.
pub fn titan_body(body: &JsonEnvelope, provider: &str) -> Result<Value, TranslateError> {
    let mut out = Map::new();
    for key in body.keys() {
        let Some(raw) = body.get_raw(key) else {
            continue;
        };
        if raw == "null" {
            continue;
        }
        let value: Value =
            serde_json::from_str(raw).map_err(|e| invalid(format!("invalid `{key}`: {e}"), key))?;
        match key {
            "model" | "user" => {}
            "input" => {
                let text = match value {
                    Value::String(s) => s,
                    Value::Array(mut items) if items.len() == 1 && items[0].is_string() => {
                        items.remove(0).as_str().unwrap_or_default().to_owned()
                    }
                    Value::Array(items) if items.len() > 1 && items.iter().all(Value::is_string) => {
                        return Err(invalid(
                            format!("provider {provider} (Bedrock Titan) embeds one text per request: send `input` as a single string"),
                            "input",
                        ))
                    }
                    _ => {
                        return Err(invalid(
                            "`input` must be a string (token arrays are not supported by Bedrock)",
                            "input",
                        ))
                    }
                };
                if text.is_empty() {
                    return Err(invalid("`input` must not be empty", "input"));
                }
                out.insert("inputText".into(), Value::String(text));
            }
            "dimensions" => {
                out.insert("dimensions".into(), value);
            }
            "encoding_format" if value == "float" => {}
            other => return Err(unsupported(provider, other)),
        }
    }
    if !out.contains_key("inputText") {
        return Err(invalid("`input` is required", "input"));
    }
    Ok(Value::Object(out))
}

/// A Titan embedding answer, translated once whole.
#[derive(Debug)]
pub struct TitanAnswer {
    model: String,
}

impl TitanAnswer {
    /// The answer naming `model`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanResponse {
    embedding: Vec<f64>,
    #[serde(default)]
    input_text_token_count: u64,
}

impl WholeAnswer for TitanAnswer {
    const WHAT: &'static str = "embedding response";
    const MAX_BYTES: usize = MAX_BODY_BYTES;

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let r: TitanResponse = serde_json::from_slice(body)
            .map_err(|e| TranslateError::BadResponse(format!("Titan embedding response: {e}")))?;
        let n = r.input_text_token_count;
        let body = json!({
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": r.embedding}],
            "model": self.model,
            "usage": {"prompt_tokens": n, "total_tokens": n},
        });
        let body = serde_json::to_vec(&body).map_err(|e| {
            TranslateError::BadResponse(format!("could not encode the embedding: {e}"))
        })?;
        Ok(Whole::healthy(
            Bytes::from(body),
            Some(Usage::prompt_only(n)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{ResponseTranslator, Verdict};
    use crate::translator::Buffered;

    fn body(s: &str) -> Result<Value, TranslateError> {
        titan_body(
            &JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap(),
            "aws",
        )
    }

    #[test]
    fn maps_one_input() {
        assert_eq!(
            body(r#"{"model":"t","input":"hello","dimensions":256,"encoding_format":"float","user":"u"}"#).unwrap(),
            json!({"inputText": "hello", "dimensions": 256})
        );
        assert_eq!(
            body(r#"{"model":"t","input":["one"]}"#).unwrap(),
            json!({"inputText": "one"})
        );
    }

    #[test]
    fn refuses_what_titan_cannot_do() {
        for (b, param) in [
            (r#"{"model":"t","input":["a","b"]}"#, "input"),
            (r#"{"model":"t","input":[1,2]}"#, "input"),
            (r#"{"model":"t","input":""}"#, "input"),
            (r#"{"model":"t"}"#, "input"),
            (
                r#"{"model":"t","input":"x","encoding_format":"base64"}"#,
                "encoding_format",
            ),
        ] {
            let e = body(b).unwrap_err();
            assert!(
                matches!(&e, TranslateError::InvalidRequest { param: Some(p), .. } if p == param),
                "{b}: {e:?}"
            );
        }
        assert!(body(r#"{"model":"t","input":["a","b"]}"#)
            .unwrap_err()
            .to_string()
            .contains("one text per request"));
    }

    #[test]
    fn translates_the_documented_answer() {
        // InvokeModel response of Titan Text Embeddings V2 (Bedrock user guide,
        // "Amazon Titan Text Embeddings"): `embedding` and `inputTextTokenCount`.
        let mut t = Buffered::new(TitanAnswer::new("amazon.titan-embed-text-v2:0"));
        let mut out = Vec::new();
        t.push(
            Bytes::from_static(br#"{"embedding":[0.25,-0.5,0.125],"inputTextTokenCount":3,"embeddingsByType":{"float":[0.25,-0.5,0.125]}}"#),
            &mut out,
        )
        .unwrap();
        assert_eq!(t.verdict(), Verdict::Pending);
        t.finish(&mut out).unwrap();
        let v: Value = serde_json::from_slice(&out.concat()).unwrap();
        assert_eq!(v["data"][0]["embedding"], json!([0.25, -0.5, 0.125]));
        assert_eq!(v["usage"]["prompt_tokens"], 3);
        assert_eq!(v["model"], "amazon.titan-embed-text-v2:0");
        assert_eq!(t.usage().unwrap().total_tokens, 3);
        let mut t = Buffered::new(TitanAnswer::new("m"));
        t.push(Bytes::from_static(b"{\"embedding\":"), &mut out)
            .unwrap();
        assert!(t.finish(&mut out).is_err());
    }
}

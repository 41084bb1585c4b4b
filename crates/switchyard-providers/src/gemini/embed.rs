//! OpenAI embeddings ↔ Gemini `batchEmbedContents` and Vertex AI `predict`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::google_error;
use crate::canonical::{base64_embedding, embedding_list, invalid, unsupported};
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;
use crate::translator::{Whole, WholeAnswer};
use crate::usage::Usage;

/// The OpenAI embeddings request, as far as Gemini can honour it.
struct EmbedRequest {
    inputs: Vec<String>,
    dimensions: Option<u32>,
}

fn parse(provider: &str, env: &JsonEnvelope) -> Result<EmbedRequest, TranslateError> {
    for key in env.keys() {
        if !matches!(
            key,
            "model" | "input" | "dimensions" | "encoding_format" | "user"
        ) {
            return Err(unsupported(provider, key));
        }
    }
    let inputs = match env.get::<Value>("input", "a string or an array of strings") {
        Ok(Some(Value::String(s))) => vec![s],
        Ok(Some(Value::Array(items))) if !items.is_empty() => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(invalid(
                    format!("provider {provider} takes text input only, not token arrays"),
                    "input",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "`input` must be a string or a non-empty array of strings",
                "input",
            ))
        }
    };
    let dimensions = env
        .get::<u32>("dimensions", "a positive integer")
        .map_err(|e| invalid(e.to_string(), "dimensions"))?;
    match env.get_str("encoding_format") {
        Ok(None) => {}
        Ok(Some(f)) if f == "float" || f == "base64" => {}
        _ => {
            return Err(invalid(
                "`encoding_format` must be `float` or `base64`",
                "encoding_format",
            ))
        }
    }
    Ok(EmbedRequest { inputs, dimensions })
}

/// True when the client asked for base64-encoded vectors.
pub(crate) fn wants_base64(env: &JsonEnvelope) -> bool {
    env.get_str("encoding_format").ok().flatten().as_deref() == Some("base64")
}

/// `batchEmbedContents`: one request per input.
pub(crate) fn gemini_body(
    provider: &str,
    env: &JsonEnvelope,
    model: &str,
) -> Result<Vec<u8>, TranslateError> {
    let r = parse(provider, env)?;
    let name = format!("models/{model}");
    let requests: Vec<Value> = r
        .inputs
        .iter()
        .map(|text| {
            let mut one = json!({"model": name, "content": {"parts": [{"text": text}]}});
            if let Some(d) = r.dimensions {
                one["outputDimensionality"] = json!(d);
            }
            one
        })
        .collect();
    Ok(serde_json::to_vec(&json!({ "requests": requests })).unwrap_or_default())
}

/// Vertex AI `predict`: one instance per input.
pub(crate) fn vertex_body(provider: &str, env: &JsonEnvelope) -> Result<Vec<u8>, TranslateError> {
    let r = parse(provider, env)?;
    let instances: Vec<Value> = r.inputs.iter().map(|t| json!({ "content": t })).collect();
    let mut body = json!({ "instances": instances });
    if let Some(d) = r.dimensions {
        body["parameters"] = json!({ "outputDimensionality": d });
    }
    Ok(serde_json::to_vec(&body).unwrap_or_default())
}

#[derive(Deserialize)]
struct Values<'a> {
    #[serde(borrow)]
    values: &'a RawValue,
}

#[derive(Deserialize)]
struct GeminiAnswer<'a> {
    #[serde(borrow, default)]
    embeddings: Vec<Values<'a>>,
}

#[derive(Deserialize)]
struct VertexAnswer<'a> {
    #[serde(borrow, default)]
    predictions: Vec<Prediction<'a>>,
}

#[derive(Deserialize)]
struct Prediction<'a> {
    #[serde(borrow)]
    embeddings: VertexEmbedding<'a>,
}

#[derive(Deserialize)]
struct VertexEmbedding<'a> {
    #[serde(borrow)]
    values: &'a RawValue,
    #[serde(default)]
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    #[serde(default)]
    token_count: f64,
}

/// An embeddings answer, rebuilt as OpenAI's list. Vectors are copied as raw JSON (or
/// re-encoded as little-endian `f32` base64 when the client asked for that).
#[derive(Debug)]
pub struct EmbeddingsAnswer {
    provider: String,
    model: String,
    vertex: bool,
    base64: bool,
}

impl EmbeddingsAnswer {
    /// The answer to one call.
    pub fn new(provider: &str, model: &str, vertex: bool, base64: bool) -> Self {
        Self {
            provider: provider.to_owned(),
            model: model.to_owned(),
            vertex,
            base64,
        }
    }

    fn vector<'a>(&self, raw: &'a RawValue) -> Result<Cow<'a, str>, TranslateError> {
        if !self.base64 {
            return Ok(Cow::Borrowed(raw.get()));
        }
        base64_embedding(raw.get())
            .map(Cow::Owned)
            .map_err(|e| TranslateError::BadResponse(e.to_string()))
    }
}

impl WholeAnswer for EmbeddingsAnswer {
    const WHAT: &'static str = "gemini embeddings response";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let bad = |e: serde_json::Error| TranslateError::BadResponse(e.to_string());
        if let Some(e) = google_error(body) {
            let status = e.status_or(502);
            return Ok(Whole::failed(
                status,
                e.into_error_body(status, &self.provider),
            ));
        }
        let mut tokens = 0u64;
        let vectors: Vec<Cow<'_, str>> = if self.vertex {
            let a: VertexAnswer<'_> = serde_json::from_slice(body).map_err(bad)?;
            a.predictions
                .iter()
                .map(|p| {
                    tokens += p
                        .embeddings
                        .statistics
                        .as_ref()
                        .map_or(0, |s| s.token_count as u64);
                    self.vector(p.embeddings.values)
                })
                .collect::<Result<_, _>>()?
        } else {
            let a: GeminiAnswer<'_> = serde_json::from_slice(body).map_err(bad)?;
            a.embeddings
                .iter()
                .map(|e| self.vector(e.values))
                .collect::<Result<_, _>>()?
        };
        Ok(Whole::healthy(
            embedding_list(&vectors, &self.model, tokens),
            Some(Usage::prompt_only(tokens)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::ResponseTranslator;
    use crate::translator::Buffered;
    use bytes::Bytes;

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    fn run(t: &mut Buffered<EmbeddingsAnswer>, body: &str) -> Value {
        let mut out = Vec::new();
        for piece in body.as_bytes().chunks(7) {
            t.push(Bytes::copy_from_slice(piece), &mut out).unwrap();
        }
        t.finish(&mut out).unwrap();
        serde_json::from_slice(&out.concat()).unwrap()
    }

    #[test]
    fn batch_requests_name_the_model_and_dimensions() {
        let b = gemini_body(
            "g",
            &env(r#"{"model":"e","input":["a","b"],"dimensions":8}"#),
            "text-embedding-004",
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v["requests"][1],
            json!({"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"outputDimensionality":8})
        );
        let b = vertex_body("v", &env(r#"{"model":"e","input":"a"}"#)).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&b).unwrap(),
            json!({"instances":[{"content":"a"}]})
        );
        assert!(gemini_body("g", &env(r#"{"model":"e","input":[[1,2]]}"#), "m").is_err());
        assert_eq!(
            gemini_body("g", &env(r#"{"model":"e","input":"a","x":1}"#), "m")
                .unwrap_err()
                .to_string(),
            "`x` is not supported by provider g"
        );
    }

    #[test]
    fn answers_become_openai_lists() {
        let mut t = Buffered::new(EmbeddingsAnswer::new(
            "g",
            "text-embedding-004",
            false,
            false,
        ));
        let v = run(
            &mut t,
            r#"{"embeddings":[{"values":[0.5,-1]},{"values":[0.25,2]}]}"#,
        );
        assert_eq!(v["data"][1]["embedding"], json!([0.25, 2]));
        assert_eq!(v["data"][1]["index"], 1);
        assert_eq!(v["model"], "text-embedding-004");

        let mut t = Buffered::new(EmbeddingsAnswer::new("v", "m", true, true));
        let v = run(
            &mut t,
            r#"{"predictions":[{"embeddings":{"values":[1.0],"statistics":{"token_count":3,"truncated":false}}}]}"#,
        );
        // 1.0f32 little-endian is 00 00 80 3f.
        assert_eq!(v["data"][0]["embedding"], "AACAPw==");
        assert_eq!(v["usage"]["prompt_tokens"], 3);
        assert_eq!(t.usage().unwrap().total_tokens, 3);
    }
}

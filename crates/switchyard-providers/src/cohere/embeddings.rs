//! OpenAI embeddings ↔ Cohere's `POST /v2/embed`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::response::WireUnits;
use super::NAME;
use crate::canonical::{base64_embedding, embedding_list, invalid, unsupported};
use crate::dialect::Call;
use crate::error::TranslateError;
use crate::translator::{Whole, WholeAnswer};
use crate::usage::Usage;

/// `input_type` sent with embeddings when the client names none: v3+ models require one,
/// and OpenAI's embeddings are used to store documents more often than to query them.
pub const DEFAULT_INPUT_TYPE: &str = "search_document";

pub(super) fn embed_body(call: &Call<'_>) -> Result<Vec<u8>, TranslateError> {
    let env = call.body;
    for key in env.keys() {
        match key {
            "input" | "model" | "encoding_format" | "dimensions" | "user" | "input_type"
            | "truncate" => {}
            other => return Err(unsupported(NAME, other)),
        }
    }
    let texts: Vec<String> = match env.get::<Value>("input", "a string or an array") {
        Ok(Some(Value::String(s))) => vec![s],
        Ok(Some(Value::Array(items))) if !items.is_empty() => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(invalid(
                    "provider cohere embeds text: `input` must be a string or an array of strings",
                    "input",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "`input` must be a non-empty string or array of strings",
                "input",
            ))
        }
    };
    embedding_format(call)?;
    let dimensions: Option<u32> = env
        .get("dimensions", "an integer")
        .map_err(|e| invalid(e.to_string(), "dimensions"))?;
    let input_type: Option<String> = env
        .get_str("input_type")
        .map_err(|e| invalid(e.to_string(), "input_type"))?;
    let truncate: Option<String> = env
        .get_str("truncate")
        .map_err(|e| invalid(e.to_string(), "truncate"))?;
    let mut body = json!({
        "model": call.model,
        "texts": texts,
        "input_type": input_type.as_deref().unwrap_or(DEFAULT_INPUT_TYPE),
        "embedding_types": ["float"],
    });
    if let Some(d) = dimensions {
        body["output_dimension"] = json!(d);
    }
    if let Some(t) = truncate {
        body["truncate"] = Value::String(t);
    }
    serde_json::to_vec(&body).map_err(|e| invalid(e.to_string(), "input"))
}

/// Whether the client asked for base64 embeddings (`encoding_format`).
pub(super) fn embedding_format(call: &Call<'_>) -> Result<bool, TranslateError> {
    match call.body.get_str("encoding_format") {
        Ok(None) => Ok(false),
        Ok(Some(f)) if f == "float" => Ok(false),
        Ok(Some(f)) if f == "base64" => Ok(true),
        _ => Err(invalid(
            "`encoding_format` must be `float` or `base64`",
            "encoding_format",
        )),
    }
}

#[derive(Deserialize)]
struct WireEmbed<'a> {
    #[serde(borrow)]
    embeddings: WireEmbeddings<'a>,
    #[serde(default)]
    meta: Option<WireMeta>,
}

#[derive(Deserialize)]
struct WireEmbeddings<'a> {
    #[serde(borrow, default)]
    float: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireMeta {
    #[serde(default)]
    billed_units: Option<WireUnits>,
}

/// An embeddings answer.
pub(super) struct EmbedAnswer {
    pub(super) model: String,
    pub(super) base64: bool,
}

impl WholeAnswer for EmbedAnswer {
    const WHAT: &'static str = "cohere embed answer";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let bad =
            |e: serde_json::Error| TranslateError::BadResponse(format!("cohere embed answer: {e}"));
        let w: WireEmbed<'_> = serde_json::from_slice(body).map_err(bad)?;
        let tokens = w
            .meta
            .and_then(|m| m.billed_units)
            .and_then(|u| u.input_tokens)
            .unwrap_or(0.0) as u64;
        let vectors: Vec<Cow<'_, str>> = w
            .embeddings
            .float
            .iter()
            .map(|raw| match self.base64 {
                true => base64_embedding(raw.get()).map(Cow::Owned).map_err(bad),
                false => Ok(Cow::Borrowed(raw.get())),
            })
            .collect::<Result<_, _>>()?;
        Ok(Whole::healthy(
            embedding_list(&vectors, &self.model, tokens),
            Some(Usage::prompt_only(tokens)),
        ))
    }
}

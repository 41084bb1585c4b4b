//! Google's `generateContent` API, as served by Gemini (AI Studio, `kind: gemini`) and by
//! Vertex AI (`kind: vertex-ai`). Both take the same body below a different base URL:
//!
//! - Gemini: `{base}/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
//!   `:batchEmbedContents`; the key in `x-goog-api-key`.
//! - Vertex AI: the same methods below
//!   `…/v1/projects/{project}/locations/{location}/publishers/google`, an OAuth access token
//!   as `Authorization: Bearer`, and embeddings through `:predict`.
//!
//! Chat requests are mapped field by field (`request`), answers are rebuilt as OpenAI chat
//! completions and chunks (`response`), embeddings both ways (`embed`). Parameters that
//! cannot be honoured are refused with a 400 naming them.

mod embed;
mod request;
mod response;
mod schema;

use serde::Deserialize;

use crate::dialect::{Call, Dialect, ProviderEndpoint, ResponseTranslator, UpstreamRequest};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::headers;
use crate::kind::ProviderKind;
use crate::translator::{Buffered, Streamed};

use self::embed::EmbeddingsAnswer;
use self::response::{ChatAnswer, StreamTranslator};

/// The Gemini / Vertex AI dialect.
#[derive(Debug)]
pub struct Gemini;

impl Dialect for Gemini {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let model = model_path_segment(call.model)?;
        let (method, query, body) = match call.endpoint {
            Endpoint::ChatCompletions => {
                let body = request::chat_body(&provider.name, call.body, call.stream)?;
                if call.stream {
                    ("streamGenerateContent", "?alt=sse", body)
                } else {
                    ("generateContent", "", body)
                }
            }
            Endpoint::Embeddings => {
                if provider.kind == ProviderKind::VertexAi {
                    (
                        "predict",
                        "",
                        embed::vertex_body(&provider.name, call.body)?,
                    )
                } else {
                    (
                        "batchEmbedContents",
                        "",
                        embed::gemini_body(&provider.name, call.body, model)?,
                    )
                }
            }
            other => {
                return Err(TranslateError::UnsupportedEndpoint {
                    kind: provider.kind.name(),
                    endpoint: other.label(),
                })
            }
        };

        Ok(UpstreamRequest {
            method: "POST",
            path: format!("{}/models/{model}:{method}{query}", provider.base_path),
            // Answers are rebuilt, so they must arrive unencoded (`json_api` asks for identity).
            headers: headers::json_api(provider, call)?,
            body: body.into(),
        })
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        let created = call.created();
        match call.endpoint {
            Endpoint::Embeddings => Buffered::boxed(EmbeddingsAnswer::new(
                &provider.name,
                call.model,
                provider.kind == ProviderKind::VertexAi,
                embed::wants_base64(call.body),
            )),
            _ if call.stream => Streamed::boxed(StreamTranslator::new(
                &provider.name,
                call.model,
                created,
                call.include_usage(),
            )),
            _ => Buffered::boxed(ChatAnswer::new(&provider.name, call.model, created)),
        }
    }

    fn needs_inline_images(&self) -> bool {
        // generateContent fetches no arbitrary http(s) URL: images must come inline.
        true
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        google_error(body)
            .map(|e| e.into_error_body(status, &provider.name))
            .unwrap_or_else(|| ErrorBody::from_provider(status, body, &provider.name))
    }
}

/// The model as a path segment: `models/` prefixes are dropped, and anything that could
/// change the path's meaning is refused.
fn model_path_segment(model: &str) -> Result<&str, TranslateError> {
    let m = model.strip_prefix("models/").unwrap_or(model);
    let ok = !m.is_empty()
        && m.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(m)
    } else {
        Err(crate::canonical::invalid(
            format!("`{model}` is not a valid Gemini model name"),
            "model",
        ))
    }
}

/// Google's error object: `{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct GoogleError {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

impl GoogleError {
    /// The HTTP status the error stands for (`code`), else `fallback`.
    pub(crate) fn status_or(&self, fallback: u16) -> u16 {
        self.code
            .filter(|c| (400..600).contains(c))
            .unwrap_or(fallback)
    }

    /// The OpenAI-shaped error a client sees.
    pub(crate) fn into_error_body(self, status: u16, provider: &str) -> ErrorBody {
        let message = match self.message.filter(|m| !m.is_empty()) {
            Some(m) => m,
            None => format!("provider {provider} answered HTTP {status}"),
        };
        let code = self.status.map(|s| s.to_ascii_lowercase());
        ErrorBody::new(message, ErrorBody::kind_for_status(status), code.as_deref())
            .with_provider(provider)
    }
}

/// Reads Google's error body; Vertex AI wraps it in a one-element array on streaming calls.
pub(crate) fn google_error(body: &[u8]) -> Option<GoogleError> {
    #[derive(Deserialize)]
    struct Wire {
        error: GoogleError,
    }
    // `Many` first: serde would read a one-element array as a `Wire` struct too.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Shape {
        Many(Vec<Wire>),
        One(Wire),
    }
    match serde_json::from_slice::<Shape>(body).ok()? {
        Shape::One(w) => Some(w.error),
        Shape::Many(v) => v.into_iter().next().map(|w| w.error),
    }
}

#[cfg(test)]
mod tests;

//! Cohere's v2 API: `POST /v2/chat` (plain and SSE) and `POST /v2/embed`, translated to and
//! from OpenAI's Chat Completions and Embeddings.
//!
//! Request mapping (Cohere's OpenAPI spec, cohere-ai/cohere-developer-experience
//! `cohere-openapi.yaml`): messages keep their roles (`developer` becomes `system`); user
//! content is a string or `text`/`image_url` parts (image URLs may be web URLs or data URIs,
//! so they pass through); an assistant turn with tool calls sends its text as `tool_plan`;
//! `tool` results keep `tool_call_id`. `tools` keep OpenAI's shape; `tool_choice` `none` /
//! `required` become `NONE` / `REQUIRED`, and a named function becomes `REQUIRED` with only
//! that tool offered; any `strict` tool turns on `strict_tools`. `response_format`
//! `json_object` / `json_schema` become `json_object` with an optional `json_schema`.
//! `max_tokens`/`max_completion_tokens` → `max_tokens`, `stop` → `stop_sequences`,
//! `top_p` → `p` (clamped to Cohere's 0.01–0.99), `temperature`, `seed`,
//! `frequency_penalty`, `presence_penalty` as they are. Cohere-only fields `k`,
//! `safety_mode`, `thinking` and `priority` pass through when a client sends them. `user` is
//! accepted and not sent (Cohere has no end-user field and it never changes an answer);
//! `n > 1`, `parallel_tool_calls: false`, audio and file parts, `logprobs` and every other
//! field are refused with a 400 naming them.
//!
//! Answers: text content is joined (reasoning `thinking` blocks are left out); the tool plan
//! becomes the content of a tool-calling turn; `finish_reason` COMPLETE/STOP_SEQUENCE →
//! `stop`, MAX_TOKENS/TIMEOUT → `length`, TOOL_CALL → `tool_calls`, ERROR → an error. Usage
//! counts `billed_units` (what Cohere charges), falling back to `tokens`, with
//! `cached_tokens`.
//!
//! Layout: the chat request body (`request`), whole answers (`response`), SSE streams
//! (`stream`) and embeddings both ways (`embeddings`).

mod embeddings;
mod request;
mod response;
mod stream;

use bytes::Bytes;
use serde::Deserialize;

use crate::dialect::{Call, Dialect, ProviderEndpoint, ResponseTranslator, UpstreamRequest};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::headers;
use crate::translator::{Buffered, Streamed};

use self::embeddings::{embed_body, embedding_format, EmbedAnswer};
use self::request::chat_body;
use self::response::ChatAnswer;
use self::stream::ChatStream;

pub use self::embeddings::DEFAULT_INPUT_TYPE;

const NAME: &str = "cohere";

/// The Cohere v2 dialect.
#[derive(Debug)]
pub struct Cohere;

impl Dialect for Cohere {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let (suffix, body) = match call.endpoint {
            Endpoint::ChatCompletions => ("/v2/chat", chat_body(call)?),
            Endpoint::Embeddings => ("/v2/embed", embed_body(call)?),
            other => {
                return Err(TranslateError::UnsupportedEndpoint {
                    kind: provider.kind.name(),
                    endpoint: other.label(),
                })
            }
        };
        // `https://api.cohere.com` and `https://api.cohere.com/v2` both work as base URLs.
        let base = provider
            .base_path
            .strip_suffix("/v2")
            .unwrap_or(&provider.base_path);
        Ok(UpstreamRequest {
            method: "POST",
            path: format!("{base}{suffix}"),
            headers: headers::json_api(provider, call)?,
            body: Bytes::from(body),
        })
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        let created = call.created();
        match call.endpoint {
            Endpoint::Embeddings => Buffered::boxed(EmbedAnswer {
                model: call.model.to_owned(),
                base64: embedding_format(call).unwrap_or(false),
            }),
            _ if call.stream => Streamed::boxed(ChatStream::new(
                &provider.name,
                call.model,
                created,
                call.include_usage(),
            )),
            _ => Buffered::boxed(ChatAnswer {
                provider: provider.name.clone(),
                model: call.model.to_owned(),
                created,
            }),
        }
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        error_body(status, body, &provider.name)
    }
}

/// A Cohere error body (`{"message": "...", "id"?: "..."}`) as an OpenAI error.
pub fn error_body(status: u16, body: &[u8], provider: &str) -> ErrorBody {
    #[derive(Deserialize)]
    struct Wire {
        message: String,
    }
    match serde_json::from_slice::<Wire>(body) {
        Ok(w) if !w.message.is_empty() => {
            let code = match status {
                401 | 498 => Some("invalid_api_key"),
                429 => Some("rate_limit_exceeded"),
                _ => None,
            };
            ErrorBody::new(w.message, ErrorBody::kind_for_status(status), code)
                .with_provider(provider)
        }
        _ => ErrorBody::from_provider(status, body, provider),
    }
}

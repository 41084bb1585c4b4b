//! Inbound APIs: clients that speak Anthropic's Messages API or OpenAI's Responses API,
//! served by any provider through the canonical chat format.
//!
//! Every provider dialect already turns a canonical chat request into its wire format and its
//! answer back into canonical chat output. This module is the other side, and pure like the
//! rest of the crate:
//!
//! - [`to_chat`]: an inbound request body → a canonical chat request body. Parameters with
//!   no chat equivalent are refused with a 400 whose `param` names the exact field
//!   (`messages[2].content[1].source.type`), never silently dropped; the few that only steer
//!   caching or bookkeeping are documented where they are ignored.
//! - [`InboundTranslator`]: canonical chat output (a `chat.completion` body, or a
//!   `chat.completion.chunk` stream split anywhere) → the inbound API's response, plain or
//!   streamed; chained after the provider's translator with [`Chain`].
//! - [`InboundApi::error_body`] and [`InboundTranslator::fail`]: errors in the inbound API's
//!   own shape, before and after the commit point.
//! - [`count_tokens`]: Anthropic's `count_tokens` answered by a documented estimate for
//!   targets that cannot count.
//! - [`passthrough`]: a Messages body sent to an Anthropic target untranslated, and the
//!   translator that reads usage from its answer.
//!
//! ## How the gateway uses it
//!
//! For an endpoint with [`InboundApi::for_endpoint`] = `Messages` or `Responses`:
//! 1. `let chat = to_chat(api, &body)?` — a 400 on error, rendered by `api.error_body`.
//! 2. Route and build attempts exactly as for chat completions, with
//!    `Call { endpoint: Endpoint::ChatCompletions, body: &chat, .. }` (the `model` and
//!    `stream` fields are the client's, under the same names).
//! 3. Per attempt: `Chain::new(dialect.response_translator(..), InboundTranslator::new(api,
//!    &body, stream)?)` — the chain's verdict and usage are the provider translator's.
//! 4. A failure after the commit point: `chain.outer_mut().fail(&error, &mut out)` writes the
//!    API's terminal error events instead of OpenAI's `data: {"error":…}`.
//! 5. Any error answered before the commit point: `api.error_body(status, &error)`.
//!
//! An Anthropic target may instead take the client's Messages body as is
//! ([`passthrough::request`], [`passthrough::Passthrough`]), which keeps every Anthropic
//! feature (thinking blocks, citations, server tools, exact `stop_sequence`).

mod answer;
mod chain;
mod chat_body;
pub mod count_tokens;
mod error;
pub mod messages;
pub mod passthrough;
pub mod responses;

use bytes::{BufMut, Bytes, BytesMut};

pub use chain::Chain;
pub use count_tokens::count_tokens;
pub use error::anthropic_error_type;

use crate::dialect::{Output, ResponseTranslator, Verdict};
use crate::endpoint::Endpoint;
use crate::envelope::JsonEnvelope;
use crate::error::{ErrorBody, TranslateError};
use crate::usage::Usage;

/// The API a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InboundApi {
    /// OpenAI Chat Completions: the canonical format, nothing to translate.
    Chat,
    /// Anthropic Messages (`POST /v1/messages`).
    Messages,
    /// OpenAI Responses (`POST /v1/responses`), stateless.
    Responses,
}

impl InboundApi {
    /// The API an endpoint speaks, for the endpoints served through chat; `None` for the
    /// others (embeddings, images, audio, models, and `count_tokens`, answered by
    /// [`count_tokens`] or the Anthropic passthrough).
    pub fn for_endpoint(endpoint: Endpoint) -> Option<InboundApi> {
        match endpoint {
            Endpoint::ChatCompletions => Some(InboundApi::Chat),
            Endpoint::Messages => Some(InboundApi::Messages),
            Endpoint::Responses => Some(InboundApi::Responses),
            _ => None,
        }
    }

    /// The error body a client of this API expects for `error` answered with `status`:
    /// OpenAI's shape for Chat and Responses, Anthropic's
    /// `{"type":"error","error":{"type","message"}}` for Messages (type by
    /// [`anthropic_error_type`]).
    pub fn error_body(self, status: u16, error: &ErrorBody) -> Bytes {
        match self {
            InboundApi::Chat | InboundApi::Responses => error.to_json(),
            InboundApi::Messages => error::anthropic_body(status, error),
        }
    }
}

/// An inbound request → the canonical chat request. `Chat` bodies are returned as they are.
///
/// The result keeps the client's `model`; a streamed request asks for
/// `stream_options.include_usage`, as both inbound APIs report usage at the end of a stream.
pub fn to_chat(api: InboundApi, body: &JsonEnvelope) -> Result<JsonEnvelope, TranslateError> {
    match api {
        InboundApi::Chat => Ok(body.clone()),
        InboundApi::Messages => messages::to_chat(body),
        InboundApi::Responses => responses::to_chat(body),
    }
}

/// The inner translator, with the terminal-error hook the trait does not have.
trait Failable: ResponseTranslator {
    fn fail(&mut self, error: &ErrorBody, out: &mut Output);
}

impl<R: answer::Render> Failable for answer::Whole<R> {
    /// A plain body cannot end in an error event: the gateway aborts it.
    fn fail(&mut self, _error: &ErrorBody, _out: &mut Output) {}
}

impl<S: answer::Sink> Failable for answer::Streamed<S> {
    fn fail(&mut self, error: &ErrorBody, out: &mut Output) {
        answer::Streamed::fail(self, error, out);
    }
}

/// Canonical chat output → an inbound API's response (one per attempt).
pub struct InboundTranslator {
    inner: Box<dyn Failable>,
}

impl std::fmt::Debug for InboundTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundTranslator")
            .field("content_type", &self.inner.content_type())
            .finish()
    }
}

impl InboundTranslator {
    /// The translator for `api`, given the client's original (inbound) body, which the
    /// Responses API echoes in its `response` object; `None` for `Chat`, whose output needs
    /// no translation.
    pub fn new(
        api: InboundApi,
        inbound_body: &JsonEnvelope,
        stream: bool,
    ) -> Result<Option<Self>, TranslateError> {
        let inner: Box<dyn Failable> = match (api, stream) {
            (InboundApi::Chat, _) => return Ok(None),
            (InboundApi::Messages, false) => {
                Box::new(answer::Whole::new(messages::Render::new(inbound_body)))
            }
            (InboundApi::Messages, true) => {
                Box::new(answer::Streamed::new(messages::Sink::new(inbound_body)))
            }
            (InboundApi::Responses, false) => {
                Box::new(answer::Whole::new(responses::Render::new(inbound_body)?))
            }
            (InboundApi::Responses, true) => {
                Box::new(answer::Streamed::new(responses::Sink::new(inbound_body)?))
            }
        };
        Ok(Some(Self { inner }))
    }

    /// Ends a stream with the API's terminal error events (Messages: an `error` event;
    /// Responses: `error` then `response.failed`). Does nothing for a plain body, which the
    /// gateway must abort, or for a stream already ended.
    pub fn fail(&mut self, error: &ErrorBody, out: &mut Output) {
        self.inner.fail(error, out);
    }
}

impl ResponseTranslator for InboundTranslator {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.inner.push(chunk, out)
    }
    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.inner.finish(out)
    }
    fn verdict(&self) -> Verdict {
        self.inner.verdict()
    }
    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }
    fn content_type(&self) -> &'static str {
        self.inner.content_type()
    }
    fn is_passthrough(&self) -> bool {
        false
    }
}

/// One named SSE event: `event: <name>\ndata: <json written by body>\n\n`.
pub(crate) fn sse_event(name: &str, capacity: usize, body: impl FnOnce(&mut BytesMut)) -> Bytes {
    let mut b = BytesMut::with_capacity(name.len() + capacity + 24);
    b.put_slice(b"event: ");
    b.put_slice(name.as_bytes());
    b.put_slice(b"\ndata: ");
    body(&mut b);
    b.put_slice(b"\n\n");
    b.freeze()
}

/// Appends a decimal number.
pub(crate) fn put_u64(b: &mut BytesMut, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.put_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_map_to_apis() {
        assert_eq!(
            InboundApi::for_endpoint(Endpoint::Messages),
            Some(InboundApi::Messages)
        );
        assert_eq!(
            InboundApi::for_endpoint(Endpoint::Responses),
            Some(InboundApi::Responses)
        );
        assert_eq!(
            InboundApi::for_endpoint(Endpoint::ChatCompletions),
            Some(InboundApi::Chat)
        );
        assert_eq!(
            InboundApi::for_endpoint(Endpoint::MessagesCountTokens),
            None
        );
        assert_eq!(InboundApi::for_endpoint(Endpoint::Embeddings), None);
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0u64, 7, 10, 1234567890, u64::MAX] {
            let mut b = BytesMut::new();
            put_u64(&mut b, n);
            assert_eq!(&b[..], n.to_string().as_bytes());
        }
    }

    #[test]
    fn chat_bodies_pass_unchanged_and_chat_needs_no_translator() {
        let body = JsonEnvelope::parse(Bytes::from_static(
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .unwrap();
        let out = to_chat(InboundApi::Chat, &body).unwrap();
        assert_eq!(out.raw(), body.raw());
        assert!(InboundTranslator::new(InboundApi::Chat, &body, true)
            .unwrap()
            .is_none());
    }
}

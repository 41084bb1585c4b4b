//! Canonical chat output → Anthropic Messages response and stream.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::dialect::Output;
use crate::envelope::{put_json_string, JsonEnvelope};
use crate::error::{ErrorBody, TranslateError};
use crate::inbound::answer::{self, status_for_kind, Answer, Block, ChatUsage, Finish};
use crate::inbound::error::put_anthropic_body;
use crate::inbound::{put_u64, sse_event};

/// Anthropic's `stop_reason` for a chat finish reason. Chat's `stop` covers both a natural
/// end and a stop sequence, so it is always `end_turn` (and `stop_sequence` is null); a
/// `stop` that came with tool calls (some providers say so) is `tool_use`.
fn stop_reason(a: &Answer) -> &'static str {
    match a.finish {
        Some(Finish::Length) => "max_tokens",
        Some(Finish::ToolCalls) => "tool_use",
        Some(Finish::ContentFilter) => "refusal",
        Some(Finish::Stop) | None => {
            if a.blocks.iter().any(|b| matches!(b, Block::Tool(_))) {
                "tool_use"
            } else {
                "end_turn"
            }
        }
    }
}

/// Anthropic counts cache reads apart from `input_tokens`; chat counts them inside
/// `prompt_tokens`. Cache writes are not reported by chat, so they read 0.
#[derive(Serialize)]
struct UsageOut {
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

impl From<Option<ChatUsage>> for UsageOut {
    fn from(u: Option<ChatUsage>) -> Self {
        let u = u.unwrap_or_default();
        UsageOut {
            input_tokens: u.prompt.saturating_sub(u.cached),
            output_tokens: u.completion,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: u.cached,
        }
    }
}

/// The message id: the chat id, with Anthropic's `msg_` prefix when it lacks one.
fn message_id(a: &Answer) -> Cow<'_, str> {
    match a.id.as_str() {
        "" => Cow::Borrowed("msg_switchyard"),
        id if id.starts_with("msg_") => Cow::Borrowed(id),
        id => Cow::Owned(format!("msg_{id}")),
    }
}

fn model<'a>(a: &'a Answer, requested: &'a str) -> &'a str {
    if a.model.is_empty() {
        requested
    } else {
        &a.model
    }
}

fn requested_model(inbound: &JsonEnvelope) -> String {
    inbound.get_str("model").ok().flatten().unwrap_or_default()
}

#[derive(Serialize)]
struct MessageOut<'a> {
    id: Cow<'a, str>,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<BlockOut<'a>>,
    stop_reason: &'static str,
    stop_sequence: Option<&'a str>,
    usage: UsageOut,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockOut<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a RawValue,
    },
}

/// A tool call's arguments as the `input` object: empty arguments are `{}`; arguments that
/// are not JSON cannot become an `input` and fail the translation.
fn tool_input<'a>(name: &str, arguments: &'a str) -> Result<&'a RawValue, TranslateError> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    serde_json::from_str(text).map_err(|e| {
        TranslateError::BadResponse(format!(
            "the provider called tool `{name}` with arguments that are not JSON: {e}"
        ))
    })
}

/// Renders a complete answer as a Messages `message`.
#[derive(Debug, Default)]
pub struct Render {
    model: String,
}

impl Render {
    /// A renderer for the client's request.
    pub fn new(inbound: &JsonEnvelope) -> Self {
        Self {
            model: requested_model(inbound),
        }
    }
}

impl answer::Render for Render {
    fn render(&self, a: &Answer) -> Result<Bytes, TranslateError> {
        let mut content = Vec::with_capacity(a.blocks.len());
        for b in &a.blocks {
            content.push(match b {
                // Anthropic has no refusal block: a refusal is text, with stop reason
                // `refusal` when the provider said it filtered the answer.
                Block::Text(t) | Block::Refusal(t) => BlockOut::Text { text: t },
                Block::Tool(t) => BlockOut::ToolUse {
                    id: &t.id,
                    name: &t.name,
                    input: tool_input(&t.name, &t.arguments)?,
                },
            });
        }
        let m = MessageOut {
            id: message_id(a),
            kind: "message",
            role: "assistant",
            model: model(a, &self.model),
            content,
            stop_reason: stop_reason(a),
            stop_sequence: None,
            usage: a.usage.into(),
        };
        serde_json::to_vec(&m)
            .map(Bytes::from)
            .map_err(|e| TranslateError::BadResponse(e.to_string()))
    }
}

/// Writes the Messages event stream:
///
/// | chat | Messages |
/// |---|---|
/// | first chunk | `message_start` (usage 0: chat reports it at the end), `ping` |
/// | first text (or refusal) delta after another block | `content_block_stop` of that block, `content_block_start` `text` |
/// | text delta | `content_block_delta` `text_delta` |
/// | tool call start | `content_block_stop`, `content_block_start` `tool_use` (`input: {}`) |
/// | tool arguments | `content_block_delta` `input_json_delta` |
/// | `finish_reason`, usage chunk, `[DONE]` | `content_block_stop`, `message_delta` (stop reason, full usage), `message_stop` |
/// | error event | `error` |
///
/// Content block `index` n is the answer's n-th block. Arguments for a call whose block was
/// already closed (a provider interleaving parallel calls) are still sent at that call's
/// index, which the SDKs accumulate by index.
#[derive(Debug, Default)]
pub struct Sink {
    model: String,
    open: Option<usize>,
}

impl Sink {
    /// A stream writer for the client's request.
    pub fn new(inbound: &JsonEnvelope) -> Self {
        Self {
            model: requested_model(inbound),
            open: None,
        }
    }

    fn close(&mut self, out: &mut Output) {
        if let Some(k) = self.open.take() {
            out.push(sse_event("content_block_stop", 48, |b| {
                b.put_slice(b"{\"type\":\"content_block_stop\",\"index\":");
                put_u64(b, k as u64);
                b.put_u8(b'}');
            }));
        }
    }
}

impl answer::Sink for Sink {
    fn start(&mut self, a: &Answer, out: &mut Output) {
        let id = message_id(a);
        let model = model(a, &self.model);
        out.push(sse_event("message_start", id.len() + model.len() + 200, |b| {
            b.put_slice(b"{\"type\":\"message_start\",\"message\":{\"id\":");
            put_json_string(b, &id);
            b.put_slice(b",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
            put_json_string(b, model);
            b.put_slice(b",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,\"output_tokens\":0}}}");
        }));
        out.push(Bytes::from_static(
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n",
        ));
    }

    fn open(&mut self, a: &Answer, k: usize, out: &mut Output) {
        self.close(out);
        self.open = Some(k);
        let Some(block) = a.blocks.get(k) else {
            return;
        };
        out.push(sse_event("content_block_start", 96, |b| {
            b.put_slice(b"{\"type\":\"content_block_start\",\"index\":");
            put_u64(b, k as u64);
            match block {
                Block::Text(_) | Block::Refusal(_) => {
                    b.put_slice(b",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
                }
                Block::Tool(t) => {
                    b.put_slice(b",\"content_block\":{\"type\":\"tool_use\",\"id\":");
                    put_json_string(b, &t.id);
                    b.put_slice(b",\"name\":");
                    put_json_string(b, &t.name);
                    b.put_slice(b",\"input\":{}}}");
                }
            }
        }));
    }

    fn delta(&mut self, a: &Answer, k: usize, fragment: &str, out: &mut Output) {
        let tool = matches!(a.blocks.get(k), Some(Block::Tool(_)));
        out.push(sse_event("content_block_delta", fragment.len() + 96, |b| {
            b.put_slice(b"{\"type\":\"content_block_delta\",\"index\":");
            put_u64(b, k as u64);
            if tool {
                b.put_slice(b",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":");
            } else {
                b.put_slice(b",\"delta\":{\"type\":\"text_delta\",\"text\":");
            }
            put_json_string(b, fragment);
            b.put_slice(b"}}");
        }));
    }

    fn end(&mut self, a: &Answer, out: &mut Output) {
        self.close(out);
        let usage = UsageOut::from(a.usage);
        out.push(sse_event("message_delta", 200, |b| {
            b.put_slice(b"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"");
            b.put_slice(stop_reason(a).as_bytes());
            b.put_slice(b"\",\"stop_sequence\":null},\"usage\":");
            if let Ok(json) = serde_json::to_vec(&usage) {
                b.put_slice(&json);
            }
            b.put_u8(b'}');
        }));
        out.push(Bytes::from_static(
            b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        ));
    }

    fn error(&mut self, _a: &Answer, error: &ErrorBody, out: &mut Output) {
        out.push(error_event(error));
    }
}

/// Anthropic's stream `error` event for an error seen after the stream began.
pub fn error_event(error: &ErrorBody) -> Bytes {
    let status = status_for_kind(&error.kind);
    let mut b = BytesMut::with_capacity(error.message.len() + 96);
    b.put_slice(b"event: error\ndata: ");
    put_anthropic_body(&mut b, status, error);
    b.put_slice(b"\n\n");
    b.freeze()
}

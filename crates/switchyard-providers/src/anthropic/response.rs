//! Anthropic answers → OpenAI chat completions.
//!
//! A non-streamed `message` is read whole (it is one JSON object) and rewritten. A stream is
//! translated event by event as it arrives:
//!
//! | Anthropic event | OpenAI chunk |
//! |---|---|
//! | `message_start` | first chunk (role, empty content); id, model and input usage kept |
//! | `content_block_start` `text` / `tool_use` | — / tool call `index` n with id and name |
//! | `content_block_delta` `text_delta` / `input_json_delta` | `content` / that call's `arguments` |
//! | `content_block_delta` `thinking_delta`, `signature_delta`, others | dropped (Chat Completions has no field for them) |
//! | `content_block_stop` of a call that got no arguments | `arguments: "{}"` |
//! | `message_delta` | stop reason and cumulative usage kept |
//! | `message_stop` | finish chunk, usage chunk when asked, `[DONE]` |
//! | `ping`, unknown types | nothing |
//! | `error` | the attempt fails if it is the first event, else an error event and no `[DONE]` |
//!
//! Tool calls are numbered 0, 1, … in the order their blocks start, whatever Anthropic's
//! block index (text blocks take indexes too).

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::error::{wire_error, WireError};
use crate::canonical::{
    AssistantMessage, ChatCompletion, Choice, ChunkWriter, FinishReason, FunctionCall, ToolCall,
    UsageOut,
};
use crate::dialect::{Call, Output, ProviderEndpoint};
use crate::error::TranslateError;
use crate::sse::SseFramer;
use crate::translator::{Progress, StreamAnswer, Whole, WholeAnswer};
use crate::usage::Usage;

/// Anthropic's `usage` object; in a stream, later counts are cumulative and replace earlier
/// ones field by field.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    fn merge(&mut self, newer: WireUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// OpenAI's accounting: every prompt token, cached or not, counts as a prompt token.
    fn canonical(self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let prompt =
            self.input_tokens.unwrap_or(0) + read + self.cache_creation_input_tokens.unwrap_or(0);
        let completion = self.output_tokens.unwrap_or(0);
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            cached_tokens: read,
        }
    }
}

fn finish_reason(stop: Option<&str>) -> FinishReason {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("refusal") => FinishReason::ContentFilter,
        // end_turn, stop_sequence, pause_turn, and anything newer.
        _ => FinishReason::Stop,
    }
}

fn bad(e: impl std::fmt::Display) -> TranslateError {
    TranslateError::BadResponse(format!("anthropic: {e}"))
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server-tool and newer blocks: Chat Completions has nowhere to put them.
    #[serde(other)]
    Other,
}

/// A non-streamed Anthropic `message`, translated once whole.
#[derive(Debug)]
pub struct MessageAnswer {
    provider: String,
    model: String,
    created: u64,
}

impl MessageAnswer {
    /// The answer to one attempt.
    pub fn new(provider: &ProviderEndpoint, call: &Call<'_>) -> Self {
        Self {
            provider: provider.name.clone(),
            model: call.model.to_owned(),
            created: call.created(),
        }
    }

    fn completion(&self, m: WireMessage) -> Result<(Bytes, Usage), TranslateError> {
        let mut text = String::new();
        let mut tool_calls = Vec::new();
        for block in m.content {
            match block {
                WireBlock::Text { text: t } => text.push_str(&t),
                WireBlock::ToolUse { id, name, input } => {
                    let arguments = if input.is_null() {
                        "{}".to_owned()
                    } else {
                        serde_json::to_string(&input).map_err(bad)?
                    };
                    tool_calls.push(ToolCall {
                        id,
                        kind: "function".into(),
                        function: FunctionCall { name, arguments },
                    });
                }
                WireBlock::Other => {}
            }
        }
        let usage = m.usage.canonical();
        let completion = ChatCompletion {
            id: m.id,
            object: "chat.completion",
            created: self.created,
            model: if m.model.is_empty() {
                self.model.clone()
            } else {
                m.model
            },
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant",
                    content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
                    tool_calls,
                    refusal: None,
                },
                finish_reason: finish_reason(m.stop_reason.as_deref()),
                logprobs: None,
            }],
            usage: Some(UsageOut::from(usage)),
        };
        Ok((completion.to_bytes(), usage))
    }
}

impl WholeAnswer for MessageAnswer {
    const WHAT: &'static str = "anthropic: response";

    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let m: WireMessage = serde_json::from_slice(body).map_err(bad)?;
        if m.kind == "error" {
            let e = m.error.unwrap_or(WireError {
                kind: String::new(),
                message: String::new(),
            });
            let (status, error) = wire_error(None, e, &self.provider);
            return Ok(Whole::failed(status, error));
        }
        // Documented examples omit `type`; the API always sends `message`.
        if !m.kind.is_empty() && m.kind != "message" {
            return Err(bad(format!("expected a message, got type `{}`", m.kind)));
        }
        let (body, usage) = self.completion(m)?;
        Ok(Whole::healthy(body, Some(usage)))
    }
}

/// One stream event. Parsed in two steps (the `type` and raw members, then only the members
/// that type uses) rather than as a serde internally tagged enum, which would buffer every
/// event into an intermediate tree: this is the per-token hot path.
enum Event<'a> {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: WireBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta<'a>,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Ping,
    Error {
        error: WireError,
    },
    /// Anthropic may add event types; they are skipped.
    Unknown,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    index: Option<&'a RawValue>,
    #[serde(default, borrow)]
    delta: Option<&'a RawValue>,
    #[serde(default, borrow)]
    content_block: Option<&'a RawValue>,
    #[serde(default, borrow)]
    message: Option<&'a RawValue>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// A member an event of its type must have.
fn member<'a, T: Deserialize<'a>>(
    raw: Option<&'a RawValue>,
    name: &str,
) -> Result<T, TranslateError> {
    let raw = raw.ok_or_else(|| bad(format!("stream event without `{name}`")))?;
    serde_json::from_str(raw.get()).map_err(bad)
}

impl<'a> Event<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, TranslateError> {
        let raw: RawEvent<'a> = serde_json::from_slice(data).map_err(bad)?;
        Ok(match &*raw.kind {
            "content_block_delta" => Event::ContentBlockDelta {
                index: member(raw.index, "index")?,
                delta: member::<RawDelta<'a>>(raw.delta, "delta")?.into(),
            },
            "message_start" => Event::MessageStart {
                message: member(raw.message, "message")?,
            },
            "content_block_start" => Event::ContentBlockStart {
                index: member(raw.index, "index")?,
                content_block: member(raw.content_block, "content_block")?,
            },
            "content_block_stop" => Event::ContentBlockStop {
                index: member(raw.index, "index")?,
            },
            "message_delta" => Event::MessageDelta {
                delta: member(raw.delta, "delta")?,
                usage: raw.usage.map(|u| member(Some(u), "usage")).transpose()?,
            },
            "message_stop" => Event::MessageStop,
            "ping" => Event::Ping,
            "error" => Event::Error {
                error: member(raw.error, "error")?,
            },
            _ => Event::Unknown,
        })
    }
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

enum Delta<'a> {
    Text(Cow<'a, str>),
    InputJson(Cow<'a, str>),
    /// Thinking, signatures, citations and newer deltas.
    Other,
}

#[derive(Deserialize)]
struct RawDelta<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
}

impl<'a> From<RawDelta<'a>> for Delta<'a> {
    fn from(d: RawDelta<'a>) -> Self {
        match (&*d.kind, d.text, d.partial_json) {
            ("text_delta", Some(t), _) => Delta::Text(t),
            ("input_json_delta", _, Some(p)) => Delta::InputJson(p),
            _ => Delta::Other,
        }
    }
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    #[serde(default)]
    stop_reason: Option<String>,
}

/// What an Anthropic content block turned into.
#[derive(Clone, Copy, Debug)]
enum Block {
    Text,
    Tool { index: u32, has_args: bool },
    Ignored,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Done,
    Errored,
}

/// Translates an Anthropic SSE stream into OpenAI chunks, event by event.
#[derive(Debug)]
pub struct StreamTranslator {
    provider: String,
    framer: SseFramer,
    writer: ChunkWriter,
    progress: Progress,
    state: State,
    /// Anthropic block index → what it became. Blocks are few; a Vec beats a map.
    blocks: Vec<(u32, Block)>,
    next_tool: u32,
    /// Usage as Anthropic counts it, merged event by event; `progress` holds it in OpenAI's
    /// terms.
    usage: Option<WireUsage>,
    stop: Option<String>,
}

impl StreamTranslator {
    /// A translator for one attempt.
    pub fn new(provider: &ProviderEndpoint, call: &Call<'_>) -> Self {
        Self {
            provider: provider.name.clone(),
            framer: SseFramer::new(),
            writer: ChunkWriter::new("", call.model, call.created(), call.include_usage()),
            progress: Progress::default(),
            state: State::Open,
            blocks: Vec::new(),
            next_tool: 0,
            usage: None,
            stop: None,
        }
    }

    fn merge_usage(&mut self, newer: WireUsage) {
        let merged = self.usage.get_or_insert_with(WireUsage::default);
        merged.merge(newer);
        self.progress.usage = Some(merged.canonical());
    }

    fn block(&mut self, index: u32) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn on_event(&mut self, data: &[u8], out: &mut Output) -> Result<(), TranslateError> {
        if self.state != State::Open {
            return Ok(());
        }
        let event = Event::parse(data)?;
        match event {
            Event::Ping | Event::Unknown => return Ok(()),
            Event::Error { error } => {
                let (status, error) = wire_error(None, error, &self.provider);
                self.state = State::Errored;
                self.progress.fail(status, error, out);
                return Ok(());
            }
            _ => {}
        }
        self.progress.healthy();
        match event {
            Event::MessageStart { message } => {
                if !message.id.is_empty() {
                    self.writer.set_id(message.id);
                }
                if !message.model.is_empty() {
                    self.writer.set_model(message.model);
                }
                if let Some(u) = message.usage {
                    self.merge_usage(u);
                }
                self.writer.start(out);
            }
            Event::ContentBlockStart {
                index,
                content_block,
            } => {
                let block = match content_block {
                    WireBlock::Text { text } => {
                        self.writer.content(&text, out);
                        Block::Text
                    }
                    WireBlock::ToolUse { id, name, input } => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        self.writer.tool_call_start(tool, &id, &name, out);
                        let has_args = input.as_object().is_some_and(|o| !o.is_empty());
                        if has_args {
                            let args = serde_json::to_string(&input).map_err(bad)?;
                            self.writer.tool_call_arguments(tool, &args, out);
                        }
                        Block::Tool {
                            index: tool,
                            has_args,
                        }
                    }
                    WireBlock::Other => Block::Ignored,
                };
                self.blocks.push((index, block));
            }
            Event::ContentBlockDelta { index, delta } => {
                match (self.block(index).copied(), delta) {
                    (Some(Block::Text), Delta::Text(text)) => self.writer.content(&text, out),
                    (Some(Block::Tool { index: tool, .. }), Delta::InputJson(partial_json))
                        if !partial_json.is_empty() =>
                    {
                        if let Some(Block::Tool { has_args, .. }) = self.block(index) {
                            *has_args = true;
                        }
                        self.writer.tool_call_arguments(tool, &partial_json, out);
                    }
                    _ => {}
                }
            }
            Event::ContentBlockStop { index } => {
                if let Some(Block::Tool {
                    index: tool,
                    has_args: false,
                }) = self.block(index).copied()
                {
                    // A call without parameters: clients parse arguments as JSON.
                    self.writer.tool_call_arguments(tool, "{}", out);
                    if let Some(Block::Tool { has_args, .. }) = self.block(index) {
                        *has_args = true;
                    }
                }
            }
            Event::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop = delta.stop_reason;
                }
                if let Some(u) = usage {
                    self.merge_usage(u);
                }
            }
            Event::MessageStop => {
                self.writer.finish(finish_reason(self.stop.as_deref()), out);
                self.writer.done(self.progress.usage, out);
                self.state = State::Done;
            }
            Event::Ping | Event::Unknown | Event::Error { .. } => {}
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(event) = self.framer.next_event().map_err(bad)? {
            self.on_event(&event.data, out)?;
        }
        Ok(())
    }
}

impl StreamAnswer for StreamTranslator {
    fn buffered(&self) -> usize {
        self.framer.pending_bytes()
    }

    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        if self.state != State::Open {
            return Ok(());
        }
        self.framer.push(&chunk).map_err(bad)?;
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        if self.state == State::Open {
            self.drain(out)?;
            if let Some(event) = self.framer.finish().map_err(bad)? {
                self.on_event(&event.data, out)?;
            }
        }
        match self.state {
            State::Open if self.progress.is_pending() => {
                Err(bad("the stream ended before any event"))
            }
            State::Open => Err(bad("the stream ended before `message_stop`")),
            State::Done | State::Errored => Ok(()),
        }
    }

    fn progress(&self) -> &Progress {
        &self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::dialect::{ResponseTranslator, Verdict};
    use crate::error::TranslateError;
    use crate::translator::{Buffered, Streamed};
    use serde_json::json;

    fn run(
        t: &mut dyn ResponseTranslator,
        pieces: &[&[u8]],
    ) -> (String, Result<(), TranslateError>) {
        let mut out = Vec::new();
        for p in pieces {
            if let Err(e) = t.push(Bytes::copy_from_slice(p), &mut out) {
                return (String::from_utf8(out.concat()).unwrap(), Err(e));
            }
        }
        let r = t.finish(&mut out);
        (String::from_utf8(out.concat()).unwrap(), r)
    }

    fn chunks(sse: &str) -> Vec<Value> {
        sse.split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .filter(|d| *d != "[DONE]")
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }

    #[test]
    fn a_message_becomes_a_chat_completion() {
        let body = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Buffered::new(MessageAnswer::new(&provider(), &call(&body, false)));
        let (out, r) = run(
            &mut t,
            &[br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Hi"},{"type":"text","text":"!"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":3,"cache_read_input_tokens":5,"output_tokens":7}}"#],
        );
        r.unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], "msg_1");
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["created"], 1_700_000_000);
        assert_eq!(v["model"], "claude-sonnet-4-5-20250929");
        assert_eq!(v["choices"][0]["message"]["content"], "Hi!");
        assert_eq!(v["choices"][0]["finish_reason"], "length");
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens":18,"completion_tokens":7,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":5}})
        );
        assert_eq!(t.verdict(), Verdict::Healthy);
        assert_eq!(t.usage().unwrap().cached_tokens, 5);
    }

    #[test]
    fn an_error_in_a_200_body_fails_the_attempt_and_garbage_is_an_error() {
        let body = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Buffered::new(MessageAnswer::new(&provider(), &call(&body, false)));
        let (_, r) = run(
            &mut t,
            &[br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#],
        );
        r.unwrap();
        assert!(matches!(t.verdict(), Verdict::Failed { status: 529, .. }));
        let mut t = Buffered::new(MessageAnswer::new(&provider(), &call(&body, false)));
        assert!(run(&mut t, &[b"{\"id\":"]).1.is_err());
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        for (stop, finish) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("pause_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
        ] {
            let f = serde_json::to_value(finish_reason(Some(stop))).unwrap();
            assert_eq!(f, finish, "{stop}");
        }
    }

    #[test]
    fn a_stream_error_after_content_ends_with_an_error_event_and_no_done() {
        let body = env(r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        let (out, r) = run(
            &mut t,
            &[
                b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
                b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
                b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
                b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n",
            ],
        );
        r.unwrap();
        assert_eq!(t.verdict(), Verdict::Healthy);
        assert!(!out.contains("[DONE]"));
        assert!(!out.contains("lo\""));
        let c = chunks(&out);
        let last = c.last().unwrap();
        assert_eq!(last["error"]["message"], "Overloaded");
        assert_eq!(last["error"]["code"], "overloaded_error");
        assert_eq!(last["provider"], "claude");
    }

    #[test]
    fn an_error_as_the_first_event_fails_the_attempt() {
        let body = env(r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        let (out, r) = run(
            &mut t,
            &[b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}\n\n"],
        );
        r.unwrap();
        assert!(out.is_empty());
        match t.verdict() {
            Verdict::Failed { status, error } => {
                assert_eq!(status, 429);
                assert_eq!(error.kind, "rate_limit_error");
                assert_eq!(error.message, "slow down");
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn a_stream_cut_before_message_stop_is_an_error() {
        let body = env(r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        let (_, r) = run(
            &mut t,
            &[b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n"],
        );
        assert!(r.unwrap_err().to_string().contains("message_stop"));
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        assert!(run(&mut t, &[]).1.is_err());
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        assert!(run(&mut t, &[b"data: {not json\n\n"]).1.is_err());
    }

    #[test]
    fn a_tool_without_parameters_gets_empty_object_arguments() {
        let body = env(r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#);
        let mut t = Streamed(StreamTranslator::new(&provider(), &call(&body, true)));
        let (out, r) = run(
            &mut t,
            &[
                b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\n",
                b"data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"now\",\"input\":{}}}\n\n",
                b"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
                b"data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
                b"data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n",
                b"data: {\"type\":\"message_stop\"}\n\n",
            ],
        );
        r.unwrap();
        let c = chunks(&out);
        let args: String = c
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(args, "{}");
        assert_eq!(
            c.last().unwrap()["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert!(out.ends_with("data: [DONE]\n\n"));
        assert_eq!(t.usage().unwrap().completion_tokens, 9);
    }
}

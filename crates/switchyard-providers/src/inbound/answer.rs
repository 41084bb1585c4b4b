//! Reading canonical chat output — a `chat.completion` body, or a stream of
//! `chat.completion.chunk` events ending in `data: [DONE]` — into one [`Answer`], and the two
//! drivers that feed an inbound API's writer from it.
//!
//! Both inbound APIs need the same facts out of the chat output: the answer's id, model and
//! time, its content as ordered blocks (text, refusal, tool call), why it stopped and the
//! usage. [`Whole`] reads a complete body and hands the [`Answer`] to a [`Render`];
//! [`Streamed`] reads events as they arrive, keeps the [`Answer`] up to date and tells a
//! [`Sink`] what changed, so each API only writes its own format.
//!
//! Only choice 0 is read: translated requests never ask for `n` > 1. Reasoning deltas
//! (`reasoning_content`, `reasoning`) that some providers add are not read: neither inbound
//! API can carry them without a provider signature (Messages) or a reasoning item id the
//! gateway could honour later (Responses).

use std::borrow::Cow;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dialect::{Output, ResponseTranslator, Verdict};
use crate::error::{ErrorBody, TranslateError};
use crate::sse::SseFramer;
use crate::usage::Usage;

/// The largest non-streamed body held for translation.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Why generation stopped, as the chat output said it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    /// `stop` (a natural end or a stop sequence: chat does not say which).
    Stop,
    /// `length`.
    Length,
    /// `tool_calls` (or the legacy `function_call`).
    ToolCalls,
    /// `content_filter`.
    ContentFilter,
}

impl Finish {
    fn parse(s: &str) -> Self {
        match s {
            "length" => Finish::Length,
            "tool_calls" | "function_call" => Finish::ToolCalls,
            "content_filter" => Finish::ContentFilter,
            _ => Finish::Stop,
        }
    }
}

/// Token counts as chat reports them, with the details both inbound APIs carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChatUsage {
    /// Every prompt token, cached or not.
    pub prompt: u64,
    /// Generated tokens, reasoning included.
    pub completion: u64,
    /// Their sum.
    pub total: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached: u64,
    /// Generated tokens spent reasoning.
    pub reasoning: u64,
}

impl ChatUsage {
    /// The gateway's accounting type.
    pub fn canonical(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total,
            cached_tokens: self.cached,
        }
    }
}

/// One piece of the answer's content, in the order it was produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// Text.
    Text(String),
    /// A refusal's text.
    Refusal(String),
    /// A tool call.
    Tool(ToolUse),
}

/// A tool call: id, function name and the JSON arguments as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ToolUse {
    /// The call id (`call_…`).
    pub id: String,
    /// The function name.
    pub name: String,
    /// The JSON-encoded arguments, as far as they have arrived.
    pub arguments: String,
}

/// Everything read from the chat output so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Answer {
    /// The chat id.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    /// The content, in order.
    pub blocks: Vec<Block>,
    /// Why it stopped, once known.
    pub finish: Option<Finish>,
    /// Usage, once reported.
    pub usage: Option<ChatUsage>,
}

// ---- wire types: borrowed, unknown members ignored ----

#[derive(Deserialize)]
struct WireCompletion<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    created: Option<f64>,
    #[serde(default, borrow)]
    choices: Vec<WireChoice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireChoice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(default, borrow)]
    message: Option<WireMessage<'a>>,
    #[serde(default, borrow)]
    delta: Option<WireMessage<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

/// A complete message or a delta: the same members.
#[derive(Deserialize)]
struct WireMessage<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<WireToolCall<'a>>>,
}

#[derive(Deserialize)]
struct WireToolCall<'a> {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<WireFunction<'a>>,
}

#[derive(Deserialize)]
struct WireFunction<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    total_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<Details>,
    #[serde(default)]
    completion_tokens_details: Option<Details>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    cached_tokens: Option<u64>,
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl From<WireUsage> for ChatUsage {
    fn from(w: WireUsage) -> Self {
        ChatUsage {
            prompt: w.prompt_tokens,
            completion: w.completion_tokens,
            total: if w.total_tokens > 0 {
                w.total_tokens
            } else {
                w.prompt_tokens + w.completion_tokens
            },
            cached: w
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            reasoning: w
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

fn bad(e: impl std::fmt::Display) -> TranslateError {
    TranslateError::BadResponse(format!("chat output: {e}"))
}

/// The error an `{"error":{…}}` member carries, if it is one.
fn error_member(data: &[u8], raw: Option<&RawValue>) -> Option<ErrorBody> {
    let raw = raw?;
    if raw.get() == "null" {
        return None;
    }
    Some(ErrorBody::from_openai_json(data).unwrap_or_else(|| {
        ErrorBody::new(
            format!("the provider's stream carried an error: {}", raw.get()),
            "api_error",
            None,
        )
    }))
}

/// The HTTP status that an error read from a 2xx body stands for.
pub(crate) fn status_for_kind(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        _ => 502,
    }
}

impl Answer {
    /// Reads a complete `chat.completion` body; `Err(Ok(error))` when the body is an error.
    pub fn from_completion(body: &[u8]) -> Result<Result<Answer, ErrorBody>, TranslateError> {
        let c: WireCompletion<'_> = serde_json::from_slice(body).map_err(bad)?;
        if let Some(e) = error_member(body, c.error) {
            return Ok(Err(e));
        }
        let mut a = Answer::default();
        a.set_head(&c);
        a.usage = c.usage.map(ChatUsage::from);
        let Some(choice) = c.choices.into_iter().find(|c| c.index == 0) else {
            return Err(bad("no choice in the completion"));
        };
        a.finish = Some(Finish::parse(
            choice.finish_reason.as_deref().unwrap_or("stop"),
        ));
        if let Some(m) = choice.message.or(choice.delta) {
            if let Some(t) = m.content.filter(|t| !t.is_empty()) {
                a.blocks.push(Block::Text(t.into_owned()));
            }
            if let Some(r) = m.refusal.filter(|r| !r.is_empty()) {
                a.blocks.push(Block::Refusal(r.into_owned()));
            }
            for (i, tc) in m.tool_calls.unwrap_or_default().into_iter().enumerate() {
                let f = tc.function;
                a.blocks.push(Block::Tool(ToolUse {
                    id: tc
                        .id
                        .map(Cow::into_owned)
                        .unwrap_or_else(|| format!("call_{i}")),
                    name: f
                        .as_ref()
                        .and_then(|f| f.name.as_deref())
                        .unwrap_or_default()
                        .to_owned(),
                    arguments: f
                        .and_then(|f| f.arguments)
                        .map(Cow::into_owned)
                        .unwrap_or_default(),
                }));
            }
        }
        Ok(Ok(a))
    }

    fn set_head(&mut self, c: &WireCompletion<'_>) {
        if let Some(id) = c.id.as_deref().filter(|s| !s.is_empty()) {
            id.clone_into(&mut self.id);
        }
        if let Some(m) = c.model.as_deref().filter(|s| !s.is_empty()) {
            m.clone_into(&mut self.model);
        }
        if let Some(t) = c.created.filter(|t| t.is_finite() && *t >= 0.0) {
            self.created = t as u64;
        }
    }

    /// The text of a text or refusal block.
    pub fn text_of(&self, block: usize) -> &str {
        match self.blocks.get(block) {
            Some(Block::Text(t) | Block::Refusal(t)) => t,
            Some(Block::Tool(t)) => &t.arguments,
            None => "",
        }
    }
}

/// Writes a complete answer in an inbound API's format.
pub(crate) trait Render: Send {
    /// The body for the answer.
    fn render(&self, answer: &Answer) -> Result<Bytes, TranslateError>;
}

/// Writes a stream in an inbound API's format as the answer grows.
pub(crate) trait Sink: Send {
    /// The first chunk arrived: id, model and time are known.
    fn start(&mut self, a: &Answer, out: &mut Output);
    /// Block `block` was just added (empty).
    fn open(&mut self, a: &Answer, block: usize, out: &mut Output);
    /// `fragment` was appended to block `block` (text, refusal or tool arguments).
    fn delta(&mut self, a: &Answer, block: usize, fragment: &str, out: &mut Output);
    /// The answer is complete: finish reason and usage are as final as they get.
    fn end(&mut self, a: &Answer, out: &mut Output);
    /// The stream failed after [`Sink::start`]; the terminal error events.
    fn error(&mut self, a: &Answer, error: &ErrorBody, out: &mut Output);
}

/// A complete chat body in, a complete inbound body out.
pub(crate) struct Whole<R> {
    render: R,
    buf: Vec<u8>,
    verdict: Verdict,
    usage: Option<Usage>,
}

impl<R: Render> Whole<R> {
    pub fn new(render: R) -> Self {
        Self {
            render,
            buf: Vec::new(),
            verdict: Verdict::Pending,
            usage: None,
        }
    }
}

impl<R: Render> ResponseTranslator for Whole<R> {
    fn push(&mut self, chunk: Bytes, _out: &mut Output) -> Result<(), TranslateError> {
        if self.buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(bad(format!("response larger than {MAX_BODY_BYTES} bytes")));
        }
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        let body = std::mem::take(&mut self.buf);
        match Answer::from_completion(&body)? {
            Err(error) => {
                self.verdict = Verdict::Failed {
                    status: status_for_kind(&error.kind),
                    error,
                };
            }
            Ok(answer) => {
                self.usage = answer.usage.map(ChatUsage::canonical);
                out.push(self.render.render(&answer)?);
                self.verdict = Verdict::Healthy;
            }
        }
        Ok(())
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn content_type(&self) -> &'static str {
        "application/json"
    }

    fn is_passthrough(&self) -> bool {
        false
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Done,
    Errored,
}

/// A chat stream in, an inbound API's stream out.
pub(crate) struct Streamed<S> {
    sink: S,
    framer: SseFramer,
    answer: Answer,
    started: bool,
    state: State,
    verdict: Verdict,
    /// Chat tool-call index → block position, newest last.
    tools: Vec<(u32, usize)>,
}

impl<S: Sink> Streamed<S> {
    pub fn new(sink: S) -> Self {
        Self {
            sink,
            framer: SseFramer::new(),
            answer: Answer::default(),
            started: false,
            state: State::Open,
            verdict: Verdict::Pending,
            tools: Vec::new(),
        }
    }

    /// Ends the stream with the API's terminal error events (used for errors the gateway
    /// itself sees after the commit point, e.g. the provider's connection breaking).
    pub fn fail(&mut self, error: &ErrorBody, out: &mut Output) {
        if self.state != State::Open {
            return;
        }
        self.state = State::Errored;
        if !self.started {
            self.started = true;
            self.sink.start(&self.answer, out);
        }
        self.sink.error(&self.answer, error, out);
    }

    fn on_event(&mut self, data: &[u8], out: &mut Output) -> Result<(), TranslateError> {
        if self.state != State::Open {
            return Ok(());
        }
        if data == b"[DONE]" {
            self.start_once(out);
            self.end(out);
            return Ok(());
        }
        let c: WireCompletion<'_> = serde_json::from_slice(data).map_err(bad)?;
        if let Some(e) = error_member(data, c.error) {
            if self.verdict == Verdict::Pending {
                self.verdict = Verdict::Failed {
                    status: status_for_kind(&e.kind),
                    error: e,
                };
                self.state = State::Errored;
            } else {
                self.fail(&e, out);
            }
            return Ok(());
        }
        if !self.started {
            self.answer.set_head(&c);
        }
        self.start_once(out);
        if let Some(u) = c.usage {
            self.answer.usage = Some(u.into());
        }
        for choice in c.choices {
            if choice.index != 0 {
                continue;
            }
            if let Some(d) = choice.delta.or(choice.message) {
                if let Some(t) = d.content.as_deref().filter(|t| !t.is_empty()) {
                    self.text(false, t, out);
                }
                if let Some(r) = d.refusal.as_deref().filter(|r| !r.is_empty()) {
                    self.text(true, r, out);
                }
                for tc in d.tool_calls.unwrap_or_default() {
                    self.tool(tc, out);
                }
            }
            if let Some(f) = choice.finish_reason {
                self.answer.finish = Some(Finish::parse(&f));
            }
        }
        Ok(())
    }

    fn start_once(&mut self, out: &mut Output) {
        if !self.started {
            self.started = true;
            self.verdict = Verdict::Healthy;
            self.sink.start(&self.answer, out);
        }
    }

    fn end(&mut self, out: &mut Output) {
        self.answer.finish.get_or_insert(Finish::Stop);
        self.state = State::Done;
        self.sink.end(&self.answer, out);
    }

    fn text(&mut self, refusal: bool, t: &str, out: &mut Output) {
        let same = matches!(
            (self.answer.blocks.last(), refusal),
            (Some(Block::Text(_)), false) | (Some(Block::Refusal(_)), true)
        );
        if !same {
            self.answer.blocks.push(if refusal {
                Block::Refusal(String::new())
            } else {
                Block::Text(String::new())
            });
            self.sink
                .open(&self.answer, self.answer.blocks.len() - 1, out);
        }
        let k = self.answer.blocks.len() - 1;
        if let Some(Block::Text(s) | Block::Refusal(s)) = self.answer.blocks.last_mut() {
            s.push_str(t);
        }
        self.sink.delta(&self.answer, k, t, out);
    }

    fn tool(&mut self, tc: WireToolCall<'_>, out: &mut Output) {
        let index = tc.index.unwrap_or(0);
        let known = self
            .tools
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, k)| *k);
        let new_id = tc.id.as_deref().filter(|s| !s.is_empty());
        // A call is new when its index is new, or when the provider reuses an index for a
        // call with another id (some compatible providers number every call 0).
        let is_new = match (known, new_id) {
            (None, _) => true,
            (Some(k), Some(id)) => {
                matches!(&self.answer.blocks[k], Block::Tool(t) if !t.id.is_empty() && t.id != id)
            }
            (Some(_), None) => false,
        };
        let (name, arguments) = match tc.function {
            Some(f) => (f.name, f.arguments),
            None => (None, None),
        };
        let k = if is_new {
            let id = new_id.map_or_else(|| format!("call_{index}"), str::to_owned);
            self.answer.blocks.push(Block::Tool(ToolUse {
                id,
                name: name.as_deref().unwrap_or_default().to_owned(),
                arguments: String::new(),
            }));
            let k = self.answer.blocks.len() - 1;
            self.tools.push((index, k));
            self.sink.open(&self.answer, k, out);
            k
        } else {
            match known {
                Some(k) => k,
                None => return,
            }
        };
        if let Some(args) = arguments.as_deref().filter(|a| !a.is_empty()) {
            if let Some(Block::Tool(t)) = self.answer.blocks.get_mut(k) {
                t.arguments.push_str(args);
            }
            self.sink.delta(&self.answer, k, args, out);
        }
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(event) = self.framer.next_event().map_err(bad)? {
            self.on_event(&event.data, out)?;
        }
        Ok(())
    }
}

impl<S: Sink> ResponseTranslator for Streamed<S> {
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
            State::Done | State::Errored => Ok(()),
            // Some compatible providers end without `[DONE]`: a stream that said why it
            // stopped is complete.
            State::Open if self.answer.finish.is_some() => {
                self.end(out);
                Ok(())
            }
            State::Open if !self.started => Err(bad("the stream ended before any event")),
            State::Open => Err(bad("the stream ended before a finish reason")),
        }
    }

    fn verdict(&self) -> Verdict {
        self.verdict.clone()
    }

    fn usage(&self) -> Option<Usage> {
        self.answer.usage.map(ChatUsage::canonical)
    }

    fn content_type(&self) -> &'static str {
        "text/event-stream"
    }

    fn is_passthrough(&self) -> bool {
        false
    }
}

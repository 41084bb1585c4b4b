//! The texts a guardrail should see in canonical (OpenAI) bodies, and masked texts written
//! back into those bodies.
//!
//! Extraction finds every user-visible text as a [`TextSegment`]: its decoded text and the
//! byte range of its JSON string literal in the body. Writing back splices new string
//! literals over those ranges, so every other byte of the body (key order, numbers,
//! whitespace, fields this crate does not know) is kept as it came.
//!
//! What is extracted:
//! - chat request (`messages`): the `content` of every message, whatever its role (`system`,
//!   `developer`, `user`, `assistant`, `tool`, `function`), as one segment for a string or one
//!   per `{"type":"text"}` part; media parts are skipped. Each segment records its message
//!   index and role. [`BodyTexts::primary`] is the last message's segments: what Portkey's
//!   checks read.
//! - completions request (`prompt`): the string, or each string of a list; token-id arrays are
//!   not text and are skipped.
//! - embeddings request (`input`): likewise.
//! - chat or completions response: each choice's `message.content` (or `text`), and with
//!   `tool_arguments` each `message.tool_calls[].function.arguments`. Primary: choice 0.
//! - stream chunk: each choice's `delta.content` (or `text`).
//!
//! Streams: a value can be split across two deltas (`"jane.doe@exa"`, `"mple.com"`), so no
//! single event shows it whole. [`StreamMasker`] holds back the last `window` characters of
//! each choice's text, masks what is older, and sends the rest once more text has arrived
//! or the choice finishes. The cost is latency: the last `window` characters reach the
//! client one event later than they would have (with the default 64 characters, about 16
//! tokens: ~0.2–0.3 s at 60 tokens/s), and nothing is delayed past the choice's end. The last
//! 16 characters already sent stay as left context, so each value is judged with what
//! precedes it, as in the whole text: masking a stream gives the text that masking the
//! whole answer gives (a property test checks this for any split). The limit: a value that
//! only becomes recognisable more than `window` characters after it starts (a token longer
//! than the window whose prefix alone has no known shape) is sent before it is recognised.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::envelope::{Edit, EnvelopeError, JsonEnvelope};
use crate::sse;

/// A body whose texts cannot be read or written back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Not JSON, or a field has a type the format does not allow.
    #[error("{0}")]
    Shape(String),
    /// A rewrite was given a different number of texts than the body has segments.
    #[error("expected {expected} texts, got {got}")]
    Count {
        /// Segments in the body.
        expected: usize,
        /// Texts given.
        got: usize,
    },
}

impl From<EnvelopeError> for TextError {
    fn from(e: EnvelopeError) -> Self {
        TextError::Shape(e.to_string())
    }
}

/// The role of the message a segment came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `system`.
    System,
    /// `developer`.
    Developer,
    /// `user`.
    User,
    /// `assistant`.
    Assistant,
    /// `tool`.
    Tool,
    /// `function` (legacy tool results).
    Function,
    /// Anything else.
    Other,
}

impl Role {
    fn parse(s: &str) -> Self {
        match s {
            "system" => Role::System,
            "developer" => Role::Developer,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            "function" => Role::Function,
            _ => Role::Other,
        }
    }
}

/// Where in the body a segment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `messages[message].content`, or its text part `part`.
    Message {
        /// Index in `messages`.
        message: usize,
        /// The message's role.
        role: Role,
        /// Index in the content parts, when content is a list.
        part: Option<usize>,
    },
    /// `prompt` or `prompt[index]`.
    Prompt(Option<usize>),
    /// `input` or `input[index]`.
    Input(Option<usize>),
    /// A response choice's content (`message.content`, `delta.content` or `text`).
    Choice {
        /// The choice's `index`.
        choice: u64,
    },
    /// A response choice's `message.tool_calls[call].function.arguments`.
    ToolArguments {
        /// The choice's `index`.
        choice: u64,
        /// Index in `tool_calls`.
        call: usize,
    },
}

/// One text in a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextSegment<'a> {
    /// The decoded text.
    pub text: Cow<'a, str>,
    /// Byte range of its JSON string literal (quotes included) in the body.
    pub span: Range<usize>,
    /// Where it is.
    pub source: Source,
}

/// The texts of one body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BodyTexts<'a> {
    /// Every segment, in body order.
    pub segments: Vec<TextSegment<'a>>,
    /// The segments Portkey-compatible checks read: the last message of a chat request, all
    /// of a prompt or input, choice 0 of a response.
    pub primary: Range<usize>,
}

impl<'a> BodyTexts<'a> {
    /// The decoded texts, in segment order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|s| &*s.text)
    }

    /// True when there is no segment.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// Which request body a text extraction reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// `/v1/chat/completions`: `messages`.
    Chat,
    /// `/v1/completions`: `prompt`.
    Completions,
    /// `/v1/embeddings`: `input`.
    Embeddings,
}

impl RequestBody {
    fn field(self) -> &'static str {
        match self {
            RequestBody::Chat => "messages",
            RequestBody::Completions => "prompt",
            RequestBody::Embeddings => "input",
        }
    }
}

/// The texts of a request body. Absent or `null` fields give no segment.
pub fn request_texts<'a>(
    env: &'a JsonEnvelope,
    kind: RequestBody,
) -> Result<BodyTexts<'a>, TextError> {
    let base = base_of(env.raw());
    let Some(raw) = env.get_raw(kind.field()) else {
        return Ok(BodyTexts::default());
    };
    let mut out = BodyTexts::default();
    match kind {
        RequestBody::Chat => chat_messages(raw, base, &mut out)?,
        RequestBody::Completions => strings_or_list(raw, base, Source::Prompt, "prompt", &mut out)?,
        RequestBody::Embeddings => strings_or_list(raw, base, Source::Input, "input", &mut out)?,
    }
    if kind != RequestBody::Chat {
        out.primary = 0..out.segments.len();
    }
    Ok(out)
}

/// The request with each segment's text replaced by `texts[i]`, as a new envelope: one
/// [`Edit::Set`] of the `messages`, `prompt` or `input` field, every other field kept as
/// bytes. `texts` must have one entry per segment of `found` (from [`request_texts`] on the
/// same envelope); unchanged texts leave their bytes alone.
pub fn rewrite_request<S: AsRef<str>>(
    env: &JsonEnvelope,
    kind: RequestBody,
    found: &BodyTexts<'_>,
    texts: &[S],
) -> Result<JsonEnvelope, TextError> {
    check_count(found, texts)?;
    let Some(raw) = env.get_raw(kind.field()) else {
        return Ok(env.clone());
    };
    let field_start = base_of(raw.as_bytes()).saturating_sub(base_of(env.raw()));
    let edits = edits(found, texts, field_start);
    if edits.is_empty() {
        return Ok(env.clone());
    }
    let new_field = splice(raw.as_bytes(), &edits);
    let body = env.rewrite(&[Edit::Set(kind.field(), &new_field)]);
    Ok(JsonEnvelope::parse(body)?)
}

/// The texts of a chat or completions response body (`choices[].message.content`, or
/// `choices[].text`), with each choice's tool-call arguments when `tool_arguments`.
pub fn response_texts(body: &[u8], tool_arguments: bool) -> Result<BodyTexts<'_>, TextError> {
    let text = utf8(body)?;
    let base = base_of(body);
    let mut out = BodyTexts::default();
    let top = fields(text)?;
    let Some(choices) = get(&top, "choices") else {
        return Ok(out);
    };
    let mut primary_choice = None;
    for (i, choice) in array(choices, "choices")?.into_iter().enumerate() {
        let choice_fields = fields(choice.get())?;
        let index = choice_index(&choice_fields, i);
        let first = out.segments.len();
        if let Some(message) = get(&choice_fields, "message") {
            if message.get() != "null" {
                let msg = fields(message.get())?;
                if let Some(content) = get(&msg, "content") {
                    content_segments(content, base, Source::Choice { choice: index }, &mut out)?;
                }
                if tool_arguments {
                    if let Some(calls) = get(&msg, "tool_calls") {
                        tool_arguments_segments(calls, base, index, &mut out)?;
                    }
                }
            }
        } else if let Some(t) = get(&choice_fields, "text") {
            push_string(
                t,
                base,
                Source::Choice { choice: index },
                "choices[].text",
                &mut out,
            )?;
        }
        if index == 0 && primary_choice.is_none() {
            primary_choice = Some(first..out.segments.len());
        }
    }
    out.primary = primary_choice.unwrap_or(0..0);
    Ok(out)
}

/// The response body with each segment's text replaced by `texts[i]` (see
/// [`rewrite_request`] for the contract). Unchanged: the same bytes, not copied.
pub fn rewrite_response<S: AsRef<str>>(
    body: &Bytes,
    found: &BodyTexts<'_>,
    texts: &[S],
) -> Result<Bytes, TextError> {
    check_count(found, texts)?;
    let edits = edits(found, texts, 0);
    if edits.is_empty() {
        return Ok(body.clone());
    }
    Ok(Bytes::from(splice(body, &edits)))
}

/// The texts of one stream chunk's `data:` payload: `choices[].delta.content` (chat) or
/// `choices[].text` (completions).
pub fn chunk_texts(data: &[u8]) -> Result<BodyTexts<'_>, TextError> {
    let parsed = parse_chunk(data)?;
    let mut out = BodyTexts::default();
    for c in &parsed.choices {
        if let Some(seg) = &c.content {
            if c.index == 0 {
                out.primary = out.segments.len()..out.segments.len() + 1;
            }
            out.segments.push(seg.clone());
        }
    }
    Ok(out)
}

/// A stream event (`data: …\n\n`) with the chunk's segments replaced by `texts`.
pub fn rewrite_chunk<S: AsRef<str>>(
    data: &[u8],
    found: &BodyTexts<'_>,
    texts: &[S],
) -> Result<Bytes, TextError> {
    check_count(found, texts)?;
    let edits = edits(found, texts, 0);
    Ok(sse::data_event(&splice(data, &edits)))
}

/// One replacement found by a [`Redactor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redaction<'r> {
    /// Byte range in the text searched.
    pub range: Range<usize>,
    /// What replaces it.
    pub replacement: &'r str,
}

/// Finds what to mask in a text. Implemented by the guardrails' detectors.
pub trait Redactor {
    /// Appends the redactions of `text`, sorted by start and not overlapping.
    fn redact<'r>(&'r self, text: &str, out: &mut Vec<Redaction<'r>>);
}

/// `text` with `redactions` (sorted, not overlapping) applied.
pub fn apply_redactions(text: &str, redactions: &[Redaction<'_>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in redactions {
        let (Some(keep), true) = (text.get(at..r.range.start), r.range.end <= text.len()) else {
            continue;
        };
        out.push_str(keep);
        out.push_str(r.replacement);
        at = r.range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// How many characters a [`StreamMasker`] holds back by default.
pub const DEFAULT_WINDOW: usize = 64;

/// The most a choice's held text may grow to while a value at its end is still forming;
/// past this the value is masked as it stands and sent.
const MAX_HELD_BYTES: usize = 8 * 1024;

/// Characters of already-sent text kept as left context for detection, so a value is judged
/// with what precedes it (a detector refuses a digit run glued to a longer number, for
/// example) exactly as in the whole text.
const CONTEXT_CHARS: usize = 16;

/// One choice's state: text held back, and the tail of what was sent.
#[derive(Debug, Default)]
struct Held {
    index: u64,
    text: String,
    context: String,
}

/// Masks a chat or completions stream event by event, holding back the last `window`
/// characters of each choice so a value split across deltas is still masked (see the module
/// docs for the latency this costs).
pub struct StreamMasker<R> {
    redactor: R,
    window: usize,
    held: Vec<Held>,
    /// The last chunk seen, as the template for a chunk that flushes held text at the end.
    last: Option<Bytes>,
}

impl<R: fmt::Debug> fmt::Debug for StreamMasker<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamMasker")
            .field("redactor", &self.redactor)
            .field("window", &self.window)
            .field("choices", &self.held.len())
            .finish()
    }
}

impl<R: Redactor> StreamMasker<R> {
    /// A masker holding back `window` characters per choice.
    pub fn new(redactor: R, window: usize) -> Self {
        Self {
            redactor,
            window,
            held: Vec::new(),
            last: None,
        }
    }

    /// Takes one event's `data:` payload and returns the events to send in its place: the
    /// chunk with its texts masked and shortened by what is held back, or, for `[DONE]`, a
    /// chunk with everything still held (masked) followed by `data: [DONE]`. A choice whose
    /// `finish_reason` is set is flushed into that chunk.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Bytes>, TextError> {
        if data == b"[DONE]" {
            let mut out = self.finish()?;
            out.push(sse::done_event());
            return Ok(out);
        }
        let chunk = parse_chunk(data)?;
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let mut before: Vec<(u64, String)> = Vec::new();
        for c in &chunk.choices {
            let incoming = c.content.as_ref().map_or("", |s| &*s.text);
            let mut state = self.take(c.index);
            if state.text.is_empty() && incoming.is_empty() && !c.finished {
                self.held.push(state);
                continue;
            }
            let emit = self.emit(&mut state, incoming, c.finished);
            self.held.push(state);
            if emit == incoming {
                continue;
            }
            match (&c.content, &c.delta) {
                (Some(seg), _) => edits.push((seg.span.clone(), json_string(&emit))),
                (None, Some(delta)) if !emit.is_empty() => {
                    edits.push(insert_content(delta, &emit));
                }
                (None, _) if !emit.is_empty() => before.push((c.index, emit)),
                _ => {}
            }
        }
        self.last = Some(Bytes::copy_from_slice(data));
        let mut out = Vec::with_capacity(1 + before.len());
        for (index, text) in before {
            out.push(self.synthetic(index, &text)?);
        }
        edits.sort_by_key(|e| e.0.start);
        out.push(sse::data_event(&splice(data, &edits)));
        Ok(out)
    }

    /// Ends the stream: one chunk per choice with text still held, masked, shaped like the
    /// last chunk seen. Empty when nothing is held.
    pub fn finish(&mut self) -> Result<Vec<Bytes>, TextError> {
        let mut held = std::mem::take(&mut self.held);
        let mut out = Vec::new();
        for state in held.iter_mut().filter(|h| !h.text.is_empty()) {
            let emit = self.emit(state, "", true);
            if !emit.is_empty() {
                out.push(self.synthetic(state.index, &emit)?);
            }
        }
        Ok(out)
    }

    /// Characters currently held back, over all choices.
    pub fn held_chars(&self) -> usize {
        self.held.iter().map(|h| h.text.chars().count()).sum()
    }

    fn take(&mut self, index: u64) -> Held {
        match self.held.iter().position(|h| h.index == index) {
            Some(p) => self.held.swap_remove(p),
            None => Held {
                index,
                ..Held::default()
            },
        }
    }

    /// Adds `incoming` to the choice's held text and returns the masked text to send now;
    /// the rest stays held.
    fn emit(&self, state: &mut Held, incoming: &str, finished: bool) -> String {
        let ctx = state.context.len();
        let mut buf = String::with_capacity(ctx + state.text.len() + incoming.len());
        buf.push_str(&state.context);
        buf.push_str(&state.text);
        buf.push_str(incoming);
        let mut found = Vec::new();
        self.redactor.redact(&buf, &mut found);
        // A value starting in text already sent was judged then, with more left context;
        // seeing only the context's tail must not change that verdict.
        found.retain(|r| r.range.start >= ctx);
        let mut cut = if finished {
            buf.len()
        } else {
            hold_from(&buf, self.window).max(ctx)
        };
        for r in &found {
            if r.range.start < cut && cut < r.range.end {
                // Settled when at least two characters follow it (detectors look that far).
                let settled = buf
                    .get(r.range.end..)
                    .is_some_and(|t| t.chars().nth(1).is_some());
                cut = if settled || buf.len() > MAX_HELD_BYTES {
                    r.range.end
                } else {
                    r.range.start
                };
            }
        }
        // Redactions of the part sent now, relative to it.
        let send: Vec<Redaction<'_>> = found
            .into_iter()
            .filter(|r| r.range.end <= cut)
            .map(|r| Redaction {
                range: r.range.start - ctx..r.range.end - ctx,
                replacement: r.replacement,
            })
            .collect();
        let head = buf.get(ctx..cut).unwrap_or_default();
        let masked = apply_redactions(head, &send);
        let sent = buf.get(..cut).unwrap_or_default();
        let keep_from = sent
            .char_indices()
            .rev()
            .nth(CONTEXT_CHARS.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        state.context = sent.get(keep_from..).unwrap_or_default().to_owned();
        state.text = buf.get(cut..).unwrap_or_default().to_owned();
        masked
    }

    fn synthetic(&self, index: u64, text: &str) -> Result<Bytes, TextError> {
        let mut choices = Vec::with_capacity(text.len() + 64);
        choices
            .extend_from_slice(format!("[{{\"index\":{index},\"delta\":{{\"content\":").as_bytes());
        choices.extend_from_slice(&json_string(text));
        choices.extend_from_slice(b"},\"finish_reason\":null}]");
        let template = match &self.last {
            Some(last) => JsonEnvelope::parse(last.clone())?,
            None => JsonEnvelope::parse(Bytes::from_static(
                b"{\"object\":\"chat.completion.chunk\"}",
            ))?,
        };
        let body = template.rewrite(&[Edit::Set("choices", &choices), Edit::Remove("usage")]);
        Ok(sse::data_event(&body))
    }
}

/// The byte index from which `buf`'s last `window` characters start.
fn hold_from(buf: &str, window: usize) -> usize {
    if window == 0 {
        return buf.len();
    }
    buf.char_indices()
        .rev()
        .nth(window - 1)
        .map_or(0, |(i, _)| i)
}

/// An edit inserting `"content":<text>` into the delta object at `delta` (a byte range of
/// the chunk holding `{…}`).
fn insert_content(delta: &DeltaObject, text: &str) -> (Range<usize>, Vec<u8>) {
    let mut ins = Vec::with_capacity(text.len() + 16);
    if !delta.empty {
        ins.push(b',');
    }
    ins.extend_from_slice(b"\"content\":");
    ins.extend_from_slice(&json_string(text));
    // Insert before the closing brace.
    let at = delta.span.end - 1;
    (at..at, ins)
}

struct ChunkChoice<'a> {
    index: u64,
    content: Option<TextSegment<'a>>,
    delta: Option<DeltaObject>,
    finished: bool,
}

struct DeltaObject {
    span: Range<usize>,
    empty: bool,
}

struct Chunk<'a> {
    choices: Vec<ChunkChoice<'a>>,
}

fn parse_chunk(data: &[u8]) -> Result<Chunk<'_>, TextError> {
    let text = utf8(data)?;
    let base = base_of(data);
    let top = fields(text)?;
    let mut choices = Vec::new();
    let Some(list) = get(&top, "choices") else {
        return Ok(Chunk { choices });
    };
    for (i, choice) in array(list, "choices")?.into_iter().enumerate() {
        let f = fields(choice.get())?;
        let index = choice_index(&f, i);
        let finished = get(&f, "finish_reason").is_some_and(|r| r.get() != "null");
        let mut one = BodyTexts::default();
        let mut delta_obj = None;
        if let Some(delta) = get(&f, "delta").filter(|d| d.get() != "null") {
            let d = fields(delta.get())?;
            delta_obj = Some(DeltaObject {
                span: range_of(delta.get(), base),
                empty: d.is_empty(),
            });
            if let Some(content) = get(&d, "content") {
                push_string(
                    content,
                    base,
                    Source::Choice { choice: index },
                    "delta.content",
                    &mut one,
                )?;
            }
        } else if let Some(t) = get(&f, "text") {
            push_string(
                t,
                base,
                Source::Choice { choice: index },
                "choices[].text",
                &mut one,
            )?;
        }
        choices.push(ChunkChoice {
            index,
            content: one.segments.pop(),
            delta: delta_obj,
            finished,
        });
    }
    Ok(Chunk { choices })
}

fn chat_messages<'a>(raw: &'a str, base: usize, out: &mut BodyTexts<'a>) -> Result<(), TextError> {
    let messages = array_of(raw, "messages")?;
    let mut last = 0..0;
    for (i, m) in messages.into_iter().enumerate() {
        let f = fields(m.get()).map_err(|_| shape(format!("`messages[{i}]` must be an object")))?;
        let role = match get(&f, "role") {
            Some(r) => Role::parse(
                &decode(r)
                    .ok_or_else(|| shape(format!("`messages[{i}].role` must be a string")))?,
            ),
            None => Role::Other,
        };
        let first = out.segments.len();
        if let Some(content) = get(&f, "content") {
            content_segments(
                content,
                base,
                Source::Message {
                    message: i,
                    role,
                    part: None,
                },
                out,
            )?;
        }
        last = first..out.segments.len();
    }
    out.primary = last;
    Ok(())
}

/// A content value: a string, `null`, or a list of parts whose `text` parts are segments.
fn content_segments<'a>(
    content: &'a RawValue,
    base: usize,
    source: Source,
    out: &mut BodyTexts<'a>,
) -> Result<(), TextError> {
    let raw = content.get();
    match raw.as_bytes().first() {
        Some(b'"') => push_string(content, base, source, "content", out),
        Some(b'n') => Ok(()),
        Some(b'[') => {
            for (p, part) in array(content, "content")?.into_iter().enumerate() {
                let f = fields(part.get())?;
                let is_text = get(&f, "type")
                    .and_then(decode)
                    .is_some_and(|t| t == "text");
                if let (true, Some(text)) = (is_text, get(&f, "text")) {
                    let source = match source {
                        Source::Message { message, role, .. } => Source::Message {
                            message,
                            role,
                            part: Some(p),
                        },
                        other => other,
                    };
                    push_string(text, base, source, "content[].text", out)?;
                }
            }
            Ok(())
        }
        _ => Err(shape("`content` must be a string, a list of parts or null")),
    }
}

fn tool_arguments_segments<'a>(
    calls: &'a RawValue,
    base: usize,
    choice: u64,
    out: &mut BodyTexts<'a>,
) -> Result<(), TextError> {
    if calls.get() == "null" {
        return Ok(());
    }
    for (call, c) in array(calls, "tool_calls")?.into_iter().enumerate() {
        let f = fields(c.get())?;
        let Some(function) = get(&f, "function") else {
            continue;
        };
        let ff = fields(function.get())?;
        if let Some(args) = get(&ff, "arguments") {
            push_string(
                args,
                base,
                Source::ToolArguments { choice, call },
                "arguments",
                out,
            )?;
        }
    }
    Ok(())
}

/// `prompt` / `input`: a string, or a list whose strings are segments (token arrays skipped).
fn strings_or_list<'a>(
    raw: &'a str,
    base: usize,
    source: fn(Option<usize>) -> Source,
    name: &str,
    out: &mut BodyTexts<'a>,
) -> Result<(), TextError> {
    match raw.as_bytes().first() {
        Some(b'"') => {
            let value: &'a RawValue =
                serde_json::from_str(raw).map_err(|e| shape(e.to_string()))?;
            push_string(value, base, source(None), name, out)
        }
        Some(b'[') => {
            for (i, item) in array_of(raw, name)?.into_iter().enumerate() {
                if item.get().starts_with('"') {
                    push_string(item, base, source(Some(i)), name, out)?;
                }
            }
            Ok(())
        }
        Some(b'n') => Ok(()),
        _ => Err(shape(format!("`{name}` must be a string or a list"))),
    }
}

fn push_string<'a>(
    value: &'a RawValue,
    base: usize,
    source: Source,
    name: &str,
    out: &mut BodyTexts<'a>,
) -> Result<(), TextError> {
    let raw = value.get();
    if raw == "null" {
        return Ok(());
    }
    let text = decode(value).ok_or_else(|| shape(format!("`{name}` must be a string")))?;
    out.segments.push(TextSegment {
        text,
        span: range_of(raw, base),
        source,
    });
    Ok(())
}

/// A JSON string literal decoded in one pass, borrowed when it has no escapes.
fn decode(value: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Key<'_>>(value.get())
        .ok()
        .map(|k| k.0)
}

fn choice_index(f: &[(Cow<'_, str>, &RawValue)], position: usize) -> u64 {
    get(f, "index")
        .and_then(|i| serde_json::from_str::<u64>(i.get()).ok())
        .unwrap_or(position as u64)
}

fn check_count<S>(found: &BodyTexts<'_>, texts: &[S]) -> Result<(), TextError> {
    if found.segments.len() == texts.len() {
        Ok(())
    } else {
        Err(TextError::Count {
            expected: found.segments.len(),
            got: texts.len(),
        })
    }
}

/// Splice edits for the segments whose text changed, ranges shifted by `-offset`.
fn edits<S: AsRef<str>>(
    found: &BodyTexts<'_>,
    texts: &[S],
    offset: usize,
) -> Vec<(Range<usize>, Vec<u8>)> {
    found
        .segments
        .iter()
        .zip(texts)
        .filter(|(seg, new)| *seg.text != *new.as_ref())
        .map(|(seg, new)| {
            (
                seg.span.start.saturating_sub(offset)..seg.span.end.saturating_sub(offset),
                json_string(new.as_ref()),
            )
        })
        .collect()
}

/// `src` with each range replaced; ranges sorted and not overlapping.
fn splice(src: &[u8], edits: &[(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    let extra: usize = edits.iter().map(|(_, v)| v.len()).sum();
    let mut out = BytesMut::with_capacity(src.len() + extra);
    let mut at = 0;
    for (range, value) in edits {
        if range.start < at || range.end > src.len() {
            continue;
        }
        out.put_slice(&src[at..range.start]);
        out.put_slice(value);
        at = range.end;
    }
    out.put_slice(&src[at..]);
    out.to_vec()
}

fn json_string(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, s);
    out
}

fn utf8(body: &[u8]) -> Result<&str, TextError> {
    std::str::from_utf8(body).map_err(|e| shape(format!("body is not UTF-8 ({e})")))
}

fn base_of(bytes: &[u8]) -> usize {
    bytes.as_ptr() as usize
}

fn range_of(raw: &str, base: usize) -> Range<usize> {
    let start = (raw.as_ptr() as usize).saturating_sub(base);
    start..start + raw.len()
}

fn shape(message: impl Into<String>) -> TextError {
    TextError::Shape(message.into())
}

fn get<'a>(fields: &[(Cow<'a, str>, &'a RawValue)], key: &str) -> Option<&'a RawValue> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

fn array<'a>(value: &'a RawValue, name: &str) -> Result<Vec<&'a RawValue>, TextError> {
    array_of(value.get(), name)
}

fn array_of<'a>(raw: &'a str, name: &str) -> Result<Vec<&'a RawValue>, TextError> {
    serde_json::from_str(raw).map_err(|_| shape(format!("`{name}` must be a list")))
}

/// The members of a JSON object, in order, values raw (borrowed from `raw`).
fn fields(raw: &str) -> Result<Vec<(Cow<'_, str>, &RawValue)>, TextError> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let out = de
        .deserialize_map(Members)
        .map_err(|e| shape(format!("expected a JSON object: {e}")))?;
    de.end().map_err(|e| shape(e.to_string()))?;
    Ok(out)
}

struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Key(k)) = map.next_key()? {
            out.push((k, map.next_value()?));
        }
        Ok(out)
    }
}

struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    /// Masks every `@`-word: enough to test the plumbing without the real detectors.
    #[derive(Debug)]
    struct AtWords;

    impl Redactor for AtWords {
        fn redact<'r>(&'r self, text: &str, out: &mut Vec<Redaction<'r>>) {
            let b = text.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'@' {
                    let mut s = i;
                    while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'.') {
                        s -= 1;
                    }
                    let mut e = i + 1;
                    while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'.') {
                        e += 1;
                    }
                    if s < i && e > i + 1 {
                        out.push(Redaction {
                            range: s..e,
                            replacement: "[EMAIL]",
                        });
                    }
                    i = e;
                } else {
                    i += 1;
                }
            }
        }
    }

    #[test]
    fn chat_request_segments_by_role_and_part() {
        let e = env(r#"{"model":"m","messages":[
                {"role":"system","content":"be nice"},
                {"role":"assistant","content":null,"tool_calls":[]},
                {"role":"user","content":[{"type":"text","text":"hi \"you\""},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"mail a@b.io"}]}
            ]}"#);
        let t = request_texts(&e, RequestBody::Chat).unwrap();
        assert_eq!(
            t.texts().collect::<Vec<_>>(),
            ["be nice", "hi \"you\"", "mail a@b.io"]
        );
        assert_eq!(t.primary, 1..3);
        assert_eq!(
            t.segments[2].source,
            Source::Message {
                message: 2,
                role: Role::User,
                part: Some(2)
            }
        );
        assert_eq!(
            t.segments[0].source,
            Source::Message {
                message: 0,
                role: Role::System,
                part: None
            }
        );
        // The span is the literal in the body.
        assert_eq!(&e.raw()[t.segments[0].span.clone()], b"\"be nice\"");
    }

    #[test]
    fn chat_request_rewrite_keeps_other_bytes() {
        let body =
            r#"{"model":"m", "messages":[{"role":"user","content":"mail a@b.io now"}], "n" : 1}"#;
        let e = env(body);
        let t = request_texts(&e, RequestBody::Chat).unwrap();
        let out = rewrite_request(&e, RequestBody::Chat, &t, &["mail [EMAIL] now"]).unwrap();
        assert_eq!(
            std::str::from_utf8(out.raw()).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"mail [EMAIL] now"}],"n":1}"#
        );
        // Nothing changed: the same envelope.
        let same = rewrite_request(&e, RequestBody::Chat, &t, &["mail a@b.io now"]).unwrap();
        assert_eq!(same.raw(), e.raw());
        assert_eq!(
            rewrite_request(&e, RequestBody::Chat, &t, &["a", "b"]).unwrap_err(),
            TextError::Count {
                expected: 1,
                got: 2
            }
        );
    }

    #[test]
    fn prompt_and_input_strings_and_lists() {
        let e = env(r#"{"prompt":["one","two"],"input":[[1,2],"three"]}"#);
        let p = request_texts(&e, RequestBody::Completions).unwrap();
        assert_eq!(p.texts().collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(p.primary, 0..2);
        let i = request_texts(&e, RequestBody::Embeddings).unwrap();
        assert_eq!(i.texts().collect::<Vec<_>>(), ["three"]);
        assert_eq!(i.segments[0].source, Source::Input(Some(1)));
        let out = rewrite_request(&e, RequestBody::Embeddings, &i, &["3"]).unwrap();
        assert_eq!(out.get_raw("input"), Some(r#"[[1,2],"3"]"#));
        let e = env(r#"{"prompt":"just one"}"#);
        let p = request_texts(&e, RequestBody::Completions).unwrap();
        assert_eq!(p.segments[0].source, Source::Prompt(None));
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        for body in [
            r#"{"messages":{}}"#,
            r#"{"messages":[1]}"#,
            r#"{"messages":[{"role":"user","content":5}]}"#,
            r#"{"messages":[{"role":3,"content":"x"}]}"#,
        ] {
            assert!(
                request_texts(&env(body), RequestBody::Chat).is_err(),
                "{body}"
            );
        }
        assert!(response_texts(b"not json", false).is_err());
        assert!(chunk_texts(b"{\"choices\":5}").is_err());
    }

    #[test]
    fn response_choices_and_tool_arguments() {
        let body = Bytes::from_static(
            br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"mail a@b.io","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"to\":\"c@d.io\"}"}}]},"finish_reason":"stop"},{"index":1,"message":{"role":"assistant","content":"two"}}],"usage":{"total_tokens":3}}"#,
        );
        let t = response_texts(&body, false).unwrap();
        assert_eq!(t.texts().collect::<Vec<_>>(), ["mail a@b.io", "two"]);
        assert_eq!(t.primary, 0..1);
        let t = response_texts(&body, true).unwrap();
        assert_eq!(
            t.texts().collect::<Vec<_>>(),
            ["mail a@b.io", "{\"to\":\"c@d.io\"}", "two"]
        );
        assert_eq!(
            t.segments[1].source,
            Source::ToolArguments { choice: 0, call: 0 }
        );
        let masked: Vec<String> = t
            .texts()
            .map(|s| {
                let mut r = Vec::new();
                AtWords.redact(s, &mut r);
                apply_redactions(s, &r)
            })
            .collect();
        let out = rewrite_response(&body, &t, &masked).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], "mail [EMAIL]");
        assert_eq!(
            v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
            "{\"to\":\"[EMAIL]\"}"
        );
        assert!(std::str::from_utf8(&out)
            .unwrap()
            .ends_with(r#""usage":{"total_tokens":3}}"#));
        // Completions responses carry `text`.
        let t = response_texts(br#"{"choices":[{"index":0,"text":"done"}]}"#, false).unwrap();
        assert_eq!(t.texts().collect::<Vec<_>>(), ["done"]);
        // An error body has no choices and no texts.
        assert!(response_texts(br#"{"error":{"message":"x"}}"#, false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn chunk_texts_and_rewrite() {
        let data = br#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a@b.io"},"finish_reason":null}]}"#;
        let t = chunk_texts(data).unwrap();
        assert_eq!(t.texts().collect::<Vec<_>>(), ["a@b.io"]);
        let ev = rewrite_chunk(data, &t, &["[EMAIL]"]).unwrap();
        assert_eq!(
            std::str::from_utf8(&ev).unwrap(),
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"[EMAIL]\"},\"finish_reason\":null}]}\n\n"
        );
    }

    fn chunk(content: Option<&str>, finish: Option<&str>) -> Vec<u8> {
        let delta = match content {
            Some(c) => format!("{{\"content\":{}}}", serde_json::to_string(c).unwrap()),
            None => "{}".to_owned(),
        };
        let finish = finish.map_or("null".to_owned(), |f| format!("\"{f}\""));
        format!(r#"{{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#)
            .into_bytes()
    }

    /// Runs `deltas` through a masker and returns what the client reads, concatenated.
    fn streamed(deltas: &[&str], window: usize) -> (String, Vec<String>) {
        let mut m = StreamMasker::new(AtWords, window);
        let mut events = Vec::new();
        for d in deltas {
            events.extend(m.push(&chunk(Some(d), None)).unwrap());
        }
        events.extend(m.push(&chunk(None, Some("stop"))).unwrap());
        events.extend(m.push(b"[DONE]").unwrap());
        let mut text = String::new();
        let mut raw = Vec::new();
        for e in events {
            let s = String::from_utf8(e.to_vec()).unwrap();
            let payload = s.strip_prefix("data: ").unwrap().trim_end();
            raw.push(payload.to_owned());
            if payload != "[DONE]" {
                let v: serde_json::Value = serde_json::from_str(payload).unwrap();
                if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                    text.push_str(c);
                }
            }
        }
        (text, raw)
    }

    #[test]
    fn a_value_split_across_deltas_is_masked() {
        let (text, _) = streamed(&["Write to jane.doe@exa", "mple.com today, or not."], 16);
        assert_eq!(text, "Write to [EMAIL] today, or not.");
        // Split into single characters.
        let s = "reach me: x@y.io!";
        let parts: Vec<String> = s.chars().map(String::from).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let (text, _) = streamed(&parts, 8);
        assert_eq!(text, "reach me: [EMAIL]!");
    }

    #[test]
    fn the_window_bounds_what_is_held() {
        let mut m = StreamMasker::new(AtWords, 4);
        let ev = m.push(&chunk(Some("hello world"), None)).unwrap();
        assert_eq!(ev.len(), 1);
        assert!(std::str::from_utf8(&ev[0])
            .unwrap()
            .contains("\"content\":\"hello w\""));
        assert_eq!(m.held_chars(), 4);
        // The finishing chunk had no content: the held text is inserted into its delta.
        let ev = m.push(&chunk(None, Some("stop"))).unwrap();
        let s = std::str::from_utf8(&ev[0]).unwrap();
        assert!(
            s.contains(r#""delta":{"content":"orld"},"finish_reason":"stop""#),
            "{s}"
        );
        assert_eq!(m.held_chars(), 0);
    }

    #[test]
    fn a_stream_cut_short_flushes_at_done() {
        let mut m = StreamMasker::new(AtWords, 32);
        let ev = m.push(&chunk(Some("tail a@b.io"), None)).unwrap();
        assert!(std::str::from_utf8(&ev[0])
            .unwrap()
            .contains("\"content\":\"\""));
        let ev = m.push(b"[DONE]").unwrap();
        assert_eq!(ev.len(), 2);
        let s = std::str::from_utf8(&ev[0]).unwrap();
        assert!(
            s.contains(
                r#""choices":[{"index":0,"delta":{"content":"tail [EMAIL]"},"finish_reason":null}]"#
            ),
            "{s}"
        );
        assert!(s.contains(r#""model":"m""#));
        assert_eq!(&ev[1][..], b"data: [DONE]\n\n");
    }

    #[test]
    fn usage_chunks_pass_through() {
        let mut m = StreamMasker::new(AtWords, 8);
        let data = br#"{"id":"s","choices":[],"usage":{"total_tokens":5}}"#;
        let ev = m.push(data).unwrap();
        assert_eq!(&ev[0][..], sse::data_event(data).as_ref());
    }

    proptest::proptest! {
        /// Any texts, escaped any way JSON allows, read back decoded and written back exactly.
        #[test]
        fn any_texts_round_trip(texts in proptest::collection::vec("\\PC{0,24}", 1..5)) {
            let messages: Vec<serde_json::Value> = texts
                .iter()
                .map(|t| serde_json::json!({"role": "user", "content": [{"type": "text", "text": t}]}))
                .collect();
            let body = serde_json::json!({"model": "m", "messages": messages}).to_string();
            let e = env(&body);
            let found = request_texts(&e, RequestBody::Chat).unwrap();
            let got: Vec<&str> = found.texts().collect();
            proptest::prop_assert_eq!(&got, &texts.iter().map(String::as_str).collect::<Vec<_>>());
            let upper: Vec<String> = texts.iter().map(|t| format!("<{}>", t.to_uppercase())).collect();
            let out = rewrite_request(&e, RequestBody::Chat, &found, &upper).unwrap();
            let v: serde_json::Value = serde_json::from_slice(out.raw()).unwrap();
            for (i, u) in upper.iter().enumerate() {
                proptest::prop_assert_eq!(v["messages"][i]["content"][0]["text"].as_str(), Some(u.as_str()));
            }
            proptest::prop_assert_eq!(&v["model"], "m");
        }
    }

    #[test]
    fn unicode_never_splits_a_character() {
        let (text, _) = streamed(&["héllo wörld ", "naïve café 😀 ", "a@b.io ok"], 3);
        assert_eq!(text, "héllo wörld naïve café 😀 [EMAIL] ok");
    }
}

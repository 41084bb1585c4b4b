//! Canonical chat output → OpenAI Responses `response` object and semantic event stream.

use bytes::{BufMut, Bytes, BytesMut};

use crate::dialect::Output;
use crate::envelope::{put_json_string, JsonEnvelope};
use crate::error::{ErrorBody, TranslateError};
use crate::inbound::answer::{self, Answer, Block, Finish};
use crate::inbound::{put_u64, sse_event};

/// The request fields the `response` object echoes, as raw JSON, with the API's defaults
/// for those the client left out; `store` is always false (the gateway keeps nothing).
#[derive(Debug)]
pub(crate) struct Echo {
    model: String,
    fields: Vec<(&'static str, String)>,
}

impl Echo {
    pub fn new(inbound: &JsonEnvelope) -> Result<Self, TranslateError> {
        // Raw values go into SSE `data:` lines, which a line break would end: outside JSON
        // strings (where they are escaped) line breaks are whitespace, so a space stands in.
        let raw = |k: &str| {
            inbound
                .get_raw(k)
                .filter(|v| *v != "null")
                .map(|v| v.replace(['\n', '\r'], " "))
        };
        let or = |k: &'static str, default: &str| (k, raw(k).unwrap_or_else(|| default.to_owned()));
        let mut fields = vec![
            or("instructions", "null"),
            or("max_output_tokens", "null"),
            or("parallel_tool_calls", "true"),
            ("previous_response_id", "null".to_owned()),
            or("reasoning", r#"{"effort":null,"summary":null}"#),
            ("store", "false".to_owned()),
            or("temperature", "null"),
            or("text", r#"{"format":{"type":"text"}}"#),
            or("tool_choice", "\"auto\""),
            or("tools", "[]"),
            or("top_p", "null"),
            ("truncation", "\"disabled\"".to_owned()),
            or("user", "null"),
            or("metadata", "{}"),
        ];
        for k in ["safety_identifier", "prompt_cache_key"] {
            if let Some(v) = raw(k) {
                fields.push((k, v));
            }
        }
        let model = inbound
            .get_str("model")
            .map_err(|e| TranslateError::InvalidRequest {
                message: e.to_string(),
                param: Some("model".into()),
            })?
            .unwrap_or_default();
        Ok(Self { model, fields })
    }
}

/// One output item: a message (blocks `first..end`, all text or refusal) or a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Message { first: usize, end: usize },
    Call(usize),
}

/// Consecutive text and refusal blocks share one message item; each call is its own item.
fn layout(blocks: &[Block]) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    for (k, b) in blocks.iter().enumerate() {
        match (b, items.last_mut()) {
            (Block::Tool(_), _) => items.push(Item::Call(k)),
            (_, Some(Item::Message { end, .. })) if *end == k => *end = k + 1,
            _ => items.push(Item::Message {
                first: k,
                end: k + 1,
            }),
        }
    }
    items
}

/// Ids derived from the chat id, so the stream and the final object agree.
#[derive(Debug, Default)]
struct Ids {
    base: String,
    response: String,
}

impl Ids {
    fn of(a: &Answer) -> Self {
        let base = if a.id.is_empty() {
            "switchyard".to_owned()
        } else {
            a.id.clone()
        };
        let response = if base.starts_with("resp_") {
            base.clone()
        } else {
            format!("resp_{base}")
        };
        Ids { base, response }
    }

    fn item(&self, a: &Answer, item: Item, output_index: usize) -> String {
        match item {
            Item::Message { .. } => format!("msg_{}_{output_index}", self.base),
            Item::Call(k) => match a.blocks.get(k) {
                Some(Block::Tool(t)) => format!("fc_{}", t.id),
                _ => format!("fc_{}_{output_index}", self.base),
            },
        }
    }
}

/// The response's status and `incomplete_details.reason` for how the answer ended.
fn outcome(a: &Answer) -> (&'static str, Option<&'static str>) {
    match a.finish {
        Some(Finish::Length) => ("incomplete", Some("max_output_tokens")),
        Some(Finish::ContentFilter) => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

fn put_part(b: &mut BytesMut, block: Option<&Block>) {
    match block {
        Some(Block::Refusal(t)) => {
            b.put_slice(b"{\"type\":\"refusal\",\"refusal\":");
            put_json_string(b, t);
            b.put_u8(b'}');
        }
        Some(Block::Text(t)) => {
            b.put_slice(b"{\"type\":\"output_text\",\"text\":");
            put_json_string(b, t);
            b.put_slice(b",\"annotations\":[],\"logprobs\":[]}");
        }
        _ => b.put_slice(
            b"{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[],\"logprobs\":[]}",
        ),
    }
}

fn put_item(b: &mut BytesMut, a: &Answer, id: &str, item: Item, status: &str) {
    match item {
        Item::Message { first, end } => {
            b.put_slice(b"{\"id\":");
            put_json_string(b, id);
            b.put_slice(b",\"type\":\"message\",\"status\":\"");
            b.put_slice(status.as_bytes());
            b.put_slice(b"\",\"role\":\"assistant\",\"content\":[");
            for k in first..end {
                if k > first {
                    b.put_u8(b',');
                }
                put_part(b, a.blocks.get(k));
            }
            b.put_slice(b"]}");
        }
        Item::Call(k) => {
            let (call_id, name, args) = match a.blocks.get(k) {
                Some(Block::Tool(t)) => (t.id.as_str(), t.name.as_str(), t.arguments.as_str()),
                _ => ("", "", ""),
            };
            b.put_slice(b"{\"id\":");
            put_json_string(b, id);
            b.put_slice(b",\"type\":\"function_call\",\"status\":\"");
            b.put_slice(status.as_bytes());
            b.put_slice(b"\",\"arguments\":");
            put_json_string(b, args);
            b.put_slice(b",\"call_id\":");
            put_json_string(b, call_id);
            b.put_slice(b",\"name\":");
            put_json_string(b, name);
            b.put_u8(b'}');
        }
    }
}

/// What the `response` object says about the answer.
enum Stage<'e> {
    /// `response.created` / `response.in_progress`: no output yet.
    InProgress,
    /// Done, completed or incomplete by the finish reason.
    Ended,
    /// Failed with this error.
    Failed(&'e ErrorBody),
}

fn put_response(b: &mut BytesMut, echo: &Echo, ids: &Ids, a: &Answer, stage: Stage<'_>) {
    let (status, reason) = match stage {
        Stage::InProgress => ("in_progress", None),
        Stage::Ended => outcome(a),
        Stage::Failed(_) => ("failed", None),
    };
    b.put_slice(b"{\"id\":");
    put_json_string(b, &ids.response);
    b.put_slice(b",\"object\":\"response\",\"created_at\":");
    put_u64(b, a.created);
    b.put_slice(b",\"status\":\"");
    b.put_slice(status.as_bytes());
    b.put_slice(b"\",\"background\":false,\"error\":");
    match stage {
        Stage::Failed(e) => {
            b.put_slice(b"{\"code\":");
            put_json_string(b, e.code.as_deref().unwrap_or("server_error"));
            b.put_slice(b",\"message\":");
            put_json_string(b, &e.message);
            b.put_u8(b'}');
        }
        _ => b.put_slice(b"null"),
    }
    b.put_slice(b",\"incomplete_details\":");
    match reason {
        Some(r) => {
            b.put_slice(b"{\"reason\":\"");
            b.put_slice(r.as_bytes());
            b.put_slice(b"\"}");
        }
        None => b.put_slice(b"null"),
    }
    b.put_slice(b",\"model\":");
    put_json_string(
        b,
        if a.model.is_empty() {
            &echo.model
        } else {
            &a.model
        },
    );
    b.put_slice(b",\"output\":[");
    if !matches!(stage, Stage::InProgress) {
        let items = layout(&a.blocks);
        let last = items.len().saturating_sub(1);
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                b.put_u8(b',');
            }
            let item_status = if i == last && status == "incomplete" {
                "incomplete"
            } else {
                "completed"
            };
            put_item(b, a, &ids.item(a, item, i), item, item_status);
        }
    }
    b.put_u8(b']');
    for (k, v) in &echo.fields {
        b.put_slice(b",\"");
        b.put_slice(k.as_bytes());
        b.put_slice(b"\":");
        b.put_slice(v.as_bytes());
    }
    b.put_slice(b",\"usage\":");
    match (&stage, a.usage) {
        (Stage::InProgress, _) | (_, None) => b.put_slice(b"null"),
        (_, Some(u)) => {
            b.put_slice(b"{\"input_tokens\":");
            put_u64(b, u.prompt);
            b.put_slice(b",\"input_tokens_details\":{\"cached_tokens\":");
            put_u64(b, u.cached);
            b.put_slice(b"},\"output_tokens\":");
            put_u64(b, u.completion);
            b.put_slice(b",\"output_tokens_details\":{\"reasoning_tokens\":");
            put_u64(b, u.reasoning);
            b.put_slice(b"},\"total_tokens\":");
            put_u64(b, u.total);
            b.put_u8(b'}');
        }
    }
    b.put_u8(b'}');
}

/// Renders a complete answer as a `response` object.
#[derive(Debug)]
pub struct Render {
    echo: Echo,
}

impl Render {
    /// A renderer echoing the client's request.
    pub fn new(inbound: &JsonEnvelope) -> Result<Self, TranslateError> {
        Ok(Self {
            echo: Echo::new(inbound)?,
        })
    }
}

impl answer::Render for Render {
    fn render(&self, a: &Answer) -> Result<Bytes, TranslateError> {
        let mut b = BytesMut::with_capacity(1024);
        put_response(&mut b, &self.echo, &Ids::of(a), a, Stage::Ended);
        Ok(b.freeze())
    }
}

/// Writes the Responses event stream, every event numbered by `sequence_number`:
///
/// | chat | Responses |
/// |---|---|
/// | first chunk | `response.created`, `response.in_progress` |
/// | first text after a call (or at the start) | `response.output_item.added` (message), `response.content_part.added` (`output_text`) |
/// | text delta | `response.output_text.delta` |
/// | refusal delta | (a `refusal` part) `response.refusal.delta` |
/// | tool call start | the open item's `…done` events, `response.output_item.added` (`function_call`) |
/// | tool arguments | `response.function_call_arguments.delta` |
/// | `finish_reason` … `[DONE]` | `response.output_text.done` / `response.function_call_arguments.done`, `response.content_part.done`, `response.output_item.done`, then `response.completed` (or `response.incomplete` for `length` and `content_filter`) with the whole response and usage |
/// | error | `error`, then `response.failed` |
///
/// Item ids: `msg_<chat id>_<output index>` for messages, `fc_<call id>` for calls; the
/// response id is `resp_<chat id>`.
#[derive(Debug)]
pub struct Sink {
    echo: Echo,
    ids: Ids,
    seq: u64,
    items: Vec<Item>,
    item_ids: Vec<String>,
}

impl Sink {
    /// A stream writer echoing the client's request.
    pub fn new(inbound: &JsonEnvelope) -> Result<Self, TranslateError> {
        Ok(Self {
            echo: Echo::new(inbound)?,
            ids: Ids::default(),
            seq: 0,
            items: Vec::new(),
            item_ids: Vec::new(),
        })
    }

    /// One event: `{"type":<name>,"sequence_number":n` + what `rest` writes + `}`.
    fn event(&mut self, name: &'static str, cap: usize, rest: impl FnOnce(&mut BytesMut)) -> Bytes {
        let seq = self.seq;
        self.seq += 1;
        sse_event(name, cap + 64, |b| {
            b.put_slice(b"{\"type\":\"");
            b.put_slice(name.as_bytes());
            b.put_slice(b"\",\"sequence_number\":");
            put_u64(b, seq);
            rest(b);
            b.put_u8(b'}');
        })
    }

    fn lifecycle(&mut self, name: &'static str, a: &Answer, stage: Stage<'_>) -> Bytes {
        let echo = &self.echo;
        let ids = &self.ids;
        let seq = self.seq;
        self.seq += 1;
        sse_event(name, 1024, |b| {
            b.put_slice(b"{\"type\":\"");
            b.put_slice(name.as_bytes());
            b.put_slice(b"\",\"sequence_number\":");
            put_u64(b, seq);
            b.put_slice(b",\"response\":");
            put_response(b, echo, ids, a, stage);
            b.put_u8(b'}');
        })
    }

    /// Where block `k` sits: (output index, content index), if it has been opened.
    fn position(&self, k: usize) -> Option<(usize, usize)> {
        self.items
            .iter()
            .enumerate()
            .find_map(|(i, item)| match *item {
                Item::Message { first, end } if (first..end).contains(&k) => Some((i, k - first)),
                Item::Call(c) if c == k => Some((i, 0)),
                _ => None,
            })
    }

    fn item_head(b: &mut BytesMut, item_id: &str, output_index: usize) {
        b.put_slice(b",\"item_id\":");
        put_json_string(b, item_id);
        b.put_slice(b",\"output_index\":");
        put_u64(b, output_index as u64);
    }

    fn part_added(&mut self, a: &Answer, i: usize, k: usize, c: usize, out: &mut Output) {
        let id = self.item_ids[i].clone();
        let block = a.blocks.get(k);
        out.push(self.event("response.content_part.added", 160, |b| {
            Self::item_head(b, &id, i);
            b.put_slice(b",\"content_index\":");
            put_u64(b, c as u64);
            b.put_slice(b",\"part\":");
            match block {
                Some(Block::Refusal(_)) => b.put_slice(b"{\"type\":\"refusal\",\"refusal\":\"\"}"),
                _ => put_part(b, None),
            }
        }));
    }

    fn part_done(&mut self, a: &Answer, i: usize, k: usize, c: usize, out: &mut Output) {
        let id = self.item_ids[i].clone();
        let block = a.blocks.get(k);
        let text = a.text_of(k);
        let refusal = matches!(block, Some(Block::Refusal(_)));
        let name = if refusal {
            "response.refusal.done"
        } else {
            "response.output_text.done"
        };
        out.push(self.event(name, text.len() + 128, |b| {
            Self::item_head(b, &id, i);
            b.put_slice(b",\"content_index\":");
            put_u64(b, c as u64);
            if refusal {
                b.put_slice(b",\"refusal\":");
                put_json_string(b, text);
            } else {
                b.put_slice(b",\"text\":");
                put_json_string(b, text);
                b.put_slice(b",\"logprobs\":[]");
            }
        }));
        out.push(
            self.event("response.content_part.done", text.len() + 160, |b| {
                Self::item_head(b, &id, i);
                b.put_slice(b",\"content_index\":");
                put_u64(b, c as u64);
                b.put_slice(b",\"part\":");
                put_part(b, block);
            }),
        );
    }

    fn close_item(&mut self, a: &Answer, status: &str, out: &mut Output) {
        let Some(i) = self.items.len().checked_sub(1) else {
            return;
        };
        let item = self.items[i];
        let id = self.item_ids[i].clone();
        match item {
            Item::Message { first, end } => {
                if end > first {
                    self.part_done(a, i, end - 1, end - 1 - first, out);
                }
            }
            Item::Call(k) => {
                let (name, args) = match a.blocks.get(k) {
                    Some(Block::Tool(t)) => (t.name.as_str(), t.arguments.as_str()),
                    _ => ("", ""),
                };
                out.push(self.event(
                    "response.function_call_arguments.done",
                    args.len() + 128,
                    |b| {
                        Self::item_head(b, &id, i);
                        b.put_slice(b",\"name\":");
                        put_json_string(b, name);
                        b.put_slice(b",\"arguments\":");
                        put_json_string(b, args);
                    },
                ));
            }
        }
        out.push(self.event("response.output_item.done", 256, |b| {
            b.put_slice(b",\"output_index\":");
            put_u64(b, i as u64);
            b.put_slice(b",\"item\":");
            put_item(b, a, &id, item, status);
        }));
    }
}

impl answer::Sink for Sink {
    fn start(&mut self, a: &Answer, out: &mut Output) {
        self.ids = Ids::of(a);
        let created = self.lifecycle("response.created", a, Stage::InProgress);
        out.push(created);
        let in_progress = self.lifecycle("response.in_progress", a, Stage::InProgress);
        out.push(in_progress);
    }

    fn open(&mut self, a: &Answer, k: usize, out: &mut Output) {
        let is_call = matches!(a.blocks.get(k), Some(Block::Tool(_)));
        if !is_call {
            if let Some(Item::Message { first, end }) = self.items.last().copied() {
                if end == k {
                    // Another part of the same message: close the previous part.
                    let i = self.items.len() - 1;
                    self.part_done(a, i, k - 1, k - 1 - first, out);
                    self.items[i] = Item::Message { first, end: k + 1 };
                    self.part_added(a, i, k, k - first, out);
                    return;
                }
            }
        }
        self.close_item(a, "completed", out);
        let item = if is_call {
            Item::Call(k)
        } else {
            Item::Message {
                first: k,
                end: k + 1,
            }
        };
        let i = self.items.len();
        let id = self.ids.item(a, item, i);
        self.items.push(item);
        self.item_ids.push(id.clone());
        out.push(self.event("response.output_item.added", 256, |b| {
            b.put_slice(b",\"output_index\":");
            put_u64(b, i as u64);
            b.put_slice(b",\"item\":");
            match item {
                Item::Message { .. } => {
                    b.put_slice(b"{\"id\":");
                    put_json_string(b, &id);
                    b.put_slice(
                        b",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}",
                    );
                }
                Item::Call(_) => put_item(b, a, &id, item, "in_progress"),
            }
        }));
        if !is_call {
            self.part_added(a, i, k, 0, out);
        }
    }

    fn delta(&mut self, a: &Answer, k: usize, fragment: &str, out: &mut Output) {
        let Some((i, c)) = self.position(k) else {
            return;
        };
        let id = &self.item_ids[i];
        let seq = self.seq;
        self.seq += 1;
        let (name, content_index, logprobs): (&'static str, bool, bool) = match a.blocks.get(k) {
            Some(Block::Tool(_)) => ("response.function_call_arguments.delta", false, false),
            Some(Block::Refusal(_)) => ("response.refusal.delta", true, false),
            _ => ("response.output_text.delta", true, true),
        };
        out.push(sse_event(name, fragment.len() + id.len() + 128, |b| {
            b.put_slice(b"{\"type\":\"");
            b.put_slice(name.as_bytes());
            b.put_slice(b"\",\"sequence_number\":");
            put_u64(b, seq);
            Self::item_head(b, id, i);
            if content_index {
                b.put_slice(b",\"content_index\":");
                put_u64(b, c as u64);
            }
            b.put_slice(b",\"delta\":");
            put_json_string(b, fragment);
            if logprobs {
                b.put_slice(b",\"logprobs\":[]");
            }
            b.put_u8(b'}');
        }));
    }

    fn end(&mut self, a: &Answer, out: &mut Output) {
        let (status, _) = outcome(a);
        self.close_item(
            a,
            if status == "incomplete" {
                "incomplete"
            } else {
                "completed"
            },
            out,
        );
        let name = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        let done = self.lifecycle(name, a, Stage::Ended);
        out.push(done);
    }

    fn error(&mut self, a: &Answer, error: &ErrorBody, out: &mut Output) {
        out.push(self.event("error", error.message.len() + 96, |b| {
            b.put_slice(b",\"code\":");
            put_json_string(b, error.code.as_deref().unwrap_or(&error.kind));
            b.put_slice(b",\"message\":");
            put_json_string(b, &error.message);
            b.put_slice(b",\"param\":");
            match &error.param {
                Some(p) => put_json_string(b, p),
                None => b.put_slice(b"null"),
            }
        }));
        let failed = self.lifecycle("response.failed", a, Stage::Failed(error));
        out.push(failed);
    }
}

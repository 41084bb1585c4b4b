//! `POST /v1/chat/completions`: messages by role, content parts, tools, tool choice, response
//! format; and the sampling parameters shared with legacy completions.
//!
//! Object keys may come in any order (`content` before `role`), so each object's checks that
//! depend on a sibling run when the object ends, from what the walk noted on the way.

use std::cell::Cell;

use serde::de::{MapAccess, SeqAccess};

use super::walk::{
    elements, halt, next_borrowed_key, next_key, skip_value, str_seen, value, value_here, Any,
    Bool, Cx, Fields, Got, Int, MaxChars, Node, Num, Number, Object, OneOf, Pick, Res, Str,
    StringMap, Strings,
};
use super::Code;

/// The chat request's top-level fields.
#[derive(Default)]
pub(super) struct Chat {
    messages: bool,
}

impl<'a> Fields<'a> for Chat {
    fn field<A: MapAccess<'a>>(
        &mut self,
        cx: &mut Cx<'a>,
        key: &'a str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if sampling(cx, key, map)? {
            return Ok(());
        }
        let cap = cx.limits.max_tokens;
        match key {
            "messages" => {
                self.messages = true;
                value_here(cx, map, Messages)
            }
            "max_tokens" | "max_completion_tokens" => {
                value_here(cx, map, Int::capped(1, None, cap))
            }
            "logprobs" | "store" | "parallel_tool_calls" => value_here(cx, map, Bool),
            "top_logprobs" => value_here(cx, map, Int::range(0, 20)),
            "tools" => value_here(cx, map, Tools),
            "tool_choice" => value_here(cx, map, ToolChoice),
            "functions" => value_here(cx, map, Functions),
            "function_call" => value_here(cx, map, FunctionChoice),
            "response_format" => value_here(cx, map, ResponseFormat),
            "metadata" => value_here(cx, map, StringMap),
            "modalities" => value_here(cx, map, Strings),
            "safety_identifier" => value_here(cx, map, MaxChars(64)),
            // Open enumerations OpenAI keeps extending: checked as strings only.
            "reasoning_effort" | "service_tier" | "verbosity" | "prompt_cache_key" => {
                value_here(cx, map, Str::OPTIONAL)
            }
            "audio" | "prediction" | "web_search_options" => value_here(cx, map, Object),
            _ => skip_value(cx, map),
        }
    }

    fn finish(self, cx: &mut Cx<'a>) -> Res {
        if self.messages {
            Ok(())
        } else {
            Err(cx.missing("messages"))
        }
    }
}

/// The parameters chat and legacy completions share. Returns `false` for any other key (its
/// value not yet read).
pub(super) fn sampling<'a, A: MapAccess<'a>>(
    cx: &mut Cx<'a>,
    key: &str,
    map: &mut A,
) -> Result<bool, A::Error> {
    let max_n = Int::capped(1, Some(128), Some(cx.limits.max_n));
    match key {
        "temperature" => value_here(cx, map, Number { min: 0.0, max: 2.0 })?,
        "top_p" => value_here(cx, map, Number { min: 0.0, max: 1.0 })?,
        "presence_penalty" | "frequency_penalty" => value_here(
            cx,
            map,
            Number {
                min: -2.0,
                max: 2.0,
            },
        )?,
        "n" => value_here(cx, map, max_n)?,
        "seed" => value_here(cx, map, Int::ANY)?,
        "stop" => value_here(cx, map, Stop)?,
        "logit_bias" => value_here(cx, map, LogitBias)?,
        "stream" => value_here(cx, map, Bool)?,
        "stream_options" => value_here(cx, map, StreamOptions)?,
        "user" => value_here(cx, map, Str::OPTIONAL)?,
        _ => return Ok(false),
    }
    Ok(true)
}

// ---- messages ----

struct Messages;

impl<'a> Node<'a> for Messages {
    fn expected(&self) -> &'static str {
        "an array of messages"
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        let n = elements(cx, &mut seq, |_| Message)?;
        if n == 0 {
            return Err(halt(cx.empty_array()));
        }
        let max = cx.limits.max_messages;
        if n > max {
            return Err(halt(cx.too_long(max, n, "")));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

const ROLE_NAMES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];
const ROLES: &[Role] = &[
    Role::System,
    Role::Developer,
    Role::User,
    Role::Assistant,
    Role::Tool,
    Role::Function,
];

impl Role {
    fn name(self) -> &'static str {
        ROLE_NAMES[self as usize]
    }

    /// The part types its content array may hold. Tool results take the user's media parts
    /// as well as text: OpenAI's schema says text only, but Anthropic and Gemini take images
    /// in tool results, and clients send them through this gateway.
    fn parts(self) -> &'static [PartKind] {
        use PartKind::*;
        match self {
            Role::System | Role::Developer => &[Text],
            Role::User | Role::Tool => &[Text, ImageUrl, InputAudio, File],
            Role::Assistant => &[Text, Refusal],
            Role::Function => &[],
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PartKind {
    Text,
    ImageUrl,
    InputAudio,
    File,
    Refusal,
}

const PART_NAMES: &[&str] = &["text", "image_url", "input_audio", "file", "refusal"];
const PART_KINDS: &[PartKind] = &[
    PartKind::Text,
    PartKind::ImageUrl,
    PartKind::InputAudio,
    PartKind::File,
    PartKind::Refusal,
];

impl PartKind {
    /// The type's name, which is also the key of its payload (`{"type":"text","text":…}`).
    fn name(self) -> &'static str {
        PART_NAMES[self as usize]
    }
}

/// What a message's `content` turned out to be.
#[derive(Default, Clone, Copy)]
enum Form {
    #[default]
    Absent,
    Null,
    Text,
    /// An array with this many parts.
    Parts(usize),
}

#[derive(Default)]
struct ContentSeen {
    form: Form,
    /// The first index of each part type, by `PartKind`.
    first: [Option<usize>; 5],
}

#[derive(Clone, Copy)]
enum MsgKey {
    Role,
    Content,
    Name,
    ToolCallId,
    ToolCalls,
    FunctionCall,
    Refusal,
    Audio,
    Other,
}

fn msg_key(k: &str) -> MsgKey {
    match k {
        "role" => MsgKey::Role,
        "content" => MsgKey::Content,
        "name" => MsgKey::Name,
        "tool_call_id" => MsgKey::ToolCallId,
        "tool_calls" => MsgKey::ToolCalls,
        "function_call" => MsgKey::FunctionCall,
        "refusal" => MsgKey::Refusal,
        "audio" => MsgKey::Audio,
        _ => MsgKey::Other,
    }
}

struct Message;

impl<'a> Node<'a> for Message {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut role = None;
        let mut content = ContentSeen::default();
        let mut tool_call_id = false;
        let mut name = false;
        while let Some(key) = next_key(&mut map, msg_key)? {
            match key {
                MsgKey::Role => value(
                    cx,
                    &mut map,
                    "role",
                    Pick {
                        names: ROLE_NAMES,
                        values: ROLES,
                        out: &mut role,
                    },
                )?,
                MsgKey::Content => value(cx, &mut map, "content", Content(&mut content))?,
                MsgKey::Name => value(
                    cx,
                    &mut map,
                    "name",
                    Str {
                        nullable: true,
                        seen: Some(&mut name),
                    },
                )?,
                MsgKey::ToolCallId => {
                    value(cx, &mut map, "tool_call_id", str_seen(&mut tool_call_id))?
                }
                MsgKey::ToolCalls => value(cx, &mut map, "tool_calls", ToolCalls)?,
                MsgKey::FunctionCall => value(cx, &mut map, "function_call", NameAndText::CALL)?,
                MsgKey::Refusal => value(cx, &mut map, "refusal", Str::OPTIONAL)?,
                MsgKey::Audio => value(cx, &mut map, "audio", AudioRef)?,
                MsgKey::Other => skip_value(cx, &mut map)?,
            }
        }
        let Some(role) = role else {
            return Err(halt(cx.missing("role")));
        };
        by_role(cx, role, &content, tool_call_id, name).map_err(halt)
    }
}

/// The checks that depend on the role, once the whole message is read.
fn by_role<'a>(
    cx: &mut Cx<'a>,
    role: Role,
    content: &ContentSeen,
    tool_call_id: bool,
    name: bool,
) -> Res {
    const STRING_OR_PARTS: &str = "one of a string or array of objects";
    match (role, content.form) {
        (Role::Assistant | Role::Function, Form::Absent | Form::Null) => {}
        (_, Form::Absent) => return Err(cx.missing("content")),
        (_, Form::Null) => {
            cx.push_key("content");
            return Err(cx.wrong_type(STRING_OR_PARTS, Got::Null));
        }
        (_, Form::Text) => {}
        (Role::Function, Form::Parts(_)) => {
            cx.push_key("content");
            return Err(cx.wrong_type("a string", Got::Array));
        }
        // Clients send an assistant turn that only called tools with `"content": []`.
        (Role::Assistant, Form::Parts(0)) => {}
        (_, Form::Parts(0)) => {
            cx.push_key("content");
            return Err(cx.empty_array());
        }
        (_, Form::Parts(_)) => {
            let allowed = role.parts();
            let refused = PART_KINDS
                .iter()
                .filter(|k| !allowed.contains(k))
                .filter_map(|k| content.first[*k as usize].map(|i| (i, *k)))
                .min_by_key(|(i, _)| *i);
            if let Some((i, kind)) = refused {
                cx.push_key("content");
                cx.push_index(i);
                cx.push_key("type");
                let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
                let supported = super::walk::quoted_list(&names);
                return Err(cx.fail(Code::InvalidValue, |p| {
                    format!(
                        "Invalid value for '{p}': '{}' parts are not allowed in {} messages. Supported values are: {supported}.",
                        kind.name(),
                        role.name()
                    )
                }));
            }
        }
    }
    match role {
        Role::Tool if !tool_call_id => Err(cx.missing("tool_call_id")),
        Role::Function if !name => Err(cx.missing("name")),
        _ => Ok(()),
    }
}

struct Content<'o>(&'o mut ContentSeen);

impl<'a> Node<'a> for Content<'_> {
    fn expected(&self) -> &'static str {
        "one of a string or array of objects"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        self.0.form = Form::Null;
        Ok(())
    }
    fn string(self, _: &mut Cx<'a>, _: &str) -> Res {
        self.0.form = Form::Text;
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        let first = Cell::new([None; 5]);
        let n = elements(cx, &mut seq, |i| Part {
            index: i,
            first: &first,
        })?;
        self.0.form = Form::Parts(n);
        self.0.first = first.get();
        Ok(())
    }
}

/// One content part: its `type` and the payload named after it, in either order.
struct Part<'o> {
    index: usize,
    first: &'o Cell<[Option<usize>; 5]>,
}

impl<'a> Node<'a> for Part<'_> {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut kind = None;
        let mut has = [false; 5];
        while let Some(key) = next_key(&mut map, part_key)? {
            match key {
                PartKey::Type => value(
                    cx,
                    &mut map,
                    "type",
                    Pick {
                        names: PART_NAMES,
                        values: PART_KINDS,
                        out: &mut kind,
                    },
                )?,
                PartKey::Payload(PartKind::Text) => {
                    value(cx, &mut map, "text", str_seen(&mut has[0]))?
                }
                PartKey::Payload(PartKind::ImageUrl) => {
                    value(cx, &mut map, "image_url", ImageUrl(&mut has[1]))?
                }
                PartKey::Payload(PartKind::InputAudio) => {
                    value(cx, &mut map, "input_audio", InputAudio(&mut has[2]))?
                }
                PartKey::Payload(PartKind::File) => value(cx, &mut map, "file", File(&mut has[3]))?,
                PartKey::Payload(PartKind::Refusal) => {
                    value(cx, &mut map, "refusal", str_seen(&mut has[4]))?
                }
                PartKey::Other => skip_value(cx, &mut map)?,
            }
        }
        let Some(kind) = kind else {
            return Err(halt(cx.missing("type")));
        };
        if !has[kind as usize] {
            return Err(halt(cx.missing(kind.name())));
        }
        let mut first = self.first.get();
        first[kind as usize].get_or_insert(self.index);
        self.first.set(first);
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum PartKey {
    Type,
    Payload(PartKind),
    Other,
}

fn part_key(k: &str) -> PartKey {
    match k {
        "type" => PartKey::Type,
        "text" => PartKey::Payload(PartKind::Text),
        "image_url" => PartKey::Payload(PartKind::ImageUrl),
        "input_audio" => PartKey::Payload(PartKind::InputAudio),
        "file" => PartKey::Payload(PartKind::File),
        "refusal" => PartKey::Payload(PartKind::Refusal),
        _ => PartKey::Other,
    }
}

/// `{"url": …, "detail": …}`, or the URL alone as a string (vLLM and other compatible
/// servers accept that form).
struct ImageUrl<'o>(&'o mut bool);

impl<'a> Node<'a> for ImageUrl<'_> {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn string(self, _: &mut Cx<'a>, _: &str) -> Res {
        *self.0 = true;
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut url = false;
        while let Some(key) = next_key(&mut map, |k| match k {
            "url" => 1,
            "detail" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(cx, &mut map, "url", str_seen(&mut url))?,
                2 => value(cx, &mut map, "detail", Str::OPTIONAL)?,
                _ => skip_value(cx, &mut map)?,
            }
        }
        if !url {
            return Err(halt(cx.missing("url")));
        }
        *self.0 = true;
        Ok(())
    }
}

/// `{"data": base64, "format": "wav"}`.
struct InputAudio<'o>(&'o mut bool);

impl<'a> Node<'a> for InputAudio<'_> {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut data, mut format) = (false, false);
        while let Some(key) = next_key(&mut map, |k| match k {
            "data" => 1,
            "format" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(cx, &mut map, "data", str_seen(&mut data))?,
                2 => value(cx, &mut map, "format", str_seen(&mut format))?,
                _ => skip_value(cx, &mut map)?,
            }
        }
        if !data {
            return Err(halt(cx.missing("data")));
        }
        if !format {
            return Err(halt(cx.missing("format")));
        }
        *self.0 = true;
        Ok(())
    }
}

/// `{"file_data"?, "file_id"?, "filename"?}`.
struct File<'o>(&'o mut bool);

impl<'a> Node<'a> for File<'_> {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = next_key(&mut map, |k| match k {
            "file_data" => Some("file_data"),
            "file_id" => Some("file_id"),
            "filename" => Some("filename"),
            _ => None,
        })? {
            match key {
                Some(k) => value(cx, &mut map, k, Str::OPTIONAL)?,
                None => skip_value(cx, &mut map)?,
            }
        }
        *self.0 = true;
        Ok(())
    }
}

/// A message's `audio`: a reference to an earlier audio answer, `{"id": …}`.
struct AudioRef;

impl<'a> Node<'a> for AudioRef {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut id = false;
        while let Some(is_id) = next_key(&mut map, |k| k == "id")? {
            if is_id {
                value(cx, &mut map, "id", str_seen(&mut id))?;
            } else {
                skip_value(cx, &mut map)?;
            }
        }
        if id {
            Ok(())
        } else {
            Err(halt(cx.missing("id")))
        }
    }
}

// ---- tool calls in assistant messages ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum ToolKind {
    Function,
    Custom,
}

const TOOL_NAMES: &[&str] = &["function", "custom"];
const TOOL_KINDS: &[ToolKind] = &[ToolKind::Function, ToolKind::Custom];

/// `tool_calls`: the calls an assistant turn made.
struct ToolCalls;

impl<'a> Node<'a> for ToolCalls {
    fn expected(&self) -> &'static str {
        "an array of objects"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        elements(cx, &mut seq, |_| ToolCall)?;
        Ok(())
    }
}

/// `{"id", "type", "function": {"name", "arguments"}}` or a custom tool's
/// `{"id", "type": "custom", "custom": {"name", "input"}}`. A missing `type` reads as
/// `function`, as the translators read it.
struct ToolCall;

impl<'a> Node<'a> for ToolCall {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut id, mut kind, mut function, mut custom) = (false, None, false, false);
        while let Some(key) = next_key(&mut map, |k| match k {
            "id" => 1,
            "type" => 2,
            "function" => 3,
            "custom" => 4,
            _ => 0,
        })? {
            match key {
                1 => value(cx, &mut map, "id", str_seen(&mut id))?,
                2 => value(
                    cx,
                    &mut map,
                    "type",
                    Pick {
                        names: TOOL_NAMES,
                        values: TOOL_KINDS,
                        out: &mut kind,
                    },
                )?,
                3 => {
                    function = true;
                    value(cx, &mut map, "function", NameAndText::CALL)?
                }
                4 => {
                    custom = true;
                    value(cx, &mut map, "custom", NameAndText::CUSTOM_CALL)?
                }
                _ => skip_value(cx, &mut map)?,
            }
        }
        if !id {
            return Err(halt(cx.missing("id")));
        }
        match kind.unwrap_or(ToolKind::Function) {
            ToolKind::Function if !function => Err(halt(cx.missing("function"))),
            ToolKind::Custom if !custom => Err(halt(cx.missing("custom"))),
            _ => Ok(()),
        }
    }
}

/// An object with two required strings: a call's `{"name", "arguments"}` or a custom call's
/// `{"name", "input"}`.
struct NameAndText {
    text: &'static str,
    nullable: bool,
}

impl NameAndText {
    const CALL: NameAndText = NameAndText {
        text: "arguments",
        nullable: true,
    };
    const CUSTOM_CALL: NameAndText = NameAndText {
        text: "input",
        nullable: false,
    };
}

impl<'a> Node<'a> for NameAndText {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, cx: &mut Cx<'a>) -> Res {
        if self.nullable {
            Ok(())
        } else {
            Err(cx.wrong_type("an object", Got::Null))
        }
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut name, mut text) = (false, false);
        let text_key = self.text;
        while let Some(key) = next_key(&mut map, |k| match k {
            "name" => Some("name"),
            "arguments" => Some("arguments"),
            "input" => Some("input"),
            _ => None,
        })? {
            match key {
                Some("name") => value(cx, &mut map, "name", str_seen(&mut name))?,
                Some(k) if k == text_key => value(cx, &mut map, k, str_seen(&mut text))?,
                _ => skip_value(cx, &mut map)?,
            }
        }
        if !name {
            return Err(halt(cx.missing("name")));
        }
        if !text {
            return Err(halt(cx.missing(text_key)));
        }
        Ok(())
    }
}

// ---- tools ----

/// `tools`: at most `max_tools` function or custom tools.
struct Tools;

impl<'a> Node<'a> for Tools {
    fn expected(&self) -> &'static str {
        "an array of tools"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        let n = elements(cx, &mut seq, |_| Tool)?;
        let max = cx.limits.max_tools;
        if n > max {
            return Err(halt(cx.too_long(max, n, "")));
        }
        Ok(())
    }
}

/// `{"type": "function", "function": {...}}` or `{"type": "custom", "custom": {...}}`.
struct Tool;

impl<'a> Node<'a> for Tool {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut kind, mut function, mut custom) = (None, false, false);
        while let Some(key) = next_key(&mut map, |k| match k {
            "type" => 1,
            "function" => 2,
            "custom" => 3,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    &mut map,
                    "type",
                    Pick {
                        names: TOOL_NAMES,
                        values: TOOL_KINDS,
                        out: &mut kind,
                    },
                )?,
                2 => {
                    function = true;
                    value(cx, &mut map, "function", Definition::FUNCTION)?
                }
                3 => {
                    custom = true;
                    value(cx, &mut map, "custom", Definition::CUSTOM)?
                }
                _ => skip_value(cx, &mut map)?,
            }
        }
        match kind {
            None => Err(halt(cx.missing("type"))),
            Some(ToolKind::Function) if !function => Err(halt(cx.missing("function"))),
            Some(ToolKind::Custom) if !custom => Err(halt(cx.missing("custom"))),
            _ => Ok(()),
        }
    }
}

/// A function (or custom tool, or `json_schema` format) definition: a valid `name`, an
/// optional `description`, and its schema under `schema_key` as an object.
struct Definition {
    schema_key: &'static str,
}

impl Definition {
    const FUNCTION: Definition = Definition {
        schema_key: "parameters",
    };
    const CUSTOM: Definition = Definition {
        schema_key: "format",
    };
    const JSON_SCHEMA: Definition = Definition {
        schema_key: "schema",
    };
}

impl<'a> Node<'a> for Definition {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut name = false;
        let schema_key = self.schema_key;
        while let Some(key) = next_key(&mut map, |k| match k {
            "name" => Some("name"),
            "description" => Some("description"),
            "strict" => Some("strict"),
            "parameters" => Some("parameters"),
            "format" => Some("format"),
            "schema" => Some("schema"),
            _ => None,
        })? {
            match key {
                Some("name") => value(cx, &mut map, "name", FunctionName(&mut name))?,
                Some("description") => value(cx, &mut map, "description", Str::OPTIONAL)?,
                Some("strict") => value(cx, &mut map, "strict", Bool)?,
                Some(k) if k == schema_key => value(cx, &mut map, k, Object)?,
                _ => skip_value(cx, &mut map)?,
            }
        }
        if name {
            Ok(())
        } else {
            Err(halt(cx.missing("name")))
        }
    }
}

/// The longest function name OpenAI (and Anthropic, and Bedrock) accept.
const NAME_MAX: usize = 64;

/// A function name: 1 to 64 of `a-z A-Z 0-9 _ -`, and also `.` and `:`, which Azure OpenAI and
/// Gemini accept (OpenAI's own pattern is `^[a-zA-Z0-9_-]+$`).
struct FunctionName<'o>(&'o mut bool);

impl<'a> Node<'a> for FunctionName<'_> {
    fn expected(&self) -> &'static str {
        "a string"
    }
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        let valid = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':');
        if v.is_empty() || !v.bytes().all(valid) {
            let shown = super::walk::shorten(v).to_owned();
            return Err(cx.fail(Code::InvalidValue, |p| {
                format!(
                    "Invalid '{p}': string does not match pattern. Expected 1 to {NAME_MAX} letters, digits, underscores, dashes, dots or colons, but got '{shown}'."
                )
            }));
        }
        if v.len() > NAME_MAX {
            return Err(cx.string_too_long(NAME_MAX, v.len()));
        }
        *self.0 = true;
        Ok(())
    }
}

/// `tool_choice`: `none` / `auto` / `required`, or an object naming a function, a custom tool
/// or the allowed tools. An object without `type` is read by its payload, as the translators
/// read it.
struct ToolChoice;

const CHOICE_NAMES: &[&str] = &["function", "custom", "allowed_tools"];
const CHOICES: &[u8] = &[0, 1, 2];
const CHOICE_KEYS: [&str; 3] = ["function", "custom", "allowed_tools"];

impl<'a> Node<'a> for ToolChoice {
    fn expected(&self) -> &'static str {
        "a string or an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        OneOf::optional(&["none", "auto", "required"]).string(cx, v)
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut kind = None;
        let mut payload = [false; 3];
        while let Some(key) = next_key(&mut map, |k| match k {
            "type" => 1u8,
            "function" => 2,
            "custom" => 3,
            "allowed_tools" => 4,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    &mut map,
                    "type",
                    Pick {
                        names: CHOICE_NAMES,
                        values: CHOICES,
                        out: &mut kind,
                    },
                )?,
                2 | 3 => {
                    let i = usize::from(key - 2);
                    payload[i] = true;
                    value(cx, &mut map, CHOICE_KEYS[i], NamedTool)?
                }
                4 => {
                    payload[2] = true;
                    value(cx, &mut map, "allowed_tools", AllowedTools)?
                }
                _ => skip_value(cx, &mut map)?,
            }
        }
        let kind = kind
            .map(usize::from)
            .or_else(|| payload.iter().position(|p| *p));
        match kind {
            None => Err(halt(cx.missing("type"))),
            Some(i) if !payload[i] => Err(halt(cx.missing(CHOICE_KEYS[i]))),
            Some(_) => Ok(()),
        }
    }
}

/// `{"name": …}`.
struct NamedTool;

impl<'a> Node<'a> for NamedTool {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let mut name = false;
        while let Some(is_name) = next_key(&mut map, |k| k == "name")? {
            if is_name {
                value(cx, &mut map, "name", str_seen(&mut name))?;
            } else {
                skip_value(cx, &mut map)?;
            }
        }
        if name {
            Ok(())
        } else {
            Err(halt(cx.missing("name")))
        }
    }
}

/// `{"mode": "auto" | "required", "tools": [{…}]}`.
struct AllowedTools;

impl<'a> Node<'a> for AllowedTools {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut mode, mut tools) = (None, false);
        while let Some(key) = next_key(&mut map, |k| match k {
            "mode" => 1,
            "tools" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    &mut map,
                    "mode",
                    Pick {
                        names: &["auto", "required"],
                        values: &[(), ()],
                        out: &mut mode,
                    },
                )?,
                2 => {
                    tools = true;
                    value(cx, &mut map, "tools", Objects)?
                }
                _ => skip_value(cx, &mut map)?,
            }
        }
        if mode.is_none() {
            return Err(halt(cx.missing("mode")));
        }
        if !tools {
            return Err(halt(cx.missing("tools")));
        }
        Ok(())
    }
}

/// An array of objects of any content.
struct Objects;

impl<'a> Node<'a> for Objects {
    fn expected(&self) -> &'static str {
        "an array of objects"
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        elements(cx, &mut seq, |_| RequiredObject)?;
        Ok(())
    }
}

struct RequiredObject;

impl<'a> Node<'a> for RequiredObject {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, map: A) -> Result<(), A::Error> {
        Any.object(cx, map)
    }
}

/// The deprecated `functions`: function definitions.
struct Functions;

impl<'a> Node<'a> for Functions {
    fn expected(&self) -> &'static str {
        "an array of objects"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        let n = elements(cx, &mut seq, |_| Definition::FUNCTION)?;
        let max = cx.limits.max_tools;
        if n > max {
            return Err(halt(cx.too_long(max, n, "")));
        }
        Ok(())
    }
}

/// The deprecated top-level `function_call`: `none`, `auto` or `{"name": …}`.
struct FunctionChoice;

impl<'a> Node<'a> for FunctionChoice {
    fn expected(&self) -> &'static str {
        "a string or an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: &str) -> Res {
        OneOf::optional(&["none", "auto"]).string(cx, v)
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, map: A) -> Result<(), A::Error> {
        NamedTool.object(cx, map)
    }
}

/// `response_format`: `text`, `json_object`, or `json_schema` with its named schema.
struct ResponseFormat;

#[derive(Clone, Copy, PartialEq, Eq)]
enum FormatKind {
    Text,
    JsonObject,
    JsonSchema,
}

impl<'a> Node<'a> for ResponseFormat {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        let (mut kind, mut schema) = (None, false);
        while let Some(key) = next_key(&mut map, |k| match k {
            "type" => 1,
            "json_schema" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    &mut map,
                    "type",
                    Pick {
                        names: &["text", "json_object", "json_schema"],
                        values: &[
                            FormatKind::Text,
                            FormatKind::JsonObject,
                            FormatKind::JsonSchema,
                        ],
                        out: &mut kind,
                    },
                )?,
                2 => {
                    schema = true;
                    value(cx, &mut map, "json_schema", Definition::JSON_SCHEMA)?
                }
                _ => skip_value(cx, &mut map)?,
            }
        }
        match kind {
            None => Err(halt(cx.missing("type"))),
            Some(FormatKind::JsonSchema) if !schema => Err(halt(cx.missing("json_schema"))),
            Some(_) => Ok(()),
        }
    }
}

// ---- sampling parameters ----

/// `stop`: a string, or up to `max_stop` strings.
struct Stop;

impl<'a> Node<'a> for Stop {
    fn expected(&self) -> &'static str {
        "a string or an array of strings"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, _: &mut Cx<'a>, _: &str) -> Res {
        Ok(())
    }
    fn array<A: SeqAccess<'a>>(self, cx: &mut Cx<'a>, mut seq: A) -> Result<(), A::Error> {
        let n = elements(cx, &mut seq, |_| Str::REQUIRED)?;
        let max = cx.limits.max_stop;
        if n > max {
            return Err(halt(cx.too_long(max, n, "")));
        }
        Ok(())
    }
}

/// `logit_bias`: token ids (as strings of digits) to numbers.
struct LogitBias;

impl<'a> Node<'a> for LogitBias {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = next_borrowed_key(&mut map)? {
            match key {
                Some(k) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => {
                    let shown = super::walk::shorten(key.unwrap_or("")).to_owned();
                    return Err(halt(cx.fail(Code::InvalidValue, |p| {
                        format!(
                            "Invalid key in '{p}': '{shown}'. Keys must be token IDs (non-negative integers written as strings)."
                        )
                    })));
                }
            }
            value_here(cx, &mut map, Bias)?;
        }
        Ok(())
    }
}

struct Bias;

impl<'a> Node<'a> for Bias {
    fn expected(&self) -> &'static str {
        "a number"
    }
    fn number(self, _: &mut Cx<'a>, _: Num) -> Res {
        Ok(())
    }
}

/// `stream_options`: `include_usage`, `include_obfuscation`.
struct StreamOptions;

impl<'a> Node<'a> for StreamOptions {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn object<A: MapAccess<'a>>(self, cx: &mut Cx<'a>, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = next_key(&mut map, |k| match k {
            "include_usage" => Some("include_usage"),
            "include_obfuscation" => Some("include_obfuscation"),
            _ => None,
        })? {
            match key {
                Some(k) => value(cx, &mut map, k, Bool)?,
                None => skip_value(cx, &mut map)?,
            }
        }
        Ok(())
    }
}

//! `POST /v1/chat/completions`: the top-level fields, and messages by role with their
//! content parts. Tools live in `tools`, the sampling parameters in `sampling`.
//!
//! Object keys may come in any order (`content` before `role`), so each object's checks that
//! depend on a sibling run when the object ends, from what the walk noted on the way.

use std::cell::Cell;

use super::lexer::Text;
use super::sampling::sampling;
use super::shapes::{str_seen, Bool, Int, MaxChars, Object, Pick, Str, StringMap, Strings};
use super::tools::{
    FunctionChoice, Functions, NameAndText, ResponseFormat, ToolCalls, ToolChoice, Tools,
};
use super::walk::{elements, skip_value, value, value_here, Cx, Fields, Got, Map, Node, Res, Seq};
use super::Code;

/// The chat request's top-level fields.
#[derive(Default)]
pub(super) struct Chat {
    messages: bool,
}

impl<'a> Fields<'a> for Chat {
    fn field(&mut self, cx: &mut Cx<'a>, key: &'a str, map: &mut Map<'_, 'a>) -> Res {
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

struct Messages;

impl<'a> Node<'a> for Messages {
    fn expected(&self) -> &'static str {
        "an array of messages"
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let n = elements(cx, seq, |_| Message)?;
        if n == 0 {
            return Err(cx.empty_array());
        }
        let max = cx.limits.max_messages;
        if n > max {
            return Err(cx.too_long(max, n, ""));
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut role = None;
        let mut content = ContentSeen::default();
        let mut tool_call_id = false;
        let mut name = false;
        while let Some(key) = map.next_key(cx, msg_key)? {
            match key {
                MsgKey::Role => value(
                    cx,
                    map,
                    "role",
                    Pick {
                        names: ROLE_NAMES,
                        values: ROLES,
                        out: &mut role,
                    },
                )?,
                MsgKey::Content => value(cx, map, "content", Content(&mut content))?,
                MsgKey::Name => value(
                    cx,
                    map,
                    "name",
                    Str {
                        nullable: true,
                        seen: Some(&mut name),
                    },
                )?,
                MsgKey::ToolCallId => value(cx, map, "tool_call_id", str_seen(&mut tool_call_id))?,
                MsgKey::ToolCalls => value(cx, map, "tool_calls", ToolCalls)?,
                MsgKey::FunctionCall => value(cx, map, "function_call", NameAndText::CALL)?,
                MsgKey::Refusal => value(cx, map, "refusal", Str::OPTIONAL)?,
                MsgKey::Audio => value(cx, map, "audio", AudioRef)?,
                MsgKey::Other => skip_value(cx, map)?,
            }
        }
        let Some(role) = role else {
            return Err(cx.missing("role"));
        };
        by_role(cx, role, &content, tool_call_id, name)
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
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        self.0.form = Form::Text;
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let first = Cell::new([None; 5]);
        let n = elements(cx, seq, |i| Part {
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut kind = None;
        let mut has = [false; 5];
        while let Some(key) = map.next_key(cx, part_key)? {
            match key {
                PartKey::Type => value(
                    cx,
                    map,
                    "type",
                    Pick {
                        names: PART_NAMES,
                        values: PART_KINDS,
                        out: &mut kind,
                    },
                )?,
                PartKey::Payload(PartKind::Text) => value(cx, map, "text", str_seen(&mut has[0]))?,
                PartKey::Payload(PartKind::ImageUrl) => {
                    value(cx, map, "image_url", ImageUrl(&mut has[1]))?
                }
                PartKey::Payload(PartKind::InputAudio) => {
                    value(cx, map, "input_audio", InputAudio(&mut has[2]))?
                }
                PartKey::Payload(PartKind::File) => value(cx, map, "file", File(&mut has[3]))?,
                PartKey::Payload(PartKind::Refusal) => {
                    value(cx, map, "refusal", str_seen(&mut has[4]))?
                }
                PartKey::Other => skip_value(cx, map)?,
            }
        }
        let Some(kind) = kind else {
            return Err(cx.missing("type"));
        };
        if !has[kind as usize] {
            return Err(cx.missing(kind.name()));
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
    fn string(self, _: &mut Cx<'a>, _: Text<'a>) -> Res {
        *self.0 = true;
        Ok(())
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut url = false;
        while let Some(key) = map.next_key(cx, |k| match k {
            "url" => 1,
            "detail" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(cx, map, "url", str_seen(&mut url))?,
                2 => value(cx, map, "detail", Str::OPTIONAL)?,
                _ => skip_value(cx, map)?,
            }
        }
        if !url {
            return Err(cx.missing("url"));
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut data, mut format) = (false, false);
        while let Some(key) = map.next_key(cx, |k| match k {
            "data" => 1,
            "format" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(cx, map, "data", str_seen(&mut data))?,
                2 => value(cx, map, "format", str_seen(&mut format))?,
                _ => skip_value(cx, map)?,
            }
        }
        if !data {
            return Err(cx.missing("data"));
        }
        if !format {
            return Err(cx.missing("format"));
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        while let Some(key) = map.next_key(cx, |k| match k {
            "file_data" => Some("file_data"),
            "file_id" => Some("file_id"),
            "filename" => Some("filename"),
            _ => None,
        })? {
            match key {
                Some(k) => value(cx, map, k, Str::OPTIONAL)?,
                None => skip_value(cx, map)?,
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut id = false;
        while let Some(is_id) = map.next_key(cx, |k| k == "id")? {
            if is_id {
                value(cx, map, "id", str_seen(&mut id))?;
            } else {
                skip_value(cx, map)?;
            }
        }
        if id {
            Ok(())
        } else {
            Err(cx.missing("id"))
        }
    }
}

//! Tools in a chat request: the calls an assistant turn made (`tool_calls`), the tools offered
//! (`tools`, the deprecated `functions`), the choice among them (`tool_choice`,
//! `function_call`), and `response_format`, whose JSON schema is named like a function.

use super::lexer::Text;
use super::shapes::{object_only, str_seen, Bool, Object, OneOf, Pick, Str};
use super::walk::{elements, shorten, skip_value, value, Cx, Got, Map, Node, Res, Seq};
use super::Code;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ToolKind {
    Function,
    Custom,
}

const TOOL_NAMES: &[&str] = &["function", "custom"];
const TOOL_KINDS: &[ToolKind] = &[ToolKind::Function, ToolKind::Custom];

/// `tool_calls`: the calls an assistant turn made.
pub(super) struct ToolCalls;

impl<'a> Node<'a> for ToolCalls {
    fn expected(&self) -> &'static str {
        "an array of objects"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        elements(cx, seq, |_| ToolCall)?;
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut id, mut kind, mut function, mut custom) = (false, None, false, false);
        while let Some(key) = map.next_key(cx, |k| match k {
            "id" => 1,
            "type" => 2,
            "function" => 3,
            "custom" => 4,
            _ => 0,
        })? {
            match key {
                1 => value(cx, map, "id", str_seen(&mut id))?,
                2 => value(
                    cx,
                    map,
                    "type",
                    Pick {
                        names: TOOL_NAMES,
                        values: TOOL_KINDS,
                        out: &mut kind,
                    },
                )?,
                3 => {
                    function = true;
                    value(cx, map, "function", NameAndText::CALL)?
                }
                4 => {
                    custom = true;
                    value(cx, map, "custom", NameAndText::CUSTOM_CALL)?
                }
                _ => skip_value(cx, map)?,
            }
        }
        if !id {
            return Err(cx.missing("id"));
        }
        match kind.unwrap_or(ToolKind::Function) {
            ToolKind::Function if !function => Err(cx.missing("function")),
            ToolKind::Custom if !custom => Err(cx.missing("custom")),
            _ => Ok(()),
        }
    }
}

/// An object with two required strings: a call's `{"name", "arguments"}` or a custom call's
/// `{"name", "input"}`.
pub(super) struct NameAndText {
    text: &'static str,
    nullable: bool,
}

impl NameAndText {
    pub(super) const CALL: NameAndText = NameAndText {
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut name, mut text) = (false, false);
        let text_key = self.text;
        while let Some(key) = map.next_key(cx, |k| match k {
            "name" => Some("name"),
            "arguments" => Some("arguments"),
            "input" => Some("input"),
            _ => None,
        })? {
            match key {
                Some("name") => value(cx, map, "name", str_seen(&mut name))?,
                Some(k) if k == text_key => value(cx, map, k, str_seen(&mut text))?,
                _ => skip_value(cx, map)?,
            }
        }
        if !name {
            return Err(cx.missing("name"));
        }
        if !text {
            return Err(cx.missing(text_key));
        }
        Ok(())
    }
}

// ---- tools ----

/// `tools`: at most `max_tools` function or custom tools.
pub(super) struct Tools;

impl<'a> Node<'a> for Tools {
    fn expected(&self) -> &'static str {
        "an array of tools"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let n = elements(cx, seq, |_| Tool)?;
        let max = cx.limits.max_tools;
        if n > max {
            return Err(cx.too_long(max, n, ""));
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut kind, mut function, mut custom) = (None, false, false);
        while let Some(key) = map.next_key(cx, |k| match k {
            "type" => 1,
            "function" => 2,
            "custom" => 3,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    map,
                    "type",
                    Pick {
                        names: TOOL_NAMES,
                        values: TOOL_KINDS,
                        out: &mut kind,
                    },
                )?,
                2 => {
                    function = true;
                    value(cx, map, "function", Definition::FUNCTION)?
                }
                3 => {
                    custom = true;
                    value(cx, map, "custom", Definition::CUSTOM)?
                }
                _ => skip_value(cx, map)?,
            }
        }
        match kind {
            None => Err(cx.missing("type")),
            Some(ToolKind::Function) if !function => Err(cx.missing("function")),
            Some(ToolKind::Custom) if !custom => Err(cx.missing("custom")),
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut name = false;
        let schema_key = self.schema_key;
        while let Some(key) = map.next_key(cx, |k| match k {
            "name" => Some("name"),
            "description" => Some("description"),
            "strict" => Some("strict"),
            "parameters" => Some("parameters"),
            "format" => Some("format"),
            "schema" => Some("schema"),
            _ => None,
        })? {
            match key {
                Some("name") => value(cx, map, "name", FunctionName(&mut name))?,
                Some("description") => value(cx, map, "description", Str::OPTIONAL)?,
                Some("strict") => value(cx, map, "strict", Bool)?,
                Some(k) if k == schema_key => value(cx, map, k, Object)?,
                _ => skip_value(cx, map)?,
            }
        }
        if name {
            Ok(())
        } else {
            Err(cx.missing("name"))
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
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        let v = v.get();
        let valid = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':');
        if v.is_empty() || !v.bytes().all(valid) {
            let shown = shorten(&v).to_owned();
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
pub(super) struct ToolChoice;

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
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        OneOf::optional(&["none", "auto", "required"]).string(cx, v)
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut kind = None;
        let mut payload = [false; 3];
        while let Some(key) = map.next_key(cx, |k| match k {
            "type" => 1u8,
            "function" => 2,
            "custom" => 3,
            "allowed_tools" => 4,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    map,
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
                    value(cx, map, CHOICE_KEYS[i], NamedTool)?
                }
                4 => {
                    payload[2] = true;
                    value(cx, map, "allowed_tools", AllowedTools)?
                }
                _ => skip_value(cx, map)?,
            }
        }
        let kind = kind
            .map(usize::from)
            .or_else(|| payload.iter().position(|p| *p));
        match kind {
            None => Err(cx.missing("type")),
            Some(i) if !payload[i] => Err(cx.missing(CHOICE_KEYS[i])),
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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let mut name = false;
        while let Some(is_name) = map.next_key(cx, |k| k == "name")? {
            if is_name {
                value(cx, map, "name", str_seen(&mut name))?;
            } else {
                skip_value(cx, map)?;
            }
        }
        if name {
            Ok(())
        } else {
            Err(cx.missing("name"))
        }
    }
}

/// `{"mode": "auto" | "required", "tools": [{…}]}`.
struct AllowedTools;

impl<'a> Node<'a> for AllowedTools {
    fn expected(&self) -> &'static str {
        "an object"
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut mode, mut tools) = (None, false);
        while let Some(key) = map.next_key(cx, |k| match k {
            "mode" => 1,
            "tools" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    map,
                    "mode",
                    Pick {
                        names: &["auto", "required"],
                        values: &[(), ()],
                        out: &mut mode,
                    },
                )?,
                2 => {
                    tools = true;
                    value(cx, map, "tools", Objects)?
                }
                _ => skip_value(cx, map)?,
            }
        }
        if mode.is_none() {
            return Err(cx.missing("mode"));
        }
        if !tools {
            return Err(cx.missing("tools"));
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
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        elements(cx, seq, |_| RequiredObject)?;
        Ok(())
    }
}

struct RequiredObject;

impl<'a> Node<'a> for RequiredObject {
    fn expected(&self) -> &'static str {
        "an object"
    }
    const OPAQUE: bool = true;
    fn opaque(self, cx: &mut Cx<'a>, got: Got) -> Res {
        object_only(cx, got)
    }
}

/// The deprecated `functions`: function definitions.
pub(super) struct Functions;

impl<'a> Node<'a> for Functions {
    fn expected(&self) -> &'static str {
        "an array of objects"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn array(self, cx: &mut Cx<'a>, seq: &mut Seq<'_, 'a>) -> Res {
        let n = elements(cx, seq, |_| Definition::FUNCTION)?;
        let max = cx.limits.max_tools;
        if n > max {
            return Err(cx.too_long(max, n, ""));
        }
        Ok(())
    }
}

/// The deprecated top-level `function_call`: `none`, `auto` or `{"name": …}`.
pub(super) struct FunctionChoice;

impl<'a> Node<'a> for FunctionChoice {
    fn expected(&self) -> &'static str {
        "a string or an object"
    }
    fn null(self, _: &mut Cx<'a>) -> Res {
        Ok(())
    }
    fn string(self, cx: &mut Cx<'a>, v: Text<'a>) -> Res {
        OneOf::optional(&["none", "auto"]).string(cx, v)
    }
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        NamedTool.object(cx, map)
    }
}

/// `response_format`: `text`, `json_object`, or `json_schema` with its named schema.
pub(super) struct ResponseFormat;

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
    fn object(self, cx: &mut Cx<'a>, map: &mut Map<'_, 'a>) -> Res {
        let (mut kind, mut schema) = (None, false);
        while let Some(key) = map.next_key(cx, |k| match k {
            "type" => 1,
            "json_schema" => 2,
            _ => 0,
        })? {
            match key {
                1 => value(
                    cx,
                    map,
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
                    value(cx, map, "json_schema", Definition::JSON_SCHEMA)?
                }
                _ => skip_value(cx, map)?,
            }
        }
        match kind {
            None => Err(cx.missing("type")),
            Some(FormatKind::JsonSchema) if !schema => Err(cx.missing("json_schema")),
            Some(_) => Ok(()),
        }
    }
}

//! The canonical chat request both inbound APIs build: borrowed, serialized once.
//!
//! Strings borrow from the client's body where JSON needs no unescaping, and JSON Schemas
//! and tool inputs are copied as raw text, so a translation allocates little beyond the
//! output buffer.

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::canonical::invalid;
use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;

/// A Chat Completions request.
#[derive(Serialize, Default)]
pub(crate) struct ChatBody<'a> {
    pub model: Cow<'a, str>,
    pub messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ChatTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ChatToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Cow<'a, str>>,
}

/// `stream_options`.
#[derive(Serialize)]
pub(crate) struct StreamOptions {
    pub include_usage: bool,
}

/// One chat message; which members are set depends on the role.
#[derive(Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<ChatContent<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChatToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Cow<'a, str>>,
}

impl<'a> ChatMessage<'a> {
    pub fn new(role: &'static str, content: Option<ChatContent<'a>>) -> Self {
        Self {
            role,
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
            refusal: None,
        }
    }

    pub fn tool(call_id: Cow<'a, str>, content: ChatContent<'a>) -> Self {
        Self {
            tool_call_id: Some(call_id),
            ..Self::new("tool", Some(content))
        }
    }
}

/// Message content: a string or parts.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ChatContent<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<ChatPart<'a>>),
}

impl<'a> ChatContent<'a> {
    /// One part is sent as a plain string when it is text, which every provider takes.
    pub fn from_parts(mut parts: Vec<ChatPart<'a>>) -> Self {
        if parts.len() == 1 {
            if let Some(ChatPart::Text { .. }) = parts.first() {
                if let Some(ChatPart::Text { text }) = parts.pop() {
                    return ChatContent::Text(text);
                }
            }
        }
        ChatContent::Parts(parts)
    }
}

/// One content part.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ChatPart<'a> {
    Text { text: Cow<'a, str> },
    ImageUrl { image_url: ImageUrl<'a> },
    File { file: FilePart<'a> },
}

#[derive(Serialize)]
pub(crate) struct ImageUrl<'a> {
    pub url: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
pub(crate) struct FilePart<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<Cow<'a, str>>,
}

/// A function tool.
#[derive(Serialize)]
pub(crate) struct ChatTool<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionDef<'a>,
}

#[derive(Serialize)]
pub(crate) struct FunctionDef<'a> {
    pub name: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// An earlier tool call.
#[derive(Serialize)]
pub(crate) struct ChatToolCall<'a> {
    pub id: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionCall<'a>,
}

#[derive(Serialize)]
pub(crate) struct FunctionCall<'a> {
    pub name: Cow<'a, str>,
    /// The arguments' JSON text (a JSON string on the wire).
    pub arguments: Cow<'a, str>,
}

/// `tool_choice`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ChatToolChoice<'a> {
    /// `none`, `auto` or `required`.
    Mode(&'static str),
    /// One function.
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        function: Named<'a>,
    },
}

impl<'a> ChatToolChoice<'a> {
    pub fn function(name: Cow<'a, str>) -> Self {
        ChatToolChoice::Function {
            kind: "function",
            function: Named { name },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct Named<'a> {
    pub name: Cow<'a, str>,
}

/// `response_format`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ResponseFormat<'a> {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchema<'a> },
}

#[derive(Serialize)]
pub(crate) struct JsonSchema<'a> {
    pub name: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl ChatBody<'_> {
    /// The body as an envelope, ready for a dialect.
    pub fn into_envelope(self) -> Result<JsonEnvelope, TranslateError> {
        let bytes = serde_json::to_vec(&self).map_err(|e| TranslateError::InvalidRequest {
            message: format!("the translated request could not be written: {e}"),
            param: None,
        })?;
        JsonEnvelope::parse(Bytes::from(bytes)).map_err(|e| TranslateError::InvalidRequest {
            message: format!("the translated request is not valid JSON: {e}"),
            param: None,
        })
    }
}

/// Decodes `raw` (the value at `param`) into `T`. The fast decoder runs first; only when it
/// fails is the value decoded again with path tracking, so the error can name the exact
/// member (`messages[1].content[0].source.type`).
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    param: &str,
    raw: &'a str,
) -> Result<T, TranslateError> {
    decode_at(|| param.to_owned(), raw)
}

/// [`decode`] with the parameter's name built only when it is needed.
pub(crate) fn decode_at<'a, T: Deserialize<'a>>(
    param: impl FnOnce() -> String,
    raw: &'a str,
) -> Result<T, TranslateError> {
    match serde_json::from_str(raw) {
        Ok(v) => Ok(v),
        Err(e) => {
            let mut de = serde_json::Deserializer::from_str(raw);
            let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(pe) => (pe.path().to_string(), pe.into_inner().to_string()),
                Ok(_) => (String::new(), e.to_string()),
            };
            let param = join_path(&param(), &path);
            Err(invalid(format!("invalid `{param}`: {message}"), &param))
        }
    }
}

/// `param` followed by a serde path (`.` for the root, `[1].x` or `x.y` below it).
fn join_path(param: &str, path: &str) -> String {
    match path {
        "" | "." => param.to_owned(),
        p if p.starts_with('[') => format!("{param}{p}"),
        p => format!("{param}.{p}"),
    }
}

/// The raw JSON value's kind, for values that may be a string or an array.
pub(crate) fn is_string(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('"')
}

/// A field this translation cannot honour.
pub(crate) fn refuse(param: &str, why: &str) -> TranslateError {
    invalid(format!("`{param}` {why}"), param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    #[test]
    fn decode_errors_name_the_exact_member() {
        let e = decode::<Outer>("body", r#"{"items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        match e {
            TranslateError::InvalidRequest { param, message } => {
                assert_eq!(param.as_deref(), Some("body.items[1].n"));
                assert!(message.contains("invalid type"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let e = decode::<Vec<Inner>>("messages", r#"[{"n":1},{}]"#).unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "messages[1]")
        );
        let e = decode::<u32>("max_tokens", "\"many\"").unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "max_tokens")
        );
    }

    #[test]
    fn a_single_text_part_becomes_a_string() {
        let c = ChatContent::from_parts(vec![ChatPart::Text { text: "a".into() }]);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"a\"");
        let c = ChatContent::from_parts(vec![
            ChatPart::Text { text: "a".into() },
            ChatPart::Text { text: "b".into() },
        ]);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"[{"type":"text","text":"a"},{"type":"text","text":"b"}]"#
        );
    }
}

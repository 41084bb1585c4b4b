//! OpenAI Responses request → canonical chat request.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::envelope::JsonEnvelope;
use crate::error::TranslateError;
use crate::inbound::chat_body::{
    decode, decode_at, is_string, refuse, ChatBody, ChatContent, ChatMessage, ChatPart, ChatTool,
    ChatToolCall, ChatToolChoice, FilePart, FunctionCall, FunctionDef, ImageUrl, JsonSchema,
    ResponseFormat, StreamOptions,
};

const NO_STORE: &str = "needs stored responses, which the gateway does not keep: send the whole conversation in `input`";

/// One `input` item. Items passed back from an earlier response's `output` carry more
/// members (`id`, `status`, annotations…), which are ignored.
#[derive(Deserialize)]
struct WireItem<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    output: Option<&'a RawValue>,
}

/// One content part of a message item (any of the input and output part types).
#[derive(Deserialize)]
struct WirePart<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    image_url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    detail: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    file_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    file_data: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    filename: Option<Cow<'a, str>>,
    #[serde(default)]
    file_url: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTool<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
struct WireNamedChoice<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireText<'a> {
    #[serde(default, borrow)]
    format: Option<WireFormat<'a>>,
    #[serde(default, borrow)]
    verbosity: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFormat<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    schema: Option<&'a RawValue>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default)]
    strict: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireReasoning<'a> {
    #[serde(default, borrow)]
    effort: Option<Cow<'a, str>>,
    /// Reasoning summaries: chat returns none, so there is nothing to summarise.
    #[serde(default, rename = "summary")]
    _summary: Option<IgnoredAny>,
    #[serde(default, rename = "generate_summary")]
    _generate_summary: Option<IgnoredAny>,
}

/// A Responses request as a chat request. See the module documentation for the mapping.
pub fn to_chat(env: &JsonEnvelope) -> Result<JsonEnvelope, TranslateError> {
    let mut out = ChatBody::default();
    let mut input = None;
    let mut instructions = None;
    let mut tools = None;
    let mut tool_choice = None;
    let mut parallel = None;
    let mut safety_identifier = None;
    for key in env.keys() {
        let Some(raw) = env.get_raw(key) else {
            continue;
        };
        if raw == "null" {
            continue;
        }
        match key {
            "model" => out.model = decode(key, raw)?,
            "input" => input = Some(raw),
            "instructions" => instructions = Some(decode::<Cow<'_, str>>(key, raw)?),
            "tools" => tools = Some(raw),
            "tool_choice" => tool_choice = Some(raw),
            "parallel_tool_calls" => parallel = Some(decode::<bool>(key, raw)?),
            "max_output_tokens" => out.max_completion_tokens = Some(decode(key, raw)?),
            "temperature" => out.temperature = Some(decode(key, raw)?),
            "top_p" => out.top_p = Some(decode(key, raw)?),
            "user" => out.user = Some(decode(key, raw)?),
            "safety_identifier" => safety_identifier = Some(decode(key, raw)?),
            "stream" => {
                if decode::<bool>(key, raw)? {
                    out.stream = Some(true);
                    out.stream_options = Some(StreamOptions {
                        include_usage: true,
                    });
                }
            }
            "text" => {
                let t: WireText<'_> = decode(key, raw)?;
                out.verbosity = t.verbosity;
                out.response_format = t.format.map(format).transpose()?;
            }
            "reasoning" => out.reasoning_effort = decode::<WireReasoning<'_>>(key, raw)?.effort,
            "store" => {
                if decode::<bool>(key, raw)? {
                    return Err(refuse("store", &format!("`true` {NO_STORE}")));
                }
            }
            "background" => {
                if decode::<bool>(key, raw)? {
                    return Err(refuse(
                        "background",
                        "`true` needs stored responses, which the gateway does not keep",
                    ));
                }
            }
            "truncation" => {
                if decode::<Cow<'_, str>>(key, raw)? != "disabled" {
                    return Err(refuse(
                        "truncation",
                        "must be `disabled`: the gateway does not truncate conversations",
                    ));
                }
            }
            "include" => {
                for (i, item) in decode::<Vec<Cow<'_, str>>>(key, raw)?.iter().enumerate() {
                    // Nothing to include: no reasoning items are returned.
                    if item != "reasoning.encrypted_content" {
                        return Err(refuse(
                            &format!("include[{i}]"),
                            "cannot be honoured when a Responses request is served through chat",
                        ));
                    }
                }
            }
            // Echoed in the response only, or steer caching, scheduling and stream
            // obfuscation, which chat answers do not need.
            "metadata"
            | "prompt_cache_key"
            | "prompt_cache_retention"
            | "service_tier"
            | "stream_options" => {}
            "previous_response_id" | "conversation" | "prompt" => {
                return Err(refuse(key, NO_STORE))
            }
            other => {
                return Err(refuse(
                    other,
                    "is not supported when a Responses request is served through chat",
                ))
            }
        }
    }
    if out.model.is_empty() {
        return Err(refuse("model", "is required"));
    }
    if out.user.is_none() {
        out.user = safety_identifier;
    }
    if let Some(text) = instructions {
        out.messages
            .push(ChatMessage::new("system", Some(ChatContent::Text(text))));
    }
    let Some(raw) = input else {
        return Err(refuse("input", "is required"));
    };
    let value: &RawValue = decode("input", raw)?;
    if is_string(value) {
        let text = decode("input", raw)?;
        out.messages
            .push(ChatMessage::new("user", Some(ChatContent::Text(text))));
    } else {
        items(raw, &mut out.messages)?;
    }
    if out.messages.is_empty() {
        return Err(refuse("input", "must not be empty"));
    }
    if let Some(raw) = tools {
        out.tools = tool_defs(raw)?;
    }
    if let Some(raw) = tool_choice {
        out.tool_choice = Some(choice(raw)?);
    }
    if !out.tools.is_empty() {
        out.parallel_tool_calls = parallel;
    }
    out.into_envelope()
}

fn format(f: WireFormat<'_>) -> Result<ResponseFormat<'_>, TranslateError> {
    Ok(match &*f.kind {
        "text" => ResponseFormat::Text,
        "json_object" => ResponseFormat::JsonObject,
        "json_schema" => ResponseFormat::JsonSchema {
            json_schema: JsonSchema {
                name: f
                    .name
                    .ok_or_else(|| refuse("text.format.name", "is required"))?,
                schema: Some(
                    f.schema
                        .ok_or_else(|| refuse("text.format.schema", "is required"))?,
                ),
                description: f.description,
                strict: f.strict,
            },
        },
        _ => {
            return Err(refuse(
                "text.format.type",
                "must be `text`, `json_object` or `json_schema`",
            ))
        }
    })
}

fn choice(raw: &str) -> Result<ChatToolChoice<'_>, TranslateError> {
    let value: &RawValue = decode("tool_choice", raw)?;
    if is_string(value) {
        return match &*decode::<Cow<'_, str>>("tool_choice", raw)? {
            "none" => Ok(ChatToolChoice::Mode("none")),
            "auto" => Ok(ChatToolChoice::Mode("auto")),
            "required" => Ok(ChatToolChoice::Mode("required")),
            _ => Err(refuse(
                "tool_choice",
                "must be `none`, `auto`, `required` or a function",
            )),
        };
    }
    let named: WireNamedChoice<'_> = decode("tool_choice", raw)?;
    match (&*named.kind, named.name) {
        ("function", Some(name)) => Ok(ChatToolChoice::function(name)),
        ("function", None) => Err(refuse("tool_choice.name", "is required")),
        _ => Err(refuse(
            "tool_choice.type",
            "must be `function`: only function tools can be served through chat",
        )),
    }
}

fn tool_defs(raw: &str) -> Result<Vec<ChatTool<'_>>, TranslateError> {
    let tools: Vec<WireTool<'_>> = decode("tools", raw)?;
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.into_iter().enumerate() {
        if t.kind != "function" {
            return Err(refuse(
                &format!("tools[{i}].type"),
                &format!(
                    "`{}` is a hosted tool: only `function` tools can be served through chat",
                    t.kind
                ),
            ));
        }
        out.push(ChatTool {
            kind: "function",
            function: FunctionDef {
                name: t
                    .name
                    .ok_or_else(|| refuse(&format!("tools[{i}].name"), "is required"))?,
                description: t.description,
                parameters: t.parameters,
                strict: t.strict,
            },
        });
    }
    Ok(out)
}

fn items<'a>(raw: &'a str, out: &mut Vec<ChatMessage<'a>>) -> Result<(), TranslateError> {
    let items: Vec<WireItem<'a>> = decode("input", raw)?;
    for (i, item) in items.into_iter().enumerate() {
        let at = || format!("input[{i}]");
        match item.kind.as_deref().unwrap_or("message") {
            "message" => message(&at, item, out)?,
            "function_call" => {
                let call = ChatToolCall {
                    id: item
                        .call_id
                        .ok_or_else(|| refuse(&format!("{}.call_id", at()), "is required"))?,
                    kind: "function",
                    function: FunctionCall {
                        name: item
                            .name
                            .ok_or_else(|| refuse(&format!("{}.name", at()), "is required"))?,
                        arguments: item.arguments.unwrap_or(Cow::Borrowed("{}")),
                    },
                };
                // Calls following an assistant message (or each other) belong to that turn.
                match out.last_mut() {
                    Some(m) if m.role == "assistant" => m.tool_calls.push(call),
                    _ => {
                        let mut m = ChatMessage::new("assistant", None);
                        m.tool_calls.push(call);
                        out.push(m);
                    }
                }
            }
            "function_call_output" => {
                let id = item
                    .call_id
                    .ok_or_else(|| refuse(&format!("{}.call_id", at()), "is required"))?;
                let output = item
                    .output
                    .ok_or_else(|| refuse(&format!("{}.output", at()), "is required"))?;
                let content = if is_string(output) {
                    ChatContent::Text(decode_at(|| format!("{}.output", at()), output.get())?)
                } else {
                    let parts: Vec<WirePart<'a>> =
                        decode_at(|| format!("{}.output", at()), output.get())?;
                    let mut texts = Vec::with_capacity(parts.len());
                    for (j, p) in parts.into_iter().enumerate() {
                        match (&*p.kind, p.text) {
                            ("input_text", Some(text)) => texts.push(ChatPart::Text { text }),
                            _ => {
                                return Err(refuse(
                                    &format!("{}.output[{j}]", at()),
                                    "must be an `input_text` part: a chat tool result holds text only",
                                ))
                            }
                        }
                    }
                    ChatContent::from_parts(texts)
                };
                out.push(ChatMessage::tool(id, content));
            }
            // Reasoning of earlier turns: chat has no field for it.
            "reasoning" => {}
            "item_reference" => return Err(refuse(&at(), NO_STORE)),
            _ => {
                return Err(refuse(
                    &format!("{}.type", at()),
                    "must be `message`, `function_call`, `function_call_output` or `reasoning` when served through chat",
                ))
            }
        }
    }
    Ok(())
}

fn message<'a>(
    at: &dyn Fn() -> String,
    item: WireItem<'a>,
    out: &mut Vec<ChatMessage<'a>>,
) -> Result<(), TranslateError> {
    let role = match item.role.as_deref() {
        Some("user") => "user",
        Some("assistant") => "assistant",
        Some("system") => "system",
        Some("developer") => "developer",
        Some(_) => {
            return Err(refuse(
                &format!("{}.role", at()),
                "must be `user`, `assistant`, `system` or `developer`",
            ))
        }
        None => return Err(refuse(&format!("{}.role", at()), "is required")),
    };
    let content = item
        .content
        .ok_or_else(|| refuse(&format!("{}.content", at()), "is required"))?;
    if is_string(content) {
        let text = decode_at(|| format!("{}.content", at()), content.get())?;
        out.push(ChatMessage::new(role, Some(ChatContent::Text(text))));
        return Ok(());
    }
    let parts: Vec<WirePart<'a>> = decode_at(|| format!("{}.content", at()), content.get())?;
    let mut chat_parts = Vec::with_capacity(parts.len());
    let mut refusal = None;
    for (j, p) in parts.into_iter().enumerate() {
        let at = || format!("{}.content[{j}]", at());
        let required = |m: &str| refuse(&format!("{}.{m}", at()), "is required");
        match (&*p.kind, role) {
            ("input_text" | "output_text" | "text", _) => chat_parts.push(ChatPart::Text {
                text: p.text.ok_or_else(|| required("text"))?,
            }),
            ("refusal", "assistant") => {
                refusal = Some(p.refusal.ok_or_else(|| required("refusal"))?)
            }
            ("input_image", "user") => {
                if p.file_id.is_some() {
                    return Err(refuse(&format!("{}.file_id", at()), "refers to an uploaded file, which other providers cannot reach: send `image_url`"));
                }
                chat_parts.push(ChatPart::ImageUrl {
                    image_url: ImageUrl {
                        url: p.image_url.ok_or_else(|| required("image_url"))?,
                        detail: p.detail,
                    },
                });
            }
            ("input_file", "user") => {
                if p.file_url.is_some() {
                    return Err(refuse(
                        &format!("{}.file_url", at()),
                        "cannot be served through chat: send `file_data`",
                    ));
                }
                if p.file_data.is_none() && p.file_id.is_none() {
                    return Err(required("file_data"));
                }
                chat_parts.push(ChatPart::File {
                    file: FilePart {
                        file_data: p.file_data,
                        file_id: p.file_id,
                        filename: p.filename,
                    },
                });
            }
            _ => {
                return Err(refuse(
                    &format!("{}.type", at()),
                    &format!(
                        "`{}` is not a content type a `{role}` message can hold through chat",
                        p.kind
                    ),
                ))
            }
        }
    }
    let mut m = match role {
        // An assistant turn is text (joined); system and developer turns hold text only.
        "assistant" | "system" | "developer" => {
            if chat_parts
                .iter()
                .any(|p| !matches!(p, ChatPart::Text { .. }))
            {
                return Err(refuse(
                    &format!("{}.content", at()),
                    "may hold text only for this role",
                ));
            }
            let text = match chat_parts.len() {
                0 => None,
                1 => match chat_parts.pop() {
                    Some(ChatPart::Text { text }) => Some(text),
                    _ => None,
                },
                _ => Some(Cow::Owned(
                    chat_parts
                        .iter()
                        .map(|p| match p {
                            ChatPart::Text { text } => text.as_ref(),
                            _ => "",
                        })
                        .collect(),
                )),
            };
            ChatMessage::new(role, text.map(ChatContent::Text))
        }
        _ => ChatMessage::new(role, Some(ChatContent::from_parts(chat_parts))),
    };
    m.refusal = refusal;
    if m.content.is_none() && m.refusal.is_none() {
        if role == "assistant" {
            // An empty assistant turn: nothing to say (its calls, if any, follow as items).
            return Ok(());
        }
        return Err(refuse(&format!("{}.content", at()), "must not be empty"));
    }
    out.push(m);
    Ok(())
}

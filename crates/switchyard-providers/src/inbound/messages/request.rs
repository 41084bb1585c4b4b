//! Anthropic Messages request → canonical chat request.

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

const NOT_TRANSLATABLE: &str =
    "is not supported when a Messages request is served by a non-Anthropic provider";

/// One message of `messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessage<'a> {
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    content: &'a RawValue,
}

/// Every content block type's members in one struct (blocks carry raw JSON — tool inputs —
/// that serde's tagged enums cannot hold); each type's required members are checked where
/// it is translated. Unknown members are refused, as Anthropic's API refuses them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    source: Option<WireSource<'a>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_use_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default)]
    is_error: Option<bool>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    context: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    citations: Option<&'a RawValue>,
    /// A caching hint: the answer is the same without it.
    #[serde(default, rename = "cache_control")]
    _cache_control: Option<IgnoredAny>,
    // Thinking blocks of earlier turns, dropped (see `assistant`).
    #[serde(default, rename = "thinking")]
    _thinking: Option<IgnoredAny>,
    #[serde(default, rename = "signature")]
    _signature: Option<IgnoredAny>,
    #[serde(default, rename = "data")]
    _data: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSource<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    media_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(default, rename = "file_id")]
    _file_id: Option<IgnoredAny>,
    #[serde(default, rename = "content")]
    _content: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTool<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input_schema: Option<&'a RawValue>,
    #[serde(default)]
    strict: Option<bool>,
    #[serde(default, rename = "cache_control")]
    _cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireToolChoice<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMetadata<'a> {
    #[serde(default, borrow)]
    user_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireThinking<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    budget_tokens: Option<u64>,
    /// How thinking is shown: no thinking is returned through chat either way.
    #[serde(default, rename = "display")]
    _display: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireOutputConfig<'a> {
    #[serde(default, borrow)]
    effort: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    format: Option<WireFormat<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFormat<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    schema: &'a RawValue,
}

#[derive(Deserialize)]
struct WireCitations {
    #[serde(default)]
    enabled: bool,
}

/// The `reasoning_effort` for a thinking budget: under 4,096 tokens `low`, under 16,384
/// `medium`, otherwise `high` (Anthropic's minimum budget is 1,024).
pub fn effort_for_budget(budget_tokens: u64) -> &'static str {
    match budget_tokens {
        0..4096 => "low",
        4096..16384 => "medium",
        _ => "high",
    }
}

/// A Messages request as a chat request. See the module documentation for the mapping.
pub fn to_chat(env: &JsonEnvelope) -> Result<JsonEnvelope, TranslateError> {
    let mut out = ChatBody::default();
    let mut max_tokens = None;
    let mut system = None;
    let mut messages = None;
    let mut tools = None;
    let mut tool_choice = None;
    let mut thinking_effort = None;
    let mut config_effort = None;
    for key in env.keys() {
        let Some(raw) = env.get_raw(key) else {
            continue;
        };
        if raw == "null" {
            continue;
        }
        match key {
            "model" => out.model = decode(key, raw)?,
            "max_tokens" => max_tokens = Some(decode::<u64>(key, raw)?),
            "messages" => messages = Some(raw),
            "system" => system = Some(raw),
            "stream" => {
                if decode::<bool>(key, raw)? {
                    out.stream = Some(true);
                    out.stream_options = Some(StreamOptions {
                        include_usage: true,
                    });
                }
            }
            "stop_sequences" => out.stop = decode(key, raw)?,
            "temperature" => out.temperature = Some(decode(key, raw)?),
            "top_p" => out.top_p = Some(decode(key, raw)?),
            "top_k" => out.top_k = Some(decode(key, raw)?),
            "tools" => tools = Some(raw),
            "tool_choice" => tool_choice = Some(decode::<WireToolChoice<'_>>(key, raw)?),
            "metadata" => out.user = decode::<WireMetadata<'_>>(key, raw)?.user_id,
            "thinking" => thinking_effort = thinking(decode(key, raw)?)?,
            "output_config" => {
                let c: WireOutputConfig<'_> = decode(key, raw)?;
                config_effort = c.effort.map(effort).transpose()?;
                if let Some(f) = c.format {
                    if f.kind != "json_schema" {
                        return Err(refuse("output_config.format.type", "must be `json_schema`"));
                    }
                    out.response_format = Some(ResponseFormat::JsonSchema {
                        json_schema: JsonSchema {
                            name: Cow::Borrowed("output"),
                            schema: Some(f.schema),
                            description: None,
                            strict: None,
                        },
                    });
                }
            }
            // Steer only scheduling and caching: the answer is the same without them.
            "service_tier" | "cache_control" => {}
            other => return Err(refuse(other, NOT_TRANSLATABLE)),
        }
    }
    if out.model.is_empty() {
        return Err(refuse("model", "is required"));
    }
    match max_tokens {
        None => return Err(refuse("max_tokens", "is required")),
        Some(0) => return Err(refuse("max_tokens", "must be at least 1")),
        Some(n) => out.max_completion_tokens = Some(n),
    }
    out.reasoning_effort = config_effort.or(thinking_effort).map(Cow::Borrowed);
    if let Some(raw) = system {
        system_message(raw, &mut out.messages)?;
    }
    let Some(raw) = messages else {
        return Err(refuse("messages", "is required"));
    };
    conversation(raw, &mut out.messages)?;
    if let Some(raw) = tools {
        out.tools = tool_defs(raw)?;
    }
    if let Some(choice) = tool_choice {
        let parallel = choice.disable_parallel_tool_use == Some(true);
        out.tool_choice = Some(match &*choice.kind {
            "auto" => ChatToolChoice::Mode("auto"),
            "any" => ChatToolChoice::Mode("required"),
            "none" => ChatToolChoice::Mode("none"),
            "tool" => ChatToolChoice::function(
                choice
                    .name
                    .ok_or_else(|| refuse("tool_choice.name", "is required for type `tool`"))?,
            ),
            _ => {
                return Err(refuse(
                    "tool_choice.type",
                    "must be `auto`, `any`, `tool` or `none`",
                ))
            }
        });
        // Chat refuses `parallel_tool_calls` without tools.
        if parallel && !out.tools.is_empty() && choice.kind != "none" {
            out.parallel_tool_calls = Some(false);
        }
    }
    out.into_envelope()
}

fn thinking(t: WireThinking<'_>) -> Result<Option<&'static str>, TranslateError> {
    match &*t.kind {
        "enabled" => {
            let budget = t.budget_tokens.ok_or_else(|| {
                refuse("thinking.budget_tokens", "is required for type `enabled`")
            })?;
            Ok(Some(effort_for_budget(budget)))
        }
        // The model decides, or does not think: the provider's default.
        "adaptive" | "disabled" => Ok(None),
        _ => Err(refuse(
            "thinking.type",
            "must be `enabled`, `adaptive` or `disabled`",
        )),
    }
}

fn effort(e: Cow<'_, str>) -> Result<&'static str, TranslateError> {
    match &*e {
        "low" => Ok("low"),
        "medium" => Ok("medium"),
        "high" => Ok("high"),
        "xhigh" | "max" => Ok("xhigh"),
        _ => Err(refuse(
            "output_config.effort",
            "must be `low`, `medium`, `high`, `xhigh` or `max`",
        )),
    }
}

fn system_message<'a>(raw: &'a str, out: &mut Vec<ChatMessage<'a>>) -> Result<(), TranslateError> {
    let value: &RawValue = decode("system", raw)?;
    let content = if is_string(value) {
        ChatContent::Text(decode("system", raw)?)
    } else {
        let blocks: Vec<WireBlock<'a>> = decode("system", raw)?;
        let mut parts = Vec::with_capacity(blocks.len());
        for (j, b) in blocks.into_iter().enumerate() {
            match (&*b.kind, b.text) {
                ("text", Some(text)) => parts.push(ChatPart::Text { text }),
                ("text", None) => return Err(refuse(&format!("system[{j}].text"), "is required")),
                _ => {
                    return Err(refuse(
                        &format!("system[{j}].type"),
                        "must be `text`: system prompts hold text only",
                    ))
                }
            }
        }
        if parts.is_empty() {
            return Ok(());
        }
        ChatContent::from_parts(parts)
    };
    out.push(ChatMessage::new("system", Some(content)));
    Ok(())
}

fn conversation<'a>(raw: &'a str, out: &mut Vec<ChatMessage<'a>>) -> Result<(), TranslateError> {
    let messages: Vec<WireMessage<'a>> = decode("messages", raw)?;
    if messages.is_empty() {
        return Err(refuse("messages", "must not be empty"));
    }
    let last = messages.len() - 1;
    for (i, m) in messages.into_iter().enumerate() {
        match &*m.role {
            "user" => user(i, m.content, out)?,
            "assistant" if i == last => {
                return Err(refuse(
                    &format!("messages[{i}]"),
                    "is a final assistant message (a prefill), which chat models answer instead of continuing",
                ))
            }
            "assistant" => assistant(i, m.content, out)?,
            _ => {
                return Err(refuse(
                    &format!("messages[{i}].role"),
                    "must be `user` or `assistant`",
                ))
            }
        }
    }
    Ok(())
}

fn blocks_of<'a>(
    param: impl FnOnce() -> String,
    content: &'a RawValue,
) -> Result<Vec<WireBlock<'a>>, TranslateError> {
    decode_at(param, content.get())
}

/// A user turn: `tool_result` blocks become `tool` messages, sent first as chat requires
/// them right after the assistant's calls; the rest (and any images the tool results held,
/// which a chat `tool` message cannot carry) becomes one user message after them.
fn user<'a>(
    i: usize,
    content: &'a RawValue,
    out: &mut Vec<ChatMessage<'a>>,
) -> Result<(), TranslateError> {
    if is_string(content) {
        let text = decode_at(|| format!("messages[{i}].content"), content.get())?;
        out.push(ChatMessage::new("user", Some(ChatContent::Text(text))));
        return Ok(());
    }
    let blocks = blocks_of(|| format!("messages[{i}].content"), content)?;
    let mut parts = Vec::with_capacity(blocks.len());
    let mut tool_images = Vec::new();
    for (j, b) in blocks.into_iter().enumerate() {
        let at = || format!("messages[{i}].content[{j}]");
        match &*b.kind {
            "tool_result" => {
                let id = b
                    .tool_use_id
                    .ok_or_else(|| refuse(&format!("{}.tool_use_id", at()), "is required"))?;
                let content = tool_result(&at, b.content, b.is_error, &mut tool_images)?;
                out.push(ChatMessage::tool(id, content));
            }
            _ => parts.push(user_part(&at, b)?),
        }
    }
    if !tool_images.is_empty() {
        tool_images.append(&mut parts);
        parts = tool_images;
    }
    if !parts.is_empty() {
        out.push(ChatMessage::new(
            "user",
            Some(ChatContent::from_parts(parts)),
        ));
    }
    Ok(())
}

/// A text, image or document block of a user turn.
fn user_part<'a>(
    at: &dyn Fn() -> String,
    b: WireBlock<'a>,
) -> Result<ChatPart<'a>, TranslateError> {
    match &*b.kind {
        "text" => Ok(ChatPart::Text {
            text: b
                .text
                .ok_or_else(|| refuse(&format!("{}.text", at()), "is required"))?,
        }),
        "image" => image(at, b.source),
        "document" => document(at, b),
        _ => Err(refuse(
            &format!("{}.type", at()),
            "must be `text`, `image`, `document` or `tool_result` in a user turn translated for a non-Anthropic provider",
        )),
    }
}

fn image<'a>(
    at: &dyn Fn() -> String,
    source: Option<WireSource<'a>>,
) -> Result<ChatPart<'a>, TranslateError> {
    let src = source.ok_or_else(|| refuse(&format!("{}.source", at()), "is required"))?;
    let url = match &*src.kind {
        "base64" => {
            let media = src.media_type.ok_or_else(|| {
                refuse(&format!("{}.source.media_type", at()), "is required")
            })?;
            let data = src
                .data
                .ok_or_else(|| refuse(&format!("{}.source.data", at()), "is required"))?;
            Cow::Owned(format!("data:{media};base64,{data}"))
        }
        "url" => src
            .url
            .ok_or_else(|| refuse(&format!("{}.source.url", at()), "is required"))?,
        _ => {
            return Err(refuse(
                &format!("{}.source.type", at()),
                "must be `base64` or `url`: files uploaded to Anthropic are not reachable from other providers",
            ))
        }
    };
    Ok(ChatPart::ImageUrl {
        image_url: ImageUrl { url, detail: None },
    })
}

/// A PDF (base64) becomes a chat `file` part with a data URL, which the target's dialect
/// sends on or refuses; a plain-text document becomes text (after its title). Other sources
/// (URLs, uploaded files, content blocks), `context` and enabled citations have no chat
/// equivalent and are refused.
fn document<'a>(at: &dyn Fn() -> String, b: WireBlock<'a>) -> Result<ChatPart<'a>, TranslateError> {
    if b.context.is_some() {
        return Err(refuse(&format!("{}.context", at()), NOT_TRANSLATABLE));
    }
    if let Some(c) = b.citations {
        let c: WireCitations = decode_at(|| format!("{}.citations", at()), c.get())?;
        if c.enabled {
            return Err(refuse(
                &format!("{}.citations", at()),
                "cannot be honoured: chat answers carry no citations",
            ));
        }
    }
    let src = b
        .source
        .ok_or_else(|| refuse(&format!("{}.source", at()), "is required"))?;
    let data = || {
        src.data
            .clone()
            .ok_or_else(|| refuse(&format!("{}.source.data", at()), "is required"))
    };
    match (&*src.kind, src.media_type.as_deref()) {
        ("base64", Some("application/pdf")) => Ok(ChatPart::File {
            file: FilePart {
                file_data: Some(Cow::Owned(format!(
                    "data:application/pdf;base64,{}",
                    data()?
                ))),
                file_id: None,
                filename: Some(b.title.unwrap_or(Cow::Borrowed("document.pdf"))),
            },
        }),
        ("base64", _) => Err(refuse(
            &format!("{}.source.media_type", at()),
            "must be `application/pdf`",
        )),
        ("text", _) => Ok(ChatPart::Text {
            text: match b.title {
                Some(title) => Cow::Owned(format!("{title}\n\n{}", data()?)),
                None => data()?,
            },
        }),
        _ => Err(refuse(
            &format!("{}.source.type", at()),
            "must be `base64` (PDF) or `text` for a non-Anthropic provider",
        )),
    }
}

/// A tool result's content: text parts (a chat `tool` message holds text only); images are
/// moved to `images` for the user message that follows. `is_error` is kept as an `Error: `
/// prefix, the only way a chat `tool` message can say the tool failed.
fn tool_result<'a>(
    at: &dyn Fn() -> String,
    content: Option<&'a RawValue>,
    is_error: Option<bool>,
    images: &mut Vec<ChatPart<'a>>,
) -> Result<ChatContent<'a>, TranslateError> {
    let mut parts = Vec::new();
    if is_error == Some(true) {
        parts.push(ChatPart::Text {
            text: Cow::Borrowed("Error: "),
        });
    }
    match content {
        None => {}
        Some(c) if is_string(c) => parts.push(ChatPart::Text {
            text: decode_at(|| format!("{}.content", at()), c.get())?,
        }),
        Some(c) => {
            let blocks = blocks_of(|| format!("{}.content", at()), c)?;
            for (k, b) in blocks.into_iter().enumerate() {
                let at = || format!("{}.content[{k}]", at());
                match &*b.kind {
                    "text" => parts.push(ChatPart::Text {
                        text: b
                            .text
                            .ok_or_else(|| refuse(&format!("{}.text", at()), "is required"))?,
                    }),
                    "image" => images.push(image(&at, b.source)?),
                    _ => {
                        return Err(refuse(
                            &format!("{}.type", at()),
                            "must be `text` or `image` in a tool result translated for a non-Anthropic provider",
                        ))
                    }
                }
            }
        }
    }
    Ok(match parts.len() {
        0 => ChatContent::Text(Cow::Borrowed("")),
        1 => ChatContent::from_parts(parts),
        _ => ChatContent::Text(Cow::Owned(
            parts
                .iter()
                .map(|p| match p {
                    ChatPart::Text { text } => text.as_ref(),
                    _ => "",
                })
                .collect(),
        )),
    })
}

/// An assistant turn: text blocks joined, `tool_use` blocks as tool calls whose arguments
/// are the input's JSON text. Thinking blocks of earlier turns are dropped: chat has no
/// field for them, and their signatures mean nothing to another provider.
fn assistant<'a>(
    i: usize,
    content: &'a RawValue,
    out: &mut Vec<ChatMessage<'a>>,
) -> Result<(), TranslateError> {
    if is_string(content) {
        let text = decode_at(|| format!("messages[{i}].content"), content.get())?;
        out.push(ChatMessage::new("assistant", Some(ChatContent::Text(text))));
        return Ok(());
    }
    let blocks = blocks_of(|| format!("messages[{i}].content"), content)?;
    let mut text: Option<Cow<'a, str>> = None;
    let mut calls = Vec::new();
    for (j, b) in blocks.into_iter().enumerate() {
        let at = || format!("messages[{i}].content[{j}]");
        match &*b.kind {
            "text" => {
                let t = b
                    .text
                    .ok_or_else(|| refuse(&format!("{}.text", at()), "is required"))?;
                text = Some(match text {
                    None => t,
                    Some(prev) => Cow::Owned(prev.into_owned() + &t),
                });
            }
            "tool_use" => {
                let id = b
                    .id
                    .ok_or_else(|| refuse(&format!("{}.id", at()), "is required"))?;
                let name = b
                    .name
                    .ok_or_else(|| refuse(&format!("{}.name", at()), "is required"))?;
                let input = b
                    .input
                    .ok_or_else(|| refuse(&format!("{}.input", at()), "is required"))?;
                calls.push(ChatToolCall {
                    id,
                    kind: "function",
                    function: FunctionCall {
                        name,
                        arguments: Cow::Borrowed(input.get()),
                    },
                });
            }
            "thinking" | "redacted_thinking" => {}
            _ => {
                return Err(refuse(
                    &format!("{}.type", at()),
                    "must be `text`, `tool_use` or `thinking` in an assistant turn translated for a non-Anthropic provider",
                ))
            }
        }
    }
    if text.is_none() && calls.is_empty() {
        return Ok(());
    }
    let mut m = ChatMessage::new("assistant", text.map(ChatContent::Text));
    m.tool_calls = calls;
    out.push(m);
    Ok(())
}

fn tool_defs(raw: &str) -> Result<Vec<ChatTool<'_>>, TranslateError> {
    let tools: Vec<WireTool<'_>> = decode("tools", raw)?;
    let mut out = Vec::with_capacity(tools.len());
    for (i, t) in tools.into_iter().enumerate() {
        if let Some(kind) = t.kind.as_deref().filter(|k| *k != "custom") {
            return Err(refuse(
                &format!("tools[{i}].type"),
                &format!("`{kind}` is a server tool that runs on Anthropic's side: it {NOT_TRANSLATABLE}"),
            ));
        }
        let schema = t
            .input_schema
            .ok_or_else(|| refuse(&format!("tools[{i}].input_schema"), "is required"))?;
        out.push(ChatTool {
            kind: "function",
            function: FunctionDef {
                name: t.name,
                description: t.description,
                parameters: Some(schema),
                strict: t.strict,
            },
        });
    }
    Ok(out)
}

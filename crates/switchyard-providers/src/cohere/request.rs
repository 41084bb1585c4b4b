//! OpenAI chat requests → Cohere's `POST /v2/chat` body.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::NAME;
use crate::canonical::{
    invalid, unsupported, ChatRequest, Content, ContentPart, Message, ResponseFormat, ToolChoice,
};
use crate::dialect::Call;
use crate::error::TranslateError;

/// Cohere-only chat fields a client may send through the gateway.
const CHAT_EXTRAS: &[&str] = &["k", "safety_mode", "thinking", "priority"];

#[derive(Serialize)]
struct ChatBody<'a> {
    model: &'a str,
    messages: Vec<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strict_tools: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presence_penalty: Option<f64>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

pub(super) fn chat_body(call: &Call<'_>) -> Result<Vec<u8>, TranslateError> {
    let req = ChatRequest::from_envelope(call.body)?;
    req.reject_extra(NAME, CHAT_EXTRAS)?;
    if req.n.is_some_and(|n| n > 1) {
        return Err(invalid(
            "provider cohere returns a single choice: `n` must be 1",
            "n",
        ));
    }
    if req.parallel_tool_calls == Some(false) {
        return Err(invalid(
            "provider cohere cannot turn parallel tool calls off (`parallel_tool_calls: false`)",
            "parallel_tool_calls",
        ));
    }
    if req.reasoning_effort.is_some() {
        return Err(unsupported(NAME, "reasoning_effort"));
    }
    let messages = req
        .messages
        .iter()
        .map(message)
        .collect::<Result<Vec<_>, _>>()?;
    let mut tools: Vec<&crate::canonical::Tool> = req.tools.iter().collect();
    let tool_choice = match &req.tool_choice {
        None | Some(ToolChoice::Auto) => None,
        Some(ToolChoice::None) => (!tools.is_empty()).then_some("NONE"),
        Some(ToolChoice::Required) if tools.is_empty() => {
            return Err(invalid(
                "`tool_choice: required` needs `tools`",
                "tool_choice",
            ))
        }
        Some(ToolChoice::Required) => Some("REQUIRED"),
        Some(ToolChoice::Function(name)) => {
            // Cohere cannot name the tool to call: offering only that one and requiring a
            // call means the same.
            tools.retain(|t| &t.function.name == name);
            if tools.is_empty() {
                return Err(invalid(
                    format!("`tool_choice` names function `{name}`, which is not in `tools`"),
                    "tool_choice",
                ));
            }
            Some("REQUIRED")
        }
    };
    let strict_tools = tools
        .iter()
        .any(|t| t.function.strict == Some(true))
        .then_some(true);
    let tools = tools
        .into_iter()
        .map(|t| {
            if t.kind != "function" {
                return Err(invalid(
                    format!(
                        "provider cohere only takes `function` tools, not `{}`",
                        t.kind
                    ),
                    "tools",
                ));
            }
            let mut f = Map::new();
            f.insert("name".into(), Value::String(t.function.name.clone()));
            if let Some(d) = &t.function.description {
                f.insert("description".into(), Value::String(d.clone()));
            }
            f.insert(
                "parameters".into(),
                t.function
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            );
            Ok(json!({"type": "function", "function": f}))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let response_format = match &req.response_format {
        None => None,
        Some(ResponseFormat::Text) => Some(json!({"type": "text"})),
        Some(ResponseFormat::JsonObject) => Some(json!({"type": "json_object"})),
        Some(ResponseFormat::JsonSchema { json_schema }) => Some(match &json_schema.schema {
            Some(schema) => json!({"type": "json_object", "json_schema": schema}),
            None => json!({"type": "json_object"}),
        }),
    };
    let body = ChatBody {
        model: call.model,
        messages,
        stream: call.stream,
        tools,
        strict_tools,
        tool_choice,
        response_format,
        max_tokens: req.max_output_tokens(),
        stop_sequences: &req.stop,
        temperature: req.temperature,
        p: req.top_p.map(|p| p.clamp(0.01, 0.99)),
        seed: req.seed,
        frequency_penalty: req.frequency_penalty,
        presence_penalty: req.presence_penalty,
        extra: &req.extra,
    };
    serde_json::to_vec(&body).map_err(|e| TranslateError::InvalidRequest {
        message: e.to_string(),
        param: None,
    })
}

fn message(m: &Message) -> Result<Value, TranslateError> {
    Ok(match m {
        Message::System { content, .. } | Message::Developer { content, .. } => {
            json!({"role": "system", "content": text_content(content, "system")?})
        }
        Message::User { content, .. } => json!({"role": "user", "content": user_content(content)?}),
        Message::Assistant {
            content,
            tool_calls,
            refusal,
            ..
        } => {
            let text = match content {
                Some(c) => assistant_text(c)?,
                None => String::new(),
            };
            let text = if text.is_empty() {
                refusal.clone().unwrap_or_default()
            } else {
                text
            };
            let mut o = Map::new();
            o.insert("role".into(), Value::String("assistant".into()));
            if tool_calls.is_empty() {
                o.insert("content".into(), Value::String(text));
            } else {
                if !text.is_empty() {
                    o.insert("tool_plan".into(), Value::String(text));
                }
                let calls: Vec<Value> = tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                               "function": {"name": c.function.name, "arguments": c.function.arguments}})
                    })
                    .collect();
                o.insert("tool_calls".into(), Value::Array(calls));
            }
            Value::Object(o)
        }
        Message::Tool {
            content,
            tool_call_id,
        } => {
            json!({"role": "tool", "tool_call_id": tool_call_id, "content": text_content(content, "tool")?})
        }
    })
}

/// System and tool content: a string, or text parts only.
fn text_content(content: &Content, role: &str) -> Result<Value, TranslateError> {
    match content {
        Content::Text(t) => Ok(Value::String(t.clone())),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => Ok(json!({"type": "text", "text": text})),
                other => Err(invalid(
                    format!(
                        "provider cohere takes only text in `{role}` messages, not `{}`",
                        part_type(other)
                    ),
                    "messages",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

fn assistant_text(content: &Content) -> Result<String, TranslateError> {
    match content {
        Content::Text(t) => Ok(t.clone()),
        Content::Parts(parts) => {
            let mut out = String::new();
            for p in parts {
                match p {
                    ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
                        out.push_str(text)
                    }
                    other => {
                        return Err(invalid(
                            format!(
                                "provider cohere takes only text in `assistant` messages, not `{}`",
                                part_type(other)
                            ),
                            "messages",
                        ))
                    }
                }
            }
            Ok(out)
        }
    }
}

fn user_content(content: &Content) -> Result<Value, TranslateError> {
    match content {
        Content::Text(t) => Ok(Value::String(t.clone())),
        Content::Parts(parts) => parts
            .iter()
            .map(|p| match p {
                ContentPart::Text { text } => Ok(json!({"type": "text", "text": text})),
                ContentPart::ImageUrl { image_url } => {
                    // Cohere takes web URLs and data URIs alike; check data URLs are base64.
                    image_url.source()?;
                    let mut img = Map::new();
                    img.insert("url".into(), Value::String(image_url.url.clone()));
                    if let Some(d) = &image_url.detail {
                        img.insert("detail".into(), Value::String(d.clone()));
                    }
                    Ok(json!({"type": "image_url", "image_url": img}))
                }
                other => Err(invalid(
                    format!(
                        "provider cohere does not take `{}` content",
                        part_type(other)
                    ),
                    "messages",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
    }
}

fn part_type(p: &ContentPart) -> &'static str {
    match p {
        ContentPart::Text { .. } => "text",
        ContentPart::ImageUrl { .. } => "image_url",
        ContentPart::InputAudio { .. } => "input_audio",
        ContentPart::File { .. } => "file",
        ContentPart::Refusal { .. } => "refusal",
    }
}

//! Cohere's v2 API: `POST /v2/chat` (plain and SSE) and `POST /v2/embed`, translated to and
//! from OpenAI's Chat Completions and Embeddings.
//!
//! Request mapping (Cohere's OpenAPI spec, cohere-ai/cohere-developer-experience
//! `cohere-openapi.yaml`): messages keep their roles (`developer` becomes `system`); user
//! content is a string or `text`/`image_url` parts (image URLs may be web URLs or data URIs,
//! so they pass through); an assistant turn with tool calls sends its text as `tool_plan`;
//! `tool` results keep `tool_call_id`. `tools` keep OpenAI's shape; `tool_choice` `none` /
//! `required` become `NONE` / `REQUIRED`, and a named function becomes `REQUIRED` with only
//! that tool offered; any `strict` tool turns on `strict_tools`. `response_format`
//! `json_object` / `json_schema` become `json_object` with an optional `json_schema`.
//! `max_tokens`/`max_completion_tokens` → `max_tokens`, `stop` → `stop_sequences`,
//! `top_p` → `p` (clamped to Cohere's 0.01–0.99), `temperature`, `seed`,
//! `frequency_penalty`, `presence_penalty` as they are. Cohere-only fields `k`,
//! `safety_mode`, `thinking` and `priority` pass through when a client sends them. `user` is
//! accepted and not sent (Cohere has no end-user field and it never changes an answer);
//! `n > 1`, `parallel_tool_calls: false`, audio and file parts, `logprobs` and every other
//! field are refused with a 400 naming them.
//!
//! Answers: text content is joined (reasoning `thinking` blocks are left out); the tool plan
//! becomes the content of a tool-calling turn; `finish_reason` COMPLETE/STOP_SEQUENCE →
//! `stop`, MAX_TOKENS/TIMEOUT → `length`, TOOL_CALL → `tool_calls`, ERROR → an error. Usage
//! counts `billed_units` (what Cohere charges), falling back to `tokens`, with
//! `cached_tokens`.

use std::time::UNIX_EPOCH;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use crate::canonical::{
    invalid, unsupported, AssistantMessage, ChatCompletion, ChatRequest, Choice, ChunkWriter,
    Content, ContentPart, FinishReason, Message, ResponseFormat, ToolChoice, UsageOut,
};
use crate::dialect::{
    headers, Call, Dialect, Output, ProviderEndpoint, ResponseTranslator, UpstreamRequest, Verdict,
};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::sse::{self, SseFramer};
use crate::usage::Usage;

const NAME: &str = "cohere";

/// Cohere-only chat fields a client may send through the gateway.
const CHAT_EXTRAS: &[&str] = &["k", "safety_mode", "thinking", "priority"];

/// `input_type` sent with embeddings when the client names none: v3+ models require one,
/// and OpenAI's embeddings are used to store documents more often than to query them.
pub const DEFAULT_INPUT_TYPE: &str = "search_document";

/// The Cohere v2 dialect.
#[derive(Debug)]
pub struct Cohere;

impl Dialect for Cohere {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let (suffix, body) = match call.endpoint {
            Endpoint::ChatCompletions => ("/v2/chat", chat_body(call)?),
            Endpoint::Embeddings => ("/v2/embed", embed_body(call)?),
            other => {
                return Err(TranslateError::UnsupportedEndpoint {
                    kind: provider.kind.name(),
                    endpoint: other.label(),
                })
            }
        };
        // `https://api.cohere.com` and `https://api.cohere.com/v2` both work as base URLs.
        let base = provider
            .base_path
            .strip_suffix("/v2")
            .unwrap_or(&provider.base_path);
        Ok(UpstreamRequest {
            method: "POST",
            path: format!("{base}{suffix}"),
            headers: headers::json_api(provider, call)?,
            body: Bytes::from(body),
        })
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        let created = call
            .now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match call.endpoint {
            Endpoint::Embeddings => Buffered::boxed(EmbedAnswer {
                model: call.model.to_owned(),
                base64: embedding_format(call).unwrap_or(false),
            }),
            _ if call.stream => Box::new(ChatStream::new(
                &provider.name,
                call.model,
                created,
                include_usage(call),
            )),
            _ => Buffered::boxed(ChatAnswer {
                provider: provider.name.clone(),
                model: call.model.to_owned(),
                created,
            }),
        }
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        error_body(status, body, &provider.name)
    }
}

fn include_usage(call: &Call<'_>) -> bool {
    #[derive(Deserialize)]
    struct StreamOptions {
        #[serde(default)]
        include_usage: Option<bool>,
    }
    call.body
        .get::<StreamOptions>("stream_options", "an object")
        .ok()
        .flatten()
        .and_then(|o| o.include_usage)
        .unwrap_or(false)
}

/// A Cohere error body (`{"message": "...", "id"?: "..."}`) as an OpenAI error.
pub fn error_body(status: u16, body: &[u8], provider: &str) -> ErrorBody {
    #[derive(Deserialize)]
    struct Wire {
        message: String,
    }
    match serde_json::from_slice::<Wire>(body) {
        Ok(w) if !w.message.is_empty() => {
            let code = match status {
                401 | 498 => Some("invalid_api_key"),
                429 => Some("rate_limit_exceeded"),
                _ => None,
            };
            ErrorBody::new(w.message, ErrorBody::kind_for_status(status), code)
                .with_provider(provider)
        }
        _ => ErrorBody::from_provider(status, body, provider),
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

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

fn chat_body(call: &Call<'_>) -> Result<Vec<u8>, TranslateError> {
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

fn embed_body(call: &Call<'_>) -> Result<Vec<u8>, TranslateError> {
    let env = call.body;
    for key in env.keys() {
        match key {
            "input" | "model" | "encoding_format" | "dimensions" | "user" | "input_type"
            | "truncate" => {}
            other => return Err(unsupported(NAME, other)),
        }
    }
    let texts: Vec<String> = match env.get::<Value>("input", "a string or an array") {
        Ok(Some(Value::String(s))) => vec![s],
        Ok(Some(Value::Array(items))) if !items.is_empty() => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(invalid(
                    "provider cohere embeds text: `input` must be a string or an array of strings",
                    "input",
                )),
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "`input` must be a non-empty string or array of strings",
                "input",
            ))
        }
    };
    embedding_format(call)?;
    let dimensions: Option<u32> = env
        .get("dimensions", "an integer")
        .map_err(|e| invalid(e.to_string(), "dimensions"))?;
    let input_type: Option<String> = env
        .get_str("input_type")
        .map_err(|e| invalid(e.to_string(), "input_type"))?;
    let truncate: Option<String> = env
        .get_str("truncate")
        .map_err(|e| invalid(e.to_string(), "truncate"))?;
    let mut body = json!({
        "model": call.model,
        "texts": texts,
        "input_type": input_type.as_deref().unwrap_or(DEFAULT_INPUT_TYPE),
        "embedding_types": ["float"],
    });
    if let Some(d) = dimensions {
        body["output_dimension"] = json!(d);
    }
    if let Some(t) = truncate {
        body["truncate"] = Value::String(t);
    }
    serde_json::to_vec(&body).map_err(|e| invalid(e.to_string(), "input"))
}

/// Whether the client asked for base64 embeddings (`encoding_format`).
fn embedding_format(call: &Call<'_>) -> Result<bool, TranslateError> {
    match call.body.get_str("encoding_format") {
        Ok(None) => Ok(false),
        Ok(Some(f)) if f == "float" => Ok(false),
        Ok(Some(f)) if f == "base64" => Ok(true),
        _ => Err(invalid(
            "`encoding_format` must be `float` or `base64`",
            "encoding_format",
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    billed_units: Option<WireUnits>,
    #[serde(default)]
    tokens: Option<WireUnits>,
    #[serde(default)]
    cached_tokens: Option<f64>,
}

#[derive(Deserialize, Default)]
struct WireUnits {
    #[serde(default)]
    input_tokens: Option<f64>,
    #[serde(default)]
    output_tokens: Option<f64>,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        let count = |pick: fn(&WireUnits) -> Option<f64>| {
            self.billed_units
                .as_ref()
                .and_then(pick)
                .or_else(|| self.tokens.as_ref().and_then(pick))
                .unwrap_or(0.0) as u64
        };
        let prompt_tokens = count(|u| u.input_tokens);
        let completion_tokens = count(|u| u.output_tokens);
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            cached_tokens: self.cached_tokens.unwrap_or(0.0) as u64,
        }
    }
}

/// Cohere's finish reason in OpenAI's terms; `None` for `ERROR`.
fn finish_reason(reason: Option<&str>) -> Option<FinishReason> {
    match reason.unwrap_or("COMPLETE") {
        "ERROR" => None,
        "MAX_TOKENS" | "TIMEOUT" | "ERROR_LIMIT" => Some(FinishReason::Length),
        "TOOL_CALL" => Some(FinishReason::ToolCalls),
        "ERROR_TOXIC" => Some(FinishReason::ContentFilter),
        _ => Some(FinishReason::Stop),
    }
}

fn generation_error(provider: &str, message: Option<String>) -> ErrorBody {
    let message = message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "the generation failed (finish_reason ERROR)".to_owned());
    ErrorBody::new(message, "api_error", Some("generation_error")).with_provider(provider)
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    message: WireMessage,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Vec<WireContent>,
    #[serde(default)]
    tool_calls: Vec<WireToolCall>,
    #[serde(default)]
    tool_plan: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireContent {
    Text {
        text: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: WireFunction,
}

#[derive(Deserialize, Default)]
struct WireFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// What a whole (non-streamed) answer translated to.
struct Whole {
    body: Option<Bytes>,
    verdict: Verdict,
    usage: Option<Usage>,
}

/// A non-streamed answer that can only be translated once complete.
trait WholeAnswer: Send {
    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError>;
}

/// Holds a non-streamed answer until it is complete, then translates it in one go.
struct Buffered<T> {
    answer: T,
    buf: Vec<u8>,
    verdict: Verdict,
    usage: Option<Usage>,
}

impl<T: WholeAnswer> Buffered<T> {
    fn boxed(answer: T) -> Box<dyn ResponseTranslator>
    where
        T: 'static,
    {
        Box::new(Self {
            answer,
            buf: Vec::new(),
            verdict: Verdict::Pending,
            usage: None,
        })
    }
}

impl<T: WholeAnswer> ResponseTranslator for Buffered<T> {
    fn push(&mut self, chunk: Bytes, _out: &mut Output) -> Result<(), TranslateError> {
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        let whole = self.answer.translate(&self.buf)?;
        out.extend(whole.body);
        self.verdict = whole.verdict;
        self.usage = whole.usage;
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

/// A non-streamed chat answer.
struct ChatAnswer {
    provider: String,
    model: String,
    created: u64,
}

impl WholeAnswer for ChatAnswer {
    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let w: WireResponse = serde_json::from_slice(body)
            .map_err(|e| TranslateError::BadResponse(format!("cohere chat answer: {e}")))?;
        let usage = w.usage.as_ref().map(WireUsage::usage);
        let Some(finish) = finish_reason(w.finish_reason.as_deref()) else {
            return Ok(Whole {
                body: None,
                verdict: Verdict::Failed {
                    status: 502,
                    error: generation_error(&self.provider, None),
                },
                usage,
            });
        };
        let text: String = w
            .message
            .content
            .iter()
            .filter_map(|c| match c {
                WireContent::Text { text } => Some(text.as_str()),
                WireContent::Other => None,
            })
            .collect();
        let tool_calls: Vec<crate::canonical::ToolCall> = w
            .message
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| crate::canonical::ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{i}")),
                kind: "function".into(),
                function: crate::canonical::FunctionCall {
                    name: c.function.name.unwrap_or_default(),
                    arguments: c.function.arguments.unwrap_or_else(|| "{}".into()),
                },
            })
            .collect();
        let content = if !text.is_empty() {
            Some(text)
        } else if !tool_calls.is_empty() {
            w.message.tool_plan.filter(|p| !p.is_empty())
        } else {
            Some(String::new())
        };
        let completion = ChatCompletion {
            id: w.id,
            object: "chat.completion",
            created: self.created,
            model: self.model.clone(),
            choices: vec![Choice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant",
                    content,
                    tool_calls,
                    refusal: None,
                },
                finish_reason: finish,
                logprobs: None,
            }],
            usage: usage.map(UsageOut::from),
        };
        Ok(Whole {
            body: Some(completion.to_bytes()),
            verdict: Verdict::Healthy,
            usage,
        })
    }
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    delta: Option<EventDelta>,
    /// Cohere's error shape, should an error arrive as an event.
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct EventDelta {
    #[serde(default)]
    message: Option<EventMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct EventMessage {
    #[serde(default)]
    content: Option<EventContent>,
    #[serde(default)]
    tool_plan: Option<String>,
    #[serde(default)]
    tool_calls: Option<WireToolCall>,
}

#[derive(Deserialize, Default)]
struct EventContent {
    #[serde(default)]
    text: Option<String>,
}

/// A streamed chat answer, translated event by event into OpenAI chunks.
#[derive(Debug)]
pub struct ChatStream {
    provider: String,
    framer: SseFramer,
    writer: ChunkWriter,
    verdict: Verdict,
    usage: Option<Usage>,
    /// Cohere's tool-call indexes in order of appearance; OpenAI's index is the position.
    tool_slots: Vec<u64>,
    ended: bool,
}

impl ChatStream {
    fn new(provider: &str, model: &str, created: u64, include_usage: bool) -> Self {
        Self {
            provider: provider.to_owned(),
            framer: SseFramer::new(),
            writer: ChunkWriter::new("chatcmpl-cohere", model, created, include_usage),
            verdict: Verdict::Pending,
            usage: None,
            tool_slots: Vec::new(),
            ended: false,
        }
    }

    fn slot(&mut self, cohere_index: Option<u64>) -> u32 {
        let key = cohere_index.unwrap_or(self.tool_slots.len() as u64);
        let at = match self.tool_slots.iter().position(|&k| k == key) {
            Some(i) => i,
            None => {
                self.tool_slots.push(key);
                self.tool_slots.len() - 1
            }
        };
        at as u32
    }

    fn healthy(&mut self) {
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Healthy;
        }
    }

    fn fail(&mut self, error: ErrorBody, out: &mut Output) {
        self.ended = true;
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Failed { status: 502, error };
        } else {
            out.push(sse::error_event(&error));
        }
    }

    fn on_event(&mut self, data: &[u8], out: &mut Output) -> Result<(), TranslateError> {
        if self.ended || data == b"[DONE]" {
            return Ok(());
        }
        let ev: WireEvent = serde_json::from_slice(data)
            .map_err(|e| TranslateError::BadResponse(format!("cohere stream event: {e}")))?;
        let delta = ev.delta.unwrap_or_default();
        let msg = delta.message.unwrap_or_default();
        match ev.kind.as_str() {
            // `message-start` only opens the stream: the verdict waits for the next event, so
            // a generation that fails at once (`message-end` with ERROR) can still fail over.
            "message-start" => {
                if let Some(id) = ev.id {
                    self.writer.set_id(id);
                }
                self.writer.start(out);
            }
            "content-start" | "content-delta" => {
                self.healthy();
                if let Some(text) = msg.content.and_then(|c| c.text) {
                    self.writer.content(&text, out);
                }
            }
            "tool-plan-delta" => {
                self.healthy();
                if let Some(plan) = msg.tool_plan {
                    self.writer.content(&plan, out);
                }
            }
            "tool-call-start" => {
                self.healthy();
                let slot = self.slot(ev.index);
                let call = msg.tool_calls.unwrap_or_default();
                let id = call.id.unwrap_or_else(|| format!("call_{slot}"));
                let name = call.function.name.unwrap_or_default();
                self.writer.tool_call_start(slot, &id, &name, out);
                if let Some(args) = call.function.arguments {
                    self.writer.tool_call_arguments(slot, &args, out);
                }
            }
            "tool-call-delta" => {
                self.healthy();
                let slot = self.slot(ev.index);
                if let Some(args) = msg.tool_calls.and_then(|c| c.function.arguments) {
                    self.writer.tool_call_arguments(slot, &args, out);
                }
            }
            "message-end" => {
                self.usage = delta.usage.as_ref().map(WireUsage::usage);
                match finish_reason(delta.finish_reason.as_deref()) {
                    Some(reason) if delta.error.is_none() => {
                        self.healthy();
                        self.ended = true;
                        self.writer.finish(reason, out);
                        self.writer.done(self.usage, out);
                    }
                    _ => {
                        let error = generation_error(&self.provider, delta.error);
                        self.fail(error, out);
                    }
                }
            }
            "" => {
                let error =
                    generation_error(
                        &self.provider,
                        Some(ev.message.unwrap_or_else(|| {
                            "the provider sent an event without a type".to_owned()
                        })),
                    );
                self.fail(error, out);
            }
            // content-end, tool-call-end, citation-start/-end, debug: nothing for OpenAI.
            _ => self.healthy(),
        }
        Ok(())
    }

    fn drain(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        while let Some(event) = self
            .framer
            .next_event()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.on_event(&event.data, out)?;
        }
        Ok(())
    }
}

impl ResponseTranslator for ChatStream {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        self.framer
            .push(&chunk)
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?;
        self.drain(out)
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        self.drain(out)?;
        if let Some(event) = self
            .framer
            .finish()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.on_event(&event.data, out)?;
        }
        if !self.ended {
            return Err(TranslateError::BadResponse(
                "the cohere stream ended before its message-end event".into(),
            ));
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
        "text/event-stream"
    }

    fn is_passthrough(&self) -> bool {
        false
    }
}

#[derive(Deserialize)]
struct WireEmbed<'a> {
    #[serde(borrow)]
    embeddings: WireEmbeddings<'a>,
    #[serde(default)]
    meta: Option<WireMeta>,
}

#[derive(Deserialize)]
struct WireEmbeddings<'a> {
    #[serde(borrow, default)]
    float: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireMeta {
    #[serde(default)]
    billed_units: Option<WireUnits>,
}

/// An embeddings answer.
struct EmbedAnswer {
    model: String,
    base64: bool,
}

impl WholeAnswer for EmbedAnswer {
    fn translate(&self, body: &[u8]) -> Result<Whole, TranslateError> {
        let bad =
            |e: serde_json::Error| TranslateError::BadResponse(format!("cohere embed answer: {e}"));
        let w: WireEmbed<'_> = serde_json::from_slice(body).map_err(bad)?;
        let tokens = w
            .meta
            .and_then(|m| m.billed_units)
            .and_then(|u| u.input_tokens)
            .unwrap_or(0.0) as u64;
        let mut out = Vec::with_capacity(body.len() + 64 * w.embeddings.float.len());
        out.extend_from_slice(br#"{"object":"list","data":["#);
        for (i, raw) in w.embeddings.float.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"object":"embedding","index":"#);
            out.extend_from_slice(i.to_string().as_bytes());
            out.extend_from_slice(br#","embedding":"#);
            if self.base64 {
                let floats: Vec<f32> = serde_json::from_str(raw.get()).map_err(bad)?;
                let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
                out.push(b'"');
                out.extend_from_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(bytes)
                        .as_bytes(),
                );
                out.push(b'"');
            } else {
                out.extend_from_slice(raw.get().as_bytes());
            }
            out.push(b'}');
        }
        out.extend_from_slice(br#"],"model":"#);
        out.extend_from_slice(&serde_json::to_vec(&self.model).map_err(bad)?);
        out.extend_from_slice(
            format!(r#","usage":{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}}}"#)
                .as_bytes(),
        );
        Ok(Whole {
            body: Some(Bytes::from(out)),
            verdict: Verdict::Healthy,
            usage: Some(Usage {
                prompt_tokens: tokens,
                completion_tokens: 0,
                total_tokens: tokens,
                cached_tokens: 0,
            }),
        })
    }
}

//! The canonical model: OpenAI's Chat Completions request, response and stream chunk, typed.
//!
//! Native dialects (Anthropic, Gemini, Bedrock, Cohere…) read the client's request through
//! [`ChatRequest::from_envelope`] — each top-level field decoded once from its raw slice, and
//! every field this model does not know kept in [`ChatRequest::extra`] so a dialect can refuse
//! what it cannot honour with a 400 that names it — and write their answers through
//! [`ChatCompletion`] and [`ChunkWriter`], so every dialect's output has the same shape.

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::envelope::{put_json_string, JsonEnvelope};
use crate::error::TranslateError;
use crate::sse;
use crate::usage::Usage;

/// A Chat Completions request.
#[derive(Clone, Debug, Default)]
pub struct ChatRequest {
    /// The model the client asked for.
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Stream the answer.
    pub stream: bool,
    /// `stream_options.include_usage`.
    pub include_usage: bool,
    /// `max_tokens` (legacy name).
    pub max_tokens: Option<u32>,
    /// `max_completion_tokens`.
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    pub top_p: Option<f64>,
    /// Number of choices.
    pub n: Option<u32>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// How the model should use tools.
    pub tool_choice: Option<ToolChoice>,
    /// Whether several tool calls may come in one turn.
    pub parallel_tool_calls: Option<bool>,
    /// Output format.
    pub response_format: Option<ResponseFormat>,
    /// End-user id.
    pub user: Option<String>,
    /// Sampling seed.
    pub seed: Option<i64>,
    /// Presence penalty.
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f64>,
    /// Reasoning effort for reasoning models.
    pub reasoning_effort: Option<String>,
    /// Every other top-level field, raw.
    pub extra: Map<String, Value>,
}

impl ChatRequest {
    /// The token limit the client set, under either name.
    pub fn max_output_tokens(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }

    /// Decodes the request from an envelope, field by field.
    pub fn from_envelope(env: &JsonEnvelope) -> Result<Self, TranslateError> {
        let mut r = ChatRequest::default();
        for key in env.keys() {
            let Some(raw) = env.get_raw(key) else {
                continue;
            };
            if raw == "null" {
                continue;
            }
            match key {
                "model" => r.model = field(key, raw)?,
                "messages" => r.messages = field(key, raw)?,
                "stream" => r.stream = field(key, raw)?,
                "stream_options" => {
                    let o: StreamOptions = field(key, raw)?;
                    r.include_usage = o.include_usage.unwrap_or(false);
                }
                "max_tokens" => r.max_tokens = Some(field(key, raw)?),
                "max_completion_tokens" => r.max_completion_tokens = Some(field(key, raw)?),
                "temperature" => r.temperature = Some(field(key, raw)?),
                "top_p" => r.top_p = Some(field(key, raw)?),
                "n" => r.n = Some(field(key, raw)?),
                "stop" => {
                    r.stop = match field::<Stop>(key, raw)? {
                        Stop::One(s) => vec![s],
                        Stop::Many(v) => v,
                    }
                }
                "tools" => r.tools = field(key, raw)?,
                "tool_choice" => r.tool_choice = Some(field(key, raw)?),
                "parallel_tool_calls" => r.parallel_tool_calls = Some(field(key, raw)?),
                "response_format" => r.response_format = Some(field(key, raw)?),
                "user" => r.user = Some(field(key, raw)?),
                "seed" => r.seed = Some(field(key, raw)?),
                "presence_penalty" => r.presence_penalty = Some(field(key, raw)?),
                "frequency_penalty" => r.frequency_penalty = Some(field(key, raw)?),
                "reasoning_effort" => r.reasoning_effort = Some(field(key, raw)?),
                other => {
                    let v: Value = field(other, raw)?;
                    r.extra.insert(other.to_owned(), v);
                }
            }
        }
        if r.messages.is_empty() {
            return Err(invalid("`messages` must be a non-empty array", "messages"));
        }
        Ok(r)
    }

    /// Refuses every `extra` field not in `allowed`, naming the first one: a parameter a
    /// provider cannot honour is an error, never silently dropped.
    pub fn reject_extra(&self, provider: &str, allowed: &[&str]) -> Result<(), TranslateError> {
        match self.extra.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(unsupported(provider, k)),
            None => Ok(()),
        }
    }
}

/// The error for a parameter a provider cannot honour.
pub fn unsupported(provider: &str, param: &str) -> TranslateError {
    TranslateError::InvalidRequest {
        message: format!("`{param}` is not supported by provider {provider}"),
        param: Some(param.to_owned()),
    }
}

/// An invalid-request error naming a field.
pub fn invalid(message: impl Into<String>, param: &str) -> TranslateError {
    TranslateError::InvalidRequest {
        message: message.into(),
        param: Some(param.to_owned()),
    }
}

fn field<T: serde::de::DeserializeOwned>(key: &str, raw: &str) -> Result<T, TranslateError> {
    serde_json::from_str(raw).map_err(|e| invalid(format!("invalid `{key}`: {e}"), key))
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// One message of the conversation.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Message {
    /// Instructions.
    System {
        /// Text.
        content: Content,
        /// Optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Instructions (newer name for `system` on reasoning models).
    Developer {
        /// Text.
        content: Content,
        /// Optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// The user.
    User {
        /// Text and media.
        content: Content,
        /// Optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// An earlier model turn.
    Assistant {
        /// Text, absent when the turn only called tools.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
        /// Tool calls made.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
        /// A refusal.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refusal: Option<String>,
        /// Optional participant name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A tool's result.
    Tool {
        /// The result.
        content: Content,
        /// The call it answers.
        tool_call_id: String,
    },
}

/// Message content: a string or a list of parts.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text and media parts.
    Parts(Vec<ContentPart>),
}

impl Content {
    /// All text parts joined (media dropped).
    pub fn text(&self) -> String {
        match self {
            Content::Text(t) => t.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(""),
        }
    }

    /// The parts, a plain string being one text part.
    pub fn parts(&self) -> Vec<ContentPart> {
        match self {
            Content::Text(t) => vec![ContentPart::Text { text: t.clone() }],
            Content::Parts(p) => p.clone(),
        }
    }
}

/// One part of a message.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL or data URL.
    ImageUrl {
        /// The image.
        image_url: ImageUrl,
    },
    /// Audio input.
    InputAudio {
        /// The audio.
        input_audio: InputAudio,
    },
    /// A file.
    File {
        /// The file.
        file: FileRef,
    },
    /// A refusal (in assistant turns).
    Refusal {
        /// The refusal text.
        refusal: String,
    },
}

/// An image reference.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ImageUrl {
    /// `https://…` or `data:<media type>;base64,<data>`.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Where an image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource<'a> {
    /// Inline: media type and base64 data.
    Data {
        /// e.g. `image/png`.
        media_type: &'a str,
        /// Base64 payload.
        base64: &'a str,
    },
    /// A URL the provider (or the gateway) must fetch.
    Url(&'a str),
}

impl ImageUrl {
    /// Splits a data URL into media type and payload; anything else is a URL.
    pub fn source(&self) -> Result<ImageSource<'_>, TranslateError> {
        let Some(rest) = self.url.strip_prefix("data:") else {
            return Ok(ImageSource::Url(&self.url));
        };
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| invalid("malformed data URL in `image_url.url`", "messages"))?;
        let media_type = meta.strip_suffix(";base64").ok_or_else(|| {
            invalid(
                "image data URLs must be base64 (`data:<type>;base64,…`)",
                "messages",
            )
        })?;
        Ok(ImageSource::Data {
            media_type,
            base64: data,
        })
    }
}

/// Audio input.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct InputAudio {
    /// Base64 audio.
    pub data: String,
    /// `wav` or `mp3`.
    pub format: String,
}

/// A file reference.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct FileRef {
    /// Base64 data URL of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// An uploaded file id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// The file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Tool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDef,
}

/// A function definition.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct FunctionDef {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolChoice {
    /// Never call tools.
    None,
    /// The model decides.
    Auto,
    /// Must call some tool.
    Required,
    /// Must call this function.
    Function(String),
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Mode(String),
            Named { function: Named },
        }
        #[derive(Deserialize)]
        struct Named {
            name: String,
        }
        match Wire::deserialize(d)? {
            Wire::Mode(m) => match m.as_str() {
                "none" => Ok(ToolChoice::None),
                "auto" => Ok(ToolChoice::Auto),
                "required" => Ok(ToolChoice::Required),
                other => Err(serde::de::Error::custom(format!(
                    "unknown tool_choice `{other}` (none, auto, required or a function)"
                ))),
            },
            Wire::Named { function } => Ok(ToolChoice::Function(function.name)),
        }
    }
}

/// A tool call made by the model.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct ToolCall {
    /// Call id.
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The call.
    pub function: FunctionCall,
}

fn function_type() -> String {
    "function".into()
}

/// A function call: name and JSON-encoded arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON string.
    pub arguments: String,
}

/// `response_format`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema and its name.
        json_schema: JsonSchema,
    },
}

/// A named JSON Schema.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct JsonSchema {
    /// Name.
    pub name: String,
    /// The schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Strict adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Why generation stopped, in OpenAI's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// Token limit.
    Length,
    /// The model called tools.
    ToolCalls,
    /// Output withheld by a safety filter.
    ContentFilter,
}

impl FinishReason {
    /// OpenAI's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
        }
    }
}

/// A complete (non-streamed) answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatCompletion {
    /// Response id.
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// The choices.
    pub choices: Vec<Choice>,
    /// Token usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageOut>,
}

impl ChatCompletion {
    /// The JSON body.
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// OpenAI's embeddings answer, `{"object":"list","data":[{"object":"embedding","index":i,
/// "embedding":v}…],"model":…,"usage":{"prompt_tokens":n,"total_tokens":n}}`, around vectors
/// given as raw JSON (an array of numbers, or a [`base64_embedding`] string), copied as they
/// are.
pub fn embedding_list<V: AsRef<str>>(vectors: &[V], model: &str, prompt_tokens: u64) -> Bytes {
    let size: usize = vectors.iter().map(|v| v.as_ref().len() + 48).sum();
    let mut out = BytesMut::with_capacity(size + model.len() + 96);
    out.put_slice(br#"{"object":"list","data":["#);
    for (i, v) in vectors.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(br#"{"object":"embedding","index":"#);
        out.put_slice(i.to_string().as_bytes());
        out.put_slice(br#","embedding":"#);
        out.put_slice(v.as_ref().as_bytes());
        out.put_u8(b'}');
    }
    out.put_slice(br#"],"model":"#);
    put_json_string(&mut out, model);
    out.put_slice(
        format!(r#","usage":{{"prompt_tokens":{prompt_tokens},"total_tokens":{prompt_tokens}}}}}"#)
            .as_bytes(),
    );
    out.freeze()
}

/// A vector given as a JSON array of numbers in OpenAI's `encoding_format: base64`: its
/// values as little-endian `f32`, base64-encoded, as a JSON string.
pub fn base64_embedding(raw: &str) -> Result<String, serde_json::Error> {
    use base64::Engine as _;
    let floats: Vec<f32> = serde_json::from_str(raw)?;
    let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
    // Base64 needs no JSON escaping.
    Ok(format!(
        "\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// One choice of a complete answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Choice {
    /// Index.
    pub index: u32,
    /// The message.
    pub message: AssistantMessage,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Not provided by translated providers.
    pub logprobs: Option<Value>,
}

/// The assistant's message.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AssistantMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// Text (null when only tools were called).
    pub content: Option<String>,
    /// Tool calls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// A refusal.
    pub refusal: Option<String>,
}

/// Usage as OpenAI writes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UsageOut {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Sum.
    pub total_tokens: u64,
    /// Cached prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
}

/// Prompt-token details.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PromptTokensDetails {
    /// Tokens read from the provider's prompt cache.
    pub cached_tokens: u64,
}

impl From<Usage> for UsageOut {
    fn from(u: Usage) -> Self {
        UsageOut {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: if u.total_tokens > 0 {
                u.total_tokens
            } else {
                u.prompt_tokens + u.completion_tokens
            },
            prompt_tokens_details: (u.cached_tokens > 0).then_some(PromptTokensDetails {
                cached_tokens: u.cached_tokens,
            }),
        }
    }
}

/// Writes OpenAI `chat.completion.chunk` events for a translated stream, so every dialect
/// emits the same shape: a first chunk carrying the role, content and tool-call deltas,
/// one chunk with the finish reason, a usage chunk when the client asked for one, and
/// `[DONE]`.
#[derive(Debug)]
pub struct ChunkWriter {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    role_sent: bool,
    finished: bool,
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,"choices":[{"index":0,"delta":{`,
    /// rebuilt when the id or model changes, so an event costs one buffer and its delta.
    prefix: BytesMut,
}

impl ChunkWriter {
    /// A writer for one stream.
    pub fn new(
        id: impl Into<String>,
        model: impl Into<String>,
        created: u64,
        include_usage: bool,
    ) -> Self {
        let mut w = Self {
            id: id.into(),
            model: model.into(),
            created,
            include_usage,
            role_sent: false,
            finished: false,
            prefix: BytesMut::new(),
        };
        w.build_prefix();
        w
    }

    fn build_prefix(&mut self) {
        let mut p = BytesMut::with_capacity(128 + self.id.len() + self.model.len());
        p.put_slice(b"data: {\"id\":");
        put_json_string(&mut p, &self.id);
        p.put_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        p.put_slice(self.created.to_string().as_bytes());
        p.put_slice(b",\"model\":");
        put_json_string(&mut p, &self.model);
        p.put_slice(b",\"choices\":[{\"index\":0,\"delta\":{");
        self.prefix = p;
    }

    /// Replaces the id (e.g. once the provider's message id is known).
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.id = id.into();
        self.build_prefix();
    }

    /// Replaces the model name (e.g. the provider reports the exact version).
    pub fn set_model(&mut self, model: impl Into<String>) {
        self.model = model.into();
        self.build_prefix();
    }

    /// True once [`ChunkWriter::finish`] has been written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One chunk event: the prefix, the delta's fields written by `delta` (plus the role, on
    /// the stream's first chunk that has any), and the finish reason.
    fn event(
        &mut self,
        extra: usize,
        finish: Option<FinishReason>,
        delta: impl FnOnce(&mut BytesMut),
    ) -> Bytes {
        let mut b = BytesMut::with_capacity(self.prefix.len() + extra + 112);
        b.put_slice(&self.prefix);
        let fields_start = b.len();
        delta(&mut b);
        if !self.role_sent && b.len() > fields_start {
            self.role_sent = true;
            b.put_slice(b",\"role\":\"assistant\"");
        }
        b.put_slice(b"},\"logprobs\":null,\"finish_reason\":");
        match finish {
            Some(r) => {
                b.put_u8(b'"');
                b.put_slice(r.as_str().as_bytes());
                b.put_u8(b'"');
            }
            None => b.put_slice(b"null"),
        }
        b.put_slice(b"}]");
        if self.include_usage {
            b.put_slice(b",\"usage\":null");
        }
        b.put_slice(b"}\n\n");
        b.freeze()
    }

    /// The opening chunk: role and empty content.
    pub fn start(&mut self, out: &mut Vec<Bytes>) {
        if !self.role_sent {
            out.push(self.event(0, None, |d| d.put_slice(b"\"content\":\"\"")));
        }
    }

    /// A piece of text.
    pub fn content(&mut self, text: &str, out: &mut Vec<Bytes>) {
        if text.is_empty() {
            return;
        }
        out.push(self.event(text.len(), None, |d| {
            d.put_slice(b"\"content\":");
            put_json_string(d, text);
        }));
    }

    /// The start of tool call `index`: its id and function name, empty arguments.
    pub fn tool_call_start(&mut self, index: u32, id: &str, name: &str, out: &mut Vec<Bytes>) {
        out.push(self.event(id.len() + name.len() + 64, None, |d| {
            d.put_slice(b"\"tool_calls\":[{\"index\":");
            d.put_slice(index.to_string().as_bytes());
            d.put_slice(b",\"id\":");
            put_json_string(d, id);
            d.put_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            put_json_string(d, name);
            d.put_slice(b",\"arguments\":\"\"}}]");
        }));
    }

    /// A fragment of tool call `index`'s JSON arguments.
    pub fn tool_call_arguments(&mut self, index: u32, fragment: &str, out: &mut Vec<Bytes>) {
        if fragment.is_empty() {
            return;
        }
        out.push(self.event(fragment.len() + 48, None, |d| {
            d.put_slice(b"\"tool_calls\":[{\"index\":");
            d.put_slice(index.to_string().as_bytes());
            d.put_slice(b",\"function\":{\"arguments\":");
            put_json_string(d, fragment);
            d.put_slice(b"}}]");
        }));
    }

    /// The chunk with the finish reason.
    pub fn finish(&mut self, reason: FinishReason, out: &mut Vec<Bytes>) {
        if self.finished {
            return;
        }
        self.start(out);
        self.finished = true;
        out.push(self.event(0, Some(reason), |_| {}));
    }

    /// The end of the stream: the usage chunk (when asked for) and `[DONE]`.
    pub fn done(&mut self, usage: Option<Usage>, out: &mut Vec<Bytes>) {
        if self.include_usage {
            let chunk = serde_json::json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": UsageOut::from(usage.unwrap_or_default()),
            });
            out.push(sse::data_event(
                &serde_json::to_vec(&chunk).unwrap_or_default(),
            ));
        }
        out.push(sse::done_event());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseFramer;

    fn parse(s: &str) -> Result<ChatRequest, TranslateError> {
        let env = JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap();
        ChatRequest::from_envelope(&env)
    }

    #[test]
    fn parses_a_full_request() {
        let r = parse(r#"{
            "model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true},
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"}
            ],
            "max_tokens": 100, "temperature": 0.2, "stop": "END",
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            "logit_bias": {"1": 2}
        }"#).unwrap();
        assert!(r.stream && r.include_usage);
        assert_eq!(r.messages.len(), 4);
        assert_eq!(r.stop, vec!["END"]);
        assert_eq!(r.max_output_tokens(), Some(100));
        assert_eq!(r.tool_choice, Some(ToolChoice::Function("f".into())));
        assert!(matches!(
            r.response_format,
            Some(ResponseFormat::JsonSchema { .. })
        ));
        let Message::User { content, .. } = &r.messages[1] else {
            panic!()
        };
        let ContentPart::ImageUrl { image_url } = &content.parts()[1] else {
            panic!()
        };
        assert_eq!(
            image_url.source().unwrap(),
            ImageSource::Data {
                media_type: "image/png",
                base64: "AAAA"
            }
        );
        assert_eq!(r.extra.keys().collect::<Vec<_>>(), vec!["logit_bias"]);
        let e = r.reject_extra("anthropic", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`logit_bias` is not supported by provider anthropic"
        );
    }

    #[test]
    fn bad_fields_name_themselves() {
        let e = parse(r#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#).unwrap_err();
        assert!(
            matches!(e, TranslateError::InvalidRequest { param: Some(ref p), .. } if p == "messages")
        );
        let e = parse(r#"{"model":"m","messages":[]}"#).unwrap_err();
        assert!(e.to_string().contains("non-empty"));
        let e = parse(
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("tool_choice"));
    }

    #[test]
    fn the_chunk_writer_emits_openai_shape() {
        let mut w = ChunkWriter::new("id1", "m", 7, true);
        let mut out = Vec::new();
        w.content("Hel", &mut out);
        w.content("lo", &mut out);
        w.tool_call_start(0, "call_1", "f", &mut out);
        w.tool_call_arguments(0, "{\"a\":", &mut out);
        w.finish(FinishReason::ToolCalls, &mut out);
        w.done(
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 4,
                total_tokens: 7,
                cached_tokens: 0,
            }),
            &mut out,
        );
        let mut f = SseFramer::new();
        f.push(&out.concat()).unwrap();
        let mut events = Vec::new();
        while let Some(e) = f.next_event().unwrap() {
            events.push(e);
        }
        let json: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_slice(&e.data).unwrap())
            .collect();
        assert_eq!(json[0]["choices"][0]["delta"]["role"], "assistant");
        assert!(json[1]["choices"][0]["delta"].get("role").is_none());
        assert_eq!(
            json[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "f"
        );
        assert_eq!(json[4]["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(json[5]["usage"]["total_tokens"], 7);
        assert_eq!(json[5]["choices"].as_array().unwrap().len(), 0);
        assert!(events.last().unwrap().is_done());
    }
}

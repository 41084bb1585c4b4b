//! AWS Bedrock's Converse API (`POST /model/{modelId}/converse`) and ConverseStream
//! (`POST /model/{modelId}/converse-stream`, answered in the AWS event-stream binary framing),
//! translated to and from OpenAI Chat Completions; `/v1/embeddings` goes to InvokeModel in
//! the Titan Text Embeddings format (`embeddings`).
//!
//! Requests are signed with SigV4 (service `bedrock`, the provider's `region` and `aws_*`
//! credentials) or, when the provider's `auth` is `bearer`, sent with a Bedrock API key.
//! The model id is one URL path segment: every byte outside `A-Za-z0-9-_.~` is
//! percent-encoded (so `:` in `…-v1:0` and `/` in ARNs become `%3A` and `%2F`), as AWS's SDKs
//! do; the signature then encodes that path once more.
//!
//! Refused with a 400 naming the parameter (Converse has no equivalent): `n` other than 1,
//! `seed`, `presence_penalty`, `frequency_penalty`, `reasoning_effort`, `logit_bias` and any
//! other unknown field, `response_format` other than `text`, `parallel_tool_calls: false`,
//! `strict: true` tools, audio and file parts, image URLs that are not `data:` URLs (the
//! dialect asks the gateway to inline them), and `tool_choice: "none"` in a conversation that
//! already holds tool calls (Converse needs `toolConfig` whenever tool blocks are present and
//! has no "none" choice; without tool history `none` simply sends no tools).

pub mod embeddings;
pub mod eventstream;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::HeaderName;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::canonical::{
    invalid, unsupported, AssistantMessage, ChatCompletion, ChatRequest, Choice, ChunkWriter,
    Content, ContentPart, FinishReason, FunctionCall, ImageSource, ImageUrl, Message,
    ResponseFormat, ToolCall, ToolChoice,
};
use crate::dialect::{
    headers, Call, Dialect, Output, ProviderEndpoint, ResponseTranslator, UpstreamRequest, Verdict,
};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::kind::AuthStyle;
use crate::sigv4;
use crate::sse;
use crate::usage::Usage;

use self::eventstream::{Decoder, Message as Frame};

/// The Bedrock dialect.
#[derive(Debug)]
pub struct Bedrock;

/// The SigV4 signing name of the Bedrock runtime.
pub const SERVICE: &str = "bedrock";

/// The content type of ConverseStream answers.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

/// Largest plain JSON answer held for translation.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Dialect for Bedrock {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let (body, action, accept) = match call.endpoint {
            Endpoint::ChatCompletions => {
                let req = ChatRequest::from_envelope(call.body)?;
                let (action, accept) = if call.stream {
                    ("converse-stream", EVENT_STREAM)
                } else {
                    ("converse", "application/json")
                };
                (converse_body(&req, provider)?, action, accept)
            }
            Endpoint::Embeddings => (
                embeddings::titan_body(call.body, &provider.name)?,
                "invoke",
                "application/json",
            ),
            other => {
                return Err(TranslateError::InvalidRequest {
                    message: format!(
                        "endpoint {} is not supported by provider {} (bedrock serves chat completions and embeddings)",
                        other.label(),
                        provider.name
                    ),
                    param: None,
                })
            }
        };
        let body = Bytes::from(serde_json::to_vec(&body).map_err(|e| {
            TranslateError::BadResponse(format!("could not encode the request: {e}"))
        })?);
        let path = format!(
            "{}/model/{}/{action}",
            provider.base_path,
            sigv4::uri_encode(call.model, true)
        );
        let mut hs = Vec::with_capacity(5 + provider.headers.len());
        hs.push(headers::fixed(CONTENT_TYPE, "application/json"));
        hs.push(headers::fixed(ACCEPT, accept));
        match provider.auth {
            AuthStyle::AwsSigV4 => {
                let (aws, region) = match (&provider.options.aws, &provider.options.region) {
                    (Some(a), Some(r)) => (a, r),
                    _ => {
                        return Err(TranslateError::InvalidRequest {
                            message: format!(
                                "provider {} signs with SigV4 but has no `region` and AWS credentials configured",
                                provider.name
                            ),
                            param: None,
                        })
                    }
                };
                let params = sigv4::SigningParams {
                    access_key_id: aws.access_key_id.expose(),
                    secret_access_key: aws.secret_access_key.expose(),
                    session_token: aws.session_token.as_ref().map(|t| t.expose()),
                    region,
                    service: SERVICE,
                    time: call.now,
                };
                let signed = sigv4::sign(
                    "POST",
                    &path,
                    "",
                    &[
                        ("content-type", "application/json"),
                        ("host", &provider.authority),
                    ],
                    &body,
                    &params,
                );
                hs.push(headers::secret(
                    HeaderName::from_static("x-amz-date"),
                    &signed.amz_date,
                )?);
                if let Some(token) = params.session_token {
                    hs.push(headers::secret(
                        HeaderName::from_static("x-amz-security-token"),
                        token,
                    )?);
                }
                hs.push(headers::secret(AUTHORIZATION, &signed.authorization)?);
            }
            AuthStyle::Bearer | AuthStyle::Header(_) => {
                let key = call.client_key.unwrap_or(provider.api_key.expose());
                if !key.is_empty() {
                    hs.push(match provider.auth {
                        AuthStyle::Header(name) => {
                            headers::secret(HeaderName::from_static(name), key)?
                        }
                        _ => headers::secret(AUTHORIZATION, &format!("Bearer {key}"))?,
                    });
                }
            }
            AuthStyle::None => {}
        }
        hs.extend(provider.headers.iter().cloned());
        Ok(UpstreamRequest {
            method: "POST",
            path,
            headers: hs,
            body,
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
            .map_or(0, |d| d.as_secs());
        let id = format!(
            "chatcmpl-bedrock-{created:x}{:06x}",
            SEQ.fetch_add(1, Ordering::Relaxed) & 0xff_ffff
        );
        if call.endpoint == Endpoint::Embeddings {
            Box::new(embeddings::EmbeddingTranslator::new(call.model))
        } else if call.stream {
            Box::new(StreamTranslator::new(
                &provider.name,
                ChunkWriter::new(id, call.model, created, wants_usage(call)),
            ))
        } else {
            Box::new(JsonTranslator {
                buf: BytesMut::new(),
                id,
                model: call.model.to_owned(),
                created,
                usage: None,
                verdict: Verdict::Pending,
            })
        }
    }

    fn needs_inline_images(&self) -> bool {
        true
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default, alias = "Message")]
            message: Option<String>,
            #[serde(default, rename = "__type")]
            kind: Option<String>,
        }
        match serde_json::from_slice::<Wire>(body) {
            Ok(Wire {
                message: Some(message),
                kind,
            }) => {
                // The exception name travels in the `x-amzn-errortype` header, which this
                // hook does not see; the status names it unambiguously for most errors.
                let code = kind
                    .as_deref()
                    .map(|k| k.rsplit('#').next().unwrap_or(k).to_owned())
                    .or_else(|| exception_for_status(status).map(str::to_owned));
                ErrorBody::new(message, ErrorBody::kind_for_status(status), code.as_deref())
                    .with_provider(&provider.name)
            }
            _ => ErrorBody::from_provider(status, body, &provider.name),
        }
    }
}

/// The exception Bedrock answers with for a status, where only one fits.
fn exception_for_status(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "ValidationException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        500 => "InternalServerException",
        503 => "ServiceUnavailableException",
        _ => return None,
    })
}

/// The status for an exception inside a stream.
fn status_for_exception(kind: &str) -> u16 {
    match kind.to_ascii_lowercase().as_str() {
        "throttlingexception" => 429,
        "validationexception" => 400,
        "modelstreamerrorexception" | "modelerrorexception" => 424,
        "modeltimeoutexception" => 408,
        "serviceunavailableexception" => 503,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        _ => 500,
    }
}

fn wants_usage(call: &Call<'_>) -> bool {
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

/// The Converse request body for a chat request.
pub fn converse_body(
    req: &ChatRequest,
    provider: &ProviderEndpoint,
) -> Result<Value, TranslateError> {
    let name = provider.name.as_str();
    req.reject_extra(name, &[])?;
    if req.n.is_some_and(|n| n != 1) {
        return Err(unsupported(name, "n"));
    }
    for (set, param) in [
        (req.seed.is_some(), "seed"),
        (req.presence_penalty.is_some(), "presence_penalty"),
        (req.frequency_penalty.is_some(), "frequency_penalty"),
        (req.reasoning_effort.is_some(), "reasoning_effort"),
        (
            req.parallel_tool_calls == Some(false),
            "parallel_tool_calls",
        ),
        (
            !matches!(req.response_format, None | Some(ResponseFormat::Text)),
            "response_format",
        ),
    ] {
        if set {
            return Err(unsupported(name, param));
        }
    }

    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    let mut has_tool_blocks = false;
    for m in &req.messages {
        let (role, blocks) = match m {
            Message::System { content, .. } | Message::Developer { content, .. } => {
                for part in content.parts() {
                    match part {
                        ContentPart::Text { text } if !text.is_empty() => {
                            system.push(json!({ "text": text }))
                        }
                        ContentPart::Text { .. } => {}
                        _ => {
                            return Err(invalid(
                                "system and developer messages may only hold text for Bedrock",
                                "messages",
                            ))
                        }
                    }
                }
                continue;
            }
            Message::User { content, .. } => ("user", user_blocks(name, content)?),
            Message::Assistant {
                content,
                tool_calls,
                refusal,
                ..
            } => {
                let mut blocks = Vec::new();
                if let Some(c) = content {
                    for part in c.parts() {
                        match part {
                            ContentPart::Text { text } | ContentPart::Refusal { refusal: text } => {
                                if !text.is_empty() {
                                    blocks.push(json!({ "text": text }));
                                }
                            }
                            _ => {
                                return Err(invalid(
                                    "assistant messages may only hold text and tool calls",
                                    "messages",
                                ))
                            }
                        }
                    }
                }
                if let Some(r) = refusal.as_deref().filter(|r| !r.is_empty()) {
                    blocks.push(json!({ "text": r }));
                }
                for call in tool_calls {
                    has_tool_blocks = true;
                    blocks.push(json!({"toolUse": {
                        "toolUseId": call.id,
                        "name": call.function.name,
                        "input": tool_input(&call.function.arguments)?,
                    }}));
                }
                ("assistant", blocks)
            }
            Message::Tool {
                content,
                tool_call_id,
            } => {
                has_tool_blocks = true;
                (
                    "user",
                    vec![json!({"toolResult": {
                        "toolUseId": tool_call_id,
                        "content": [{ "text": content.text() }],
                    }})],
                )
            }
        };
        if blocks.is_empty() {
            continue;
        }
        // Converse wants roles to alternate: consecutive turns of one role (several tool
        // results, a tool result then a user note) become one message.
        match turns.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(invalid(
            "Bedrock needs at least one user or assistant message",
            "messages",
        ));
    }

    let mut body = Map::new();
    body.insert(
        "messages".into(),
        Value::Array(
            turns
                .into_iter()
                .map(|(role, content)| json!({ "role": role, "content": content }))
                .collect(),
        ),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }

    let mut inference = Map::new();
    if let Some(max) = req
        .max_output_tokens()
        .or(provider.options.default_max_tokens)
    {
        inference.insert("maxTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        inference.insert("topP".into(), json!(p));
    }
    if !req.stop.is_empty() {
        inference.insert("stopSequences".into(), json!(req.stop));
    }
    if !inference.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(inference));
    }

    if let Some(tool_config) = tool_config(req, name, has_tool_blocks)? {
        body.insert("toolConfig".into(), tool_config);
    }

    if let Some(user) = &req.user {
        let ok = !user.is_empty()
            && user.len() <= 256
            && user.chars().all(|c| {
                c.is_ascii_alphanumeric() || c.is_whitespace() || ":_@$#=/+,.-".contains(c)
            });
        if !ok {
            return Err(invalid(
                "`user` is sent to Bedrock as request metadata: at most 256 characters of letters, digits, spaces and :_@$#=/+,.-",
                "user",
            ));
        }
        body.insert("requestMetadata".into(), json!({ "user": user }));
    }
    Ok(Value::Object(body))
}

fn tool_config(
    req: &ChatRequest,
    provider: &str,
    has_tool_blocks: bool,
) -> Result<Option<Value>, TranslateError> {
    if req.tools.is_empty() {
        if has_tool_blocks {
            return Err(invalid(
                "the conversation holds tool calls: Bedrock needs the `tools` they were made with",
                "tools",
            ));
        }
        if matches!(
            req.tool_choice,
            Some(ToolChoice::Required | ToolChoice::Function(_))
        ) {
            return Err(invalid("`tool_choice` needs `tools`", "tool_choice"));
        }
        return Ok(None);
    }
    let choice = match &req.tool_choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({ "auto": {} })),
        Some(ToolChoice::Required) => Some(json!({ "any": {} })),
        Some(ToolChoice::Function(n)) => Some(json!({ "tool": { "name": n } })),
        Some(ToolChoice::None) if has_tool_blocks => {
            return Err(TranslateError::InvalidRequest {
                message: format!(
                    "`tool_choice: \"none\"` is not supported by provider {provider} in a conversation that holds tool calls"
                ),
                param: Some("tool_choice".into()),
            })
        }
        Some(ToolChoice::None) => return Ok(None),
    };
    let mut tools = Vec::with_capacity(req.tools.len());
    for t in &req.tools {
        if t.kind != "function" {
            return Err(invalid(
                format!("tool type `{}` is not supported (only `function`)", t.kind),
                "tools",
            ));
        }
        if t.function.strict == Some(true) {
            return Err(unsupported(provider, "tools[].function.strict"));
        }
        let schema = t
            .function
            .parameters
            .clone()
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        let mut spec = Map::new();
        spec.insert("name".into(), json!(t.function.name));
        if let Some(d) = t.function.description.as_deref().filter(|d| !d.is_empty()) {
            spec.insert("description".into(), json!(d));
        }
        spec.insert("inputSchema".into(), json!({ "json": schema }));
        tools.push(json!({ "toolSpec": spec }));
    }
    let mut config = Map::new();
    config.insert("tools".into(), Value::Array(tools));
    if let Some(c) = choice {
        config.insert("toolChoice".into(), c);
    }
    Ok(Some(Value::Object(config)))
}

fn tool_input(arguments: &str) -> Result<Value, TranslateError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(invalid(
            "tool call `arguments` must be a JSON object for Bedrock",
            "messages",
        )),
    }
}

fn user_blocks(provider: &str, content: &Content) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = Vec::new();
    for part in content.parts() {
        match part {
            ContentPart::Text { text } if !text.is_empty() => blocks.push(json!({ "text": text })),
            ContentPart::Text { .. } => {}
            ContentPart::ImageUrl { image_url } => blocks.push(image_block(&image_url)?),
            ContentPart::InputAudio { .. } => {
                return Err(unsupported(provider, "messages[].content[].input_audio"))
            }
            ContentPart::File { .. } => {
                return Err(unsupported(provider, "messages[].content[].file"))
            }
            ContentPart::Refusal { .. } => {
                return Err(invalid("user messages cannot hold a refusal", "messages"))
            }
        }
    }
    Ok(blocks)
}

fn image_block(image: &ImageUrl) -> Result<Value, TranslateError> {
    match image.source()? {
        ImageSource::Data { media_type, base64 } => {
            let format = match media_type.to_ascii_lowercase().as_str() {
                "image/png" => "png",
                "image/jpeg" | "image/jpg" => "jpeg",
                "image/gif" => "gif",
                "image/webp" => "webp",
                other => {
                    return Err(invalid(
                        format!(
                        "image type `{other}` is not supported by Bedrock (png, jpeg, gif, webp)"
                    ),
                        "messages",
                    ))
                }
            };
            Ok(json!({"image": {"format": format, "source": {"bytes": base64}}}))
        }
        ImageSource::Url(_) => Err(invalid(
            "Bedrock takes images inline only: send a `data:` URL",
            "messages",
        )),
    }
}

/// Converse's token usage.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(w: WireUsage) -> Self {
        // Converse counts cache reads and writes apart from `inputTokens`; OpenAI's
        // `prompt_tokens` includes cached tokens.
        let prompt = w.input_tokens + w.cache_read_input_tokens + w.cache_write_input_tokens;
        Usage {
            prompt_tokens: prompt,
            completion_tokens: w.output_tokens,
            total_tokens: prompt + w.output_tokens,
            cached_tokens: w.cache_read_input_tokens,
        }
    }
}

/// Maps Converse's `stopReason`.
pub fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// A plain Converse answer, held whole and translated at its end.
#[derive(Debug)]
struct JsonTranslator {
    buf: BytesMut,
    id: String,
    model: String,
    created: u64,
    usage: Option<Usage>,
    verdict: Verdict,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConverseResponse {
    output: Option<ConverseOutput>,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ConverseOutput {
    message: Option<ConverseMessage>,
}

#[derive(Deserialize)]
struct ConverseMessage {
    #[serde(default)]
    content: Vec<Value>,
}

/// Translates a Converse response body into an OpenAI chat completion; returns it and the
/// usage.
pub fn translate_response(
    body: &[u8],
    id: &str,
    model: &str,
    created: u64,
) -> Result<(ChatCompletion, Option<Usage>), TranslateError> {
    let r: ConverseResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::BadResponse(format!("Converse response: {e}")))?;
    let mut text = String::new();
    let mut has_text = false;
    let mut tool_calls = Vec::new();
    for block in r
        .output
        .and_then(|o| o.message)
        .map_or_else(Vec::new, |m| m.content)
    {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.push_str(t);
            has_text = true;
        } else if let Some(tu) = block.get("toolUse") {
            let field = |k: &str| tu.get(k).and_then(Value::as_str).unwrap_or_default();
            tool_calls.push(ToolCall {
                id: field("toolUseId").to_owned(),
                kind: "function".into(),
                function: FunctionCall {
                    name: field("name").to_owned(),
                    arguments: tu.get("input").map_or_else(
                        || "{}".to_owned(),
                        |i| serde_json::to_string(i).unwrap_or_default(),
                    ),
                },
            });
        }
    }
    let usage = r.usage.map(Usage::from);
    let finish = r
        .stop_reason
        .as_deref()
        .map_or(FinishReason::Stop, finish_reason);
    let completion = ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion",
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: (has_text || tool_calls.is_empty()).then_some(text),
                tool_calls,
                refusal: None,
            },
            finish_reason: finish,
            logprobs: None,
        }],
        usage: usage.map(Into::into),
    };
    Ok((completion, usage))
}

impl ResponseTranslator for JsonTranslator {
    fn push(&mut self, chunk: Bytes, _out: &mut Output) -> Result<(), TranslateError> {
        if self.buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(TranslateError::BadResponse(format!(
                "Converse response larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        let (completion, usage) =
            translate_response(&self.buf, &self.id, &self.model, self.created)?;
        self.usage = usage;
        self.verdict = Verdict::Healthy;
        out.push(completion.to_bytes());
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

/// A ConverseStream answer, translated frame by frame into OpenAI chunks.
#[derive(Debug)]
pub struct StreamTranslator {
    provider: String,
    decoder: Decoder,
    writer: ChunkWriter,
    verdict: Verdict,
    usage: Option<Usage>,
    /// Converse content-block index → OpenAI tool-call index, for tool-use blocks.
    tools: Vec<(u64, u32)>,
    /// Nothing more is written: an error ended the stream.
    ended: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart {
    #[serde(default)]
    content_block_index: u64,
    #[serde(default)]
    start: Option<StartBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    tool_use: Option<ToolUseStart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart {
    tool_use_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta {
    #[serde(default)]
    content_block_index: u64,
    delta: Option<DeltaBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaBody {
    text: Option<String>,
    tool_use: Option<ToolUseDelta>,
}

#[derive(Deserialize)]
struct ToolUseDelta {
    #[serde(default)]
    input: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(default, alias = "Message")]
    message: Option<String>,
}

fn payload<'a, T: Deserialize<'a>>(frame: &'a Frame, what: &str) -> Result<T, TranslateError> {
    serde_json::from_slice(&frame.payload)
        .map_err(|e| TranslateError::BadResponse(format!("ConverseStream {what} event: {e}")))
}

impl StreamTranslator {
    /// A translator writing through `writer`.
    pub fn new(provider: &str, writer: ChunkWriter) -> Self {
        Self {
            provider: provider.to_owned(),
            decoder: Decoder::new(),
            writer,
            verdict: Verdict::Pending,
            usage: None,
            tools: Vec::new(),
            ended: false,
        }
    }

    fn healthy(&mut self) {
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Healthy;
        }
    }

    fn fail(&mut self, exception: &str, message: String, out: &mut Output) {
        let status = status_for_exception(exception);
        let error = ErrorBody::new(message, ErrorBody::kind_for_status(status), Some(exception))
            .with_provider(&self.provider);
        self.ended = true;
        if self.verdict == Verdict::Pending {
            self.verdict = Verdict::Failed { status, error };
        } else {
            out.push(sse::error_event(&error));
        }
    }

    fn tool_index(&mut self, block: u64) -> u32 {
        if let Some((_, i)) = self.tools.iter().find(|(b, _)| *b == block) {
            return *i;
        }
        let i = self.tools.len() as u32;
        self.tools.push((block, i));
        i
    }

    fn handle(&mut self, frame: &Frame, out: &mut Output) -> Result<(), TranslateError> {
        match frame.header(":message-type") {
            Some("event") => {}
            Some("exception") => {
                let kind = frame.header(":exception-type").unwrap_or("exception");
                let message = serde_json::from_slice::<ExceptionBody>(&frame.payload)
                    .ok()
                    .and_then(|b| b.message)
                    .unwrap_or_else(|| String::from_utf8_lossy(&frame.payload).into_owned());
                self.fail(kind, message, out);
                return Ok(());
            }
            Some("error") => {
                let kind = frame.header(":error-code").unwrap_or("error").to_owned();
                let message = frame
                    .header(":error-message")
                    .unwrap_or("event stream error")
                    .to_owned();
                self.fail(&kind, message, out);
                return Ok(());
            }
            _ => return Ok(()),
        }
        self.healthy();
        match frame.header(":event-type").unwrap_or_default() {
            "messageStart" => self.writer.start(out),
            "contentBlockStart" => {
                let start: BlockStart = payload(frame, "contentBlockStart")?;
                if let Some(tu) = start.start.and_then(|s| s.tool_use) {
                    let i = self.tool_index(start.content_block_index);
                    self.writer
                        .tool_call_start(i, &tu.tool_use_id, &tu.name, out);
                }
            }
            "contentBlockDelta" => {
                let d: BlockDelta = payload(frame, "contentBlockDelta")?;
                let Some(delta) = d.delta else {
                    return Ok(());
                };
                if let Some(t) = delta.text {
                    self.writer.content(&t, out);
                }
                if let Some(tu) = delta.tool_use {
                    let Some(&(_, i)) =
                        self.tools.iter().find(|(b, _)| *b == d.content_block_index)
                    else {
                        return Err(TranslateError::BadResponse(
                            "ConverseStream tool input for a block that never started".into(),
                        ));
                    };
                    self.writer.tool_call_arguments(i, &tu.input, out);
                }
            }
            "messageStop" => {
                let stop: MessageStop = payload(frame, "messageStop")?;
                let reason = stop
                    .stop_reason
                    .as_deref()
                    .map_or(FinishReason::Stop, finish_reason);
                self.writer.finish(reason, out);
            }
            "metadata" => {
                let m: Metadata = payload(frame, "metadata")?;
                if let Some(u) = m.usage {
                    self.usage = Some(u.into());
                }
            }
            // contentBlockStop, and events added after this was written.
            _ => {}
        }
        Ok(())
    }
}

impl ResponseTranslator for StreamTranslator {
    fn push(&mut self, chunk: Bytes, out: &mut Output) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        self.decoder.push(&chunk);
        while let Some(frame) = self
            .decoder
            .next_message()
            .map_err(|e| TranslateError::BadResponse(e.to_string()))?
        {
            self.handle(&frame, out)?;
            if self.ended {
                break;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Output) -> Result<(), TranslateError> {
        if self.ended {
            return Ok(());
        }
        if self.decoder.pending_bytes() > 0 {
            return Err(TranslateError::BadResponse(
                "ConverseStream ended inside an event-stream message".into(),
            ));
        }
        if !self.writer.is_finished() {
            self.fail(
                "modelStreamErrorException",
                "the ConverseStream answer ended before messageStop".into(),
                out,
            );
            return Ok(());
        }
        self.ended = true;
        self.writer.done(self.usage, out);
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

#[cfg(test)]
mod tests;

//! AWS Bedrock's Converse wire format: `POST /model/{modelId}/converse` (JSON) and
//! `POST /model/{modelId}/converse-stream` (AWS event-stream frames with real CRCs), and
//! `POST /model/{modelId}/invoke` in the Titan Text Embeddings format, with
//! SigV4 verification and the real API's error shape (`{"message": …}` plus an
//! `x-amzn-ErrorType` header).
//!
//! With `--aws-access-key-id/--aws-secret-access-key` every request must carry a valid
//! SigV4 signature for service `bedrock`: the mock rebuilds the canonical request from the
//! path, headers and body it received and answers 403 `InvalidSignatureException` when the
//! signature differs. Shapes follow the Converse and ConverseStream API reference.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};
use switchyard_providers::bedrock::eventstream;
use switchyard_providers::sigv4;

use crate::reply::{count_tokens, embedding, pieces, split_even};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

/// Bedrock's format: every path under `/model/`.
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "bedrock",
    matches: |r| r.path.starts_with("/model/"),
    handle,
};

/// A Bedrock error response.
pub fn error(status: u16, exception: &str, message: &str) -> Reply {
    Reply::json(
        status,
        serde_json::to_vec(&json!({ "message": message })).unwrap_or_default(),
    )
    .with_headers([(
        "x-amzn-ErrorType".to_owned(),
        format!("{exception}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )])
}

fn validation(message: impl AsRef<str>) -> Reply {
    error(400, "ValidationException", message.as_ref())
}

fn scripted_error(status: u16, model: &str) -> Reply {
    match status {
        400 => validation("The provided request is not valid (mock)."),
        403 => error(
            403,
            "AccessDeniedException",
            "You don't have access to the model with the specified model ID.",
        ),
        404 => error(
            404,
            "ResourceNotFoundException",
            &format!("Model {model} not found (mock)."),
        ),
        408 => error(
            408,
            "ModelTimeoutException",
            "The request took too long to process (mock).",
        ),
        424 => error(
            424,
            "ModelErrorException",
            "The model returned an error (mock).",
        ),
        429 => error(
            429,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        503 => error(
            503,
            "ServiceUnavailableException",
            "The service is temporarily unable to handle the request (mock).",
        ),
        _ => error(
            status,
            "InternalServerException",
            "The server encountered an internal error (mock).",
        ),
    }
}

/// Handles one provider request.
pub fn handle(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let reply = route(req, b, opts);
    let extra: Vec<(String, String)> = b
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    reply.with_headers(
        std::iter::once((
            "x-amzn-RequestId".to_owned(),
            format!("00000000-0000-4000-8000-{:012}", req.seq),
        ))
        .chain(extra),
    )
}

fn unknown_operation() -> Reply {
    error(
        404,
        "UnknownOperationException",
        "UnknownOperationException",
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let rest = req.path.strip_prefix("/model/").unwrap_or_default();
    let Some((raw_id, op)) = rest.rsplit_once('/') else {
        return unknown_operation();
    };
    // The model id is one path segment: an ARN sent with raw `/` does not route.
    if raw_id.is_empty() || raw_id.contains('/') || req.method != "POST" {
        return unknown_operation();
    }
    let stream = match op {
        "converse" | "invoke" => false,
        "converse-stream" => true,
        _ => return unknown_operation(),
    };
    if let Some(r) = check_auth(req, opts) {
        return r;
    }
    let model = sigv4::percent_decode(raw_id);
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        return match &b.body {
            Some(v) => Reply::json(status, raw_body(v)),
            None => scripted_error(status, &model),
        };
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return error(
            415,
            "UnsupportedMediaTypeException",
            "Content-Type must be application/json",
        );
    }
    let body: Map<String, Value> = match serde_json::from_slice(&req.body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return error(
                400,
                "SerializationException",
                "Unable to parse the request body as JSON.",
            )
        }
    };
    if op == "invoke" {
        return titan_embedding(&body);
    }
    let conv = match validate(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    answer(&conv, stream, b, opts)
}

fn raw_body(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

/// Verifies the request's credentials: SigV4 when the mock has AWS credentials, else a
/// bearer key when it has one.
fn check_auth(req: &Incoming, opts: &MockOptions) -> Option<Reply> {
    let auth = req.header("authorization");
    if let (Some(bearer), Some(key)) = (
        auth.and_then(|a| a.strip_prefix("Bearer ")),
        opts.api_key.as_deref(),
    ) {
        return (bearer != key).then(|| {
            error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        });
    }
    let Some((key_id, secret)) = &opts.aws else {
        return opts.api_key.is_some().then(|| {
            error(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            )
        });
    };
    let Some(auth) = auth else {
        return Some(error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let Some(a) = sigv4::parse_authorization(auth) else {
        return Some(error(
            403,
            "IncompleteSignatureException",
            &format!("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization={auth}"),
        ));
    };
    if a.access_key_id != key_id {
        return Some(error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    }
    if a.service != switchyard_providers::bedrock::SERVICE {
        return Some(error(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'bedrock'. ",
        ));
    }
    let Some(amz_date) = req.header("x-amz-date") else {
        return Some(error(
            403,
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    if amz_date.len() != 16 || !amz_date.starts_with(a.date) {
        return Some(error(
            403,
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
        ));
    }
    let names: Vec<&str> = a.signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Some(error(
            403,
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let mut signed: Vec<(&str, String)> = Vec::with_capacity(names.len());
    for name in &names {
        let values: Vec<&str> = req
            .headers
            .get_all(*name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        signed.push((name, values.join(",")));
    }
    let pairs: Vec<(&str, &str)> = signed.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let (canonical_headers, signed_headers) = sigv4::canonical_headers(&pairs);
    let creq = sigv4::canonical_request(
        &req.method,
        &req.path,
        req.query.as_deref().unwrap_or(""),
        &canonical_headers,
        &signed_headers,
        &sigv4::hex_sha256(&req.body),
    );
    let sts = sigv4::string_to_sign(amz_date, &sigv4::scope(a.date, a.region, a.service), &creq);
    let want = sigv4::signature(secret, a.date, a.region, a.service, &sts);
    (want != a.signature).then(|| {
        error(
            403,
            "InvalidSignatureException",
            &format!(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{creq}'\n\nThe String-to-Sign should have been\n'{sts}'\n"
            ),
        )
    })
}

/// InvokeModel in the Amazon Titan Text Embeddings V2 format.
fn titan_embedding(body: &Map<String, Value>) -> Reply {
    const KEYS: &[&str] = &["inputText", "dimensions", "normalize", "embeddingTypes"];
    if let Some(k) = body.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return validation(format!(
            "Malformed input request: extraneous key [{k}] is not permitted, please reformat your input and try again."
        ));
    }
    let Some(text) = body
        .get("inputText")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return validation("Malformed input request: #: required key [inputText] not found, please reformat your input and try again.");
    };
    let dims = match body.get("dimensions") {
        None => 1024,
        Some(d) => match d.as_u64() {
            Some(n @ (256 | 512 | 1024)) => n as usize,
            _ => {
                return validation(format!(
                    "Malformed input request: #/dimensions: {d} is not a valid enum value, please reformat your input and try again."
                ))
            }
        },
    };
    let v = embedding(text, dims);
    let resp = json!({"embedding": v, "embeddingsByType": {"float": v}, "inputTextTokenCount": count_tokens(text)});
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

/// What the mock needs from a valid request.
struct Conversation {
    prompt_tokens: u64,
    last_text: String,
    last_is_tool_result: bool,
    tools: Vec<String>,
    forced_tool: Option<String>,
}

const TOP_LEVEL: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
    "serviceTier",
    "outputConfig",
];

const BLOCKS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
];

fn one_key(v: &Value) -> Option<(&str, &Value)> {
    let m = v.as_object()?;
    if m.len() != 1 {
        return None;
    }
    m.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn validate(body: &Map<String, Value>) -> Result<Conversation, Reply> {
    if let Some(k) = body.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(validation(format!(
            "Malformed input request: extraneous key [{k}] is not permitted, please reformat your input and try again."
        )));
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return Err(validation(
            "Malformed input request: required key [messages] not found, please reformat your input and try again.",
        ));
    };
    if messages.is_empty() {
        return Err(validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a user message.",
        ));
    }
    let has_tool_config = body.get("toolConfig").is_some();
    let mut prompt_tokens = 0;
    let mut prev_role = "";
    let (mut last_text, mut last_is_tool_result) = (String::new(), false);
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if role != "user" && role != "assistant" {
            return Err(validation(format!(
                "1 validation error detected: Value '{role}' at 'messages.{}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]",
                i + 1
            )));
        }
        if i == 0 && role != "user" {
            return Err(validation("A conversation must start with a user message. Try again with a conversation that starts with a user message."));
        }
        if role == prev_role {
            return Err(validation("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."));
        }
        prev_role = role;
        let Some(content) = m
            .get("content")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        else {
            return Err(validation(format!(
                "The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again."
            )));
        };
        last_text.clear();
        last_is_tool_result = false;
        for (j, block) in content.iter().enumerate() {
            let Some((kind, value)) = one_key(block).filter(|(k, _)| BLOCKS.contains(k)) else {
                return Err(validation(format!(
                    "Malformed input request: messages.{i}.content.{j} must hold exactly one known content block, please reformat your input and try again."
                )));
            };
            match kind {
                "text" => {
                    let t = value.as_str().unwrap_or("");
                    if t.trim().is_empty() {
                        return Err(validation(format!("The text field in the ContentBlock object at messages.{i}.content.{j} is blank. Add text to the text field, and try again.")));
                    }
                    prompt_tokens += count_tokens(t);
                    append(&mut last_text, t);
                }
                "image" => check_image(value, i, j)?,
                "toolUse" | "toolResult" if !has_tool_config => {
                    return Err(validation("The toolConfig field must be defined when using toolUse and toolResult content blocks."));
                }
                "toolUse" => {
                    let ok = value.get("toolUseId").and_then(Value::as_str).is_some()
                        && value.get("name").and_then(Value::as_str).is_some()
                        && value.get("input").is_some_and(Value::is_object);
                    if !ok || role != "assistant" {
                        return Err(validation(format!("Malformed input request: messages.{i}.content.{j}.toolUse needs toolUseId, name and an input object in an assistant message, please reformat your input and try again.")));
                    }
                }
                "toolResult" => {
                    let Some(parts) = value
                        .get("content")
                        .and_then(Value::as_array)
                        .filter(|_| value.get("toolUseId").and_then(Value::as_str).is_some())
                    else {
                        return Err(validation(format!("Malformed input request: messages.{i}.content.{j}.toolResult needs toolUseId and content, please reformat your input and try again.")));
                    };
                    for p in parts {
                        match one_key(p) {
                            Some(("text", Value::String(t))) => {
                                prompt_tokens += count_tokens(t);
                                append(&mut last_text, t);
                            }
                            Some(("json", j)) => append(&mut last_text, &j.to_string()),
                            Some(("image" | "document" | "video", _)) => {}
                            _ => return Err(validation(format!("Malformed input request: messages.{i}.content.{j}.toolResult.content has an unknown block, please reformat your input and try again."))),
                        }
                    }
                    last_is_tool_result = true;
                }
                _ => {}
            }
        }
    }
    if let Some(system) = body.get("system") {
        let ok = system.as_array().is_some_and(|s| {
            s.iter().all(|b| {
                matches!(
                    one_key(b),
                    Some(("text", Value::String(_))) | Some(("guardContent" | "cachePoint", _))
                )
            })
        });
        if !ok {
            return Err(validation("Malformed input request: system must be a list of text blocks, please reformat your input and try again."));
        }
        for b in system.as_array().into_iter().flatten() {
            prompt_tokens += count_tokens(b.get("text").and_then(Value::as_str).unwrap_or(""));
        }
    }
    if let Some(ic) = body.get("inferenceConfig") {
        check_inference(ic)?;
    }
    let (tools, forced_tool) = match body.get("toolConfig") {
        Some(tc) => check_tools(tc)?,
        None => (Vec::new(), None),
    };
    if let Some(md) = body.get("requestMetadata") {
        if !md
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string))
        {
            return Err(validation("requestMetadata must map strings to strings."));
        }
    }
    Ok(Conversation {
        prompt_tokens,
        last_text,
        last_is_tool_result,
        tools,
        forced_tool,
    })
}

fn append(out: &mut String, t: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(t);
}

fn check_image(v: &Value, i: usize, j: usize) -> Result<(), Reply> {
    let format = v.get("format").and_then(Value::as_str).unwrap_or("");
    if !["png", "jpeg", "gif", "webp"].contains(&format) {
        return Err(validation(format!(
            "1 validation error detected: Value '{format}' at 'messages.{}.member.content.{}.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]",
            i + 1,
            j + 1
        )));
    }
    let bytes = v.pointer("/source/bytes").and_then(Value::as_str);
    let valid = bytes.is_some_and(|b| {
        !b.is_empty()
            && b.len() % 4 == 0
            && b.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    });
    if !valid {
        return Err(validation(format!(
            "Malformed input request: messages.{i}.content.{j}.image.source.bytes must be base64, please reformat your input and try again."
        )));
    }
    Ok(())
}

fn check_inference(ic: &Value) -> Result<(), Reply> {
    let Some(m) = ic.as_object() else {
        return Err(validation("inferenceConfig must be an object."));
    };
    for (k, v) in m {
        let ok = match k.as_str() {
            "maxTokens" => v.as_u64().is_some_and(|n| n >= 1),
            "temperature" | "topP" => v.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)),
            "stopSequences" => v
                .as_array()
                .is_some_and(|a| a.len() <= 4 && a.iter().all(Value::is_string)),
            _ => {
                return Err(validation(format!(
                    "Malformed input request: extraneous key [{k}] is not permitted in inferenceConfig, please reformat your input and try again."
                )))
            }
        };
        if !ok {
            return Err(validation(format!(
                "1 validation error detected: Value {v} at 'inferenceConfig.{k}' failed to satisfy constraint"
            )));
        }
    }
    Ok(())
}

fn check_tools(tc: &Value) -> Result<(Vec<String>, Option<String>), Reply> {
    let tools = tc
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| validation("The toolConfig field must hold at least one tool."))?;
    let mut names = Vec::with_capacity(tools.len());
    for t in tools {
        let spec = t.get("toolSpec");
        let name = spec.and_then(|s| s.get("name")).and_then(Value::as_str);
        let schema_ok = spec
            .and_then(|s| s.pointer("/inputSchema/json"))
            .is_some_and(Value::is_object);
        match name {
            Some(n) if schema_ok && !n.is_empty() => names.push(n.to_owned()),
            _ => {
                return Err(validation(
                    "Malformed input request: each tool needs toolSpec.name and toolSpec.inputSchema.json, please reformat your input and try again.",
                ))
            }
        }
    }
    if let Some(k) = tc
        .as_object()
        .and_then(|m| m.keys().find(|k| *k != "tools" && *k != "toolChoice"))
    {
        return Err(validation(format!(
            "Malformed input request: extraneous key [{k}] is not permitted in toolConfig, please reformat your input and try again."
        )));
    }
    let forced = match tc.get("toolChoice").map(|c| (one_key(c), c)) {
        None => None,
        Some((Some(("auto" | "any", _)), _)) => None,
        Some((Some(("tool", t)), _)) => {
            let n = t.get("name").and_then(Value::as_str).unwrap_or("");
            if !names.iter().any(|x| x == n) {
                return Err(validation(format!(
                    "The tool named {n} in toolChoice is not defined in toolConfig.tools."
                )));
            }
            Some(n.to_owned())
        }
        Some(_) => {
            return Err(validation(
                "toolChoice must be exactly one of auto, any or tool.",
            ))
        }
    };
    Ok((names, forced))
}

/// The tool calls the mock makes: the forced tool or the first one, plus the second when the
/// user asks for "parallel" calls; none after a tool result.
fn planned_tool_calls(c: &Conversation) -> Vec<(String, String)> {
    if c.tools.is_empty() || c.last_is_tool_result {
        return Vec::new();
    }
    let args = serde_json::to_string(&json!({ "input": c.last_text })).unwrap_or_default();
    if let Some(f) = &c.forced_tool {
        return vec![(f.clone(), args)];
    }
    let mut calls = vec![(c.tools[0].clone(), args.clone())];
    if c.last_text.contains("parallel") {
        if let Some(second) = c.tools.get(1) {
            calls.push((second.clone(), args));
        }
    }
    calls
}

fn answer(c: &Conversation, stream: bool, b: &Behaviour, opts: &MockOptions) -> Reply {
    let calls = planned_tool_calls(c);
    let text = if c.last_is_tool_result {
        format!("Tool said: {}", c.last_text)
    } else {
        c.last_text.clone()
    };
    let chunks = b.chunks.unwrap_or(opts.chunks).max(1);
    let texts = pieces(&text, chunks);
    let completion_tokens = if calls.is_empty() {
        texts.len() as u64
    } else {
        calls.len() as u64 * 8
    };
    let usage = json!({"inputTokens": c.prompt_tokens, "outputTokens": completion_tokens, "totalTokens": c.prompt_tokens + completion_tokens});
    let stop_reason = if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    if !stream {
        if b.malformed {
            return Reply::json(
                200,
                br#"{"output":{"message":{"role":"assistant","content":[{"text":"#.to_vec(),
            );
        }
        let content: Vec<Value> = if calls.is_empty() {
            vec![json!({ "text": texts.concat() })]
        } else {
            calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| {
                    json!({"toolUse": {"toolUseId": format!("tooluse_mock{i}"), "name": name, "input": serde_json::from_str::<Value>(args).unwrap_or(Value::Null)}})
                })
                .collect()
        };
        let resp = json!({
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": usage,
            "metrics": {"latencyMs": 1},
        });
        let mut reply = Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default());
        if b.reset_after_chunks.is_some() {
            if let Reply::Body { cut, .. } = &mut reply {
                *cut = true;
            }
        }
        return reply;
    }

    let mut frames: Vec<Bytes> = Vec::new();
    let ev = |t: &str, payload: Value| {
        Bytes::from(eventstream::event(
            t,
            &serde_json::to_vec(&payload).unwrap_or_default(),
        ))
    };
    if let Some(err) = &b.error_event {
        let kind = err
            .get("type")
            .or_else(|| err.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("throttlingException");
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("Too many requests, please wait before trying again.");
        frames.push(Bytes::from(eventstream::exception(
            kind,
            &serde_json::to_vec(&json!({ "message": message })).unwrap_or_default(),
        )));
        return stream_reply(frames, b, opts);
    }
    frames.push(ev(
        "messageStart",
        json!({"p": "abcdefghijklmnopq", "role": "assistant"}),
    ));
    if calls.is_empty() {
        for t in &texts {
            frames.push(ev(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": t}, "p": "abcdef"}),
            ));
        }
        frames.push(ev(
            "contentBlockStop",
            json!({"contentBlockIndex": 0, "p": "abc"}),
        ));
    } else {
        for (i, (name, args)) in calls.iter().enumerate() {
            frames.push(ev("contentBlockStart", json!({"contentBlockIndex": i, "p": "ab", "start": {"toolUse": {"name": name, "toolUseId": format!("tooluse_mock{i}")}}})));
            for frag in split_even(args, chunks) {
                frames.push(ev(
                    "contentBlockDelta",
                    json!({"contentBlockIndex": i, "delta": {"toolUse": {"input": frag}}, "p": "abcd"}),
                ));
            }
            frames.push(ev(
                "contentBlockStop",
                json!({"contentBlockIndex": i, "p": "abc"}),
            ));
        }
    }
    frames.push(ev(
        "messageStop",
        json!({"p": "abcdefgh", "stopReason": stop_reason}),
    ));
    frames.push(ev(
        "metadata",
        json!({"metrics": {"latencyMs": 1}, "p": "abc", "usage": usage}),
    ));
    if b.malformed {
        let mut bad = eventstream::event(
            "contentBlockDelta",
            br#"{"contentBlockIndex":0,"delta":{"text":"x"}}"#,
        );
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        frames.insert(frames.len().min(1), Bytes::from(bad));
    }
    stream_reply(frames, b, opts)
}

fn stream_reply(pieces: Vec<Bytes>, b: &Behaviour, opts: &MockOptions) -> Reply {
    Reply::Stream {
        status: 200,
        content_type: switchyard_providers::bedrock::EVENT_STREAM,
        pieces,
        delay: b
            .chunk_delay_ms
            .map_or(opts.chunk_delay, Duration::from_millis),
        reset_after: b.reset_after_chunks,
        headers: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use switchyard_providers::bedrock::eventstream::Decoder;

    fn incoming(path: &str, body: &str, headers: &[(&str, &str)]) -> Incoming {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        Incoming {
            method: "POST".into(),
            path: path.into(),
            query: None,
            headers: h,
            body: Bytes::copy_from_slice(body.as_bytes()),
            seq: 1,
        }
    }

    fn signed(path: &str, body: &str, secret: &str) -> Incoming {
        let params = sigv4::SigningParams {
            access_key_id: "AKID",
            secret_access_key: secret,
            session_token: None,
            region: "us-east-1",
            service: "bedrock",
            time: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        };
        let s = sigv4::sign(
            "POST",
            path,
            "",
            &[
                ("content-type", "application/json"),
                ("host", "127.0.0.1:9"),
            ],
            body.as_bytes(),
            &params,
        );
        incoming(
            path,
            body,
            &[
                ("host", "127.0.0.1:9"),
                ("content-type", "application/json"),
                ("x-amz-date", &s.amz_date),
                ("authorization", &s.authorization),
            ],
        )
    }

    fn opts() -> MockOptions {
        MockOptions {
            aws: Some(("AKID".into(), "secret".into())),
            ..MockOptions::default()
        }
    }

    fn status_and_body(r: &Reply) -> (u16, Value, Vec<(String, String)>) {
        match r {
            Reply::Body {
                status,
                body,
                headers,
                ..
            } => (
                *status,
                serde_json::from_slice(body).unwrap_or(Value::Null),
                headers.clone(),
            ),
            Reply::Stream { status, .. } => (*status, Value::Null, Vec::new()),
        }
    }

    const BODY: &str = r#"{"messages":[{"role":"user","content":[{"text":"hello"}]}]}"#;

    #[test]
    fn a_valid_signature_is_answered() {
        let req = signed("/model/m%3A0/converse", BODY, "secret");
        let (status, body, _) = status_and_body(&handle(&req, &Behaviour::default(), &opts()));
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["output"]["message"]["content"][0]["text"],
            "You said: hello t1 t2 t3 t4"
        );
        assert_eq!(body["stopReason"], "end_turn");
    }

    #[test]
    fn a_wrong_secret_or_tampered_body_is_refused() {
        let req = signed("/model/m/converse", BODY, "not-the-secret");
        let (status, body, headers) =
            status_and_body(&handle(&req, &Behaviour::default(), &opts()));
        assert_eq!(status, 403);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("The request signature we calculated does not match"));
        assert!(headers
            .iter()
            .any(|(k, v)| k == "x-amzn-ErrorType" && v.starts_with("InvalidSignatureException:")));
        let mut req = signed("/model/m/converse", BODY, "secret");
        req.body =
            Bytes::from_static(br#"{"messages":[{"role":"user","content":[{"text":"bye"}]}]}"#);
        assert_eq!(
            status_and_body(&handle(&req, &Behaviour::default(), &opts())).0,
            403
        );
        let req = incoming(
            "/model/m/converse",
            BODY,
            &[("content-type", "application/json")],
        );
        let (status, body, _) = status_and_body(&handle(&req, &Behaviour::default(), &opts()));
        assert_eq!(
            (status, body["message"].as_str()),
            (403, Some("Missing Authentication Token"))
        );
    }

    #[test]
    fn requests_are_validated_like_the_real_api() {
        let o = MockOptions::default();
        let check = |body: &str, want: &str| {
            let req = incoming(
                "/model/m/converse",
                body,
                &[("content-type", "application/json")],
            );
            let (status, v, _) = status_and_body(&handle(&req, &Behaviour::default(), &o));
            assert_eq!(status, 400, "{body}");
            assert!(v["message"].as_str().unwrap().contains(want), "{v}");
        };
        check(r#"{"messages":[],"model":"x"}"#, "extraneous key [model]");
        check(r#"{"system":[]}"#, "required key [messages]");
        check(
            r#"{"messages":[{"role":"assistant","content":[{"text":"x"}]}]}"#,
            "start with a user",
        );
        check(
            r#"{"messages":[{"role":"user","content":[{"text":"x"}]},{"role":"user","content":[{"text":"y"}]}]}"#,
            "alternate",
        );
        check(
            r#"{"messages":[{"role":"user","content":[{"text":" "}]}]}"#,
            "blank",
        );
        check(
            r#"{"messages":[{"role":"user","content":[{"image":{"format":"bmp","source":{"bytes":"AAAA"}}}]}]}"#,
            "png, jpeg",
        );
        check(
            r#"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"max_tokens":3}}"#,
            "extraneous key [max_tokens]",
        );
        check(
            r#"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"a","content":[{"text":"1"}]}}]}]}"#,
            "toolConfig field must be defined",
        );
        let (status, _, _) = status_and_body(&handle(
            &incoming("/model/arn:aws:x/y/converse", BODY, &[]),
            &Behaviour::default(),
            &o,
        ));
        assert_eq!(status, 404);
    }

    #[test]
    fn streams_are_real_event_stream_frames() {
        let body = r#"{"messages":[{"role":"user","content":[{"text":"call it"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}}"#;
        let req = incoming(
            "/model/m/converse-stream",
            body,
            &[("content-type", "application/json")],
        );
        let Reply::Stream {
            pieces,
            content_type,
            ..
        } = handle(&req, &Behaviour::default(), &MockOptions::default())
        else {
            panic!("not a stream")
        };
        assert_eq!(content_type, "application/vnd.amazon.eventstream");
        let mut d = Decoder::new();
        d.push(&pieces.concat());
        let mut types = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            types.push(m.header(":event-type").unwrap().to_owned());
        }
        assert_eq!(types[0], "messageStart");
        assert_eq!(types[1], "contentBlockStart");
        assert_eq!(&types[types.len() - 2..], ["messageStop", "metadata"]);
    }
}

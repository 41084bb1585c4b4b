//! Anthropic's Messages API: `POST /v1/messages`, plain and SSE, with the real API's
//! validation and error shape (`{"type":"error","error":{"type","message"},"request_id"}`).
//!
//! Shapes follow Anthropic's API reference (Message object, streaming events, errors). The
//! mock answers deterministically like the OpenAI one: it echoes the last user text in
//! pieces, or calls the first tool (the named one for `tool_choice: tool`, and also the second
//! when the user says "parallel") when the request has tools and the last turn is the user's.

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::reply::{count_tokens, pieces, split_even};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

/// API versions the real API accepts.
const VERSIONS: &[&str] = &["2023-06-01", "2023-01-01"];

/// Top-level fields of a Messages request (the real API refuses any other).
const FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "output_config",
    "container",
    "mcp_servers",
    "context_management",
];

/// Anthropic's format: `/v1/messages`, or anything sent with `anthropic-version`.
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "anthropic",
    matches: |req| {
        matches!(
            req.path.trim_end_matches('/'),
            "/v1/messages" | "/v1/messages/count_tokens"
        ) || req.headers.contains_key("anthropic-version")
    },
    handle,
};

/// An Anthropic error response.
pub fn error(status: u16, kind: &str, message: &str, seq: u64) -> Reply {
    let body = json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": format!("req_mock_{seq}"),
    });
    Reply::json(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn invalid(message: impl AsRef<str>, seq: u64) -> Reply {
    error(400, "invalid_request_error", message.as_ref(), seq)
}

fn scripted_error(status: u16, seq: u64) -> Reply {
    let (kind, message) = match status {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => (
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        404 => (
            "not_found_error",
            "The requested resource could not be found.",
        ),
        413 => (
            "request_too_large",
            "Request exceeds the maximum allowed number of bytes.",
        ),
        429 => (
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit (mock).",
        ),
        529 => ("overloaded_error", "Overloaded"),
        400..=499 => ("invalid_request_error", "The request was rejected (mock)."),
        _ => ("api_error", "Internal server error"),
    };
    error(status, kind, message, seq)
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
        [("request-id".to_owned(), format!("req_mock_{}", req.seq))]
            .into_iter()
            .chain(extra),
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let seq = req.seq;
    let path = req.path.trim_end_matches('/');
    let count = path == "/v1/messages/count_tokens";
    if path != "/v1/messages" && !count {
        return error(404, "not_found_error", "Not found", seq);
    }
    if req.method != "POST" {
        return error(405, "invalid_request_error", "Method Not Allowed", seq);
    }
    match req.header("x-api-key") {
        None => {
            return error(
                401,
                "authentication_error",
                "x-api-key header is required",
                seq,
            )
        }
        Some(k) if opts.api_key.as_deref().is_some_and(|want| want != k) => {
            return error(401, "authentication_error", "invalid x-api-key", seq)
        }
        Some(_) => {}
    }
    match req.header("anthropic-version") {
        None => return invalid("anthropic-version: header is required", seq),
        Some(v) if !VERSIONS.contains(&v) => {
            return invalid(format!("anthropic-version: invalid version \"{v}\""), seq)
        }
        Some(_) => {}
    }
    let body = match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(o)) => o,
        _ => return invalid("There was an error parsing the body of your request.", seq),
    };
    if count {
        return count_tokens_reply(&body, seq);
    }
    if let Err(message) = validate(&body) {
        return invalid(message, seq);
    }
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        return match &b.body {
            Some(v) => Reply::json(status, raw_body(v)),
            None => scripted_error(status, seq),
        };
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    answer(&body, b, opts)
}

/// `POST /v1/messages/count_tokens`: `{"input_tokens": N}` for a Messages body (`model` and
/// `messages` required, no `max_tokens`), counted as [`answer`] counts its input.
fn count_tokens_reply(body: &Map<String, Value>, seq: u64) -> Reply {
    if body.get("model").and_then(Value::as_str).is_none() {
        return invalid("model: Field required", seq);
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return invalid("messages: Field required", seq);
    };
    let input_tokens: u64 = messages
        .iter()
        .map(|m| count_tokens(&text_of(m.get("content").unwrap_or(&Value::Null))))
        .sum::<u64>()
        + body.get("system").map_or(0, |s| count_tokens(&text_of(s)));
    Reply::json(
        200,
        serde_json::to_vec(&json!({"input_tokens": input_tokens})).unwrap_or_default(),
    )
}

fn raw_body(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

/// Validates a request like the real API, with its messages.
fn validate(body: &Map<String, Value>) -> Result<(), String> {
    if let Some(k) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{k}: Extra inputs are not permitted"));
    }
    match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {}
        Some(_) => return Err("model: Input should be a valid string".into()),
        None => return Err("model: Field required".into()),
    }
    match body.get("max_tokens") {
        Some(v) if v.as_u64().is_some_and(|n| n >= 1) => {}
        Some(_) => return Err("max_tokens: Input should be greater than or equal to 1".into()),
        None => return Err("max_tokens: Field required".into()),
    }
    for (name, max) in [("temperature", 1.0), ("top_p", 1.0)] {
        if let Some(v) = body.get(name) {
            match v.as_f64() {
                Some(x) if (0.0..=max).contains(&x) => {}
                _ => {
                    return Err(format!(
                        "{name}: Input should be less than or equal to {max}"
                    ))
                }
            }
        }
    }
    if let Some(s) = body.get("stop_sequences") {
        if !s.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err("stop_sequences: Input should be a valid list of strings".into());
        }
    }
    if let Some(m) = body.get("metadata") {
        let ok = m
            .as_object()
            .is_some_and(|o| o.keys().all(|k| k == "user_id"));
        if !ok {
            return Err("metadata: Extra inputs are not permitted".into());
        }
    }
    match body.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) => {
            for (i, b) in blocks.iter().enumerate() {
                text_block(b).map_err(|e| format!("system.{i}: {e}"))?;
            }
        }
        Some(_) => return Err("system: Input should be a valid string or list".into()),
    }
    validate_tools(body)?;
    if let Some(f) = body.get("output_config").and_then(|o| o.get("format")) {
        if f.get("type").and_then(Value::as_str) != Some("json_schema")
            || !f.get("schema").is_some_and(Value::is_object)
        {
            return Err(
                "output_config.format: expected `json_schema` with a `schema` object".into(),
            );
        }
    }
    let Some(messages) = body.get("messages") else {
        return Err("messages: Field required".into());
    };
    let Some(messages) = messages.as_array() else {
        return Err("messages: Input should be a valid list".into());
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    let mut pending_tool_uses: Vec<String> = Vec::new();
    let mut last_role = "";
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "user" | "assistant" => {}
            "system" => return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.".into()),
            _ => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
        }
        if let Some(k) = m
            .as_object()
            .and_then(|o| o.keys().find(|k| *k != "role" && *k != "content"))
        {
            return Err(format!("messages.{i}.{k}: Extra inputs are not permitted"));
        }
        let blocks: Vec<Value> = match m.get("content") {
            Some(Value::String(s)) => vec![json!({"type": "text", "text": s})],
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(format!("messages.{i}.content: Field required")),
        };
        if blocks.is_empty() && i + 1 < messages.len() {
            return Err(format!("messages.{i}: all messages must have non-empty content except for the optional final assistant message"));
        }
        let mut answered: Vec<String> = Vec::new();
        let mut uses: Vec<String> = Vec::new();
        for (j, b) in blocks.iter().enumerate() {
            let at = format!("messages.{i}.content.{j}");
            match b.get("type").and_then(Value::as_str).unwrap_or("") {
                "text" => text_block(b).map_err(|e| format!("{at}: {e}"))?,
                "image" if role == "user" => image_block(b).map_err(|e| format!("{at}: {e}"))?,
                "document" if role == "user" => {}
                "tool_use" if role == "assistant" => {
                    let id = b.get("id").and_then(Value::as_str).unwrap_or("");
                    if id.is_empty() || b.get("name").and_then(Value::as_str).is_none() {
                        return Err(format!("{at}: `tool_use` needs `id` and `name`"));
                    }
                    if !b.get("input").is_some_and(Value::is_object) {
                        return Err(format!("{at}.input: Input should be a valid dictionary"));
                    }
                    uses.push(id.to_owned());
                }
                "tool_result" if role == "user" => {
                    let id = b.get("tool_use_id").and_then(Value::as_str).unwrap_or("");
                    if !pending_tool_uses.iter().any(|u| u == id) {
                        return Err(format!("{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."));
                    }
                    answered.push(id.to_owned());
                }
                other => return Err(format!("{at}.type: Input tag '{other}' found using 'type' does not match any of the expected tags for a {role} message")),
            }
        }
        if let Some(missing) = pending_tool_uses.iter().find(|u| !answered.contains(u)) {
            return Err(format!("messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."));
        }
        pending_tool_uses = uses;
        last_role = role;
    }
    if !pending_tool_uses.is_empty() && last_role == "assistant" {
        // A trailing assistant turn with tool calls is a prefill the model cannot continue.
        return Err(
            "messages: the final assistant message cannot end with `tool_use` blocks".into(),
        );
    }
    Ok(())
}

fn text_block(b: &Value) -> Result<(), String> {
    match b.get("text").and_then(Value::as_str) {
        Some("") => Err("text content blocks must be non-empty".into()),
        Some(_) => Ok(()),
        None => Err("text: Field required".into()),
    }
}

fn image_block(b: &Value) -> Result<(), String> {
    let source = b.get("source").ok_or("source: Field required")?;
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let media = source.get("media_type").and_then(Value::as_str).unwrap_or("");
            if !["image/jpeg", "image/png", "image/gif", "image/webp"].contains(&media) {
                return Err(format!("source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp' (got '{media}')"));
            }
            if !source.get("data").is_some_and(Value::is_string) {
                return Err("source.data: Field required".into());
            }
            Ok(())
        }
        Some("url") => match source.get("url").and_then(Value::as_str) {
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => Ok(()),
            _ => Err("source.url: Input should be a valid URL".into()),
        },
        _ => Err("source.type: Input tag found using 'type' does not match any of the expected tags: 'base64', 'url'".into()),
    }
}

fn validate_tools(body: &Map<String, Value>) -> Result<(), String> {
    let tools = match body.get("tools") {
        None => &Vec::new(),
        Some(Value::Array(t)) => t,
        Some(_) => return Err("tools: Input should be a valid list".into()),
    };
    for (i, t) in tools.iter().enumerate() {
        if !t.get("name").is_some_and(Value::is_string) {
            return Err(format!("tools.{i}.name: Field required"));
        }
        if !t.get("input_schema").is_some_and(Value::is_object) {
            return Err(format!("tools.{i}.input_schema: Field required"));
        }
        if let Some(k) = t.as_object().and_then(|o| {
            o.keys().find(|k| {
                ![
                    "name",
                    "description",
                    "input_schema",
                    "strict",
                    "cache_control",
                    "type",
                ]
                .contains(&k.as_str())
            })
        }) {
            return Err(format!("tools.{i}.{k}: Extra inputs are not permitted"));
        }
    }
    if let Some(c) = body.get("tool_choice") {
        match c.get("type").and_then(Value::as_str) {
            Some("auto" | "any" | "none") => {}
            Some("tool") if c.get("name").is_some_and(Value::is_string) => {}
            Some("tool") => return Err("tool_choice.tool.name: Field required".into()),
            _ => return Err("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'".into()),
        }
        if tools.is_empty() && c.get("type").and_then(Value::as_str) != Some("none") {
            return Err("tool_choice may only be specified while providing tools.".into());
        }
    }
    Ok(())
}

/// All text in a content value (a string or blocks, tool results included).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                Some("tool_result") => text_of(b.get("content").unwrap_or(&Value::Null)),
                _ => String::new(),
            })
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn is_tool_result(content: &Value) -> bool {
    content.as_array().is_some_and(|blocks| {
        blocks
            .iter()
            .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
    })
}

/// The tool calls the mock makes, as (id, name, JSON input).
fn planned_tool_calls(body: &Map<String, Value>, last_text: &str) -> Vec<(String, String, String)> {
    let Some(tools) = body.get("tools").and_then(Value::as_array) else {
        return Vec::new();
    };
    let choice = body.get("tool_choice");
    if tools.is_empty()
        || choice.and_then(|c| c.get("type")).and_then(Value::as_str) == Some("none")
    {
        return Vec::new();
    }
    let input = json!({ "input": last_text }).to_string();
    let name_of = |t: &Value| t.get("name").and_then(Value::as_str).map(str::to_owned);
    let mut names: Vec<String> = match choice
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("tool"))
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str)
    {
        Some(forced) => vec![forced.to_owned()],
        None => tools.first().and_then(name_of).into_iter().collect(),
    };
    let parallel_off = choice
        .and_then(|c| c.get("disable_parallel_tool_use"))
        .and_then(Value::as_bool)
        == Some(true);
    if names.len() == 1 && last_text.contains("parallel") && !parallel_off {
        names.extend(tools.get(1).and_then(name_of));
    }
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (format!("toolu_mock_{i}"), n, input.clone()))
        .collect()
}

fn answer(body: &Map<String, Value>, b: &Behaviour, opts: &MockOptions) -> Reply {
    let model = body.get("model").and_then(Value::as_str).unwrap_or("");
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let input_tokens: u64 = messages
        .iter()
        .map(|m| count_tokens(&text_of(m.get("content").unwrap_or(&Value::Null))))
        .sum::<u64>()
        + body.get("system").map_or(0, |s| count_tokens(&text_of(s)));
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let last_content = last.get("content").cloned().unwrap_or(Value::Null);
    let last_text = text_of(&last_content);
    let from_tool = is_tool_result(&last_content);
    let tool_calls = if last.get("role").and_then(Value::as_str) == Some("user") && !from_tool {
        planned_tool_calls(body, &last_text)
    } else {
        Vec::new()
    };
    let answer = if from_tool {
        format!("Tool said: {last_text}")
    } else {
        last_text
    };
    let chunks = b.chunks.unwrap_or(opts.chunks).max(1);
    let texts = if tool_calls.is_empty() {
        pieces(&answer, chunks)
    } else {
        Vec::new()
    };
    let output_tokens = texts.len() as u64 + tool_calls.len() as u64 * 8;
    let stop_reason = if tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    let id = "msg_mock";
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);

    if !stream {
        if b.malformed {
            return Reply::json(
                200,
                br#"{"id":"msg_mock","type":"message","content":[{"type":"#.to_vec(),
            );
        }
        let mut content: Vec<Value> = Vec::new();
        if !texts.is_empty() {
            content.push(json!({"type": "text", "text": texts.concat()}));
        }
        for (tid, name, input) in &tool_calls {
            let input: Value = serde_json::from_str(input).unwrap_or_default();
            content.push(json!({"type": "tool_use", "id": tid, "name": name, "input": input}));
        }
        let resp = json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": output_tokens},
        });
        let mut reply = Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default());
        if b.reset_after_chunks.is_some() {
            if let Reply::Body { cut, .. } = &mut reply {
                *cut = true;
            }
        }
        return reply;
    }

    if let Some(err) = &b.error_event {
        return sse_reply(
            vec![("error", json!({"type": "error", "error": err}))],
            b,
            opts,
        );
    }
    let mut events: Vec<(&str, Value)> = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
        }}),
    )];
    let mut index = 0;
    if !texts.is_empty() {
        events.push(("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
        events.push(("ping", json!({"type": "ping"})));
        for t in &texts {
            events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": t}})));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (tid, name, input) in &tool_calls {
        events.push(("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": tid, "name": name, "input": {}}})));
        events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": ""}})));
        for frag in split_even(input, chunks) {
            events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": frag}})));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    events.push(("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}})));
    events.push(("message_stop", json!({"type": "message_stop"})));
    sse_reply(events, b, opts)
}

fn sse_reply(events: Vec<(&str, Value)>, b: &Behaviour, opts: &MockOptions) -> Reply {
    let mut pieces: Vec<Bytes> = events
        .iter()
        .map(|(name, data)| {
            Bytes::from(format!(
                "event: {name}\ndata: {}\n\n",
                serde_json::to_string(data).unwrap_or_default()
            ))
        })
        .collect();
    if b.malformed {
        pieces.insert(
            pieces.len().min(1),
            Bytes::from_static(b"event: content_block_delta\ndata: {oops\n\n"),
        );
    }
    Reply::event_stream(pieces, b, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Map<String, Value> {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn requests_are_validated_like_the_real_api() {
        let ok = r#"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
        assert!(validate(&v(ok)).is_ok());
        for (body, want) in [
            (
                r#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#,
                "max_tokens: Field required",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"n":2}"#,
                "n: Extra inputs",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"system","content":"hi"}]}"#,
                "top-level `system`",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"hi","name":"x"}]}"#,
                "messages.0.name",
            ),
            (
                r#"{"model":"c","max_tokens":1,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}"#,
                "temperature",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}"#,
                "non-empty",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]}"#,
                "unexpected `tool_use_id`",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"b"}]}"#,
                "without `tool_result`",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"a"}],"tool_choice":{"type":"any"}}"#,
                "providing tools",
            ),
            (
                r#"{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/tiff","data":"AA=="}}]}]}"#,
                "media_type",
            ),
        ] {
            let e = validate(&v(body)).unwrap_err();
            assert!(e.contains(want), "{body}: {e}");
        }
    }

    #[test]
    fn a_tool_round_trip_is_valid() {
        let body = r#"{"model":"c","max_tokens":1,"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[
            {"role":"user","content":"a"},
            {"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"f","input":{}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"go on"}]}]}"#;
        assert!(validate(&v(body)).is_ok());
        assert_eq!(text_of(&v(body)["messages"][2]["content"]), "42 go on");
    }

    #[test]
    fn tools_are_called_as_asked() {
        let body =
            v(r#"{"tools":[{"name":"a","input_schema":{}},{"name":"b","input_schema":{}}]}"#);
        let calls = planned_tool_calls(&body, "do it in parallel");
        assert_eq!(
            calls.iter().map(|c| c.1.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let body = v(
            r#"{"tools":[{"name":"a","input_schema":{}},{"name":"b","input_schema":{}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}"#,
        );
        assert_eq!(planned_tool_calls(&body, "parallel").len(), 1);
        let body = v(
            r#"{"tools":[{"name":"a","input_schema":{}},{"name":"b","input_schema":{}}],"tool_choice":{"type":"tool","name":"b"}}"#,
        );
        assert_eq!(planned_tool_calls(&body, "x")[0].1, "b");
        let body = v(r#"{"tools":[{"name":"a","input_schema":{}}],"tool_choice":{"type":"none"}}"#);
        assert!(planned_tool_calls(&body, "x").is_empty());
    }
}

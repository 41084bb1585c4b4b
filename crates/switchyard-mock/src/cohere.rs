//! Cohere's v2 wire format: `POST /v2/chat` (plain, and SSE with `event:` lines:
//! message-start, content-start, content-delta, content-end, tool-plan-delta,
//! tool-call-start/-delta/-end, message-end with `finish_reason` and `usage`) and
//! `POST /v2/embed`, with bearer auth and Cohere's `{"id","message"}` errors. Requests are
//! checked like the real API: required fields, known top-level fields only, known roles and
//! content types, `tool_choice` REQUIRED/NONE, `p` and `temperature` ranges, `input_type`
//! for embeddings.
//!
//! Shapes follow Cohere's OpenAPI spec (cohere-ai/cohere-developer-experience,
//! `cohere-openapi.yaml`).

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::openai::{content_text, raw_body};
use crate::reply::split_even;
use crate::reply::{count_tokens, embedding, pieces};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

const CHAT_FIELDS: &[&str] = &[
    "model",
    "messages",
    "stream",
    "tools",
    "strict_tools",
    "documents",
    "citation_options",
    "response_format",
    "safety_mode",
    "max_tokens",
    "stop_sequences",
    "temperature",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "k",
    "p",
    "logprobs",
    "tool_choice",
    "thinking",
    "priority",
];

const EMBED_FIELDS: &[&str] = &[
    "model",
    "texts",
    "images",
    "inputs",
    "input_type",
    "max_tokens",
    "output_dimension",
    "embedding_types",
    "truncate",
    "priority",
];

/// Cohere's format, recognised by its `/v2/` paths.
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "cohere",
    matches: |req| req.path.starts_with("/v2/"),
    handle,
};

/// A Cohere error body.
pub fn error(status: u16, message: &str) -> Reply {
    let body = json!({"id": "b1b5e6e4-mock", "message": message});
    Reply::json(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn scripted_error(status: u16) -> Reply {
    match status {
        429 => error(429, "You are using a Trial key, which is limited to 10 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. (mock)"),
        401 => error(401, "invalid api token"),
        400..=499 => error(status, "invalid request: the request was rejected (mock)"),
        _ => error(status, "internal server error, this has been reported to our developers (mock)"),
    }
}

/// Handles one Cohere request.
pub fn handle(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let reply = route(req, b, opts);
    let extra = b.headers.iter().map(|(k, v)| (k.clone(), v.clone()));
    reply.with_headers(
        [
            ("x-debug-trace-id".to_owned(), format!("mock-{}", req.seq)),
            ("num_tokens".to_owned(), "1".to_owned()),
        ]
        .into_iter()
        .chain(extra),
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let path = req.path.trim_end_matches('/');
    if path != "/v2/chat" && path != "/v2/embed" {
        return error(404, &format!("404 page not found: {}", req.path));
    }
    if req.method != "POST" {
        return error(405, "method not allowed");
    }
    if let Some(want) = opts.api_key.as_deref() {
        let given = req.header("authorization").and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
        match given {
            None => return error(401, "no api key supplied"),
            Some(k) if k != want => return error(401, "invalid api token"),
            Some(_) => {}
        }
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                400,
                "invalid request: could not parse the request body as JSON",
            )
        }
    };
    let allowed = if path == "/v2/chat" {
        CHAT_FIELDS
    } else {
        EMBED_FIELDS
    };
    if let Some(k) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return error(400, &format!("invalid request: unknown field `{k}`"));
    }
    if body
        .get("model")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return error(400, "invalid request: model must be specified");
    }
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        return match &b.body {
            Some(v) => Reply::json(status, raw_body(v)),
            None => scripted_error(status),
        };
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    if path == "/v2/chat" {
        chat(&body, b, opts)
    } else {
        embed(&body, opts)
    }
}

fn check_chat(body: &Value) -> Result<(), String> {
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or("invalid request: messages must be a non-empty array")?;
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        match role {
            "user" | "system" | "assistant" | "tool" => {}
            other => return Err(format!("invalid request: messages[{i}].role `{other}` must be one of user, assistant, system, tool")),
        }
        if role == "tool" && m.get("tool_call_id").and_then(Value::as_str).is_none() {
            return Err(format!(
                "invalid request: messages[{i}].tool_call_id is required"
            ));
        }
        if role != "assistant" && m.get("content").is_none() {
            return Err(format!(
                "invalid request: messages[{i}].content is required"
            ));
        }
        if let Some(parts) = m.get("content").and_then(Value::as_array) {
            for p in parts {
                let t = p.get("type").and_then(Value::as_str).unwrap_or("");
                let ok = match role {
                    "user" => {
                        t == "text" || (t == "image_url" && p.pointer("/image_url/url").is_some())
                    }
                    "tool" => t == "text" || t == "document",
                    _ => t == "text",
                };
                if !ok {
                    return Err(format!(
                        "invalid request: messages[{i}] has unsupported content type `{t}`"
                    ));
                }
            }
        }
    }
    if let Some(tc) = body.get("tool_choice") {
        if !matches!(tc.as_str(), Some("REQUIRED" | "NONE")) {
            return Err("invalid request: tool_choice must be one of REQUIRED, NONE".into());
        }
    }
    if let Some(p) = body.get("p").and_then(Value::as_f64) {
        if !(0.01..=0.99).contains(&p) {
            return Err("invalid request: p must be between 0.01 and 0.99".into());
        }
    }
    if let Some(t) = body.get("temperature").and_then(Value::as_f64) {
        if !(0.0..=1.0).contains(&t) {
            return Err("invalid request: temperature must be between 0 and 1".into());
        }
    }
    if let Some(rf) = body.get("response_format") {
        if !matches!(
            rf.get("type").and_then(Value::as_str),
            Some("text" | "json_object")
        ) {
            return Err(
                "invalid request: response_format.type must be one of text, json_object".into(),
            );
        }
    }
    if let Some(tools) = body.get("tools").and_then(Value::as_array) {
        for t in tools {
            if t.pointer("/function/name")
                .and_then(Value::as_str)
                .is_none()
                || t.pointer("/function/parameters").is_none()
            {
                return Err("invalid request: tools[].function needs name and parameters".into());
            }
        }
    }
    Ok(())
}

fn usage(input: u64, output: u64) -> Value {
    json!({"billed_units": {"input_tokens": input, "output_tokens": output},
           "tokens": {"input_tokens": input + 60, "output_tokens": output}})
}

fn chat(body: &Value, b: &Behaviour, opts: &MockOptions) -> Reply {
    if let Err(m) = check_chat(body) {
        return error(400, &m);
    }
    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let input: u64 = messages
        .iter()
        .map(|m| count_tokens(&content_text(m.get("content").unwrap_or(&Value::Null))))
        .sum();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let last_role = last.get("role").and_then(Value::as_str).unwrap_or("");
    let last_text = content_text(last.get("content").unwrap_or(&Value::Null));
    let chunks = b.chunks.unwrap_or(opts.chunks).max(1);
    let calls = tool_calls(body, last_role, &last_text);
    let answer = if last_role == "tool" {
        format!("Tool said: {last_text}")
    } else {
        last_text
    };
    let texts = pieces(&answer, chunks);
    let id = "5a3b1c9e-0d3f-4e61-9d3c-mock";
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);

    if !stream {
        if b.malformed {
            return Reply::json(200, br#"{"id":"5a3b","message":{"role":"#.to_vec());
        }
        let (message, finish, output) = match &calls {
            Some(calls) => (
                json!({"role": "assistant", "tool_plan": plan(calls),
                       "tool_calls": calls.iter().enumerate().map(|(i, (name, args))| json!({"id": format!("{name}_mock{i}"), "type": "function", "function": {"name": name, "arguments": args}})).collect::<Vec<_>>()}),
                "TOOL_CALL",
                calls.len() as u64 * 8,
            ),
            None => (
                json!({"role": "assistant", "content": [{"type": "text", "text": texts.concat()}]}),
                "COMPLETE",
                texts.len() as u64,
            ),
        };
        let resp = json!({"id": id, "message": message, "finish_reason": finish, "usage": usage(input, output)});
        let mut reply = Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default());
        if b.reset_after_chunks.is_some() {
            if let Reply::Body { cut, .. } = &mut reply {
                *cut = true;
            }
        }
        return reply;
    }

    let mut events: Vec<(&str, Value)> = Vec::new();
    if let Some(err) = &b.error_event {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        events.push((
            "message-end",
            json!({"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message}}),
        ));
        return sse(events, b, opts);
    }
    events.push((
        "message-start",
        json!({"type": "message-start", "id": id, "delta": {"message": {"role": "assistant"}}}),
    ));
    let (finish, output) = match &calls {
        Some(calls) => {
            events.push((
                "tool-plan-delta",
                json!({"type": "tool-plan-delta", "delta": {"message": {"tool_plan": plan(calls)}}}),
            ));
            for (i, (name, args)) in calls.iter().enumerate() {
                events.push(("tool-call-start", json!({"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": {"id": format!("{name}_mock{i}"), "type": "function", "function": {"name": name, "arguments": ""}}}}})));
                for frag in split_even(args, chunks) {
                    events.push(("tool-call-delta", json!({"type": "tool-call-delta", "index": i, "delta": {"message": {"tool_calls": {"function": {"arguments": frag}}}}})));
                }
                events.push((
                    "tool-call-end",
                    json!({"type": "tool-call-end", "index": i}),
                ));
            }
            ("TOOL_CALL", calls.len() as u64 * 8)
        }
        None => {
            events.push(("content-start", json!({"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}})));
            for t in &texts {
                events.push(("content-delta", json!({"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": t}}}})));
            }
            events.push(("content-end", json!({"type": "content-end", "index": 0})));
            ("COMPLETE", texts.len() as u64)
        }
    };
    events.push((
        "message-end",
        json!({"type": "message-end", "delta": {"finish_reason": finish, "usage": usage(input, output)}}),
    ));
    sse(events, b, opts)
}

fn plan(calls: &[(String, String)]) -> String {
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    format!("I will call {}.", names.join(" and "))
}

/// The tool calls the mock makes: the first tool, and the second too when the user asks for
/// "parallel" calls; none when the last turn is not the user's or `tool_choice` is NONE.
fn tool_calls(body: &Value, last_role: &str, last_text: &str) -> Option<Vec<(String, String)>> {
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())?;
    if last_role != "user" || body.get("tool_choice").and_then(Value::as_str) == Some("NONE") {
        return None;
    }
    let name_of = |t: &Value| {
        t.pointer("/function/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let args = serde_json::to_string(&json!({"input": last_text})).unwrap_or_default();
    let mut calls = vec![(name_of(&tools[0])?, args.clone())];
    if last_text.contains("parallel") {
        if let Some(second) = tools.get(1).and_then(name_of) {
            calls.push((second, args));
        }
    }
    Some(calls)
}

fn sse(events: Vec<(&str, Value)>, b: &Behaviour, opts: &MockOptions) -> Reply {
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
            Bytes::from_static(b"event: content-delta\ndata: {oops\n\n"),
        );
    }
    Reply::Stream {
        status: 200,
        content_type: "text/event-stream",
        pieces,
        delay: b
            .chunk_delay_ms
            .map_or(opts.chunk_delay, Duration::from_millis),
        reset_after: b.reset_after_chunks,
        headers: Vec::new(),
    }
}

fn embed(body: &Value, opts: &MockOptions) -> Reply {
    let Some(input_type) = body.get("input_type").and_then(Value::as_str) else {
        return error(
            400,
            "invalid request: input_type is required for embed models v3 and higher",
        );
    };
    if !matches!(
        input_type,
        "search_document" | "search_query" | "classification" | "clustering" | "image"
    ) {
        return error(
            400,
            &format!("invalid request: unknown input_type `{input_type}`"),
        );
    }
    let Some(texts) = body
        .get("texts")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty() && t.len() <= 96)
    else {
        return error(
            400,
            "invalid request: texts must be an array of 1 to 96 strings",
        );
    };
    let texts: Vec<String> = texts
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_owned())
        .collect();
    let types: Vec<&str> = body
        .get("embedding_types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_else(|| vec!["float"]);
    let dims = body
        .get("output_dimension")
        .and_then(Value::as_u64)
        .map_or(opts.dimensions, |d| d as usize)
        .clamp(1, 8192);
    let mut embeddings = serde_json::Map::new();
    if types.contains(&"float") {
        let floats: Vec<Vec<f32>> = texts.iter().map(|t| embedding(t, dims)).collect();
        embeddings.insert("float".into(), json!(floats));
    }
    let tokens: u64 = texts.iter().map(|t| count_tokens(t)).sum();
    let resp = json!({
        "id": "da6e531f-mock", "texts": texts, "embeddings": embeddings,
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": tokens}},
        "response_type": "embeddings_by_type",
    });
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

//! OpenAI's wire format: `/v1/chat/completions` (plain and SSE), `/v1/completions`,
//! `/v1/embeddings`, `/v1/models`, `/v1/images/generations`, `/v1/audio/speech` and
//! `/v1/audio/transcriptions|translations` (multipart) and `/v1/responses` (the Responses API,
//! stateless), with the real API's validation errors.
//!
//! Shapes follow OpenAI's API reference (chat completion object, chat completion chunk
//! object, completion object, embedding object, error object).

use bytes::Bytes;
use serde_json::{json, Value};

use switchyard_providers::Form;

use crate::reply::{base64, count_tokens, embedding, pieces, split_even};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

const CREATED: u64 = 1_700_000_000;
const FINGERPRINT: &str = "fp_mock";

/// An OpenAI error response.
pub fn error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Reply {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    Reply::json(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn scripted_error(status: u16, model: &str) -> Reply {
    match status {
        429 => error(
            429,
            &format!("Rate limit reached for {model} (mock)."),
            "requests",
            None,
            Some("rate_limit_exceeded"),
        ),
        401 => error(
            401,
            "Incorrect API key provided.",
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        ),
        400..=499 => error(
            status,
            "The request was rejected (mock).",
            "invalid_request_error",
            None,
            None,
        ),
        _ => error(
            status,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
    }
}

/// OpenAI's format; matches everything, so it must come last in [`crate::DIALECTS`].
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "openai",
    matches: |_| true,
    handle,
};

/// Handles one provider request.
pub fn handle(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let reply = route(req, b, opts);
    let extra: Vec<(String, String)> = b
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    reply.with_headers(
        [
            ("x-request-id".to_owned(), format!("req_mock_{}", req.seq)),
            ("openai-processing-ms".to_owned(), "1".to_owned()),
            ("openai-version".to_owned(), "2020-10-01".to_owned()),
        ]
        .into_iter()
        .chain(extra),
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let path = req.path.trim_end_matches('/');
    let known = [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/models",
        "/v1/images/generations",
        "/v1/audio/speech",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
        "/v1/responses",
    ];
    if !known.contains(&path) {
        return error(
            404,
            &format!("Invalid URL ({} {})", req.method, req.path),
            "invalid_request_error",
            None,
            None,
        );
    }
    let want_get = path == "/v1/models";
    if (req.method == "GET") != want_get {
        return error(
            405,
            &format!("Invalid method for URL ({} {})", req.method, req.path),
            "invalid_request_error",
            None,
            None,
        );
    }
    if let Some(r) = check_auth(req, opts) {
        return r;
    }
    if path == "/v1/models" {
        return models();
    }
    let multipart =
        path.starts_with("/v1/audio/transcriptions") || path.starts_with("/v1/audio/translations");
    let mut form = None;
    let parsed = if multipart {
        match Form::parse(
            req.header("content-type").unwrap_or_default(),
            req.body.clone(),
        ) {
            Ok(f) => {
                let fields = serde_json::from_slice(f.fields_envelope().raw());
                form = Some(f);
                fields
            }
            Err(e) => {
                return error(
                    400,
                    &format!("Could not parse multipart form: {e}"),
                    "invalid_request_error",
                    None,
                    None,
                )
            }
        }
    } else {
        serde_json::from_slice(&req.body)
    };
    let body: Value = match parsed {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                "invalid_request_error",
                None,
                None,
            )
        }
    };
    let Some(model) = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
    else {
        return error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
            None,
        );
    };
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        return match &b.body {
            Some(v) => Reply::json(status, raw_body(v)),
            None => scripted_error(status, model),
        };
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    match (path, &form) {
        ("/v1/chat/completions", _) => chat(&body, model, b, opts),
        ("/v1/responses", _) => responses(&body, model, b, opts),
        ("/v1/completions", _) => completions(&body, model, b, opts),
        ("/v1/images/generations", _) => images(&body, model),
        ("/v1/audio/speech", _) => speech(&body, model),
        (_, Some(form)) => transcription(form, &body, model, path.ends_with("translations")),
        _ => embeddings(&body, model, opts),
    }
}

/// The text of a Responses API `input`: a string, or the last user item's text (a string or
/// `input_text` parts).
fn responses_input_text(input: &Value) -> Option<String> {
    match input {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let user = items
                .iter()
                .rev()
                .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))?;
            match user.get("content")? {
                Value::String(s) => Some(s.clone()),
                Value::Array(parts) => Some(
                    parts
                        .iter()
                        .filter(|p| p.get("type").and_then(Value::as_str) == Some("input_text"))
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `POST /v1/responses`: OpenAI's Responses API, stateless; a message echoing the last user
/// input, plain or as the semantic event stream (`response.created` … `response.completed`,
/// each SSE event named by its `type`, no `[DONE]`), shapes from OpenAI's API reference.
pub(crate) fn responses(body: &Value, model: &str, b: &Behaviour, opts: &MockOptions) -> Reply {
    let Some(input) = body.get("input") else {
        return invalid("Missing required parameter: 'input'.", "input");
    };
    let Some(text) = responses_input_text(input) else {
        return invalid(
            "Invalid type for 'input': expected a string or an array of input items.",
            "input",
        );
    };
    if body
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        return invalid(
            "Previous response with id not found (mock keeps no state).",
            "previous_response_id",
        );
    }
    let instructions = body
        .get("instructions")
        .and_then(Value::as_str)
        .unwrap_or("");
    let input_tokens = count_tokens(&text) + count_tokens(instructions);
    let texts = pieces(&text, b.chunks.unwrap_or(opts.chunks).max(1));
    let full = texts.concat();
    let output_tokens = texts.len() as u64;
    let usage = json!({
        "input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    });
    let part = |t: &str| json!({"type": "output_text", "text": t, "annotations": []});
    let item = |status: &str, content: Vec<Value>| json!({"type": "message", "id": "msg_mock", "status": status, "role": "assistant", "content": content});
    let response = |status: &str, output: Vec<Value>, usage: Value| {
        json!({
            "id": "resp_mock", "object": "response", "created_at": CREATED, "status": status,
            "error": null, "incomplete_details": null, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "model": model, "output": output,
            "parallel_tool_calls": true, "previous_response_id": null,
            "reasoning": {"effort": null, "summary": null}, "store": false,
            "temperature": body.get("temperature").cloned().unwrap_or(json!(1.0)),
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
            "top_p": 1.0, "truncation": "disabled", "usage": usage, "metadata": {},
        })
    };
    if body.get("stream").and_then(Value::as_bool) != Some(true) {
        let done = response(
            "completed",
            vec![item("completed", vec![part(&full)])],
            usage,
        );
        return Reply::json(200, serde_json::to_vec(&done).unwrap_or_default());
    }
    let mut events: Vec<Value> = vec![
        json!({"type": "response.created", "response": response("in_progress", vec![], Value::Null)}),
        json!({"type": "response.in_progress", "response": response("in_progress", vec![], Value::Null)}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": item("in_progress", vec![])}),
        json!({"type": "response.content_part.added", "item_id": "msg_mock", "output_index": 0, "content_index": 0, "part": part("")}),
    ];
    for t in &texts {
        events.push(json!({"type": "response.output_text.delta", "item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": t}));
    }
    events.extend([
        json!({"type": "response.output_text.done", "item_id": "msg_mock", "output_index": 0, "content_index": 0, "text": full}),
        json!({"type": "response.content_part.done", "item_id": "msg_mock", "output_index": 0, "content_index": 0, "part": part(&full)}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": item("completed", vec![part(&full)])}),
        json!({"type": "response.completed", "response": response("completed", vec![item("completed", vec![part(&full)])], usage)}),
    ]);
    let pieces: Vec<Bytes> = events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e["sequence_number"] = json!(i);
            let name = e["type"].as_str().unwrap_or_default().to_owned();
            Bytes::from(format!("event: {name}\ndata: {e}\n\n"))
        })
        .collect();
    Reply::event_stream(pieces, b, opts)
}

fn invalid(message: &str, param: &str) -> Reply {
    error(400, message, "invalid_request_error", Some(param), None)
}

/// `POST /v1/images/generations`: deterministic URLs or base64 "images".
pub(crate) fn images(body: &Value, model: &str) -> Reply {
    let Some(prompt) = body.get("prompt").and_then(Value::as_str) else {
        return invalid("'prompt' is a required property", "prompt");
    };
    let n = body.get("n").and_then(Value::as_u64).unwrap_or(1);
    if !(1..=10).contains(&n) {
        return invalid(&format!("{n} is not in [1, 10] - 'n'"), "n");
    }
    let b64 = match body.get("response_format").and_then(Value::as_str) {
        None | Some("url") => false,
        Some("b64_json") => true,
        Some(other) => {
            return invalid(
                &format!("'{other}' is not one of ['url', 'b64_json'] - 'response_format'"),
                "response_format",
            )
        }
    };
    let data: Vec<Value> = (0..n)
        .map(|i| {
            if b64 {
                json!({"b64_json": base64(format!("{model}:{i}:{prompt}").as_bytes()), "revised_prompt": prompt})
            } else {
                json!({"url": format!("https://images.mock.invalid/{model}/{i}.png"), "revised_prompt": prompt})
            }
        })
        .collect();
    let resp = json!({"created": CREATED, "data": data});
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

/// `POST /v1/audio/speech`: a few bytes of "audio" in the asked format.
pub(crate) fn speech(body: &Value, model: &str) -> Reply {
    let Some(input) = body.get("input").and_then(Value::as_str) else {
        return invalid("'input' is a required property", "input");
    };
    if input.chars().count() > 4096 {
        return invalid("'input' is too long: at most 4096 characters", "input");
    }
    let Some(voice) = body.get("voice").and_then(Value::as_str) else {
        return invalid("'voice' is a required property", "voice");
    };
    let content_type = match body.get("response_format").and_then(Value::as_str) {
        None | Some("mp3") => "audio/mpeg",
        Some("opus") => "audio/opus",
        Some("aac") => "audio/aac",
        Some("flac") => "audio/flac",
        Some("wav") => "audio/wav",
        Some("pcm") => "audio/pcm",
        Some(other) => {
            return invalid(
                &format!("'{other}' is not one of ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] - 'response_format'"),
                "response_format",
            )
        }
    };
    // Not a real codec: a header naming what was asked, then bytes that are not UTF-8.
    let mut audio = format!("MOCKAUDIO {model} {voice} {}\n", input.len()).into_bytes();
    audio.extend((0..=255u8).cycle().take(512));
    Reply::Body {
        status: 200,
        content_type,
        body: audio,
        headers: Vec::new(),
        cut: false,
    }
}

/// `POST /v1/audio/transcriptions|translations`: "transcribes" the uploaded file by naming it.
pub(crate) fn transcription(form: &Form, body: &Value, model: &str, translate: bool) -> Reply {
    if !form.has_file("file") {
        return invalid("'file' is a required property", "file");
    }
    if body.get("stream").and_then(Value::as_str) == Some("true") {
        return invalid(
            &format!("Streaming is not supported for the model {model}."),
            "stream",
        );
    }
    let size = form.file_len("file").unwrap_or(0);
    let text = format!(
        "{} {size} bytes with {model}.",
        if translate {
            "Translated"
        } else {
            "Transcribed"
        }
    );
    // Transcriptions report usage: whisper models by audio duration, the others in tokens.
    let usage = if model.starts_with("whisper") {
        json!({"type": "duration", "seconds": 1.0})
    } else {
        let out = count_tokens(&text);
        json!({"type": "tokens", "input_tokens": 10, "output_tokens": out, "total_tokens": 10 + out,
               "input_token_details": {"text_tokens": 0, "audio_tokens": 10}})
    };
    match body.get("response_format").and_then(Value::as_str) {
        None | Some("json") if translate => Reply::json(
            200,
            serde_json::to_vec(&json!({"text": text})).unwrap_or_default(),
        ),
        None | Some("json") => Reply::json(
            200,
            serde_json::to_vec(&json!({"text": text, "usage": usage})).unwrap_or_default(),
        ),
        Some("text") => Reply::Body {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: text.into_bytes(),
            headers: Vec::new(),
            cut: false,
        },
        Some("verbose_json") => Reply::json(
            200,
            serde_json::to_vec(&json!({
                "task": if translate { "translate" } else { "transcribe" },
                "language": body.get("language").and_then(Value::as_str).unwrap_or("english"),
                "duration": 1.0,
                "text": text,
                "segments": []
            }))
            .unwrap_or_default(),
        ),
        Some(other) => invalid(
            &format!("'{other}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt'] - 'response_format'"),
            "response_format",
        ),
    }
}

pub(crate) fn raw_body(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

fn check_auth(req: &Incoming, opts: &MockOptions) -> Option<Reply> {
    let want = opts.api_key.as_deref()?;
    match req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        None => Some(error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            "invalid_request_error",
            None,
            None,
        )),
        Some(k) if k == want => None,
        Some(k) => {
            let shown: String = k.chars().take(4).collect();
            Some(error(
                401,
                &format!("Incorrect API key provided: {shown}***. You can find your API key at https://platform.openai.com/account/api-keys."),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ))
        }
    }
}

fn models() -> Reply {
    let data: Vec<Value> = ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small"]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "mock"}))
        .collect();
    Reply::json(
        200,
        serde_json::to_vec(&json!({"object": "list", "data": data})).unwrap_or_default(),
    )
}

/// Text of a message's `content`: a string, or the text parts of an array.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

const ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

pub(crate) fn chat(body: &Value, model: &str, b: &Behaviour, opts: &MockOptions) -> Reply {
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        return error(
            400,
            "Missing required parameter: 'messages'.",
            "invalid_request_error",
            Some("messages"),
            Some("missing_required_parameter"),
        );
    };
    if messages.is_empty() {
        return error(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "invalid_request_error", Some("messages"), Some("empty_array"));
    }
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if !ROLES.contains(&role) {
            return error(400, &format!("Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."), "invalid_request_error", Some(&format!("messages[{i}].role")), Some("invalid_value"));
        }
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let include_usage = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let prompt_tokens: u64 = messages
        .iter()
        .map(|m| count_tokens(&content_text(m.get("content").unwrap_or(&Value::Null))))
        .sum();
    let last = messages.last().cloned().unwrap_or(Value::Null);
    let last_role = last.get("role").and_then(Value::as_str).unwrap_or("");
    let last_text = content_text(last.get("content").unwrap_or(&Value::Null));
    let chunks = b.chunks.unwrap_or(opts.chunks).max(1);
    let n = body
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 8) as usize;
    let tool_calls = planned_tool_calls(body, last_role, &last_text);
    let answer = if last_role == "tool" {
        format!("Tool said: {last_text}")
    } else {
        last_text
    };
    let texts = if stream && opts.stamp {
        // Stamped at write time (`wire::write`): each content delta is its send time.
        vec![crate::wire::STAMP_PLACEHOLDER.to_owned(); chunks]
    } else {
        pieces(&answer, chunks)
    };
    let id = "chatcmpl-mock";

    if !stream {
        if b.malformed {
            return Reply::json(
                200,
                br#"{"id":"chatcmpl-mock","object":"chat.completion","choices":[{"message":"#
                    .to_vec(),
            );
        }
        let (message, finish, completion_tokens) = match &tool_calls {
            Some(calls) => (
                json!({"role": "assistant", "content": null, "tool_calls": calls.iter().enumerate().map(|(i, (name, args))| json!({"id": format!("call_mock_{i}"), "type": "function", "function": {"name": name, "arguments": args}})).collect::<Vec<_>>(), "refusal": null}),
                "tool_calls",
                calls.len() as u64 * 8,
            ),
            None => (
                json!({"role": "assistant", "content": texts.concat(), "refusal": null}),
                "stop",
                texts.len() as u64,
            ),
        };
        let choices: Vec<Value> = (0..n).map(|i| json!({"index": i, "message": message, "logprobs": null, "finish_reason": finish})).collect();
        let completion_tokens = completion_tokens * n as u64;
        let resp = json!({
            "id": id, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
                      "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
            "system_fingerprint": FINGERPRINT,
        });
        let mut reply = Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default());
        if b.reset_after_chunks.is_some() {
            if let Reply::Body { cut, .. } = &mut reply {
                *cut = true;
            }
        }
        return reply;
    }

    let chunk = |choices: Value| -> Value {
        let mut c = json!({"id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model, "system_fingerprint": FINGERPRINT, "choices": choices});
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let mut events: Vec<Value> = Vec::new();
    if let Some(err) = &b.error_event {
        return sse_reply(vec![json!({"error": err})], false, b, opts);
    }
    let mut completion_tokens = 0u64;
    for i in 0..n {
        match &tool_calls {
            Some(calls) => {
                for (ci, (name, args)) in calls.iter().enumerate() {
                    events.push(chunk(json!([{"index": i, "delta": {"role": "assistant", "content": null, "tool_calls": [{"index": ci, "id": format!("call_mock_{ci}"), "type": "function", "function": {"name": name, "arguments": ""}}]}, "logprobs": null, "finish_reason": null}])));
                    for frag in split_even(args, chunks) {
                        events.push(chunk(json!([{"index": i, "delta": {"tool_calls": [{"index": ci, "function": {"arguments": frag}}]}, "logprobs": null, "finish_reason": null}])));
                    }
                    completion_tokens += 8;
                }
                events.push(chunk(json!([{"index": i, "delta": {}, "logprobs": null, "finish_reason": "tool_calls"}])));
            }
            None => {
                events.push(chunk(json!([{"index": i, "delta": {"role": "assistant", "content": "", "refusal": null}, "logprobs": null, "finish_reason": null}])));
                for t in &texts {
                    events.push(chunk(json!([{"index": i, "delta": {"content": t}, "logprobs": null, "finish_reason": null}])));
                }
                completion_tokens += texts.len() as u64;
                events.push(chunk(
                    json!([{"index": i, "delta": {}, "logprobs": null, "finish_reason": "stop"}]),
                ));
            }
        }
    }
    if include_usage {
        let mut u = chunk(json!([]));
        u["usage"] = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens,
                            "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}});
        events.push(u);
    }
    sse_reply(events, true, b, opts)
}

/// The tool calls the mock makes: the first tool (or the one `tool_choice` names), plus the
/// second when the user asks for "parallel" calls.
fn planned_tool_calls(
    body: &Value,
    last_role: &str,
    last_text: &str,
) -> Option<Vec<(String, String)>> {
    let tools = body
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())?;
    if last_role != "user" || body.get("tool_choice").and_then(Value::as_str) == Some("none") {
        return None;
    }
    let name_of = |t: &Value| {
        t.pointer("/function/name")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let args = serde_json::to_string(&json!({"input": last_text})).unwrap_or_default();
    if let Some(forced) = body
        .pointer("/tool_choice/function/name")
        .and_then(Value::as_str)
    {
        return Some(vec![(forced.to_owned(), args)]);
    }
    let mut calls = vec![(name_of(&tools[0])?, args.clone())];
    if last_text.contains("parallel") {
        if let Some(second) = tools.get(1).and_then(name_of) {
            calls.push((second, args));
        }
    }
    Some(calls)
}

fn sse_reply(events: Vec<Value>, done: bool, b: &Behaviour, opts: &MockOptions) -> Reply {
    let mut pieces: Vec<Bytes> = events
        .iter()
        .map(|e| {
            Bytes::from(format!(
                "data: {}\n\n",
                serde_json::to_string(e).unwrap_or_default()
            ))
        })
        .collect();
    if b.malformed {
        pieces.insert(pieces.len().min(1), Bytes::from_static(b"data: {oops\n\n"));
    }
    if done && !b.omit_done {
        pieces.push(Bytes::from_static(b"data: [DONE]\n\n"));
    }
    Reply::event_stream(pieces, b, opts)
}

pub(crate) fn completions(body: &Value, model: &str, b: &Behaviour, opts: &MockOptions) -> Reply {
    let prompt = match body.get("prompt") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => {
            return error(
                400,
                "Missing required parameter: 'prompt'.",
                "invalid_request_error",
                Some("prompt"),
                Some("missing_required_parameter"),
            )
        }
    };
    let texts = pieces(&prompt, b.chunks.unwrap_or(opts.chunks).max(1));
    let prompt_tokens = count_tokens(&prompt);
    let completion_tokens = texts.len() as u64;
    let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens});
    if body.get("stream").and_then(Value::as_bool).unwrap_or(false) {
        let mut events: Vec<Value> = texts
            .iter()
            .map(|t| json!({"id": "cmpl-mock", "object": "text_completion", "created": CREATED, "model": model, "choices": [{"text": t, "index": 0, "logprobs": null, "finish_reason": null}]}))
            .collect();
        events.push(json!({"id": "cmpl-mock", "object": "text_completion", "created": CREATED, "model": model, "choices": [{"text": "", "index": 0, "logprobs": null, "finish_reason": "stop"}]}));
        if body
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true)
        {
            events.push(json!({"id": "cmpl-mock", "object": "text_completion", "created": CREATED, "model": model, "choices": [], "usage": usage}));
        }
        return sse_reply(events, true, b, opts);
    }
    let resp = json!({
        "id": "cmpl-mock", "object": "text_completion", "created": CREATED, "model": model,
        "choices": [{"text": texts.concat(), "index": 0, "logprobs": null, "finish_reason": "stop"}],
        "usage": usage,
    });
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

pub(crate) fn embeddings(body: &Value, model: &str, opts: &MockOptions) -> Reply {
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => {
            return error(
                400,
                "'input' is a required property",
                "invalid_request_error",
                Some("input"),
                None,
            )
        }
    };
    let dims = body
        .get("dimensions")
        .and_then(Value::as_u64)
        .map_or(opts.dimensions, |d| d as usize)
        .clamp(1, 8192);
    let base64_format = body.get("encoding_format").and_then(Value::as_str) == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v = embedding(text, dims);
            let emb = if base64_format {
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                Value::String(base64(&bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": emb})
        })
        .collect();
    let tokens: u64 = inputs.iter().map(|t| count_tokens(t)).sum();
    let resp = json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_pieces(opts: &MockOptions) -> Vec<Bytes> {
        let body = json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
        match chat(&body, "gpt-4o-mini", &Behaviour::default(), opts) {
            Reply::Stream { pieces, .. } => pieces,
            Reply::Body { .. } => panic!("expected a stream"),
        }
    }

    #[test]
    fn stamp_puts_a_send_time_placeholder_in_every_content_delta() {
        let opts = MockOptions {
            stamp: true,
            chunks: 4,
            ..MockOptions::default()
        };
        let pieces = stream_pieces(&opts);
        // Role chunk, 4 content chunks, finish chunk, [DONE].
        assert_eq!(pieces.len(), 7);
        let stamped: Vec<&Bytes> = pieces
            .iter()
            .filter(|p| crate::wire::stamp_piece(p, 1).is_some())
            .collect();
        assert_eq!(stamped.len(), 4);
        for p in stamped {
            let line = std::str::from_utf8(p).unwrap();
            let v: Value = serde_json::from_str(line.trim().trim_start_matches("data: ")).unwrap();
            assert_eq!(
                v["choices"][0]["delta"]["content"],
                crate::wire::STAMP_PLACEHOLDER
            );
        }
        // Without the option the text is the usual echo.
        let plain = stream_pieces(&MockOptions::default());
        assert!(plain
            .iter()
            .all(|p| crate::wire::stamp_piece(p, 1).is_none()));
        assert!(std::str::from_utf8(&plain[1])
            .unwrap()
            .contains("You said: hi"));
    }
}

//! Google's `generateContent` wire format, as Gemini (AI Studio) and Vertex AI serve it:
//!
//! - Gemini: `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
//!   `:batchEmbedContents`; key in `x-goog-api-key` (or `?key=`).
//! - Vertex AI: `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:…`
//!   with `:predict` for embeddings; an OAuth token as `Authorization: Bearer`.
//!
//! Requests are validated like the real API does (unknown fields, roles, part shapes, schema
//! keys Gemini's OpenAPI subset lacks), and errors use Google's shape
//! `{"error":{"code","message","status"}}` — wrapped in an array for Vertex AI streams.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::reply::{count_tokens, embedding, pieces};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

/// Gemini's and Vertex AI's format.
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "gemini",
    matches: |req| req.path.starts_with("/v1beta/") || req.path.contains("/publishers/google/"),
    handle,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Studio,
    Vertex,
}

fn error_value(status: u16, message: &str, code: &str) -> Value {
    json!({"error": {"code": status, "message": message, "status": code}})
}

/// A Google error response.
fn error(status: u16, message: &str, code: &str) -> Reply {
    Reply::json(
        status,
        serde_json::to_vec(&error_value(status, message, code)).unwrap_or_default(),
    )
}

fn invalid(message: impl AsRef<str>) -> Reply {
    error(400, message.as_ref(), "INVALID_ARGUMENT")
}

fn scripted_error(status: u16) -> Value {
    match status {
        429 => json!({"error": {"code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details. (mock)",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}}),
        401 => error_value(
            401,
            "Request had invalid authentication credentials. (mock)",
            "UNAUTHENTICATED",
        ),
        403 => error_value(
            403,
            "The caller does not have permission (mock)",
            "PERMISSION_DENIED",
        ),
        404 => error_value(
            404,
            "models/x is not found for API version v1beta (mock)",
            "NOT_FOUND",
        ),
        400..=499 => error_value(
            status,
            "Request contains an invalid argument. (mock)",
            "INVALID_ARGUMENT",
        ),
        503 => error_value(
            503,
            "The model is overloaded. Please try again later. (mock)",
            "UNAVAILABLE",
        ),
        504 => error_value(
            504,
            "Deadline expired before operation could complete. (mock)",
            "DEADLINE_EXCEEDED",
        ),
        _ => error_value(status, "An internal error has occurred. (mock)", "INTERNAL"),
    }
}

/// Splits a path into flavor, model and method.
fn route_of(path: &str) -> Option<(Flavor, &str, &str)> {
    let (flavor, rest) = if let Some(r) = path.strip_prefix("/v1beta/models/") {
        (Flavor::Studio, r)
    } else {
        let r = path.strip_prefix("/v1/projects/")?;
        let mut seg = r.splitn(6, '/');
        let (_project, locations, _location, publishers, google, rest) = (
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
            seg.next()?,
        );
        if (locations, publishers, google) != ("locations", "publishers", "google") {
            return None;
        }
        (Flavor::Vertex, rest.strip_prefix("models/")?)
    };
    let (model, method) = rest.split_once(':')?;
    (!model.is_empty() && !model.contains('/')).then_some((flavor, model, method))
}

/// Handles one provider request.
pub fn handle(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let extra: Vec<(String, String)> = b
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    route(req, b, opts).with_headers(
        [("x-request-id".to_owned(), format!("req_mock_{}", req.seq))]
            .into_iter()
            .chain(extra),
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let Some((flavor, model, method)) = route_of(&req.path) else {
        return error(
            404,
            &format!(
                "The requested URL {} was not found on this server.",
                req.path
            ),
            "NOT_FOUND",
        );
    };
    let stream = method == "streamGenerateContent";
    let wrap = flavor == Flavor::Vertex && stream;
    let fail = |r: Reply| if wrap { wrap_array(r) } else { r };
    if req.method != "POST" {
        return fail(error(
            405,
            &format!("Method {} is not allowed here.", req.method),
            "METHOD_NOT_ALLOWED",
        ));
    }
    if let Some(r) = check_auth(req, flavor, opts) {
        return fail(r);
    }
    let known = match flavor {
        Flavor::Studio => [
            "generateContent",
            "streamGenerateContent",
            "batchEmbedContents",
        ]
        .contains(&method),
        Flavor::Vertex => ["generateContent", "streamGenerateContent", "predict"].contains(&method),
    };
    if !known {
        return fail(error(
            404,
            &format!("Method `{method}` is not found for this model."),
            "NOT_FOUND",
        ));
    }
    let body: Map<String, Value> = match serde_json::from_slice(&req.body) {
        Ok(Value::Object(m)) => m,
        _ => return fail(invalid("Invalid JSON payload received. Unexpected token.")),
    };
    if stream && !query_has(req, "alt", "sse") {
        return fail(invalid(
            "this mock serves streamGenerateContent only as server-sent events (alt=sse)",
        ));
    }
    let checked = match method {
        "batchEmbedContents" => check_batch_embed(&body, model),
        "predict" => check_predict(&body),
        _ => check_generate(&body, flavor),
    };
    if let Err(message) = checked {
        return fail(invalid(message));
    }
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        let v = b.body.clone().unwrap_or_else(|| scripted_error(status));
        let v = if wrap && b.body.is_none() {
            json!([v])
        } else {
            v
        };
        return Reply::json(status, raw_body(&v));
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    match method {
        "batchEmbedContents" => batch_embed(&body, opts),
        "predict" => predict(&body, opts),
        _ => generate(&body, model, stream, b, opts),
    }
}

fn wrap_array(r: Reply) -> Reply {
    match r {
        Reply::Body { status, body, .. } => {
            let mut out = Vec::with_capacity(body.len() + 2);
            out.push(b'[');
            out.extend_from_slice(&body);
            out.push(b']');
            Reply::json(status, out)
        }
        other => other,
    }
}

fn raw_body(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        other => serde_json::to_vec(other).unwrap_or_default(),
    }
}

fn query_has(req: &Incoming, key: &str, value: &str) -> bool {
    query_value(req, key).as_deref() == Some(value)
}

fn query_value(req: &Incoming, key: &str) -> Option<String> {
    req.query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

fn check_auth(req: &Incoming, flavor: Flavor, opts: &MockOptions) -> Option<Reply> {
    let want = opts.api_key.as_deref();
    match flavor {
        Flavor::Studio => {
            let got = req.header("x-goog-api-key").map(str::to_owned).or_else(|| query_value(req, "key"));
            match got {
                None => Some(error(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "PERMISSION_DENIED")),
                Some(k) if want.is_none_or(|w| w == k) => None,
                Some(_) => Some(invalid("API key not valid. Please pass a valid API key.")),
            }
        }
        Flavor::Vertex => match req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
            None => Some(error(401, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")),
            Some(t) if want.is_none_or(|w| w == t) => None,
            Some(_) => Some(error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "UNAUTHENTICATED")),
        },
    }
}

fn unknown(name: &str, at: &str) -> String {
    if at.is_empty() {
        format!("Invalid JSON payload received. Unknown name \"{name}\": Cannot find field.")
    } else {
        format!(
            "Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."
        )
    }
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unknown(k, at)),
        None => Ok(()),
    }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("Invalid JSON payload received. Expected an object at '{at}'."))
}

const TOP_LEVEL: &[&str] = &[
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "safetySettings",
    "generationConfig",
    "cachedContent",
];

const GENERATION_CONFIG: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "responseModalities",
    "mediaResolution",
];

const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "thought",
    "thoughtSignature",
    "executableCode",
    "codeExecutionResult",
];

/// The keys of Gemini's `Schema` (an OpenAPI 3.0 subset).
const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

fn check_generate(body: &Map<String, Value>, flavor: Flavor) -> Result<(), String> {
    let mut top = TOP_LEVEL.to_vec();
    if flavor == Flavor::Vertex {
        top.push("labels");
    }
    only_keys(body, &top, "")?;
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or("* GenerateContentRequest.contents: contents is not specified\n")?;
    for (i, c) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        let c = object(c, &at)?;
        only_keys(c, &["role", "parts"], &at)?;
        match c.get("role").and_then(Value::as_str) {
            Some("user" | "model") => {}
            None if flavor == Flavor::Studio => {}
            _ => return Err("Please use a valid role: user, model.".into()),
        }
        check_parts(c.get("parts"), &at)?;
    }
    if let Some(s) = body.get("systemInstruction") {
        let s = object(s, "system_instruction")?;
        only_keys(s, &["role", "parts"], "system_instruction")?;
        check_parts(s.get("parts"), "system_instruction")?;
    }
    if let Some(g) = body.get("generationConfig") {
        let g = object(g, "generation_config")?;
        only_keys(g, GENERATION_CONFIG, "generation_config")?;
        if g.get("candidateCount")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 8)
        {
            return Err(
                "* GenerateContentRequest.generation_config.candidate_count: must be at most 8\n"
                    .into(),
            );
        }
        if g.get("stopSequences")
            .and_then(Value::as_array)
            .is_some_and(|s| s.len() > 5)
        {
            return Err("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed\n".into());
        }
        if let Some(s) = g.get("responseSchema") {
            if g.get("responseMimeType").and_then(Value::as_str) != Some("application/json") {
                return Err("* GenerateContentRequest.generation_config.response_mime_type: must be application/json when response_schema is set\n".into());
            }
            check_schema(s, "generation_config.response_schema")?;
        }
    }
    if let Some(tools) = body.get("tools") {
        let tools = tools
            .as_array()
            .ok_or("Invalid JSON payload received. 'tools' must be a list.")?;
        for (i, t) in tools.iter().enumerate() {
            let at = format!("tools[{i}]");
            let t = object(t, &at)?;
            only_keys(
                t,
                &[
                    "functionDeclarations",
                    "googleSearch",
                    "codeExecution",
                    "urlContext",
                ],
                &at,
            )?;
            for (k, d) in t
                .get("functionDeclarations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let at = format!("tools[{i}].function_declarations[{k}]");
                let d = object(d, &at)?;
                only_keys(
                    d,
                    &[
                        "name",
                        "description",
                        "parameters",
                        "parametersJsonSchema",
                        "response",
                        "behavior",
                    ],
                    &at,
                )?;
                let name = d.get("name").and_then(Value::as_str).unwrap_or("");
                let valid = !name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':'));
                if !valid {
                    return Err(format!("* GenerateContentRequest.{at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:) or dashes (-), with a maximum length of 64.\n"));
                }
                if let Some(p) = d.get("parameters") {
                    check_schema(p, &format!("{at}.parameters"))?;
                    if p.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case("object"))
                        && p.get("properties")
                            .and_then(Value::as_object)
                            .is_none_or(Map::is_empty)
                    {
                        return Err(format!("* GenerateContentRequest.{at}.parameters.properties: should be non-empty for OBJECT type\n"));
                    }
                }
            }
        }
    }
    if let Some(tc) = body.get("toolConfig") {
        let tc = object(tc, "tool_config")?;
        only_keys(tc, &["functionCallingConfig"], "tool_config")?;
        if let Some(f) = tc.get("functionCallingConfig") {
            let f = object(f, "tool_config.function_calling_config")?;
            only_keys(
                f,
                &["mode", "allowedFunctionNames"],
                "tool_config.function_calling_config",
            )?;
            let mode = f.get("mode").and_then(Value::as_str).unwrap_or("AUTO");
            if !["AUTO", "ANY", "NONE", "VALIDATED"].contains(&mode) {
                return Err(format!(
                    "Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\""
                ));
            }
            if f.contains_key("allowedFunctionNames") && mode != "ANY" && mode != "VALIDATED" {
                return Err("* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY\n".into());
            }
        }
    }
    Ok(())
}

fn check_parts(parts: Option<&Value>, at: &str) -> Result<(), String> {
    let parts = parts
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            format!("* GenerateContentRequest.{at}.parts: contents.parts must not be empty.\n")
        })?;
    for (j, p) in parts.iter().enumerate() {
        let at = format!("{at}.parts[{j}]");
        let p = object(p, &at)?;
        only_keys(p, PART, &at)?;
        let data = [
            "text",
            "inlineData",
            "fileData",
            "functionCall",
            "functionResponse",
            "executableCode",
            "codeExecutionResult",
        ];
        let n = data.iter().filter(|k| p.contains_key(**k)).count();
        if n != 1 {
            return Err(format!("* GenerateContentRequest.{at}.data: required oneof field 'data' must have one initialized field\n"));
        }
        if let Some(d) = p.get("inlineData") {
            let d = object(d, &at)?;
            only_keys(d, &["mimeType", "data"], &format!("{at}.inline_data"))?;
            let mime_ok = d
                .get("mimeType")
                .and_then(Value::as_str)
                .is_some_and(|m| m.contains('/'));
            let data_ok = d.get("data").and_then(Value::as_str).is_some_and(|s| {
                s.bytes().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_')
                })
            });
            if !mime_ok || !data_ok {
                return Err(format!(
                    "Invalid value at '{at}.inline_data' (mimeType and base64 data required)"
                ));
            }
        }
        if let Some(f) = p.get("functionCall") {
            let f = object(f, &at)?;
            only_keys(f, &["id", "name", "args"], &format!("{at}.function_call"))?;
            if !f.get("name").is_some_and(Value::is_string)
                || !f.get("args").is_none_or(Value::is_object)
            {
                return Err(format!("Invalid value at '{at}.function_call'"));
            }
        }
        if let Some(f) = p.get("functionResponse") {
            let f = object(f, &at)?;
            only_keys(
                f,
                &["id", "name", "response"],
                &format!("{at}.function_response"),
            )?;
            if !f.get("name").is_some_and(Value::is_string)
                || !f.get("response").is_some_and(Value::is_object)
            {
                return Err(format!("Invalid value at '{at}.function_response' (name and an object response required)"));
            }
        }
    }
    Ok(())
}

fn check_schema(s: &Value, at: &str) -> Result<(), String> {
    let obj = object(s, at)?;
    only_keys(obj, SCHEMA, at)?;
    if obj.get("type").is_some_and(|t| !t.is_string()) {
        return Err(format!("Invalid value at '{at}.type' (a single type name)"));
    }
    if let Some(p) = obj.get("properties") {
        for (name, sub) in object(p, at)? {
            check_schema(sub, &format!("{at}.properties[{name}].value"))?;
        }
    }
    if let Some(i) = obj.get("items") {
        check_schema(i, &format!("{at}.items"))?;
    }
    for (k, sub) in obj
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check_schema(sub, &format!("{at}.any_of[{k}]"))?;
    }
    Ok(())
}

/// Text of a content's parts: text joined, function responses shown as JSON.
fn content_text(c: &Value) -> (String, bool) {
    let mut text = Vec::new();
    let mut tool_result = false;
    for p in c
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = p.get("text").and_then(Value::as_str) {
            text.push(t.to_owned());
        }
        if let Some(r) = p.get("functionResponse") {
            tool_result = true;
            let out = r.pointer("/response/output").unwrap_or(&r["response"]);
            text.push(match out {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
    }
    (text.join(" "), tool_result)
}

fn generate(
    body: &Map<String, Value>,
    model: &str,
    stream: bool,
    b: &Behaviour,
    opts: &MockOptions,
) -> Reply {
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let prompt_tokens: u64 = contents
        .iter()
        .chain(body.get("systemInstruction"))
        .map(|c| count_tokens(&content_text(c).0))
        .sum();
    let last = contents.last().cloned().unwrap_or(Value::Null);
    let (last_text, tool_result) = content_text(&last);
    let answer = if tool_result {
        format!("Tool said: {last_text}")
    } else {
        last_text.clone()
    };
    let config = body.get("generationConfig").cloned().unwrap_or(Value::Null);
    let mut texts = pieces(&answer, b.chunks.unwrap_or(opts.chunks).max(1));
    let mut finish = "STOP";
    if let Some(max) = config.get("maxOutputTokens").and_then(Value::as_u64) {
        if (texts.len() as u64) > max {
            texts.truncate(max.max(1) as usize);
            finish = "MAX_TOKENS";
        }
    }
    let calls = planned_calls(body, &last, tool_result, &last_text);
    let candidates = config
        .get("candidateCount")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 8);
    let completion_tokens = match &calls {
        Some(c) => 8 * c.len() as u64,
        None => texts.len() as u64,
    };
    let usage = json!({"promptTokenCount": prompt_tokens, "candidatesTokenCount": completion_tokens,
                       "totalTokenCount": prompt_tokens + completion_tokens});
    let call_parts = |c: &Vec<(String, Value)>| -> Vec<Value> {
        c.iter()
            .map(|(name, args)| json!({"functionCall": {"name": name, "args": args}}))
            .collect()
    };

    if !stream {
        if b.malformed {
            return Reply::json(
                200,
                br#"{"candidates":[{"content":{"parts":[{"text":"#.to_vec(),
            );
        }
        let parts = match &calls {
            Some(c) => call_parts(c),
            None => vec![json!({"text": texts.concat()})],
        };
        let cands: Vec<Value> = (0..candidates)
            .map(|i| json!({"content": {"parts": parts, "role": "model"}, "finishReason": finish, "index": i}))
            .collect();
        let resp = json!({"candidates": cands, "usageMetadata": usage, "modelVersion": model, "responseId": "mock-response"});
        let mut reply = Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default());
        if b.reset_after_chunks.is_some() {
            if let Reply::Body { cut, .. } = &mut reply {
                *cut = true;
            }
        }
        return reply;
    }

    if let Some(err) = &b.error_event {
        return sse(vec![json!({"error": err})], b, opts);
    }
    let event = |parts: Vec<Value>, finish: Option<&str>, usage: &Value| -> Value {
        let mut c = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
        if let Some(f) = finish {
            c["finishReason"] = json!(f);
        }
        json!({"candidates": [c], "usageMetadata": usage, "modelVersion": model, "responseId": "mock-response"})
    };
    let partial = json!({"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens});
    let events = match &calls {
        Some(c) => vec![event(call_parts(c), Some("STOP"), &usage)],
        None => {
            let n = texts.len();
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let last = i + 1 == n;
                    event(
                        vec![json!({"text": t})],
                        last.then_some(finish),
                        if last { &usage } else { &partial },
                    )
                })
                .collect()
        }
    };
    sse(events, b, opts)
}

/// The function calls the mock makes: the allowed (or first) function, plus the second when
/// the user asks for "parallel" calls.
fn planned_calls(
    body: &Map<String, Value>,
    last: &Value,
    tool_result: bool,
    text: &str,
) -> Option<Vec<(String, Value)>> {
    if tool_result || last.get("role").and_then(Value::as_str) == Some("model") {
        return None;
    }
    let decls: Vec<&str> = body
        .get("tools")?
        .as_array()?
        .iter()
        .filter_map(|t| t.get("functionDeclarations")?.as_array())
        .flatten()
        .filter_map(|d| d.get("name")?.as_str())
        .collect();
    if decls.is_empty() {
        return None;
    }
    let config = body
        .get("toolConfig")
        .and_then(|t| t.get("functionCallingConfig"));
    let mode = config
        .and_then(|c| c.get("mode"))
        .and_then(Value::as_str)
        .unwrap_or("AUTO");
    if mode == "NONE" {
        return None;
    }
    let args = json!({"input": text});
    if let Some(forced) = config
        .and_then(|c| c.get("allowedFunctionNames"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
    {
        return Some(vec![(forced.to_owned(), args)]);
    }
    let mut calls = vec![(decls[0].to_owned(), args.clone())];
    if text.contains("parallel") {
        if let Some(second) = decls.get(1) {
            calls.push(((*second).to_owned(), args));
        }
    }
    Some(calls)
}

/// Gemini frames SSE events with CRLF line endings.
fn sse(events: Vec<Value>, b: &Behaviour, opts: &MockOptions) -> Reply {
    let mut pieces: Vec<Bytes> = events
        .iter()
        .map(|e| {
            Bytes::from(format!(
                "data: {}\r\n\r\n",
                serde_json::to_string(e).unwrap_or_default()
            ))
        })
        .collect();
    if b.malformed {
        pieces.insert(
            pieces.len().min(1),
            Bytes::from_static(b"data: {oops\r\n\r\n"),
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

fn dims(v: Option<&Value>, opts: &MockOptions) -> usize {
    v.and_then(Value::as_u64)
        .map_or(opts.dimensions, |d| d as usize)
        .clamp(1, 8192)
}

fn check_batch_embed(body: &Map<String, Value>, model: &str) -> Result<(), String> {
    only_keys(body, &["requests"], "")?;
    let reqs = body
        .get("requests")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or("* BatchEmbedContentsRequest.requests: requests is not specified\n")?;
    for (i, r) in reqs.iter().enumerate() {
        let at = format!("requests[{i}]");
        let r = object(r, &at)?;
        only_keys(
            r,
            &[
                "model",
                "content",
                "taskType",
                "title",
                "outputDimensionality",
            ],
            &at,
        )?;
        if r.get("model").and_then(Value::as_str) != Some(&format!("models/{model}")) {
            return Err(format!("* BatchEmbedContentsRequest.{at}.model: the model must be `models/{model}`, as in the URL\n"));
        }
        let content = r.get("content").ok_or(format!(
            "* BatchEmbedContentsRequest.{at}.content: content is not specified\n"
        ))?;
        let content = object(content, &at)?;
        check_parts(content.get("parts"), &format!("{at}.content"))?;
    }
    Ok(())
}

fn batch_embed(body: &Map<String, Value>, opts: &MockOptions) -> Reply {
    let out: Vec<Value> = body
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let (text, _) = content_text(&r["content"]);
            json!({"values": embedding(&text, dims(r.get("outputDimensionality"), opts))})
        })
        .collect();
    Reply::json(
        200,
        serde_json::to_vec(&json!({"embeddings": out})).unwrap_or_default(),
    )
}

fn check_predict(body: &Map<String, Value>) -> Result<(), String> {
    only_keys(body, &["instances", "parameters"], "")?;
    let instances = body
        .get("instances")
        .and_then(Value::as_array)
        .filter(|i| !i.is_empty())
        .ok_or("instances must be a non-empty list")?;
    for (i, inst) in instances.iter().enumerate() {
        let at = format!("instances[{i}]");
        let inst = object(inst, &at)?;
        only_keys(inst, &["content", "task_type", "title"], &at)?;
        if !inst.get("content").is_some_and(Value::is_string) {
            return Err(format!("{at}.content must be a string"));
        }
    }
    if let Some(p) = body.get("parameters") {
        only_keys(
            object(p, "parameters")?,
            &["outputDimensionality", "autoTruncate"],
            "parameters",
        )?;
    }
    Ok(())
}

fn predict(body: &Map<String, Value>, opts: &MockOptions) -> Reply {
    let d = dims(
        body.get("parameters")
            .and_then(|p| p.get("outputDimensionality")),
        opts,
    );
    let mut chars = 0usize;
    let predictions: Vec<Value> = body
        .get("instances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            let text = i["content"].as_str().unwrap_or("");
            chars += text.chars().count();
            json!({"embeddings": {"statistics": {"truncated": false, "token_count": count_tokens(text)}, "values": embedding(text, d)}})
        })
        .collect();
    let resp = json!({"predictions": predictions, "metadata": {"billableCharacterCount": chars}});
    Reply::json(200, serde_json::to_vec(&resp).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_both_flavors_are_understood() {
        assert!(
            route_of("/v1beta/models/gemini-2.0-flash:generateContent")
                .is_some_and(|(f, m, x)| f == Flavor::Studio
                    && m == "gemini-2.0-flash"
                    && x == "generateContent")
        );
        assert!(route_of("/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent")
            .is_some_and(|(f, m, x)| f == Flavor::Vertex && m == "gemini-2.5-pro" && x == "streamGenerateContent"));
        assert!(route_of("/v1/projects/p/locations/l/publishers/meta/models/x:predict").is_none());
        assert!(route_of("/v1beta/models/:generateContent").is_none());
    }

    #[test]
    fn schemas_outside_gemini_subset_are_refused() {
        let body: Map<String, Value> = serde_json::from_value(json!({
            "contents": [{"role": "user", "parts": [{"text": "x"}]}],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false}}]}]
        }))
        .unwrap();
        let e = check_generate(&body, Flavor::Studio).unwrap_err();
        assert!(e.contains("Unknown name \"additionalProperties\" at 'tools[0].function_declarations[0].parameters'"), "{e}");
        let body: Map<String, Value> =
            serde_json::from_value(json!({"contents": [{"parts": [{"text": "x"}]}], "extra": 1}))
                .unwrap();
        assert!(check_generate(&body, Flavor::Studio)
            .unwrap_err()
            .contains("\"extra\""));
        let body: Map<String, Value> =
            serde_json::from_value(json!({"contents": [{"parts": [{"text": "x"}]}]})).unwrap();
        assert!(check_generate(&body, Flavor::Studio).is_ok());
        assert!(check_generate(&body, Flavor::Vertex)
            .unwrap_err()
            .contains("role"));
    }
}

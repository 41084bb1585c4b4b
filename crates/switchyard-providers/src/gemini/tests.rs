//! Golden tests from documented examples (`tests/fixtures/gemini/`), chunk-boundary tests and
//! properties.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::embed::EmbeddingsAnswer;
use super::response::{ChatAnswer, StreamTranslator};
use super::*;
use crate::dialect::Verdict;
use crate::envelope::JsonEnvelope;
use crate::secret::Secret;
use crate::sse::SseFramer;
use crate::translator::{Buffered, Streamed};

const CHAT_TEXT: &str = include_str!("../../tests/fixtures/gemini/chat_text.json");
const CHAT_CALLS: &str = include_str!("../../tests/fixtures/gemini/chat_function_call.json");
const STREAM_TEXT: &str = include_str!("../../tests/fixtures/gemini/stream_text.sse");
const STREAM_TOOL: &str = include_str!("../../tests/fixtures/gemini/stream_tool.sse");
const ERROR_429: &str = include_str!("../../tests/fixtures/gemini/error_429.json");
const BLOCKED: &str = include_str!("../../tests/fixtures/gemini/prompt_blocked.json");

fn provider(kind: ProviderKind) -> ProviderEndpoint {
    ProviderEndpoint {
        name: "g1".into(),
        kind,
        authority: "generativelanguage.googleapis.com".into(),
        base_path: match kind {
            ProviderKind::VertexAi => {
                "/v1/projects/p/locations/us-central1/publishers/google".into()
            }
            _ => "/v1beta".into(),
        },
        api_key: Secret::new("AIza-test"),
        headers: vec![],
        stream_usage: false,
        auth: kind.info().auth,
        options: Default::default(),
    }
}

fn env(s: &str) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

fn call<'a>(body: &'a JsonEnvelope, stream: bool, endpoint: Endpoint) -> Call<'a> {
    Call {
        form: None,
        endpoint,
        body,
        model: "gemini-2.0-flash",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

/// Feeds `input` split at `splits` and returns the output bytes.
fn translate(t: &mut dyn ResponseTranslator, input: &[u8], splits: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last = 0;
    for &at in splits.iter().chain(std::iter::once(&input.len())) {
        let at = at.clamp(last, input.len());
        t.push(Bytes::copy_from_slice(&input[last..at]), &mut out)
            .unwrap();
        last = at;
    }
    t.finish(&mut out).unwrap();
    out.concat()
}

fn events(sse: &[u8]) -> Vec<Value> {
    let mut f = SseFramer::new();
    f.push(sse).unwrap();
    let mut v = Vec::new();
    while let Some(e) = f.next_event().unwrap() {
        v.push(if e.is_done() {
            json!("[DONE]")
        } else {
            serde_json::from_slice(&e.data).unwrap()
        });
    }
    v
}

fn stream_translator(include_usage: bool) -> Streamed<StreamTranslator> {
    Streamed(StreamTranslator::new(
        "g1",
        "gemini-2.0-flash",
        1_700_000_000,
        include_usage,
    ))
}

#[test]
fn requests_go_to_the_right_path_with_the_right_auth() {
    let body = env(r#"{"model":"x","messages":[{"role":"user","content":"hi"}]}"#);
    let g = provider(ProviderKind::Gemini);
    let req = Gemini
        .build_request(&g, &call(&body, false, Endpoint::ChatCompletions))
        .unwrap();
    assert_eq!(req.path, "/v1beta/models/gemini-2.0-flash:generateContent");
    assert_eq!(req.method, "POST");
    let key = req
        .headers
        .iter()
        .find(|(n, _)| n == "x-goog-api-key")
        .unwrap();
    assert_eq!(key.1, "AIza-test");
    assert!(!format!("{:?}", req.headers).contains("AIza-test"));
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        v,
        json!({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})
    );

    let vx = provider(ProviderKind::VertexAi);
    let req = Gemini
        .build_request(&vx, &call(&body, true, Endpoint::ChatCompletions))
        .unwrap();
    assert_eq!(
        req.path,
        "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    let auth = req
        .headers
        .iter()
        .find(|(n, _)| n == AUTHORIZATION)
        .unwrap();
    assert_eq!(auth.1, "Bearer AIza-test");

    let emb = env(r#"{"model":"e","input":"a"}"#);
    let req = Gemini
        .build_request(&vx, &call(&emb, false, Endpoint::Embeddings))
        .unwrap();
    assert!(req.path.ends_with("/models/gemini-2.0-flash:predict"));
    let req = Gemini
        .build_request(&g, &call(&emb, false, Endpoint::Embeddings))
        .unwrap();
    assert!(req
        .path
        .ends_with("/models/gemini-2.0-flash:batchEmbedContents"));
}

#[test]
fn other_endpoints_and_bad_models_are_refused() {
    let body = env(r#"{"model":"x","prompt":"hi"}"#);
    let e = Gemini
        .build_request(
            &provider(ProviderKind::Gemini),
            &call(&body, false, Endpoint::Completions),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "provider kind `gemini` does not serve completions"
    );
    let body = env(r#"{"model":"x","messages":[{"role":"user","content":"hi"}]}"#);
    let mut c = call(&body, false, Endpoint::ChatCompletions);
    c.model = "../evil?x";
    assert!(Gemini
        .build_request(&provider(ProviderKind::Gemini), &c)
        .is_err());
    c.model = "models/gemini-2.5-pro";
    let req = Gemini
        .build_request(&provider(ProviderKind::Gemini), &c)
        .unwrap();
    assert!(req.path.ends_with("/models/gemini-2.5-pro:generateContent"));
}

#[test]
fn golden_text_answer() {
    let mut t = Buffered::new(ChatAnswer::new("g1", "gemini-2.0-flash", 1_700_000_000));
    let out = translate(&mut t, CHAT_TEXT.as_bytes(), &[10, 200]);
    assert_eq!(t.verdict(), Verdict::Healthy);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "chatcmpl-R5sqaJaWNrPYj8MPjK2X2Q4",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gemini-2.0-flash",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "The capital city of Brazil is Brasília.\n", "refusal": null},
                "finish_reason": "stop",
                "logprobs": null
            }],
            "usage": {"prompt_tokens": 14, "completion_tokens": 9, "total_tokens": 23}
        })
    );
    assert_eq!(t.usage().unwrap().total_tokens, 23);
}

#[test]
fn golden_function_calls() {
    let mut t = Buffered::new(ChatAnswer::new("g1", "gemini-2.5-flash", 0));
    let v: Value = serde_json::from_slice(&translate(&mut t, CHAT_CALLS.as_bytes(), &[])).unwrap();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([
            {"id": "call_0", "type": "function", "function": {"name": "get_current_temperature", "arguments": "{\"location\":\"London\"}"}},
            {"id": "call_1", "type": "function", "function": {"name": "get_current_temperature", "arguments": "{\"location\":\"Paris\"}"}}
        ])
    );
    // Thinking tokens count as completion tokens; cached tokens are reported.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 68, "completion_tokens": 82, "total_tokens": 150, "prompt_tokens_details": {"cached_tokens": 32}})
    );
}

#[test]
fn finish_reasons_map_to_openai() {
    for (gemini, openai) in [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("OTHER", "stop"),
    ] {
        let body = format!(
            r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}],"role":"model"}},"finishReason":"{gemini}"}}]}}"#
        );
        let mut t = Buffered::new(ChatAnswer::new("g1", "m", 0));
        let v: Value = serde_json::from_slice(&translate(&mut t, body.as_bytes(), &[])).unwrap();
        assert_eq!(v["choices"][0]["finish_reason"], openai, "{gemini}");
    }
}

#[test]
fn a_blocked_prompt_is_a_400_content_filter() {
    let mut t = Buffered::new(ChatAnswer::new("g1", "m", 0));
    let out = translate(&mut t, BLOCKED.as_bytes(), &[]);
    assert!(out.is_empty());
    match t.verdict() {
        Verdict::Failed { status, error } => {
            assert_eq!(status, 400);
            assert_eq!(error.code.as_deref(), Some("content_filter"));
            assert!(error.message.contains("SAFETY"));
            assert_eq!(error.provider.as_deref(), Some("g1"));
        }
        other => panic!("{other:?}"),
    }
    let mut s = stream_translator(false);
    let sse = format!("data: {}\n\n", BLOCKED.replace('\n', ""));
    let out = translate(&mut s, sse.as_bytes(), &[]);
    assert!(out.is_empty());
    assert!(matches!(s.verdict(), Verdict::Failed { status: 400, .. }));
}

#[test]
fn provider_errors_become_openai_errors() {
    let e = Gemini.error_body(&provider(ProviderKind::Gemini), 429, ERROR_429.as_bytes());
    assert_eq!(e.kind, "rate_limit_error");
    assert_eq!(e.code.as_deref(), Some("resource_exhausted"));
    assert!(e.message.starts_with("You exceeded your current quota"));
    assert_eq!(e.provider.as_deref(), Some("g1"));
    let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
    assert_eq!(v["provider"], "g1");
    // Vertex AI wraps errors in an array on streaming calls.
    let arr = format!("[{ERROR_429}]");
    let e = Gemini.error_body(&provider(ProviderKind::VertexAi), 429, arr.as_bytes());
    assert_eq!(e.code.as_deref(), Some("resource_exhausted"));
    let html = Gemini.error_body(&provider(ProviderKind::Gemini), 502, b"<html>oops</html>");
    assert!(html.message.contains("<html>oops</html>"));
}

#[test]
fn golden_text_stream() {
    let mut t = stream_translator(true);
    let out = translate(&mut t, STREAM_TEXT.as_bytes(), &[]);
    let ev = events(&out);
    assert_eq!(ev.last().unwrap(), &json!("[DONE]"));
    let text: String = ev
        .iter()
        .filter_map(|e| e["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Voilà, un café ☕ et 😀!");
    assert_eq!(ev[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(ev[0]["id"], "chatcmpl-sse-1");
    assert_eq!(ev[0]["created"], 1_700_000_000);
    let finish = &ev[ev.len() - 3];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = &ev[ev.len() - 2];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 8, "completion_tokens": 12, "total_tokens": 20})
    );
    assert_eq!(t.usage().unwrap().total_tokens, 20);

    // Without include_usage: no usage chunk for the client, usage still reported.
    let mut t = stream_translator(false);
    let ev = events(&translate(&mut t, STREAM_TEXT.as_bytes(), &[]));
    assert!(ev.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(t.usage().unwrap().prompt_tokens, 8);
}

#[test]
fn golden_tool_stream_has_indexed_calls() {
    let mut t = stream_translator(false);
    let ev = events(&translate(&mut t, STREAM_TOOL.as_bytes(), &[]));
    let calls: Vec<&Value> = ev
        .iter()
        .filter_map(|e| e["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 4);
    assert_eq!(
        calls[0],
        &json!([{"index": 0, "id": "call_0", "type": "function", "function": {"name": "get_current_temperature", "arguments": ""}}])
    );
    assert_eq!(
        calls[1],
        &json!([{"index": 0, "function": {"arguments": "{\"location\":\"London\"}"}}])
    );
    assert_eq!(calls[2][0]["index"], 1);
    assert_eq!(calls[2][0]["id"], "call_1");
    assert_eq!(calls[3][0]["function"]["arguments"], "{}");
    let finishes: Vec<&Value> = ev
        .iter()
        .filter_map(|e| e["choices"][0].get("finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finishes, vec![&json!("tool_calls")]);
}

#[test]
fn every_split_of_a_stream_gives_the_same_output() {
    for input in [STREAM_TEXT, STREAM_TOOL] {
        let bytes = input.as_bytes();
        let whole = translate(&mut stream_translator(true), bytes, &[]);
        for at in 0..=bytes.len() {
            let split = translate(&mut stream_translator(true), bytes, &[at]);
            assert_eq!(split, whole, "split at {at}");
        }
        // Byte by byte.
        let every: Vec<usize> = (1..bytes.len()).collect();
        assert_eq!(
            translate(&mut stream_translator(true), bytes, &every),
            whole
        );
    }
}

#[test]
fn an_error_as_first_event_fails_the_attempt() {
    let sse = format!("data: {}\n\n", ERROR_429.replace('\n', ""));
    let mut t = stream_translator(false);
    let mut out = Vec::new();
    t.push(Bytes::from(sse), &mut out).unwrap();
    assert!(out.is_empty());
    match t.verdict() {
        Verdict::Failed { status, error } => {
            assert_eq!(status, 429);
            assert_eq!(error.code.as_deref(), Some("resource_exhausted"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_error_mid_stream_ends_it_with_an_error_event_and_no_done() {
    let first = STREAM_TEXT.split("\n\n").next().unwrap();
    let sse = format!(
        "{first}\n\ndata: {{\"error\":{{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}}}\n\n"
    );
    let mut t = stream_translator(false);
    let out = translate(&mut t, sse.as_bytes(), &[]);
    assert_eq!(t.verdict(), Verdict::Healthy);
    let ev = events(&out);
    let last = ev.last().unwrap();
    assert_eq!(last["error"]["message"], "The model is overloaded.");
    assert_eq!(last["error"]["code"], "unavailable");
    assert!(!String::from_utf8_lossy(&out).contains("[DONE]"));
}

#[test]
fn a_stream_without_finish_reason_still_ends_cleanly() {
    let first = STREAM_TEXT.split("\n\n").next().unwrap();
    let mut t = stream_translator(false);
    let ev = events(&translate(&mut t, format!("{first}\n\n").as_bytes(), &[]));
    assert_eq!(ev[ev.len() - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(ev.last().unwrap(), &json!("[DONE]"));
}

#[test]
fn a_malformed_answer_is_a_translation_error() {
    let mut t = Buffered::new(ChatAnswer::new("g1", "m", 0));
    let mut out = Vec::new();
    t.push(Bytes::from_static(b"{\"candidates\":[{"), &mut out)
        .unwrap();
    assert!(t.finish(&mut out).is_err());
    let mut s = stream_translator(false);
    assert!(s
        .push(Bytes::from_static(b"data: {oops\n\n"), &mut out)
        .is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), at in 0usize..2048) {
        let mut s = stream_translator(true);
        let mut out = Vec::new();
        let at = at.min(bytes.len());
        let _ = s.push(Bytes::copy_from_slice(&bytes[..at]), &mut out);
        let _ = s.push(Bytes::copy_from_slice(&bytes[at..]), &mut out);
        let _ = s.finish(&mut out);
        let mut c = Buffered::new(ChatAnswer::new("g1", "m", 0));
        let _ = c.push(Bytes::from(bytes.clone()), &mut out);
        let _ = c.finish(&mut out);
        let mut e = Buffered::new(EmbeddingsAnswer::new("g1", "m", false, true));
        let _ = e.push(Bytes::from(bytes), &mut out);
        let _ = e.finish(&mut out);
    }

    #[test]
    fn arbitrary_json_events_never_panic(v in arb_json(), crlf in any::<bool>()) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let data = serde_json::to_string(&v).unwrap();
        let sse = format!("data: {data}{nl}{nl}");
        let mut s = stream_translator(true);
        let mut out = Vec::new();
        let _ = s.push(Bytes::from(sse), &mut out);
        let _ = s.finish(&mut out);
        let mut c = Buffered::new(ChatAnswer::new("g1", "m", 0));
        let _ = c.push(Bytes::from(data.clone()), &mut out);
        let _ = c.finish(&mut out);
        let _ = Gemini.error_body(&provider(ProviderKind::Gemini), 400, data.as_bytes());
    }

    #[test]
    fn arbitrary_requests_never_panic(v in arb_json()) {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": v.clone()}}], "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": v}}});
        let e = env(&body.to_string());
        let _ = Gemini.build_request(&provider(ProviderKind::Gemini), &call(&e, false, Endpoint::ChatCompletions));
    }
}

/// JSON values biased towards the shapes Gemini sends.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("candidates".to_owned()),
        Just("content".to_owned()),
        Just("parts".to_owned()),
        Just("text".to_owned()),
        Just("functionCall".to_owned()),
        Just("args".to_owned()),
        Just("finishReason".to_owned()),
        Just("usageMetadata".to_owned()),
        Just("promptTokenCount".to_owned()),
        Just("error".to_owned()),
        Just("code".to_owned()),
        Just("promptFeedback".to_owned()),
        Just("blockReason".to_owned()),
        Just("type".to_owned()),
        Just("properties".to_owned()),
        Just("$ref".to_owned()),
        Just("anyOf".to_owned()),
        Just("items".to_owned()),
        "[a-z]{1,4}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[ -~é]{0,8}".prop_map(Value::String),
        Just(json!("#/properties")),
        Just(json!("STOP")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

//! Golden tests for the Cohere v2 dialect: documented requests and answers (see
//! `fixtures/cohere/SOURCES.md`), any split of a recorded stream, and arbitrary input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};
use switchyard_providers::sse::SseFramer;
use switchyard_providers::{
    dialect_for, AuthStyle, Call, Dialect, DialectKind, Endpoint, JsonEnvelope, ProviderEndpoint,
    ProviderKind, Secret, TranslateError, Verdict,
};

const STREAM_TEXT: &str = include_str!("fixtures/cohere/stream_text.sse");
const STREAM_TOOLS: &str = include_str!("fixtures/cohere/stream_tools.sse");
const CHAT_TEXT: &str = include_str!("fixtures/cohere/chat_text.json");
const CHAT_TOOLS: &str = include_str!("fixtures/cohere/chat_tools.json");
const EMBED: &str = include_str!("fixtures/cohere/embed.json");

fn cohere() -> &'static dyn Dialect {
    dialect_for(DialectKind::Cohere)
}

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "co".into(),
        kind: ProviderKind::Cohere,
        authority: "api.cohere.com".into(),
        base_path: String::new(),
        api_key: Secret::new("co-key"),
        headers: vec![],
        stream_usage: false,
        auth: AuthStyle::Bearer,
        options: Default::default(),
    }
}

fn env(v: &Value) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::from(serde_json::to_vec(v).unwrap())).unwrap()
}

fn call(endpoint: Endpoint, body: &JsonEnvelope, stream: bool) -> Call<'_> {
    Call {
        form: None,
        endpoint,
        body,
        model: "command-a-03-2025",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

fn request(body: Value) -> Result<Value, TranslateError> {
    let stream = body["stream"].as_bool().unwrap_or(false);
    let e = env(&body);
    let req = cohere().build_request(&provider(), &call(Endpoint::ChatCompletions, &e, stream))?;
    assert_eq!(req.path, "/v2/chat");
    Ok(serde_json::from_slice(&req.body).unwrap())
}

fn translate(
    endpoint: Endpoint,
    request: Value,
    pieces: &[&[u8]],
) -> (Vec<u8>, Verdict, Option<switchyard_providers::Usage>) {
    let stream = request["stream"].as_bool().unwrap_or(false);
    let e = env(&request);
    let mut t = cohere().response_translator(&provider(), &call(endpoint, &e, stream));
    let mut out = Vec::new();
    for p in pieces {
        t.push(Bytes::copy_from_slice(p), &mut out).unwrap();
    }
    t.finish(&mut out).unwrap();
    (out.concat(), t.verdict(), t.usage())
}

fn events(sse: &[u8]) -> Vec<Value> {
    let mut f = SseFramer::new();
    f.push(sse).unwrap();
    let mut out = Vec::new();
    while let Some(e) = f.next_event().unwrap() {
        if e.is_done() {
            out.push(Value::String("[DONE]".into()));
        } else {
            out.push(serde_json::from_slice(&e.data).unwrap());
        }
    }
    out
}

#[test]
fn a_full_openai_request_maps_to_cohere_fields() {
    let body = request(json!({
        "model": "fast",
        "messages": [
            {"role": "developer", "content": "be brief"},
            {"role": "user", "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://cohere.com/favicon-32x32.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "{\"answer\":42}"},
            {"role": "assistant", "content": "It is 42."},
            {"role": "user", "content": "thanks", "name": "ann"}
        ],
        "tools": [
            {"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": true}},
            {"type": "function", "function": {"name": "other"}}
        ],
        "tool_choice": "required",
        "max_completion_tokens": 300,
        "stop": ["END"],
        "temperature": 0.3,
        "top_p": 1.0,
        "seed": 7,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
        "user": "u-1",
        "k": 40,
        "stream": true,
        "stream_options": {"include_usage": true}
    }))
    .unwrap();
    assert_eq!(
        body,
        json!({
            "model": "command-a-03-2025",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://cohere.com/favicon-32x32.png", "detail": "low"}}
                ]},
                {"role": "assistant", "tool_plan": "Let me look.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"answer\":42}"},
                {"role": "assistant", "content": "It is 42."},
                {"role": "user", "content": "thanks"}
            ],
            "stream": true,
            "tools": [
                {"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
                {"type": "function", "function": {"name": "other", "parameters": {"type": "object", "properties": {}}}}
            ],
            "strict_tools": true,
            "tool_choice": "REQUIRED",
            "response_format": {"type": "json_object", "json_schema": {"type": "object"}},
            "max_tokens": 300,
            "stop_sequences": ["END"],
            "temperature": 0.3,
            "p": 0.99,
            "seed": 7,
            "frequency_penalty": 0.1,
            "presence_penalty": 0.2,
            "k": 40
        })
    );
}

#[test]
fn a_named_tool_choice_offers_only_that_tool() {
    let body = request(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}],
        "tool_choice": {"type": "function", "function": {"name": "b"}}
    }))
    .unwrap();
    assert_eq!(body["tool_choice"], "REQUIRED");
    assert_eq!(body["tools"].as_array().unwrap().len(), 1);
    assert_eq!(body["tools"][0]["function"]["name"], "b");
    let none = request(json!({
        "model": "m", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "a"}}], "tool_choice": "none",
        "response_format": {"type": "json_object"}
    }))
    .unwrap();
    assert_eq!(none["tool_choice"], "NONE");
    assert_eq!(none["response_format"], json!({"type": "json_object"}));
}

#[test]
fn parameters_cohere_cannot_honour_are_refused_by_name() {
    let user = |extra: Value| {
        let mut b = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (extra, param) in [
        (json!({"n": 2}), "n"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"logit_bias": {"1": 1}}), "logit_bias"),
        (json!({"parallel_tool_calls": false}), "parallel_tool_calls"),
        (json!({"reasoning_effort": "low"}), "reasoning_effort"),
    ] {
        match request(user(extra)) {
            Err(TranslateError::InvalidRequest { param: Some(p), .. }) => assert_eq!(p, param),
            other => panic!("{param}: {other:?}"),
        }
    }
    let audio = request(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
    );
    assert!(audio.unwrap_err().to_string().contains("input_audio"));
    let sys_img = request(
        json!({"model": "m", "messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}, {"role": "user", "content": "x"}]}),
    );
    assert!(sys_img.unwrap_err().to_string().contains("system"));
    assert!(request(json!({"model": "m", "n": 1, "parallel_tool_calls": true, "messages": [{"role": "user", "content": "x"}]})).is_ok());
}

#[test]
fn unknown_endpoints_are_refused() {
    let e = env(&json!({"model": "m", "prompt": "x"}));
    let err = cohere()
        .build_request(&provider(), &call(Endpoint::Completions, &e, false))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "provider kind `cohere` does not serve completions"
    );
}

#[test]
fn the_documented_plain_answer_becomes_a_chat_completion() {
    let req =
        json!({"model": "m", "messages": [{"role": "user", "content": "Tell me about LLMs"}]});
    let (out, verdict, usage) = translate(Endpoint::ChatCompletions, req, &[CHAT_TEXT.as_bytes()]);
    assert_eq!(verdict, Verdict::Healthy);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["id"], "c14c80c3-18eb-4519-9460-6c92edd8cfb4");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["created"], 1_700_000_000);
    assert_eq!(v["model"], "command-a-03-2025");
    assert!(v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("LLMs stand for"));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 418, "total_tokens": 423})
    );
    assert_eq!(usage.unwrap().total_tokens, 423);
}

#[test]
fn the_documented_tool_answer_becomes_tool_calls() {
    let req = json!({"model": "m", "messages": [{"role": "user", "content": "sales?"}]});
    let (out, _, _) = translate(Endpoint::ChatCompletions, req, &[CHAT_TOOLS.as_bytes()]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let m = &v["choices"][0]["message"];
    // The reasoning block is not the answer's text.
    assert!(m["content"].is_null());
    assert_eq!(
        m["tool_calls"][0]["id"],
        "query_daily_sales_report_hgxxmkby3wta"
    );
    assert_eq!(m["tool_calls"][0]["type"], "function");
    assert_eq!(
        m["tool_calls"][1]["function"]["arguments"],
        "{\"category\": \"Electronics\"}"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(v["usage"]["prompt_tokens"], 127);
}

#[test]
fn an_error_finish_fails_a_plain_answer() {
    let req = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let body = br#"{"id":"x","finish_reason":"ERROR","message":{"role":"assistant","content":[]}}"#;
    let (out, verdict, _) = translate(Endpoint::ChatCompletions, req, &[body]);
    assert!(out.is_empty());
    assert!(matches!(verdict, Verdict::Failed { status: 502, .. }));
}

#[test]
fn the_documented_text_stream_becomes_openai_chunks() {
    let req = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "x"}]});
    let (out, verdict, usage) =
        translate(Endpoint::ChatCompletions, req, &[STREAM_TEXT.as_bytes()]);
    assert_eq!(verdict, Verdict::Healthy);
    let evs = events(&out);
    assert_eq!(evs[0]["id"], "29f14a5a-11de-4cae-9800-25e4747408ea");
    assert_eq!(evs[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = evs
        .iter()
        .filter_map(|e| {
            e.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(text, "LLMs stand for Large Language Models (≈ 24°C).");
    let finish = evs
        .iter()
        .find(|e| !e["choices"][0]["finish_reason"].is_null())
        .unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let n = evs.len();
    assert_eq!(evs[n - 2]["choices"], json!([]));
    assert_eq!(
        evs[n - 2]["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 26, "total_tokens": 31})
    );
    assert_eq!(evs[n - 1], "[DONE]");
    assert_eq!(usage.unwrap().prompt_tokens, 5);
}

#[test]
fn without_include_usage_no_usage_chunk_is_sent_but_usage_is_counted() {
    let req = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let (out, _, usage) = translate(Endpoint::ChatCompletions, req, &[STREAM_TEXT.as_bytes()]);
    let evs = events(&out);
    assert!(evs.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(usage.unwrap().completion_tokens, 26);
}

#[test]
fn the_documented_tool_stream_gives_indexed_argument_deltas() {
    let req = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let (out, _, usage) = translate(Endpoint::ChatCompletions, req, &[STREAM_TOOLS.as_bytes()]);
    let evs = events(&out);
    let mut calls: Vec<(String, String, String)> = Vec::new();
    let mut plan = String::new();
    for e in &evs {
        let Some(d) = e.pointer("/choices/0/delta") else {
            continue;
        };
        if let Some(t) = d.get("content").and_then(Value::as_str) {
            plan.push_str(t);
        }
        for tc in d
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let i = tc["index"].as_u64().unwrap() as usize;
            if calls.len() <= i {
                calls.push((
                    tc["id"].as_str().unwrap().into(),
                    tc["function"]["name"].as_str().unwrap().into(),
                    String::new(),
                ));
            }
            calls[i]
                .2
                .push_str(tc["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(
        plan,
        "I will search for the weather in Madrid and Brasilia."
    );
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0, "get_weather_p1t92w7gfgq7");
    assert_eq!(calls[1].1, "get_weather");
    let args: Value = serde_json::from_str(&calls[1].2).unwrap();
    assert_eq!(args, json!({"location": "Brasilia"}));
    let finish = evs
        .iter()
        .find(|e| {
            !e.pointer("/choices/0/finish_reason")
                .unwrap_or(&Value::Null)
                .is_null()
        })
        .unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(usage.unwrap().prompt_tokens, 37);
}

#[test]
fn any_byte_split_of_a_recorded_stream_gives_the_same_output() {
    let req = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "x"}]});
    for fixture in [STREAM_TEXT, STREAM_TOOLS] {
        let input = fixture.as_bytes();
        let (whole, _, _) = translate(Endpoint::ChatCompletions, req.clone(), &[input]);
        for at in 0..=input.len() {
            let (split, _, _) = translate(
                Endpoint::ChatCompletions,
                req.clone(),
                &[&input[..at], &input[at..]],
            );
            assert_eq!(split, whole, "split at byte {at}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (single, _, _) = translate(Endpoint::ChatCompletions, req.clone(), &bytes);
        assert_eq!(single, whole);
    }
}

#[test]
fn an_error_as_first_event_fails_the_attempt_and_later_one_ends_the_stream() {
    let req = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let e = env(&req);
    let first = "event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"a\"}\n\nevent: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"error\":\"internal error\"}}\n\n";
    let mut t =
        cohere().response_translator(&provider(), &call(Endpoint::ChatCompletions, &e, true));
    let mut out = Vec::new();
    t.push(Bytes::from_static(first.as_bytes()), &mut out)
        .unwrap();
    match t.verdict() {
        Verdict::Failed { status, error } => {
            assert_eq!(status, 502);
            assert_eq!(error.message, "internal error");
            assert_eq!(error.provider.as_deref(), Some("co"));
        }
        other => panic!("{other:?}"),
    }

    let later = "event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"a\"}\n\nevent: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hi\"}}}}\n\nevent: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"ERROR\",\"error\":\"boom\"}}\n\n";
    let mut t =
        cohere().response_translator(&provider(), &call(Endpoint::ChatCompletions, &e, true));
    let mut out = Vec::new();
    t.push(Bytes::from_static(later.as_bytes()), &mut out)
        .unwrap();
    t.finish(&mut out).unwrap();
    assert_eq!(t.verdict(), Verdict::Healthy);
    let text = String::from_utf8(out.concat()).unwrap();
    assert!(text.contains("\"content\":\"Hi\""));
    assert!(text.ends_with("\"provider\":\"co\"}\n\n"), "{text}");
    assert!(!text.contains("[DONE]"));
}

#[test]
fn a_stream_cut_before_message_end_is_an_error() {
    let req = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let e = env(&req);
    let mut t =
        cohere().response_translator(&provider(), &call(Endpoint::ChatCompletions, &e, true));
    let mut out = Vec::new();
    let cut = &STREAM_TEXT.as_bytes()[..STREAM_TEXT.len() / 2];
    t.push(Bytes::copy_from_slice(cut), &mut out).unwrap();
    assert!(matches!(
        t.finish(&mut out),
        Err(TranslateError::BadResponse(_))
    ));
}

#[test]
fn embeddings_map_both_ways() {
    let e = env(&json!({"model": "embed", "input": ["hello", "goodbye"], "dimensions": 256}));
    let req = cohere()
        .build_request(&provider(), &call(Endpoint::Embeddings, &e, false))
        .unwrap();
    assert_eq!(req.path, "/v2/embed");
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"model": "command-a-03-2025", "texts": ["hello", "goodbye"], "input_type": "search_document",
               "embedding_types": ["float"], "output_dimension": 256})
    );
    let e2 = env(&json!({"model": "embed", "input": "q", "input_type": "search_query"}));
    let req = cohere()
        .build_request(&provider(), &call(Endpoint::Embeddings, &e2, false))
        .unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["input_type"], "search_query");
    let bad = env(&json!({"model": "embed", "input": [[1, 2]]}));
    assert!(cohere()
        .build_request(&provider(), &call(Endpoint::Embeddings, &bad, false))
        .is_err());

    let (out, verdict, usage) = translate(
        Endpoint::Embeddings,
        json!({"model": "e", "input": ["hello", "goodbye"]}),
        &[EMBED.as_bytes()],
    );
    assert_eq!(verdict, Verdict::Healthy);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][1]["index"], 1);
    assert_eq!(v["data"][0]["embedding"][0], 0.016296387);
    assert_eq!(v["usage"], json!({"prompt_tokens": 2, "total_tokens": 2}));
    assert_eq!(usage.unwrap().prompt_tokens, 2);

    let (out, _, _) = translate(
        Endpoint::Embeddings,
        json!({"model": "e", "input": "hello", "encoding_format": "base64"}),
        &[EMBED.as_bytes()],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    // 4 little-endian f32 → 16 bytes → 24 base64 characters.
    assert_eq!(v["data"][0]["embedding"].as_str().unwrap().len(), 24);
}

#[test]
fn cohere_error_bodies_become_openai_errors() {
    let e = cohere().error_body(&provider(), 401, br#"{"message":"invalid api token"}"#);
    assert_eq!(e.message, "invalid api token");
    assert_eq!(e.kind, "authentication_error");
    assert_eq!(e.code.as_deref(), Some("invalid_api_key"));
    assert_eq!(e.provider.as_deref(), Some("co"));
    let e = cohere().error_body(
        &provider(),
        429,
        br#"{"id":"abc","message":"You are using a Trial key"}"#,
    );
    assert_eq!(e.kind, "rate_limit_error");
    let e = cohere().error_body(&provider(), 503, b"upstream connect error");
    assert!(e.message.contains("HTTP 503"));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_translators(bytes in proptest::collection::vec(any::<u8>(), 0..512), at in 0usize..512) {
        for (endpoint, stream) in [(Endpoint::ChatCompletions, true), (Endpoint::ChatCompletions, false), (Endpoint::Embeddings, false)] {
            let e = env(&json!({"model": "m", "stream": stream, "messages": [{"role": "user", "content": "x"}], "input": "x"}));
            let mut t = cohere().response_translator(&provider(), &call(endpoint, &e, stream));
            let mut out = Vec::new();
            let at = at.min(bytes.len());
            let _ = t.push(Bytes::copy_from_slice(&bytes[..at]), &mut out);
            let _ = t.push(Bytes::copy_from_slice(&bytes[at..]), &mut out);
            let _ = t.finish(&mut out);
            let _ = t.verdict();
        }
    }

    #[test]
    fn arbitrary_json_events_never_panic_the_stream(events in proptest::collection::vec(
        (prop_oneof![Just("message-start"), Just("content-delta"), Just("tool-call-start"), Just("tool-call-delta"), Just("message-end"), Just("x")],
         any::<Option<u64>>(), "[a-z\"{}:,\\\\]{0,12}"), 0..8)) {
        let req = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]});
        let e = env(&req);
        let mut t = cohere().response_translator(&provider(), &call(Endpoint::ChatCompletions, &e, true));
        let mut out = Vec::new();
        for (kind, index, text) in events {
            let ev = json!({"type": kind, "index": index, "delta": {"message": {"content": {"text": text}, "tool_calls": {"id": text, "function": {"name": text, "arguments": text}}}, "finish_reason": text}});
            let _ = t.push(Bytes::from(format!("data: {ev}\n\n")), &mut out);
        }
        let _ = t.finish(&mut out);
    }
}

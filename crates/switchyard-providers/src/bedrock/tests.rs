use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::eventstream::{event, exception};
use super::stream::StreamTranslator;
use super::*;
use crate::dialect::{AwsCredentials, ProviderOptions, Verdict};
use crate::envelope::JsonEnvelope;
use crate::kind::ProviderKind;
use crate::secret::Secret;
use crate::sse::SseFramer;
use crate::translator::Streamed;
use crate::usage::Usage;

pub(super) fn provider(auth: AuthStyle) -> ProviderEndpoint {
    ProviderEndpoint {
        name: "aws".into(),
        kind: ProviderKind::Bedrock,
        authority: "bedrock-runtime.us-east-1.amazonaws.com".into(),
        base_path: String::new(),
        api_key: Secret::new("bedrock-api-key"),
        headers: vec![],
        stream_usage: false,
        auth,
        options: ProviderOptions {
            region: Some("us-east-1".into()),
            aws: Some(AwsCredentials {
                access_key_id: Secret::new("AKIDEXAMPLE"),
                secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                session_token: Some(Secret::new("session-token")),
            }),
            ..Default::default()
        },
    }
}

fn env(s: &str) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

fn call<'a>(body: &'a JsonEnvelope, model: &'a str, stream: bool) -> Call<'a> {
    Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model,
        stream,
        client_key: None,
        // 2015-08-30T12:36:00Z
        now: UNIX_EPOCH + Duration::from_secs(1_440_938_160),
    }
}

fn build(body: &str) -> Result<Value, TranslateError> {
    let e = env(body);
    let req = Bedrock.build_request(
        &provider(AuthStyle::AwsSigV4),
        &call(&e, "anthropic.claude-3-haiku-20240307-v1:0", false),
    )?;
    Ok(serde_json::from_slice(&req.body).unwrap())
}

fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .and_then(|(_, v)| v.to_str().ok())
}

#[test]
fn maps_a_full_conversation() {
    let v = build(r#"{
        "model": "claude", "max_tokens": 300, "temperature": 0.5, "top_p": 0.9, "stop": ["END"],
        "user": "user-42",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "use tools"}]},
            {"role": "user", "content": [{"type": "text", "text": "what is in"}, {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AA=="}}]},
            {"role": "assistant", "content": "let me look", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}},
                {"id": "call_2", "type": "function", "function": {"name": "look", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "a hat"}]},
            {"role": "user", "content": "and?"}
        ],
        "tools": [{"type": "function", "function": {"name": "look", "description": "Looks.", "parameters": {"type": "object", "properties": {"q": {"type": "integer"}}}}}],
        "tool_choice": "required"
    }"#).unwrap();
    assert_eq!(
        v["system"],
        json!([{"text": "be brief"}, {"text": "use tools"}])
    );
    assert_eq!(
        v["inferenceConfig"],
        json!({"maxTokens": 300, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]})
    );
    assert_eq!(v["requestMetadata"], json!({"user": "user-42"}));
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3, "tool results and the next user turn merge");
    assert_eq!(msgs[0]["role"], "user");
    assert_eq!(
        msgs[0]["content"][1],
        json!({"image": {"format": "jpeg", "source": {"bytes": "/9j/AA=="}}})
    );
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[1]["content"][0], json!({"text": "let me look"}));
    assert_eq!(
        msgs[1]["content"][1],
        json!({"toolUse": {"toolUseId": "call_1", "name": "look", "input": {"q": 1}}})
    );
    assert_eq!(msgs[1]["content"][2]["toolUse"]["input"], json!({}));
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"],
        json!([
            {"toolResult": {"toolUseId": "call_1", "content": [{"text": "a cat"}]}},
            {"toolResult": {"toolUseId": "call_2", "content": [{"text": "a hat"}]}},
            {"text": "and?"}
        ])
    );
    assert_eq!(
        v["toolConfig"],
        json!({"tools": [{"toolSpec": {"name": "look", "description": "Looks.", "inputSchema": {"json": {"type": "object", "properties": {"q": {"type": "integer"}}}}}}], "toolChoice": {"any": {}}})
    );
    assert!(v.get("model").is_none());
}

#[test]
fn tool_choice_maps_to_converse() {
    let with = |choice: &str| {
        build(&format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"tools":[{{"type":"function","function":{{"name":"f"}}}}],"tool_choice":{choice}}}"#
        ))
    };
    assert_eq!(
        with(r#""auto""#).unwrap()["toolConfig"]["toolChoice"],
        json!({"auto": {}})
    );
    assert_eq!(
        with(r#"{"type":"function","function":{"name":"f"}}"#).unwrap()["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "f"}})
    );
    assert_eq!(
        with(r#""auto""#).unwrap()["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"],
        json!({"json": {"type": "object", "properties": {}}})
    );
    assert!(with(r#""none""#).unwrap().get("toolConfig").is_none());
}

#[test]
fn default_max_tokens_fills_in() {
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let mut p = provider(AuthStyle::AwsSigV4);
    let req = Bedrock.build_request(&p, &call(&e, "m", false)).unwrap();
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    assert!(v.get("inferenceConfig").is_none());
    p.options.default_max_tokens = Some(1024);
    let req = Bedrock.build_request(&p, &call(&e, "m", false)).unwrap();
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(v["inferenceConfig"]["maxTokens"], 1024);
}

#[test]
fn refuses_what_converse_cannot_honour() {
    let cases = [
        (r#""n":2"#, "n"),
        (r#""seed":1"#, "seed"),
        (r#""presence_penalty":0.1"#, "presence_penalty"),
        (r#""frequency_penalty":0.1"#, "frequency_penalty"),
        (r#""reasoning_effort":"low""#, "reasoning_effort"),
        (r#""logit_bias":{"1":2}"#, "logit_bias"),
        (r#""logprobs":true"#, "logprobs"),
        (
            r#""response_format":{"type":"json_object"}"#,
            "response_format",
        ),
        (r#""parallel_tool_calls":false"#, "parallel_tool_calls"),
        (r#""tool_choice":"required""#, "tool_choice"),
        (r#""user":"bad|chars""#, "user"),
    ];
    for (field, param) in cases {
        let e = build(&format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],{field}}}"#
        ))
        .unwrap_err();
        let TranslateError::InvalidRequest { param: p, message } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(p.as_deref(), Some(param), "{field}: {message}");
    }
    assert!(build(r#"{"model":"m","n":1,"response_format":{"type":"text"},"parallel_tool_calls":true,"messages":[{"role":"user","content":"x"}]}"#).is_ok());
    let http_image = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}"#).unwrap_err();
    assert!(http_image.to_string().contains("data:"));
    let bmp = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA=="}}]}]}"#).unwrap_err();
    assert!(bmp.to_string().contains("image/bmp"));
    let history = r#"{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"1"}"#;
    let none = build(&format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"x"}},{history}],"tools":[{{"type":"function","function":{{"name":"f"}}}}],"tool_choice":"none"}}"#
    ))
    .unwrap_err();
    assert!(none.to_string().contains("tool_choice"));
    let no_tools = build(&format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"x"}},{history}]}}"#
    ))
    .unwrap_err();
    assert!(no_tools.to_string().contains("tools"));
    let audio = build(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA","format":"wav"}}]}]}"#).unwrap_err();
    assert!(audio.to_string().contains("input_audio"));
}

#[test]
fn other_endpoints_are_refused() {
    let e = env(r#"{"model":"m","prompt":"x"}"#);
    let mut c = call(&e, "m", false);
    c.endpoint = Endpoint::Completions;
    let err = Bedrock
        .build_request(&provider(AuthStyle::AwsSigV4), &c)
        .unwrap_err();
    assert!(err.to_string().contains("not supported by provider aws"));
}

#[test]
fn the_model_id_is_one_encoded_path_segment() {
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let p = provider(AuthStyle::AwsSigV4);
    let req = Bedrock
        .build_request(
            &p,
            &call(&e, "anthropic.claude-3-haiku-20240307-v1:0", true),
        )
        .unwrap();
    assert_eq!(
        req.path,
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream"
    );
    assert_eq!(header(&req, "accept"), Some(EVENT_STREAM));
    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    let req = Bedrock.build_request(&p, &call(&e, arn, false)).unwrap();
    assert_eq!(req.path, "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
}

#[test]
fn requests_are_signed_for_bedrock() {
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let p = provider(AuthStyle::AwsSigV4);
    let req = Bedrock
        .build_request(&p, &call(&e, "amazon.nova-lite-v1:0", false))
        .unwrap();
    assert_eq!(header(&req, "x-amz-date"), Some("20150830T123600Z"));
    assert_eq!(header(&req, "x-amz-security-token"), Some("session-token"));
    let auth = header(&req, "authorization").unwrap();
    let parsed = sigv4::parse_authorization(auth).unwrap();
    assert_eq!(
        parsed.signed_headers,
        "content-type;host;x-amz-date;x-amz-security-token"
    );
    assert_eq!(
        (parsed.region, parsed.service, parsed.date),
        ("us-east-1", "bedrock", "20150830")
    );
    // Recompute from the wire view: the path as sent, the headers as sent.
    let (ch, sh) = sigv4::canonical_headers(&[
        ("Content-Type", "application/json"),
        ("Host", "bedrock-runtime.us-east-1.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("X-Amz-Security-Token", "session-token"),
    ]);
    let creq = sigv4::canonical_request(
        "POST",
        &req.path,
        "",
        &ch,
        &sh,
        &sigv4::hex_sha256(&req.body),
    );
    assert!(creq.contains("/model/amazon.nova-lite-v1%253A0/converse\n"));
    let sts = sigv4::string_to_sign(
        "20150830T123600Z",
        "20150830/us-east-1/bedrock/aws4_request",
        &creq,
    );
    let sig = sigv4::signature(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20150830",
        "us-east-1",
        "bedrock",
        &sts,
    );
    assert_eq!(parsed.signature, sig);
    assert!(!format!("{:?}", req.headers).contains("session-token"));
}

#[test]
fn bearer_api_keys_work_too() {
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let req = Bedrock
        .build_request(&provider(AuthStyle::Bearer), &call(&e, "m", false))
        .unwrap();
    assert_eq!(
        header(&req, "authorization"),
        Some("Bearer bedrock-api-key")
    );
    assert!(header(&req, "x-amz-date").is_none());
}

fn translate_json(body: &str) -> (Value, Option<Usage>) {
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let p = provider(AuthStyle::AwsSigV4);
    let mut t = Bedrock.response_translator(&p, &call(&e, "m", false));
    let mut out = Vec::new();
    let (a, b) = body.as_bytes().split_at(body.len() / 2);
    t.push(Bytes::copy_from_slice(a), &mut out).unwrap();
    assert_eq!(t.verdict(), Verdict::Pending);
    t.push(Bytes::copy_from_slice(b), &mut out).unwrap();
    t.finish(&mut out).unwrap();
    assert_eq!(t.verdict(), Verdict::Healthy);
    (serde_json::from_slice(&out.concat()).unwrap(), t.usage())
}

#[test]
fn plain_answers_translate() {
    let (v, usage) = translate_json(
        r#"{"output":{"message":{"role":"assistant","content":[{"text":"Hello"},{"text":" there"}]}},"stopReason":"max_tokens","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":19,"cacheReadInputTokens":4},"metrics":{"latencyMs":100}}"#,
    );
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "m");
    assert_eq!(v["created"], 1_440_938_160u64);
    assert_eq!(v["choices"][0]["message"]["content"], "Hello there");
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 14, "completion_tokens": 5, "total_tokens": 19, "prompt_tokens_details": {"cached_tokens": 4}})
    );
    assert_eq!(usage.unwrap().cached_tokens, 4);

    let (v, _) = translate_json(
        r#"{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"f","input":{"a":[1,2]}}},{"toolUse":{"toolUseId":"tooluse_2","name":"g","input":{}}}]}},"stopReason":"tool_use","usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}"#,
    );
    let m = &v["choices"][0]["message"];
    assert!(m["content"].is_null());
    assert_eq!(m["tool_calls"][0]["id"], "tooluse_1");
    assert_eq!(
        m["tool_calls"][0]["function"]["arguments"],
        r#"{"a":[1,2]}"#
    );
    assert_eq!(m["tool_calls"][1]["function"]["name"], "g");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    for (reason, want) in [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ] {
        let (v, _) = translate_json(&format!(
            r#"{{"output":{{"message":{{"role":"assistant","content":[]}}}},"stopReason":"{reason}"}}"#
        ));
        assert_eq!(v["choices"][0]["finish_reason"], want);
    }
}

/// A ConverseStream answer with text, two tool calls and usage, as frames.
pub(super) fn recorded_stream() -> Vec<u8> {
    let events: &[(&str, &str)] = &[
        ("messageStart", r#"{"p":"abcdefgh","role":"assistant"}"#),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Let me check é😀"},"p":"abcd"}"#,
        ),
        ("contentBlockStop", r#"{"contentBlockIndex":0,"p":"ab"}"#),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":1,"p":"abc","start":{"toolUse":{"name":"weather","toolUseId":"tooluse_a"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}},"p":"a"}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}},"p":"a"}"#,
        ),
        ("contentBlockStop", r#"{"contentBlockIndex":1,"p":"abc"}"#),
        (
            "contentBlockStart",
            r#"{"contentBlockIndex":2,"p":"abc","start":{"toolUse":{"name":"time","toolUseId":"tooluse_b"}}}"#,
        ),
        (
            "contentBlockDelta",
            r#"{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}},"p":"a"}"#,
        ),
        ("contentBlockStop", r#"{"contentBlockIndex":2,"p":"abc"}"#),
        (
            "messageStop",
            r#"{"p":"abcdefghij","stopReason":"tool_use"}"#,
        ),
        (
            "metadata",
            r#"{"metrics":{"latencyMs":812},"p":"abc","usage":{"inputTokens":20,"outputTokens":30,"totalTokens":50}}"#,
        ),
    ];
    events
        .iter()
        .flat_map(|(t, p)| event(t, p.as_bytes()))
        .collect()
}

fn run_stream(
    input: &[u8],
    splits: &[usize],
    include_usage: bool,
) -> (Vec<u8>, Verdict, Option<Usage>) {
    let body = if include_usage {
        r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}"#
    } else {
        r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#
    };
    let e = env(body);
    let mut t = Streamed(StreamTranslator::new(
        "aws",
        ChunkWriter::new("id", "m", 1, include_usage),
    ));
    let _ = &e;
    let mut out = Vec::new();
    let mut last = 0;
    for &at in splits.iter().chain(std::iter::once(&input.len())) {
        let at = at.clamp(last, input.len());
        t.push(Bytes::copy_from_slice(&input[last..at]), &mut out)
            .unwrap();
        last = at;
    }
    t.finish(&mut out).unwrap();
    (out.concat(), t.verdict(), t.usage())
}

fn events(sse: &[u8]) -> Vec<Value> {
    let mut f = SseFramer::new();
    f.push(sse).unwrap();
    let mut out = Vec::new();
    while let Some(e) = f.next_event().unwrap() {
        out.push(if e.is_done() {
            json!("[DONE]")
        } else {
            serde_json::from_slice(&e.data).unwrap()
        });
    }
    out
}

#[test]
fn streams_translate_with_tool_call_indices_and_usage() {
    let (out, verdict, usage) = run_stream(&recorded_stream(), &[], true);
    assert_eq!(verdict, Verdict::Healthy);
    assert_eq!(usage.unwrap().total_tokens, 50);
    let ev = events(&out);
    assert_eq!(ev[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(ev[1]["choices"][0]["delta"]["content"], "Let me check é😀");
    let tc = |i: usize| ev[i]["choices"][0]["delta"]["tool_calls"][0].clone();
    assert_eq!(tc(2)["index"], 0);
    assert_eq!(tc(2)["id"], "tooluse_a");
    assert_eq!(tc(2)["function"]["name"], "weather");
    assert_eq!(tc(3)["function"]["arguments"], "{\"city\":");
    assert_eq!(tc(4)["function"]["arguments"], "\"Paris\"}");
    assert_eq!(tc(5)["index"], 1);
    assert_eq!(tc(5)["id"], "tooluse_b");
    assert_eq!(tc(6)["index"], 1);
    assert_eq!(ev[7]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(ev[8]["choices"], json!([]));
    assert_eq!(ev[8]["usage"]["prompt_tokens"], 20);
    assert_eq!(ev[9], json!("[DONE]"));
    assert_eq!(ev.len(), 10);

    let (out, _, usage) = run_stream(&recorded_stream(), &[], false);
    let ev = events(&out);
    assert!(ev.iter().all(|e| e.get("usage").is_none()));
    assert_eq!(ev.len(), 9);
    assert!(usage.is_some(), "usage still reaches the gateway");
}

#[test]
fn every_split_gives_the_same_output() {
    let input = recorded_stream();
    let (whole, _, _) = run_stream(&input, &[], true);
    for i in 0..=input.len() {
        let (split, _, _) = run_stream(&input, &[i], true);
        assert_eq!(split, whole, "split at {i}");
    }
    let (bytewise, _, _) = run_stream(&input, &(0..input.len()).collect::<Vec<_>>(), true);
    assert_eq!(bytewise, whole);
}

#[test]
fn an_exception_first_fails_the_attempt() {
    let input = exception(
        "throttlingException",
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    );
    let (out, verdict, _) = run_stream(&input, &[5], false);
    assert!(out.is_empty());
    let Verdict::Failed { status, error } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(status, 429);
    assert_eq!(error.kind, "rate_limit_error");
    assert_eq!(error.code.as_deref(), Some("throttlingException"));
    assert_eq!(error.provider.as_deref(), Some("aws"));
    assert!(error.message.starts_with("Too many requests"));
}

#[test]
fn an_exception_later_ends_the_stream_with_an_error_event() {
    let mut input = event("messageStart", br#"{"role":"assistant"}"#);
    input.extend(event(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    ));
    input.extend(exception(
        "modelStreamErrorException",
        br#"{"message":"The model stream failed","originalStatusCode":500}"#,
    ));
    input.extend(event("messageStop", br#"{"stopReason":"end_turn"}"#));
    let (out, verdict, _) = run_stream(&input, &[], true);
    assert_eq!(verdict, Verdict::Healthy);
    let ev = events(&out);
    assert_eq!(ev[1]["choices"][0]["delta"]["content"], "Hi");
    let last = ev.last().unwrap();
    assert_eq!(last["error"]["message"], "The model stream failed");
    assert_eq!(last["error"]["code"], "modelStreamErrorException");
    assert!(!String::from_utf8_lossy(&out).contains("[DONE]"));
}

#[test]
fn a_stream_cut_before_message_stop_ends_with_an_error() {
    let mut input = event("messageStart", br#"{"role":"assistant"}"#);
    input.extend(event(
        "contentBlockDelta",
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    ));
    let (out, _, _) = run_stream(&input, &[], false);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("ended before messageStop"));
    assert!(!text.contains("[DONE]"));
    // A frame cut in the middle is a broken response.
    let mut t = Streamed(StreamTranslator::new(
        "aws",
        ChunkWriter::new("id", "m", 1, false),
    ));
    let mut out = Vec::new();
    t.push(Bytes::copy_from_slice(&input[..input.len() - 3]), &mut out)
        .unwrap();
    assert!(t.finish(&mut out).is_err());
}

#[test]
fn corrupt_frames_are_a_bad_response() {
    let mut input = recorded_stream();
    input[20] ^= 0x40;
    let mut t = Streamed(StreamTranslator::new(
        "aws",
        ChunkWriter::new("id", "m", 1, false),
    ));
    let mut out = Vec::new();
    assert!(matches!(
        t.push(Bytes::from(input), &mut out),
        Err(TranslateError::BadResponse(_))
    ));
}

#[test]
fn error_bodies_become_openai_errors() {
    let p = provider(AuthStyle::AwsSigV4);
    let e = Bedrock.error_body(
        &p,
        429,
        br#"{"message":"Too many requests, please wait before trying again."}"#,
    );
    assert_eq!(e.kind, "rate_limit_error");
    assert_eq!(e.code.as_deref(), Some("ThrottlingException"));
    assert_eq!(e.provider.as_deref(), Some("aws"));
    let e = Bedrock.error_body(
        &p,
        400,
        br#"{"message":"The provided model identifier is invalid."}"#,
    );
    assert_eq!(
        (e.kind.as_str(), e.code.as_deref()),
        ("invalid_request_error", Some("ValidationException"))
    );
    let e = Bedrock.error_body(&p, 403, br#"{"Message":"User is not authorized"}"#);
    assert_eq!((e.kind.as_str(), e.code), ("permission_error", None));
    let e = Bedrock.error_body(
        &p,
        424,
        br#"{"__type":"com.amazon.bedrock#ModelErrorException","message":"boom"}"#,
    );
    assert_eq!(e.code.as_deref(), Some("ModelErrorException"));
    let e = Bedrock.error_body(&p, 502, b"<html>bad gateway</html>");
    assert!(e.message.contains("HTTP 502"));
}

#[test]
fn embeddings_go_to_invoke_model() {
    let e = env(r#"{"model":"m","input":"hello"}"#);
    let mut c = call(&e, "amazon.titan-embed-text-v2:0", false);
    c.endpoint = Endpoint::Embeddings;
    let req = Bedrock
        .build_request(&provider(AuthStyle::AwsSigV4), &c)
        .unwrap();
    assert_eq!(req.path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert_eq!(&req.body[..], br#"{"inputText":"hello"}"#);
    assert!(header(&req, "authorization").is_some());
}

#[test]
fn images_need_inlining() {
    assert!(Bedrock.needs_inline_images());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), at in 0usize..2048) {
        let mut t = Streamed(StreamTranslator::new(
        "aws",
        ChunkWriter::new("id", "m", 1, true),
    ));
        let mut out = Vec::new();
        let at = at.min(bytes.len());
        let _ = t.push(Bytes::copy_from_slice(&bytes[..at]), &mut out);
        let _ = t.push(Bytes::copy_from_slice(&bytes[at..]), &mut out);
        let _ = t.finish(&mut out);
        let _ = translate_response(&bytes, "id", "m", 0);
    }

    #[test]
    fn arbitrary_payloads_in_valid_frames_never_panic(
        kinds in proptest::collection::vec(0usize..8, 1..8),
        payloads in proptest::collection::vec("[ -~]{0,40}", 8),
    ) {
        const TYPES: [&str; 8] = ["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata", "unknownEvent", "throttlingException"];
        let mut input = Vec::new();
        for (i, k) in kinds.iter().enumerate() {
            let p = payloads[i % payloads.len()].as_bytes();
            if *k == 7 {
                input.extend(exception(TYPES[*k], p));
            } else {
                input.extend(event(TYPES[*k], p));
            }
        }
        let mut t = Streamed(StreamTranslator::new(
        "aws",
        ChunkWriter::new("id", "m", 1, true),
    ));
        let mut out = Vec::new();
        let _ = t.push(Bytes::from(input), &mut out);
        let _ = t.finish(&mut out);
    }

    #[test]
    fn arbitrary_json_bodies_never_panic(v in arb_json()) {
        let body = serde_json::to_vec(&v).unwrap();
        let _ = translate_response(&body, "id", "m", 0);
        let wrapped = serde_json::to_vec(&json!({"output": {"message": {"content": [v.clone()]}}, "usage": v, "stopReason": "end_turn"})).unwrap();
        let _ = translate_response(&wrapped, "id", "m", 0);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("text".to_owned()),
                    Just("toolUse".to_owned()),
                    Just("input".to_owned()),
                    Just("inputTokens".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn the_signing_clock_is_the_calls() {
    // Two attempts a second apart sign with their own time.
    let e = env(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let p = provider(AuthStyle::AwsSigV4);
    let mut c = call(&e, "m", false);
    c.now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let req = Bedrock.build_request(&p, &c).unwrap();
    assert_eq!(header(&req, "x-amz-date"), Some("20231114T221320Z"));
}

//! Golden tests for the Anthropic dialect: documented (and recorded) Anthropic answers in
//! `fixtures/anthropic/` (see `SOURCES.md` there) translated into OpenAI's format; streams
//! split at every byte give the same output; arbitrary input never panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};
use switchyard_providers::{
    dialect_for, AuthStyle, Call, DialectKind, Endpoint, JsonEnvelope, ProviderEndpoint,
    ProviderKind, ResponseTranslator, Secret, Verdict,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "claude".into(),
        kind: ProviderKind::Anthropic,
        authority: "api.anthropic.com".into(),
        base_path: "/v1".into(),
        api_key: Secret::new("sk-ant-test"),
        headers: vec![],
        stream_usage: false,
        auth: AuthStyle::Header("x-api-key"),
        options: Default::default(),
    }
}

fn request(stream: bool, include_usage: bool) -> JsonEnvelope {
    let body = json!({
        "model": "claude",
        "stream": stream,
        "stream_options": if stream { json!({"include_usage": include_usage}) } else { Value::Null },
        "messages": [{"role": "user", "content": "hi"}],
    });
    JsonEnvelope::parse(Bytes::from(serde_json::to_vec(&body).unwrap())).unwrap()
}

fn translator(body: &JsonEnvelope, stream: bool) -> Box<dyn ResponseTranslator> {
    let call = Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "claude-sonnet-4-5",
        stream,
        client_key: None,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    dialect_for(DialectKind::Anthropic).response_translator(&provider(), &call)
}

/// Feeds `input` cut at `cuts`; returns the output bytes and the final result.
fn translate(
    input: &[u8],
    cuts: &[usize],
    stream: bool,
    include_usage: bool,
) -> (Vec<u8>, Verdict) {
    let body = request(stream, include_usage);
    let mut t = translator(&body, stream);
    let mut out = Vec::new();
    let mut last = 0;
    for &at in cuts.iter().chain(std::iter::once(&input.len())) {
        let at = at.clamp(last, input.len());
        t.push(Bytes::copy_from_slice(&input[last..at]), &mut out)
            .unwrap();
        last = at;
    }
    t.finish(&mut out).unwrap();
    (out.concat(), t.verdict())
}

/// What a client assembles from a translated stream.
#[derive(Debug, Default, PartialEq)]
struct Assembled {
    id: String,
    model: String,
    content: String,
    tool_calls: Vec<(String, String, String)>,
    finish: Option<String>,
    usage: Option<Value>,
    done: bool,
}

fn assemble(sse: &[u8]) -> Assembled {
    let text = std::str::from_utf8(sse).unwrap();
    let mut a = Assembled::default();
    for event in text.split("\n\n").filter(|e| !e.is_empty()) {
        let data = event.strip_prefix("data: ").expect("only data events");
        if data == "[DONE]" {
            a.done = true;
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["object"], "chat.completion.chunk");
        a.id = v["id"].as_str().unwrap().to_owned();
        a.model = v["model"].as_str().unwrap().to_owned();
        if !v["usage"].is_null() {
            a.usage = Some(v["usage"].clone());
        }
        for c in v["choices"].as_array().unwrap() {
            let d = &c["delta"];
            if let Some(t) = d["content"].as_str() {
                a.content.push_str(t);
            }
            for tc in d["tool_calls"].as_array().into_iter().flatten() {
                let i = tc["index"].as_u64().unwrap() as usize;
                if let Some(id) = tc["id"].as_str() {
                    assert_eq!(i, a.tool_calls.len(), "tool call indexes are dense");
                    let name = tc["function"]["name"].as_str().unwrap().to_owned();
                    a.tool_calls.push((id.to_owned(), name, String::new()));
                }
                a.tool_calls[i].2 += tc["function"]["arguments"].as_str().unwrap_or("");
            }
            if let Some(f) = c["finish_reason"].as_str() {
                a.finish = Some(f.to_owned());
            }
        }
    }
    a
}

#[test]
fn documented_message_becomes_a_chat_completion() {
    let (out, verdict) = translate(&fixture("message_text.json"), &[], false, false);
    assert_eq!(verdict, Verdict::Healthy);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "claude-sonnet-4-5-20250929",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi! My name is Claude.", "refusal": null}, "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": 2095, "completion_tokens": 503, "total_tokens": 2598},
        })
    );
}

#[test]
fn documented_tool_use_becomes_tool_calls() {
    let (out, _) = translate(&fixture("message_tool_use.json"), &[], false, false);
    let v: Value = serde_json::from_slice(&out).unwrap();
    let m = &v["choices"][0]["message"];
    assert_eq!(
        m["content"],
        "I'll check the current weather in San Francisco for you."
    );
    assert_eq!(m["tool_calls"][0]["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(m["tool_calls"][0]["type"], "function");
    assert_eq!(m["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(
        m["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn documented_error_becomes_an_openai_error() {
    let e = dialect_for(DialectKind::Anthropic).error_body(
        &provider(),
        404,
        &fixture("error_not_found.json"),
    );
    let v: Value = serde_json::from_slice(&e.to_json()).unwrap();
    assert_eq!(
        v,
        json!({"error": {"message": "The requested resource could not be found.", "type": "invalid_request_error", "param": null, "code": "not_found_error"}, "provider": "claude"})
    );
}

#[test]
fn documented_text_stream() {
    let (out, verdict) = translate(&fixture("stream_text.sse"), &[], true, true);
    assert_eq!(verdict, Verdict::Healthy);
    let a = assemble(&out);
    assert_eq!(a.id, "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
    assert_eq!(a.model, "claude-sonnet-4-5-20250929");
    assert_eq!(a.content, "Hello!");
    assert_eq!(a.finish.as_deref(), Some("stop"));
    assert_eq!(
        a.usage,
        Some(json!({"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40}))
    );
    assert!(a.done);
}

#[test]
fn usage_chunk_only_when_asked() {
    let (out, _) = translate(&fixture("stream_text.sse"), &[], true, false);
    let a = assemble(&out);
    assert_eq!(a.usage, None);
    assert!(!String::from_utf8(out).unwrap().contains("\"usage\""));
    let body = request(true, false);
    let mut t = translator(&body, true);
    let mut out = Vec::new();
    t.push(Bytes::from(fixture("stream_text.sse")), &mut out)
        .unwrap();
    t.finish(&mut out).unwrap();
    assert_eq!(
        t.usage().unwrap().total_tokens,
        40,
        "the gateway always gets usage"
    );
}

#[test]
fn documented_tool_use_stream() {
    let (out, _) = translate(&fixture("stream_tool_use.sse"), &[], true, true);
    let a = assemble(&out);
    assert_eq!(
        a.content,
        "Okay, let's check the weather for San Francisco, CA:"
    );
    assert_eq!(a.tool_calls.len(), 1);
    let (id, name, args) = &a.tool_calls[0];
    assert_eq!(id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_eq!(name, "get_weather");
    let args: Value = serde_json::from_str(args).unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "fahrenheit"})
    );
    assert_eq!(a.finish.as_deref(), Some("tool_calls"));
    assert_eq!(a.usage.unwrap()["completion_tokens"], 89);
}

#[test]
fn recorded_stream_with_cumulative_usage() {
    let (out, _) = translate(&fixture("stream_cache_usage.sse"), &[], true, true);
    let a = assemble(&out);
    assert_eq!(a.tool_calls[0].1, "json");
    let args: Value = serde_json::from_str(&a.tool_calls[0].2).unwrap();
    assert_eq!(args["elements"][0]["temperature"], 58);
    assert_eq!(
        a.usage,
        Some(json!({"prompt_tokens": 849, "completion_tokens": 47, "total_tokens": 896}))
    );
}

#[test]
fn thinking_is_dropped_and_cached_tokens_are_counted() {
    let (out, _) = translate(&fixture("stream_thinking_utf8.sse"), &[], true, true);
    let a = assemble(&out);
    assert_eq!(a.content, "27 × 453 = 12 231 — voilà, ça fait 😀");
    assert_eq!(
        a.usage,
        Some(
            json!({"prompt_tokens": 2140, "completion_tokens": 120, "total_tokens": 2260, "prompt_tokens_details": {"cached_tokens": 2000}})
        )
    );
}

#[test]
fn a_documented_error_event_first_fails_the_attempt() {
    let (out, verdict) = translate(&fixture("stream_error_overloaded.sse"), &[], true, false);
    assert!(out.is_empty());
    match verdict {
        Verdict::Failed { status, error } => {
            assert_eq!(status, 529);
            assert_eq!(error.message, "Overloaded");
            assert_eq!(error.code.as_deref(), Some("overloaded_error"));
        }
        v => panic!("{v:?}"),
    }
}

const STREAMS: &[&str] = &[
    "stream_text.sse",
    "stream_tool_use.sse",
    "stream_cache_usage.sse",
    "stream_thinking_utf8.sse",
    "stream_error_overloaded.sse",
];

#[test]
fn every_byte_split_gives_identical_output() {
    for name in STREAMS {
        let input = fixture(name);
        let whole = translate(&input, &[], true, true);
        for at in 0..=input.len() {
            assert_eq!(
                translate(&input, &[at], true, true),
                whole,
                "{name} split at {at}"
            );
        }
        // Byte by byte: every boundary at once, including mid-character and mid-frame.
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            translate(&input, &every, true, true),
            whole,
            "{name} byte by byte"
        );
    }
}

#[test]
fn crlf_line_endings_give_the_same_output() {
    for name in STREAMS {
        let input = fixture(name);
        let crlf = String::from_utf8(input.clone())
            .unwrap()
            .replace('\n', "\r\n");
        assert_eq!(
            translate(crlf.as_bytes(), &[], true, true),
            translate(&input, &[], true, true),
            "{name}"
        );
    }
}

fn feed(bytes: &[u8], cuts: &[usize], stream: bool) {
    let body = request(stream, true);
    let mut t = translator(&body, stream);
    let mut out = Vec::new();
    let mut last = 0;
    for &at in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let at = at.clamp(last, bytes.len());
        if t.push(Bytes::copy_from_slice(&bytes[last..at]), &mut out)
            .is_err()
        {
            return;
        }
        last = at;
    }
    let _ = t.finish(&mut out);
    let _ = (t.verdict(), t.usage());
}

fn event_json() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "bogus",
    ]);
    let block = prop::sample::select(vec![
        json!({"type": "text", "text": "x"}),
        json!({"type": "tool_use", "id": "t", "name": "f", "input": {}}),
        json!({"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}),
        json!({"type": "thinking"}),
        json!(null),
        json!(3),
    ]);
    let delta = prop::sample::select(vec![
        json!({"type": "text_delta", "text": "é😀"}),
        json!({"type": "input_json_delta", "partial_json": "{\"a\""}),
        json!({"type": "thinking_delta", "thinking": "hm"}),
        json!({"stop_reason": "tool_use"}),
        json!({}),
        json!("x"),
    ]);
    (kind, any::<u32>().prop_map(|i| i % 4), block, delta).prop_map(
        |(kind, index, block, delta)| {
            json!({
                "type": kind, "index": index, "content_block": block, "delta": delta,
                "message": {"id": "m", "model": "c", "usage": {"input_tokens": index}},
                "usage": {"output_tokens": index},
                "error": {"type": "api_error", "message": "boom"},
            })
            .to_string()
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(0usize..2048, 0..4),
        stream in any::<bool>(),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        feed(&bytes, &cuts, stream);
    }

    #[test]
    fn arbitrary_event_sequences_never_panic(events in proptest::collection::vec(event_json(), 0..24)) {
        let sse: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        feed(sse.as_bytes(), &[], true);
        let body = format!("{{\"type\":\"message\",\"content\":[{}]}}", events.join(","));
        feed(body.as_bytes(), &[], false);
    }

    #[test]
    fn arbitrary_splits_of_a_recorded_stream_agree(cuts in proptest::collection::vec(0usize..4000, 0..8)) {
        let input = fixture("stream_tool_use.sse");
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(translate(&input, &cuts, true, true), translate(&input, &[], true, true));
    }
}

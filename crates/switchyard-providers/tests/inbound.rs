//! Golden tests for the inbound APIs: requests captured from the official SDKs translated to
//! chat, and canonical chat output translated to Messages and Responses, plain and streamed.
//! Fixtures live under `tests/fixtures/inbound/` (`sdk/` captured requests, `chat/` canonical
//! output, `golden/` expected translations); `UPDATE_GOLDEN=1` rewrites `golden/`, and
//! `tests/sdk/check.py` feeds the golden outputs to the SDKs themselves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Value};
use switchyard_providers::canonical::{ChatRequest, ChunkWriter, FinishReason};
use switchyard_providers::inbound::{count_tokens, to_chat, Chain, InboundApi, InboundTranslator};
use switchyard_providers::sse::SseFramer;
use switchyard_providers::{
    ErrorBody, JsonEnvelope, ResponseTranslator, TranslateError, Usage, Verdict,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inbound")
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn env(bytes: &[u8]) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::copy_from_slice(bytes)).unwrap()
}

/// The captured SDK request body.
fn sdk_body(name: &str) -> JsonEnvelope {
    let fixture: Value = serde_json::from_slice(&read(&format!("sdk/{name}.json"))).unwrap();
    env(&serde_json::to_vec(&fixture["body"]).unwrap())
}

/// Compares with `golden/<name>`, or writes it when `UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &[u8]) {
    let path = dir().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{name}: {e} (run with UPDATE_GOLDEN=1)"));
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "golden {name}"
    );
}

fn pretty(bytes: &[u8]) -> Vec<u8> {
    let v: Value = serde_json::from_slice(bytes).unwrap();
    let mut out = serde_json::to_vec_pretty(&v).unwrap();
    out.push(b'\n');
    out
}

fn api_name(api: InboundApi) -> &'static str {
    match api {
        InboundApi::Messages => "messages",
        InboundApi::Responses => "responses",
        InboundApi::Chat => "chat",
    }
}

/// Translates canonical output `pieces` for a client of `api` that sent `request`.
fn translate(
    api: InboundApi,
    request: &JsonEnvelope,
    stream: bool,
    pieces: &[&[u8]],
) -> (Vec<u8>, Result<(), TranslateError>, Verdict, Option<Usage>) {
    let mut t = InboundTranslator::new(api, request, stream)
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    for p in pieces {
        if let Err(e) = t.push(Bytes::copy_from_slice(p), &mut out) {
            return (out.concat(), Err(e), t.verdict(), t.usage());
        }
    }
    let r = t.finish(&mut out);
    (out.concat(), r, t.verdict(), t.usage())
}

/// `(event name, data)` of every event in an SSE body.
fn events(sse: &[u8]) -> Vec<(String, Value)> {
    let mut f = SseFramer::new();
    f.push(sse).unwrap();
    let mut out = Vec::new();
    while let Some(e) = f.next_event().unwrap() {
        out.push((
            e.event.unwrap_or_default(),
            serde_json::from_slice(&e.data).unwrap(),
        ));
    }
    assert!(f.finish().unwrap().is_none(), "trailing bytes");
    out
}

fn request_for(api: InboundApi, stream: bool) -> JsonEnvelope {
    match (api, stream) {
        (InboundApi::Messages, false) => sdk_body("messages_plain"),
        (InboundApi::Messages, true) => sdk_body("messages_stream"),
        (InboundApi::Responses, false) => sdk_body("responses_plain"),
        _ => sdk_body("responses_stream"),
    }
}

const REQUESTS: [(&str, InboundApi); 8] = [
    ("messages_plain", InboundApi::Messages),
    ("messages_stream", InboundApi::Messages),
    ("messages_tools", InboundApi::Messages),
    ("messages_image", InboundApi::Messages),
    ("responses_plain", InboundApi::Responses),
    ("responses_stream", InboundApi::Responses),
    ("responses_tools", InboundApi::Responses),
    ("responses_image", InboundApi::Responses),
];

#[test]
fn sdk_requests_translate_to_golden_chat_requests() {
    for (name, api) in REQUESTS {
        let chat = to_chat(api, &sdk_body(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        golden(&format!("{name}.chat.json"), &pretty(chat.raw()));
        // The result is a chat request every native dialect can read.
        ChatRequest::from_envelope(&chat).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn translated_requests_keep_what_matters() {
    let chat = |name, api| -> Value {
        serde_json::from_slice(to_chat(api, &sdk_body(name)).unwrap().raw()).unwrap()
    };
    let m = chat("messages_plain", InboundApi::Messages);
    assert_eq!(
        m["messages"][0],
        json!({"role":"system","content":"You are brief."})
    );
    assert_eq!(m["max_completion_tokens"], 256);
    assert_eq!(
        (m["temperature"].clone(), m["top_k"].clone()),
        (json!(0.2), json!(40))
    );
    assert_eq!(m["stop"], json!(["END"]));
    assert_eq!(m["user"], "user-42");
    let s = chat("messages_stream", InboundApi::Messages);
    assert_eq!(s["stream_options"], json!({"include_usage": true}));
    assert_eq!(s["reasoning_effort"], "medium");
    let t = chat("messages_tools", InboundApi::Messages);
    assert_eq!(t["tool_choice"], "required");
    assert_eq!(t["parallel_tool_calls"], false);
    assert_eq!(
        t["messages"][1]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(
        t["messages"][2],
        json!({"role":"tool","content":"21°C, sunny","tool_call_id":"toolu_01"})
    );
    assert_eq!(
        t["messages"][3],
        json!({"role":"user","content":"Now Rome."})
    );
    let i = chat("messages_image", InboundApi::Messages);
    let parts = &i["messages"][0]["content"];
    assert!(parts[0]["image_url"]["url"]
        .as_str()
        .unwrap()
        .starts_with("data:image/png;base64,iVBOR"));
    assert_eq!(parts[1]["image_url"]["url"], "https://example.com/cat.jpg");
    assert_eq!(parts[2]["file"]["filename"], "report.pdf");
    assert!(parts[2]["file"]["file_data"]
        .as_str()
        .unwrap()
        .starts_with("data:application/pdf;base64,"));
    let r = chat("responses_tools", InboundApi::Responses);
    assert_eq!(r["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(r["tools"][0]["function"]["strict"], true);
    assert_eq!(
        r["tool_choice"],
        json!({"type":"function","function":{"name":"get_weather"}})
    );
    assert_eq!(r["messages"][1]["tool_calls"][0]["id"], "call_01");
    assert_eq!(r["messages"][2]["tool_call_id"], "call_01");
    let p = chat("responses_plain", InboundApi::Responses);
    assert_eq!(p["response_format"]["json_schema"]["name"], "answer");
    assert!(p.get("metadata").is_none() && p.get("store").is_none());
}

#[test]
fn untranslatable_requests_name_the_exact_param() {
    let param = |api, body: Value| match to_chat(api, &env(&serde_json::to_vec(&body).unwrap())) {
        Err(TranslateError::InvalidRequest { param, .. }) => param.unwrap_or_default(),
        other => panic!("{body}: {other:?}"),
    };
    let user = json!([{"role":"user","content":"hi"}]);
    let m = |extra: Value| {
        let mut b = json!({"model":"m","max_tokens":10,"messages":user});
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let cases = [
        (
            InboundApi::Messages,
            json!({"model":"m","messages":user}),
            "max_tokens",
        ),
        (
            InboundApi::Messages,
            m(json!({"container":"c"})),
            "container",
        ),
        (
            InboundApi::Messages,
            m(json!({"tools":[{"type":"web_search_20250305","name":"web_search"}]})),
            "tools[0].type",
        ),
        (
            InboundApi::Messages,
            m(
                json!({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"file","file_id":"f"}}]}]}),
            ),
            "messages[0].content[1].source.type",
        ),
        (
            InboundApi::Messages,
            m(json!({"messages":[{"role":"user","content":[{"type":"text","txt":"a"}]}]})),
            "messages[0].content[0].txt",
        ),
        (
            InboundApi::Messages,
            m(
                json!({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"The answer is"}]}),
            ),
            "messages[1]",
        ),
        (
            InboundApi::Messages,
            m(
                json!({"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]}),
            ),
            "messages[0].content[0].source.type",
        ),
        (
            InboundApi::Messages,
            m(json!({"thinking":{"type":"sometimes"}})),
            "thinking.type",
        ),
        (
            InboundApi::Messages,
            m(json!({"tool_choice":{"type":"tool"}})),
            "tool_choice.name",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":"hi","store":true}),
            "store",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":"hi","previous_response_id":"resp_1"}),
            "previous_response_id",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":"hi","tools":[{"type":"web_search"}]}),
            "tools[0].type",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}),
            "input[0]",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f","detail":"auto"}]}]}),
            "input[0].content[0].file_id",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":"hi","top_logprobs":2}),
            "top_logprobs",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":[{"role":"user","content":5}]}),
            "input[0].content",
        ),
        (
            InboundApi::Responses,
            json!({"model":"m","input":"hi","max_output_tokens":"x"}),
            "max_output_tokens",
        ),
    ];
    for (api, body, expected) in cases {
        assert_eq!(param(api, body.clone()), expected, "{body}");
    }
}

#[test]
fn chat_output_translates_to_golden_responses() {
    for api in [InboundApi::Messages, InboundApi::Responses] {
        for case in ["completion_text", "completion_tools"] {
            let body = read(&format!("chat/{case}.json"));
            let (out, r, verdict, usage) =
                translate(api, &request_for(api, false), false, &[&body]);
            r.unwrap();
            assert_eq!(verdict, Verdict::Healthy);
            assert!(usage.is_some());
            golden(&format!("{}_{case}.json", api_name(api)), &pretty(&out));
        }
        for case in ["stream_text", "stream_tools", "stream_error"] {
            let body = read(&format!("chat/{case}.sse"));
            let (out, r, verdict, _) = translate(api, &request_for(api, true), true, &[&body]);
            r.unwrap();
            assert_eq!(verdict, Verdict::Healthy);
            golden(&format!("{}_{case}.sse", api_name(api)), &out);
        }
    }
}

#[test]
fn messages_output_says_what_the_sdk_reads() {
    let (out, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, false),
        false,
        &[&read("chat/completion_text.json")],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["id"], "msg_chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
    assert_eq!(
        v["content"],
        json!([{"type":"text","text":"The capital of France is Paris."}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(
        v["usage"],
        json!({"input_tokens":93,"output_tokens":46,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024})
    );
    let (out, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, false),
        false,
        &[&read("chat/completion_tools.json")],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["stop_reason"], "tool_use");
    assert_eq!(
        v["content"][1],
        json!({"type":"tool_use","id":"call_abc123","name":"get_weather","input":{"city":"Paris"}})
    );

    let (sse, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, true),
        true,
        &[&read("chat/stream_tools.sse")],
    );
    let ev = events(&sse);
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    for (name, data) in &ev {
        assert_eq!(
            data["type"],
            name.as_str(),
            "the event name is the data's type"
        );
    }
    assert_eq!(ev[12].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(ev[12].1["usage"]["output_tokens"], 17);
    assert_eq!(
        ev[9].1["content_block"],
        json!({"type":"tool_use","id":"call_def456","name":"get_weather","input":{}})
    );
}

#[test]
fn responses_output_says_what_the_sdk_reads() {
    let (out, ..) = translate(
        InboundApi::Responses,
        &request_for(InboundApi::Responses, false),
        false,
        &[&read("chat/completion_tools.json")],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "Checking both cities."
    );
    assert_eq!(
        v["output"][1],
        json!({"id":"fc_call_abc123","type":"function_call","status":"completed","arguments":"{\"city\":\"Paris\"}","call_id":"call_abc123","name":"get_weather"})
    );
    assert_eq!(v["metadata"], json!({"ticket":"42"}), "metadata is echoed");
    assert_eq!(v["store"], false);
    assert_eq!(v["usage"]["total_tokens"], 99);

    let (sse, ..) = translate(
        InboundApi::Responses,
        &request_for(InboundApi::Responses, true),
        true,
        &[&read("chat/stream_text.sse")],
    );
    let ev = events(&sse);
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (name, data)) in ev.iter().enumerate() {
        assert_eq!(data["type"], name.as_str());
        assert_eq!(data["sequence_number"], i, "sequence numbers count events");
    }
    let done = &ev[9].1["response"];
    assert_eq!(
        done["output"][0]["content"][0]["text"],
        "The capital of France is Paris — «Paris» 🗼."
    );
    assert_eq!(
        done["usage"],
        json!({"input_tokens":20,"input_tokens_details":{"cached_tokens":8},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":32})
    );
}

#[test]
fn a_length_finish_is_incomplete_and_max_tokens() {
    let body = br#"{"id":"x","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"cut"},"finish_reason":"length"}]}"#;
    let (out, ..) = translate(
        InboundApi::Responses,
        &request_for(InboundApi::Responses, false),
        false,
        &[body],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        (
            v["status"].as_str(),
            v["incomplete_details"]["reason"].as_str()
        ),
        (Some("incomplete"), Some("max_output_tokens"))
    );
    assert_eq!(v["output"][0]["status"], "incomplete");
    let (out, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, false),
        false,
        &[body],
    );
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["model"], "m");
}

#[test]
fn stream_errors_end_in_each_apis_terminal_events() {
    let (sse, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, true),
        true,
        &[&read("chat/stream_error.sse")],
    );
    let ev = events(&sse);
    let last = ev.last().unwrap();
    assert_eq!(last.0, "error");
    assert_eq!(
        last.1,
        json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})
    );
    assert!(!ev.iter().any(|(n, _)| n == "message_stop"));

    let (sse, ..) = translate(
        InboundApi::Responses,
        &request_for(InboundApi::Responses, true),
        true,
        &[&read("chat/stream_error.sse")],
    );
    let ev = events(&sse);
    let n = ev.len();
    assert_eq!(ev[n - 2].0, "error");
    assert_eq!(ev[n - 2].1["code"], "overloaded_error");
    assert_eq!(ev[n - 1].0, "response.failed");
    assert_eq!(ev[n - 1].1["response"]["status"], "failed");
    assert_eq!(ev[n - 1].1["response"]["error"]["message"], "Overloaded");

    // An error before anything was written fails the attempt instead (it may fail over).
    let first = b"data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":null}}\n\n";
    for api in [InboundApi::Messages, InboundApi::Responses] {
        let (out, r, verdict, _) = translate(api, &request_for(api, true), true, &[first]);
        r.unwrap();
        assert!(out.is_empty());
        assert!(
            matches!(verdict, Verdict::Failed { status: 429, .. }),
            "{verdict:?}"
        );
    }

    // An error the gateway sees (the connection broke) ends the stream the same way.
    let mut t = InboundTranslator::new(
        InboundApi::Responses,
        &request_for(InboundApi::Responses, true),
        true,
    )
    .unwrap()
    .unwrap();
    let mut out = Vec::new();
    let text = read("chat/stream_text.sse");
    t.push(Bytes::copy_from_slice(&text[..300]), &mut out)
        .unwrap();
    t.fail(
        &ErrorBody::new(
            "the provider's response broke off",
            "upstream_error",
            Some("upstream_reset"),
        ),
        &mut out,
    );
    let ev = events(&out.concat());
    assert_eq!(ev.last().unwrap().0, "response.failed");
    // A stream cut without a finish reason is an error for the gateway to report.
    let (_, r, ..) = translate(
        InboundApi::Messages,
        &request_for(InboundApi::Messages, true),
        true,
        &[&text[..300]],
    );
    assert!(r.is_err());
}

#[test]
fn a_pretty_printed_request_still_streams_one_line_events() {
    let request = env(b"{\n  \"model\": \"m\",\n  \"stream\": true,\n  \"input\": \"hi\",\n  \"metadata\": {\n    \"a\": \"b\\nc\"\n  }\n}");
    let (sse, r, ..) = translate(
        InboundApi::Responses,
        &request,
        true,
        &[&read("chat/stream_text.sse")],
    );
    r.unwrap();
    let ev = events(&sse);
    assert_eq!(ev.len(), 10);
    assert_eq!(ev[0].1["response"]["metadata"], json!({"a": "b\nc"}));
}

#[test]
fn error_bodies_take_each_apis_shape() {
    let e = ErrorBody::new("Rate limited", "rate_limit_error", None).with_provider("p");
    let m: Value = serde_json::from_slice(&InboundApi::Messages.error_body(429, &e)).unwrap();
    assert_eq!(
        m,
        json!({"type":"error","error":{"type":"rate_limit_error","message":"Rate limited"}})
    );
    let r: Value = serde_json::from_slice(&InboundApi::Responses.error_body(429, &e)).unwrap();
    assert_eq!(r["error"]["message"], "Rate limited");
    assert_eq!(r["error"]["type"], "rate_limit_error");
}

fn split_all(api: InboundApi, input: &[u8]) {
    let request = request_for(api, true);
    let (whole, r, ..) = translate(api, &request, true, &[input]);
    r.unwrap();
    for at in 0..=input.len() {
        let (split, r, ..) = translate(api, &request, true, &[&input[..at], &input[at..]]);
        r.unwrap();
        assert_eq!(split, whole, "{} split at {at}", api_name(api));
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let (single, ..) = translate(api, &request, true, &bytes);
    assert_eq!(single, whole, "one byte at a time");
}

#[test]
fn every_split_point_of_a_stream_gives_the_same_output() {
    for api in [InboundApi::Messages, InboundApi::Responses] {
        for case in ["stream_text", "stream_tools", "stream_error"] {
            split_all(api, &read(&format!("chat/{case}.sse")));
        }
        // A plain body split anywhere is the same body.
        let body = read("chat/completion_tools.json");
        let (whole, ..) = translate(api, &request_for(api, false), false, &[&body]);
        for at in (0..=body.len()).step_by(7) {
            let (split, ..) = translate(
                api,
                &request_for(api, false),
                false,
                &[&body[..at], &body[at..]],
            );
            assert_eq!(split, whole);
        }
    }
}

#[test]
fn an_anthropic_stream_chained_into_the_responses_api() {
    // Provider (Anthropic) → canonical chat → Responses: the chain used for a Responses client
    // served by an Anthropic target.
    use switchyard_providers::{
        dialect_for, AuthStyle, Call, DialectKind, Endpoint, ProviderEndpoint, ProviderKind, Secret,
    };
    let provider = ProviderEndpoint {
        name: "claude".into(),
        kind: ProviderKind::Anthropic,
        authority: "api.anthropic.com".into(),
        base_path: "/v1".into(),
        api_key: Secret::new("k"),
        headers: vec![],
        stream_usage: false,
        auth: AuthStyle::Header("x-api-key"),
        options: Default::default(),
    };
    // (The captured stream request asks for `reasoning.effort`, which the Anthropic dialect
    // refuses: Anthropic targets take thinking through the Messages passthrough.)
    let inbound = env(br#"{"model":"claude","stream":true,"input":"Weather in Paris?","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}]}"#);
    let chat = to_chat(InboundApi::Responses, &inbound).unwrap();
    let call = Call {
        endpoint: Endpoint::ChatCompletions,
        body: &chat,
        form: None,
        model: "claude-sonnet-4-5",
        stream: true,
        client_key: None,
        now: std::time::SystemTime::UNIX_EPOCH,
    };
    let dialect = dialect_for(DialectKind::Anthropic);
    dialect.build_request(&provider, &call).unwrap();
    let upstream = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/anthropic/stream_tool_use.sse"),
    )
    .unwrap();
    let mut chain = Chain::new(
        dialect.response_translator(&provider, &call),
        InboundTranslator::new(InboundApi::Responses, &inbound, true)
            .unwrap()
            .unwrap(),
    );
    let mut out = Vec::new();
    for piece in upstream.chunks(97) {
        chain.push(Bytes::copy_from_slice(piece), &mut out).unwrap();
    }
    chain.finish(&mut out).unwrap();
    assert_eq!(chain.verdict(), Verdict::Healthy);
    assert_eq!(chain.content_type(), "text/event-stream");
    assert!(chain.usage().is_some_and(|u| u.prompt_tokens > 0));
    let ev = events(&out.concat());
    let done = &ev.last().unwrap().1;
    assert_eq!(ev.last().unwrap().0, "response.completed", "{done}");
    let calls: Vec<&Value> = done["response"]["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "function_call")
        .collect();
    assert!(!calls.is_empty());
    let args: Value = serde_json::from_str(calls[0]["arguments"].as_str().unwrap()).unwrap();
    assert!(args.is_object());
}

#[test]
fn count_tokens_estimates_a_captured_request() {
    let body = sdk_body("messages_count_tokens");
    let out: Value = serde_json::from_slice(&count_tokens(&body).unwrap()).unwrap();
    let n = out["input_tokens"].as_u64().unwrap();
    // 30 bytes of text + tool name, description and schema, plus the tool prompt.
    assert!(n > 346 && n < 400, "{n}");
}

fn chat_stream(deltas: &[String], tool_args: &[String]) -> Vec<u8> {
    let mut w = ChunkWriter::new("chatcmpl-p", "m", 1, true);
    let mut out = Vec::new();
    w.start(&mut out);
    for d in deltas {
        w.content(d, &mut out);
    }
    if !tool_args.is_empty() {
        w.tool_call_start(0, "call_p", "f", &mut out);
        for a in tool_args {
            w.tool_call_arguments(0, a, &mut out);
        }
    }
    w.finish(
        if tool_args.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        },
        &mut out,
    );
    w.done(
        Some(Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            cached_tokens: 0,
        }),
        &mut out,
    );
    out.concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streamed_text_and_arguments_arrive_whole(
        deltas in proptest::collection::vec("\\PC{0,12}", 0..6),
        args in proptest::collection::vec("[a-z\"{}:,\\\\ é]{1,6}", 0..4),
        split in 0usize..2000,
    ) {
        let input = chat_stream(&deltas, &args);
        let at = split.min(input.len());
        let text: String = deltas.concat();
        let arguments: String = args.concat();

        let (sse, r, ..) = translate(InboundApi::Messages, &request_for(InboundApi::Messages, true), true, &[&input[..at], &input[at..]]);
        prop_assert!(r.is_ok());
        let ev = events(&sse);
        let got: String = ev.iter().filter_map(|(_, d)| d["delta"]["text"].as_str()).collect();
        prop_assert_eq!(&got, &text);
        let got_args: String = ev.iter().filter_map(|(_, d)| d["delta"]["partial_json"].as_str()).collect();
        prop_assert_eq!(&got_args, &arguments);
        prop_assert_eq!(ev.last().map(|e| e.0.as_str()), Some("message_stop"));

        let (sse, r, ..) = translate(InboundApi::Responses, &request_for(InboundApi::Responses, true), true, &[&input[..at], &input[at..]]);
        prop_assert!(r.is_ok());
        let ev = events(&sse);
        let done = &ev.last().unwrap().1["response"];
        let out_text: String = done["output"].as_array().unwrap().iter()
            .filter(|i| i["type"] == "message")
            .filter_map(|i| i["content"][0]["text"].as_str()).collect();
        prop_assert_eq!(&out_text, &text);
        let deltas_text: String = ev.iter().filter(|(n, _)| n == "response.output_text.delta").filter_map(|(_, d)| d["delta"].as_str()).collect();
        prop_assert_eq!(&deltas_text, &text);
        if !args.is_empty() {
            let call = done["output"].as_array().unwrap().iter().find(|i| i["type"] == "function_call").unwrap();
            prop_assert_eq!(call["arguments"].as_str(), Some(arguments.as_str()));
        }
    }

    #[test]
    fn arbitrary_output_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), stream in any::<bool>()) {
        for api in [InboundApi::Messages, InboundApi::Responses] {
            let _ = translate(api, &request_for(api, stream), stream, &[&bytes]);
        }
    }

    #[test]
    fn arbitrary_requests_never_panic(body in "\\PC{0,200}") {
        if let Ok(e) = JsonEnvelope::parse(Bytes::from(body)) {
            for api in [InboundApi::Messages, InboundApi::Responses] {
                let _ = to_chat(api, &e);
            }
            let _ = count_tokens(&e);
        }
    }
}

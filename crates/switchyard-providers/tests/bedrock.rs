//! Golden tests for the Bedrock dialect against documented Converse examples
//! (`tests/fixtures/bedrock/SOURCES.md` says where each comes from).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};
use switchyard_providers::bedrock::eventstream;
use switchyard_providers::sse::SseFramer;
use switchyard_providers::{
    dialect_for, AuthStyle, AwsCredentials, Call, DialectKind, Endpoint, JsonEnvelope,
    ProviderEndpoint, ProviderKind, ProviderOptions, Secret, Verdict,
};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/bedrock/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn provider() -> ProviderEndpoint {
    ProviderEndpoint {
        name: "bedrock".into(),
        kind: ProviderKind::Bedrock,
        authority: "bedrock-runtime.us-west-2.amazonaws.com".into(),
        base_path: String::new(),
        api_key: Secret::default(),
        headers: vec![],
        stream_usage: false,
        auth: AuthStyle::AwsSigV4,
        options: ProviderOptions {
            region: Some("us-west-2".into()),
            aws: Some(AwsCredentials {
                access_key_id: Secret::new("AKIAIOSFODNN7EXAMPLE"),
                secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                session_token: None,
            }),
            ..Default::default()
        },
    }
}

fn call<'a>(body: &'a JsonEnvelope, stream: bool) -> Call<'a> {
    Call {
        form: None,
        endpoint: Endpoint::ChatCompletions,
        body,
        model: "cohere.command-r-v1:0",
        stream,
        client_key: None,
        now: UNIX_EPOCH + Duration::from_secs(1_717_200_000),
    }
}

fn envelope(s: &str) -> JsonEnvelope {
    JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
}

#[test]
fn the_tool_use_conversation_becomes_the_documented_converse_body() {
    let body = envelope(&fixture("openai_tool_request.json"));
    let req = dialect_for(DialectKind::Bedrock)
        .build_request(&provider(), &call(&body, false))
        .unwrap();
    let got: Value = serde_json::from_slice(&req.body).unwrap();
    let want: Value = serde_json::from_str(&fixture("converse_tool_request.json")).unwrap();
    assert_eq!(got, want);
    assert_eq!(req.path, "/model/cohere.command-r-v1%3A0/converse");
}

fn translate(body: &str) -> Value {
    let env = envelope(r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#);
    let p = provider();
    let mut t = dialect_for(DialectKind::Bedrock).response_translator(&p, &call(&env, false));
    let mut out = Vec::new();
    t.push(Bytes::copy_from_slice(body.as_bytes()), &mut out)
        .unwrap();
    t.finish(&mut out).unwrap();
    assert_eq!(t.verdict(), Verdict::Healthy);
    serde_json::from_slice(&out.concat()).unwrap()
}

#[test]
fn the_documented_text_answer_translates() {
    let v = translate(&fixture("converse_text_response.json"));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "cohere.command-r-v1:0");
    assert!(v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("Here is a list of 3 pop songs"));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 125, "completion_tokens": 60, "total_tokens": 185})
    );
}

#[test]
fn the_documented_tool_use_answer_translates() {
    let v = translate(&fixture("converse_tool_use_response.json"));
    let m = &v["choices"][0]["message"];
    assert!(m["content"].is_null());
    assert_eq!(
        m["tool_calls"],
        json!([{"id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function", "function": {"name": "top_song", "arguments": "{\"sign\":\"WZPZ\"}"}}])
    );
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
    assert!(v.get("usage").is_none());
}

fn recorded_stream() -> Vec<u8> {
    let events: Vec<(String, Value)> =
        serde_json::from_str(&fixture("converse_stream_events.json")).unwrap();
    events
        .iter()
        .flat_map(|(t, p)| eventstream::event(t, &serde_json::to_vec(p).unwrap()))
        .collect()
}

fn stream_output(input: &[u8], split: usize) -> Vec<u8> {
    let env = envelope(
        r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}"#,
    );
    let p = provider();
    let mut c = call(&env, true);
    c.now = SystemTime::UNIX_EPOCH;
    let mut t = dialect_for(DialectKind::Bedrock).response_translator(&p, &c);
    let mut out = Vec::new();
    t.push(Bytes::copy_from_slice(&input[..split]), &mut out)
        .unwrap();
    t.push(Bytes::copy_from_slice(&input[split..]), &mut out)
        .unwrap();
    t.finish(&mut out).unwrap();
    assert_eq!(t.verdict(), Verdict::Healthy);
    assert_eq!(t.usage().unwrap().total_tokens, 185);
    // Ids differ per translator; compare everything else.
    let text = String::from_utf8(out.concat()).unwrap();
    let id_start = text.find("chatcmpl-bedrock-").unwrap();
    let id = &text[id_start..id_start + text[id_start..].find('"').unwrap()];
    text.replace(id, "ID").into_bytes()
}

#[test]
fn the_documented_stream_translates_the_same_at_every_split() {
    let input = recorded_stream();
    let whole = stream_output(&input, 0);
    let mut f = SseFramer::new();
    f.push(&whole).unwrap();
    let mut data = Vec::new();
    while let Some(e) = f.next_event().unwrap() {
        data.push(e.data);
    }
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_slice::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        text,
        "The most popular song on WZPZ is Elemental Hotel by 8 Storey Hike."
    );
    let args: String = data
        .iter()
        .filter_map(|d| serde_json::from_slice::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(args, "{\"sign\": \"WZPZ\"}");
    assert_eq!(data.last().unwrap().as_ref(), b"[DONE]");
    for split in 0..=input.len() {
        assert_eq!(stream_output(&input, split), whole, "split at {split}");
    }
}

//! The Anthropic dialect end to end: an OpenAI SDK (`async-openai`) talks to the gateway, the
//! gateway talks Anthropic's Messages API to the mock, which validates requests like the real
//! API. Plain and streamed answers, tool calls (plain, streamed, round trip), images, provider
//! errors, failover on an error as the first stream event, and parameters Claude cannot
//! honour.

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{CreateChatCompletionRequest, FinishReason};
use async_openai::Client;
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const KEY: &str = "sk-ant-mock-key";

fn provider_yaml(name: &str, mock: &MockServer) -> String {
    format!(
        "  {name}:\n    kind: anthropic\n    base_url: {}\n    api_key: {KEY}\n    models: [claude-sonnet-4-5]\n",
        mock.base_url()
    )
}

/// One Anthropic provider `claude` with a route `claude`.
fn config(mock: &MockServer) -> String {
    format!(
        "providers:\n{}routes:\n  claude:\n    targets:\n      - {{ provider: claude, model: claude-sonnet-4-5 }}\n",
        provider_yaml("claude", mock)
    )
}

async fn start() -> (MockServer, Gateway) {
    let mock = MockServer::start_with(&["--api-key", KEY]).await;
    let gw = Gateway::start(&config(&mock)).await;
    (mock, gw)
}

/// An SDK request from JSON, so the test reads like the wire.
fn req(v: Value) -> CreateChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
    ])
}

/// What a client assembles from a stream: text, tool calls by index, finish, usage, chunks.
#[derive(Debug, Default)]
struct Streamed {
    text: String,
    calls: Vec<(String, String, String)>,
    argument_chunks: usize,
    finish: Option<FinishReason>,
    usage: Option<(u32, u32)>,
}

async fn stream(client: &Client<OpenAIConfig>, r: CreateChatCompletionRequest) -> Streamed {
    let mut s = client.chat().create_stream(r).await.unwrap();
    let mut out = Streamed::default();
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        if let Some(u) = chunk.usage {
            out.usage = Some((u.prompt_tokens, u.completion_tokens));
        }
        for c in chunk.choices {
            if let Some(t) = c.delta.content {
                out.text.push_str(&t);
            }
            for tc in c.delta.tool_calls.unwrap_or_default() {
                let i = tc.index as usize;
                if let Some(id) = tc.id {
                    assert_eq!(i, out.calls.len(), "tool call indexes count up from 0");
                    let name = tc.function.as_ref().and_then(|f| f.name.clone()).unwrap();
                    out.calls.push((id, name, String::new()));
                }
                if let Some(a) = tc
                    .function
                    .and_then(|f| f.arguments)
                    .filter(|a| !a.is_empty())
                {
                    out.argument_chunks += 1;
                    out.calls[i].2.push_str(&a);
                }
            }
            if let Some(f) = c.finish_reason {
                out.finish = Some(f);
            }
        }
    }
    out
}

#[tokio::test]
async fn plain_chat_with_a_system_prompt() {
    let (mock, gw) = start().await;
    let r = gw
        .openai()
        .chat()
        .create(req(json!({"model": "claude", "temperature": 0.2, "stop": ["END"], "user": "u-1", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hello there"}
        ]})))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: hello there t1 t2 t3 t4")
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.model, "claude-sonnet-4-5");
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.total_tokens),
        (4, 5, 9)
    );

    let seen = mock.requests().await;
    assert_eq!(seen.len(), 1);
    let (h, b) = (&seen[0]["headers"], &seen[0]["body"]);
    assert_eq!(seen[0]["path"], "/v1/messages");
    assert_eq!(h["x-api-key"], KEY);
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert!(h.get("authorization").is_none(), "{h}");
    assert_eq!(
        *b,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": "be brief",
               "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}],
               "temperature": 0.2, "stop_sequences": ["END"], "metadata": {"user_id": "u-1"}})
    );
}

#[tokio::test]
async fn streamed_chat_with_usage_only_when_asked() {
    let (_mock, gw) = start().await;
    let client = gw.openai();
    let body = json!({"model": "claude", "stream": true, "messages": [{"role": "user", "content": "stream me"}]});
    let plain = stream(&client, req(body.clone())).await;
    assert_eq!(plain.text, "You said: stream me t1 t2 t3 t4");
    assert_eq!(plain.finish, Some(FinishReason::Stop));
    assert_eq!(plain.usage, None);
    let mut asked = body;
    asked["stream_options"] = json!({"include_usage": true});
    let with_usage = stream(&client, req(asked)).await;
    assert_eq!(with_usage.text, plain.text);
    assert_eq!(with_usage.usage, Some((2, 5)));
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_tokens_total",
            &[("route", "claude"), ("type", "completion")]
        ),
        10.0,
        "usage reaches metrics whether or not the client asked: {m}"
    );
}

#[tokio::test]
async fn tool_calls_and_a_tool_round_trip() {
    let (mock, gw) = start().await;
    let client = gw.openai();
    let r = client
        .chat()
        .create(req(
            json!({"model": "claude", "tools": weather_tools(), "tool_choice": "auto",
            "messages": [{"role": "user", "content": "weather and time in parallel"}]}),
        ))
        .await
        .unwrap();
    let choice = &r.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let calls: Value = serde_json::to_value(choice.message.tool_calls.as_ref().unwrap()).unwrap();
    assert_eq!(calls[0]["id"], "toolu_mock_0");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert_eq!(calls[1]["function"]["name"], "get_time");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"input": "weather and time in parallel"}));
    let sent = &mock.requests().await[0]["body"];
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        sent["tools"][0]["input_schema"]["required"],
        json!(["city"])
    );

    // The client sends the results back; the mock checks every tool_use is answered.
    let r = client
        .chat()
        .create(req(
            json!({"model": "claude", "tools": weather_tools(), "messages": [
                {"role": "user", "content": "weather and time in parallel"},
                {"role": "assistant", "content": null, "tool_calls": calls},
                {"role": "tool", "tool_call_id": "toolu_mock_0", "content": "21C"},
                {"role": "tool", "tool_call_id": "toolu_mock_1", "content": "noon"}
            ]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: Tool said: 21C noon t1 t2 t3 t4")
    );
    let sent = &mock.requests().await[1]["body"]["messages"];
    let roles: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert_eq!(sent[2]["content"][1]["type"], "tool_result");
}

#[tokio::test]
async fn streamed_tool_calls_arrive_as_argument_deltas() {
    let (mock, gw) = start().await;
    let s = stream(
        &gw.openai(),
        req(
            json!({"model": "claude", "stream": true, "tools": weather_tools(),
            "parallel_tool_calls": false,
            "messages": [{"role": "user", "content": "weather in parallel"}]}),
        ),
    )
    .await;
    assert_eq!(s.finish, Some(FinishReason::ToolCalls));
    assert_eq!(s.calls.len(), 1, "parallel calls were switched off");
    assert_eq!(s.calls[0].1, "get_weather");
    let args: Value = serde_json::from_str(&s.calls[0].2).unwrap();
    assert_eq!(args, json!({"input": "weather in parallel"}));
    assert!(s.argument_chunks > 1, "arguments streamed in pieces: {s:?}");
    let sent = &mock.requests().await[0]["body"];
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );

    let s = stream(
        &gw.openai(),
        req(
            json!({"model": "claude", "stream": true, "tools": weather_tools(),
            "messages": [{"role": "user", "content": "weather in parallel"}]}),
        ),
    )
    .await;
    assert_eq!(s.calls.len(), 2);
    assert_eq!(s.calls[1].0, "toolu_mock_1");
    assert_eq!(s.calls[1].1, "get_time");
}

#[tokio::test]
async fn image_parts_become_image_blocks() {
    let (mock, gw) = start().await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let r = gw
        .openai()
        .chat()
        .create(req(
            json!({"model": "claude", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
            ]}]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: what is this t1 t2 t3 t4")
    );
    let blocks = &mock.requests().await[0]["body"]["messages"][0]["content"];
    assert_eq!(
        blocks[1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}})
    );
    assert_eq!(
        blocks[2],
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}})
    );
}

#[tokio::test]
async fn provider_errors_are_openai_shaped_with_the_providers_status() {
    let (mock, gw) = start().await;
    mock.script(json!([{"status": 429}, {"status": 529}])).await;
    for (status, code, kind) in [
        (429, "rate_limit_error", "rate_limit_error"),
        (529, "overloaded_error", "api_error"),
    ] {
        let r = gw.post("/v1/chat/completions", &chat("claude", "x")).await;
        assert_eq!(r.status(), status);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], code, "{b}");
        assert_eq!(b["error"]["type"], kind, "{b}");
        assert_eq!(b["provider"], "claude", "{b}");
    }
    // A request the real API would refuse: Anthropic's own message comes back.
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "claude", "messages": [
                {"role": "user", "content": "x"},
                {"role": "tool", "tool_call_id": "toolu_nope", "content": "42"}
            ]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["type"], "invalid_request_error");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("toolu_nope"),
        "{b}"
    );
    // And through the SDK: it raises an API error carrying the message.
    mock.script(json!([{"status": 401}])).await;
    let e = gw
        .openai()
        .chat()
        .create(req(
            json!({"model": "claude", "messages": [{"role": "user", "content": "x"}]}),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid x-api-key"), "{e}");
}

#[tokio::test]
async fn an_error_as_the_first_stream_event_fails_over() {
    let primary = MockServer::start_with(&["--api-key", KEY]).await;
    let backup = MockServer::start_with(&["--api-key", KEY]).await;
    let gw = Gateway::start(&format!(
        "providers:\n{}{}routes:\n  claude:\n    strategy: fallback\n    targets:\n      - {{ provider: primary, model: claude-sonnet-4-5 }}\n      - {{ provider: backup, model: claude-haiku-4-5 }}\n",
        provider_yaml("primary", &primary),
        provider_yaml("backup", &backup)
    ))
    .await;
    primary
        .script(json!([{"error_event": {"type": "overloaded_error", "message": "Overloaded"}}]))
        .await;
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "claude", "stream": true, "messages": [{"role": "user", "content": "s"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    let text = r.text().await.unwrap();
    assert!(!text.contains("Overloaded"), "{text}");
    let events = sse_data(&text);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["model"], "claude-haiku-4-5");
    assert_eq!(primary.requests().await.len(), 1);
}

#[tokio::test]
async fn what_claude_cannot_honour_is_refused_before_sending() {
    let (mock, gw) = start().await;
    for (extra, param) in [
        (json!({"n": 2}), "n"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"seed": 7}), "seed"),
        (
            json!({"response_format": {"type": "json_object"}}),
            "response_format",
        ),
        (json!({"temperature": 1.7}), "temperature"),
    ] {
        let mut body = chat("claude", "x");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 400, "{extra}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["param"], param, "{b}");
    }
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "claude/claude-sonnet-4-5", "input": "x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let b: Value = r.json().await.unwrap();
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic"),
        "{b}"
    );
    assert!(
        mock.requests().await.is_empty(),
        "nothing reached the provider"
    );
}

#[tokio::test]
async fn a_json_schema_response_format_becomes_output_config() {
    let (mock, gw) = start().await;
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false});
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "claude", "max_completion_tokens": 300, "messages": [{"role": "user", "content": "x"}],
                    "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": schema}}}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let sent = &mock.requests().await[0]["body"];
    assert_eq!(
        sent["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    assert_eq!(sent["max_tokens"], 300);
}

#[tokio::test]
async fn zero_config_forwards_the_clients_key_as_x_api_key() {
    let mock = MockServer::start_with(&["--api-key", "sk-ant-client-own"]).await;
    let gw = Gateway::start(
        "zero_config: { enabled: true, allow_custom_host: true, allow_private_networks: true }\n",
    )
    .await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header("x-switchyard-provider", "anthropic")
        .header("x-switchyard-custom-host", mock.base_url())
        .bearer_auth("sk-ant-client-own")
        .json(&chat("claude-haiku-4-5", "zero config"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let seen = mock.requests().await;
    assert_eq!(seen[0]["headers"]["x-api-key"], "sk-ant-client-own");
    assert!(seen[0]["headers"].get("authorization").is_none());
}

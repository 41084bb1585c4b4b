//! The inbound APIs end to end: a client speaking Anthropic's Messages API or OpenAI's
//! Responses API, changing only its base URL, against an OpenAI-kind target (translated
//! through chat) and an Anthropic or OpenAI target (passed through untranslated), with the
//! mock providers validating what they receive like the real APIs. Bodies are written as the
//! official SDKs send them (`anthropic-version`, `x-api-key`, `max_tokens`; Responses `input`
//! items and `instructions`).

use serde_json::{json, Value};
use switchyard_tests::*;

const ANT_KEY: &str = "sk-ant-mock-key";

struct Setup {
    openai: MockServer,
    anthropic: MockServer,
    gw: Gateway,
}

/// Routes `gpt` (OpenAI kind) and `claude` (Anthropic), and a gateway key.
async fn start() -> Setup {
    let openai = MockServer::start().await;
    let anthropic = MockServer::start_with(&["--api-key", ANT_KEY]).await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - {{ name: app, key: sk-gw-app }}\nproviders:\n  oa: {{ kind: openai, base_url: {}, api_key: sk-oa }}\n  claude: {{ kind: anthropic, base_url: {}, api_key: {ANT_KEY} }}\nroutes:\n  gpt: {{ targets: [ {{ provider: oa, model: gpt-4o }} ] }}\n  claude: {{ targets: [ {{ provider: claude, model: claude-sonnet-4-5 }} ] }}\n",
        openai.base_url(),
        anthropic.base_url()
    ))
    .await;
    Setup {
        openai,
        anthropic,
        gw,
    }
}

/// A request as Anthropic's SDK sends it: the gateway key in `x-api-key`.
async fn messages(gw: &Gateway, path: &str, body: Value) -> reqwest::Response {
    http()
        .post(gw.url(path))
        .header("x-api-key", "sk-gw-app")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A request as OpenAI's SDK sends it: the gateway key as a bearer token.
async fn responses(gw: &Gateway, body: Value) -> reqwest::Response {
    http()
        .post(gw.url("/v1/responses"))
        .bearer_auth("sk-gw-app")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// SSE events as (event name, data).
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .map(|n| n.trim().to_owned())
                .unwrap_or_default();
            let data: String = e
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .collect();
            (name, serde_json::from_str(&data).unwrap_or(Value::Null))
        })
        .collect()
}

#[tokio::test]
async fn messages_to_an_openai_target_plain_streamed_and_with_tools() {
    let s = start().await;
    let body = json!({
        "model": "gpt", "max_tokens": 256, "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]
    });
    let r = messages(&s.gw, "/v1/messages", body.clone()).await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["type"], "message", "{m}");
    assert_eq!(m["role"], "assistant");
    assert_eq!(m["stop_reason"], "end_turn");
    assert!(m["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("hello there"));
    assert!(m["usage"]["input_tokens"].as_u64().unwrap() > 0, "{m}");
    // The provider got a chat request: the system prompt first, its own key, not the gateway's.
    let seen = s.openai.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(last["path"], "/v1/chat/completions");
    assert_eq!(last["body"]["model"], "gpt-4o");
    assert_eq!(last["body"]["messages"][0]["role"], "system");
    assert_eq!(last["headers"]["authorization"], "Bearer sk-oa");

    // Streamed: Anthropic's event sequence, the same text.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = messages(&s.gw, "/v1/messages", streamed).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let evs = events(&r.text().await.unwrap());
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
    assert_eq!(names.last(), Some(&"message_stop"), "{names:?}");
    assert!(names.contains(&"content_block_start") && names.contains(&"message_delta"));
    let text: String = evs
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .filter_map(|(_, d)| d["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text, m["content"][0]["text"].as_str().unwrap());

    // Tools: the model's call comes back as a tool_use block; the result goes round.
    let tools = json!([{"name": "get_weather", "description": "Weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    let r = messages(
        &s.gw,
        "/v1/messages",
        json!({"model": "gpt", "max_tokens": 256, "tools": tools,
               "messages": [{"role": "user", "content": "call get_weather please"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["stop_reason"], "tool_use", "{m}");
    let call = m["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap_or_else(|| panic!("no tool_use block: {m}"))
        .clone();
    assert_eq!(call["name"], "get_weather");
    let r = messages(
        &s.gw,
        "/v1/messages",
        json!({"model": "gpt", "max_tokens": 256, "tools": tools, "messages": [
            {"role": "user", "content": "call get_weather please"},
            {"role": "assistant", "content": [call.clone()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "sunny"}]}
        ]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert!(
        m["content"][0]["text"].as_str().unwrap().contains("sunny"),
        "{m}"
    );
    let seen = s.openai.requests().await;
    let sent = &seen.last().unwrap()["body"]["messages"];
    assert_eq!(sent[2]["role"], "tool", "{sent}");
    assert_eq!(sent[2]["tool_call_id"], call["id"]);
}

#[tokio::test]
async fn messages_to_an_anthropic_target_pass_through_untranslated() {
    let s = start().await;
    // `top_k` and `metadata.user_id` have no chat counterpart: they arrive as sent.
    let body = json!({
        "model": "claude", "max_tokens": 64, "top_k": 5, "metadata": {"user_id": "u-1"},
        "messages": [{"role": "user", "content": "straight through"}]
    });
    let r = messages(&s.gw, "/v1/messages", body).await;
    assert_eq!(r.status(), 200);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["type"], "message");
    let seen = s.anthropic.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(last["path"], "/v1/messages");
    assert_eq!(last["body"]["model"], "claude-sonnet-4-5");
    assert_eq!(last["body"]["top_k"], 5);
    assert_eq!(last["body"]["metadata"]["user_id"], "u-1");
    assert_eq!(
        last["headers"]["x-api-key"], ANT_KEY,
        "the provider's key, not the gateway's"
    );
}

#[tokio::test]
async fn count_tokens_is_asked_of_anthropic_and_estimated_elsewhere() {
    let s = start().await;
    let body = |model: &str| {
        json!({"model": model, "system": "one two",
               "messages": [{"role": "user", "content": "three four five"}]})
    };
    let r = messages(&s.gw, "/v1/messages/count_tokens", body("claude")).await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    // The mock counts words: 2 in the system prompt, 3 in the message.
    assert_eq!(c["input_tokens"], 5, "{c}");
    let seen = s.anthropic.requests().await;
    assert_eq!(seen.last().unwrap()["path"], "/v1/messages/count_tokens");

    let before = s.openai.requests().await.len();
    let r = messages(&s.gw, "/v1/messages/count_tokens", body("gpt")).await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert!(c["input_tokens"].as_u64().unwrap() > 0, "{c}");
    assert_eq!(
        s.openai.requests().await.len(),
        before,
        "an estimate asks no provider"
    );
}

#[tokio::test]
async fn responses_pass_through_to_openai_and_translate_for_anthropic() {
    let s = start().await;
    let body = json!({
        "model": "gpt", "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "what is up"}]}]
    });
    let r = responses(&s.gw, body.clone()).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["object"], "response", "{out}");
    assert_eq!(out["status"], "completed");
    assert!(out["output"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("what is up"));
    let seen = s.openai.requests().await;
    assert_eq!(seen.last().unwrap()["path"], "/v1/responses");
    assert_eq!(seen.last().unwrap()["body"]["instructions"], "Be brief.");

    // Streamed passthrough: OpenAI's semantic events, ending with response.completed.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let r = responses(&s.gw, streamed).await;
    assert_eq!(r.status(), 200);
    let evs = events(&r.text().await.unwrap());
    assert_eq!(evs.first().map(|e| e.0.as_str()), Some("response.created"));
    assert_eq!(evs.last().map(|e| e.0.as_str()), Some("response.completed"));
    let text: String = evs
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .filter_map(|(_, d)| d["delta"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        text,
        out["output"][0]["content"][0]["text"].as_str().unwrap()
    );

    // To Claude: translated through chat to Messages and back to a Responses object.
    let mut to_claude = body.clone();
    to_claude["model"] = json!("claude");
    let r = responses(&s.gw, to_claude.clone()).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["object"], "response", "{out}");
    let msg = out["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "message")
        .unwrap_or_else(|| panic!("no message item: {out}"));
    assert!(msg["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("what is up"));
    assert!(out["usage"]["input_tokens"].as_u64().unwrap() > 0, "{out}");
    let seen = s.anthropic.requests().await;
    let sent = &seen.last().unwrap()["body"];
    assert_eq!(sent["system"], "Be brief.", "{sent}");
    assert_eq!(sent["messages"][0]["role"], "user");

    to_claude["stream"] = json!(true);
    let r = responses(&s.gw, to_claude).await;
    assert_eq!(r.status(), 200);
    let evs = events(&r.text().await.unwrap());
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"response.created"), "{names:?}");
    assert_eq!(names.last(), Some(&"response.completed"), "{names:?}");
    assert!(names.contains(&"response.output_text.delta"), "{names:?}");
}

#[tokio::test]
async fn inbound_errors_come_in_each_apis_own_shape() {
    let s = start().await;
    // Messages without max_tokens: Anthropic's error shape, nothing sent.
    let before = (
        s.openai.requests().await.len(),
        s.anthropic.requests().await.len(),
    );
    let r = messages(
        &s.gw,
        "/v1/messages",
        json!({"model": "gpt", "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["type"], "invalid_request_error", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens"),
        "{e}"
    );
    // A wrong gateway key on Messages: 401 in Anthropic's shape.
    let r = http()
        .post(s.gw.url("/v1/messages"))
        .header("x-api-key", "sk-wrong")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "authentication_error", "{e}");
    // Responses with server-side state: refused, OpenAI's shape, naming the parameter.
    let r = responses(
        &s.gw,
        json!({"model": "gpt", "input": "x", "previous_response_id": "resp_1"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["param"], "previous_response_id", "{e}");
    assert_eq!(
        (
            s.openai.requests().await.len(),
            s.anthropic.requests().await.len()
        ),
        before,
        "no provider was asked"
    );
}

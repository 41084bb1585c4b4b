//! Cohere v2 behind the gateway: an OpenAI SDK (`async-openai`) talks to the gateway, the
//! gateway talks Cohere's wire format to the mock (`/v2/chat`, `/v2/embed`).

use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionStreamResponse};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const KEY: &str = "co-mock-key";

fn config(mock: &MockServer) -> String {
    format!(
        "providers:\n  co:\n    kind: cohere\n    base_url: http://127.0.0.1:{}\n    api_key: {KEY}\nroutes:\n  chat:\n    targets:\n      - provider: co\n        model: command-a-03-2025\n  embed:\n    targets:\n      - provider: co\n        model: embed-v4.0\n",
        mock.port
    )
}

fn request(v: Value) -> CreateChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

async fn started() -> (MockServer, Gateway) {
    let mock = MockServer::start_with(&["--api-key", KEY, "--chunks", "4"]).await;
    let gw = Gateway::start(&config(&mock)).await;
    (mock, gw)
}

/// Every chunk of a streamed answer, through the SDK.
async fn stream(gw: &Gateway, req: Value) -> Vec<CreateChatCompletionStreamResponse> {
    let mut s = gw
        .openai()
        .chat()
        .create_stream(request(req))
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.push(c.unwrap());
    }
    out
}

#[tokio::test]
async fn plain_chat_is_translated_both_ways() {
    let (mock, gw) = started().await;
    let r = gw
        .openai()
        .chat()
        .create(request(
            json!({"model": "chat", "max_tokens": 50, "stop": ["END"], "top_p": 0.5, "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hello there"}
            ]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: hello there t1 t2 t3")
    );
    assert_eq!(r.model, "command-a-03-2025");
    let usage = r.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 4));
    let seen = &mock.requests().await[0];
    assert_eq!(seen["path"], "/v2/chat");
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {KEY}"));
    assert_eq!(
        seen["body"]["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(seen["body"]["max_tokens"], 50);
    assert_eq!(seen["body"]["stop_sequences"], json!(["END"]));
    assert_eq!(seen["body"]["p"], 0.5);
}

#[tokio::test]
async fn streamed_chat_has_content_finish_reason_and_usage() {
    let (_mock, gw) = started().await;
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "stream me"}]}),
    )
    .await;
    let text: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter().filter_map(|ch| ch.delta.content.clone()))
        .collect();
    assert_eq!(text, "You said: stream me t1 t2 t3");
    let finish = chunks
        .iter()
        .flat_map(|c| c.choices.iter().filter_map(|ch| ch.finish_reason))
        .collect::<Vec<_>>();
    assert_eq!(format!("{finish:?}"), "[Stop]");
    let last = chunks.last().unwrap();
    assert!(last.choices.is_empty());
    assert_eq!(last.usage.as_ref().unwrap().total_tokens, 6);

    // Without include_usage the client gets no usage chunk, and the metrics still count it.
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "again"}]}),
    )
    .await;
    assert!(chunks.iter().all(|c| c.usage.is_none()));
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_tokens_total",
            &[("route", "chat"), ("type", "completion")]
        ),
        8.0,
        "{m}"
    );
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"input": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
    ])
}

#[tokio::test]
async fn tool_calls_plain_and_streamed_and_tool_results() {
    let (mock, gw) = started().await;
    let r = gw
        .openai()
        .chat()
        .create(request(
            json!({"model": "chat", "tools": tools(), "tool_choice": "required",
            "messages": [{"role": "user", "content": "weather, in parallel"}]}),
        ))
        .await
        .unwrap();
    let v = serde_json::to_value(&r.choices[0].message).unwrap();
    assert_eq!(v["content"], "I will call get_weather and get_time.");
    assert_eq!(v["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(v["tool_calls"][1]["function"]["name"], "get_time");
    assert_eq!(
        v["tool_calls"][0]["function"]["arguments"],
        "{\"input\":\"weather, in parallel\"}"
    );
    assert_eq!(
        format!("{:?}", r.choices[0].finish_reason),
        "Some(ToolCalls)"
    );
    assert_eq!(mock.requests().await[0]["body"]["tool_choice"], "REQUIRED");

    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "tools": tools(),
               "messages": [{"role": "user", "content": "weather, in parallel please"}]}),
    )
    .await;
    let mut args = vec![String::new(), String::new()];
    let mut names = vec![String::new(), String::new()];
    for c in &chunks {
        for ch in &c.choices {
            for tc in ch.delta.tool_calls.iter().flatten() {
                let f = tc.function.as_ref().unwrap();
                if let Some(n) = &f.name {
                    names[tc.index as usize] = n.clone();
                }
                args[tc.index as usize].push_str(f.arguments.as_deref().unwrap_or(""));
            }
        }
    }
    assert_eq!(names, ["get_weather", "get_time"]);
    for a in &args {
        let v: Value = serde_json::from_str(a).unwrap();
        assert_eq!(v["input"], "weather, in parallel please");
    }
    // The result of the call goes back as a Cohere tool message.
    let r = gw
        .openai()
        .chat()
        .create(request(json!({"model": "chat", "tools": tools(), "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "get_weather_mock0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "get_weather_mock0", "content": "sunny"}
        ]})))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: Tool said: sunny t1 t2 t3")
    );
}

#[tokio::test]
async fn images_and_embeddings() {
    let (mock, gw) = started().await;
    let r = gw
        .openai()
        .chat()
        .create(request(
            json!({"model": "chat", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
            ]}]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: what is this t1 t2 t3")
    );
    let seen = &mock.requests().await[0];
    assert_eq!(
        seen["body"]["messages"][0]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
    );

    let e = gw
        .openai()
        .embeddings()
        .create(
            CreateEmbeddingRequestArgs::default()
                .model("embed")
                .input(vec!["hello world", "bye"])
                .dimensions(16u32)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(e.data.len(), 2);
    assert_eq!(e.data[1].embedding.len(), 16);
    assert_eq!(e.usage.prompt_tokens, 3);
    let seen = mock.requests().await;
    let body = &seen.last().unwrap()["body"];
    assert_eq!(body["input_type"], "search_document");
    assert_eq!(body["output_dimension"], 16);
}

#[tokio::test]
async fn provider_errors_are_openai_shaped_and_name_the_provider() {
    let (mock, gw) = started().await;
    mock.script(json!([{"status": 429}])).await;
    let r = gw.post("/v1/chat/completions", &chat("chat", "x")).await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Trial key"));
    assert_eq!(body["provider"], "co");

    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "chat", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["param"], "n");
    let r = gw
        .post("/v1/chat/completions", &json!({"model": "chat", "logprobs": true, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "`logprobs` is not supported by provider cohere"
    );
    // Refused requests never reached the provider.
    assert_eq!(mock.requests().await.len(), 1);
}

#[tokio::test]
async fn an_error_as_first_stream_event_fails_over_to_the_next_provider() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let yaml = format!(
        "providers:\n  co1: {{ kind: cohere, base_url: \"http://127.0.0.1:{}\", api_key: k }}\n  co2: {{ kind: cohere, base_url: \"http://127.0.0.1:{}\", api_key: k }}\nroutes:\n  main:\n    strategy: fallback\n    targets:\n      - {{ provider: co1, model: command-r }}\n      - {{ provider: co2, model: command-a }}\n",
        primary.port, backup.port
    );
    let gw = Gateway::start(&yaml).await;
    primary
        .script(json!([{"error_event": {"message": "internal error during generation"}}]))
        .await;
    let r = gw
        .post("/v1/chat/completions", &json!({"model": "main", "stream": true, "messages": [{"role": "user", "content": "s"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "co2");
    let text = r.text().await.unwrap();
    assert!(!text.contains("internal error"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert_eq!(primary.requests().await.len(), 1);
}

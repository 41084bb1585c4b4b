//! Gemini (AI Studio) and Vertex AI through the gateway: an OpenAI SDK (`async-openai`) talks
//! to the gateway, the gateway talks Google's `generateContent` format to the mock.

use async_openai::config::OpenAIConfig;
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, CreateChatCompletionRequest, CreateChatCompletionResponse,
    FinishReason,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use async_openai::Client;
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const KEY: &str = "mock-google-key";

/// One Gemini and one Vertex AI provider on the same mock.
fn config(mock: &MockServer) -> String {
    format!(
        "providers:\n  gem:\n    kind: gemini\n    base_url: http://127.0.0.1:{port}/v1beta\n    api_key: {KEY}\n  vtx:\n    kind: vertex-ai\n    base_url: http://127.0.0.1:{port}/v1/projects/proj/locations/us-central1/publishers/google\n    api_key: {KEY}\n",
        port = mock.port
    )
}

async fn setup() -> (MockServer, Gateway) {
    let mock = MockServer::start_with(&["--api-key", KEY]).await;
    let gw = Gateway::start(&config(&mock)).await;
    (mock, gw)
}

fn request(v: Value) -> CreateChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

async fn chat(client: &Client<OpenAIConfig>, v: Value) -> CreateChatCompletionResponse {
    client.chat().create(request(v)).await.unwrap()
}

/// Text, finish reasons, usage total and tool-call chunks of a streamed answer.
struct Streamed {
    text: String,
    finish: Vec<FinishReason>,
    usage: Option<u32>,
    /// (index, id, name, arguments fragment) per tool-call delta.
    calls: Vec<(u32, Option<String>, Option<String>, Option<String>)>,
}

async fn stream(client: &Client<OpenAIConfig>, v: Value) -> Streamed {
    let mut s = client.chat().create_stream(request(v)).await.unwrap();
    let mut out = Streamed {
        text: String::new(),
        finish: Vec::new(),
        usage: None,
        calls: Vec::new(),
    };
    while let Some(chunk) = s.next().await {
        let chunk = chunk.unwrap();
        if let Some(u) = chunk.usage {
            out.usage = Some(u.total_tokens);
        }
        for c in chunk.choices {
            if let Some(t) = c.delta.content {
                out.text.push_str(&t);
            }
            for tc in c.delta.tool_calls.unwrap_or_default() {
                let f = tc.function.unwrap_or_default();
                out.calls.push((tc.index, tc.id, f.name, f.arguments));
            }
            if let Some(f) = c.finish_reason {
                out.finish.push(f);
            }
        }
    }
    out
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": ["string", "null"]}}}}}
    ])
}

#[tokio::test]
async fn plain_chat_on_both_flavors() {
    let (mock, gw) = setup().await;
    for model in ["gem/gemini-2.0-flash", "vtx/gemini-2.0-flash"] {
        let r = chat(
            &gw.openai(),
            json!({"model": model, "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hello there"}],
                "max_tokens": 50, "temperature": 0.3, "stop": ["zzz"]}),
        )
        .await;
        assert_eq!(
            r.choices[0].message.content.as_deref(),
            Some("You said: hello there t1 t2 t3 t4")
        );
        assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
        assert_eq!(r.model, "gemini-2.0-flash");
        let u = r.usage.unwrap();
        // "be brief" + "hello there" = 4 prompt words; 5 pieces.
        assert_eq!(
            (u.prompt_tokens, u.completion_tokens, u.total_tokens),
            (4, 5, 9)
        );
    }
    let reqs = mock.requests().await;
    let studio = &reqs[0];
    assert_eq!(
        studio["path"],
        "/v1beta/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(studio["headers"]["x-goog-api-key"], KEY);
    assert!(studio["headers"].get("authorization").is_none());
    assert_eq!(
        studio["body"]["systemInstruction"],
        json!({"parts": [{"text": "be brief"}]})
    );
    assert_eq!(
        studio["body"]["generationConfig"],
        json!({"temperature": 0.3, "maxOutputTokens": 50, "stopSequences": ["zzz"]})
    );
    let vertex = &reqs[1];
    assert_eq!(
        vertex["path"],
        "/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    );
    assert_eq!(vertex["headers"]["authorization"], format!("Bearer {KEY}"));
}

#[tokio::test]
async fn max_tokens_reached_is_finish_reason_length() {
    let (_mock, gw) = setup().await;
    let r = chat(
        &gw.openai(),
        json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": "long"}], "max_completion_tokens": 2}),
    )
    .await;
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Length));
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: long t1")
    );
}

#[tokio::test]
async fn streamed_chat_with_usage_on_both_flavors() {
    let mock = MockServer::start_with(&["--api-key", KEY, "--chunks", "7"]).await;
    let gw = Gateway::start(&config(&mock)).await;
    for model in ["gem/gemini-2.0-flash", "vtx/gemini-2.0-flash"] {
        let s = stream(
            &gw.openai(),
            json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "stream me ☕"}]}),
        )
        .await;
        assert_eq!(s.text, "You said: stream me ☕ t1 t2 t3 t4 t5 t6");
        assert_eq!(s.finish, vec![FinishReason::Stop]);
        assert_eq!(s.usage, Some(3 + 7));
    }
    // Without include_usage the client gets no usage chunk.
    let s = stream(
        &gw.openai(),
        json!({"model": "gem/gemini-2.0-flash", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert_eq!(s.usage, None);
    let reqs = mock.requests().await;
    assert_eq!(
        reqs[0]["path"],
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    );
    assert_eq!(reqs[0]["query"], "alt=sse");
    // Usage still reaches the gateway's metrics.
    let m = gw.metrics().await;
    assert!(
        metric(&m, "switchyard_tokens_total", &[("type", "completion")]) >= 21.0,
        "{m}"
    );
}

#[tokio::test]
async fn tool_calls_round_trip() {
    let (mock, gw) = setup().await;
    let client = gw.openai();
    let r = chat(
        &client,
        json!({"model": "gem/gemini-2.5-flash", "messages": [{"role": "user", "content": "weather in parallel please"}],
               "tools": tools(), "tool_choice": "auto"}),
    )
    .await;
    let choice = &r.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let calls: Vec<_> = choice
        .message
        .tool_calls
        .clone()
        .unwrap()
        .into_iter()
        .map(|c| match c {
            ChatCompletionMessageToolCalls::Function(f) => f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[1].function.name, "get_time");
    let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert_eq!(args, json!({"input": "weather in parallel please"}));

    // Second turn: the tool results go back; the mock answers from them.
    let r = chat(
        &client,
        json!({"model": "gem/gemini-2.5-flash", "tools": tools(), "messages": [
            {"role": "user", "content": "weather in parallel please"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": calls[0].id, "type": "function", "function": {"name": "get_weather", "arguments": calls[0].function.arguments}},
                {"id": calls[1].id, "type": "function", "function": {"name": "get_time", "arguments": calls[1].function.arguments}}]},
            {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
            {"role": "tool", "tool_call_id": calls[1].id, "content": "{\"time\":\"noon\"}"}]}),
    )
    .await;
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: Tool said: sunny {\"time\":\"noon\"} t1 t2 t3 t4")
    );
    let reqs = mock.requests().await;
    let first = &reqs[0]["body"];
    // The schema reached Gemini without the keys it refuses.
    assert_eq!(
        first["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    );
    assert_eq!(
        first["tools"][0]["functionDeclarations"][1]["parameters"]["properties"]["tz"],
        json!({"type": "string", "nullable": true})
    );
    assert_eq!(
        first["toolConfig"],
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    let contents = reqs[1]["body"]["contents"].as_array().unwrap().clone();
    assert_eq!(contents.len(), 3);
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[1]["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
    assert_eq!(
        contents[2]["parts"][1]["functionResponse"],
        json!({"name": "get_time", "response": {"output": {"time": "noon"}}})
    );
}

#[tokio::test]
async fn forced_tool_choice_and_streamed_tool_calls() {
    let (mock, gw) = setup().await;
    let s = stream(
        &gw.openai(),
        json!({"model": "vtx/gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "what time"}],
               "tools": tools(), "tool_choice": {"type": "function", "function": {"name": "get_time"}}}),
    )
    .await;
    assert_eq!(s.finish, vec![FinishReason::ToolCalls]);
    assert_eq!(s.calls.len(), 2);
    assert_eq!(
        s.calls[0],
        (
            0,
            Some("call_0".into()),
            Some("get_time".into()),
            Some(String::new())
        )
    );
    assert_eq!(
        s.calls[1],
        (0, None, None, Some("{\"input\":\"what time\"}".into()))
    );
    let reqs = mock.requests().await;
    assert_eq!(
        reqs[0]["body"]["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}})
    );

    // Parallel calls in a stream get their own indexes.
    let s = stream(
        &gw.openai(),
        json!({"model": "gem/gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "both in parallel"}],
               "tools": tools()}),
    )
    .await;
    let starts: Vec<_> = s
        .calls
        .iter()
        .filter_map(|(i, id, name, _)| Some((*i, id.clone()?, name.clone()?)))
        .collect();
    assert_eq!(
        starts,
        vec![
            (0, "call_0".into(), "get_weather".into()),
            (1, "call_1".into(), "get_time".into())
        ]
    );
}

#[tokio::test]
async fn images_are_sent_inline() {
    let (mock, gw) = setup().await;
    let r = chat(
        &gw.openai(),
        json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}),
    )
    .await;
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: what is this t1 t2 t3 t4")
    );
    let reqs = mock.requests().await;
    assert_eq!(
        reqs[0]["body"]["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}})
    );
    // An image URL on a private network is not fetched (the default policy): a 400 before
    // anything is sent.
    let image_at = |url: String| {
        json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "and this?"},
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let pixel = format!("{}/__mock/image.png", mock.origin());
    let r = gw
        .post("/v1/chat/completions", &image_at(pixel.clone()))
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("private"),
        "{v}"
    );
    assert_eq!(mock.requests().await.len(), 1);
}

#[tokio::test]
async fn image_urls_are_fetched_and_sent_inline() {
    let mock = MockServer::start_with(&["--api-key", KEY]).await;
    // This gateway may fetch from loopback, where the test's image lives.
    let gw = Gateway::start(&format!(
        "{}images: {{ allow_private_networks: true, max_bytes: 64KiB }}\n",
        config(&mock)
    ))
    .await;
    let image_at = |url: String| {
        json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "and this?"},
            {"type": "image_url", "image_url": {"url": url}}]}]})
    };
    let pixel = format!("{}/__mock/image.png", mock.origin());
    let r = chat(&gw.openai(), image_at(pixel)).await;
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: and this? t1 t2 t3 t4")
    );
    let reqs = mock.requests().await;
    let sent = reqs
        .iter()
        .find(|r| r["path"].as_str().unwrap().contains("generateContent"))
        .unwrap();
    assert_eq!(
        sent["body"]["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}})
    );

    // Not an image, not there, or a dead host: a clear 400 naming the URL, nothing sent.
    for (url, why) in [
        (
            format!("{}/__mock/page.html", mock.origin()),
            "not an image",
        ),
        (format!("{}/__mock/nothing.png", mock.origin()), "HTTP 404"),
        (
            format!("http://127.0.0.1:{}/x.png", free_port()),
            "could not fetch image",
        ),
    ] {
        let before = mock.requests().await.len();
        let r = gw
            .post("/v1/chat/completions", &image_at(url.clone()))
            .await;
        assert_eq!(r.status(), 400, "{url}");
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why) && msg.contains(&url), "{msg}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        let after = mock.requests().await;
        assert!(
            after[before..]
                .iter()
                .all(|r| !r["path"].as_str().unwrap().contains("generateContent")),
            "nothing reached the provider"
        );
    }
}

#[tokio::test]
async fn provider_errors_are_openai_shaped_and_name_the_provider() {
    let (mock, gw) = setup().await;
    mock.script(json!([{"status": 429}])).await;
    let r = gw
        .post("/v1/chat/completions", &chat_body("gem/gemini-2.0-flash"))
        .await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert_eq!(v["error"]["code"], "resource_exhausted");
    assert!(v["error"]["message"].as_str().unwrap().contains("quota"));
    assert_eq!(v["provider"], "gem");

    // Vertex AI streams report errors in an array; a bad token is a 401.
    let bad_key = MockServer::start_with(&["--api-key", "other"]).await;
    let gw2 = Gateway::start(&config(&bad_key)).await;
    let r = gw2
        .post(
            "/v1/chat/completions",
            &json!({"model": "vtx/gemini-2.0-flash", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthenticated");
    assert_eq!(v["provider"], "vtx");
    // The SDK surfaces it as an API error.
    let e = gw2
        .openai()
        .chat()
        .create(request(chat_body("gem/gemini-2.0-flash")))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("API key not valid"), "{e}");
}

fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn an_error_as_first_stream_event_fails_over() {
    let primary = MockServer::start_with(&["--api-key", KEY]).await;
    let backup = MockServer::start_with(&["--api-key", KEY]).await;
    let yaml = format!(
        "providers:\n  a: {{ kind: gemini, base_url: \"http://127.0.0.1:{}/v1beta\", api_key: {KEY} }}\n  b: {{ kind: gemini, base_url: \"http://127.0.0.1:{}/v1beta\", api_key: {KEY} }}\nroutes:\n  main:\n    strategy: fallback\n    targets:\n      - {{ provider: a, model: gemini-2.0-flash }}\n      - {{ provider: b, model: gemini-2.5-flash }}\n",
        primary.port, backup.port
    );
    let gw = Gateway::start(&yaml).await;
    primary
        .script(json!([{"error_event": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}]))
        .await;
    let s = stream(
        &gw.openai(),
        json!({"model": "main", "stream": true, "messages": [{"role": "user", "content": "fail over"}]}),
    )
    .await;
    assert_eq!(s.text, "You said: fail over t1 t2 t3 t4");
    assert_eq!(primary.requests().await.len(), 1);
    let b = backup.requests().await;
    assert_eq!(b.len(), 1);
    assert_eq!(
        b[0]["path"],
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
}

#[tokio::test]
async fn parameters_gemini_cannot_honour_are_refused() {
    let (mock, gw) = setup().await;
    for (body, param) in [
        (
            json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"1": 1}}),
            "logit_bias",
        ),
        (
            json!({"model": "gem/gemini-2.0-flash", "messages": [{"role": "user", "content": "x"}], "parallel_tool_calls": false, "tools": tools()}),
            "parallel_tool_calls",
        ),
        (
            json!({"model": "gem/gemini-2.0-flash", "stream": true, "n": 2, "messages": [{"role": "user", "content": "x"}]}),
            "n",
        ),
    ] {
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 400, "{param}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["param"], param);
        assert!(v["error"]["message"].as_str().unwrap().contains(param));
    }
    let r = gw
        .post(
            "/v1/completions",
            &json!({"model": "gem/gemini-2.0-flash", "prompt": "x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn n_and_json_mode_map_to_generation_config() {
    let (mock, gw) = setup().await;
    let r = chat(
        &gw.openai(),
        json!({"model": "gem/gemini-2.0-flash", "n": 2, "messages": [{"role": "user", "content": "json please"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true,
                   "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}}}}),
    )
    .await;
    assert_eq!(r.choices.len(), 2);
    assert_eq!(r.choices[1].index, 1);
    let reqs = mock.requests().await;
    assert_eq!(
        reqs[0]["body"]["generationConfig"],
        json!({"candidateCount": 2, "responseMimeType": "application/json",
               "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}})
    );
}

#[tokio::test]
async fn embeddings_on_both_flavors() {
    let (mock, gw) = setup().await;
    let client = gw.openai();
    for model in ["gem/text-embedding-004", "vtx/text-embedding-005"] {
        let req = CreateEmbeddingRequestArgs::default()
            .model(model)
            .input(vec!["alpha", "beta gamma"])
            .dimensions(4u32)
            .build()
            .unwrap();
        let r = client.embeddings().create(req).await.unwrap();
        assert_eq!(r.data.len(), 2);
        assert_eq!(r.data[1].index, 1);
        assert_eq!(r.data[0].embedding.len(), 4);
    }
    let reqs = mock.requests().await;
    assert_eq!(
        reqs[0]["path"],
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(
        reqs[0]["body"]["requests"][1],
        json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "beta gamma"}]}, "outputDimensionality": 4})
    );
    assert!(reqs[1]["path"]
        .as_str()
        .unwrap()
        .ends_with("/models/text-embedding-005:predict"));
    // The same text gives the same vector through either flavor and through base64.
    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "vtx/text-embedding-005", "input": "alpha", "encoding_format": "base64"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["data"][0]["embedding"].is_string());
    assert_eq!(v["usage"]["prompt_tokens"], 1);
}

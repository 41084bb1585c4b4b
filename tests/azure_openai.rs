//! Azure OpenAI behind the gateway: an OpenAI SDK (`async-openai`) talks to the gateway, the
//! gateway calls the mock's deployment URLs with `api-version` and Azure's credentials.

use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionStreamResponse};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const KEY: &str = "az-mock-key";

fn provider(name: &str, mock: &MockServer, extra: &str) -> String {
    format!(
        "  {name}:\n    kind: azure-openai\n    base_url: http://127.0.0.1:{}\n    api_key: {KEY}\n{extra}",
        mock.port
    )
}

fn config(mock: &MockServer, extra: &str) -> String {
    format!(
        "providers:\n{}routes:\n  chat:\n    targets:\n      - provider: az\n        model: gpt4o-prod\n  embed:\n    targets:\n      - provider: az\n        model: embed-small\n  gone:\n    targets:\n      - provider: az\n        model: missing-deployment\n",
        provider("az", mock, extra)
    )
}

fn request(v: Value) -> CreateChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

async fn started(extra: &str) -> (MockServer, Gateway) {
    let mock = MockServer::start_with(&["--api-key", KEY, "--chunks", "4"]).await;
    let gw = Gateway::start(&config(&mock, extra)).await;
    (mock, gw)
}

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
async fn plain_chat_goes_to_the_deployment_with_api_key_and_version() {
    let (mock, gw) = started("").await;
    let r = gw
        .openai()
        .chat()
        .create(request(
            json!({"model": "chat", "messages": [{"role": "user", "content": "hello there"}]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: hello there t1 t2 t3")
    );
    assert_eq!(r.usage.unwrap().total_tokens, 6);
    let seen = &mock.requests().await[0];
    assert_eq!(
        seen["path"],
        "/openai/deployments/gpt4o-prod/chat/completions"
    );
    assert_eq!(seen["query"], "api-version=2024-10-21");
    assert_eq!(seen["headers"]["api-key"], KEY);
    assert!(seen["headers"].get("authorization").is_none());

    // Azure's content filter annotations reach the client untouched.
    let raw: Value = gw
        .post("/v1/chat/completions", &chat("chat", "hi"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(raw["prompt_filter_results"][0]["prompt_index"], 0);
    assert_eq!(
        raw["choices"][0]["content_filter_results"]["hate"]["filtered"],
        false
    );
}

#[tokio::test]
async fn entra_tokens_go_as_bearer_and_the_version_is_configurable() {
    let (mock, gw) = started("    auth: bearer\n    api_version: 2024-06-01\n").await;
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
    )
    .await;
    assert!(!chunks.is_empty());
    let seen = &mock.requests().await[0];
    assert_eq!(seen["headers"]["authorization"], format!("Bearer {KEY}"));
    assert_eq!(seen["query"], "api-version=2024-06-01");
    // That version does not know stream_options: the gateway did not add it.
    assert!(seen["body"].get("stream_options").is_none());
}

#[tokio::test]
async fn streams_with_a_prompt_filter_first_chunk_keep_content_finish_and_usage() {
    let (mock, gw) = started("").await;
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "stream me"}]}),
    )
    .await;
    // The first chunk is Azure's prompt filter annotation with no choices.
    assert!(chunks[0].choices.is_empty());
    let text: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter().filter_map(|ch| ch.delta.content.clone()))
        .collect();
    assert_eq!(text, "You said: stream me t1 t2 t3");
    assert!(chunks
        .iter()
        .any(|c| c.choices.iter().any(|ch| ch.finish_reason.is_some())));
    assert_eq!(
        chunks.last().unwrap().usage.as_ref().unwrap().total_tokens,
        6
    );

    // Not asked for: the gateway still asks Azure (metrics) and hides the usage chunk.
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "again"}]}),
    )
    .await;
    assert!(chunks.iter().all(|c| c.usage.is_none()));
    let seen = mock.requests().await;
    assert_eq!(seen[1]["body"]["stream_options"]["include_usage"], true);
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

#[tokio::test]
async fn tool_calls_images_and_embeddings_pass_through() {
    let (mock, gw) = started("").await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let r = gw
        .openai()
        .chat()
        .create(request(json!({"model": "chat", "tools": tools, "messages": [{"role": "user", "content": "weather?"}]})))
        .await
        .unwrap();
    let v = serde_json::to_value(&r.choices[0].message).unwrap();
    assert_eq!(v["tool_calls"][0]["function"]["name"], "get_weather");
    let chunks = stream(
        &gw,
        json!({"model": "chat", "stream": true, "tools": tools, "messages": [{"role": "user", "content": "weather?"}]}),
    )
    .await;
    let args: String = chunks
        .iter()
        .flat_map(|c| c.choices.iter())
        .flat_map(|ch| ch.delta.tool_calls.iter().flatten())
        .filter_map(|tc| tc.function.as_ref()?.arguments.clone())
        .collect();
    assert_eq!(args, "{\"input\":\"weather?\"}");

    let r = gw
        .openai()
        .chat()
        .create(request(
            json!({"model": "chat", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
            ]}]}),
        ))
        .await
        .unwrap();
    assert!(r.choices[0]
        .message
        .content
        .as_deref()
        .unwrap()
        .starts_with("You said: what is this"));

    let e = gw
        .openai()
        .embeddings()
        .create(
            CreateEmbeddingRequestArgs::default()
                .model("embed")
                .input("hello world")
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(e.data.len(), 1);
    let seen = mock.requests().await;
    assert_eq!(
        seen.last().unwrap()["path"],
        "/openai/deployments/embed-small/embeddings"
    );
}

#[tokio::test]
async fn azure_errors_are_openai_shaped_and_name_the_provider() {
    let (mock, gw) = started("").await;
    let r = gw.post("/v1/chat/completions", &chat("gone", "x")).await;
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "DeploymentNotFound");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["provider"], "az");

    mock.script(json!([{"status": 400}])).await;
    let r = gw.post("/v1/chat/completions", &chat("chat", "x")).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_filter");
    assert_eq!(body["error"]["param"], "prompt");
}

#[tokio::test]
async fn an_error_as_first_stream_event_fails_over_to_the_next_provider() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let yaml = format!(
        "providers:\n{}{}routes:\n  main:\n    strategy: fallback\n    targets:\n      - {{ provider: east, model: d1 }}\n      - {{ provider: west, model: d2 }}\n",
        provider("east", &primary, ""),
        provider("west", &backup, "")
    );
    let gw = Gateway::start(&yaml).await;
    primary
        .script(json!([{"error_event": {"message": "The server had an error", "type": "server_error"}}]))
        .await;
    let r = gw
        .post("/v1/chat/completions", &json!({"model": "main", "stream": true, "messages": [{"role": "user", "content": "s"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "west");
    let text = r.text().await.unwrap();
    assert!(!text.contains("server had an error"), "{text}");
    assert!(text.contains("prompt_filter_results"));
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn a_config_without_base_url_is_refused() {
    let dir = TempDir::new();
    let path = dir.0.join("c.yaml");
    std::fs::write(
        &path,
        "providers:\n  az:\n    kind: azure-openai\n    api_key: k\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin("switchyard"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("providers.az.base_url"), "{text}");
}

#[tokio::test]
async fn images_speech_and_transcriptions_use_deployment_urls() {
    use async_openai::types::audio::{AudioInput, CreateTranscriptionRequestArgs};
    let (mock, gw) = started("").await;

    let r = gw
        .post(
            "/v1/images/generations",
            &json!({"model": "az/dalle-prod", "prompt": "a yard", "response_format": "b64_json"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(v["data"][0]["b64_json"].as_str().is_some());
    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(
        last["path"],
        "/openai/deployments/dalle-prod/images/generations"
    );
    assert!(last["query"].as_str().unwrap().contains("api-version="));
    assert_eq!(last["headers"]["api-key"], KEY);

    let r = gw
        .post(
            "/v1/audio/speech",
            &json!({"model": "az/tts-prod", "input": "hello", "voice": "alloy"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    assert!(r.bytes().await.unwrap().starts_with(b"MOCKAUDIO tts-prod"));

    let audio: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let req = CreateTranscriptionRequestArgs::default()
        .file(AudioInput::from_vec_u8("a.wav".into(), audio))
        .model("az/whisper-prod")
        .build()
        .unwrap();
    let t = gw
        .openai()
        .audio()
        .transcription()
        .create(req)
        .await
        .unwrap();
    assert_eq!(t.text, "Transcribed 10000 bytes with whisper-prod.");
    let seen = mock.requests().await;
    assert_eq!(
        seen.last().unwrap()["path"],
        "/openai/deployments/whisper-prod/audio/transcriptions"
    );
}

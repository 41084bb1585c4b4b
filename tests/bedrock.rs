//! AWS Bedrock (Converse / ConverseStream) through the gateway, driven by the OpenAI SDK: the
//! mock verifies every SigV4 signature and answers in real event-stream frames.

use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, CreateChatCompletionRequest, FinishReason,
};
use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const MODEL: &str = "anthropic.claude-3-haiku-20240307-v1:0";
const KEY_ID: &str = "AKIDMOCKEXAMPLE";
const SECRET: &str = "mock/Secret+Access/Key";

async fn bedrock_mock() -> MockServer {
    MockServer::start_with(&[
        "--aws-access-key-id",
        KEY_ID,
        "--aws-secret-access-key",
        SECRET,
    ])
    .await
}

fn provider(name: &str, mock: &MockServer, secret: &str) -> String {
    format!(
        "  {name}:\n    kind: bedrock\n    base_url: http://127.0.0.1:{}\n    region: us-east-1\n    aws_access_key_id: {KEY_ID}\n    aws_secret_access_key: \"{secret}\"\n    aws_session_token: session-token\n",
        mock.port
    )
}

fn config(mock: &MockServer) -> String {
    format!(
        "providers:\n{}routes:\n  claude:\n    targets:\n      - provider: aws\n        model: \"{MODEL}\"\n",
        provider("aws", mock, SECRET)
    )
}

fn req(v: Value) -> CreateChatCompletionRequest {
    serde_json::from_value(v).unwrap()
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "weather", "description": "Weather for a city.", "parameters": {"type": "object", "properties": {"input": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "time", "parameters": {"type": "object", "properties": {}}}}
    ])
}

#[tokio::test]
async fn plain_chat_is_signed_and_translated() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    let r = gw
        .openai()
        .chat()
        .create(req(json!({
            "model": "claude", "max_tokens": 100, "temperature": 0.2, "stop": ["END"],
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello bedrock"}]
        })))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: hello bedrock t1 t2 t3 t4")
    );
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.model, MODEL);
    let usage = r.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 5));

    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(
        last["path"],
        "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    );
    let auth = last["headers"]["authorization"].as_str().unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={KEY_ID}/")),
        "{auth}"
    );
    assert!(auth.contains("/us-east-1/bedrock/aws4_request"), "{auth}");
    assert_eq!(last["headers"]["x-amz-security-token"], "session-token");
    assert_eq!(last["body"]["system"], json!([{"text": "be brief"}]));
    assert_eq!(
        last["body"]["inferenceConfig"],
        json!({"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]})
    );
}

#[tokio::test]
async fn streamed_chat_has_content_usage_and_finish_reason() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    let mut stream = gw
        .openai()
        .chat()
        .create_stream(req(json!({
            "model": "claude", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "stream it"}]
        })))
        .await
        .unwrap();
    let (mut text, mut finish, mut usage) = (String::new(), None, None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        if let Some(u) = chunk.usage {
            usage = Some(u.total_tokens);
        }
        for c in chunk.choices {
            text.push_str(c.delta.content.as_deref().unwrap_or(""));
            finish = finish.or(c.finish_reason);
        }
    }
    assert_eq!(text, "You said: stream it t1 t2 t3 t4");
    assert_eq!(finish, Some(FinishReason::Stop));
    assert_eq!(usage, Some(7));
    let seen = mock.requests().await;
    assert!(seen.last().unwrap()["path"]
        .as_str()
        .unwrap()
        .ends_with("/converse-stream"));
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_tokens_total",
            &[("route", "claude"), ("type", "completion")]
        ),
        5.0,
        "{m}"
    );
}

#[tokio::test]
async fn tool_calls_plain_and_streamed() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    let client = gw.openai();
    let r = client
        .chat()
        .create(req(json!({
            "model": "claude", "tools": weather_tools(), "tool_choice": "auto",
            "messages": [{"role": "user", "content": "weather in parallel please"}]
        })))
        .await
        .unwrap();
    assert_eq!(r.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    let calls = r.choices[0].message.tool_calls.clone().unwrap();
    let names: Vec<(String, String)> = calls
        .iter()
        .map(|c| match c {
            ChatCompletionMessageToolCalls::Function(f) => {
                (f.function.name.clone(), f.function.arguments.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names[0].0, "weather");
    assert_eq!(names[1].0, "time");
    assert_eq!(names[0].1, r#"{"input":"weather in parallel please"}"#);

    // The tool results go back as one user turn of toolResult blocks.
    let ChatCompletionMessageToolCalls::Function(first) = &calls[0] else {
        unreachable!()
    };
    let r = client
        .chat()
        .create(req(json!({
            "model": "claude", "tools": weather_tools(),
            "messages": [
                {"role": "user", "content": "weather in parallel please"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": first.id, "type": "function", "function": {"name": "weather", "arguments": first.function.arguments}}]},
                {"role": "tool", "tool_call_id": first.id, "content": "sunny"}
            ]
        })))
        .await
        .unwrap();
    assert_eq!(
        r.choices[0].message.content.as_deref(),
        Some("You said: Tool said: sunny t1 t2 t3 t4")
    );

    let mut stream = client
        .chat()
        .create_stream(req(json!({
            "model": "claude", "stream": true, "tools": weather_tools(),
            "tool_choice": {"type": "function", "function": {"name": "time"}},
            "messages": [{"role": "user", "content": "what time"}]
        })))
        .await
        .unwrap();
    let (mut args, mut ids, mut finish, mut fragments) = (String::new(), Vec::new(), None, 0);
    while let Some(chunk) = stream.next().await {
        for c in chunk.unwrap().choices {
            for tc in c.delta.tool_calls.unwrap_or_default() {
                assert_eq!(tc.index, 0);
                if let Some(id) = tc.id {
                    ids.push(id);
                }
                if let Some(a) = tc.function.and_then(|f| f.arguments) {
                    if !a.is_empty() {
                        fragments += 1;
                    }
                    args.push_str(&a);
                }
            }
            finish = finish.or(c.finish_reason);
        }
    }
    assert_eq!(ids, vec!["tooluse_mock0".to_owned()]);
    assert_eq!(args, r#"{"input":"what time"}"#);
    assert!(fragments > 1, "arguments arrive as deltas");
    assert_eq!(finish, Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn images_go_inline() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let r = gw
        .openai()
        .chat()
        .create(req(json!({
            "model": "claude",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{png}")}}
            ]}]
        })))
        .await
        .unwrap();
    assert!(r.choices[0]
        .message
        .content
        .as_deref()
        .unwrap()
        .starts_with("You said: what is this"));
    let seen = mock.requests().await;
    assert_eq!(
        seen.last().unwrap()["body"]["messages"][0]["content"][1],
        json!({"image": {"format": "png", "source": {"bytes": png}}})
    );
}

#[tokio::test]
async fn provider_errors_are_openai_shaped_and_name_the_provider() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    mock.script(json!([{"status": 429}])).await;
    let r = gw.post("/v1/chat/completions", &chat("claude", "x")).await;
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Too many requests, please wait before trying again."
    );
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert_eq!(body["error"]["code"], "ThrottlingException");
    assert_eq!(body["provider"], "aws");

    // A wrong secret is caught by the mock's signature check.
    let bad = Gateway::start(&format!(
        "providers:\n{}routes:\n  claude:\n    targets:\n      - provider: aws\n        model: \"{MODEL}\"\n",
        provider("aws", &mock, "not-the-secret")
    ))
    .await;
    let r = bad.post("/v1/chat/completions", &chat("claude", "x")).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("The request signature we calculated does not match"));
    assert_eq!(body["error"]["type"], "permission_error");
}

#[tokio::test]
async fn an_exception_as_first_stream_event_fails_over() {
    let primary = bedrock_mock().await;
    let backup = bedrock_mock().await;
    let yaml = format!(
        "providers:\n{}{}routes:\n  claude:\n    strategy: fallback\n    targets:\n      - {{ provider: primary, model: \"{MODEL}\" }}\n      - {{ provider: backup, model: \"{MODEL}\" }}\n",
        provider("primary", &primary, SECRET),
        provider("backup", &backup, SECRET)
    );
    let gw = Gateway::start(&yaml).await;
    primary
        .script(json!([{"error_event": {"type": "throttlingException", "message": "slow down"}}]))
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
    assert!(!text.contains("slow down"), "{text}");
    assert!(text.contains("You said: s"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
    assert_eq!(primary.requests().await.len(), 1);
}

#[tokio::test]
async fn parameters_bedrock_cannot_honour_are_refused() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&config(&mock)).await;
    for (field, value) in [
        ("seed", json!(7)),
        ("n", json!(2)),
        ("logit_bias", json!({"50256": -100})),
        ("response_format", json!({"type": "json_object"})),
    ] {
        let mut body = chat("claude", "x");
        body[field] = value;
        let r = gw.post("/v1/chat/completions", &body).await;
        assert_eq!(r.status(), 400, "{field}");
        let v: Value = r.json().await.unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(
            msg.contains(field) && msg.contains("not supported"),
            "{msg}"
        );
    }
    assert!(
        mock.requests().await.is_empty(),
        "nothing reached the provider"
    );
}

#[tokio::test]
async fn embeddings_use_titan_invoke_model() {
    let mock = bedrock_mock().await;
    let gw = Gateway::start(&format!(
        "providers:\n{}routes:\n  titan:\n    targets:\n      - provider: aws\n        model: \"amazon.titan-embed-text-v2:0\"\n",
        provider("aws", &mock, SECRET)
    ))
    .await;
    let r = gw
        .openai()
        .embeddings()
        .create(
            CreateEmbeddingRequestArgs::default()
                .model("titan")
                .input("hello titan world")
                .dimensions(256u32)
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.data.len(), 1);
    assert_eq!(r.data[0].embedding.len(), 256);
    assert_eq!(r.usage.prompt_tokens, 3);
    let seen = mock.requests().await;
    let last = seen.last().unwrap();
    assert_eq!(last["path"], "/model/amazon.titan-embed-text-v2%3A0/invoke");
    assert_eq!(
        last["body"],
        json!({"inputText": "hello titan world", "dimensions": 256})
    );

    let r = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "titan", "input": ["a", "b"]}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("one text per request"));
}

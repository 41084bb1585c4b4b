//! Credentials: gateway keys are checked and never forwarded; provider keys come from config
//! and never appear in logs, errors or metrics.

use serde_json::Value;
use switchyard_tests::*;

const PROVIDER_KEY: &str = "sk-provider-SECRET-7f3a";
const GATEWAY_KEY: &str = "gw-key-SECRET-91bc";

async fn secured() -> (MockServer, Gateway) {
    let mock = MockServer::start_with(&["--api-key", PROVIDER_KEY]).await;
    let gw = GatewayConfig::new(format!(
        "auth:\n  keys:\n    - {{ name: team-a, key: \"${{GW_KEY}}\" }}\nproviders:\n  local:\n    kind: openai\n    base_url: {}\n    api_key: ${{PROVIDER_KEY}}\n    headers: {{ x-extra-secret: \"${{PROVIDER_KEY}}\" }}\n",
        mock.base_url()
    ))
    .env("GW_KEY", GATEWAY_KEY)
    .env("PROVIDER_KEY", PROVIDER_KEY)
    .start()
    .await;
    (mock, gw)
}

#[tokio::test]
async fn gateway_keys_are_required_and_never_reach_the_provider() {
    let (mock, gw) = secured().await;
    let c = http();
    let url = gw.url("/v1/chat/completions");
    let r = c
        .post(&url)
        .json(&chat("local/gpt-4o", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "authentication_error");
    let r = c
        .post(&url)
        .bearer_auth("wrong-key-123")
        .json(&chat("local/gpt-4o", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(mock.requests().await.is_empty());

    let r = c
        .post(&url)
        .bearer_auth(GATEWAY_KEY)
        .json(&chat("local/gpt-4o", "ok"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(&url)
        .header("x-portkey-api-key", GATEWAY_KEY)
        .json(&chat("local/gpt-4o", "ok"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The OpenAI SDK sends the gateway key as its API key.
    let sdk = async_openai::Client::with_config(
        async_openai::config::OpenAIConfig::new()
            .with_api_base(gw.url("/v1"))
            .with_api_key(GATEWAY_KEY),
    );
    sdk.models().list().await.unwrap();

    for seen in mock.requests().await {
        let headers = seen["headers"].to_string();
        assert!(
            !headers.contains(GATEWAY_KEY),
            "the gateway key reached the provider: {headers}"
        );
        assert_eq!(
            seen["headers"]["authorization"],
            format!("Bearer {PROVIDER_KEY}")
        );
        assert_eq!(seen["headers"]["x-extra-secret"], PROVIDER_KEY);
        assert!(seen["headers"].get("x-portkey-api-key").is_none());
    }
}

#[tokio::test]
async fn secrets_never_appear_in_logs_errors_or_metrics() {
    let (mock, gw) = secured().await;
    let c = http();
    let url = gw.url("/v1/chat/completions");
    let mut bodies = Vec::new();
    // Success, provider error, gateway errors, an upstream that died.
    bodies.push(
        c.post(&url)
            .bearer_auth(GATEWAY_KEY)
            .json(&chat("local/gpt-4o", "x"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    mock.script(serde_json::json!([{"status": 500}])).await;
    bodies.push(
        c.post(&url)
            .bearer_auth(GATEWAY_KEY)
            .json(&chat("local/gpt-4o", "x"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(
        c.post(&url)
            .bearer_auth(GATEWAY_KEY)
            .body("{bad")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(
        c.post(&url)
            .bearer_auth(format!("{GATEWAY_KEY}x"))
            .json(&chat("local/gpt-4o", "x"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let mut mock = mock;
    mock.proc.signal("KILL");
    let _ = mock.proc.wait_exit(std::time::Duration::from_secs(5)).await;
    bodies.push(
        c.post(&url)
            .bearer_auth(GATEWAY_KEY)
            .json(&chat("local/gpt-4o", "x"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    bodies.push(gw.metrics().await);
    // The access log line of the last request (the provider is gone: 502) is written once
    // its response is done.
    bodies.push(
        gw.logs_with(|l| l.contains("\"target\":\"access\"") && l.contains("\"status\":502"))
            .await,
    );
    for text in &bodies {
        assert!(!text.contains(PROVIDER_KEY), "provider key leaked: {text}");
        assert!(!text.contains(GATEWAY_KEY), "gateway key leaked: {text}");
    }
    assert!(
        bodies.last().unwrap().contains("\"key\":\"team-a\""),
        "the key's name is logged"
    );
}

//! Credentials: gateway keys are checked and never forwarded; provider keys come from config
//! and never appear in logs, errors or metrics.

use serde_json::{json, Value};
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

#[tokio::test]
async fn zero_config_requests_cannot_reach_the_gateways_own_host() {
    let mock = MockServer::start().await;
    let gw = Gateway::start("zero_config: { enabled: true, allow_custom_host: true }\n").await;
    let c = http();
    let url = gw.url("/v1/chat/completions");
    // Kinds whose default URL is this host need a configured provider.
    for (header, kind) in [
        ("x-switchyard-provider", "ollama"),
        ("x-portkey-provider", "vllm"),
        ("x-switchyard-provider", "lm-studio"),
        ("x-portkey-provider", "llama-cpp"),
    ] {
        let r = c
            .post(&url)
            .header(header, kind)
            .bearer_auth("sk-client-123456")
            .json(&chat("m", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{kind}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("configure it"),
            "{e}"
        );
    }
    // A custom host on a loopback or private address, however it is written, is refused
    // after resolution; so is one in a per-request config.
    for host in [
        mock.base_url(),
        format!("http://localhost:{}/v1", mock.port),
        format!("http://[::ffff:127.0.0.1]:{}/v1", mock.port),
        format!("http://[::127.0.0.1]:{}/v1", mock.port),
        format!("http://[64:ff9b::7f00:1]:{}/v1", mock.port),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        let r = c
            .post(&url)
            .header("x-switchyard-provider", "openai")
            .header("x-switchyard-custom-host", &host)
            .bearer_auth("sk-client-123456")
            .json(&chat("m", "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{host}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains("private"),
            "{host}: {e}"
        );
    }
    let config = json!({"provider": "openai", "api_key": "sk-client-123456", "custom_host": mock.base_url()});
    let r = c
        .post(&url)
        .header("x-portkey-config", config.to_string())
        .json(&chat("m", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        mock.requests().await.is_empty(),
        "a request reached the local service"
    );
}

#[tokio::test]
async fn a_provider_echoing_its_key_never_shows_it_to_the_client() {
    let (mock, gw) = secured().await;
    mock.script(json!([
        {"status": 401, "body": {"error": {"message": format!("Incorrect API key provided: {PROVIDER_KEY}"), "type": "invalid_request_error"}}, "headers": {"x-request-id": format!("req-{PROVIDER_KEY}")}},
        {"error_event": {"message": format!("key {PROVIDER_KEY} is not allowed"), "type": "invalid_request_error"}}
    ]))
    .await;
    let c = http();
    let r = c
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(GATEWAY_KEY)
        .json(&chat("local/gpt-4o", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let headers = format!("{:?}", r.headers());
    let body = r.text().await.unwrap();
    assert!(!body.contains(PROVIDER_KEY), "{body}");
    assert!(!headers.contains(PROVIDER_KEY), "{headers}");
    assert!(body.contains("[REDACTED]"), "{body}");
    let mut req = chat("local/gpt-4o", "x");
    req["stream"] = json!(true);
    let r = c
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(GATEWAY_KEY)
        .json(&req)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(!body.contains(PROVIDER_KEY), "{body}");
}

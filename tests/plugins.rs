//! The request pipeline's plugin interface, end to end: a compiled-in plugin
//! (`examples/request-tagger`) turned on by name in the config acts on real requests.

use std::process::Command;

use serde_json::Value;
use switchyard_tests::*;

const KEY: &str = "gw-key-plugins-1234";

async fn tagged(mock: &MockServer) -> Gateway {
    GatewayConfig::new(format!(
        "auth:\n  keys:\n    - {{ name: search, key: {KEY} }}\nplugins:\n  - use: request-tagger\n    with: {{ header: x-cost-center, value: \"team-{{key}}-{{route}}\", refuse_models: [gpt-4-32k] }}\n{}",
        single_provider(mock)
    ))
    .start()
    .await
}

#[tokio::test]
async fn a_configured_plugin_stamps_provider_requests_and_refuses_models() {
    let mock = MockServer::start().await;
    let gw = tagged(&mock).await;
    let c = http();
    let r = c
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&chat("fast", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen = mock.requests().await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["headers"]["x-cost-center"], "team-search-fast");

    let r = c
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .json(&chat("gpt-4-32k", "hello"))
        .send()
        .await
        .unwrap();
    // Refused before routing (the model is not even routed here): the plugin's own status
    // and code, OpenAI-shaped.
    assert_eq!(r.status(), 404, "an unrouted model is still a 404 first");
    let gw2 = GatewayConfig::new(format!(
        "plugins:\n  - use: request-tagger\n    with: {{ refuse_models: [fast] }}\n{}",
        single_provider(&mock)
    ))
    .start()
    .await;
    let r = c
        .post(gw2.url("/v1/chat/completions"))
        .json(&chat("fast", "hello"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "model_refused");
    assert_eq!(e["error"]["param"], "model");
    assert_eq!(
        mock.requests().await.len(),
        1,
        "the refused request reached no provider"
    );
}

#[test]
fn plugins_are_listed_and_checked_by_name() {
    let out = Command::new(bin("switchyard"))
        .arg("plugins")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("request-tagger"));

    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    std::fs::write(&path, "plugins:\n  - use: no-such-plugin\n").unwrap();
    let out = Command::new(bin("switchyard"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-plugin") && err.contains("request-tagger"),
        "{err}"
    );

    std::fs::write(
        &path,
        "plugins:\n  - use: request-tagger\n    with: { colour: blue }\n",
    )
    .unwrap();
    let out = Command::new(bin("switchyard"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

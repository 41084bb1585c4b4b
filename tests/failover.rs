//! A `fallback` route moves to its next target when a provider fails before answering, and a
//! large request fails over exactly like a small one.

use serde_json::{json, Value};
use switchyard_tests::*;

fn two_targets(primary: &str, backup: &MockServer) -> String {
    format!(
        "providers:\n  primary: {{ kind: openai, base_url: \"{primary}\" }}\n  backup: {{ kind: openai, base_url: \"{}\" }}\nroutes:\n  main:\n    strategy: fallback\n    targets:\n      - {{ provider: primary, model: m-primary }}\n      - {{ provider: backup, model: m-backup }}\n",
        backup.base_url()
    )
}

#[tokio::test]
async fn a_dead_primary_falls_over_to_the_backup() {
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(
        &format!("http://127.0.0.1:{}/v1", free_port()),
        &backup,
    ))
    .await;
    let r = gw
        .post("/v1/chat/completions", &chat("main", "hello"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    assert_eq!(r.headers()["x-switchyard-attempts"], "2");
    assert_eq!(
        r.headers()["x-portkey-last-used-option-index"],
        "config.targets[1]"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "m-backup");
}

#[tokio::test]
async fn a_5xx_or_429_fails_over_and_a_4xx_does_not() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(&primary.base_url(), &backup)).await;
    primary
        .script(json!([{"status": 503}, {"status": 429}, {"status": 400}]))
        .await;
    for _ in 0..2 {
        let r = gw.post("/v1/chat/completions", &chat("main", "x")).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    }
    let r = gw.post("/v1/chat/completions", &chat("main", "x")).await;
    assert_eq!(
        r.status(),
        400,
        "a request error is the client's, not a reason to fail over"
    );
    assert_eq!(backup.requests().await.len(), 2);
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "primary"), ("outcome", "http_5xx")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "primary"), ("outcome", "http_429")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_stream_whose_first_event_is_an_error_fails_over() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(&primary.base_url(), &backup)).await;
    primary
        .script(json!([{"error_event": {"message": "overloaded", "type": "server_error"}}]))
        .await;
    let r = gw
        .post("/v1/chat/completions", &json!({"model": "main", "stream": true, "messages": [{"role": "user", "content": "s"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    let text = r.text().await.unwrap();
    assert!(!text.contains("overloaded"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn a_one_megabyte_request_fails_over_like_a_small_one() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(&primary.base_url(), &backup)).await;
    let image = format!("data:image/png;base64,{}", "A".repeat(1024 * 1024));
    let body = json!({"model": "main", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": image}}
    ]}]});
    primary.script(json!([{"status": 503}])).await;
    let r = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    let p = primary.requests().await;
    let b = backup.requests().await;
    assert_eq!(p.len(), 1);
    assert_eq!(b.len(), 1);
    // Both providers received the whole body, byte for byte apart from the model name.
    let sent = serde_json::to_vec(&body).unwrap().len();
    for (seen, model) in [(&p[0], "m-primary"), (&b[0], "m-backup")] {
        assert_eq!(seen["body"]["model"], model);
        assert_eq!(
            seen["body"]["messages"][0]["content"][1]["image_url"]["url"]
                .as_str()
                .unwrap()
                .len(),
            image.len()
        );
        let delta = seen["body_bytes"].as_u64().unwrap() as i64 - sent as i64;
        assert!(delta.abs() < 32, "body size changed by {delta}");
    }
}

#[tokio::test]
async fn when_every_target_fails_the_client_gets_the_last_answer() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(&primary.base_url(), &backup)).await;
    primary.script(json!([{"status": 500}])).await;
    backup.script(json!([{"status": 429}])).await;
    let r = gw.post("/v1/chat/completions", &chat("main", "x")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-switchyard-attempts"], "2");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    assert_eq!(e["provider"], "backup");

    // Both unreachable: a 502 that names every attempt.
    let gw = Gateway::start(&format!(
        "providers:\n  a: {{ kind: openai, base_url: \"http://127.0.0.1:{}/v1\" }}\n  b: {{ kind: openai, base_url: \"http://127.0.0.1:{}/v1\" }}\nroutes:\n  r: {{ targets: [ {{provider: a}}, {{provider: b}} ] }}\n",
        free_port(),
        free_port()
    ))
    .await;
    let r = gw.post("/v1/chat/completions", &chat("r", "x")).await;
    assert_eq!(r.status(), 502);
    let e: Value = r.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("all 2 attempts failed: a: ") && msg.contains("; b: "),
        "{msg}"
    );
}

#[tokio::test]
async fn a_success_whose_body_is_not_json_fails_over() {
    let primary = MockServer::start().await;
    let backup = MockServer::start().await;
    let gw = Gateway::start(&two_targets(&primary.base_url(), &backup)).await;
    // A 200 with an HTML page (a proxy in front of the provider, say) is not an answer.
    primary
        .script(json!([{"status": 200, "body": "<html><body>Bad Gateway</body></html>", "headers": {"content-type": "text/html"}}]))
        .await;
    let r = gw.post("/v1/chat/completions", &chat("main", "x")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-provider"], "backup");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["model"], "m-backup");
    // With nothing to fall over to, the client gets an error, not the page.
    let gw = Gateway::start(&single_provider(&primary)).await;
    primary
        .script(json!([{"status": 200, "body": "upstream connect error"}]))
        .await;
    let r = gw.post("/v1/chat/completions", &chat("fast", "x")).await;
    assert_eq!(r.status(), 502);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "bad_upstream_response");
}

#[tokio::test]
async fn a_stream_cut_short_before_done_never_looks_complete() {
    let primary = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&primary)).await;
    primary
        .script(json!([{"chunks": 3, "omit_done": true}]))
        .await;
    let mut req = chat("fast", "x");
    req["stream"] = json!(true);
    let r = gw.post("/v1/chat/completions", &req).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let data = sse_data(&text);
    // The content that came is passed on; the stream then ends with an error event, not as
    // if it were whole.
    assert!(!data.iter().any(|d| d == "[DONE]"), "{text}");
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "bad_upstream_response", "{text}");
}

//! Every error the gateway produces is OpenAI-shaped JSON with the right status, and the
//! provider's own errors pass through with theirs.

use std::time::Duration;

use serde_json::{json, Value};
use switchyard_tests::*;

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(
        r.headers().get("content-type").map(|v| v.to_str().unwrap()),
        Some("application/json"),
        "status {status}"
    );
    assert!(r.headers().contains_key("x-switchyard-request-id"));
    let body: Value = r.json().await.unwrap();
    let e = &body["error"];
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(e["type"].is_string(), "{body}");
    assert!(
        e.get("code").is_some() && e.get("param").is_some(),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn client_errors_have_the_right_status_and_code() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!("server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", max_body_size: 4KiB }}\n{}", single_provider(&mock))).await;
    let c = http();
    let url = gw.url("/v1/chat/completions");

    let (s, b) = error_of(c.post(&url).body("{not json").send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (s, b) = error_of(c.post(&url).body("[1,2]").send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (s, b) = error_of(c.post(&url).body("").send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (s, b) = error_of(
        c.post(&url)
            .json(&json!({"messages": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str(), b["error"]["param"].as_str()),
        (400, Some("missing_model"), Some("model"))
    );
    let (s, b) = error_of(
        c.post(&url)
            .json(&json!({"model": 5}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("model")));
    let (s, b) = error_of(
        c.post(&url)
            .json(&json!({"model": "fast", "stream": "yes"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("stream")));
    let (s, b) = error_of(
        c.post(&url)
            .json(&chat("no-such-model", "x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let (s, b) = error_of(
        c.post(gw.url("/v1/nowhere"))
            .json(&chat("fast", "x"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("unknown_url")));
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    let (s, b) = error_of(r).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (s, _) = error_of(c.delete(gw.url("/v1/models")).send().await.unwrap()).await;
    assert_eq!(s, 405);
    let big =
        json!({"model": "fast", "messages": [{"role": "user", "content": "x".repeat(8 * 1024)}]});
    let (s, b) = error_of(c.post(&url).json(&big).send().await.unwrap()).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    // Without a Content-Length (chunked upload) the limit holds too.
    let chunks = futures::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024]))),
    );
    let r = c
        .post(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let (s, _) = error_of(r).await;
    assert_eq!(s, 413);
    // Nothing reached the provider.
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_provider_is_a_502_and_a_silent_one_a_504() {
    let mock = MockServer::start().await;
    let dead = free_port();
    let gw = Gateway::start(&format!(
        "providers:\n  dead: {{ kind: openai, base_url: \"http://127.0.0.1:{dead}/v1\" }}\n  slow:\n    kind: openai\n    base_url: {}\n    timeouts: {{ first_byte: 300ms }}\n",
        mock.base_url()
    ))
    .await;
    let (s, b) = error_of(
        gw.post("/v1/chat/completions", &chat("dead/gpt-4o", "x"))
            .await,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str(), b["error"]["type"].as_str()),
        (502, Some("connect_error"), Some("upstream_error"))
    );
    mock.script(json!([{"delay_ms": 2000}])).await;
    let started = std::time::Instant::now();
    let (s, b) = error_of(
        gw.post("/v1/chat/completions", &chat("slow/gpt-4o", "x"))
            .await,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (504, Some("first_byte_timeout"))
    );
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "the timeout did not cut the wait"
    );
    let m = gw.metrics().await;
    assert_eq!(
        metric(&m, "switchyard_errors_total", &[("code", "connect_error")]),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_requests_total",
            &[("provider", "slow"), ("status", "504")]
        ),
        1.0
    );
}

#[tokio::test]
async fn provider_errors_pass_through_with_their_status() {
    let mock = MockServer::start_with(&["--api-key", "sk-right"]).await;
    let gw = Gateway::start(&format!(
        "providers:\n  good: {{ kind: openai, base_url: \"{0}\", api_key: sk-right }}\n  bad: {{ kind: openai, base_url: \"{0}\", api_key: sk-wrong }}\n",
        mock.base_url()
    ))
    .await;
    let (s, b) = error_of(
        gw.post("/v1/chat/completions", &chat("bad/gpt-4o", "x"))
            .await,
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    assert_eq!(b["provider"], "bad");
    // The provider's validation error, as the provider said it.
    let (s, b) = error_of(
        gw.post("/v1/chat/completions", &json!({"model": "good/gpt-4o"}))
            .await,
    )
    .await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("messages")));
    mock.script(json!([{"status": 429, "headers": {"retry-after": "7"}}, {"status": 503}]))
        .await;
    let r = gw
        .post("/v1/chat/completions", &chat("good/gpt-4o", "x"))
        .await;
    assert_eq!(r.headers()["retry-after"], "7");
    let (s, b) = error_of(r).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (429, Some("rate_limit_exceeded"))
    );
    let (s, _) = error_of(
        gw.post("/v1/chat/completions", &chat("good/gpt-4o", "x"))
            .await,
    )
    .await;
    assert_eq!(s, 503);
    // A provider answering with something that is not JSON still yields an OpenAI error.
    mock.script(json!([{"status": 502, "body": "<html>bad gateway</html>"}]))
        .await;
    let (s, b) = error_of(
        gw.post("/v1/chat/completions", &chat("good/gpt-4o", "x"))
            .await,
    )
    .await;
    assert_eq!(s, 502);
    assert!(b["error"]["message"]
        .as_str()
        .unwrap()
        .contains("<html>bad gateway</html>"));
}

#[tokio::test]
async fn hostile_input_never_takes_the_gateway_down() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let c = http();
    let url = gw.url("/v1/chat/completions");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nasty: Vec<Vec<u8>> = vec![
        b"\xff\xfe\x00".to_vec(),
        format!("{{\"model\": {deep}}}").into_bytes(),
        b"{\"model\":\"fast\",\"model\":\"fast\"}".to_vec(),
        b"{\"model\":\"\\ud800\"}".to_vec(),
        b"{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u0000\"}],\"n\":1e999}".to_vec(),
        vec![b'{'; 3000],
    ];
    for body in nasty {
        let r = c.post(&url).body(body).send().await.unwrap();
        assert!(
            r.status().is_client_error() || r.status().is_success(),
            "{}",
            r.status()
        );
        let _: Value = r.json().await.unwrap();
    }
    let weird_headers = c
        .post(&url)
        .header("x-switchyard-provider", "bad provider!")
        .header("authorization", "Bearer")
        .json(&chat("fast", "x"))
        .send()
        .await
        .unwrap();
    assert!(weird_headers.status().is_client_error() || weird_headers.status().is_success());
    // Still serving.
    let r = gw
        .post("/v1/chat/completions", &chat("fast", "still here"))
        .await;
    assert_eq!(r.status(), 200);
}

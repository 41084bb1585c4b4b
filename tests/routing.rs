//! Routing and failover under faults: retries that honour Retry-After, fallback on resets,
//! hangs and error-first streams, weighted load balancing, ejection of a killed provider and
//! its return, conditional routing, and per-request configs in Switchyard's and Portkey's
//! schemas.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_tests::*;

fn providers(mocks: &[(&str, &MockServer)]) -> String {
    let mut s = String::from("providers:\n");
    for (name, m) in mocks {
        s.push_str(&format!(
            "  {name}: {{ kind: openai, base_url: \"{}\" }}\n",
            m.base_url()
        ));
    }
    s
}

async fn served_by(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let provider = r
        .headers()
        .get("x-switchyard-provider")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = r.json().await.unwrap();
    (status, provider, body)
}

#[tokio::test]
async fn a_429_with_retry_after_then_a_503_then_success_is_one_200_after_three_attempts() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  r:\n    retry: {{ attempts: 3, backoff: {{ initial: 20ms, max: 100ms }} }}\n    targets: [ {{ provider: p, model: m }} ]\n",
        providers(&[("p", &mock)])
    ))
    .await;
    mock.script(json!([{"status": 429, "headers": {"retry-after": "1"}}, {"status": 503}]))
        .await;
    let started = Instant::now();
    let r = gw
        .post("/v1/chat/completions", &chat("r", "retry me"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchyard-attempts"], "3");
    assert_eq!(r.headers()["x-portkey-retry-attempt-count"], "2");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: retry me t1 t2 t3 t4"
    );
    // The provider asked for a one-second pause and got it.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(mock.requests().await.len(), 3);
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "p")]
        ),
        3.0
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_moves_on_at_once() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  r:\n    retry: {{ attempts: 3, retry_after_cap: 2s }}\n    targets: [ {{ provider: a }}, {{ provider: b }} ]\n",
        providers(&[("a", &a), ("b", &b)])
    ))
    .await;
    a.script(json!([{"status": 429, "headers": {"retry-after": "3600"}}]))
        .await;
    let started = Instant::now();
    let (status, by, _) = served_by(gw.post("/v1/chat/completions", &chat("r", "x")).await).await;
    assert_eq!((status, by.as_str()), (200, "b"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn resets_hangs_and_failed_streams_fall_back_before_any_byte_is_sent() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  r:\n    timeouts: {{ first_byte: 400ms }}\n    targets: [ {{ provider: a }}, {{ provider: b }} ]\n",
        providers(&[("a", &a), ("b", &b)])
    ))
    .await;
    // A reset before headers.
    a.script(json!([{"reset_before_headers": true}])).await;
    let (status, by, _) = served_by(gw.post("/v1/chat/completions", &chat("r", "x")).await).await;
    assert_eq!((status, by.as_str()), (200, "b"));
    // A hang past the first-byte timeout.
    a.script(json!([{"delay_ms": 3000}])).await;
    let started = Instant::now();
    let (status, by, _) = served_by(gw.post("/v1/chat/completions", &chat("r", "x")).await).await;
    assert_eq!((status, by.as_str()), (200, "b"));
    assert!(started.elapsed() < Duration::from_millis(2500));
    // A stream that dies before its first event.
    a.script(json!([{"reset_after_chunks": 0}])).await;
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "r", "stream": true, "messages": [{"role": "user", "content": "s"}]}),
        )
        .await;
    assert_eq!(r.headers()["x-switchyard-provider"], "b");
    let text = r.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "a"), ("outcome", "first_byte_timeout")]
        ),
        1.0,
        "{m}"
    );
}

#[tokio::test]
async fn weights_of_3_to_1_split_10000_requests_within_3_percent() {
    let a = MockServer::start_with(&["--threads", "2", "--record", "0"]).await;
    let b = MockServer::start_with(&["--threads", "2", "--record", "0"]).await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  lb:\n    strategy: loadbalance\n    targets: [ {{ provider: a, weight: 3 }}, {{ provider: b, weight: 1 }} ]\nlog: {{ access_log: false }}\n",
        providers(&[("a", &a), ("b", &b)])
    ))
    .await;
    let total = 10_000usize;
    let workers = 32;
    let url = gw.url("/v1/chat/completions");
    let body = serde_json::to_vec(&chat("lb", "w")).unwrap();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (url, body) = (url.clone(), body.clone());
            tokio::spawn(async move {
                let c = http();
                let mut failed = 0;
                for _ in (w..total).step_by(workers) {
                    let r = c
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    if !matches!(r, Ok(ref r) if r.status() == 200) {
                        failed += 1;
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap();
    }
    assert_eq!(failed, 0);
    let m = gw.metrics().await;
    let to_a = metric(
        &m,
        "switchyard_upstream_attempts_total",
        &[("provider", "a"), ("outcome", "ok")],
    );
    let to_b = metric(
        &m,
        "switchyard_upstream_attempts_total",
        &[("provider", "b"), ("outcome", "ok")],
    );
    assert_eq!(to_a + to_b, total as f64);
    let expected = total as f64 * 0.75;
    assert!(
        (to_a - expected).abs() <= expected * 0.03,
        "a got {to_a}, expected {expected} ± 3%"
    );
}

#[tokio::test]
async fn a_killed_provider_is_ejected_without_client_errors_and_returns_when_it_is_back() {
    let mut a = MockServer::start().await;
    let a_port = a.port;
    let b = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  lb:\n    strategy: loadbalance\n    targets: [ {{ provider: a, weight: 1 }}, {{ provider: b, weight: 1 }} ]\nhealth:\n  circuit_breaker: {{ failures: 2, cooldown: 1s }}\n  checks: {{ enabled: true, interval: 100ms, timeout: 500ms }}\n",
        providers(&[("a", &a), ("b", &b)])
    ))
    .await;
    let attempts_a = |m: &str| {
        metric(
            m,
            "switchyard_upstream_attempts_total",
            &[("provider", "a")],
        )
    };
    let send = |n: usize| {
        let url = gw.url("/v1/chat/completions");
        async move {
            let c = http();
            let mut errors = 0;
            for _ in 0..n {
                let r = c.post(&url).json(&chat("lb", "x")).send().await.unwrap();
                if r.status() != 200 {
                    errors += 1;
                }
            }
            errors
        }
    };
    assert_eq!(send(20).await, 0);
    assert!(attempts_a(&gw.metrics().await) > 0.0);

    a.proc.signal("KILL");
    a.proc.wait_exit(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        send(40).await,
        0,
        "clients saw errors while a provider died"
    );
    // The active check notices too (two failed probes 100 ms apart).
    let started = Instant::now();
    while metric(
        &gw.metrics().await,
        "switchyard_provider_up",
        &[("provider", "a")],
    ) != 0.0
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the health check never marked a down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Ejected: a gets no more attempts.
    let before = attempts_a(&gw.metrics().await);
    assert_eq!(send(40).await, 0);
    assert_eq!(
        attempts_a(&gw.metrics().await),
        before,
        "traffic still went to the dead provider"
    );
    let targets: Value = http()
        .get(gw.admin_url("/health/targets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a_entry = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["provider"] == "a" && t["model"].is_null())
        .unwrap();
    assert_eq!(a_entry["healthy"], false, "{targets}");

    // Back on the same port: the health check and the half-open probe bring it back.
    let _a = MockServer::start_at(a_port, &[]).await;
    let started = Instant::now();
    loop {
        assert_eq!(send(10).await, 0);
        let m = gw.metrics().await;
        if metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "a"), ("outcome", "ok")],
        ) > 0.0
            && attempts_a(&m) > before
            && metric(&m, "switchyard_provider_up", &[("provider", "a")]) == 1.0
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the provider never came back: {m}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn conditional_routing_picks_the_target_each_rule_names() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        r#"{}routes:
  smart:
    strategy:
      mode: conditional
      conditions:
        - {{ query: {{ metadata.tier: {{ $eq: paid }} }}, then: premium }}
        - {{ query: {{ $or: [ {{ params.max_tokens: {{ $gt: 1000 }} }}, {{ user: {{ $regex: "^vip-" }} }} ] }}, then: long }}
        - {{ query: {{ metadata.region: {{ $in: [eu, uk] }} }}, then: local }}
      default: basic
    targets:
      - {{ provider: p, model: premium-model, name: premium }}
      - {{ provider: p, model: long-model, name: long }}
      - {{ provider: p, model: eu-model, name: local }}
      - {{ provider: p, model: basic-model, name: basic }}
"#,
        providers(&[("p", &mock)])
    ))
    .await;
    let cases: Vec<(Option<&str>, Value, &str)> = vec![
        (Some(r#"{"tier":"paid"}"#), json!({}), "premium-model"),
        (None, json!({"max_tokens": 4000}), "long-model"),
        (None, json!({"user": "vip-7"}), "long-model"),
        (Some(r#"{"region":"uk"}"#), json!({}), "eu-model"),
        (
            Some(r#"{"tier":"free"}"#),
            json!({"max_tokens": 10}),
            "basic-model",
        ),
        (None, json!({}), "basic-model"),
    ];
    for (metadata, extra, want) in cases {
        let mut body = chat("smart", "which?");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let mut req = http().post(gw.url("/v1/chat/completions")).json(&body);
        if let Some(m) = metadata {
            req = req.header(
                if want == "eu-model" {
                    "x-portkey-metadata"
                } else {
                    "x-switchyard-metadata"
                },
                m,
            );
        }
        let (status, _, body) = served_by(req.send().await.unwrap()).await;
        assert_eq!(
            (status, body["model"].as_str()),
            (200, Some(want)),
            "{metadata:?} {extra}"
        );
    }
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header("x-switchyard-metadata", "not json")
        .json(&chat("smart", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn per_request_configs_route_with_switchyard_or_portkey_semantics() {
    let a = MockServer::start().await;
    let b = MockServer::start_with(&["--api-key", "sk-client-b"]).await;
    let gw = Gateway::start(&format!(
        "zero_config: {{ enabled: true, allow_custom_host: true, allow_private_networks: true }}\n{}routes:\n  named: {{ targets: [ {{ provider: a, model: from-route }} ] }}\n",
        providers(&[("a", &a)])
    ))
    .await;
    let send = |header: &'static str, value: String, body: Value| {
        let url = gw.url("/v1/chat/completions");
        async move {
            http()
                .post(url)
                .header(header, value)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // Switchyard's schema: fall back on 429/5xx only; a 400 is the answer.
    let ours = json!({"strategy": "fallback", "targets": [{"provider": "a"}, {"provider": "openai", "api_key": "sk-client-b", "custom_host": b.base_url()}]});
    a.script(json!([{"status": 400}])).await;
    let r = send("x-switchyard-config", ours.to_string(), chat("gpt-4o", "x")).await;
    assert_eq!(r.status(), 400);
    a.script(json!([{"status": 503}])).await;
    let r = send("x-switchyard-config", ours.to_string(), chat("gpt-4o", "x")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-portkey-last-used-option-index"],
        "config.targets[1]"
    );
    assert_eq!(r.headers()["x-switchyard-route"], "request_config");

    // Portkey's schema: without on_status_codes, any non-2xx falls back; override_params
    // reach the provider; retry settings are inherited by the targets.
    let portkey = json!({
        "strategy": {"mode": "fallback"},
        "retry": {"attempts": 1},
        "override_params": {"max_tokens": 77},
        "targets": [
            {"provider": "a", "override_params": {"model": "renamed"}},
            {"provider": "openai", "api_key": "sk-client-b", "custom_host": b.base_url()}
        ]
    });
    // 503 is retried once (Portkey's retry statuses), then the fallback moves on.
    a.script(json!([{"status": 503}, {"status": 503}])).await;
    let r = send("x-portkey-config", portkey.to_string(), chat("gpt-4o", "x")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-portkey-last-used-option-index"],
        "config.targets[1]"
    );
    let seen_a = a.requests().await;
    let last_two: Vec<&Value> = seen_a.iter().rev().take(2).collect();
    assert!(
        last_two
            .iter()
            .all(|s| s["body"]["model"] == "renamed" && s["body"]["max_tokens"] == 77),
        "{last_two:?}"
    );
    let seen_b = b.requests().await;
    assert_eq!(
        seen_b.last().unwrap()["headers"]["authorization"],
        "Bearer sk-client-b"
    );
    assert_eq!(seen_b.last().unwrap()["body"]["max_tokens"], 77);

    // A stored config by name.
    let r = send("x-switchyard-config", "named".into(), chat("ignored", "x")).await;
    let (status, _, body) = served_by(r).await;
    assert_eq!((status, body["model"].as_str()), (200, Some("from-route")));

    // Invalid configs: a 400 that says what is wrong, nothing sent.
    let before = a.requests().await.len();
    for (header, value, says) in [
        (
            "x-portkey-config",
            r#"{"strategy": {"mode": "roundrobin"}, "targets": [{"provider": "a"}]}"#.to_owned(),
            "unknown strategy `roundrobin`",
        ),
        (
            "x-portkey-config",
            r#"{"targets": [{"virtual_key": "vk-123"}]}"#.to_owned(),
            "hosted Portkey feature",
        ),
        (
            "x-switchyard-config",
            r#"{"provider": "a", "retry": {"attempts": 99}}"#.to_owned(),
            "at most 10 retries",
        ),
        (
            "x-switchyard-config",
            "{broken".to_owned(),
            "x-switchyard-config:1:",
        ),
        (
            "x-switchyard-config",
            "no-such-route".to_owned(),
            "no stored config",
        ),
    ] {
        let r = send(header, value.clone(), chat("gpt-4o", "x")).await;
        assert_eq!(r.status(), 400, "{value}");
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"]["message"].as_str().unwrap().contains(says),
            "{value}: {e}"
        );
    }
    assert_eq!(a.requests().await.len(), before);
}

/// A config written for Portkey, with the fields its docs use, works as written: headers
/// forwarded, provider-specific headers sent, a timeout answered 408 as Portkey does, and
/// what has no meaning here named in `x-switchyard-warnings`.
#[tokio::test]
async fn portkey_configs_work_as_written() {
    let a = MockServer::start().await;
    let b = MockServer::start_with(&["--api-key", "sk-client-b"]).await;
    let gw = Gateway::start(&format!(
        "zero_config: {{ enabled: true, allow_custom_host: true, allow_private_networks: true }}\n{}",
        providers(&[("a", &a)])
    ))
    .await;
    let config = json!({
        "strategy": {"mode": "fallback"},
        "retry": {"attempts": 0, "use_retry_after_headers": true},
        "cache": {"mode": "simple", "max_age": 60},
        "strict_open_ai_compliance": true,
        "forward_headers": ["x-trace-id"],
        "targets": [
            {"provider": "a", "weight": 1},
            {"provider": "openai", "api_key": "sk-client-b", "custom_host": b.base_url(),
             "openai_project": "proj_abc", "openai_organization": "org-xyz"}
        ]
    });
    a.script(json!([{"status": 500}])).await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header("x-portkey-config", config.to_string())
        .header("x-trace-id", "trace-1")
        .header("x-not-forwarded", "no")
        .json(&chat("gpt-4o", "as written"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let warnings = r.headers()["x-switchyard-warnings"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(warnings.contains("config.cache ignored"), "{warnings}");
    let to_a = a.requests().await;
    assert_eq!(to_a.last().unwrap()["headers"]["x-trace-id"], "trace-1");
    let to_b = b.requests().await;
    let h = &to_b.last().unwrap()["headers"];
    assert_eq!(h["x-trace-id"], "trace-1");
    assert_eq!(h["openai-project"], "proj_abc");
    assert_eq!(h["openai-organization"], "org-xyz");
    assert!(h.get("x-not-forwarded").is_none(), "{h}");
    assert!(h.get("x-portkey-config").is_none(), "{h}");

    // request_timeout: Portkey answers a timeout with a 408 `timeout_error`.
    a.script(json!([{"delay_ms": 3000}])).await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header(
            "x-portkey-config",
            json!({"provider": "a", "request_timeout": 200}).to_string(),
        )
        .json(&chat("gpt-4o", "slow"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 408);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["type"], "timeout_error", "{e}");
    assert_eq!(e["error"]["code"], "request_timeout", "{e}");

    // A guardrail the gateway would not run is refused, not skipped; nothing is sent.
    let before = a.requests().await.len();
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header(
            "x-portkey-config",
            json!({"provider": "a", "input_guardrails": ["pg-abc"]}).to_string(),
        )
        .json(&chat("gpt-4o", "guarded"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input_guardrails"),
        "{e}"
    );
    assert_eq!(a.requests().await.len(), before);
}

#[tokio::test]
async fn least_latency_prefers_the_faster_provider() {
    let slow = MockServer::start_with(&["--latency-ms", "60"]).await;
    let fast = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}routes:\n  r:\n    strategy: {{ mode: loadbalance, balance: least_latency }}\n    targets: [ {{ provider: slow }}, {{ provider: fast }} ]\n",
        providers(&[("slow", &slow), ("fast", &fast)])
    ))
    .await;
    let mut by: HashMap<String, usize> = HashMap::new();
    for _ in 0..40 {
        let (_, p, _) = served_by(gw.post("/v1/chat/completions", &chat("r", "x")).await).await;
        *by.entry(p).or_default() += 1;
    }
    // Each is measured once at least; after that the fast one wins.
    assert!(by.get("fast").copied().unwrap_or(0) >= 35, "{by:?}");
}

#[test]
fn check_rejects_invalid_routes() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.yaml");
    std::fs::write(
        &path,
        "providers:\n  p: { kind: openai }\nroutes:\n  a: { route: b }\n  b: { targets: [ { route: a } ] }\n  c:\n    strategy: { mode: conditional, conditions: [ { query: { tier: x }, then: q } ] }\n    targets: [ { provider: p, name: q } ]\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin("switchyard"))
        .args(["check", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must start with `params.`"), "{err}");
    assert!(err.contains("refers to itself"), "{err}");
}

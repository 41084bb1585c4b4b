//! Rate limits on requests and tokens, budgets in money, and limits shared by several
//! gateways through a real `redis-server`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::{json, Value};
use switchyard_tests::*;

const KEY_A: &str = "sk-gw-team-a-0123456789";

/// A window of a minute must not roll over during a burst: when fewer than 12 s of the
/// current minute are left, wait (at most 12 s) for the next one to start.
async fn fresh_minute() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = now.as_millis() % 60_000;
    if into > 48_000 {
        tokio::time::sleep(Duration::from_millis((60_000 - into) as u64 + 50)).await;
    }
}

fn provider(mock: &MockServer, model: &str) -> String {
    format!(
        "providers:\n  local:\n    kind: openai\n    base_url: {}\n    api_key: sk-mock-key\n    models: [{model}]\n",
        mock.base_url()
    )
}

async fn send(url: &str, key: &str, body: &Value) -> reqwest::Response {
    http()
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_burst_of_300_on_a_100_per_minute_key_lets_100_through() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      limits: {{ requests: 100/min }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        provider(&mock, "gpt-4o-mini")
    ))
    .await;
    fresh_minute().await;
    let url = gw.url("/v1/chat/completions");
    let results: Vec<(u16, reqwest::header::HeaderMap, Value)> = futures::stream::iter(0..300)
        .map(|i| {
            let url = url.clone();
            async move {
                let r = send(&url, KEY_A, &chat("fast", &format!("hello {i}"))).await;
                let status = r.status().as_u16();
                let headers = r.headers().clone();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (status, headers, body)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let ok: Vec<_> = results.iter().filter(|r| r.0 == 200).collect();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(ok.len() + refused.len(), 300, "only 200s and 429s");
    assert!(
        (98..=102).contains(&ok.len()),
        "{} of 300 let through on a 100/min key",
        ok.len()
    );
    let h = |m: &reqwest::header::HeaderMap, n: &str| m[n].to_str().unwrap().to_owned();
    let mut remaining: Vec<u64> = ok
        .iter()
        .map(|(_, m, _)| {
            assert_eq!(h(m, "x-ratelimit-limit-requests"), "100");
            let reset = h(m, "x-ratelimit-reset-requests");
            assert!(reset.ends_with('s'), "reset {reset}");
            h(m, "x-ratelimit-remaining-requests").parse().unwrap()
        })
        .collect();
    remaining.sort_unstable();
    // Every admitted request saw a distinct count: 99 left after the first, 0 after the last.
    remaining.dedup();
    assert!(remaining.len() >= ok.len() - 2, "{remaining:?}");
    assert_eq!(remaining.first(), Some(&0));
    for (_, m, body) in &refused {
        assert_eq!(h(m, "x-ratelimit-limit-requests"), "100");
        assert_eq!(h(m, "x-ratelimit-remaining-requests"), "0");
        let retry: u64 = h(m, "retry-after").parse().unwrap();
        assert!((1..=60).contains(&retry), "retry-after {retry}");
        assert_eq!(body["error"]["code"], "rate_limit_exceeded");
        assert_eq!(body["error"]["type"], "rate_limit_error");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gateway key `team-a`: 100 requests per min"));
    }
    // Refused requests never reached the provider.
    assert_eq!(mock.requests().await.len(), ok.len());
}

#[tokio::test]
async fn token_limits_charge_an_estimate_and_settle_with_streamed_usage() {
    let mock = MockServer::start_with(&["--chunks", "3"]).await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      limits: {{ tokens: 400/min }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        provider(&mock, "gpt-4o-mini")
    ))
    .await;
    fresh_minute().await;
    let body = json!({"model": "fast", "stream": true, "max_tokens": 20,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "count these few words please"}]});
    let url = gw.url("/v1/chat/completions");
    let mut seen_remaining = Vec::new();
    let mut used = Vec::new();
    let mut refused = None;
    for _ in 0..60 {
        let r = send(&url, KEY_A, &body).await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        assert_eq!(
            header(&r, "x-ratelimit-limit-tokens").as_deref(),
            Some("400")
        );
        assert!(header(&r, "x-ratelimit-limit-requests").is_none());
        seen_remaining.push(
            header(&r, "x-ratelimit-remaining-tokens")
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
        let text = r.text().await.unwrap();
        let usage = sse_data(&text)
            .iter()
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find_map(|v| v["usage"]["total_tokens"].as_i64())
            .expect("a usage chunk");
        used.push(usage);
        // The stream is over for the client; wait (bounded) until the gateway has settled it.
        gw.metrics().await;
    }
    let refused = refused.expect("the token limit refused a request within 60");
    assert!(used.len() >= 2, "{used:?}");
    // Each request is charged the same estimate up front; between two requests the count
    // moved by exactly what the provider reported for the first (the estimate settled).
    for i in 1..seen_remaining.len() {
        assert_eq!(
            seen_remaining[i - 1] - seen_remaining[i],
            used[i - 1],
            "remaining {seen_remaining:?}, used {used:?}"
        );
    }
    assert_eq!(
        header(&refused, "x-ratelimit-remaining-tokens").as_deref(),
        Some("0")
    );
    assert!(header(&refused, "retry-after").is_some());
    let e: Value = refused.json().await.unwrap();
    assert_eq!(e["error"]["code"], "rate_limit_exceeded");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("tokens per min"));
    assert_eq!(mock.requests().await.len(), used.len());
}

#[tokio::test]
async fn a_spent_budget_is_refused_with_budget_exceeded_and_unpriced_models_are_counted() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      budget: {{ usd: 0.000001, per: day }}\n{}    models: [gpt-4o-mini, mystery-model]\nroutes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n  odd:\n    budget: {{ usd: 5, per: month }}\n    targets: [{{ provider: local, model: mystery-model }}]\n",
        provider(&mock, "gpt-4o-mini").replace("    models: [gpt-4o-mini]\n", "")
    ))
    .await;
    let url = gw.url("/v1/chat/completions");
    // One request at $0.15/M prompt and $0.60/M completion spends more than $0.000001.
    let r = send(&url, KEY_A, &chat("fast", "spend a little")).await;
    assert_eq!(r.status(), 200);
    gw.metrics().await;
    let r = send(&url, KEY_A, &chat("fast", "and a little more")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "x-should-retry").as_deref(), Some("false"));
    let reset = header(&r, "x-switchyard-budget-reset").unwrap();
    assert!(reset.ends_with("T00:00:00Z"), "{reset}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "budget_exceeded");
    assert_eq!(e["error"]["type"], "rate_limit_error");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("gateway key `team-a`") && msg.contains(&reset),
        "{msg}"
    );
    assert_eq!(mock.requests().await.len(), 1);

    // A model with no price is served, and counted rather than silently free.
    let other = "sk-gw-team-b-0123456789";
    let gw2 = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-b\n      key: {other}\n{}routes:\n  odd:\n    budget: {{ usd: 5, per: month }}\n    targets: [{{ provider: local, model: mystery-model }}]\n",
        provider(&mock, "mystery-model")
    ))
    .await;
    let r = send(&gw2.url("/v1/chat/completions"), other, &chat("odd", "hi")).await;
    assert_eq!(r.status(), 200);
    let m = gw2.metrics().await;
    assert_eq!(
        metric(&m, "switchyard_budget_unpriced_requests_total", &[]),
        1.0
    );
    gw2.logs_with(|l| l.contains("no price for this model"))
        .await;
}

#[tokio::test]
async fn attempts_of_a_fan_out_count_against_the_key() {
    let mock = MockServer::start().await;
    // Three targets, the first two failing: one request makes three attempts.
    mock.script(json!([{"status": 500, "times": 2}])).await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      limits: {{ requests: 4/min }}\n{}routes:\n  fast:\n    strategy: fallback\n    targets:\n      - {{ provider: local, model: gpt-4o-mini }}\n      - {{ provider: local, model: gpt-4o-mini }}\n      - {{ provider: local, model: gpt-4o-mini }}\n",
        provider(&mock, "gpt-4o-mini")
    ))
    .await;
    fresh_minute().await;
    let url = gw.url("/v1/chat/completions");
    let r = send(&url, KEY_A, &chat("fast", "hi")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-switchyard-attempts").as_deref(), Some("3"));
    assert_eq!(
        header(&r, "x-ratelimit-remaining-requests").as_deref(),
        Some("1")
    );
    assert_eq!(send(&url, KEY_A, &chat("fast", "hi")).await.status(), 200);
    assert_eq!(send(&url, KEY_A, &chat("fast", "hi")).await.status(), 429);
}

#[tokio::test]
async fn two_gateways_on_one_redis_enforce_one_limit() {
    let redis = Redis::start().await;
    let mock = MockServer::start().await;
    let config = format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      limits: {{ requests: 200/min }}\nlimits:\n  store: {{ redis: '{}', sync_interval: 5ms }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        redis.url(),
        provider(&mock, "gpt-4o-mini")
    );
    let a = Gateway::start(&config).await;
    let b = Gateway::start(&config).await;
    fresh_minute().await;
    let urls = [a.url("/v1/chat/completions"), b.url("/v1/chat/completions")];
    let mut ok = [0u32; 2];
    for i in 0..400 {
        let r = send(&urls[i % 2], KEY_A, &chat("fast", "hi")).await;
        match r.status().as_u16() {
            200 => ok[i % 2] += 1,
            429 => {}
            s => panic!("status {s}"),
        }
    }
    let total = ok[0] + ok[1];
    assert!(
        (190..=210).contains(&total),
        "{total} let through by two gateways on one 200/min limit ({ok:?})"
    );
    assert!(ok[0] > 50 && ok[1] > 50, "both served: {ok:?}");
    assert!(
        redis
            .cli(&["--scan", "--pattern", "switchyard:limit:min:*"])
            .lines()
            .count()
            >= 1
    );
    assert_eq!(
        metric(&a.metrics().await, "switchyard_limits_store_up", &[]),
        1.0
    );
}

#[tokio::test]
async fn redis_killed_and_restarted_mid_run_changes_nothing_for_clients() {
    let mut redis = Redis::start().await;
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      limits: {{ requests: 10000/min }}\nlimits:\n  global: {{ requests: 10000/s }}\n  store: {{ redis: '{}', on_error: allow }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        redis.url(),
        provider(&mock, "gpt-4o-mini")
    ))
    .await;
    fresh_minute().await;
    let url = gw.url("/v1/chat/completions");
    let run = |n: usize| {
        let url = url.clone();
        async move {
            for _ in 0..n {
                let r = send(&url, KEY_A, &chat("fast", "hi")).await;
                assert_eq!(r.status(), 200);
                assert!(header(&r, "x-ratelimit-remaining-requests").is_some());
            }
        }
    };
    let up = |want: f64| {
        let gw = &gw;
        async move {
            wait_until("the store's state", Duration::from_secs(15), || async {
                let m = gw.metrics().await;
                (metric(&m, "switchyard_limits_store_up", &[]) == want).then_some(m)
            })
            .await
        }
    };
    up(1.0).await;
    run(30).await;
    redis.kill().await;
    run(30).await;
    let m = up(0.0).await;
    run(30).await;
    assert!(metric(&m, "switchyard_limits_store_errors_total", &[]) >= 1.0);
    gw.logs_with(|l| l.contains("Redis unreachable")).await;
    redis.restart().await;
    up(1.0).await;
    run(30).await;
    gw.logs_with(|l| l.contains("Redis is reachable again"))
        .await;
    // The restarted Redis lost everything; the gateway pushed back all it had counted: the
    // key's minute counter holds the 120 requests.
    wait_until(
        "counters in the restarted Redis",
        Duration::from_secs(10),
        || async {
            let keys = redis.cli(&["--scan", "--pattern", "switchyard:limit:min:*"]);
            let key = keys.lines().next()?.to_owned();
            (redis.cli(&["get", &key]).trim() == "120").then_some(())
        },
    )
    .await;
    // The Redis URL never shows in the logs.
    assert!(!gw.logs().contains(&redis.url()));
}

#[tokio::test]
async fn with_on_error_deny_a_lost_redis_refuses_and_its_return_serves_again() {
    let mut redis = Redis::start().await;
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "limits:\n  global: {{ requests: 10000/s }}\n  store: {{ redis: '{}', on_error: deny }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        redis.url(),
        provider(&mock, "gpt-4o-mini")
    ))
    .await;
    let url = gw.url("/v1/chat/completions");
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("fast", "hi"))
            .await
            .status(),
        200
    );
    redis.kill().await;
    let e: Value = wait_until(
        "a refusal while Redis is down",
        Duration::from_secs(15),
        || {
            let url = url.clone();
            async move {
                let r = http()
                    .post(&url)
                    .json(&chat("fast", "hi"))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 503 {
                    assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
                    return r.json().await.ok();
                }
                assert_eq!(r.status(), 200);
                None
            }
        },
    )
    .await;
    assert_eq!(e["error"]["code"], "limits_store_unavailable");
    redis.restart().await;
    wait_until(
        "service once Redis is back",
        Duration::from_secs(15),
        || {
            let url = url.clone();
            async move {
                let r = http()
                    .post(&url)
                    .json(&chat("fast", "hi"))
                    .send()
                    .await
                    .unwrap();
                (r.status() == 200).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn spend_survives_a_restart_with_redis() {
    let redis = Redis::start().await;
    let mock = MockServer::start().await;
    let config = format!(
        "auth:\n  keys:\n    - name: team-a\n      key: {KEY_A}\n      budget: {{ usd: 0.000001, per: month }}\nlimits:\n  store: {{ redis: '{}' }}\n{}routes:\n  fast:\n    targets: [{{ provider: local, model: gpt-4o-mini }}]\n",
        redis.url(),
        provider(&mock, "gpt-4o-mini")
    );
    let first = Gateway::start(&config).await;
    let r = send(
        &first.url("/v1/chat/completions"),
        KEY_A,
        &chat("fast", "spend it"),
    )
    .await;
    assert_eq!(r.status(), 200);
    first.metrics().await;
    // Wait until the spend reached Redis, then replace the gateway.
    wait_until("the spend in Redis", Duration::from_secs(10), || async {
        let keys = redis.cli(&["--scan", "--pattern", "switchyard:limit:month:*"]);
        let key = keys.lines().next()?.to_owned();
        let v: i64 = redis.cli(&["get", &key]).trim().parse().ok()?;
        (v > 1000).then_some(())
    })
    .await;
    drop(first);
    let second = Gateway::start(&config).await;
    let url = second.url("/v1/chat/completions");
    // The new process learns the spend from Redis on its first sync.
    let e: Value = wait_until(
        "the budget refused after restart",
        Duration::from_secs(10),
        || {
            let url = url.clone();
            async move {
                let r = send(&url, KEY_A, &chat("fast", "more")).await;
                if r.status() == 429 {
                    return r.json().await.ok();
                }
                None
            }
        },
    )
    .await;
    assert_eq!(e["error"]["code"], "budget_exceeded");
}

#[tokio::test]
async fn limits_are_checked_at_load() {
    let dir = TempDir::new();
    let cases = [
        ("auth: { keys: [ { name: a, key: sk-0123456789, limits: { requests: 100/fortnight } } ] }", "auth.keys[0].limits.requests"),
        ("auth: { keys: [ { name: a, key: sk-0123456789, budget: { usd: -1, per: day } } ] }", "auth.keys[0].budget.usd"),
        ("auth: { keys: [ { name: a, key: sk-0123456789, budget: { usd: 1, per: year } } ] }", "auth.keys[0].budget.per"),
        ("limits: { store: { redis: 'http://x', on_error: allow } }", "limits.store.redis"),
        ("limits: { per_user: { tokens: 0/min } }", "limits.per_user.tokens"),
        ("providers: { p: { kind: openai, api_key: k } }\nroutes: { r: { targets: [ { provider: p, model: m, limits: { requests: 1/s } } ] } }", "limits"),
    ];
    for (yaml, want) in cases {
        let path = dir.0.join("c.yaml");
        std::fs::write(&path, yaml).unwrap();
        let out = std::process::Command::new(bin("switchyard"))
            .arg("check")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{yaml} passed");
        assert!(text.contains(want), "{yaml}: {text}");
    }
}

//! Operating the gateway: the admin listener, metrics, graceful shutdown, HTTPS upstreams,
//! logs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn health_ready_and_metrics() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let c = http();
    let health: Value = c
        .get(gw.admin_url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = c.get(gw.admin_url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let missing = c.get(gw.admin_url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    for _ in 0..3 {
        assert_eq!(
            gw.post("/v1/chat/completions", &chat("fast", "count"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        gw.post("/v1/chat/completions", &chat("nope", "x"))
            .await
            .status(),
        404
    );
    let m = gw.metrics().await;
    assert_eq!(
        metric(
            &m,
            "switchyard_requests_total",
            &[("route", "fast"), ("provider", "local"), ("status", "200")]
        ),
        3.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_requests_total",
            &[("route", "none"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_request_duration_seconds_count",
            &[("route", "fast")]
        ),
        3.0
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_upstream_attempts_total",
            &[("provider", "local"), ("outcome", "ok")]
        ),
        3.0
    );
    assert_eq!(
        metric(
            &m,
            "switchyard_errors_total",
            &[("code", "model_not_found")]
        ),
        1.0
    );
    assert!(m.contains("# TYPE switchyard_request_duration_seconds histogram"));
    assert!(m.contains("switchyard_build_info{version="));
    assert_eq!(metric(&m, "switchyard_inflight_requests", &[]), 0.0);
}

#[tokio::test]
async fn access_log_lines_are_json() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    gw.post("/v1/chat/completions", &chat("fast", "log me"))
        .await;
    let logs = gw.logs_with(|l| l.contains("\"target\":\"access\"")).await;
    let line = logs
        .lines()
        .find(|l| l.contains("\"target\":\"access\""))
        .expect("an access log line");
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["route"], "fast");
    assert_eq!(v["provider"], "local");
    assert_eq!(v["model"], "fast");
    assert!(v["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(v["completion_tokens"], 5);
    for l in logs.lines() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|_| panic!("not JSON: {l}"));
    }
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_refuses_new_ones() {
    for signal in ["TERM", "INT"] {
        let mock = MockServer::start().await;
        let mut gw = Gateway::start(&single_provider(&mock)).await;
        mock.script(json!([{"delay_ms": 1200}])).await;
        let url = gw.url("/v1/chat/completions");
        let slow = tokio::spawn(async move {
            http()
                .post(url)
                .json(&chat("fast", "slow"))
                .send()
                .await
                .unwrap()
        });
        // Wait until the request is in flight at the provider.
        let started = Instant::now();
        while mock.requests().await.is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        gw.proc.signal(signal);
        // The listener closes as shutdown begins.
        let port = gw.port;
        wait_until(
            "the listener to close",
            Duration::from_secs(5),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_err()
                    .then_some(())
            },
        )
        .await;
        let refused = http()
            .post(gw.url("/v1/models"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        assert!(
            refused.is_err(),
            "SIG{signal}: a new connection was accepted during shutdown"
        );
        let r = slow.await.unwrap();
        assert_eq!(r.status(), 200, "SIG{signal}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["choices"][0]["message"]["content"],
            "You said: slow t1 t2 t3 t4"
        );
        let status = gw
            .proc
            .wait_exit(Duration::from_secs(10))
            .await
            .expect("the gateway did not exit");
        assert!(status.success(), "SIG{signal}: {status:?}");
        assert!(gw.logs().contains("all in-flight requests finished"));
    }
}

#[tokio::test]
async fn https_providers_are_verified_against_the_configured_ca() {
    let mock = MockServer::start_tls(&["--api-key", "sk-tls"]).await;
    let tls_port = mock.tls_port.unwrap();
    let ca = repo_root().join("tests/fixtures/tls/ca.pem");
    let gw = Gateway::start(&format!(
        "providers:\n  secure:\n    kind: openai\n    base_url: https://localhost:{tls_port}/v1\n    api_key: sk-tls\n    tls: {{ ca_file: \"{}\" }}\n  untrusted:\n    kind: openai\n    base_url: https://127.0.0.1:{tls_port}/v1\n    api_key: sk-tls\n",
        ca.display()
    ))
    .await;
    let r = gw
        .post("/v1/chat/completions", &chat("secure/gpt-4o", "over tls"))
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: over tls t1 t2 t3 t4"
    );
    let stream = gw
        .post("/v1/chat/completions", &json!({"model": "secure/gpt-4o", "stream": true, "messages": [{"role": "user", "content": "s"}]}))
        .await
        .text()
        .await
        .unwrap();
    assert!(stream.trim_end().ends_with("data: [DONE]"));
    // The system trust store does not know the test CA: the connection is refused.
    let r = gw
        .post("/v1/chat/completions", &chat("untrusted/gpt-4o", "x"))
        .await;
    assert_eq!(r.status(), 502);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "connect_error", "{e}");
}

#[tokio::test]
async fn expect_100_continue_is_answered() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&single_provider(&mock)).await;
    let body = serde_json::to_vec(&chat("fast", "continue")).unwrap();
    // A client sending `Expect: 100-continue` waits for the interim answer before it sends
    // the body: the gateway must send it (curl would otherwise stall for a second).
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut interim))
        .await
        .expect("no interim response")
        .unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.write_all(&body).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains("chat.completion") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .expect("no answer")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&reply));
        reply.extend_from_slice(&buf[..n]);
    }
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

#[tokio::test]
async fn a_graceful_upgrade_swaps_config_without_failing_a_request() {
    let mock = MockServer::start().await;
    let dir = TempDir::new();
    let server = format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", threads: 2, upgrade_sock: \"{}\", pid_file: \"{}\" }}\n",
        dir.0.join("upgrade.sock").display(),
        dir.0.join("switchyard.pid").display()
    );
    let old_config = format!("{server}{}", single_provider(&mock));
    let mut old = Gateway::start(&old_config).await;
    let new_config = format!(
        "{old_config}  fresh:\n    targets:\n      - provider: local\n        model: gpt-4o\n"
    );

    // Requests on fresh connections, all through the swap (bounded in count and time).
    let url = old.url("/v1/chat/completions");
    let started = Arc::new(AtomicUsize::new(0));
    let progress = started.clone();
    let load = tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let (mut ok, mut failed) = (0, Vec::new());
        let end = Instant::now() + Duration::from_secs(12);
        while Instant::now() < end && ok + failed.len() < 3000 {
            match client
                .post(&url)
                .json(&chat("fast", "during upgrade"))
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => ok += 1,
                Ok(r) => failed.push(format!("status {}", r.status())),
                Err(e) => failed.push(e.to_string()),
            }
            progress.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (ok, failed)
    });
    // The load is running before the upgrade starts.
    wait_until("the load to start", Duration::from_secs(10), || {
        let n = started.load(Ordering::Relaxed);
        async move { (n >= 20).then_some(()) }
    })
    .await;
    let mut new = old.start_upgrade(&new_config);
    // The new process binds the upgrade socket to wait for the listeners; hand over once it
    // has (connecting to probe it would be taken for the hand-over itself).
    let sock = dir.0.join("upgrade.sock");
    wait_until(
        "the new process to bind the upgrade socket",
        Duration::from_secs(20),
        || {
            let exists = sock.exists();
            async move { exists.then_some(()) }
        },
    )
    .await;
    old.proc.signal("QUIT");
    let status = old
        .proc
        .wait_exit(Duration::from_secs(20))
        .await
        .expect("the old process did not exit");
    assert!(status.success(), "{status:?}");
    // The new config is live on the same port.
    let r = old
        .post("/v1/chat/completions", &chat("fresh", "new route"))
        .await;
    assert_eq!(r.status(), 200, "{}", new.output());
    let (ok, failed) = load.await.unwrap();
    assert!(
        failed.is_empty(),
        "{} requests failed during the upgrade: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(ok > 50, "only {ok} requests were made");
    new.signal("TERM");
    assert!(new.wait_exit(Duration::from_secs(10)).await.is_some());
}

/// Runs `switchyard run` on `yaml` (written to `dir`) until it exits, within 20 s: its exit
/// code and output.
#[allow(clippy::unwrap_used, clippy::panic)] // a helper of the tests, failing them like their own asserts
async fn run_until_exit(dir: &TempDir, yaml: &str, env: &[(&str, &str)]) -> (i32, String) {
    let config = dir.0.join("exits.yaml");
    std::fs::write(&config, yaml).unwrap();
    let log = dir.0.join("exits.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut cmd = std::process::Command::new(bin("switchyard"));
    cmd.arg("run")
        .arg("--config")
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the gateway did not exit:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_listener_that_cannot_be_bound_fails_the_start() {
    let dir = TempDir::new();
    // A port another process listens on, for the gateway and for the admin listener; an
    // address this host does not have (TEST-NET-3).
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = held.local_addr().unwrap().to_string();
    let free = || format!("127.0.0.1:{}", free_port());
    for (listen, admin, bad) in [
        (busy.clone(), free(), busy.clone()),
        (free(), busy.clone(), busy.clone()),
        (
            "203.0.113.1:80".to_owned(),
            free(),
            "203.0.113.1:80".to_owned(),
        ),
    ] {
        let yaml =
            format!("server: {{ listen: \"{listen}\", admin_listen: \"{admin}\", threads: 1 }}\n");
        let (code, out) = run_until_exit(&dir, &yaml, &[]).await;
        assert_ne!(code, 0, "{out}");
        assert!(
            out.contains(&format!("cannot start: cannot listen on {bad}")),
            "{out}"
        );
        // Nothing started: no listener answered, nothing panicked.
        assert!(!out.contains("panicked"), "{out}");
        assert!(!out.contains("Server starting"), "{out}");
    }
    drop(held);
}

#[tokio::test]
async fn signals_other_than_the_documented_ones_do_not_end_the_gateway() {
    let mock = MockServer::start().await;
    let mut gw = Gateway::start(&single_provider(&mock)).await;
    for sig in ["HUP", "USR1", "USR2", "ALRM", "PIPE"] {
        gw.proc.signal(sig);
        let r = gw.post("/v1/chat/completions", &chat("fast", sig)).await;
        assert_eq!(r.status(), 200, "after SIG{sig}");
    }
    gw.logs_with(|l| l.contains("signal ignored") && l.contains("SIGALRM"))
        .await;
    assert!(gw.proc.wait_exit(Duration::from_millis(1)).await.is_none());
    // The documented ones still work.
    gw.proc.signal("TERM");
    let status = gw.proc.wait_exit(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[tokio::test]
async fn an_upgrade_to_a_process_that_fails_to_start_leaves_the_old_one_serving() {
    let mock = MockServer::start().await;
    let dir = TempDir::new();
    let server = format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", threads: 2, upgrade_sock: \"{}\" }}\n",
        dir.0.join("upgrade.sock").display(),
    );
    let old = Gateway::start(&format!("{server}{}", single_provider(&mock))).await;
    // A config that does not load, and one with an admin address this host does not have.
    let unbindable = format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"203.0.113.1:80\", threads: 2, upgrade_sock: \"{}\" }}\n{}",
        dir.0.join("upgrade.sock").display(),
        single_provider(&mock)
    );
    for (broken, why) in [
        (
            format!("{server}providers: [not, a, map]\n"),
            "invalid configuration",
        ),
        (unbindable, "cannot listen on 203.0.113.1:80"),
    ] {
        // The README's steps: start the new process with --upgrade, then SIGQUIT the old one.
        let mut new = old.start_upgrade(&broken);
        let status = new
            .wait_exit(Duration::from_secs(20))
            .await
            .expect("the broken process did not exit");
        assert!(!status.success());
        assert!(new.output().contains(why), "{}", new.output());
        let failures = old.logs().matches("upgrade failed: still serving").count();
        old.proc.signal("QUIT");
        wait_until(
            "the old process to give up the upgrade",
            Duration::from_secs(20),
            || {
                let n = old.logs().matches("upgrade failed: still serving").count();
                async move { (n > failures).then_some(()) }
            },
        )
        .await;
        // Still serving, on the same port, with the old config.
        let r = old
            .post("/v1/chat/completions", &chat("fast", "still here"))
            .await;
        assert_eq!(r.status(), 200);
        let ready = http().get(old.admin_url("/ready")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
    }
    // And a later upgrade to a good config still works.
    let mut good = old.start_upgrade(&format!("{server}{}", single_provider(&mock)));
    let sock = dir.0.join("upgrade.sock");
    wait_until(
        "the new process's upgrade socket",
        Duration::from_secs(20),
        || {
            let exists = sock.exists();
            async move { exists.then_some(()) }
        },
    )
    .await;
    let mut old = old;
    old.proc.signal("QUIT");
    let status = old.proc.wait_exit(Duration::from_secs(20)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let r = old
        .post("/v1/chat/completions", &chat("fast", "new one"))
        .await;
    assert_eq!(r.status(), 200, "{}", good.output());
    good.signal("TERM");
    assert!(good.wait_exit(Duration::from_secs(10)).await.is_some());
}

#[tokio::test]
async fn the_upgrade_socket_lives_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt;
    let mock = MockServer::start().await;
    // Default: a 0700 directory under $XDG_RUNTIME_DIR.
    let runtime = TempDir::new();
    let gw = GatewayConfig::new(single_provider(&mock))
        .env("XDG_RUNTIME_DIR", runtime.0.to_str().unwrap())
        .start()
        .await;
    let mode = std::fs::metadata(runtime.0.join("switchyard"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    drop(gw);
    // A configured socket in a directory others can write is refused.
    let shared = TempDir::new();
    std::fs::set_permissions(&shared.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let yaml = format!(
        "server: {{ listen: \"127.0.0.1:{}\", admin_listen: \"127.0.0.1:{}\", upgrade_sock: \"{}\" }}\n",
        free_port(),
        free_port(),
        shared.0.join("up.sock").display()
    );
    let (code, out) = run_until_exit(&shared, &yaml, &[]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("can be written by other users"), "{out}");
}

#[tokio::test]
async fn trace_logs_never_show_a_key() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "log: {{ level: trace }}\nauth:\n  keys:\n    - {{ name: team, key: gw-key-abcdefgh-1234 }}\n{}",
        single_provider(&mock)
    ))
    .await;
    let r = http()
        .post(gw.url("/v1/chat/completions"))
        .header("authorization", "Bearer gw-key-abcdefgh-1234")
        .header("x-amz-security-token", "sk-unconfigured-client-9876")
        .json(&chat("fast", "trace me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let logs = gw.logs_with(|l| l.contains("\"target\":\"access\"")).await;
    // Pingora printed the heads (so the test sees what it would have leaked) …
    assert!(logs.contains("Request header"), "{logs}");
    // … and no key is in them: the gateway key, the provider key (sk-mock-key) and a
    // credential header nobody configured.
    for secret in [
        "gw-key-abcdefgh-1234",
        "sk-mock-key",
        "sk-unconfigured-client-9876",
    ] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
    assert!(logs.contains("[REDACTED]"));
}

#[tokio::test]
async fn a_request_whose_head_is_arriving_at_shutdown_is_served() {
    let mock = MockServer::start().await;
    let mut gw = Gateway::start(&single_provider(&mock)).await;
    let body = serde_json::to_string(&chat("fast", "late")).unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
        .await
        .unwrap();
    // A first request on the connection: it is accepted and kept alive.
    conn.write_all(request.as_bytes()).await.unwrap();
    let first = read_response(&mut conn).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // The next request's head has begun when shutdown starts …
    let (head, rest) = request.split_at(40);
    conn.write_all(head.as_bytes()).await.unwrap();
    gw.proc.signal("TERM");
    let port = gw.port;
    wait_until(
        "the listener to close",
        Duration::from_secs(5),
        || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    // … and is answered once it is complete (Pingora's cleanup would drop it).
    conn.write_all(rest.as_bytes()).await.unwrap();
    let second = read_response(&mut conn).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    let status = gw.proc.wait_exit(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

/// Reads one HTTP/1.1 response with a `content-length` body (within 10 s).
#[allow(clippy::unwrap_used, clippy::panic)] // a helper of the tests, failing them like their own asserts
async fn read_response(conn: &mut tokio::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(i) = text.find("\r\n\r\n") {
            let len = text[..i]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if got.len() >= i + 4 + len {
                return text;
            }
        }
        let left = end.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, conn.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no complete response: {text}"))
            .unwrap_or(0);
        if n == 0 {
            return text;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn the_open_files_limit_is_raised_and_a_low_one_is_warned_about() {
    let dir = TempDir::new();
    let config = dir.0.join("nofile.yaml");
    std::fs::write(
        &config,
        format!(
            "server: {{ listen: \"127.0.0.1:{}\", admin_listen: \"127.0.0.1:{}\", threads: 1 }}\n",
            free_port(),
            free_port()
        ),
    )
    .unwrap();
    let log = dir.0.join("nofile.log");
    let out = std::fs::File::create(&log).unwrap();
    // A soft limit of 256 under a hard limit of 1024: too few for 4096 connections.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 256 && ulimit -Hn 1024 && exec \"$0\" run --config \"$1\"")
        .arg(bin("switchyard"))
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let logs = wait_until("the limit lines", Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            text.contains("server.max_connections needs")
                .then_some(text)
        }
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        logs.contains(r#""msg":"open-files limit raised","from":256,"to":1024"#),
        "{logs}"
    );
    assert!(
        logs.contains(r#""limit":1024,"max_connections":4096"#),
        "{logs}"
    );
}

//! Hostile clients at the connection level: silent and slow connections, oversized and
//! malformed heads, slow bodies, too many connections. Each test reproduces a way an
//! unauthenticated client could hold or exhaust the gateway, over raw sockets.

use std::time::Duration;

use serde_json::Value;
use switchyard_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Tight limits so the tests finish quickly.
fn config(mock: &MockServer, server_extra: &str) -> String {
    format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", threads: 2, header_timeout: 1s, idle_timeout: 1s, body_timeout: 1s{server_extra} }}\n{}",
        single_provider(mock)
    )
}

async fn connect(gw: &Gateway) -> TcpStream {
    TcpStream::connect(("127.0.0.1", gw.port)).await.unwrap()
}

/// Everything the server sends until it closes the connection (bounded: 15 s).
async fn read_to_close(conn: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(15), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "the connection stayed open; received so far: {}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

/// Status and JSON body of a single HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let body: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text:?}"));
    (status, body)
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let mut conn = connect(&gw).await;
    // Nothing is sent: the gateway closes the connection without an answer.
    assert!(read_to_close(&mut conn).await.is_empty());
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_idle() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let mut conn = connect(&gw).await;
    let body = serde_json::to_string(&chat("fast", "hi")).unwrap();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.unwrap();
    // The answer comes, then, with no second request, the connection closes.
    let all = read_to_close(&mut conn).await;
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("chat.completion"), "{text}");
}

#[tokio::test]
async fn a_head_sent_too_slowly_gets_a_408() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let mut conn = connect(&gw).await;
    // One byte at a time, slower than the head deadline allows in total.
    let head = b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nx-slow: aaaaaaaaaaaaaaaaaaaa";
    let writer = async {
        for b in head {
            if conn.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    let (status, body) = parse_response(&read_to_close(&mut conn).await);
    assert_eq!(status, 408);
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn an_oversized_head_gets_a_431() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let mut conn = connect(&gw).await;
    let big = "a".repeat(70 * 1024);
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nx-big: {big}\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    // The gateway may close before taking all of it.
    let _ = conn.write_all(req.as_bytes()).await;
    let (status, body) = parse_response(&read_to_close(&mut conn).await);
    assert_eq!(status, 431);
    assert_eq!(body["error"]["code"], "headers_too_large");
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn malformed_heads_get_openai_shaped_400s() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let many: String = (0..300).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(&str, String)> = vec![
        (
            "conflicting content-length",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}".into(),
        ),
        (
            "negative content-length",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: -2\r\n\r\n{}".into(),
        ),
        (
            "more than 256 headers",
            format!("GET /v1/models HTTP/1.1\r\nhost: gw\r\n{many}\r\n"),
        ),
        (
            "NUL in a header",
            "GET /v1/models HTTP/1.1\r\nhost: gw\r\nx-a: a\0b\r\n\r\n".into(),
        ),
        (
            "no Host on HTTP/1.1",
            "GET /v1/models HTTP/1.1\r\n\r\n".into(),
        ),
    ];
    for (name, req) in cases {
        let mut conn = connect(&gw).await;
        let _ = conn.write_all(req.as_bytes()).await;
        let raw = read_to_close(&mut conn).await;
        let (status, body) = parse_response(&raw);
        assert_eq!(status, 400, "{name}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}: {body}"
        );
    }
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn a_body_sent_too_slowly_gets_a_408() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&config(&mock, "")).await;
    let mut conn = connect(&gw).await;
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{";
    conn.write_all(head.as_bytes()).await.unwrap();
    let writer = async {
        for _ in 0..40 {
            if conn.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(6), writer).await;
    let (status, body) = parse_response(&read_to_close(&mut conn).await);
    assert_eq!(status, 408);
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(mock.requests().await.is_empty());
}

#[tokio::test]
async fn idle_connections_make_room_for_real_clients() {
    let mock = MockServer::start().await;
    // Long idle limits: only the connection cap can make room.
    let gw = Gateway::start(&format!(
        "server: {{ listen: \"{{listen}}\", admin_listen: \"{{admin}}\", threads: 2, max_connections: 20, idle_timeout: 60s, header_timeout: 60s }}\n{}",
        single_provider(&mock)
    ))
    .await;
    let mut silent = Vec::new();
    for _ in 0..40 {
        silent.push(connect(&gw).await);
    }
    // Every place is held by a connection that has said nothing; real requests still get in.
    for i in 0..10 {
        let r = http()
            .post(gw.url("/v1/chat/completions"))
            .json(&chat("fast", &format!("real {i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    drop(silent);
}

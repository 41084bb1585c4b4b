//! Mock model providers for Switchyard's tests and benchmarks.
//!
//! One process serves every provider wire format the gateway speaks (OpenAI's and its
//! family, Anthropic, Gemini/Vertex, Bedrock, Azure OpenAI, Cohere; one module each) and
//! validates what it receives the way the real API does: path, auth
//! header, JSON body. Tests script faults through a control API under `/__mock/`:
//!
//! - `POST /__mock/script` with a JSON array of [`script::Behaviour`]s: what the next
//!   requests get (a status, a delay, a reset before headers or mid-stream, malformed JSON,
//!   an error as the first stream event…). `DELETE` clears it.
//! - `GET /__mock/requests`: the last requests received (method, path, headers, body), so a
//!   test can assert what the provider saw. `DELETE` clears them.
//! - `GET /__mock/health`: 200 once listening.
//! - `GET /__mock/image.png` (a 1x1 PNG) and `GET /__mock/page.html`: targets for image URLs.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod cohere;
pub mod gemini;
pub mod openai;
pub mod reply;
pub mod script;
mod wire;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use pingora::apps::{HttpServerApp, ReusedHttpStream};
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;

use crate::script::{Behaviour, Script};
pub use crate::wire::Reply;

/// How the mock behaves when nothing is scripted.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// The key clients must present; `None` accepts any.
    pub api_key: Option<String>,
    /// Content chunks per streamed answer.
    pub chunks: usize,
    /// Delay between stream chunks.
    pub chunk_delay: Duration,
    /// Delay before every response header.
    pub latency: Duration,
    /// Embedding dimensions when the request names none.
    pub dimensions: usize,
    /// How many requests `/__mock/requests` remembers (0 turns recording off).
    pub record: usize,
    /// AWS credentials SigV4-signed requests must verify against: (access key id, secret).
    pub aws: Option<(String, String)>,
    /// Streamed OpenAI chat content deltas carry their send time instead of text:
    /// `"t=<unix microseconds> "`, taken just before each chunk is written, so a client on the
    /// same machine can measure each event's one-way latency.
    pub stamp: bool,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            api_key: None,
            chunks: 5,
            chunk_delay: Duration::ZERO,
            latency: Duration::ZERO,
            dimensions: 8,
            record: 200,
            aws: None,
            stamp: false,
        }
    }
}

/// A provider wire format the mock speaks: which requests are its own, and how to answer.
pub struct Dialect {
    /// A name for logs.
    pub name: &'static str,
    /// True for requests in this format (by path, usually).
    pub matches: fn(&Incoming) -> bool,
    /// The answer, after the scripted delay and reset have been applied.
    pub handle: fn(&Incoming, &Behaviour, &MockOptions) -> Reply,
}

/// Every format the mock speaks, most specific first; OpenAI's is the catch-all and answers
/// unknown paths with OpenAI's 404.
pub const DIALECTS: &[Dialect] = &[
    anthropic::DIALECT,
    azure::DIALECT,
    bedrock::DIALECT,
    cohere::DIALECT,
    gemini::DIALECT,
    openai::DIALECT,
];

/// A request as the mock received it.
pub struct Incoming {
    /// Method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers.
    pub headers: http::HeaderMap,
    /// Body.
    pub body: Bytes,
    /// A per-process sequence number.
    pub seq: u64,
}

impl Incoming {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The mock application.
pub struct Mock {
    opts: MockOptions,
    script: Script,
    recorded: Mutex<VecDeque<serde_json::Value>>,
    seq: AtomicU64,
}

impl Mock {
    /// A mock with these defaults.
    pub fn new(opts: MockOptions) -> Self {
        Self {
            opts,
            script: Script::default(),
            recorded: Mutex::new(VecDeque::new()),
            seq: AtomicU64::new(0),
        }
    }

    fn record(&self, req: &Incoming) {
        if self.opts.record == 0 {
            return;
        }
        let headers: serde_json::Map<String, serde_json::Value> = req
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into(),
                )
            })
            .collect();
        let body = serde_json::from_slice::<serde_json::Value>(&req.body)
            .unwrap_or_else(|_| String::from_utf8_lossy(&req.body).into());
        let entry = serde_json::json!({
            "method": req.method, "path": req.path, "query": req.query,
            "headers": headers, "body": body, "body_bytes": req.body.len(),
        });
        if let Ok(mut r) = self.recorded.lock() {
            if r.len() >= self.opts.record {
                r.pop_front();
            }
            r.push_back(entry);
        }
    }

    fn control(&self, req: &Incoming) -> Reply {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/__mock/health") => Reply::json(200, br#"{"status":"ok"}"#.to_vec()),
            ("POST", "/__mock/script") => match serde_json::from_slice::<Vec<Behaviour>>(&req.body)
            {
                Ok(items) => {
                    self.script.push(items);
                    Reply::json(200, br#"{"ok":true}"#.to_vec())
                }
                Err(e) => Reply::json(
                    400,
                    serde_json::to_vec(&serde_json::json!({"error": e.to_string()}))
                        .unwrap_or_default(),
                ),
            },
            ("DELETE", "/__mock/script") => {
                self.script.clear();
                Reply::json(200, br#"{"ok":true}"#.to_vec())
            }
            ("GET", "/__mock/requests") => {
                let list: Vec<serde_json::Value> = self
                    .recorded
                    .lock()
                    .map(|r| r.iter().cloned().collect())
                    .unwrap_or_default();
                Reply::json(200, serde_json::to_vec(&list).unwrap_or_default())
            }
            ("DELETE", "/__mock/requests") => {
                if let Ok(mut r) = self.recorded.lock() {
                    r.clear();
                }
                Reply::json(200, br#"{"ok":true}"#.to_vec())
            }
            // A small PNG to point image URLs at, and a page that is not an image.
            ("GET", "/__mock/image.png") => Reply::Body {
                status: 200,
                content_type: "image/png",
                body: PIXEL_PNG.to_vec(),
                headers: Vec::new(),
                cut: false,
            },
            ("GET", "/__mock/page.html") => Reply::Body {
                status: 200,
                content_type: "text/html",
                body: b"<html>not an image</html>".to_vec(),
                headers: Vec::new(),
                cut: false,
            },
            _ => Reply::json(404, br#"{"error":"unknown control path"}"#.to_vec()),
        }
    }
}

/// A 1x1 PNG.
pub const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc, 0xcf, 0xc0, 0x50,
    0x0f, 0x00, 0x04, 0x85, 0x01, 0x80, 0x84, 0xa9, 0x8c, 0x21, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[async_trait]
impl HttpServerApp for Mock {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !matches!(session.read_request().await, Ok(true)) {
            return None;
        }
        let mut body = BytesMut::new();
        loop {
            match session.read_request_body().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => return None,
            }
        }
        let h = session.req_header();
        let req = Incoming {
            method: h.method.as_str().to_owned(),
            path: h.uri.path().to_owned(),
            query: h.uri.query().map(str::to_owned),
            headers: h.headers.clone(),
            body: body.freeze(),
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
        };
        if *shutdown.borrow() {
            session.set_keepalive(None);
        } else {
            session.set_keepalive(Some(60));
        }
        let reply = if req.path.starts_with("/__mock/") {
            self.control(&req)
        } else {
            self.record(&req);
            let behaviour = self.script.next().unwrap_or_default();
            let delay = behaviour
                .delay_ms
                .map_or(self.opts.latency, Duration::from_millis);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if behaviour.reset_before_headers {
                return None;
            }
            let dialect = DIALECTS
                .iter()
                .find(|d| (d.matches)(&req))
                .unwrap_or(&openai::DIALECT);
            (dialect.handle)(&req, &behaviour, &self.opts)
        };
        wire::write(session, reply, self.opts.stamp).await
    }
}

/// Runs a mock server on `listen` (and `tls_listen` with a certificate, offering HTTP/2 and
/// HTTP/1.1 by ALPN) until killed.
pub fn run(
    opts: MockOptions,
    listen: &str,
    tls: Option<(String, String, String)>,
    threads: usize,
) -> Result<(), String> {
    use pingora::listeners::tls::TlsSettings;
    use pingora::server::configuration::{Opt, ServerConf};
    use pingora::server::Server;
    use pingora::services::listening::Service;
    let conf = ServerConf {
        threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(0),
        pid_file: format!("/tmp/switchyard-mock-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/switchyard-mock-{}.sock", std::process::id()),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();
    let mut service = Service::new("switchyard mock".to_owned(), Mock::new(opts));
    service.add_tcp(listen);
    if let Some((addr, cert, key)) = tls {
        // ALPN: h2 first, then http/1.1, as real providers do. Pingora hands every HTTP/2
        // stream to `process_new_http` as its own `ServerSession`; keep-alive settings are
        // no-ops there, and a reply broken off early (a script's reset or cut) drops the
        // session, which resets just that stream (RST_STREAM), not the connection.
        let mut settings =
            TlsSettings::intermediate(&cert, &key).map_err(|e| format!("TLS listener: {e}"))?;
        settings.enable_h2();
        service.add_tls_with_settings(&addr, None, settings);
    }
    server.add_service(service);
    server.run_forever()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::path::PathBuf;

    use bytes::Bytes;
    use pingora::connectors::http::Connector;
    use pingora::connectors::ConnectorOptions;
    use pingora::http::RequestHeader;
    use pingora::upstreams::peer::HttpPeer;

    use super::*;

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// One request over `session`: status and body, or the error that ended the body.
    async fn exchange(
        session: &mut pingora::protocols::http::client::HttpSession,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (u16, Vec<u8>, Option<String>) {
        let mut req = RequestHeader::build(method, path.as_bytes(), None).unwrap();
        req.insert_header("host", "127.0.0.1").unwrap();
        req.insert_header("content-type", "application/json")
            .unwrap();
        req.insert_header("content-length", body.len()).unwrap();
        session.write_request_header(Box::new(req)).await.unwrap();
        session
            .write_request_body(Bytes::copy_from_slice(body), true)
            .await
            .unwrap();
        session.finish_request_body().await.unwrap();
        session.read_response_header().await.unwrap();
        let status = session.response_header().unwrap().status.as_u16();
        let mut out = Vec::new();
        loop {
            match session.read_response_body().await {
                Ok(Some(b)) => out.extend_from_slice(&b),
                Ok(None) => return (status, out, None),
                Err(e) => return (status, out, Some(e.to_string())),
            }
        }
    }

    /// The TLS listener speaks HTTP/2 (ALPN h2): streams, stamps and scripted mid-stream
    /// resets work per HTTP/2 stream, and a reset leaves the connection usable.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tls_listener_offers_http2() {
        let fx = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tls");
        let (port, tls_port) = (free_port(), free_port());
        let tls = Some((
            format!("127.0.0.1:{tls_port}"),
            fx.join("server.pem").display().to_string(),
            fx.join("server.key").display().to_string(),
        ));
        let opts = MockOptions {
            chunks: 3,
            chunk_delay: Duration::from_millis(20),
            stamp: true,
            ..MockOptions::default()
        };
        std::thread::spawn(move || run(opts, &format!("127.0.0.1:{port}"), tls, 1));

        let mut copts = ConnectorOptions::new(1);
        copts.ca_file = Some(fx.join("ca.pem").display().to_string());
        let connector = Connector::new(Some(copts));
        let mut peer = HttpPeer::new(
            format!("127.0.0.1:{tls_port}"),
            true,
            "127.0.0.1".to_owned(),
        );
        peer.options.set_http_version(2, 1);
        peer.options.verify_cert = true;
        peer.options.verify_hostname = true;
        let mut session = None;
        for _ in 0..100 {
            if let Ok((s, _)) = connector.get_http_session(&peer).await {
                session = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut session = session.expect("the mock's TLS listener did not come up");
        assert!(session.as_http2().is_some(), "ALPN did not select h2");

        let chat =
            br#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
        let (status, body, err) =
            exchange(&mut session, "POST", "/v1/chat/completions", chat).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!((status, err), (200, None), "{text}");
        assert_eq!(text.matches("\"content\":\"t=").count(), 3, "{text}");
        assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
        connector.release_http_session(session, &peer, None).await;

        // A scripted mid-stream reset resets the stream after what was written, and the
        // connection serves the next request.
        let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
        assert!(reused, "the h2 connection was not reused");
        let script = br#"[{"reset_after_chunks":2}]"#;
        let (status, _, err) = exchange(&mut session, "POST", "/__mock/script", script).await;
        assert_eq!((status, err), (200, None));
        connector.release_http_session(session, &peer, None).await;
        let (mut session, _) = connector.get_http_session(&peer).await.unwrap();
        let (status, body, err) =
            exchange(&mut session, "POST", "/v1/chat/completions", chat).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200);
        assert!(err.is_some(), "the stream was not reset: {text}");
        assert_eq!(text.matches("data: ").count(), 2, "{text}");
        connector.release_http_session(session, &peer, None).await;
        let (mut session, reused) = connector.get_http_session(&peer).await.unwrap();
        assert!(reused, "the reset took the connection down");
        let (status, _, err) = exchange(&mut session, "GET", "/__mock/health", b"").await;
        assert_eq!((status, err), (200, None));
    }
}

//! The admin listener: `/health` (the process is alive), `/ready` (config loaded and the
//! gateway listener accepting) and `/metrics` (Prometheus text format).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{Response, StatusCode};
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;

use crate::state::State;

/// The admin application.
pub struct Admin {
    state: Arc<State>,
    gateway_up: AtomicBool,
}

impl Admin {
    /// An admin app for `state`.
    pub fn new(state: Arc<State>) -> Self {
        Self {
            state,
            gateway_up: AtomicBool::new(false),
        }
    }

    /// True once the gateway listener has accepted a connection from us.
    async fn gateway_listening(&self) -> bool {
        if self.gateway_up.load(Ordering::Relaxed) {
            return true;
        }
        let mut addr = self.state.config.server.listen;
        if addr.ip().is_unspecified() {
            let ip = match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            addr = SocketAddr::new(ip, addr.port());
        }
        let up = matches!(
            tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                .await,
            Ok(Ok(_))
        );
        if up {
            self.gateway_up.store(true, Ordering::Relaxed);
        }
        up
    }
}

fn response(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    let len = r.body().len();
    r.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    r
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Vec<u8>> {
    response(
        status,
        "application/json",
        serde_json::to_vec(body).unwrap_or_default(),
    )
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let path = session.req_header().uri.path().to_owned();
        let method = session.req_header().method.clone();
        if method != http::Method::GET && method != http::Method::HEAD {
            return json(
                StatusCode::METHOD_NOT_ALLOWED,
                &serde_json::json!({"error": {"message": "admin endpoints take GET", "type": "invalid_request_error", "param": null, "code": "method_not_allowed"}}),
            );
        }
        match path.as_str() {
            "/health" | "/healthz" | "/livez" => {
                json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
            }
            "/ready" | "/readyz" => {
                if self.state.draining.load(Ordering::Relaxed) {
                    json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &serde_json::json!({"status": "draining"}),
                    )
                } else if self.gateway_listening().await {
                    json(StatusCode::OK, &serde_json::json!({"status": "ready"}))
                } else {
                    json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        &serde_json::json!({"status": "starting"}),
                    )
                }
            }
            "/metrics" => {
                self.state
                    .metrics
                    .observe_health(&self.state.health.report(self.state.clock.now()));
                response(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    self.state.metrics.render(),
                )
            }
            "/health/targets" => {
                let targets: Vec<serde_json::Value> = self
                    .state
                    .health
                    .report(self.state.clock.now())
                    .into_iter()
                    .map(|r| {
                        serde_json::json!({
                            "provider": r.provider, "model": r.model, "circuit": r.circuit.label(),
                            "healthy": r.healthy, "provider_up": r.provider_up,
                            "consecutive_failures": r.failures, "latency_seconds": r.latency_seconds,
                            "inflight": r.inflight,
                        })
                    })
                    .collect();
                json(StatusCode::OK, &serde_json::json!({ "targets": targets }))
            }
            _ => json(
                StatusCode::NOT_FOUND,
                &serde_json::json!({"error": {"message": format!("unknown admin path {}", path.chars().take(100).collect::<String>()), "type": "invalid_request_error", "param": null, "code": "unknown_url"}}),
            ),
        }
    }
}

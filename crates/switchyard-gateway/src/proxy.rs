//! Switchyard's `ProxyHttp` implementation: the seam between Pingora and the request pipeline.
//!
//! `request_filter` runs the whole request ([`request::serve`]) and returns `Ok(true)`, so
//! Pingora's own upstream phases never run (`upstream_peer` is unreachable; see
//! ARCHITECTURE.md, "The attempt loop"). `logging` runs the `on_complete` stages (metrics,
//! access log, …) from what the request left in its context; `fail_to_proxy` guarantees that
//! any error Pingora surfaces still reaches the client as OpenAI-shaped JSON.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use switchyard_pipeline::Hooks;
use switchyard_providers::ErrorBody;

use crate::ctx::{RequestCtx, NONE};
use crate::error::GatewayError;
use crate::failure::Failure;
use crate::guard::Guarded;
use crate::request::{self, CLIENT_IO_TIMEOUT};
use crate::state::State;
use crate::{intake, respond};

/// Most request body read and thrown away after an early answer, and for how long.
const DISCARD_MAX: usize = 8 * 1024 * 1024;
const DISCARD_WITHIN: Duration = Duration::from_secs(5);

/// The guard of an HTTP/1 client connection (HTTP/2 streams have none of their own).
fn guard_of(session: &Session) -> Option<&Guarded> {
    session
        .as_downstream()
        .stream()
        .and_then(|s| s.as_any().downcast_ref::<Guarded>())
}

/// The gateway.
pub struct Gateway {
    state: Arc<State>,
    none: Arc<str>,
}

impl Gateway {
    /// A gateway serving from `state`.
    pub fn new(state: Arc<State>) -> Self {
        Self {
            state,
            none: Arc::from(NONE),
        }
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(&self.state.metrics.inflight, &self.none, &self.state.budget)
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.request_id = self.state.next_request_id();
        session.set_write_timeout(Some(CLIENT_IO_TIMEOUT));
        // The head is complete: the connection's guard lets the body through, and learns that
        // whatever is written now is the gateway's own answer.
        if let Some(g) = guard_of(session) {
            g.state().busy();
        }
        // While a response is produced the gateway watches the client socket to notice it
        // leaving. A keep-alive client may already send its next request as the body ends:
        // with pipelining on, Pingora keeps those bytes for the next request instead of
        // reporting them as an error.
        session.as_downstream_mut().set_pipelining_enabled(true);
        if self.state.draining.load(Ordering::Relaxed) {
            session.set_keepalive(None);
        } else {
            // Kept alive for the next request (Pingora would keep an HTTP/1.1 connection open
            // forever after its first request); the guard bounds the wait too.
            session.set_keepalive(Some(self.state.config.server.idle_timeout.as_secs().max(1)));
        }
        match request::serve(&self.state, session, ctx).await {
            Ok(()) => Ok(true),
            Err(Failure::Respond {
                status,
                body,
                headers,
                code,
            }) => {
                ctx.error = Some(code);
                respond::error(session, &self.state.pipeline, ctx, status, &body, &headers).await?;
                if !session.is_body_done()
                    && !intake::discard_body(session, DISCARD_MAX, DISCARD_WITHIN).await
                {
                    // The body was not read to its end: the connection cannot carry another
                    // request.
                    session.set_keepalive(None);
                }
                Ok(true)
            }
            Err(Failure::Abort(e)) => Err(e),
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut RequestCtx,
    ) -> pingora::Result<Box<HttpPeer>> {
        // request_filter always answers (see the module docs).
        Err(pingora::Error::explain(
            pingora::ErrorType::InternalError,
            "upstream_peer is not used: request_filter makes the upstream exchange",
        ))
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &pingora::Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        // A client that went away gets no answer, and is counted as 499, not as an error.
        if session.response_written().is_none() && ctx.error != Some("client_closed") {
            // An error before anything was written (Pingora's own phases): still JSON.
            let err = GatewayError::Internal(e.etype().as_str().to_owned());
            let (status, body) = match e.esource() {
                pingora::ErrorSource::Downstream => (
                    400,
                    ErrorBody::new(
                        "malformed request",
                        "invalid_request_error",
                        Some("bad_request"),
                    ),
                ),
                _ => (500, err.body()),
            };
            ctx.error.get_or_insert("internal_error");
            let _ = respond::error(session, &self.state.pipeline, ctx, status, &body, &[]).await;
        }
        FailToProxy {
            error_code: ctx.status,
            can_reuse_downstream: false,
        }
    }

    fn suppress_error_log(
        &self,
        _session: &Session,
        _ctx: &RequestCtx,
        _error: &pingora::Error,
    ) -> bool {
        // Every request is logged once, by the access log stage, without secrets.
        true
    }

    async fn logging(
        &self,
        session: &mut Session,
        e: Option<&pingora::Error>,
        ctx: &mut RequestCtx,
    ) {
        if let Some(e) = e {
            ctx.detail = Some(e.etype().as_str());
        }
        // The connection waits for its next request, under the guard's idle limit again.
        if session.is_body_done() {
            if let Some(g) = guard_of(session) {
                g.rearm();
            }
        }
        let pipeline = &self.state.pipeline;
        if pipeline.uses(Hooks::ON_COMPLETE) {
            pipeline.on_complete(&mut ctx.cx, session.req_header());
        }
    }
}

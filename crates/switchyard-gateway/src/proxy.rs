//! Switchyard's `ProxyHttp` implementation.
//!
//! `request_filter` does the whole job — match the endpoint, authenticate, read and parse the
//! body, plan, run the attempts and write the response — and returns `Ok(true)`, so Pingora's
//! own upstream phases never run (`upstream_peer` is unreachable). `logging` records metrics
//! and the access log from what the request left in its [`RequestCtx`]; `fail_to_proxy`
//! guarantees that any error Pingora surfaces still reaches the client as OpenAI-shaped JSON.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use switchyard_providers::endpoint::BodyEncoding;
use switchyard_providers::{Endpoint, ErrorBody, Form, JsonEnvelope};

use crate::attempt;
use crate::ctx::{RequestCtx, NONE};
use crate::error::GatewayError;
use crate::handler::{self, Failure, Prepared};
use crate::respond;
use crate::state::State;

/// How long a client may take between two reads of its request body, and the response
/// writes may stall, before the connection is dropped.
const CLIENT_IO_TIMEOUT: Duration = Duration::from_secs(60);

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

    async fn handle(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<(), Failure> {
        let state = &*self.state;
        let endpoint = handler::match_endpoint(session)?;
        ctx.endpoint = Some(endpoint);
        let creds = handler::authenticate(state, session, ctx)?;
        if endpoint == Endpoint::Models {
            let body = state.models_body.clone();
            return respond::json(session, ctx, 200, body, &[])
                .await
                .map_err(Failure::Abort);
        }
        session.set_read_timeout(Some(CLIENT_IO_TIMEOUT));
        let raw = handler::read_body(session, state.config.server.max_body_size).await?;
        let (body, form) = match endpoint.encoding() {
            BodyEncoding::Json => (JsonEnvelope::parse(raw)?, None),
            BodyEncoding::Multipart => {
                let content_type = session
                    .req_header()
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let form =
                    Form::parse(content_type, raw).map_err(|e| GatewayError::InvalidRequest {
                        message: e.to_string(),
                        param: None,
                    })?;
                (form.fields_envelope(), Some(form))
            }
        };
        let model = body
            .get_str("model")?
            .filter(|m| !m.trim().is_empty())
            .ok_or(GatewayError::MissingModel)?;
        let stream = endpoint.can_stream() && streaming(&body, form.is_some())?;
        ctx.model = Some(model.clone());
        ctx.stream = stream;
        let planned = handler::plan(state, session, ctx, &model, &creds)?;
        let prepared = Prepared {
            endpoint,
            body,
            form,
            model,
            stream,
            root: planned.root,
            client_key: planned.client_key,
            metadata: planned.metadata,
            path: session.req_header().uri.path().to_owned(),
        };
        attempt::run(state, session, ctx, prepared).await
    }
}

/// The `stream` parameter: a JSON boolean, or in a form the text `true`.
fn streaming(body: &JsonEnvelope, form: bool) -> Result<bool, GatewayError> {
    if form {
        return Ok(body.get_str("stream")?.as_deref() == Some("true"));
    }
    Ok(body.get_bool("stream")?.unwrap_or(false))
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(&self.state.metrics.inflight, &self.none)
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> pingora::Result<bool> {
        ctx.request_id = self.state.next_request_id();
        session.set_write_timeout(Some(CLIENT_IO_TIMEOUT));
        // While a response is produced the gateway watches the client socket to notice it
        // leaving. A keep-alive client may already send its next request as the body ends:
        // with pipelining on, Pingora keeps those bytes for the next request instead of
        // reporting them as an error.
        session.as_downstream_mut().set_pipelining_enabled(true);
        if self.state.draining.load(Ordering::Relaxed) {
            session.set_keepalive(None);
        }
        match self.handle(session, ctx).await {
            Ok(()) => Ok(true),
            Err(Failure::Respond {
                status,
                body,
                headers,
                code,
            }) => {
                ctx.error = Some(code);
                if !session.is_body_done() {
                    // The body was not read to its end: the connection cannot carry another
                    // request.
                    session.set_keepalive(None);
                }
                respond::error(session, ctx, status, &body, &headers).await?;
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
            let _ = respond::error(session, ctx, status, &body, &[]).await;
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
        // Every request is logged once, by `logging`, without secrets.
        true
    }

    async fn logging(
        &self,
        session: &mut Session,
        e: Option<&pingora::Error>,
        ctx: &mut RequestCtx,
    ) {
        let m = &self.state.metrics;
        let status = if ctx.status == 0 { 499 } else { ctx.status };
        let status_label = http::StatusCode::from_u16(status)
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|_| "other".into());
        m.requests
            .with_label_values(&[&*ctx.route, &*ctx.provider, &status_label])
            .inc();
        let elapsed = ctx.start.elapsed();
        m.duration
            .with_label_values(&[&*ctx.route, &*ctx.provider])
            .observe(elapsed.as_secs_f64());
        if let Some(t) = ctx.first_byte {
            m.time_to_first_byte
                .with_label_values(&[&*ctx.route, &*ctx.provider])
                .observe(t.as_secs_f64());
        }
        if let Some(u) = ctx.usage {
            let tokens = |kind: &str, n: u64| {
                if n > 0 {
                    m.tokens
                        .with_label_values(&[&*ctx.route, &*ctx.provider, kind])
                        .inc_by(n);
                }
            };
            tokens("prompt", u.prompt_tokens);
            tokens("completion", u.completion_tokens);
            tokens("cached", u.cached_tokens);
        }
        if let Some(code) = ctx.error {
            m.errors.with_label_values(&[code]).inc();
        }
        if !self.state.config.log.access_log
            || !log::log_enabled!(target: "access", log::Level::Info)
        {
            return;
        }
        let req = session.req_header();
        let model: String = ctx
            .model
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        let usage = ctx.usage.unwrap_or_default();
        let detail = e.map(|e| e.etype().as_str()).unwrap_or("");
        log::info!(target: "access",
            request_id = ctx.request_id.as_str(),
            method = req.method.as_str(),
            path = req.uri.path(),
            status = status,
            route = &*ctx.route,
            provider = &*ctx.provider,
            model = model.as_str(),
            stream = ctx.stream,
            attempts = ctx.attempts,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            ttfb_ms = ctx.first_byte.map_or(0.0, |t| t.as_secs_f64() * 1000.0),
            prompt_tokens = usage.prompt_tokens,
            completion_tokens = usage.completion_tokens,
            error = ctx.error.unwrap_or(""),
            detail = detail,
            key = ctx.key_name.as_deref().unwrap_or("");
            "request");
    }
}

//! The attempt loop and the commit point.
//!
//! Each target is tried in turn. An attempt fails over (when another target remains) on a
//! connect error, a timeout before the response header, a retryable status (429, 5xx), or a
//! 2xx response whose content is an error (a stream whose first event is an error). Nothing
//! reaches the client until one attempt is judged good: that moment is [`commit`], the one
//! place where the response header is written. After it, a failure can only end the stream
//! with an error event (SSE) or tear the connection down (anything else).

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use pingora::proxy::Session;
use switchyard_providers::{sse, Call, ErrorBody, Output, ResponseTranslator, Verdict};
use tokio::time::Instant;

use crate::ctx::RequestCtx;
use crate::error::{GatewayError, UpstreamError};
use crate::handler::{Failure, Prepared};
use crate::respond::{self, Framing};
use crate::state::State;
use crate::upstream::Exchange;

/// Most of an error body kept to show the client.
const ERROR_BODY_LIMIT: usize = 1024 * 1024;
/// Most output held back while waiting for a 2xx response's verdict. A stream's first event
/// is far smaller; a non-streamed body translated as a whole may be larger, and is then
/// committed as soon as it is complete or this much is held.
const PRECOMMIT_LIMIT: usize = 64 * 1024 * 1024;

/// Upstream response headers passed on to the client.
const FORWARDED_HEADERS: &[&str] = &[
    "x-request-id",
    "openai-processing-ms",
    "openai-version",
    "openai-organization",
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
    "retry-after",
    "retry-after-ms",
];

/// Statuses that move on to the next target.
fn fails_over(status: u16) -> bool {
    status == 429 || status >= 500
}

/// One failed attempt, kept so the final answer can say what happened everywhere.
enum Attempted {
    /// The provider answered with an error.
    Answer {
        status: u16,
        body: ErrorBody,
        headers: Vec<(&'static str, String)>,
    },
    /// The exchange itself failed.
    Transport(UpstreamError),
}

/// Runs the attempts for a prepared request and writes the response.
pub async fn run(
    state: &State,
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: Prepared<'_>,
) -> Result<(), Failure> {
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut last: Option<Attempted> = None;
    let count = req.targets.len();
    for (i, target) in req.targets.iter().enumerate() {
        let more = i + 1 < count;
        let provider = &*target.provider;
        ctx.attempts += 1;
        ctx.provider = provider.label.clone();
        ctx.target_index = Some(target.target_index);
        let call = Call {
            endpoint: req.endpoint,
            body: &req.body,
            model: target.model.as_deref().unwrap_or(&req.model),
            stream: req.stream,
            client_key: req.client_key.as_deref(),
            now: SystemTime::now(),
        };
        // A request the dialect cannot express is the client's problem, not the provider's:
        // no failover.
        let upstream_req = provider
            .dialect
            .build_request(&provider.endpoint, &call)
            .map_err(GatewayError::from)?;
        let deadline = Instant::now() + provider.target.timeouts.total;
        let mut ex = match state
            .upstream
            .send(&provider.target, &upstream_req, deadline)
            .await
        {
            Ok(ex) => ex,
            Err(e) => {
                count_attempt(state, ctx, e.label());
                failures.push((provider.label.to_string(), e.to_string()));
                last = Some(Attempted::Transport(e));
                continue;
            }
        };
        let status = ex.status();
        if !(200..300).contains(&status) {
            let headers = forwarded(&ex);
            let body = match ex.read_to_end(ERROR_BODY_LIMIT).await {
                Ok(b) => b,
                Err(e) => {
                    count_attempt(state, ctx, e.label());
                    failures.push((provider.label.to_string(), e.to_string()));
                    last = Some(Attempted::Transport(e));
                    continue;
                }
            };
            ex.finish().await;
            count_attempt(state, ctx, status_outcome(status));
            let body = provider
                .dialect
                .error_body(&provider.endpoint, status, &body);
            failures.push((
                provider.label.to_string(),
                format!("HTTP {status}: {}", body.message),
            ));
            last = Some(Attempted::Answer {
                status,
                body,
                headers,
            });
            if more && fails_over(status) {
                continue;
            }
            break;
        }

        let mut tr = provider
            .dialect
            .response_translator(&provider.endpoint, &call);
        let mut held: Output = Vec::new();
        let ended = match judge(&mut ex, tr.as_mut(), &mut held).await {
            Ok(ended) => ended,
            Err(e) => {
                count_attempt(state, ctx, e.label());
                failures.push((provider.label.to_string(), e.to_string()));
                last = Some(Attempted::Transport(e));
                continue;
            }
        };
        if let Verdict::Failed { status, error } = tr.verdict() {
            ex.finish().await;
            count_attempt(state, ctx, "error_in_stream");
            failures.push((
                provider.label.to_string(),
                format!("error in response: {}", error.message),
            ));
            last = Some(Attempted::Answer {
                status,
                body: error.with_provider(provider.label.to_string()),
                headers: Vec::new(),
            });
            if more {
                continue;
            }
            break;
        }
        count_attempt(state, ctx, "ok");
        return commit(session, ctx, ex, tr, held, ended).await;
    }
    Err(final_failure(last, &failures))
}

/// Reads a 2xx response until its translator reaches a verdict, holding the output back.
/// Returns whether the upstream body has ended.
async fn judge(
    ex: &mut Exchange,
    tr: &mut dyn ResponseTranslator,
    held: &mut Output,
) -> Result<bool, UpstreamError> {
    let mut held_bytes = 0usize;
    while tr.verdict() == Verdict::Pending && held_bytes < PRECOMMIT_LIMIT {
        match ex.read_body().await? {
            Some(chunk) => {
                held_bytes += chunk.len();
                tr.push(chunk, held)
                    .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
            }
            None => {
                tr.finish(held)
                    .map_err(|e| UpstreamError::Protocol(e.to_string()))?;
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The commit point: the response header goes out, then whatever was held back, then the
/// rest of the body as it arrives.
async fn commit(
    session: &mut Session,
    ctx: &mut RequestCtx,
    mut ex: Exchange,
    mut tr: Box<dyn ResponseTranslator>,
    held: Output,
    mut ended: bool,
) -> Result<(), Failure> {
    let status = ex.status();
    let upstream_type = ex
        .header()
        .and_then(|h| h.headers.get(CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = match (&upstream_type, tr.is_passthrough()) {
        (Some(t), true) => t.as_str(),
        _ => tr.content_type(),
    };
    let framing = match ex
        .header()
        .and_then(|h| h.headers.get(CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if tr.is_passthrough() => Framing::Length(n),
        _ if ended => Framing::Length(held.iter().map(Bytes::len).sum()),
        _ => Framing::Chunked,
    };
    let is_sse = content_type.starts_with("text/event-stream");
    let mut header = respond::header(status, content_type, framing, ctx).map_err(Failure::Abort)?;
    for (name, value) in forwarded(&ex) {
        header.insert_header(name, value).map_err(Failure::Abort)?;
    }
    ctx.status = status;
    ctx.first_byte = Some(ctx.start.elapsed());
    session
        .write_response_header(Box::new(header), false)
        .await
        .map_err(|e| client_gone(ctx, e))?;
    for chunk in held {
        write(session, ctx, chunk).await?;
    }
    let mut out: Output = Vec::new();
    let mut watching_client = true;
    while !ended {
        let next = if watching_client {
            tokio::select! {
                chunk = ex.read_body() => chunk,
                idle = session.read_body_or_idle(true) => {
                    match idle {
                        // The client left: stop paying for tokens nobody will read.
                        Err(e) => return Err(client_gone(ctx, e)),
                        Ok(_) => { watching_client = false; continue; }
                    }
                }
            }
        } else {
            ex.read_body().await
        };
        let result = match next {
            Ok(Some(chunk)) => tr.push(chunk, &mut out),
            Ok(None) => {
                ended = true;
                tr.finish(&mut out)
            }
            Err(e) => return broken_stream(session, ctx, is_sse, e.label(), &e.to_string()).await,
        };
        if let Err(e) = result {
            return broken_stream(
                session,
                ctx,
                is_sse,
                "bad_upstream_response",
                &e.to_string(),
            )
            .await;
        }
        for chunk in out.drain(..) {
            write(session, ctx, chunk).await?;
        }
    }
    ctx.usage = tr.usage();
    session
        .write_response_body(None, true)
        .await
        .map_err(|e| client_gone(ctx, e))?;
    ex.finish().await;
    Ok(())
}

async fn write(session: &mut Session, ctx: &mut RequestCtx, chunk: Bytes) -> Result<(), Failure> {
    if chunk.is_empty() {
        return Ok(());
    }
    session
        .write_response_body(Some(chunk), false)
        .await
        .map_err(|e| client_gone(ctx, e))
}

fn client_gone(ctx: &mut RequestCtx, e: Box<pingora::Error>) -> Failure {
    ctx.status = 499;
    ctx.error = Some("client_closed");
    Failure::Abort(e)
}

/// The upstream failed after the commit point. A stream ends with an OpenAI-shaped error
/// event, which SDKs raise, and a clean end of body; any other body cannot be completed, so
/// the connection is torn down and the client sees it broken rather than silently short.
async fn broken_stream(
    session: &mut Session,
    ctx: &mut RequestCtx,
    is_sse: bool,
    code: &'static str,
    reason: &str,
) -> Result<(), Failure> {
    ctx.error = Some(code);
    let message = format!("the provider's response broke off: {reason}");
    if !is_sse {
        return Err(Failure::Abort(pingora::Error::explain(
            pingora::ErrorType::Custom("upstream response broke off"),
            message,
        )));
    }
    let event = sse::error_event(&ErrorBody::new(message, "upstream_error", Some(code)));
    session
        .write_response_body(Some(event), false)
        .await
        .map_err(|e| client_gone(ctx, e))?;
    session
        .write_response_body(None, true)
        .await
        .map_err(|e| client_gone(ctx, e))
}

fn forwarded(ex: &Exchange) -> Vec<(&'static str, String)> {
    let Some(h) = ex.header() else {
        return Vec::new();
    };
    FORWARDED_HEADERS
        .iter()
        .filter_map(|name| {
            let v = h.headers.get(*name)?.to_str().ok()?;
            Some((*name, v.to_owned()))
        })
        .collect()
}

fn status_outcome(status: u16) -> &'static str {
    match status {
        429 => "http_429",
        400..=499 => "http_4xx",
        _ => "http_5xx",
    }
}

fn count_attempt(state: &State, ctx: &RequestCtx, outcome: &str) {
    state
        .metrics
        .attempts
        .with_label_values(&[&*ctx.provider, outcome])
        .inc();
}

/// The answer when no attempt succeeded: the last provider's own error when it gave one,
/// otherwise a gateway error naming every attempt's cause.
fn final_failure(last: Option<Attempted>, failures: &[(String, String)]) -> Failure {
    match last {
        Some(Attempted::Answer {
            status,
            body,
            headers,
        }) => Failure::Respond {
            status,
            code: "upstream_error_status",
            body,
            headers,
        },
        Some(Attempted::Transport(e)) => {
            let summary = if failures.len() == 1 {
                format!("provider `{}` failed: {}", failures[0].0, failures[0].1)
            } else {
                let parts: Vec<String> =
                    failures.iter().map(|(p, r)| format!("{p}: {r}")).collect();
                format!(
                    "all {} attempts failed: {}",
                    failures.len(),
                    parts.join("; ")
                )
            };
            GatewayError::Upstream { last: e, summary }.into()
        }
        None => GatewayError::Internal("the route has no targets".into()).into(),
    }
}

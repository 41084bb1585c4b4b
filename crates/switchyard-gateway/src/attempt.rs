//! The attempt loop and the commit point.
//!
//! The router's [`Walk`] says which target to try next and after what delay; this module makes
//! each attempt and reports how it went. An attempt fails (and the walk may retry it or move
//! on) on a connect error, a timeout before the response header, an error status, or a 2xx
//! response whose content is an error (a stream whose first event is an error). Outcomes feed
//! the target's circuit breaker. Nothing reaches the client until one attempt is judged good:
//! that moment is [`commit`], the one place where a 2xx response header is written. After it,
//! a failure can only end the stream with an error event (SSE) or tear the connection down.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{Map, Value};
use switchyard_config::route::{Facts, RouteNode, TargetProvider, TargetSpec};
use switchyard_config::Timeouts;
use switchyard_providers::envelope::Edit;
use switchyard_providers::{
    sse, Call, Endpoint, ErrorBody, JsonEnvelope, Output, ResponseTranslator, UpstreamRequest,
    Verdict,
};
use switchyard_router::{Attempt, Next, Outcome, TargetState, Walk, WalkContext};
use tokio::time::Instant;

use crate::ctx::RequestCtx;
use crate::error::{GatewayError, UpstreamError};
use crate::handler::{self, Failure, Prepared};
use crate::images;
use crate::respond::{self, Framing};
use crate::state::{ProviderRuntime, State};
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

/// What conditional rules can read about the request.
struct RequestFacts<'a> {
    body: &'a JsonEnvelope,
    metadata: Option<&'a Map<String, Value>>,
    path: &'a str,
}

impl Facts for RequestFacts<'_> {
    fn lookup(&self, path: &[String]) -> Option<Value> {
        let (root, rest) = path.split_first()?;
        let (first, rest) = rest.split_first()?;
        let mut value = match root.as_str() {
            "params" => serde_json::from_str::<Value>(self.body.get_raw(first)?).ok()?,
            "metadata" => self.metadata?.get(first)?.clone(),
            "url" if first == "pathname" && rest.is_empty() => {
                return Some(Value::String(self.path.to_owned()))
            }
            _ => return None,
        };
        for key in rest {
            value = match value {
                Value::Object(mut m) => m.remove(key)?,
                Value::Array(mut a) => {
                    let i: usize = key.parse().ok()?;
                    (i < a.len()).then(|| a.swap_remove(i))?
                }
                _ => return None,
            };
        }
        Some(value)
    }
}

/// The walk's view of the gateway: request facts and target health.
struct Context<'a> {
    state: &'a State,
    facts: RequestFacts<'a>,
    client_model: &'a str,
    now: u64,
}

impl WalkContext for Context<'_> {
    fn facts(&self) -> &dyn Facts {
        &self.facts
    }

    fn target_state(&self, target: &TargetSpec, node: &RouteNode) -> TargetState {
        let healthy = TargetState {
            healthy: true,
            badness: 0.0,
            latency_us: 0.0,
            inflight: 0,
        };
        let TargetProvider::Configured(id) = target.provider else {
            return healthy;
        };
        let model = target
            .model
            .as_deref()
            .or_else(|| {
                node.settings
                    .override_params
                    .get("model")
                    .and_then(Value::as_str)
            })
            .unwrap_or(self.client_model);
        self.state
            .health
            .target(id, Some(model))
            .map_or(healthy, |h| h.state(self.now))
    }
}

/// The model an attempt asks for: the target's, else an `override_params.model`, else the
/// client's.
fn attempt_model<'a>(a: &'a Attempt<'_>, client: &'a str) -> &'a str {
    a.target
        .model
        .as_deref()
        .or_else(|| {
            a.settings
                .override_params
                .get("model")
                .and_then(Value::as_str)
        })
        .unwrap_or(client)
}

/// The body with `override_params` applied (all but `model`, which the dialect sets).
fn overridden(
    body: &JsonEnvelope,
    overrides: &Map<String, Value>,
) -> Result<Option<JsonEnvelope>, GatewayError> {
    let encoded: Vec<(&str, Vec<u8>)> = overrides
        .iter()
        .filter(|(k, _)| k.as_str() != "model")
        .map(|(k, v)| (k.as_str(), serde_json::to_vec(v).unwrap_or_default()))
        .collect();
    if encoded.is_empty() {
        return Ok(None);
    }
    let edits: Vec<Edit<'_>> = encoded.iter().map(|(k, v)| Edit::Set(k, v)).collect();
    Ok(Some(JsonEnvelope::parse(body.rewrite(&edits))?))
}

/// The provider's `retry-after-ms`, `x-ms-retry-after-ms` or `retry-after` (seconds).
fn retry_after(
    headers: &[(&'static str, String)],
    raw: Option<&ResponseHeader>,
) -> Option<Duration> {
    let get = |name: &str| -> Option<&str> {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .or_else(|| raw?.headers.get(name)?.to_str().ok())
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = get(name).and_then(|v| v.trim().parse::<f64>().ok()) {
            if ms.is_finite() && ms >= 0.0 {
                return Some(Duration::from_secs_f64(ms / 1000.0));
            }
        }
    }
    // HTTP dates are allowed by the standard but not used by model providers; they are ignored.
    get("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// Failures that count against a target's health: transport errors, 429 and 5xx.
fn counts_against(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Runs the attempts for a prepared request and writes the response.
///
/// Future sizes: an `async fn` is one state machine as large as its largest await point, and
/// the whole request handler is allocated once per request and lives as long as the response
/// does (minutes, for a slow stream). Inlined, the connect path (Pingora's connector, ~9 KB),
/// the image fetcher (~21 KB) and the streaming loop made it 43 KB per request; the attempt,
/// the fetcher and the commit are boxed instead, so each costs memory only while it runs and
/// a streaming response holds ~6 KB of handler state plus its ~5 KB commit loop.
pub async fn run(
    state: &State,
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: Prepared,
) -> Result<(), Failure> {
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut last: Option<Attempted> = None;
    let cx = Context {
        state,
        facts: RequestFacts {
            body: &req.body,
            metadata: req.metadata.as_ref(),
            path: &req.path,
        },
        client_model: &req.model,
        now: state.health.now(),
    };
    // A per-request generator: `ThreadRng` cannot be held across the awaits below.
    let mut rng = StdRng::seed_from_u64(rand::random());
    let (mut walk, mut next) = Walk::start(&req.root, &cx, &mut rng);
    // Image URLs fetched for providers that need inline images: not yet (`None`), none in
    // the request (`Some(None)`), or the rewritten body.
    let mut inlined: Option<Option<JsonEnvelope>> = None;
    loop {
        let a = match next {
            Next::Try(a) => a,
            Next::Exhausted => break,
            Next::NoMatch(path) => {
                return Err(GatewayError::InvalidRequest {
                    message: format!(
                        "no conditional rule matched at `{path}` and it has no default"
                    ),
                    param: None,
                }
                .into())
            }
        };
        if !a.delay.is_zero() {
            tokio::time::sleep(a.delay).await;
        }
        let provider = handler::runtime(state, &a.target.provider)?;
        let model = attempt_model(&a, &req.model);
        ctx.attempts += 1;
        ctx.provider = provider.label.clone();
        ctx.option_path = Some(a.node.path.clone());
        ctx.retries = a.retry;
        // Providers that take only image bytes get image URLs fetched, once per request.
        if provider.dialect.needs_inline_images()
            && req.endpoint == Endpoint::ChatCompletions
            && inlined.is_none()
        {
            // Boxed: the fetcher's state is large and most requests never need it (see
            // `run`'s note on future sizes).
            inlined =
                Some(Box::pin(images::inline(state, &req.body, &provider.endpoint.name)).await?);
        }
        let base = match &inlined {
            Some(Some(body)) if provider.dialect.needs_inline_images() => body,
            _ => &req.body,
        };
        let body_override = overridden(base, &a.settings.override_params)?;
        let inline_key = match &a.target.provider {
            TargetProvider::Inline { api_key, .. } if !api_key.is_empty() => Some(api_key.expose()),
            _ => None,
        };
        let call = Call {
            endpoint: req.endpoint,
            body: body_override.as_ref().unwrap_or(base),
            form: req.form.as_ref(),
            model,
            stream: req.stream,
            client_key: inline_key.or(req.client_key.as_deref()),
            now: SystemTime::now(),
        };
        // A request the dialect cannot express is the client's problem, not the provider's:
        // nothing else is tried.
        let upstream_req = provider
            .dialect
            .build_request(&provider.endpoint, &call)
            .map_err(GatewayError::from)?;
        let timeouts = a.settings.timeouts.resolve(provider.target.timeouts);
        let health = match &a.target.provider {
            TargetProvider::Configured(id) => state.health.target(*id, Some(model)),
            TargetProvider::Inline { .. } => None,
        };
        if let Some(h) = health {
            h.begin(state.health.now());
        }
        let started = Instant::now();
        // Generation can take minutes before the first byte: if the client leaves meanwhile,
        // stop the attempt (dropping the exchange closes the provider connection) rather than
        // pay for an answer nobody will read.
        let result = tokio::select! {
            r = Box::pin(try_once(state, &provider, &timeouts, &upstream_req, &call)) => r,
            gone = client_left(session) => {
                if let Some(h) = health {
                    h.neutral();
                }
                return Err(client_gone(ctx, gone));
            }
        };
        let outcome = match result {
            Ok(Tried::Good {
                ex,
                tr,
                held,
                ended,
            }) => {
                if let Some(h) = health {
                    h.success(started.elapsed());
                }
                count_attempt(state, ctx, "ok");
                return Box::pin(commit(session, ctx, *ex, tr, held, ended)).await;
            }
            Ok(Tried::Answer {
                status,
                body,
                headers,
                retry_after,
            }) => {
                count_attempt(state, ctx, status_outcome(status));
                failures.push((
                    provider.label.to_string(),
                    format!("HTTP {status}: {}", body.message),
                ));
                last = Some(Attempted::Answer {
                    status,
                    body,
                    headers,
                });
                Outcome {
                    status,
                    retry_after,
                    retryable: true,
                }
            }
            Ok(Tried::ErrorInStream { status, error }) => {
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
                Outcome {
                    status,
                    retry_after: None,
                    retryable: true,
                }
            }
            Err(e) => {
                count_attempt(state, ctx, e.label());
                failures.push((provider.label.to_string(), e.to_string()));
                let status = e.status();
                last = Some(Attempted::Transport(e));
                Outcome {
                    status,
                    retry_after: None,
                    retryable: true,
                }
            }
        };
        if let Some(h) = health {
            if counts_against(outcome.status) {
                h.failure(state.health.now());
            } else {
                h.neutral();
            }
        }
        next = walk.next(&outcome, &cx, &mut rng);
    }
    Err(final_failure(last, &failures))
}

/// Resolves when the client closes its connection (never, if it only sends a pipelined
/// request).
async fn client_left(session: &mut Session) -> Box<pingora::Error> {
    loop {
        match session.read_body_or_idle(true).await {
            Err(e) => return e,
            // Pipelined bytes were stashed; nothing more to watch for on this request.
            Ok(_) => std::future::pending::<()>().await,
        }
    }
}

/// The result of one attempt that reached the provider.
enum Tried {
    /// A 2xx judged good: ready to commit.
    Good {
        ex: Box<Exchange>,
        tr: Box<dyn ResponseTranslator>,
        held: Output,
        ended: bool,
    },
    /// The provider answered with an error status.
    Answer {
        status: u16,
        body: ErrorBody,
        headers: Vec<(&'static str, String)>,
        retry_after: Option<Duration>,
    },
    /// A 2xx whose content is an error.
    ErrorInStream { status: u16, error: ErrorBody },
}

async fn try_once(
    state: &State,
    provider: &ProviderRuntime,
    timeouts: &Timeouts,
    upstream_req: &UpstreamRequest,
    call: &Call<'_>,
) -> Result<Tried, UpstreamError> {
    let deadline = Instant::now() + timeouts.total;
    let mut ex = state
        .upstream
        .send(&provider.target, timeouts, upstream_req, deadline)
        .await?;
    let status = ex.status();
    if !(200..300).contains(&status) {
        let headers = forwarded(&ex);
        let retry_after = retry_after(&headers, ex.header());
        let body = ex.read_to_end(ERROR_BODY_LIMIT).await?;
        ex.finish().await;
        let body = provider
            .dialect
            .error_body(&provider.endpoint, status, &body);
        return Ok(Tried::Answer {
            status,
            body,
            headers,
            retry_after,
        });
    }
    let mut tr = provider
        .dialect
        .response_translator(&provider.endpoint, call);
    let mut held: Output = Vec::new();
    let ended = judge(&mut ex, tr.as_mut(), &mut held).await?;
    if let Verdict::Failed { status, error } = tr.verdict() {
        ex.finish().await;
        return Ok(Tried::ErrorInStream { status, error });
    }
    Ok(Tried::Good {
        ex: Box::new(ex),
        tr,
        held,
        ended,
    })
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
    if let Some(chunk) = coalesce(held) {
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
                        // The client left: stop paying for tokens nobody will read. What the
                        // provider already reported (it may have sent everything, and the
                        // client closed after the last event) is still counted.
                        Err(e) => {
                            ctx.usage = tr.usage();
                            return Err(client_gone(ctx, e));
                        }
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
        if let Some(chunk) = coalesce(std::mem::take(&mut out)) {
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

/// The translator's output for one upstream read as one buffer: a translated stream yields an
/// event per `Bytes`, and writing each separately would cost a syscall and a chunk header per
/// event instead of per read.
fn coalesce(chunks: Output) -> Option<Bytes> {
    match chunks.len() {
        0 => None,
        1 => chunks.into_iter().next(),
        _ => Some(Bytes::from(chunks.concat())),
    }
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
    // One pass over the provider's few headers, matching names as strings: cheaper than a
    // hashed lookup (which parses the name) for each of the dozen forwarded names.
    h.headers
        .iter()
        .filter_map(|(name, value)| {
            let name = *FORWARDED_HEADERS.iter().find(|n| **n == name.as_str())?;
            Some((name, value.to_str().ok()?.to_owned()))
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

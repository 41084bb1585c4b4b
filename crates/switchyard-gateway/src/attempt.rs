//! The attempt loop.
//!
//! The router's [`Walk`] says which target to try next and after what delay; this module makes
//! each attempt and reports how it went. Per attempt: the target's body edits are applied
//! (`override_params`, inlined images), its dialect builds the provider request — a target
//! whose dialect cannot express the request is skipped, not fatal —, the `before_attempt`
//! stages run, the request is sent, and a 2xx answer is read until its translator reaches a
//! verdict. An attempt fails (and the walk may retry it or move on) on a connect error, a
//! timeout before the response header, an error status, or a 2xx response whose content is
//! an error. Outcomes feed the target's circuit breaker and the `after_attempt` stages. The
//! first answer judged good goes to [`commit`].

use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use switchyard_config::route::TargetProvider;
use switchyard_config::Timeouts;
use switchyard_pipeline::{AttemptCx, AttemptFlow, AttemptReport, Hooks, RequestBody};
use switchyard_providers::edit::{self, ImageUrls};
use switchyard_providers::inbound::passthrough::{self, ClientHeaders, Passthrough};
use switchyard_providers::inbound::InboundTranslator;
use switchyard_providers::{
    Call, DialectKind, Endpoint, ErrorBody, JsonEnvelope, Output, ResponseTranslator,
    UpstreamRequest, Verdict,
};
use switchyard_router::{Next, Outcome, Walk};
use tokio::time::Instant;

use crate::budget::Hold;
use crate::commit::{self, client_gone, forwarded, Judged};
use crate::ctx::RequestCtx;
use crate::error::{GatewayError, UpstreamError};
use crate::facts::{RequestFacts, WalkView};
use crate::failure::{final_failure, Attempted, Failure};
use crate::images;
use crate::plan::{self, Plan};
use crate::respond;
use crate::state::{ProviderRuntime, State};
use crate::upstream::Exchange;

/// Most of an error body kept to show the client.
const ERROR_BODY_LIMIT: usize = 1024 * 1024;
/// Most output held back while waiting for a 2xx response's verdict. A stream's first event
/// is far smaller; a non-streamed body translated as a whole may be larger, and is then
/// committed as soon as it is complete or this much is held.
const PRECOMMIT_LIMIT: usize = 64 * 1024 * 1024;

/// A parsed, planned request, ready for its attempts.
pub struct Attempts<'a> {
    /// The endpoint the client called.
    pub endpoint: Endpoint,
    /// The body, parsed once — for an inbound API (Messages, Responses), already translated
    /// to chat completions.
    pub body: &'a RequestBody,
    /// The client's body as sent, for an inbound API (an Anthropic target takes a Messages
    /// body untranslated; the Responses API echoes its request).
    pub original: Option<&'a JsonEnvelope>,
    /// The client's `anthropic-version` and `anthropic-beta`, for an Anthropic passthrough.
    pub anthropic: ClientHeaders<'a>,
    /// The client's `model`.
    pub model: &'a str,
    /// The route tree and the client's own provider key.
    pub plan: Plan,
    /// The request path, for conditional routing.
    pub path: &'a str,
}

/// The provider's `retry-after-ms`, `x-ms-retry-after-ms` or `retry-after` (seconds).
fn retry_after(raw: Option<&ResponseHeader>) -> Option<Duration> {
    let get = |name: &str| -> Option<&str> { raw?.headers.get(name)?.to_str().ok() };
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

/// Copies the client's headers named by the route's `forward_headers` onto the provider
/// request, replacing a header of the same name the dialect set. The names were checked when
/// the config was loaded: no credentials, framing or gateway control headers.
fn forward_client_headers(
    upstream: &mut UpstreamRequest,
    names: &[HeaderName],
    client: &pingora::http::RequestHeader,
) {
    for name in names {
        let mut values = client.headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            continue;
        }
        upstream.headers.retain(|(n, _)| n != name);
        for v in values {
            upstream.headers.push((name.clone(), v.clone()));
        }
    }
}

/// Failures that count against a target's health: transport errors, 429 and 5xx.
fn counts_against(status: u16) -> bool {
    status == 429 || status >= 500
}

/// Runs the attempts for a planned request and writes the response.
///
/// Future sizes: an `async fn` is one state machine as large as its largest await point, and
/// the whole request handler is allocated once per request and lives as long as the response
/// does (minutes, for a slow stream). The attempt, the image fetcher and the commit are boxed,
/// so each costs memory only while it runs.
pub async fn run(
    state: &State,
    session: &mut Session,
    ctx: &mut RequestCtx,
    req: Attempts<'_>,
) -> Result<(), Failure> {
    let pipeline = &state.pipeline;
    let stream = ctx.stream;
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut last: Option<Attempted> = None;
    // Why the first target that could not serve the request could not.
    let mut unservable: Option<GatewayError> = None;
    // Time spent waiting between attempts; whether the attempt limits ended the walk.
    let mut waited = std::time::Duration::ZERO;
    let mut stopped = false;
    let metadata = ctx.metadata.clone();
    let view = WalkView {
        state,
        facts: RequestFacts {
            body: &req.body.json,
            metadata: metadata.as_deref(),
            path: req.path,
        },
        client_model: req.model,
        now: state.clock.now(),
    };
    // A per-request generator (`ThreadRng` cannot be held across the awaits below): a small
    // fast one, seeded from the thread's — load balancing needs spread, not secrecy.
    let mut rng = SmallRng::seed_from_u64(rand::random());
    let (mut walk, mut next) = Walk::start(&req.plan.root, &view, &mut rng);
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
        // Whatever the route says, one request costs a bounded number of attempts and of
        // waiting between them (`attempts:`).
        let limits = state.config.attempts;
        if ctx.attempts >= limits.max || waited + a.delay > limits.max_wait {
            stopped = true;
            break;
        }
        if !a.delay.is_zero() {
            waited += a.delay;
            tokio::time::sleep(a.delay).await;
        }
        let provider = plan::runtime(state, &a.target.provider)?;
        let model = a
            .target
            .model_or(a.settings.model_override())
            .unwrap_or(req.model);
        // Providers that take only image bytes get image URLs fetched, once per request.
        let needs_images =
            provider.dialect.needs_inline_images() && req.endpoint == Endpoint::ChatCompletions;
        if needs_images && inlined.is_none() {
            inlined = Some(match ImageUrls::find(&req.body.json) {
                None => None,
                // Boxed: the fetcher's state is large and most requests never need it (see
                // `run`'s note on future sizes).
                Some(found) => Some(
                    Box::pin(images::inline(
                        state,
                        &req.body.json,
                        found,
                        &provider.endpoint.name,
                    ))
                    .await?,
                ),
            });
        }
        let base = match &inlined {
            Some(Some(body)) if needs_images => body,
            _ => &req.body.json,
        };
        let edited = edit::with_overrides(base, &a.settings.override_params);
        let inline_key = match &a.target.provider {
            TargetProvider::Inline { api_key, .. } if !api_key.is_empty() => Some(api_key.expose()),
            _ => None,
        };
        // How this target is spoken to: its own dialect for chat (and the other OpenAI
        // endpoints); for an inbound API, through chat and back, or — Anthropic targets for
        // Messages — untranslated.
        let anthropic_target = provider.endpoint.kind.info().dialect == DialectKind::Anthropic;
        let canonical_stages =
            pipeline.uses(Hooks::ON_EVENT) || pipeline.uses(Hooks::ON_RESPONSE_BODY);
        let speak = match (req.endpoint, req.original) {
            (Endpoint::MessagesCountTokens, Some(original)) if !anthropic_target => {
                // Nothing to ask: the gateway's documented estimate answers.
                let body = switchyard_providers::inbound::count_tokens(original)
                    .map_err(GatewayError::from)?;
                return respond::whole(session, pipeline, ctx, 200, "application/json", body, &[])
                    .await
                    .map_err(Failure::Abort);
            }
            (Endpoint::MessagesCountTokens, Some(original)) => Speak::Passthrough(original),
            (Endpoint::Messages, Some(original)) if anthropic_target && !canonical_stages => {
                Speak::Passthrough(original)
            }
            // OpenAI and Azure OpenAI serve the Responses API themselves.
            (Endpoint::Responses, Some(original))
                if responses_native(provider.endpoint.kind) && !canonical_stages =>
            {
                Speak::Passthrough(original)
            }
            (Endpoint::Messages | Endpoint::Responses, Some(_)) => Speak::Translated,
            _ => Speak::Native,
        };
        let call = Call {
            endpoint: match speak {
                Speak::Translated => Endpoint::ChatCompletions,
                _ => req.endpoint,
            },
            body: match speak {
                Speak::Passthrough(original) => original,
                _ => edited.as_ref().unwrap_or(base),
            },
            form: req.body.form.as_ref(),
            model,
            stream,
            client_key: inline_key.or(req.plan.client_key.as_deref()),
            now: SystemTime::now(),
        };
        // A target whose dialect cannot express the request is skipped; if none can, the
        // client hears why the first one could not.
        let built = match speak {
            Speak::Passthrough(_) if anthropic_target => {
                passthrough::request(&provider.endpoint, &call, req.anthropic)
            }
            _ => provider.dialect.build_request(&provider.endpoint, &call),
        };
        let mut upstream_req = match built {
            Ok(r) => r,
            Err(e) => {
                unservable.get_or_insert(GatewayError::from(e));
                next = walk.next(&Outcome::skipped(), &view, &mut rng);
                continue;
            }
        };
        if let Some(names) = &a.settings.forward_headers {
            forward_client_headers(&mut upstream_req, names, session.req_header());
        }
        let outer = match (speak, req.original) {
            (Speak::Translated, Some(original)) => {
                InboundTranslator::new(ctx.api, original, stream).map_err(GatewayError::from)?
            }
            _ => None,
        };
        let translator: Box<dyn ResponseTranslator> = match speak {
            Speak::Passthrough(_) if anthropic_target => {
                Box::new(Passthrough::new(&provider.endpoint, stream))
            }
            _ => provider
                .dialect
                .response_translator(&provider.endpoint, &call),
        };
        if pipeline.uses(Hooks::BEFORE_ATTEMPT) {
            let mut attempt = AttemptCx {
                provider: &provider.label,
                kind: provider.endpoint.kind,
                model,
                target_path: &a.node.path,
                retry: a.retry,
                request: &mut upstream_req,
            };
            match pipeline.before_attempt(ctx, &mut attempt) {
                AttemptFlow::Continue => {}
                AttemptFlow::Skip(e) => {
                    unservable.get_or_insert(e);
                    next = walk.next(&Outcome::skipped(), &view, &mut rng);
                    continue;
                }
                AttemptFlow::Fail(e) => return Err(e.into()),
            }
        }
        ctx.attempts += 1;
        ctx.provider = provider.label.clone();
        ctx.option_path = Some(a.node.path.clone());
        ctx.retries = a.retry;
        let timeouts = a.settings.timeouts.resolve(provider.target.timeouts);
        let health = match &a.target.provider {
            TargetProvider::Configured(id) => state.health.target(*id, Some(model)),
            TargetProvider::Inline { .. } => None,
        };
        if let Some(h) = health {
            h.begin(state.clock.now());
        }
        let hold_whole = !stream && pipeline.uses(Hooks::ON_RESPONSE_BODY);
        let started = Instant::now();
        // Generation can take minutes before the first byte: if the client leaves meanwhile,
        // stop the attempt (dropping the exchange closes the provider connection) rather than
        // pay for an answer nobody will read.
        let result = tokio::select! {
            r = Box::pin(try_once(state, &provider, &timeouts, &upstream_req, &call, translator, hold_whole)) => r,
            gone = client_left(session) => {
                if let Some(h) = health {
                    h.neutral();
                }
                return Err(client_gone(ctx, gone));
            }
        };
        let mut report = AttemptReport {
            provider: &provider.label,
            model,
            outcome: "ok",
            status: None,
            elapsed: started.elapsed(),
        };
        let outcome = match result {
            Ok(Tried::Good(mut judged)) => {
                judged.outer = outer;
                if let Some(h) = health {
                    h.success(report.elapsed);
                }
                report.status = Some(judged.ex.status());
                if pipeline.uses(Hooks::AFTER_ATTEMPT) {
                    pipeline.after_attempt(ctx, &report);
                }
                let closing = state.closing.subscribe();
                return Box::pin(commit::commit(session, pipeline, &closing, ctx, *judged)).await;
            }
            Ok(Tried::Answer {
                status,
                body,
                headers,
                retry_after,
            }) => {
                report.outcome = status_outcome(status);
                report.status = Some(status);
                failures.push((
                    provider.label.to_string(),
                    format!("HTTP {status}: {}", body.message),
                ));
                last = Some(Attempted::Answer {
                    status,
                    body,
                    headers,
                });
                Outcome::failed(status, retry_after)
            }
            Ok(Tried::Overloaded) => {
                if let Some(h) = health {
                    h.neutral();
                }
                return Err(GatewayError::Overloaded.into());
            }
            Ok(Tried::ErrorInStream { status, error }) => {
                report.outcome = "error_in_stream";
                report.status = Some(status);
                failures.push((
                    provider.label.to_string(),
                    format!("error in response: {}", error.message),
                ));
                last = Some(Attempted::Answer {
                    status,
                    body: error.with_provider(provider.label.to_string()),
                    headers: Vec::new(),
                });
                Outcome::failed(status, None)
            }
            Err(UpstreamError::PrivateAddress(why)) => {
                // The destination is not one this client may reach: skip it like a target
                // that cannot serve the request.
                unservable.get_or_insert(GatewayError::InvalidRequest {
                    message: why,
                    param: None,
                });
                ctx.attempts -= 1;
                next = walk.next(&Outcome::skipped(), &view, &mut rng);
                continue;
            }
            Err(e) => {
                let e = match e {
                    UpstreamError::TotalTimeout(d)
                        if a.settings.timeouts.total_is_request_timeout =>
                    {
                        UpstreamError::RequestTimeout(d)
                    }
                    e => e,
                };
                report.outcome = e.label();
                failures.push((provider.label.to_string(), e.to_string()));
                let status = e.status();
                last = Some(Attempted::Transport(e));
                Outcome::failed(status, None)
            }
        };
        if pipeline.uses(Hooks::AFTER_ATTEMPT) {
            pipeline.after_attempt(ctx, &report);
        }
        if let Some(h) = health {
            if counts_against(outcome.status) {
                h.failure(state.clock.now());
            } else {
                h.neutral();
            }
        }
        next = walk.next(&outcome, &view, &mut rng);
    }
    if stopped {
        failures.push((
            "gateway".into(),
            format!(
                "stopped after {} attempts and {:?} of waiting (attempts.max, attempts.max_wait)",
                ctx.attempts, waited
            ),
        ));
    }
    Err(final_failure(last, &failures, unservable))
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

/// Kinds that serve OpenAI's Responses API themselves.
fn responses_native(kind: switchyard_providers::ProviderKind) -> bool {
    matches!(kind.name(), "openai" | "azure-openai")
}

/// How one target is spoken to.
#[derive(Clone, Copy)]
enum Speak<'a> {
    /// The endpoint as the client called it, through the target's dialect.
    Native,
    /// An inbound API through chat completions, translated back for the client.
    Translated,
    /// The client's own body, untranslated (an inbound API the target speaks natively).
    Passthrough(&'a JsonEnvelope),
}

/// The result of one attempt that reached the provider.
enum Tried {
    /// A 2xx judged good: ready to commit.
    Good(Box<Judged>),
    /// The provider answered with an error status.
    Answer {
        status: u16,
        body: ErrorBody,
        headers: Vec<(HeaderName, HeaderValue)>,
        retry_after: Option<Duration>,
    },
    /// A 2xx whose content is an error.
    ErrorInStream { status: u16, error: ErrorBody },
    /// Holding the answer back would go over the gateway's memory budget.
    Overloaded,
}

/// Why judging an answer stopped.
enum Judging {
    Upstream(UpstreamError),
    Overloaded,
}

impl From<UpstreamError> for Judging {
    fn from(e: UpstreamError) -> Self {
        Judging::Upstream(e)
    }
}

/// One exchange: send, read the header, and for a 2xx read until the verdict (or, with
/// `hold_whole`, to the end of the body).
async fn try_once(
    state: &State,
    provider: &ProviderRuntime,
    timeouts: &Timeouts,
    upstream_req: &UpstreamRequest,
    call: &Call<'_>,
    mut tr: Box<dyn ResponseTranslator>,
    hold_whole: bool,
) -> Result<Tried, UpstreamError> {
    let deadline = Instant::now() + timeouts.total;
    let mut ex = state
        .upstream
        .send(&provider.target, timeouts, upstream_req, deadline)
        .await?;
    let status = ex.status();
    let headers = forwarded(&ex, &state.redactor, call.client_key);
    if !(200..300).contains(&status) {
        let retry_after = retry_after(ex.header());
        let body = ex.read_to_end(ERROR_BODY_LIMIT).await?;
        ex.finish().await;
        // A provider may echo the credential it was sent: never pass it back.
        let body = state.redactor.redact(&body, call.client_key);
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
    let mut held: Output = Vec::new();
    let mut hold = Hold::new(&state.budget);
    let ended = match judge(&mut ex, tr.as_mut(), &mut held, hold_whole, &mut hold).await {
        Ok(ended) => ended,
        Err(Judging::Upstream(e)) => return Err(e),
        Err(Judging::Overloaded) => {
            ex.finish().await;
            return Ok(Tried::Overloaded);
        }
    };
    if let Verdict::Failed { status, mut error } = tr.verdict() {
        ex.finish().await;
        if let std::borrow::Cow::Owned(m) = state
            .redactor
            .redact(error.message.as_bytes(), call.client_key)
        {
            error.message = String::from_utf8_lossy(&m).into_owned();
        }
        return Ok(Tried::ErrorInStream { status, error });
    }
    Ok(Tried::Good(Box::new(Judged {
        ex,
        tr,
        outer: None,
        held,
        ended,
        headers,
        hold,
    })))
}

/// Reads a 2xx response until its translator reaches a verdict (with `whole`, to its end),
/// holding the output back within the memory budget (`hold`). Returns whether the upstream
/// body has ended.
async fn judge(
    ex: &mut Exchange,
    tr: &mut dyn switchyard_providers::ResponseTranslator,
    held: &mut Output,
    whole: bool,
    hold: &mut Hold,
) -> Result<bool, Judging> {
    let mut held_bytes = 0usize;
    while (whole || tr.verdict() == Verdict::Pending) && held_bytes < PRECOMMIT_LIMIT {
        match ex.read_body().await? {
            Some(chunk) => {
                hold.grow(chunk.len()).map_err(|_| Judging::Overloaded)?;
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

fn status_outcome(status: u16) -> &'static str {
    match status {
        429 => "http_429",
        400..=499 => "http_4xx",
        _ => "http_5xx",
    }
}

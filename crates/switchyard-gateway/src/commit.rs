//! The commit point: the one place a successful response header is written. Before it,
//! every failure may fall over to another target; after it, a failure can only end a stream
//! with an OpenAI-shaped error event, or tear down a body that cannot be completed.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderName, HeaderValue};
use pingora::proxy::Session;
use switchyard_pipeline::{EventFlow, Flow, Hooks, Pipeline, RequestCx};
use switchyard_providers::inbound::InboundTranslator;
use switchyard_providers::sse::{self, EventSplitter};
use switchyard_providers::{ErrorBody, Output, ResponseTranslator};

use crate::budget::Hold;
use crate::ctx::RequestCtx;
use crate::failure::Failure;
use crate::redact::Redactor;
use crate::respond::{self, Framing};
use crate::upstream::Exchange;

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

/// The provider's headers the client gets, with any echoed secret redacted.
pub fn forwarded(
    ex: &Exchange,
    redactor: &Redactor,
    client_key: Option<&str>,
) -> Vec<(HeaderName, HeaderValue)> {
    let Some(h) = ex.header() else {
        return Vec::new();
    };
    // One pass over the provider's few headers, matching names as strings: cheaper than a
    // hashed lookup for each of the dozen forwarded names. Names and values are shared, not
    // copied, unless a value holds a secret.
    h.headers
        .iter()
        .filter(|(name, _)| FORWARDED_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            let value = match redactor.redact(value.as_bytes(), client_key) {
                std::borrow::Cow::Borrowed(_) => value.clone(),
                std::borrow::Cow::Owned(v) => HeaderValue::from_bytes(&v).ok()?,
            };
            Some((name.clone(), value))
        })
        .collect()
}

/// A 2xx answer judged good, with what the translator produced while it was judged.
pub struct Judged {
    /// The exchange, its header read and possibly some of its body.
    pub ex: Exchange,
    /// The provider's translator: its output is canonical (chat completions) or, for a
    /// passthrough, the provider's own bytes.
    pub tr: Box<dyn ResponseTranslator>,
    /// The translator to the API the client speaks, when that is not chat completions.
    pub outer: Option<InboundTranslator>,
    /// Output held back until now.
    pub held: Output,
    /// The upstream body has ended.
    pub ended: bool,
    /// The provider's headers the client gets.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// What the held output takes of the memory budget, given back when the answer is done.
    pub hold: Hold,
}

/// Why the answer cannot be completed after the commit point.
struct Broken {
    code: &'static str,
    body: Box<ErrorBody>,
}

/// What happens to the provider translator's output on its way to the client: the `on_event`
/// stages on each canonical event, then the translation to the client's API. Stages always see
/// the canonical form; the client's format is made last.
struct Outgoing<'p> {
    pipeline: &'p Pipeline,
    events: Option<EventSplitter>,
    outer: Option<InboundTranslator>,
}

impl Outgoing<'_> {
    /// Turns `out` into what the client receives.
    fn process(&mut self, cx: &mut RequestCx, out: &mut Output, ended: bool) -> Result<(), Broken> {
        if let Some(splitter) = &mut self.events {
            stage_events(self.pipeline, cx, splitter, out, ended).map_err(|e| Broken {
                code: e.label(),
                body: Box::new(e.body()),
            })?;
        }
        if let Some(outer) = &mut self.outer {
            let mut translated = Vec::with_capacity(out.len());
            for chunk in out.drain(..) {
                outer
                    .push(chunk, &mut translated)
                    .map_err(bad_translation)?;
            }
            if ended {
                outer.finish(&mut translated).map_err(bad_translation)?;
            }
            *out = translated;
        }
        Ok(())
    }

    /// The stream's terminal error, in the client's format.
    fn fail(&mut self, body: &ErrorBody) -> Bytes {
        match &mut self.outer {
            Some(outer) => {
                let mut out = Vec::new();
                outer.fail(body, &mut out);
                Bytes::from(out.concat())
            }
            None => sse::error_event(body),
        }
    }
}

fn bad_translation(e: switchyard_providers::TranslateError) -> Broken {
    Broken {
        code: "bad_upstream_response",
        body: Box::new(broken("bad_upstream_response", &e.to_string())),
    }
}

/// Commits: the response header goes out, then whatever was held back, then the rest of the
/// body as it arrives.
pub async fn commit(
    session: &mut Session,
    pipeline: &Pipeline,
    closing: &tokio::sync::watch::Receiver<bool>,
    ctx: &mut RequestCtx,
    judged: Judged,
) -> Result<(), Failure> {
    // What the translator holds between reads (a partial event) counts against the budget.
    let mut backlog = Hold::new(judged.hold.budget());
    let Judged {
        mut ex,
        mut tr,
        outer,
        mut held,
        mut ended,
        headers: provider_headers,
        hold: _hold,
    } = judged;
    let status = ex.status();
    let upstream_type = ex
        .header()
        .and_then(|h| h.headers.get(CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The canonical output's type (what the stages see) and the client's.
    let canonical_type = match (&upstream_type, tr.is_passthrough()) {
        (Some(t), true) => t.as_str(),
        _ => tr.content_type(),
    };
    let canonical_sse = canonical_type.starts_with("text/event-stream");
    let content_type = outer
        .as_ref()
        .map_or(canonical_type, |o| o.content_type())
        .to_owned();
    let is_sse = content_type.starts_with("text/event-stream");
    let watch_events = canonical_sse && pipeline.uses(Hooks::ON_EVENT);
    // A whole answer the stages inspect before any byte of it is sent.
    let inspected = !canonical_sse && pipeline.uses(Hooks::ON_RESPONSE_BODY);
    if inspected && !ended {
        // Larger than the gateway holds back: it cannot be inspected, so it is not sent.
        ex.finish().await;
        return Err(switchyard_pipeline::GatewayError::BadUpstreamResponse(
            "the provider's answer is too large to be checked before it is sent".into(),
        )
        .into());
    }
    if inspected {
        let mut body = coalesce(std::mem::take(&mut held)).unwrap_or_default();
        match pipeline.on_response_body(ctx, &mut body).await {
            Flow::Continue => held = vec![body],
            Flow::Respond(reply) => {
                ex.finish().await;
                return respond::reply(session, pipeline, ctx, reply)
                    .await
                    .map_err(Failure::Abort);
            }
            Flow::Fail(e) => {
                ex.finish().await;
                return Err(e.into());
            }
        }
    }
    let translated = outer.is_some();
    let mut outgoing = Outgoing {
        pipeline,
        events: watch_events.then(EventSplitter::new),
        outer,
    };
    if let Err(b) = outgoing.process(ctx, &mut held, ended) {
        // Nothing is written yet: the client gets a plain error.
        ex.finish().await;
        return Err(Failure::Respond {
            status: 502,
            body: *b.body,
            headers: Vec::new(),
            code: b.code,
        });
    }
    let upstream_length = ex
        .header()
        .and_then(|h| h.headers.get(CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let unchanged = tr.is_passthrough() && !watch_events && !inspected && !translated;
    let framing = match upstream_length {
        // The provider's length holds only for its bytes unchanged.
        Some(n) if unchanged => Framing::Length(n),
        _ if ended => Framing::Length(held.iter().map(Bytes::len).sum()),
        _ => Framing::Chunked,
    };
    let mut header =
        respond::header(pipeline, status, &content_type, framing, ctx).map_err(Failure::Abort)?;
    for (name, value) in provider_headers {
        // The gateway's own limits (`x-ratelimit-*` set by a stage) win over the provider's.
        if ctx.response_headers.iter().any(|(n, _)| *n == name) {
            continue;
        }
        header.insert(name, value);
    }
    ctx.status = status;
    ctx.first_byte = Some(ctx.start.elapsed());
    session
        .write_response_header(header.into_header(), false)
        .await
        .map_err(|e| client_gone(ctx, e))?;
    if let Some(chunk) = coalesce(held) {
        write(session, ctx, chunk).await?;
    }
    let mut out: Output = Vec::new();
    let mut watching_client = true;
    let mut closing = closing.clone();
    if *closing.borrow() {
        // Shutdown already told responses to end: this one ends at its first wait.
        closing.mark_changed();
    }
    let shutting_down = || Broken {
        code: "shutting_down",
        body: Box::new(ErrorBody::new(
            "the gateway is shutting down and could not finish this response",
            "server_error",
            Some("shutting_down"),
        )),
    };
    while !ended {
        let next = if watching_client {
            tokio::select! {
                chunk = ex.read_body() => chunk,
                _ = closing.changed() => {
                    return broken_stream(session, ctx, is_sse, &mut outgoing, shutting_down()).await;
                }
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
            tokio::select! {
                chunk = ex.read_body() => chunk,
                _ = closing.changed() => {
                    return broken_stream(session, ctx, is_sse, &mut outgoing, shutting_down()).await;
                }
            }
        };
        let result = match next {
            Ok(Some(chunk)) => tr.push(chunk, &mut out),
            Ok(None) => {
                ended = true;
                tr.finish(&mut out)
            }
            Err(e) => {
                let b = Broken {
                    code: e.label(),
                    body: Box::new(broken(e.label(), &e.to_string())),
                };
                return broken_stream(session, ctx, is_sse, &mut outgoing, b).await;
            }
        };
        if let Err(e) = result {
            return broken_stream(session, ctx, is_sse, &mut outgoing, bad_translation(e)).await;
        }
        if backlog.set(tr.buffered()).is_err() {
            let e = switchyard_pipeline::GatewayError::Overloaded;
            let b = Broken {
                code: e.label(),
                body: Box::new(e.body()),
            };
            return broken_stream(session, ctx, is_sse, &mut outgoing, b).await;
        }
        if let Err(b) = outgoing.process(ctx, &mut out, ended) {
            return broken_stream(session, ctx, is_sse, &mut outgoing, b).await;
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

/// Splits `out` into whole events and runs the `on_event` stages on each; `out` is replaced
/// by the events as the stages left them.
fn stage_events(
    pipeline: &Pipeline,
    cx: &mut RequestCx,
    splitter: &mut EventSplitter,
    out: &mut Output,
    ended: bool,
) -> Result<(), switchyard_pipeline::GatewayError> {
    let mut events = Vec::with_capacity(out.len());
    for chunk in out.drain(..) {
        splitter.push(chunk, &mut events);
    }
    if ended {
        events.extend(splitter.finish());
    }
    for event in &mut events {
        if let EventFlow::End(e) = pipeline.on_event(cx, event) {
            return Err(e);
        }
    }
    *out = events;
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

/// The client went away: counted as 499, never answered.
pub fn client_gone(ctx: &mut RequestCtx, e: Box<pingora::Error>) -> Failure {
    ctx.status = 499;
    ctx.error = Some("client_closed");
    Failure::Abort(e)
}

fn broken(code: &'static str, reason: &str) -> ErrorBody {
    ErrorBody::new(
        format!("the provider's response broke off: {reason}"),
        "upstream_error",
        Some(code),
    )
}

/// The response cannot be completed after the commit point. A stream ends with an error event
/// in the client's format (OpenAI's `data: {"error": …}`, Anthropic's `event: error`, …), which
/// SDKs raise, and a clean end of body; any other body cannot be completed, so the connection
/// is torn down and the client sees it broken rather than silently short.
async fn broken_stream(
    session: &mut Session,
    ctx: &mut RequestCtx,
    is_sse: bool,
    outgoing: &mut Outgoing<'_>,
    broken: Broken,
) -> Result<(), Failure> {
    ctx.error = Some(broken.code);
    if !is_sse {
        return Err(Failure::Abort(pingora::Error::explain(
            pingora::ErrorType::Custom("response broke off"),
            broken.body.message,
        )));
    }
    let event = outgoing.fail(&broken.body);
    session
        .write_response_body(Some(event), false)
        .await
        .map_err(|e| client_gone(ctx, e))?;
    session
        .write_response_body(None, true)
        .await
        .map_err(|e| client_gone(ctx, e))
}

//! Writing responses to the client. Every response carries the request id and the headers
//! stages added; error responses are OpenAI-shaped JSON with an exact `Content-Length`.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use switchyard_pipeline::{Hooks, Pipeline, Reply, RequestCx};
use switchyard_providers::ErrorBody;

use crate::ctx::NONE;

/// The gateway's response header names, parsed once.
mod names {
    use http::HeaderName;
    pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-switchyard-request-id");
    pub const ROUTE: HeaderName = HeaderName::from_static("x-switchyard-route");
    pub const PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
    pub const ATTEMPTS: HeaderName = HeaderName::from_static("x-switchyard-attempts");
    pub const TARGET: HeaderName = HeaderName::from_static("x-switchyard-target");
    pub const PORTKEY_RETRIES: HeaderName =
        HeaderName::from_static("x-portkey-retry-attempt-count");
    pub const PORTKEY_OPTION: HeaderName =
        HeaderName::from_static("x-portkey-last-used-option-index");
    pub const ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
}

/// How the body that follows a header is framed.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// Exactly this many bytes.
    Length(usize),
    /// Chunked (HTTP/1) / DATA frames (HTTP/2): for streams and bodies of unknown length.
    Chunked,
}

/// A response header being built: names and values go straight into the header map.
///
/// Pingora's `insert_header` turns every name back into bytes and parses it again (and
/// allocates a copy of every non-standard name) on each call; building `http`'s parts and
/// converting them once avoids that — names here are parsed once, at compile time.
pub struct Head(http::response::Parts);

impl Head {
    /// Sets a header (replacing any of the same name).
    pub fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        self.0.headers.insert(name, value);
    }

    /// Adds a header (keeping others of the same name).
    pub fn append(&mut self, name: HeaderName, value: HeaderValue) {
        self.0.headers.append(name, value);
    }

    /// The header Pingora writes (lowercase names, no case map).
    pub fn into_header(self) -> Box<ResponseHeader> {
        Box::new(ResponseHeader::from(self.0))
    }
}

/// A text value: request ids, labels and paths are printable ASCII; anything else (which the
/// gateway never produces) is left out rather than failing the response.
fn text(v: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(v).ok()
}

/// A response header with the gateway's own headers and the stages'. Runs the
/// `on_response_head` stages first, so they can still add headers.
pub fn header(
    pipeline: &Pipeline,
    status: u16,
    content_type: &str,
    framing: Framing,
    cx: &mut RequestCx,
) -> pingora::Result<Head> {
    if pipeline.uses(Hooks::ON_RESPONSE_HEAD) {
        pipeline.on_response_head(cx, status);
    }
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = http::StatusCode::from_u16(status).map_err(|e| {
        pingora::Error::because(pingora::ErrorType::InternalError, "invalid status", e)
    })?;
    let h = &mut parts.headers;
    h.reserve(12 + cx.response_headers.len());
    // Names go out in lowercase, as HTTP/2 requires and HTTP/1.1 allows.
    h.insert(
        CONTENT_TYPE,
        text(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    match framing {
        Framing::Length(n) => h.insert(CONTENT_LENGTH, HeaderValue::from(n)),
        Framing::Chunked => h.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
    };
    if let Some(v) = text(&cx.request_id) {
        h.insert(names::REQUEST_ID, v);
    }
    if &*cx.route != NONE {
        if let Some(v) = text(&cx.route) {
            h.insert(names::ROUTE, v);
        }
    }
    if cx.attempts > 0 {
        if let Some(v) = text(&cx.provider) {
            h.insert(names::PROVIDER, v);
        }
        h.insert(names::ATTEMPTS, HeaderValue::from(cx.attempts));
        // Portkey's equivalents, for clients migrating from it.
        h.insert(names::PORTKEY_RETRIES, HeaderValue::from(cx.retries));
        if let Some(v) = cx.option_path.as_deref().and_then(text) {
            h.insert(names::TARGET, v.clone());
            h.insert(names::PORTKEY_OPTION, v);
        }
    }
    if content_type.starts_with("text/event-stream") {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // Tell buffering reverse proxies in front of us not to hold events back.
        h.insert(names::ACCEL_BUFFERING, HeaderValue::from_static("no"));
    }
    for (name, value) in &cx.response_headers {
        h.append(name.clone(), value.clone());
    }
    Ok(Head(parts))
}

/// Writes a complete response.
pub async fn whole(
    session: &mut Session,
    pipeline: &Pipeline,
    cx: &mut RequestCx,
    status: u16,
    content_type: &str,
    body: Bytes,
    extra: &[(HeaderName, HeaderValue)],
) -> pingora::Result<()> {
    let mut h = header(
        pipeline,
        status,
        content_type,
        Framing::Length(body.len()),
        cx,
    )?;
    for (name, value) in extra {
        // The gateway's own limits (`x-ratelimit-*` set by a stage) win over the provider's.
        if cx.response_headers.iter().any(|(n, _)| n == name) {
            continue;
        }
        h.insert(name.clone(), value.clone());
    }
    cx.status = status;
    cx.first_byte = Some(cx.start.elapsed());
    // A HEAD answer has its Content-Length and no body. Pingora drops the body itself over
    // HTTP/1, not over HTTP/2, where DATA on a HEAD response is a protocol error for the client.
    if session.req_header().method == http::Method::HEAD {
        return session.write_response_header(h.into_header(), true).await;
    }
    session
        .write_response_header(h.into_header(), false)
        .await?;
    session.write_response_body(Some(body), true).await
}

/// Writes an error, OpenAI-shaped — or in the shape of the API the client speaks (Anthropic's
/// for Messages).
pub async fn error(
    session: &mut Session,
    pipeline: &Pipeline,
    cx: &mut RequestCx,
    status: u16,
    body: &ErrorBody,
    extra: &[(HeaderName, HeaderValue)],
) -> pingora::Result<()> {
    let bytes = cx.api.error_body(status, body);
    whole(
        session,
        pipeline,
        cx,
        status,
        "application/json",
        bytes,
        extra,
    )
    .await
}

/// Writes a stage's own answer.
pub async fn reply(
    session: &mut Session,
    pipeline: &Pipeline,
    cx: &mut RequestCx,
    reply: Reply,
) -> pingora::Result<()> {
    whole(
        session,
        pipeline,
        cx,
        reply.status,
        reply.content_type,
        reply.body,
        &[],
    )
    .await
}

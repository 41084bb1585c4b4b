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

/// A response header with the gateway's own headers and the stages'. Runs the
/// `on_response_head` stages first, so they can still add headers.
pub fn header(
    pipeline: &Pipeline,
    status: u16,
    content_type: &str,
    framing: Framing,
    cx: &mut RequestCx,
) -> pingora::Result<ResponseHeader> {
    if pipeline.uses(Hooks::ON_RESPONSE_HEAD) {
        pipeline.on_response_head(cx, status);
    }
    // No case map: header names go out in lowercase, as HTTP/2 requires and HTTP/1.1 allows,
    // and each insert skips a second map and a clone of the name.
    let mut h = ResponseHeader::build_no_case(status, Some(12 + cx.response_headers.len()))?;
    h.insert_header(CONTENT_TYPE, content_type)?;
    match framing {
        Framing::Length(n) => h.insert_header(CONTENT_LENGTH, n)?,
        Framing::Chunked => h.insert_header(TRANSFER_ENCODING, "chunked")?,
    }
    h.insert_header(names::REQUEST_ID, cx.request_id.as_str())?;
    if &*cx.route != NONE {
        h.insert_header(names::ROUTE, &*cx.route)?;
    }
    if cx.attempts > 0 {
        h.insert_header(names::PROVIDER, &*cx.provider)?;
        h.insert_header(names::ATTEMPTS, cx.attempts)?;
        // Portkey's equivalents, for clients migrating from it.
        h.insert_header(names::PORTKEY_RETRIES, cx.retries)?;
        if let Some(path) = &cx.option_path {
            h.insert_header(names::TARGET, path.as_str())?;
            h.insert_header(names::PORTKEY_OPTION, path.as_str())?;
        }
    }
    if content_type.starts_with("text/event-stream") {
        h.insert_header(CACHE_CONTROL, "no-cache")?;
        // Tell buffering reverse proxies in front of us not to hold events back.
        h.insert_header(names::ACCEL_BUFFERING, "no")?;
    }
    for (name, value) in &cx.response_headers {
        h.append_header(name.clone(), value.clone())?;
    }
    Ok(h)
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
        h.insert_header(name.clone(), value.clone())?;
    }
    cx.status = status;
    cx.first_byte = Some(cx.start.elapsed());
    session.write_response_header(Box::new(h), false).await?;
    session.write_response_body(Some(body), true).await
}

/// Writes an OpenAI-shaped error.
pub async fn error(
    session: &mut Session,
    pipeline: &Pipeline,
    cx: &mut RequestCx,
    status: u16,
    body: &ErrorBody,
    extra: &[(HeaderName, HeaderValue)],
) -> pingora::Result<()> {
    whole(
        session,
        pipeline,
        cx,
        status,
        "application/json",
        body.to_json(),
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

//! Writing responses to the client. Every response carries the request id; error responses
//! are OpenAI-shaped JSON with an exact `Content-Length`.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use switchyard_providers::ErrorBody;

use crate::ctx::RequestCtx;

/// How the body that follows a header is framed.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// Exactly this many bytes.
    Length(usize),
    /// Chunked (HTTP/1) / DATA frames (HTTP/2): for streams and bodies of unknown length.
    Chunked,
}

/// A response header with the gateway's own headers.
pub fn header(
    status: u16,
    content_type: &str,
    framing: Framing,
    ctx: &RequestCtx,
) -> pingora::Result<ResponseHeader> {
    // No case map: header names go out in lowercase, as HTTP/2 requires and HTTP/1.1 allows,
    // and each insert skips a second map and a clone of the name.
    let mut h = ResponseHeader::build_no_case(status, Some(12))?;
    h.insert_header(CONTENT_TYPE, content_type)?;
    match framing {
        Framing::Length(n) => h.insert_header(CONTENT_LENGTH, n)?,
        Framing::Chunked => h.insert_header(TRANSFER_ENCODING, "chunked")?,
    }
    h.insert_header("x-switchyard-request-id", ctx.request_id.as_str())?;
    if &*ctx.route != crate::ctx::NONE {
        h.insert_header("x-switchyard-route", &*ctx.route)?;
    }
    if ctx.attempts > 0 {
        h.insert_header("x-switchyard-provider", &*ctx.provider)?;
        h.insert_header("x-switchyard-attempts", ctx.attempts)?;
        // Portkey's equivalents, for clients migrating from it.
        h.insert_header("x-portkey-retry-attempt-count", ctx.retries)?;
        if let Some(path) = &ctx.option_path {
            h.insert_header("x-switchyard-target", path.as_str())?;
            h.insert_header("x-portkey-last-used-option-index", path.as_str())?;
        }
    }
    if content_type.starts_with("text/event-stream") {
        h.insert_header(CACHE_CONTROL, "no-cache")?;
        // Tell buffering reverse proxies in front of us not to hold events back.
        h.insert_header("x-accel-buffering", "no")?;
    }
    Ok(h)
}

/// Writes a complete JSON response.
pub async fn json(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    body: Bytes,
    extra: &[(&'static str, String)],
) -> pingora::Result<()> {
    let mut h = header(status, "application/json", Framing::Length(body.len()), ctx)?;
    for (name, value) in extra {
        h.insert_header(*name, value.as_str())?;
    }
    ctx.status = status;
    ctx.first_byte = Some(ctx.start.elapsed());
    session.write_response_header(Box::new(h), false).await?;
    session.write_response_body(Some(body), true).await
}

/// Writes an OpenAI-shaped error.
pub async fn error(
    session: &mut Session,
    ctx: &mut RequestCtx,
    status: u16,
    body: &ErrorBody,
    extra: &[(&'static str, String)],
) -> pingora::Result<()> {
    json(session, ctx, status, body.to_json(), extra).await
}

//! The request as it arrives: which endpoint it is for, its headers, and its body read once
//! within the size limit and parsed once.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, EXPECT};
use http::HeaderName;
use pingora::proxy::Session;
use switchyard_pipeline::RequestBody;
use switchyard_providers::endpoint::{BodyEncoding, PathMatch};
use switchyard_providers::{Endpoint, EnvelopeError, Form, JsonEnvelope};

use crate::budget::Hold;
use crate::error::GatewayError;

/// Matches method and path.
pub fn match_endpoint(req: &http::request::Parts) -> Result<Endpoint, GatewayError> {
    // HTTP/1.1 requires a Host header (RFC 9112, 3.2); HTTP/2 carries `:authority` instead,
    // which Pingora already requires.
    if req.version == http::Version::HTTP_11 && !req.headers.contains_key(http::header::HOST) {
        return Err(GatewayError::InvalidRequest {
            message: "HTTP/1.1 requests must carry a Host header".into(),
            param: None,
        });
    }
    // A header the gateway acts on that is not text would otherwise be read as absent (a
    // per-request config silently ignored, say). One pass over the headers, no lookups; the
    // name is compared only for a value that is not text.
    if let Some((name, _)) = req
        .headers
        .iter()
        .find(|(n, v)| v.to_str().is_err() && names::CONTROL.contains(n))
    {
        return Err(GatewayError::InvalidRequest {
            message: format!("the `{name}` header is not valid text"),
            param: None,
        });
    }
    let method = req.method.as_str();
    let path = req.uri.path();
    match Endpoint::match_request(method, path) {
        PathMatch::Found(e) => Ok(e),
        PathMatch::WrongMethod(e) => Err(GatewayError::MethodNotAllowed {
            method: method.to_owned(),
            path: path.to_owned(),
            allowed: e.method(),
        }),
        PathMatch::NotFound => Err(GatewayError::NotFound {
            method: method.to_owned(),
            path: path.chars().take(200).collect(),
        }),
    }
}

/// Request header names the gateway reads, parsed once (a lookup by `&str` parses the name
/// on every call).
pub mod names {
    use http::HeaderName;

    /// `x-switchyard-provider`, `x-portkey-provider`.
    pub const PROVIDER: [HeaderName; 2] = [
        HeaderName::from_static("x-switchyard-provider"),
        HeaderName::from_static("x-portkey-provider"),
    ];
    /// `x-switchyard-metadata`, `x-portkey-metadata`.
    pub const METADATA: [HeaderName; 2] = [
        HeaderName::from_static("x-switchyard-metadata"),
        HeaderName::from_static("x-portkey-metadata"),
    ];
    /// `x-switchyard-config`, `x-portkey-config`.
    pub const CONFIG: [HeaderName; 2] = [
        HeaderName::from_static("x-switchyard-config"),
        HeaderName::from_static("x-portkey-config"),
    ];
    /// `x-switchyard-custom-host`, `x-portkey-custom-host`.
    pub const CUSTOM_HOST: [HeaderName; 2] = [
        HeaderName::from_static("x-switchyard-custom-host"),
        HeaderName::from_static("x-portkey-custom-host"),
    ];
    /// `x-switchyard-api-key`, `x-portkey-api-key`, and Anthropic's `x-api-key` (what the
    /// Anthropic SDK sends its key in).
    pub const API_KEY: [HeaderName; 3] = [
        HeaderName::from_static("x-switchyard-api-key"),
        HeaderName::from_static("x-portkey-api-key"),
        HeaderName::from_static("x-api-key"),
    ];
    /// Every header the gateway acts on, whose value must be text.
    pub const CONTROL: [HeaderName; 12] = [
        HeaderName::from_static("x-switchyard-provider"),
        HeaderName::from_static("x-portkey-provider"),
        HeaderName::from_static("x-switchyard-metadata"),
        HeaderName::from_static("x-portkey-metadata"),
        HeaderName::from_static("x-switchyard-config"),
        HeaderName::from_static("x-portkey-config"),
        HeaderName::from_static("x-switchyard-custom-host"),
        HeaderName::from_static("x-portkey-custom-host"),
        HeaderName::from_static("x-switchyard-api-key"),
        HeaderName::from_static("x-portkey-api-key"),
        HeaderName::from_static("x-api-key"),
        HeaderName::from_static("authorization"),
    ];
    /// Anthropic's `x-api-key`.
    pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    /// `anthropic-version`.
    pub const ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
    /// `anthropic-beta`.
    pub const ANTHROPIC_BETA: HeaderName = HeaderName::from_static("anthropic-beta");
}

/// A header's value, trimmed; `None` when absent, empty or not text.
pub fn header_str<'a>(head: &'a http::request::Parts, name: &HeaderName) -> Option<&'a str> {
    head.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The first of `names` present.
pub fn first_header<'a>(head: &'a http::request::Parts, names: &[HeaderName]) -> Option<&'a str> {
    names.iter().find_map(|n| header_str(head, n))
}

/// The `Authorization: Bearer` token.
pub fn bearer(head: &http::request::Parts) -> Option<&str> {
    let v = header_str(head, &AUTHORIZATION)?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Reads the whole request body, refusing more than `limit` bytes, a body that takes longer
/// than `within` to arrive, and bytes the gateway's memory budget has no room for (`hold`).
pub async fn read_body(
    session: &mut Session,
    limit: usize,
    within: Duration,
    hold: &mut Hold,
) -> Result<Bytes, GatewayError> {
    let declared =
        header_str(session.req_header(), &CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    let read = async {
        if header_str(session.req_header(), &EXPECT)
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            session
                .write_continue_response()
                .await
                .map_err(|e| GatewayError::ClientRead(e.to_string()))?;
        }
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        while let Some(chunk) = session
            .read_request_body()
            .await
            .map_err(|e| GatewayError::ClientRead(e.to_string()))?
        {
            let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
            if held + chunk.len() > limit {
                return Err(GatewayError::BodyTooLarge { limit });
            }
            hold.grow(chunk.len())?;
            // The common case is one chunk: keep it as is instead of copying. Memory grows
            // with what arrived, never with what the client declared.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                prior => {
                    if let Some(p) = prior {
                        buf.extend_from_slice(&p);
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    };
    // One deadline for the whole body: a per-read timeout alone lets a client keep a request
    // alive for minutes with a byte at a time (and HTTP/2 reads have none at all).
    pingora::time::timeout(within, read)
        .await
        .map_err(|_| GatewayError::BodyTimeout(within))?
}

/// After an early answer, reads and discards what is left of the request body (at most
/// `max` bytes, within `within`) so the client can finish sending and read the answer — over
/// HTTP/2 an unread body over the flow-control window otherwise ends in a stream reset, and
/// over HTTP/1 closing with unread bytes can reset the connection before the answer is read.
/// Returns whether the body was read to its end.
pub async fn discard_body(session: &mut Session, max: usize, within: Duration) -> bool {
    // A client waiting for `100 Continue` was answered instead: it sends no body.
    if header_str(session.req_header(), &EXPECT).is_some() {
        return false;
    }
    let declared =
        header_str(session.req_header(), &CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return false;
    }
    let drain = async {
        let mut n = 0usize;
        while let Some(chunk) = session.read_request_body().await.ok()? {
            n += chunk.len();
            if n > max {
                return None;
            }
        }
        Some(())
    };
    matches!(pingora::time::timeout(within, drain).await, Ok(Some(())))
}

/// Parses the body once: JSON, or for multipart endpoints the form (its text fields become the
/// JSON envelope routing and overrides read).
pub fn parse_body(
    endpoint: Endpoint,
    head: &http::request::Parts,
    raw: Bytes,
) -> Result<RequestBody, GatewayError> {
    Ok(match endpoint.encoding() {
        BodyEncoding::Json => {
            let json = JsonEnvelope::parse(raw)?;
            if !nesting_within(json.raw(), MAX_JSON_DEPTH) {
                return Err(EnvelopeError::Invalid(format!(
                    "arrays and objects are nested more than {MAX_JSON_DEPTH} deep"
                ))
                .into());
            }
            RequestBody { json, form: None }
        }
        BodyEncoding::Multipart => {
            let content_type = header_str(head, &CONTENT_TYPE).unwrap_or_default();
            let form =
                Form::parse(content_type, raw).map_err(|e| GatewayError::InvalidRequest {
                    message: e.to_string(),
                    param: None,
                })?;
            RequestBody {
                json: form.fields_envelope(),
                form: Some(form),
            }
        }
    })
}

/// Deepest nesting of arrays and objects a JSON body may have: serde_json's own recursion
/// limit, which the stages and translators that read a body in full hit anyway, and far
/// beyond any real request. The envelope skips values without a depth limit, so without this
/// a body nested 100,000 deep would be forwarded to the provider.
const MAX_JSON_DEPTH: usize = 128;

/// Whether arrays and objects in `json` (already validated) nest at most `max` deep. One pass
/// over structure; strings are skipped with `memchr`.
fn nesting_within(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        i += 1;
        match b {
            b'"' => loop {
                let Some(rest) = json.get(i..) else {
                    return true;
                };
                match memchr::memchr2(b'"', b'\\', rest) {
                    None => return true,
                    Some(k) if rest[k] == b'\\' => i += k + 2,
                    Some(k) => {
                        i += k + 1;
                        break;
                    }
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The `stream` parameter: a JSON boolean, or in a form the text `true`.
pub fn streaming(body: &RequestBody) -> Result<bool, GatewayError> {
    if body.form.is_some() {
        return Ok(body.json.get_str("stream")?.as_deref() == Some("true"));
    }
    Ok(body.json.get_bool("stream")?.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert!(nesting_within(br#"{"a":[{"b":[1,2]}]}"#, 4));
        assert!(!nesting_within(br#"{"a":[{"b":[1,2]}]}"#, 3));
        // Brackets and escaped quotes inside strings do not count.
        assert!(nesting_within(br#"{"a":"[[[[\"[[[["}"#, 1));
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(!nesting_within(deep.as_bytes(), MAX_JSON_DEPTH));
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(nesting_within(ok.as_bytes(), MAX_JSON_DEPTH));
        // A string cut after a backslash ends the scan without reading past the end.
        assert!(nesting_within(b"\"\\", 1));
    }
}

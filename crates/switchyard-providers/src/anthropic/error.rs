//! Anthropic's error shape, `{"type":"error","error":{"type","message"},"request_id"}`, as an
//! OpenAI-shaped [`ErrorBody`]: the status decides OpenAI's `type`, Anthropic's error type
//! becomes the `code` so nothing is lost.

use serde::Deserialize;

use crate::error::ErrorBody;

/// The wire error object.
#[derive(Debug, Deserialize)]
pub(super) struct WireError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    error: WireError,
}

/// The HTTP status Anthropic documents for an error type, for errors that arrive inside a
/// 200 stream (where `overloaded_error` stands for what would otherwise be a 529).
pub fn status_for_error_type(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 502,
    }
}

/// Reads an Anthropic error body. `status` is the HTTP status when there was one; without
/// it (a stream `error` event) the status comes from the error type. `None` when the body is
/// not Anthropic's error shape.
pub fn error_from_body(
    status: Option<u16>,
    body: &[u8],
    provider: &str,
) -> Option<(u16, ErrorBody)> {
    let e = serde_json::from_slice::<Envelope>(body).ok()?.error;
    Some(wire_error(status, e, provider))
}

pub(super) fn wire_error(status: Option<u16>, e: WireError, provider: &str) -> (u16, ErrorBody) {
    let status = status.unwrap_or_else(|| status_for_error_type(&e.kind));
    let message = if e.message.is_empty() {
        format!("provider {provider} answered with `{}`", e.kind)
    } else {
        e.message
    };
    let code = (!e.kind.is_empty()).then_some(e.kind.as_str());
    let body =
        ErrorBody::new(message, ErrorBody::kind_for_status(status), code).with_provider(provider);
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_statuses_map_to_openai_types() {
        for (kind, status, openai) in [
            ("invalid_request_error", 400, "invalid_request_error"),
            ("authentication_error", 401, "authentication_error"),
            ("permission_error", 403, "permission_error"),
            ("not_found_error", 404, "invalid_request_error"),
            ("request_too_large", 413, "invalid_request_error"),
            ("rate_limit_error", 429, "rate_limit_error"),
            ("api_error", 500, "api_error"),
            ("overloaded_error", 529, "api_error"),
        ] {
            let body = format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"m"}}}}"#);
            let (s, e) = error_from_body(None, body.as_bytes(), "p").unwrap();
            assert_eq!((s, e.kind.as_str()), (status, openai), "{kind}");
            assert_eq!(e.code.as_deref(), Some(kind));
            assert_eq!(e.provider.as_deref(), Some("p"));
        }
    }

    #[test]
    fn the_real_status_wins_and_other_shapes_are_not_read() {
        let (s, _) = error_from_body(
            Some(400),
            br#"{"type":"error","error":{"type":"api_error","message":"x"}}"#,
            "p",
        )
        .unwrap();
        assert_eq!(s, 400);
        assert!(error_from_body(Some(502), b"<html/>", "p").is_none());
        assert!(error_from_body(None, br#"{"error":"text"}"#, "p").is_none());
    }
}

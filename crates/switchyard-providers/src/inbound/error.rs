//! Errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`.

use bytes::{BufMut, Bytes, BytesMut};

use crate::envelope::put_json_string;
use crate::error::ErrorBody;

/// Anthropic's documented error types (Errors page: HTTP errors).
const ANTHROPIC_TYPES: [&str; 10] = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
];

/// The Anthropic error type for an error answered with `status`: the error's `code` when it
/// already is one (the Anthropic dialect keeps Anthropic's type there), else the type
/// Anthropic documents for the status (400 `invalid_request_error`, 401
/// `authentication_error`, 402 `billing_error`, 403 `permission_error`, 404
/// `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`, 504 `timeout_error`,
/// 529 `overloaded_error`, other 4xx `invalid_request_error`, anything else `api_error`).
pub fn anthropic_error_type(status: u16, error: &ErrorBody) -> &'static str {
    if let Some(t) = error
        .code
        .as_deref()
        .and_then(|c| ANTHROPIC_TYPES.iter().find(|t| **t == c))
    {
        return t;
    }
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// The JSON of Anthropic's error object, `{"type":"error","error":{"type","message"}}`.
pub(crate) fn anthropic_body(status: u16, error: &ErrorBody) -> Bytes {
    let mut b = BytesMut::with_capacity(error.message.len() + 64);
    put_anthropic_body(&mut b, status, error);
    b.freeze()
}

pub(crate) fn put_anthropic_body(b: &mut BytesMut, status: u16, error: &ErrorBody) {
    b.put_slice(b"{\"type\":\"error\",\"error\":{\"type\":\"");
    b.put_slice(anthropic_error_type(status, error).as_bytes());
    b.put_slice(b"\",\"message\":");
    put_json_string(b, &error.message);
    b.put_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_anthropic_types() {
        let e = ErrorBody::new("m", "x", None);
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (402, "billing_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (405, "invalid_request_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (502, "api_error"),
            (504, "timeout_error"),
            (529, "overloaded_error"),
        ] {
            assert_eq!(anthropic_error_type(status, &e), kind, "{status}");
        }
    }

    #[test]
    fn an_anthropic_code_wins_and_the_body_is_anthropic_shaped() {
        let e = ErrorBody::new("Overloaded \"now\"", "api_error", Some("overloaded_error"))
            .with_provider("claude");
        let v: serde_json::Value = serde_json::from_slice(&anthropic_body(500, &e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded \"now\""}})
        );
        let other = ErrorBody::new("m", "invalid_request_error", Some("model_not_found"));
        assert_eq!(anthropic_error_type(404, &other), "not_found_error");
    }
}

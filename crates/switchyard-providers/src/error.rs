//! The OpenAI-shaped error every client sees, and translation errors.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Deserialize;

use crate::envelope::put_json_string;

/// `{"error":{"message","type","param","code"}}`, plus Portkey's top-level `provider` when a
/// provider produced the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    /// Human-readable description.
    pub message: String,
    /// OpenAI's `type`, e.g. `invalid_request_error`.
    pub kind: String,
    /// OpenAI's `code`, e.g. `model_not_found`.
    pub code: Option<String>,
    /// OpenAI's `param`: the request field at fault.
    pub param: Option<String>,
    /// Which provider answered with this error.
    pub provider: Option<String>,
}

impl ErrorBody {
    /// A new error body.
    pub fn new(message: impl Into<String>, kind: impl Into<String>, code: Option<&str>) -> Self {
        Self {
            message: message.into(),
            kind: kind.into(),
            code: code.map(str::to_owned),
            param: None,
            provider: None,
        }
    }

    /// Names the request field at fault.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// Names the provider that produced the error.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = Some(provider.into());
        self
    }

    /// The JSON encoding.
    pub fn to_json(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.message.len() + 96);
        out.put_slice(b"{\"error\":{\"message\":");
        put_json_string(&mut out, &self.message);
        out.put_slice(b",\"type\":");
        put_json_string(&mut out, &self.kind);
        out.put_slice(b",\"param\":");
        put_opt(&mut out, self.param.as_deref());
        out.put_slice(b",\"code\":");
        put_opt(&mut out, self.code.as_deref());
        out.put_u8(b'}');
        if let Some(p) = &self.provider {
            out.put_slice(b",\"provider\":");
            put_json_string(&mut out, p);
        }
        out.put_u8(b'}');
        out.freeze()
    }

    /// Reads an OpenAI-shaped error body a provider sent; `None` when it is not one.
    pub fn from_openai_json(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Wire {
            error: WireError,
        }
        #[derive(Deserialize)]
        struct WireError {
            #[serde(default)]
            message: Option<String>,
            #[serde(default, rename = "type")]
            kind: Option<String>,
            #[serde(default)]
            code: Option<serde_json::Value>,
            #[serde(default)]
            param: Option<String>,
        }
        let w: Wire = serde_json::from_slice(body).ok()?;
        Some(Self {
            message: w.error.message.unwrap_or_default(),
            kind: w.error.kind.unwrap_or_else(|| "upstream_error".to_owned()),
            code: match w.error.code {
                Some(serde_json::Value::String(s)) => Some(s),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            param: w.error.param,
            provider: None,
        })
    }

    /// The error type OpenAI uses for an HTTP status, for errors that carry none.
    pub fn kind_for_status(status: u16) -> &'static str {
        match status {
            400 | 404 | 405 | 409 | 413 | 415 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            408 | 504 => "timeout_error",
            429 => "rate_limit_error",
            _ => "api_error",
        }
    }

    /// Wraps a provider error body of any shape: OpenAI's shape is kept, anything else becomes
    /// its message (cut to a sane length, as it may be an HTML error page).
    pub fn from_provider(status: u16, body: &[u8], provider: &str) -> Self {
        if let Some(e) = Self::from_openai_json(body).filter(|e| !e.message.is_empty()) {
            return e.with_provider(provider);
        }
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let message = if text.is_empty() {
            format!("provider {provider} answered HTTP {status} with an empty body")
        } else {
            let cut: String = text.chars().take(2000).collect();
            format!("provider {provider} answered HTTP {status}: {cut}")
        };
        Self::new(message, Self::kind_for_status(status), None).with_provider(provider)
    }
}

fn put_opt(out: &mut BytesMut, v: Option<&str>) {
    match v {
        Some(s) => put_json_string(out, s),
        None => out.put_slice(b"null"),
    }
}

/// A request the translator cannot express for the chosen provider.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TranslateError {
    /// The body is not acceptable (wrong type, missing field, unsupported parameter).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The field at fault.
        param: Option<String>,
    },
    /// The provider has no such endpoint.
    #[error("provider kind `{kind}` does not serve {endpoint}")]
    UnsupportedEndpoint {
        /// The provider kind.
        kind: &'static str,
        /// The endpoint's label.
        endpoint: &'static str,
    },
    /// The provider's answer could not be translated.
    #[error("could not translate the provider's response: {0}")]
    BadResponse(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_openai_shape_with_escaping() {
        let e = ErrorBody::new("bad \"x\"\n", "invalid_request_error", Some("c"))
            .with_param("model")
            .with_provider("openai");
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["error"]["message"], "bad \"x\"\n");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["code"], "c");
        assert_eq!(v["provider"], "openai");
    }

    #[test]
    fn nulls_where_absent() {
        let v: serde_json::Value =
            serde_json::from_slice(&ErrorBody::new("m", "t", None).to_json()).unwrap();
        assert!(v["error"]["code"].is_null());
        assert!(v["error"]["param"].is_null());
        assert!(v.get("provider").is_none());
    }

    #[test]
    fn provider_bodies_of_any_shape_become_openai_errors() {
        let openai = br#"{"error":{"message":"Rate limit","type":"requests","code":429}}"#;
        let e = ErrorBody::from_provider(429, openai, "p");
        assert_eq!(
            (e.message.as_str(), e.kind.as_str(), e.code.as_deref()),
            ("Rate limit", "requests", Some("429"))
        );
        let html = ErrorBody::from_provider(502, b"<html>bad gateway</html>", "p");
        assert!(html.message.contains("HTTP 502: <html>bad gateway</html>"));
        assert_eq!(html.kind, "api_error");
        let empty = ErrorBody::from_provider(503, b"", "p");
        assert!(empty.message.contains("empty body"));
    }
}

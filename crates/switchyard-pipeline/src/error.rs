//! Every error a request can end with, and the one place that maps each to an HTTP status,
//! an OpenAI-shaped body, extra response headers and a bounded metric label.
//!
//! Stages end a request with a [`GatewayError`]; the gateway writes it. A stage with an error
//! of its own uses [`GatewayError::Refused`] (its status and code) — the code becomes the
//! `code` of the OpenAI error body and the metric label, so it must come from a fixed set.

use std::time::Duration;

use switchyard_providers::{EnvelopeError, ErrorBody, TranslateError};

/// A failure talking to a provider, classified by what it means for the request.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UpstreamError {
    /// The provider's host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The connection could not be made (refused, unreachable, TLS failure).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// TCP or TLS connect took too long.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// No response header in time.
    #[error("no response within {0:?}")]
    FirstByteTimeout(Duration),
    /// The response body stalled.
    #[error("response stalled for {0:?}")]
    IdleTimeout(Duration),
    /// The whole exchange took too long.
    #[error("request exceeded its total timeout of {0:?}")]
    TotalTimeout(Duration),
    /// A per-request config's `request_timeout` (Portkey's semantics: a 408) ran out.
    #[error("request timed out after {0:?} (request_timeout)")]
    RequestTimeout(Duration),
    /// The connection closed or failed while in use.
    #[error("connection lost: {0}")]
    Closed(String),
    /// The provider spoke broken HTTP.
    #[error("invalid HTTP from provider: {0}")]
    Protocol(String),
    /// The destination a client chose resolves to an address it may not reach.
    #[error("{0}")]
    PrivateAddress(String),
}

impl UpstreamError {
    /// The status a client sees when this is the final outcome.
    pub fn status(&self) -> u16 {
        match self {
            Self::ConnectTimeout(_)
            | Self::FirstByteTimeout(_)
            | Self::IdleTimeout(_)
            | Self::TotalTimeout(_) => 504,
            Self::PrivateAddress(_) => 400,
            Self::RequestTimeout(_) => 408,
            _ => 502,
        }
    }

    /// A bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Resolve { .. } => "resolve_error",
            Self::Connect(_) => "connect_error",
            Self::ConnectTimeout(_) => "connect_timeout",
            Self::FirstByteTimeout(_) => "first_byte_timeout",
            Self::IdleTimeout(_) => "idle_timeout",
            Self::TotalTimeout(_) => "total_timeout",
            Self::RequestTimeout(_) => "request_timeout",
            Self::Closed(_) => "connection_closed",
            Self::Protocol(_) => "protocol_error",
            Self::PrivateAddress(_) => "private_address",
        }
    }
}

/// Everything that can go wrong in a request, as the client will be told.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// The body is not valid JSON or has a wrong field.
    #[error("{0}")]
    InvalidBody(#[from] EnvelopeError),
    /// The request cannot be served as asked.
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong.
        message: String,
        /// The field at fault.
        param: Option<String>,
    },
    /// No `model` in the body.
    #[error("you must provide a model parameter")]
    MissingModel,
    /// The model is not routed by this gateway.
    #[error("the model `{0}` does not exist or is not routed by this gateway")]
    ModelNotFound(String),
    /// No such path.
    #[error("unknown URL: {method} {path}")]
    NotFound {
        /// Method.
        method: String,
        /// Path.
        path: String,
    },
    /// The path exists with another method.
    #[error("{path} takes {allowed}, not {method}")]
    MethodNotAllowed {
        /// Method used.
        method: String,
        /// Path.
        path: String,
        /// The method it takes.
        allowed: &'static str,
    },
    /// The body exceeds `server.max_body_size`.
    #[error("request body exceeds the gateway's limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A gateway key is required and was missing or wrong.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The client stopped sending the body or sent it too slowly.
    #[error("could not read the request body: {0}")]
    ClientRead(String),
    /// The body did not arrive whole in time.
    #[error("the request body was not received within {0:?}")]
    BodyTimeout(Duration),
    /// The gateway holds as much buffered request and response data as it may.
    #[error("the gateway is busy with other large requests; retry shortly")]
    Overloaded,
    /// Talking to the provider failed, after every attempt.
    #[error("{summary}")]
    Upstream {
        /// The last attempt's failure.
        last: UpstreamError,
        /// Every attempt's failure, for the message.
        summary: String,
    },
    /// The provider's answer could not be translated.
    #[error("{0}")]
    BadUpstreamResponse(String),
    /// A stage refused the request with a status and code of its own.
    #[error("{message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The OpenAI error `code` and the metric label: from a fixed set.
        code: &'static str,
        /// What the client is told.
        message: String,
        /// The request field at fault.
        param: Option<String>,
        /// Extra response headers (e.g. `retry-after`).
        headers: Vec<(&'static str, String)>,
    },
    /// A stage panicked; the request ends, the gateway keeps serving.
    #[error("internal error in stage `{0}`")]
    StagePanicked(String),
    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<TranslateError> for GatewayError {
    fn from(e: TranslateError) -> Self {
        match e {
            TranslateError::InvalidRequest { message, param } => {
                GatewayError::InvalidRequest { message, param }
            }
            TranslateError::UnsupportedEndpoint { .. } => GatewayError::InvalidRequest {
                message: e.to_string(),
                param: None,
            },
            TranslateError::BadResponse(m) => GatewayError::BadUpstreamResponse(m),
        }
    }
}

impl GatewayError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidBody(_) | Self::InvalidRequest { .. } | Self::MissingModel => 400,
            Self::ClientRead(_) => 400,
            Self::BodyTimeout(_) => 408,
            Self::Overloaded => 503,
            Self::Unauthorized(_) => 401,
            Self::ModelNotFound(_) | Self::NotFound { .. } => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BodyTooLarge { .. } => 413,
            Self::Upstream { last, .. } => last.status(),
            Self::BadUpstreamResponse(_) => 502,
            Self::Refused { status, .. } => *status,
            Self::StagePanicked(_) | Self::Internal(_) => 500,
        }
    }

    /// A bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::InvalidBody(_) => "invalid_json",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::MissingModel => "missing_model",
            Self::ModelNotFound(_) => "model_not_found",
            Self::NotFound { .. } => "unknown_url",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::Unauthorized(_) => "invalid_api_key",
            Self::ClientRead(_) => "client_read_error",
            Self::BodyTimeout(_) => "request_timeout",
            Self::Overloaded => "gateway_overloaded",
            Self::Upstream { last, .. } => last.label(),
            Self::BadUpstreamResponse(_) => "bad_upstream_response",
            Self::Refused { code, .. } => code,
            Self::StagePanicked(_) => "stage_panicked",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The OpenAI-shaped body.
    pub fn body(&self) -> ErrorBody {
        let status = self.status();
        let kind = match self {
            // Portkey's type for its `request_timeout` answer.
            Self::Upstream {
                last: UpstreamError::RequestTimeout(_),
                ..
            } => "timeout_error",
            Self::Upstream { .. } | Self::BadUpstreamResponse(_) => "upstream_error",
            Self::Internal(_) | Self::StagePanicked(_) => "api_error",
            _ => ErrorBody::kind_for_status(status),
        };
        let mut body = ErrorBody::new(self.to_string(), kind, Some(self.label()));
        match self {
            Self::InvalidBody(EnvelopeError::WrongType { field, .. }) => {
                body = body.with_param(field.clone());
            }
            Self::InvalidRequest { param: Some(p), .. } => body = body.with_param(p.clone()),
            Self::Refused { param: Some(p), .. } => body = body.with_param(p.clone()),
            Self::MissingModel | Self::ModelNotFound(_) => body = body.with_param("model"),
            _ => {}
        }
        body
    }

    /// Response headers that belong to this error (`allow`, `retry-after`, …).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::MethodNotAllowed { allowed, .. } => vec![("allow", (*allowed).to_owned())],
            Self::Overloaded => vec![("retry-after", "1".to_owned())],
            Self::Refused { headers, .. } => headers.clone(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_labels() {
        let cases: Vec<(GatewayError, u16, &str)> = vec![
            (GatewayError::MissingModel, 400, "missing_model"),
            (
                GatewayError::ModelNotFound("x".into()),
                404,
                "model_not_found",
            ),
            (
                GatewayError::NotFound {
                    method: "GET".into(),
                    path: "/x".into(),
                },
                404,
                "unknown_url",
            ),
            (
                GatewayError::MethodNotAllowed {
                    method: "GET".into(),
                    path: "/v1/chat/completions".into(),
                    allowed: "POST",
                },
                405,
                "method_not_allowed",
            ),
            (
                GatewayError::BodyTooLarge { limit: 10 },
                413,
                "body_too_large",
            ),
            (
                GatewayError::Upstream {
                    last: UpstreamError::Connect("refused".into()),
                    summary: "connection refused by provider p".into(),
                },
                502,
                "connect_error",
            ),
            (
                GatewayError::Upstream {
                    last: UpstreamError::FirstByteTimeout(Duration::from_secs(1)),
                    summary: "provider p did not answer in time".into(),
                },
                504,
                "first_byte_timeout",
            ),
        ];
        for (e, status, label) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            assert_eq!(e.label(), label);
            let v: serde_json::Value = serde_json::from_slice(&e.body().to_json()).unwrap();
            assert_eq!(v["error"]["code"], label);
            assert!(v["error"]["message"].as_str().unwrap().len() > 3);
        }
    }
}

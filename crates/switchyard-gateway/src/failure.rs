//! How a request ends early, and the answer when no attempt succeeded.

use http::{HeaderName, HeaderValue};
use switchyard_providers::ErrorBody;

use crate::error::{GatewayError, UpstreamError};

/// Why a request ended early.
pub enum Failure {
    /// Nothing has been written yet: answer with this error.
    Respond {
        /// Status.
        status: u16,
        /// Body.
        body: ErrorBody,
        /// Extra headers (`Allow`, `Retry-After`).
        headers: Vec<(HeaderName, HeaderValue)>,
        /// Metric label.
        code: &'static str,
    },
    /// The response has started and cannot be completed: tear the connection down so the
    /// client sees a broken response, never a truncated one that looks whole.
    Abort(Box<pingora::Error>),
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Self {
        let headers = e
            .headers()
            .into_iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::try_from(value).ok()?,
                ))
            })
            .collect();
        Failure::Respond {
            status: e.status(),
            body: e.body(),
            headers,
            code: e.label(),
        }
    }
}

impl From<switchyard_providers::EnvelopeError> for Failure {
    fn from(e: switchyard_providers::EnvelopeError) -> Self {
        GatewayError::from(e).into()
    }
}

/// One failed attempt, kept so the final answer can say what happened everywhere.
pub enum Attempted {
    /// The provider answered with an error.
    Answer {
        status: u16,
        body: ErrorBody,
        headers: Vec<(HeaderName, HeaderValue)>,
    },
    /// The exchange itself failed.
    Transport(UpstreamError),
}

/// The answer when no attempt succeeded: the last provider's own error when it gave one,
/// otherwise a gateway error naming every attempt's cause; when no target could even be
/// asked, why the first one could not serve the request (`unservable`).
pub fn final_failure(
    last: Option<Attempted>,
    failures: &[(String, String)],
    unservable: Option<GatewayError>,
) -> Failure {
    match last {
        Some(Attempted::Answer {
            status,
            body,
            headers,
        }) => Failure::Respond {
            status,
            code: "upstream_error_status",
            body,
            headers,
        },
        Some(Attempted::Transport(e)) => {
            let summary = if failures.len() == 1 {
                format!("provider `{}` failed: {}", failures[0].0, failures[0].1)
            } else {
                let parts: Vec<String> =
                    failures.iter().map(|(p, r)| format!("{p}: {r}")).collect();
                format!(
                    "all {} attempts failed: {}",
                    failures.len(),
                    parts.join("; ")
                )
            };
            GatewayError::Upstream { last: e, summary }.into()
        }
        None => unservable
            .unwrap_or_else(|| GatewayError::Internal("the route has no targets".into()))
            .into(),
    }
}

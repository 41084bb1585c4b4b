//! Errors: the types live in `switchyard-pipeline` (stages return them); this module adds
//! what needs Pingora — classifying its errors.

use std::time::Duration;

pub use switchyard_pipeline::{GatewayError, UpstreamError};

/// Classifies a Pingora error from the connect/send/header phase.
pub fn from_pingora(e: &pingora::Error, first_byte: Duration, connect: Duration) -> UpstreamError {
    use pingora::ErrorType::*;
    let reason = describe(e);
    match e.etype() {
        ConnectTimedout | TLSHandshakeTimedout => UpstreamError::ConnectTimeout(connect),
        ConnectRefused | ConnectNoRoute | TLSWantX509Lookup | TLSHandshakeFailure | InvalidCert
        | HandshakeError | ConnectError | BindError | SocketError | ConnectProxyFailure => {
            UpstreamError::Connect(reason)
        }
        ReadTimedout | WriteTimedout => UpstreamError::FirstByteTimeout(first_byte),
        InvalidHTTPHeader | H1Error | H2Error | H2Downgrade | InvalidH2 => {
            UpstreamError::Protocol(reason)
        }
        _ => UpstreamError::Closed(reason),
    }
}

/// A short description of a Pingora error: its kind and the underlying cause, without
/// Pingora's nested context chain.
pub fn describe(e: &pingora::Error) -> String {
    let root = e.root_cause().to_string();
    let kind = e.etype().as_str();
    if root.is_empty() || root.contains(kind) {
        root
    } else {
        format!("{kind}: {}", root.trim())
    }
}

//! The request headers dialects build alike: credentials marked sensitive, fixed values, and
//! the headers of a JSON exchange.

use http::{HeaderName, HeaderValue};

use crate::dialect::{Call, ProviderEndpoint};
use crate::error::TranslateError;
use crate::kind::AuthStyle;

/// A header whose value is a credential: marked sensitive so `Debug` hides it.
pub fn secret(name: HeaderName, value: &str) -> Result<(HeaderName, HeaderValue), TranslateError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| TranslateError::InvalidRequest {
        message: format!(
            "the credential for header `{name}` contains characters not allowed in HTTP headers"
        ),
        param: None,
    })?;
    v.set_sensitive(true);
    Ok((name, v))
}

/// A header with a fixed value.
pub fn fixed(name: HeaderName, value: &'static str) -> (HeaderName, HeaderValue) {
    (name, HeaderValue::from_static(value))
}

/// The headers of a JSON request: `content-type`, `accept` (SSE for a stream) and
/// `accept-encoding: identity`, as answers are inspected or translated on the way back.
pub fn json_exchange(stream: bool) -> [(HeaderName, HeaderValue); 3] {
    [
        fixed(http::header::CONTENT_TYPE, "application/json"),
        fixed(
            http::header::ACCEPT,
            if stream {
                "text/event-stream"
            } else {
                "application/json"
            },
        ),
        fixed(http::header::ACCEPT_ENCODING, "identity"),
    ]
}

/// The credential header for the provider's auth style, carrying the client's own key
/// (zero-config) or else the configured one; none when there is no key or the style sends
/// no header (`none`, and SigV4, which signs the request instead).
pub fn credential(
    provider: &ProviderEndpoint,
    client_key: Option<&str>,
) -> Result<Option<(HeaderName, HeaderValue)>, TranslateError> {
    let key = client_key.unwrap_or(provider.api_key.expose());
    if key.is_empty() {
        return Ok(None);
    }
    match provider.auth {
        AuthStyle::Bearer => {
            secret(http::header::AUTHORIZATION, &format!("Bearer {key}")).map(Some)
        }
        AuthStyle::Header(name) => secret(HeaderName::from_static(name), key).map(Some),
        AuthStyle::AwsSigV4 | AuthStyle::None => Ok(None),
    }
}

/// The headers of a JSON API call: [`json_exchange`], the credential ([`credential`]),
/// then the provider's configured extra headers.
pub fn json_api(
    provider: &ProviderEndpoint,
    call: &Call<'_>,
) -> Result<Vec<(HeaderName, HeaderValue)>, TranslateError> {
    let mut hs = Vec::with_capacity(4 + provider.headers.len());
    hs.extend(json_exchange(call.stream));
    hs.extend(credential(provider, call.client_key)?);
    hs.extend(provider.headers.iter().cloned());
    Ok(hs)
}

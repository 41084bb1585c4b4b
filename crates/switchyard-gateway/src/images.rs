//! Image URLs made inline for providers that cannot fetch them.
//!
//! Some providers (Gemini, Bedrock) accept image bytes but not image URLs. For those the
//! gateway fetches each `http(s)` image URL of a chat request once, over its own pooled
//! connector, and hands the dialect `data:` URLs instead. The fetch is bounded in size
//! (`images.max_bytes`), time (`images.timeout`) and count, follows no redirects, and by
//! default refuses destinations on loopback, private or link-local networks: a client must
//! not be able to make the gateway reach into the network it runs in.

use base64::Engine;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, CONTENT_TYPE};
use http::HeaderValue;
use switchyard_config::Timeouts;
use switchyard_providers::edit::ImageUrls;
use switchyard_providers::{JsonEnvelope, UpstreamRequest};
use tokio::time::Instant;

use crate::error::GatewayError;
use crate::netguard::is_public;
use crate::state::State;
use crate::upstream::UpstreamTarget;

/// Most distinct image URLs fetched for one request.
const MAX_IMAGES: usize = 20;

fn bad(message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param: Some("messages".into()),
    }
}

/// `body` with every remote image URL `found` in it replaced by a `data:` URL fetched here.
/// `provider` names the provider in errors.
pub async fn inline(
    state: &State,
    body: &JsonEnvelope,
    found: ImageUrls,
    provider: &str,
) -> Result<JsonEnvelope, GatewayError> {
    let policy = state.config.images;
    if !policy.enabled {
        return Err(bad(format!(
            "provider {provider} only accepts inline images and this gateway does not fetch image URLs (images.fetch): send the image as a data: URL"
        )));
    }
    if found.urls.len() > MAX_IMAGES {
        return Err(bad(format!(
            "at most {MAX_IMAGES} image URLs per request can be fetched for provider {provider}"
        )));
    }
    let mut fetched: Vec<(String, String)> = Vec::with_capacity(found.urls.len());
    for url in &found.urls {
        let data = fetch(state, url).await?;
        fetched.push((url.clone(), data));
    }
    Ok(found.inline(body, &fetched)?)
}

/// Fetches one image and returns it as a `data:` URL.
async fn fetch(state: &State, url: &str) -> Result<String, GatewayError> {
    let policy = state.config.images;
    let shown: String = url.chars().take(200).collect();
    let fail = |why: String| bad(format!("could not fetch image {shown}: {why}"));
    let uri: http::Uri = url.parse().map_err(|_| fail("not a valid URL".into()))?;
    let tls = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => true,
        Some(s) if s.eq_ignore_ascii_case("http") => false,
        _ => return Err(fail("only http and https URLs can be fetched".into())),
    };
    let host = uri
        .host()
        .ok_or_else(|| fail("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let addr = state
        .upstream
        .resolver()
        .resolve(&host, port)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !policy.allow_private_networks && !is_public(addr.ip()) {
        return Err(fail(
            "the address is on a loopback, private or link-local network, which this gateway does not fetch from (images.allow_private_networks)".into(),
        ));
    }
    let authority = match uri.port_u16() {
        Some(p) => format!("{}:{p}", uri.host().unwrap_or(&host)),
        None => uri.host().unwrap_or(&host).to_owned(),
    };
    let t = policy.timeout;
    let timeouts = Timeouts {
        connect: t,
        first_byte: t,
        idle: t,
        total: t,
    };
    let target = UpstreamTarget::new(
        host,
        port,
        tls,
        authority,
        timeouts,
        false,
        state.default_connector.clone(),
    );
    let req = UpstreamRequest {
        method: "GET",
        path: uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        headers: vec![(ACCEPT, HeaderValue::from_static("image/*"))],
        body: Bytes::new(),
    };
    let deadline = Instant::now() + t;
    let mut ex = state
        .upstream
        .send(&target, &timeouts, &req, deadline)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = ex.status();
    if !(200..300).contains(&status) {
        ex.finish().await;
        return Err(fail(format!(
            "HTTP {status}{}",
            if (300..400).contains(&status) {
                " (redirects are not followed)"
            } else {
                ""
            }
        )));
    }
    let declared = ex
        .header()
        .and_then(|h| h.headers.get(CONTENT_TYPE))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
    let mut buf = BytesMut::new();
    while let Some(chunk) = ex.read_body().await.map_err(|e| fail(e.to_string()))? {
        if buf.len() + chunk.len() > policy.max_bytes {
            ex.finish().await;
            return Err(fail(format!(
                "larger than {} bytes (images.max_bytes)",
                policy.max_bytes
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    ex.finish().await;
    let mime = match declared {
        Some(m) if m.starts_with("image/") => m,
        _ => sniff(&buf)
            .ok_or_else(|| fail("the response is not an image".into()))?
            .to_owned(),
    };
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&buf)
    ))
}

/// The image type from its first bytes.
fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// True for addresses on the public internet.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<html>"), None);
    }
}

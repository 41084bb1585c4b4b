//! Azure OpenAI: OpenAI's body and answers on Azure's deployment URLs.
//!
//! `POST {base}/openai/deployments/{deployment}/{chat/completions|completions|embeddings}
//! ?api-version={api_version}`, where the deployment is the routed model name and the base
//! URL is the resource endpoint (`https://{resource}.openai.azure.com`, which the config must
//! give). Bodies go through OpenAI's passthrough ([`crate::openai`]) unchanged, so Azure's
//! additions (`prompt_filter_results`, `content_filter_results`, `finish_reason:
//! "content_filter"`, a first stream chunk with empty `choices`) reach the client as Azure
//! sent them. The key goes in `api-key` unless the provider says `auth: bearer` (an Entra ID
//! token). Only errors need Azure's own reading: their `code` may be a number as a string,
//! `type` is often null, and some gateways in front of Azure answer `{"statusCode", "message"}`.

use serde::Deserialize;

use crate::dialect::{Call, Dialect, ProviderEndpoint, ResponseTranslator, UpstreamRequest};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::openai::{passthrough_request, passthrough_translator, wants_injected_usage};

/// The `api-version` sent when the provider sets none: the latest GA version of the
/// data-plane inference API (Azure/azure-rest-api-specs,
/// `specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21`).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The first API version that accepts `stream_options` (2024-08-01-preview); earlier ones
/// reject it, so the gateway only asks for stream usage from this version on.
const STREAM_OPTIONS_SINCE: &str = "2024-08-01";

/// The Azure OpenAI dialect.
#[derive(Debug)]
pub struct AzureOpenAi;

impl Dialect for AzureOpenAi {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        match call.endpoint {
            Endpoint::ChatCompletions
            | Endpoint::Completions
            | Endpoint::Embeddings
            | Endpoint::ImagesGenerations
            | Endpoint::AudioSpeech
            | Endpoint::AudioTranscriptions
            | Endpoint::AudioTranslations => {}
            other => {
                return Err(TranslateError::UnsupportedEndpoint {
                    kind: provider.kind.name(),
                    endpoint: other.label(),
                })
            }
        }
        let deployment = call.model;
        if deployment.is_empty()
            || !deployment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(TranslateError::InvalidRequest {
                message: format!(
                    "`{deployment}` is not a valid Azure OpenAI deployment name (letters, digits, `-`, `_`, `.`)"
                ),
                param: Some("model".into()),
            });
        }
        // A base URL given with Azure's `/openai` segment is accepted as well as without.
        let base = provider
            .base_path
            .strip_suffix("/openai")
            .unwrap_or(&provider.base_path);
        let version = api_version(provider);
        let path = format!(
            "{base}/openai/deployments/{deployment}{}?api-version={version}",
            call.endpoint.suffix()
        );
        passthrough_request(provider, call, path, injects_usage(provider, call))
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        passthrough_translator(call, injects_usage(provider, call))
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        error_body(status, body, &provider.name)
    }
}

fn api_version(provider: &ProviderEndpoint) -> &str {
    provider
        .options
        .api_version
        .as_deref()
        .unwrap_or(DEFAULT_API_VERSION)
}

/// Whether the gateway adds `stream_options.include_usage`: as for OpenAI, but only for chat
/// completions (the field Azure documents) and on API versions that know it (date-named
/// versions compare as strings).
fn injects_usage(provider: &ProviderEndpoint, call: &Call<'_>) -> bool {
    if call.endpoint != Endpoint::ChatCompletions {
        return false;
    }
    let version = api_version(provider);
    let dated = version.len() >= 10 && version.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    (!dated || version[..10] >= *STREAM_OPTIONS_SINCE) && wants_injected_usage(provider, call)
}

/// An Azure error body as an OpenAI error: `{"error":{"code","message","type"?,"param"?,
/// "innererror"?}}` (content filter, DeploymentNotFound, `"code":"429"`…) or
/// `{"statusCode","message"}` from Azure's API management layer.
pub fn error_body(status: u16, body: &[u8], provider: &str) -> ErrorBody {
    if let Some(mut e) = ErrorBody::from_openai_json(body).filter(|e| !e.message.is_empty()) {
        if e.kind == "upstream_error" {
            // Azure leaves `type` out or null: name it from the status like OpenAI would.
            e.kind = ErrorBody::kind_for_status(status).to_owned();
        }
        if e.code.is_none() {
            e.code = inner_code(body);
        }
        return e.with_provider(provider);
    }
    #[derive(Deserialize)]
    struct Apim {
        message: String,
    }
    if let Ok(a) = serde_json::from_slice::<Apim>(body) {
        return ErrorBody::new(a.message, ErrorBody::kind_for_status(status), None)
            .with_provider(provider);
    }
    ErrorBody::from_provider(status, body, provider)
}

/// `error.innererror.code` (or the spec's `inner_error`), when `error.code` is missing.
fn inner_code(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Wire {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(alias = "inner_error")]
        innererror: Option<Code>,
    }
    #[derive(Deserialize)]
    struct Code {
        code: Option<String>,
    }
    serde_json::from_slice::<Wire>(body)
        .ok()?
        .error
        .innererror?
        .code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Verdict;
    use crate::envelope::JsonEnvelope;
    use crate::kind::{AuthStyle, ProviderKind};
    use crate::secret::Secret;
    use bytes::Bytes;
    use std::time::SystemTime;

    fn provider(auth: AuthStyle, version: Option<&str>) -> ProviderEndpoint {
        ProviderEndpoint {
            name: "azure-east".into(),
            kind: ProviderKind::AzureOpenAi,
            authority: "res.openai.azure.com".into(),
            base_path: String::new(),
            api_key: Secret::new("az-key"),
            headers: vec![],
            stream_usage: true,
            auth,
            options: crate::dialect::ProviderOptions {
                api_version: version.map(str::to_owned),
                ..Default::default()
            },
        }
    }

    fn call<'a>(endpoint: Endpoint, body: &'a JsonEnvelope, stream: bool) -> Call<'a> {
        Call {
            form: None,
            endpoint,
            body,
            model: "gpt4o-prod",
            stream,
            client_key: None,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    fn env(s: &str) -> JsonEnvelope {
        JsonEnvelope::parse(Bytes::copy_from_slice(s.as_bytes())).unwrap()
    }

    fn header<'a>(req: &'a UpstreamRequest, name: &str) -> Option<&'a str> {
        req.headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .and_then(|(_, v)| v.to_str().ok())
    }

    #[test]
    fn deployment_urls_carry_the_api_version_and_the_key_header() {
        let body = env(r#"{"model":"fast","messages":[{"role":"user","content":"hi"}]}"#);
        let p = provider(AuthStyle::Header("api-key"), None);
        let req = AzureOpenAi
            .build_request(&p, &call(Endpoint::ChatCompletions, &body, false))
            .unwrap();
        assert_eq!(
            req.path,
            "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(header(&req, "api-key"), Some("az-key"));
        assert_eq!(header(&req, "authorization"), None);
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v["model"], "gpt4o-prod");

        let mut p = provider(AuthStyle::Bearer, Some("2024-06-01"));
        p.base_path = "/openai".into();
        let req = AzureOpenAi
            .build_request(&p, &call(Endpoint::Embeddings, &body, false))
            .unwrap();
        assert_eq!(
            req.path,
            "/openai/deployments/gpt4o-prod/embeddings?api-version=2024-06-01"
        );
        assert_eq!(header(&req, "authorization"), Some("Bearer az-key"));
        assert_eq!(header(&req, "api-key"), None);
    }

    #[test]
    fn stream_usage_is_only_requested_from_versions_that_accept_it() {
        let body = env(r#"{"model":"m","stream":true,"messages":[]}"#);
        for (version, injected) in [
            (None, true),
            (Some("2024-08-01-preview"), true),
            (Some("2025-04-01-preview"), true),
            (Some("2024-06-01"), false),
            (Some("2024-02-15-preview"), false),
        ] {
            let p = provider(AuthStyle::Header("api-key"), version);
            let req = AzureOpenAi
                .build_request(&p, &call(Endpoint::ChatCompletions, &body, true))
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(
                v.pointer("/stream_options/include_usage") == Some(&serde_json::Value::Bool(true)),
                injected,
                "{version:?}"
            );
        }
        let p = provider(AuthStyle::Header("api-key"), None);
        let req = AzureOpenAi
            .build_request(&p, &call(Endpoint::Completions, &body, true))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        assert!(
            v.get("stream_options").is_none(),
            "only chat streams get it"
        );
    }

    #[test]
    fn models_and_bad_deployment_names_are_refused() {
        let body = env(r#"{"model":"m"}"#);
        let p = provider(AuthStyle::Header("api-key"), None);
        let e = AzureOpenAi
            .build_request(&p, &call(Endpoint::Models, &body, false))
            .unwrap_err();
        assert!(matches!(e, TranslateError::UnsupportedEndpoint { .. }));
        let mut c = call(Endpoint::ChatCompletions, &body, false);
        c.model = "a/../b";
        let e = AzureOpenAi.build_request(&p, &c).unwrap_err();
        assert!(e.to_string().contains("deployment name"));
    }

    #[test]
    fn the_first_chunk_with_only_prompt_filter_results_keeps_usage_and_verdict_right() {
        let p = provider(AuthStyle::Header("api-key"), None);
        let body = env(r#"{"model":"m","stream":true,"messages":[]}"#);
        let mut t =
            AzureOpenAi.response_translator(&p, &call(Endpoint::ChatCompletions, &body, true));
        let input = include_str!("../tests/fixtures/azure-openai/stream_prompt_filter.sse");
        let mut out = Vec::new();
        t.push(Bytes::from_static(input.as_bytes()), &mut out)
            .unwrap();
        t.finish(&mut out).unwrap();
        assert_eq!(t.verdict(), Verdict::Healthy);
        assert_eq!(t.usage().unwrap().total_tokens, 19);
        let text = String::from_utf8(out.concat()).unwrap();
        // The gateway asked for the usage chunk; the client did not: it is withheld, while the
        // prompt filter chunk and Azure's per-choice filter results pass through.
        assert!(text.starts_with("data: {\"choices\":[],\"created\":0"));
        assert!(text.contains("\"content_filter_results\""));
        assert!(!text.contains("\"total_tokens\""));
        assert!(text.ends_with("data: [DONE]\n\n"));
    }

    #[test]
    fn azure_error_bodies_become_openai_errors() {
        let cf = include_bytes!("../tests/fixtures/azure-openai/error_content_filter.json");
        let e = error_body(400, cf, "az");
        assert_eq!(e.code.as_deref(), Some("content_filter"));
        assert_eq!(e.kind, "invalid_request_error");
        assert_eq!(e.param.as_deref(), Some("prompt"));
        assert!(e.message.starts_with("The response was filtered"));
        assert_eq!(e.provider.as_deref(), Some("az"));

        let nf = include_bytes!("../tests/fixtures/azure-openai/error_deployment_not_found.json");
        let e = error_body(404, nf, "az");
        assert_eq!(e.code.as_deref(), Some("DeploymentNotFound"));
        assert_eq!(e.kind, "invalid_request_error");

        let rl = br#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}"#;
        let e = error_body(429, rl, "az");
        assert_eq!(
            (e.kind.as_str(), e.code.as_deref()),
            ("rate_limit_error", Some("429"))
        );

        let apim = br#"{ "statusCode": 401, "message": "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired." }"#;
        let e = error_body(401, apim, "az");
        assert_eq!(e.kind, "authentication_error");
        assert!(e.message.starts_with("Unauthorized."));

        let inner = br#"{"error":{"message":"filtered","inner_error":{"code":"ResponsibleAIPolicyViolation"}}}"#;
        assert_eq!(
            error_body(400, inner, "az").code.as_deref(),
            Some("ResponsibleAIPolicyViolation")
        );
        assert!(error_body(502, b"<html>", "az")
            .message
            .contains("HTTP 502"));
    }
}

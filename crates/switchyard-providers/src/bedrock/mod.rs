//! AWS Bedrock's Converse API (`POST /model/{modelId}/converse`) and ConverseStream
//! (`POST /model/{modelId}/converse-stream`, answered in the AWS event-stream binary framing),
//! translated to and from OpenAI Chat Completions; `/v1/embeddings` goes to InvokeModel in
//! the Titan Text Embeddings format (`embeddings`).
//!
//! Requests are signed with SigV4 (service `bedrock`, the provider's `region` and `aws_*`
//! credentials) or, when the provider's `auth` is `bearer`, sent with a Bedrock API key.
//! The model id is one URL path segment: every byte outside `A-Za-z0-9-_.~` is
//! percent-encoded (so `:` in `…-v1:0` and `/` in ARNs become `%3A` and `%2F`), as AWS's SDKs
//! do; the signature then encodes that path once more.
//!
//! Refused with a 400 naming the parameter (Converse has no equivalent): `n` other than 1,
//! `seed`, `presence_penalty`, `frequency_penalty`, `reasoning_effort`, `logit_bias` and any
//! other unknown field, `response_format` other than `text`, `parallel_tool_calls: false`,
//! `strict: true` tools, audio and file parts, image URLs that are not `data:` URLs (the
//! dialect asks the gateway to inline them), and `tool_choice: "none"` in a conversation that
//! already holds tool calls (Converse needs `toolConfig` whenever tool blocks are present and
//! has no "none" choice; without tool history `none` simply sends no tools).
//!
//! Layout: the Converse request body (`request`), whole Converse answers (`response`),
//! ConverseStream answers (`stream`) over the event-stream framing (`eventstream`), Titan
//! embeddings (`embeddings`); signing is [`crate::sigv4`].

pub mod embeddings;
pub mod eventstream;
mod request;
mod response;
mod stream;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::HeaderName;
use serde::Deserialize;

use crate::canonical::{ChatRequest, ChunkWriter};
use crate::dialect::{Call, Dialect, ProviderEndpoint, ResponseTranslator, UpstreamRequest};
use crate::endpoint::Endpoint;
use crate::error::{ErrorBody, TranslateError};
use crate::headers;
use crate::kind::AuthStyle;
use crate::sigv4;
use crate::translator::{Buffered, Streamed};

use self::response::ConverseAnswer;
use self::stream::StreamTranslator;

pub use self::request::converse_body;
pub use self::response::{finish_reason, translate_response};

/// The Bedrock dialect.
#[derive(Debug)]
pub struct Bedrock;

/// The SigV4 signing name of the Bedrock runtime.
pub const SERVICE: &str = "bedrock";

/// The content type of ConverseStream answers.
pub const EVENT_STREAM: &str = "application/vnd.amazon.eventstream";

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Dialect for Bedrock {
    fn build_request(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Result<UpstreamRequest, TranslateError> {
        let (body, action, accept) = match call.endpoint {
            Endpoint::ChatCompletions => {
                let req = ChatRequest::from_envelope(call.body)?;
                let (action, accept) = if call.stream {
                    ("converse-stream", EVENT_STREAM)
                } else {
                    ("converse", "application/json")
                };
                (converse_body(&req, provider)?, action, accept)
            }
            Endpoint::Embeddings => (
                embeddings::titan_body(call.body, &provider.name)?,
                "invoke",
                "application/json",
            ),
            other => {
                return Err(TranslateError::InvalidRequest {
                    message: format!(
                        "endpoint {} is not supported by provider {} (bedrock serves chat completions and embeddings)",
                        other.label(),
                        provider.name
                    ),
                    param: None,
                })
            }
        };
        let body = Bytes::from(serde_json::to_vec(&body).map_err(|e| {
            TranslateError::BadResponse(format!("could not encode the request: {e}"))
        })?);
        let path = format!(
            "{}/model/{}/{action}",
            provider.base_path,
            sigv4::uri_encode(call.model, true)
        );
        let mut hs = Vec::with_capacity(5 + provider.headers.len());
        hs.push(headers::fixed(CONTENT_TYPE, "application/json"));
        hs.push(headers::fixed(ACCEPT, accept));
        match provider.auth {
            AuthStyle::AwsSigV4 => {
                let (aws, region) = match (&provider.options.aws, &provider.options.region) {
                    (Some(a), Some(r)) => (a, r),
                    _ => {
                        return Err(TranslateError::InvalidRequest {
                            message: format!(
                                "provider {} signs with SigV4 but has no `region` and AWS credentials configured",
                                provider.name
                            ),
                            param: None,
                        })
                    }
                };
                let params = sigv4::SigningParams {
                    access_key_id: aws.access_key_id.expose(),
                    secret_access_key: aws.secret_access_key.expose(),
                    session_token: aws.session_token.as_ref().map(|t| t.expose()),
                    region,
                    service: SERVICE,
                    time: call.now,
                };
                let signed = sigv4::sign(
                    "POST",
                    &path,
                    "",
                    &[
                        ("content-type", "application/json"),
                        ("host", &provider.authority),
                    ],
                    &body,
                    &params,
                );
                hs.push(headers::secret(
                    HeaderName::from_static("x-amz-date"),
                    &signed.amz_date,
                )?);
                if let Some(token) = params.session_token {
                    hs.push(headers::secret(
                        HeaderName::from_static("x-amz-security-token"),
                        token,
                    )?);
                }
                hs.push(headers::secret(AUTHORIZATION, &signed.authorization)?);
            }
            // A Bedrock API key (`bearer`) or a named header; nothing for `none`.
            _ => hs.extend(headers::credential(provider, call.client_key)?),
        }
        hs.extend(provider.headers.iter().cloned());
        Ok(UpstreamRequest {
            method: "POST",
            path,
            headers: hs,
            body,
        })
    }

    fn response_translator(
        &self,
        provider: &ProviderEndpoint,
        call: &Call<'_>,
    ) -> Box<dyn ResponseTranslator> {
        let created = call.created();
        let id = format!(
            "chatcmpl-bedrock-{created:x}{:06x}",
            SEQ.fetch_add(1, Ordering::Relaxed) & 0xff_ffff
        );
        if call.endpoint == Endpoint::Embeddings {
            Buffered::boxed(embeddings::TitanAnswer::new(call.model))
        } else if call.stream {
            Streamed::boxed(StreamTranslator::new(
                &provider.name,
                ChunkWriter::new(id, call.model, created, call.include_usage()),
            ))
        } else {
            Buffered::boxed(ConverseAnswer {
                id,
                model: call.model.to_owned(),
                created,
            })
        }
    }

    fn needs_inline_images(&self) -> bool {
        true
    }

    fn error_body(&self, provider: &ProviderEndpoint, status: u16, body: &[u8]) -> ErrorBody {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default, alias = "Message")]
            message: Option<String>,
            #[serde(default, rename = "__type")]
            kind: Option<String>,
        }
        match serde_json::from_slice::<Wire>(body) {
            Ok(Wire {
                message: Some(message),
                kind,
            }) => {
                // The exception name travels in the `x-amzn-errortype` header, which this
                // hook does not see; the status names it unambiguously for most errors.
                let code = kind
                    .as_deref()
                    .map(|k| k.rsplit('#').next().unwrap_or(k).to_owned())
                    .or_else(|| exception_for_status(status).map(str::to_owned));
                ErrorBody::new(message, ErrorBody::kind_for_status(status), code.as_deref())
                    .with_provider(&provider.name)
            }
            _ => ErrorBody::from_provider(status, body, &provider.name),
        }
    }
}

/// The exception Bedrock answers with for a status, where only one fits.
fn exception_for_status(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "ValidationException",
        404 => "ResourceNotFoundException",
        408 => "ModelTimeoutException",
        424 => "ModelErrorException",
        429 => "ThrottlingException",
        500 => "InternalServerException",
        503 => "ServiceUnavailableException",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;

//! Azure OpenAI's wire format: OpenAI's bodies on
//! `/openai/deployments/{deployment}/{chat/completions|completions|embeddings|images/generations|audio/…}?api-version=…`,
//! with Azure's key header (`api-key`, or `Authorization: Bearer` for Entra ID tokens), its
//! error shape (`{"error":{"code","message"}}`, codes like `DeploymentNotFound`, `"429"`,
//! `content_filter`) and its content-filter annotations: `prompt_filter_results` and
//! per-choice `content_filter_results` in answers, and a first stream chunk with empty
//! `choices` carrying only the prompt filter results.
//!
//! Deployments whose name starts with `missing` do not exist (404 DeploymentNotFound).

use bytes::Bytes;
use serde_json::{json, Value};

use switchyard_providers::Form;

use crate::openai::{chat, completions, embeddings, images, raw_body, speech, transcription};
use crate::script::Behaviour;
use crate::wire::Reply;
use crate::{Incoming, MockOptions};

/// Azure OpenAI's format, recognised by its `/openai/` path prefix.
pub const DIALECT: crate::Dialect = crate::Dialect {
    name: "azure-openai",
    matches: |req| req.path.starts_with("/openai/"),
    handle,
};

/// An Azure error body.
fn error(status: u16, code: &str, message: &str) -> Reply {
    let body = json!({"error": {"code": code, "message": message}});
    Reply::json(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn not_found_deployment() -> Reply {
    error(
        404,
        "DeploymentNotFound",
        "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
    )
}

fn filter_results() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

fn scripted_error(status: u16, version: &str) -> Reply {
    match status {
        429 => error(
            429,
            "429",
            &format!("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {version} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit. (mock)"),
        ),
        400 => {
            let body = json!({"error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
                "type": null, "param": "prompt", "code": "content_filter", "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
                    "hate": {"filtered": false, "severity": "safe"}, "self_harm": {"filtered": false, "severity": "safe"},
                    "sexual": {"filtered": false, "severity": "safe"}, "violence": {"filtered": true, "severity": "medium"}}}}});
            Reply::json(400, serde_json::to_vec(&body).unwrap_or_default())
        }
        401 => error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."),
        404 => not_found_deployment(),
        _ => error(
            status,
            "InternalServerError",
            "The server had an error while processing your request. Sorry about that! (mock)",
        ),
    }
}

/// Handles one Azure OpenAI request.
pub fn handle(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let reply = route(req, b, opts);
    let extra = b.headers.iter().map(|(k, v)| (k.clone(), v.clone()));
    reply.with_headers(
        [("apim-request-id".to_owned(), format!("mock-{}", req.seq))]
            .into_iter()
            .chain(extra),
    )
}

fn route(req: &Incoming, b: &Behaviour, opts: &MockOptions) -> Reply {
    let rest = req.path.strip_prefix("/openai/deployments/").unwrap_or("");
    let Some((deployment, operation)) = rest.split_once('/') else {
        return not_found_deployment();
    };
    if !matches!(
        operation,
        "chat/completions"
            | "completions"
            | "embeddings"
            | "images/generations"
            | "audio/speech"
            | "audio/transcriptions"
            | "audio/translations"
    ) || deployment.is_empty()
    {
        return not_found_deployment();
    }
    if req.method != "POST" {
        return error(405, "405", "Method Not Allowed");
    }
    let version = req
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))
        .unwrap_or("");
    if version.is_empty() {
        return error(
            404,
            "404",
            "Resource not found (the api-version query parameter is required)",
        );
    }
    if let Some(r) = check_auth(req, opts) {
        return r;
    }
    if deployment.starts_with("missing") {
        return not_found_deployment();
    }
    if operation.starts_with("audio/trans") {
        // Multipart uploads: the deployment names the model.
        return match Form::parse(
            req.header("content-type").unwrap_or_default(),
            req.body.clone(),
        ) {
            Ok(form) => {
                let fields =
                    serde_json::from_slice(form.fields_envelope().raw()).unwrap_or_default();
                transcription(
                    &form,
                    &fields,
                    deployment,
                    operation.ends_with("translations"),
                )
            }
            Err(e) => error(
                400,
                "BadRequest",
                &format!("Could not parse multipart form: {e}"),
            ),
        };
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                400,
                "BadRequest",
                "Failed to parse the request body as JSON.",
            )
        }
    };
    if body.get("stream_options").is_some() && version < "2024-08-01" {
        return error(
            400,
            "BadRequest",
            &format!(
                "Unrecognized request argument supplied: stream_options (api-version {version})"
            ),
        );
    }
    if let Some(status) = b.status.filter(|s| !(200..300).contains(s)) {
        return match &b.body {
            Some(v) => Reply::json(status, raw_body(v)),
            None => scripted_error(status, version),
        };
    }
    if let Some(v) = &b.body {
        return Reply::json(b.status.unwrap_or(200), raw_body(v));
    }
    // Azure answers with the model behind the deployment, not the deployment's name.
    let model = "gpt-4o-2024-08-06";
    match operation {
        "chat/completions" => annotate(chat(&body, model, b, opts), b),
        "completions" => annotate(completions(&body, model, b, opts), b),
        "images/generations" => images(&body, deployment),
        "audio/speech" => speech(&body, deployment),
        _ => embeddings(&body, model, opts),
    }
}

fn check_auth(req: &Incoming, opts: &MockOptions) -> Option<Reply> {
    let want = opts.api_key.as_deref()?;
    let given = req.header("api-key").or_else(|| {
        req.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
    });
    match given {
        None => Some(error(
            401,
            "401",
            "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.",
        )),
        Some(k) if k == want => None,
        Some(_) => Some(scripted_error(401, "")),
    }
}

/// Adds Azure's content filter annotations to an OpenAI answer.
fn annotate(reply: Reply, b: &Behaviour) -> Reply {
    let prompt_filter = json!([{"prompt_index": 0, "content_filter_results": filter_results()}]);
    match reply {
        Reply::Body {
            status: 200,
            content_type,
            body,
            headers,
            cut,
        } if !b.malformed => {
            let Ok(mut v) = serde_json::from_slice::<Value>(&body) else {
                return Reply::Body {
                    status: 200,
                    content_type,
                    body,
                    headers,
                    cut,
                };
            };
            v["prompt_filter_results"] = prompt_filter;
            if let Some(choices) = v.get_mut("choices").and_then(Value::as_array_mut) {
                for c in choices {
                    c["content_filter_results"] = filter_results();
                }
            }
            Reply::Body {
                status: 200,
                content_type,
                body: serde_json::to_vec(&v).unwrap_or_default(),
                headers,
                cut,
            }
        }
        Reply::Stream {
            status,
            content_type,
            mut pieces,
            delay,
            reset_after,
            headers,
        } if b.error_event.is_none() => {
            let first = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                               "prompt_filter_results": prompt_filter});
            pieces.insert(
                0,
                Bytes::from(format!(
                    "data: {}\n\n",
                    serde_json::to_string(&first).unwrap_or_default()
                )),
            );
            Reply::Stream {
                status,
                content_type,
                pieces,
                delay,
                reset_after,
                headers,
            }
        }
        other => other,
    }
}

//! Portkey's webhook guardrail (`default.webhook`) and log sink (`default.log`): the JSON
//! the gateway POSTs, and how the answer becomes a check result. Pure build and parse; the
//! HTTP call (with [`WebhookRequest::timeout`]) is the gateway's.
//!
//! The request body, as Portkey sends it (field names from `plugins/default/webhook.ts` and
//! the hook span context in `src/middlewares/hooks/index.ts`):
//!
//! ```json
//! {"request": {"json": {…}, "text": "…", "isStreamingRequest": false, "isTransformed": false},
//!  "response": {"json": {…}, "text": "…", "statusCode": 200, "isTransformed": false},
//!  "provider": "openai", "requestType": "chatComplete", "metadata": {…},
//!  "eventType": "beforeRequestHook"}
//! ```
//!
//! Before the request, `response` is `{"json": {}, "text": "", "statusCode": null, …}`.
//! Request headers are never sent (Portkey drops them too). `default.log` posts the same
//! body without `eventType`.
//!
//! The answer: `{"verdict": bool, "transformedData": {"request": {"json": {…}}} | {"response":
//! {"json": {…}}}, "data": any}`. A replacement body is taken only for the hook's own side
//! (request before, response after), as Portkey does. A non-2xx status, a timeout or a body
//! without a boolean `verdict` is an error: the check does not fail its guardrail unless it
//! has `failOnError` (Portkey's "default verdict: true" on timeouts).

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::checks::Check;
use crate::input::HookEvent;
use crate::params::Params;
use crate::verdict::{CheckResult, Outcome};
use crate::ConfigError;

/// Portkey's default webhook timeout, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u64 = 3000;

/// A configured `default.webhook` or `default.log`.
#[derive(Clone, Debug)]
pub struct WebhookCheck {
    url: String,
    headers: Vec<(String, String)>,
    timeout_ms: u64,
    log: bool,
}

impl WebhookCheck {
    pub(crate) fn build(p: &mut Params<'_>, log: bool) -> Result<Self, ConfigError> {
        let url = p.str(if log { "logURL" } else { "webhookURL" })?.to_owned();
        if !plausible_url(&url) {
            return Err(p.error(format!(
                "`{}` must be an http:// or https:// URL",
                if log { "logURL" } else { "webhookURL" }
            )));
        }
        let headers = match p.value("headers") {
            None => Vec::new(),
            Some(Value::Object(m)) => string_map(p, m)?,
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => string_map(p, &m)?,
                _ => return Err(p.error("`headers` must be a JSON object of strings")),
            },
            Some(_) => return Err(p.error("`headers` must be a JSON object of strings")),
        };
        let timeout_ms = p.opt_u64("timeout")?.unwrap_or(DEFAULT_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(p.error("`timeout` must be at least 1 (milliseconds)"));
        }
        Ok(Self {
            url,
            headers,
            timeout_ms,
            log,
        })
    }

    /// True for `default.log`: the answer's verdict is ignored, a delivered log passes.
    pub fn is_log(&self) -> bool {
        self.log
    }

    /// The request to send for `event`, given what the hook knows.
    pub fn request(&self, ctx: &WebhookContext<'_>, event: HookEvent) -> WebhookRequest<'_> {
        WebhookRequest {
            url: &self.url,
            headers: &self.headers,
            timeout: Duration::from_millis(self.timeout_ms),
            body: request_body(ctx, (!self.log).then_some(event)),
        }
    }

    /// The URL without its query and fragment (which may carry credentials), for results.
    fn shown_url(&self) -> &str {
        let end = self.url.find(['?', '#']).unwrap_or(self.url.len());
        &self.url[..end]
    }

    fn outcome(
        &self,
        answer: &WebhookAnswer<'_>,
        event: HookEvent,
    ) -> (Outcome, Option<Box<RawValue>>) {
        let context = serde_json::json!({ "timeout": self.timeout_ms });
        let fail = |message: String, response: Option<Value>| {
            let mut o = Outcome::error(message.clone())
                .with("webhookUrl", self.shown_url())
                .with("requestContext", context.clone());
            o.explanation = if self.log {
                format!("Log error: {message}")
            } else {
                format!("Webhook error: {message}")
            };
            if let Some(r) = response {
                o = o.with("responseData", r);
            }
            (o, None)
        };
        let (status, body) = match answer {
            WebhookAnswer::TimedOut => {
                return fail(
                    format!("Request timed out after {}ms", self.timeout_ms),
                    None,
                )
            }
            WebhookAnswer::Failed(why) => return fail((*why).to_owned(), None),
            WebhookAnswer::Response { status, body } => (*status, *body),
        };
        if !(200..300).contains(&status) {
            return fail(
                format!("HTTP error! status: {status}"),
                serde_json::from_slice::<Value>(body).ok(),
            );
        }
        if self.log {
            let o = Outcome::verdict(true, format!("Logged the request to {}", self.shown_url()));
            return (o, None);
        }
        let parsed: Answer<'_> = match serde_json::from_slice(body) {
            Ok(a) => a,
            Err(e) => {
                return fail(
                    format!(
                        "the webhook's answer is not a JSON object with a boolean `verdict` ({e})"
                    ),
                    None,
                )
            }
        };
        let replaced = parsed.transformed_data.and_then(|t| {
            let side = match event {
                HookEvent::BeforeRequest => t.request,
                HookEvent::AfterRequest => t.response,
            }?;
            side.json
                .filter(|j| j.get().starts_with('{'))
                .map(|j| j.to_owned())
        });
        let verdict = parsed.verdict;
        let mut o = Outcome::verdict(
            verdict,
            if verdict {
                "Webhook request succeeded"
            } else {
                "Webhook request failed"
            },
        )
        .with("verdict", verdict)
        .with("webhookUrl", self.shown_url())
        .with("requestContext", context);
        if let Some(data) = parsed.data {
            o = o.with("responseData", data);
        }
        (o, replaced)
    }
}

impl Check {
    /// The result of this webhook check from the gateway's call. For a check that is not a
    /// webhook, an error result.
    pub fn webhook_result(&self, answer: WebhookAnswer<'_>, event: HookEvent) -> CheckResult {
        let Some(w) = self.webhook() else {
            return self.result(Outcome::error("not a webhook check"));
        };
        let (outcome, replaced) = w.outcome(&answer, event);
        let mut r = self.result(outcome);
        r.replaced_body = replaced;
        r
    }
}

fn plausible_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host_end = r.find(['/', '?', '#']).unwrap_or(r.len());
        host_end > 0 && !r.contains(char::is_whitespace)
    })
}

fn string_map(
    p: &Params<'_>,
    m: &Map<String, Value>,
) -> Result<Vec<(String, String)>, ConfigError> {
    m.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            _ => Err(p.error(format!("header `{k}` must be a string"))),
        })
        .collect()
}

/// What the hook knows when a webhook runs.
#[derive(Clone, Copy, Debug)]
pub struct WebhookContext<'a> {
    /// The request body (OpenAI format).
    pub request_json: &'a RawValue,
    /// The request's text (Portkey: the last message).
    pub request_text: &'a str,
    /// Whether the client asked for a stream.
    pub is_streaming: bool,
    /// Whether an earlier hook rewrote the request.
    pub request_transformed: bool,
    /// The response body, after the request; `None` before it.
    pub response_json: Option<&'a RawValue>,
    /// The response's text (choice 0), after the request.
    pub response_text: &'a str,
    /// The provider's status, after the request.
    pub response_status: Option<u16>,
    /// Whether an earlier hook rewrote the response.
    pub response_transformed: bool,
    /// The provider kind (`openai`, `anthropic`…).
    pub provider: &'a str,
    /// Portkey's request type (`chatComplete`, `complete`, `embed`).
    pub request_type: &'a str,
    /// The request's metadata.
    pub metadata: Option<&'a Map<String, Value>>,
}

/// What to send.
#[derive(Clone, Debug)]
pub struct WebhookRequest<'c> {
    /// Where to POST.
    pub url: &'c str,
    /// Headers from the check's config; send `content-type: application/json` besides.
    pub headers: &'c [(String, String)],
    /// Give up after this long (then report [`WebhookAnswer::TimedOut`]).
    pub timeout: Duration,
    /// The JSON body.
    pub body: Bytes,
}

/// How the call went.
#[derive(Clone, Copy, Debug)]
pub enum WebhookAnswer<'b> {
    /// An HTTP answer arrived.
    Response {
        /// Its status.
        status: u16,
        /// Its body.
        body: &'b [u8],
    },
    /// No answer within the timeout.
    TimedOut,
    /// No answer: the connection failed (the reason, for the result).
    Failed(&'b str),
}

#[derive(Serialize)]
struct Body<'a> {
    request: RequestPart<'a>,
    response: ResponsePart<'a>,
    provider: &'a str,
    #[serde(rename = "requestType")]
    request_type: &'a str,
    metadata: Metadata<'a>,
    #[serde(rename = "eventType", skip_serializing_if = "Option::is_none")]
    event_type: Option<&'static str>,
}

#[derive(Serialize)]
struct RequestPart<'a> {
    json: &'a RawValue,
    text: &'a str,
    #[serde(rename = "isStreamingRequest")]
    is_streaming: bool,
    #[serde(rename = "isTransformed")]
    transformed: bool,
}

#[derive(Serialize)]
struct ResponsePart<'a> {
    json: JsonOrEmpty<'a>,
    text: &'a str,
    #[serde(rename = "statusCode")]
    status: Option<u16>,
    #[serde(rename = "isTransformed")]
    transformed: bool,
}

/// Raw JSON, or `{}` when absent (Portkey's empty response before the request).
struct JsonOrEmpty<'a>(Option<&'a RawValue>);

impl Serialize for JsonOrEmpty<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(raw) => raw.serialize(s),
            None => Map::new().serialize(s),
        }
    }
}

struct Metadata<'a>(Option<&'a Map<String, Value>>);

impl Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(m) => m.serialize(s),
            None => Map::new().serialize(s),
        }
    }
}

/// The body Portkey's webhook receives (see the module docs); without `eventType` when
/// `event` is `None` (`default.log`).
pub fn request_body(ctx: &WebhookContext<'_>, event: Option<HookEvent>) -> Bytes {
    let body = Body {
        request: RequestPart {
            json: ctx.request_json,
            text: ctx.request_text,
            is_streaming: ctx.is_streaming,
            transformed: ctx.request_transformed,
        },
        response: ResponsePart {
            json: JsonOrEmpty(ctx.response_json),
            text: ctx.response_text,
            status: ctx.response_status,
            transformed: ctx.response_transformed,
        },
        provider: ctx.provider,
        request_type: ctx.request_type,
        metadata: Metadata(ctx.metadata),
        event_type: event.map(HookEvent::as_str),
    };
    // Serializing borrowed strings, raw JSON and a map into a Vec cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[derive(serde::Deserialize)]
struct Answer<'a> {
    verdict: bool,
    #[serde(rename = "transformedData", default, borrow)]
    transformed_data: Option<Transformed<'a>>,
    #[serde(default)]
    data: Option<Value>,
}

#[derive(serde::Deserialize)]
struct Transformed<'a> {
    #[serde(default, borrow)]
    request: Option<Side<'a>>,
    #[serde(default, borrow)]
    response: Option<Side<'a>>,
}

#[derive(serde::Deserialize)]
struct Side<'a> {
    #[serde(default, borrow)]
    json: Option<&'a RawValue>,
}

//! The webhook protocol against Portkey's documented examples (fixtures/portkey/SOURCES.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::value::RawValue;
use serde_json::{json, Value};
use switchyard_guardrails::portkey::parse_config;
use switchyard_guardrails::webhook::{WebhookAnswer, WebhookContext};
use switchyard_guardrails::{CheckInput, HookEvent};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/portkey/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hook_with(params: Value, event_key: &str) -> switchyard_guardrails::portkey::Hooks {
    let config = json!({ event_key: [{"id": "hooked", "checks": [{"id": "default.webhook", "parameters": params}]}] });
    parse_config(&config, &serde_json::Map::new()).unwrap()
}

/// The request and response of the docs' examples, and the context the gateway would pass.
struct Example {
    documented: Value,
    request: Box<RawValue>,
    response: Box<RawValue>,
    metadata: serde_json::Map<String, Value>,
}

fn example(name: &str) -> Example {
    let documented: Value = serde_json::from_str(&fixture(name)).unwrap();
    Example {
        request: RawValue::from_string(documented["request"]["json"].to_string()).unwrap(),
        response: RawValue::from_string(documented["response"]["json"].to_string()).unwrap(),
        metadata: documented["metadata"].as_object().cloned().unwrap(),
        documented,
    }
}

#[test]
fn before_request_body_matches_portkeys_example() {
    let ex = example("webhook-before.json");
    let hooks = hook_with(
        json!({"webhookURL": "https://guard.example/check?token=abc", "headers": {"Authorization": "Bearer x"}, "timeout": 1500}),
        "before_request_hooks",
    );
    let check = &hooks.before[0].checks[0];
    let w = check.webhook().unwrap();
    let ctx = WebhookContext {
        request_json: &ex.request,
        request_text: "Say Hi",
        is_streaming: false,
        request_transformed: false,
        response_json: None,
        response_text: "",
        response_status: None,
        response_transformed: false,
        provider: "openai",
        request_type: "chatComplete",
        metadata: Some(&ex.metadata),
    };
    let req = w.request(&ctx, HookEvent::BeforeRequest);
    assert_eq!(req.url, "https://guard.example/check?token=abc");
    assert_eq!(
        req.headers,
        [("Authorization".to_owned(), "Bearer x".to_owned())]
    );
    assert_eq!(req.timeout.as_millis(), 1500);
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(sent, ex.documented);
}

#[test]
fn after_request_body_matches_portkeys_example() {
    let ex = example("webhook-after.json");
    let hooks = hook_with(
        json!({"webhookURL": "https://guard.example/check"}),
        "after_request_hooks",
    );
    let w = hooks.after[0].checks[0].webhook().unwrap();
    let ctx = WebhookContext {
        request_json: &ex.request,
        request_text: "Say Hi",
        is_streaming: false,
        request_transformed: false,
        response_json: Some(&ex.response),
        response_text: "Hi! How can I assist you today?",
        response_status: Some(200),
        response_transformed: false,
        provider: "openai",
        request_type: "chatComplete",
        metadata: Some(&ex.metadata),
    };
    let sent: Value =
        serde_json::from_slice(&w.request(&ctx, HookEvent::AfterRequest).body).unwrap();
    assert_eq!(sent, ex.documented);
    assert_eq!(
        w.request(&ctx, HookEvent::AfterRequest).timeout.as_millis(),
        3000
    );
}

fn run_hook(
    params: Value,
    event: HookEvent,
    answer: WebhookAnswer<'_>,
) -> switchyard_guardrails::HookResult {
    let key = match event {
        HookEvent::BeforeRequest => "before_request_hooks",
        HookEvent::AfterRequest => "after_request_hooks",
    };
    let hooks = hook_with(params, key);
    let hook = match event {
        HookEvent::BeforeRequest => &hooks.before[0],
        HookEvent::AfterRequest => &hooks.after[0],
    };
    let mut run = hook.start(CheckInput::from_text(event, "Say Hi"));
    let check = run.next_call().expect("the webhook is a call");
    assert_eq!(check.id(), "default.webhook");
    run.answer(answer);
    assert!(run.next_call().is_none());
    run.finish()
}

#[test]
fn answers_with_transformed_data() {
    let body = fixture("webhook-answer-pii-redaction.json");
    let r = run_hook(
        json!({"webhookURL": "https://guard.example/"}),
        HookEvent::BeforeRequest,
        WebhookAnswer::Response {
            status: 200,
            body: body.as_bytes(),
        },
    );
    assert!(r.verdict && r.transformed());
    let replaced: Value = serde_json::from_str(r.replaced_body.as_ref().unwrap().get()).unwrap();
    assert_eq!(
        replaced["messages"][1]["content"],
        "My name is [REDACTED] and my email is [REDACTED]"
    );
    assert_eq!(r.checks[0].explanation, "Webhook request succeeded");

    // A response replacement is ignored before the request, taken after it.
    let body = fixture("webhook-answer-content-filtering.json");
    let answer = WebhookAnswer::Response {
        status: 200,
        body: body.as_bytes(),
    };
    let before = run_hook(
        json!({"webhookURL": "https://guard.example/"}),
        HookEvent::BeforeRequest,
        answer,
    );
    assert!(before.replaced_body.is_none());
    let after = run_hook(
        json!({"webhookURL": "https://guard.example/"}),
        HookEvent::AfterRequest,
        answer,
    );
    let replaced: Value =
        serde_json::from_str(after.replaced_body.as_ref().unwrap().get()).unwrap();
    assert_eq!(
        replaced["choices"][0]["message"]["content"],
        "I've filtered this response to comply with our content policies."
    );
}

#[test]
fn verdict_and_data() {
    let body = fixture("webhook-answer-sample.json");
    let r = run_hook(
        json!({"webhookURL": "https://guard.example/?key=secret"}),
        HookEvent::AfterRequest,
        WebhookAnswer::Response {
            status: 200,
            body: body.as_bytes(),
        },
    );
    assert!(r.verdict);
    let data = &r.checks[0].data;
    assert_eq!(data["responseData"]["score"], 0.95);
    // The URL is shown without its query, which may hold credentials.
    assert_eq!(data["webhookUrl"], "https://guard.example/");
    assert_eq!(data["requestContext"], json!({"timeout": 3000}));

    let r = run_hook(
        json!({"webhookURL": "https://guard.example/"}),
        HookEvent::BeforeRequest,
        WebhookAnswer::Response {
            status: 200,
            body: br#"{"verdict": false, "data": {"reason": "blocked"}}"#,
        },
    );
    assert!(!r.verdict);
    assert_eq!(r.checks[0].explanation, "Webhook request failed");
}

#[test]
fn failures_are_errors_that_pass_unless_fail_on_error() {
    let cases: [(WebhookAnswer<'_>, &str); 4] = [
        (WebhookAnswer::TimedOut, "Request timed out after 3000ms"),
        (
            WebhookAnswer::Failed("connection refused"),
            "connection refused",
        ),
        (
            WebhookAnswer::Response {
                status: 503,
                body: br#"{"error":"down"}"#,
            },
            "HTTP error! status: 503",
        ),
        (
            WebhookAnswer::Response {
                status: 200,
                body: b"{\"ok\":true}",
            },
            "boolean `verdict`",
        ),
    ];
    for (answer, message) in cases {
        let r = run_hook(
            json!({"webhookURL": "https://guard.example/"}),
            HookEvent::BeforeRequest,
            answer,
        );
        let c = &r.checks[0];
        assert!(!c.verdict);
        assert!(
            c.error.as_deref().unwrap().contains(message),
            "{:?}",
            c.error
        );
        assert!(c.explanation.starts_with("Webhook error: "));
        assert!(
            r.verdict,
            "an errored webhook does not fail the hook by default"
        );
        let strict = run_hook(
            json!({"webhookURL": "https://guard.example/", "failOnError": true}),
            HookEvent::BeforeRequest,
            answer,
        );
        assert!(!strict.verdict);
    }
    let r = run_hook(
        json!({"webhookURL": "https://guard.example/"}),
        HookEvent::BeforeRequest,
        WebhookAnswer::Response {
            status: 503,
            body: br#"{"error":"down"}"#,
        },
    );
    assert_eq!(r.checks[0].data["responseData"], json!({"error": "down"}));
}

#[test]
fn log_posts_without_event_type_and_passes_when_delivered() {
    let ex = example("webhook-before.json");
    let config = json!({"after_request_hooks": [{"id": "log", "checks": [
        {"id": "default.log", "parameters": {"logURL": "https://logs.example/in", "headers": "{\"x-k\":\"v\"}"}}
    ]}]});
    let hooks = parse_config(&config, &serde_json::Map::new()).unwrap();
    let w = hooks.after[0].checks[0].webhook().unwrap();
    assert!(w.is_log());
    let ctx = WebhookContext {
        request_json: &ex.request,
        request_text: "Say Hi",
        is_streaming: true,
        request_transformed: false,
        response_json: None,
        response_text: "",
        response_status: None,
        response_transformed: false,
        provider: "openai",
        request_type: "chatComplete",
        metadata: None,
    };
    let req = w.request(&ctx, HookEvent::AfterRequest);
    assert_eq!(req.headers, [("x-k".to_owned(), "v".to_owned())]);
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    assert!(sent.get("eventType").is_none());
    assert_eq!(sent["metadata"], json!({}));
    assert_eq!(sent["request"]["isStreamingRequest"], true);
    let mut run = hooks.after[0].start(CheckInput::from_text(HookEvent::AfterRequest, "x"));
    run.next_call().unwrap();
    run.answer(WebhookAnswer::Response {
        status: 204,
        body: b"",
    });
    let r = run.finish();
    assert!(r.verdict);
    assert_eq!(
        r.checks[0].explanation,
        "Logged the request to https://logs.example/in"
    );
}

#[test]
fn bad_webhook_parameters_are_refused() {
    for (params, message) in [
        (json!({}), "missing parameter `webhookURL`"),
        (
            json!({"webhookURL": "ftp://x"}),
            "must be an http:// or https:// URL",
        ),
        (
            json!({"webhookURL": "https://x/", "headers": "not json"}),
            "`headers` must be a JSON object",
        ),
        (
            json!({"webhookURL": "https://x/", "headers": {"a": 1}}),
            "header `a` must be a string",
        ),
        (
            json!({"webhookURL": "https://x/", "timeout": 0}),
            "`timeout` must be at least 1",
        ),
    ] {
        let config = json!({"before_request_hooks": [{"id": "g", "checks": [{"id": "default.webhook", "parameters": params}]}]});
        let e = parse_config(&config, &serde_json::Map::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains(message), "{e}");
    }
}

//! Portkey configs from Portkey's public docs, parsed and run; `hook_results` in Portkey's
//! shape; unknown ids refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Map, Value};
use switchyard_guardrails::portkey::results::{self, Disposition};
use switchyard_guardrails::portkey::{parse_config, parse_shorthand};
use switchyard_guardrails::{CheckInput, ConfigError, HookEvent, HookResult, HookType};

fn none() -> Map<String, Value> {
    Map::new()
}

#[test]
fn readme_output_guardrail_denies_apple() {
    // Portkey-AI/gateway README, "Routing & Guardrails".
    let config = json!({
        "retry": {"attempts": 5},
        "output_guardrails": [{
            "default.contains": {"operator": "none", "words": ["Apple"]},
            "deny": true
        }]
    });
    let hooks = parse_config(&config, &none()).unwrap();
    assert!(hooks.before.is_empty());
    let hook = &hooks.after[0];
    assert_eq!(hook.id, "output_guardrail_0");
    assert_eq!(hook.kind, HookType::Guardrail);
    assert_eq!(hook.event, HookEvent::AfterRequest);
    assert!(hook.deny);
    assert_eq!(hook.checks[0].id(), "default.contains");

    let r = hook.evaluate(CheckInput::from_text(HookEvent::AfterRequest, "Apple"));
    assert!(!r.verdict && r.deny);
    assert_eq!(results::disposition([&r]), Disposition::Denied);
    assert_eq!(results::disposition([&r]).status(200), 446);
    let r = hook.evaluate(CheckInput::from_text(HookEvent::AfterRequest, "Bat"));
    assert!(r.verdict && !r.deny);
    assert_eq!(results::disposition([&r]), Disposition::Pass);
}

#[test]
fn raw_guardrail_from_the_docs() {
    // docs-core product/guardrails/creating-raw-guardrails-in-json.mdx, "Configuring
    // Guardrail Actions". The page writes the parameter as `regex`; Portkey's regexMatch
    // reads `rule` (plugins/default/regexMatch.ts), so the example as written is refused
    // with an error saying so, and the corrected one runs.
    let mut config = json!({
        "before_request_hooks": [{
            "type": "guardrail",
            "id": "my_solid_guardrail",
            "checks": [{"id": "default.regexMatch", "parameters": {"regex": "test"}}],
            "deny": false,
            "async": false,
            "sequential": false,
            "on_success": {"feedback": {"value": 1, "weight": 1}},
            "on_fail": {"feedback": {"value": -1, "weight": 1}}
        }]
    });
    let e = parse_config(&config, &none()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "guardrail check `default.regexMatch`: missing parameter `rule`"
    );

    config["before_request_hooks"][0]["checks"][0]["parameters"] = json!({"rule": "test"});
    let hooks = parse_config(&config, &none()).unwrap();
    let hook = &hooks.before[0];
    assert_eq!(hook.id, "my_solid_guardrail");
    assert!(!hook.deny && !hook.is_async && !hook.sequential);

    let failed = hook.evaluate(CheckInput::from_text(HookEvent::BeforeRequest, "no match"));
    assert!(!failed.verdict && !failed.deny);
    assert_eq!(results::disposition([&failed]), Disposition::Failed);
    assert_eq!(results::disposition([&failed]).status(200), 246);
    assert_eq!(results::disposition([&failed]).status(500), 500);
    assert_eq!(
        failed.feedback,
        Some(json!({"value": -1, "weight": 1, "metadata": {
            "successfulChecks": "", "failedChecks": "default.regexMatch", "erroredChecks": ""
        }}))
    );
    let passed = hook.evaluate(CheckInput::from_text(HookEvent::BeforeRequest, "a test"));
    assert_eq!(passed.feedback.unwrap()["value"], 1);
}

#[test]
fn camel_case_keys_as_portkey_converts_them() {
    // The docs also show `beforeRequestHooks`; Portkey camel-cases config keys.
    let config = json!({"beforeRequestHooks": [{
        "type": "guardrail", "id": "g",
        "checks": [{"id": "default.wordCount", "parameters": {"minWords": 1, "maxWords": 3}}],
        "onFail": {"feedback": {"value": 0}}
    }]});
    let hooks = parse_config(&config, &none()).unwrap();
    assert_eq!(hooks.before[0].id, "g");
    assert!(hooks.before[0].on_fail.is_some());
    let both = json!({"before_request_hooks": [], "beforeRequestHooks": []});
    assert!(parse_config(&both, &none()).is_err());
}

#[test]
fn references_by_id_resolve_against_named_guardrails() {
    let named = json!({
        "pg-pii-123": {"checks": [{"id": "switchyard.pii", "parameters": {"redact": true}}]},
        "input-guardrail-id-xx": {"checks": [{"id": "default.notNull"}], "deny": true}
    })
    .as_object()
    .cloned()
    .unwrap();
    // Shorthand list of ids (Portkey's hosted guardrails).
    let config = json!({"input_guardrails": ["pg-pii-123"]});
    let hooks = parse_config(&config, &named).unwrap();
    assert_eq!(hooks.before[0].id, "pg-pii-123");
    assert!(hooks.before[0].masks());
    // A raw hook with only an id (Portkey's Vercel cookbook), settings overridden beside it.
    let config = json!({"before_request_hooks": [{"id": "input-guardrail-id-xx", "deny": false}]});
    let hooks = parse_config(&config, &named).unwrap();
    assert!(!hooks.before[0].deny);
    // Unknown references are named.
    let e = parse_config(&json!({"output_guardrails": ["pg-missing"]}), &named).unwrap_err();
    assert_eq!(e, ConfigError::UnknownGuardrail("pg-missing".into()));
    assert!(e.to_string().contains("`pg-missing` is not defined"));
}

#[test]
fn shorthand_details() {
    // No namespace means `default.`; several checks and hook settings in one object.
    let list = json!([{
        "regexMatch": {"rule": "^hi"},
        "default.wordCount": {"minWords": 1, "maxWords": 5, "is_enabled": false},
        "id": "my-input",
        "async": true,
        "on_success": {"feedback": {"value": 5}}
    }, {"default.endsWith": {"suffix": "!"}}]);
    let hooks = parse_shorthand(
        &list,
        HookEvent::BeforeRequest,
        HookType::Guardrail,
        &none(),
        0,
    )
    .unwrap();
    assert_eq!(hooks[0].id, "my-input");
    assert!(hooks[0].is_async);
    // A JSON object has no order once parsed (serde_json sorts keys): checks of one
    // shorthand object run in key order.
    let ids: Vec<&str> = hooks[0].checks.iter().map(|c| c.id()).collect();
    assert_eq!(ids, ["default.wordCount", "default.regexMatch"]);
    assert!(!hooks[0].checks[0].enabled());
    assert_eq!(hooks[1].id, "input_guardrail_1");
    // The disabled check does not run.
    let r = hooks[0].evaluate(CheckInput::from_text(
        HookEvent::BeforeRequest,
        "hi there a b c d e f g",
    ));
    assert_eq!(r.checks.len(), 1);
    assert!(r.verdict);
}

#[test]
fn unknown_ids_and_keys_are_refused() {
    let e = parse_config(
        &json!({"input_guardrails": [{"default.regexMatc": {"rule": "x"}}]}),
        &none(),
    )
    .unwrap_err();
    assert!(
        matches!(&e, ConfigError::UnknownCheck { id, .. } if id == "default.regexMatc"),
        "{e}"
    );
    let e = parse_config(
        &json!({"before_request_hooks": [{"id": "g", "checks": [{"id": "default.nope"}]}]}),
        &none(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unknown guardrail check `default.nope`"),
        "{e}"
    );
    let e = parse_config(
        &json!({"before_request_hooks": [{"id": "g", "checks": [], "denny": true}]}),
        &none(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown key `denny`"), "{e}");
    let e = parse_config(
        &json!({"before_request_hooks": [{"id": "g", "type": "filter", "checks": []}]}),
        &none(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("`type` must be"), "{e}");
    let e = parse_config(
        &json!({"output_guardrails": [{"aporia.validateProject": {}}]}),
        &none(),
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::Unsupported { .. }));
}

#[test]
fn a_hook_cannot_mix_a_replacing_webhook_with_masks() {
    let e = parse_config(
        &json!({"before_request_hooks": [{"id": "g", "checks": [
            {"id": "default.webhook", "parameters": {"webhookURL": "https://guard.example/check"}},
            {"id": "switchyard.pii", "parameters": {"redact": true}}
        ]}]}),
        &none(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("separate hooks"), "{e}");
}

#[test]
fn sequential_hooks_let_later_checks_see_masked_text() {
    let config = |sequential: bool| {
        json!({"before_request_hooks": [{"id": "g", "sequential": sequential, "checks": [
            {"id": "switchyard.pii", "parameters": {"redact": true}},
            {"id": "default.contains", "parameters": {"words": ["@"], "operator": "none"}}
        ]}]})
    };
    let text = "mail me at a@b.io";
    let seq = parse_config(&config(true), &none()).unwrap();
    let r = seq.before[0].evaluate(CheckInput::from_text(HookEvent::BeforeRequest, text));
    assert!(r.verdict, "{r:?}");
    assert_eq!(
        r.texts.as_deref(),
        Some(&["mail me at [EMAIL]".to_owned()][..])
    );
    let par = parse_config(&config(false), &none()).unwrap();
    let r = par.before[0].evaluate(CheckInput::from_text(HookEvent::BeforeRequest, text));
    assert!(!r.verdict);
    assert!(r.transformed());
}

fn sample_results() -> (HookResult, HookResult) {
    let config = json!({
        "input_guardrails": [{"default.wordCount": {"minWords": 1, "maxWords": 2}, "deny": true}],
        "output_guardrails": [{"default.regexMatch": {"rule": "x"}}]
    });
    let hooks = parse_config(&config, &none()).unwrap();
    let mut before = hooks.before[0].evaluate(CheckInput::from_text(
        HookEvent::BeforeRequest,
        "three words here",
    ));
    before.execution_time_ms = 3;
    before.created_at_ms = Some(1_724_250_600_000);
    before.checks[0].execution_time_ms = 1;
    before.checks[0].created_at_ms = Some(1_724_250_600_001);
    let after = switchyard_guardrails::HookResult::skipped(&hooks.after[0]);
    (before, after)
}

#[test]
fn hook_results_have_portkey_field_names() {
    let (before, after) = sample_results();
    let v: Value = serde_json::from_slice(&results::hook_results(
        std::slice::from_ref(&before),
        std::slice::from_ref(&after),
    ))
    .unwrap();
    let hook = &v["before_request_hooks"][0];
    let keys: Vec<&str> = hook
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "verdict",
        "id",
        "transformed",
        "checks",
        "feedback",
        "execution_time",
        "async",
        "type",
        "created_at",
        "deny",
    ];
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(hook["verdict"], false);
    assert_eq!(hook["deny"], true);
    assert_eq!(hook["type"], "guardrail");
    assert_eq!(hook["id"], "input_guardrail_0");
    assert_eq!(hook["created_at"], "2024-08-21T14:30:00.000Z");
    assert_eq!(hook["feedback"], Value::Null);
    let check = &hook["checks"][0];
    assert_eq!(check["id"], "default.wordCount");
    assert_eq!(check["verdict"], false);
    assert_eq!(check["execution_time"], 1);
    assert_eq!(check["created_at"], "2024-08-21T14:30:00.001Z");
    assert_eq!(check["log"], Value::Null);
    assert_eq!(check["fail_on_error"], false);
    assert_eq!(check["transformed"], false);
    assert!(check.get("error").is_none());
    assert_eq!(check["data"]["wordCount"], 3);
    assert_eq!(
        check["data"]["explanation"],
        "The text contains 3 words, which is outside the specified range of 1-2 words."
    );
    assert_eq!(
        v["after_request_hooks"][0],
        json!({"id": "output_guardrail_0", "type": "guardrail", "skipped": true})
    );
    // Skipped hooks do not count.
    assert_eq!(results::disposition([&after]), Disposition::Pass);
}

#[test]
fn denied_body_and_stream_event() {
    let (before, _) = sample_results();
    let v: Value =
        serde_json::from_slice(&results::denied_body(std::slice::from_ref(&before), &[])).unwrap();
    assert_eq!(
        v["error"],
        json!({
            "message": "The guardrail checks defined in the config failed. You can find more information in the `hook_results` object.",
            "type": "hooks_failed", "param": null, "code": null
        })
    );
    assert_eq!(v["hook_results"]["after_request_hooks"], json!([]));
    assert_eq!(
        v["hook_results"]["before_request_hooks"][0]["id"],
        "input_guardrail_0"
    );
    let ev = results::stream_event(&[before]);
    let s = std::str::from_utf8(&ev).unwrap();
    assert!(
        s.starts_with("data: {\"hook_results\":{\"before_request_hooks\":[{"),
        "{s}"
    );
    assert!(s.ends_with("\n\n"));
    assert!(!s.contains("after_request_hooks"));
}

#[test]
fn an_errored_check_reports_its_error_and_passes_unless_fail_on_error() {
    let config = json!({"output_guardrails": [
        {"default.wordCount": {"minWords": 1, "maxWords": 9}},
        {"default.wordCount": {"minWords": 1, "maxWords": 9, "failOnError": true}}
    ]});
    let hooks = parse_config(&config, &none()).unwrap();
    let lenient = hooks.after[0].evaluate(CheckInput::from_text(HookEvent::AfterRequest, ""));
    assert!(lenient.verdict);
    let strict = hooks.after[1].evaluate(CheckInput::from_text(HookEvent::AfterRequest, ""));
    assert!(!strict.verdict);
    let v = results::check_json(&strict.checks[0]);
    assert_eq!(
        v["error"],
        json!({"name": "Error", "message": "Missing text to analyze"})
    );
    assert_eq!(v["fail_on_error"], true);
}

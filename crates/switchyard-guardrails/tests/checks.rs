//! Allow / deny / mask cases for every built-in check. Where a case comes from Portkey's own
//! tests (`plugins/default/default.test.ts` in Portkey-AI/gateway), the same input must give
//! the same verdict and figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};
use switchyard_guardrails::{Check, CheckInput, CheckResult, HookEvent};

fn check(id: &str, params: Value) -> Check {
    let map = params.as_object().cloned().unwrap_or_default();
    Check::new(id, &map).unwrap_or_else(|e| panic!("{id}: {e}"))
}

fn on(id: &str, params: Value, text: &str) -> CheckResult {
    check(id, params).run_local(&CheckInput::from_text(HookEvent::AfterRequest, text))
}

fn pass(id: &str, params: Value, text: &str) -> CheckResult {
    let r = on(id, params, text);
    assert!(
        r.verdict && r.error.is_none(),
        "{id} should pass on {text:?}: {r:?}"
    );
    r
}

fn fail(id: &str, params: Value, text: &str) -> CheckResult {
    let r = on(id, params, text);
    assert!(
        !r.verdict && r.error.is_none(),
        "{id} should fail on {text:?}: {r:?}"
    );
    r
}

#[test]
fn regex_match() {
    // Portkey: `quick.*fox` matches, `zebra` does not.
    let text = "The quick brown fox jumps over the lazy dog.";
    let r = pass(
        "default.regexMatch",
        json!({"rule": "quick.*fox", "not": false}),
        text,
    );
    assert!(r.explanation.contains("successfully matched"));
    let r = fail("default.regexMatch", json!({"rule": "zebra"}), text);
    assert!(r.explanation.contains("did not match"));
    pass(
        "default.regexMatch",
        json!({"rule": "zebra", "not": true}),
        text,
    );
    fail(
        "default.regexMatch",
        json!({"rule": "fox", "not": true}),
        text,
    );
    pass(
        "default.regexMatch",
        json!({"rule": "(?<animal>fox)"}),
        text,
    );
    // No text: an error, not a failure (Portkey: "Missing text to match").
    let r = on("default.regexMatch", json!({"rule": "x"}), "");
    assert_eq!(r.error.as_deref(), Some("Missing text to match"));
    assert!(r.counts_as_pass());
}

#[test]
fn regex_replace_masks_the_primary_text() {
    let r = pass(
        "default.regexReplace",
        json!({"rule": "/\\d{3}-\\d{2}-\\d{4}/g", "redactText": "[SSN]"}),
        "ids 123-45-6789 and 987-65-4321",
    );
    assert_eq!(r.transformed.unwrap(), ["ids [SSN] and [SSN]"]);
    // Without `g` only the first match, as JavaScript's replace.
    let r = on("default.regexReplace", json!({"rule": "/a/"}), "a a");
    assert_eq!(r.transformed.unwrap(), ["[REDACTED] a"]);
    // `i` flag, and failOnDetection turns a match into a failure.
    let r = fail(
        "default.regexReplace",
        json!({"rule": "/secret/i", "failOnDetection": true}),
        "My SECRET",
    );
    assert_eq!(r.transformed.unwrap(), ["My [REDACTED]"]);
    let r = pass("default.regexReplace", json!({"rule": "zzz"}), "nothing");
    assert!(r.transformed.is_none());
    // Replacement text is literal, `$1` is not expanded.
    let r = on(
        "default.regexReplace",
        json!({"rule": "(a)", "redactText": "$1$1"}),
        "a",
    );
    assert_eq!(r.transformed.unwrap(), ["$1$1"]);
}

#[test]
fn contains_any_all_none() {
    // Portkey's cases.
    let text = "adding some text before this word1 and adding some text after";
    let r = pass(
        "default.contains",
        json!({"words": ["word1", "word2"], "operator": "any", "not": false}),
        text,
    );
    assert_eq!(
        r.explanation,
        "Check passed for 'any' words. At least one word was found."
    );
    assert_eq!(r.data["foundWords"], json!(["word1"]));
    assert_eq!(r.data["missingWords"], json!(["word2"]));
    let r = fail(
        "default.contains",
        json!({"words": ["word1", "word2"], "operator": "all"}),
        text,
    );
    assert_eq!(
        r.explanation,
        "Check failed for 'all' words. Some words were missing."
    );
    fail(
        "default.contains",
        json!({"words": ["word1", "word2"], "operator": "none"}),
        text,
    );
    pass(
        "default.contains",
        json!({"words": ["word3"], "operator": "none"}),
        text,
    );
    // Case: Portkey is case-sensitive; `ignoreCase` folds (Unicode too).
    fail(
        "default.contains",
        json!({"words": ["APPLE"], "operator": "any"}),
        "an apple",
    );
    pass(
        "default.contains",
        json!({"words": ["APPLE"], "operator": "any", "ignoreCase": true}),
        "an apple",
    );
    pass(
        "default.contains",
        json!({"words": ["straße"], "operator": "any", "ignoreCase": true}),
        "STRAßE",
    );
    // Whole words: `cat` is not in `concatenate`.
    pass(
        "default.contains",
        json!({"words": ["cat"], "operator": "any"}),
        "concatenate",
    );
    fail(
        "default.contains",
        json!({"words": ["cat"], "operator": "any", "wholeWords": true}),
        "concatenate",
    );
    pass(
        "default.contains",
        json!({"words": ["cat"], "operator": "any", "wholeWords": true}),
        "a cat, concatenated",
    );
    pass(
        "default.contains",
        json!({"words": ["Cat"], "operator": "any", "wholeWords": true, "ignoreCase": true}),
        "the cat.",
    );
    // `not: true` would be silently ignored by Portkey: refused.
    let e = Check::new(
        "default.contains",
        json!({"words": ["a"], "operator": "any", "not": true})
            .as_object()
            .unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("use `operator: none`"));
}

#[test]
fn word_sentence_and_character_counts() {
    // Portkey: "This is a sentence with 7 words." has 7 words.
    let r = pass(
        "default.wordCount",
        json!({"minWords": 5, "maxWords": 8, "not": false}),
        "This is a sentence with 7 words.",
    );
    assert_eq!(r.data["wordCount"], 7);
    assert_eq!(
        r.explanation,
        "The text contains 7 words, which is within the specified range of 5-8 words."
    );
    fail(
        "default.wordCount",
        json!({"minWords": 10, "maxWords": 15}),
        "This is a sentence with 7 words.",
    );
    pass(
        "default.wordCount",
        json!({"minWords": 10, "maxWords": 15, "not": true}),
        "This is a sentence with 7 words.",
    );
    pass(
        "default.wordCount",
        json!({"minWords": 3, "maxWords": 3}),
        "  spaced \t\n out   words ",
    );
    // Portkey: two sentences.
    let r = pass(
        "default.sentenceCount",
        json!({"minSentences": 1, "maxSentences": 3}),
        "This is a sentence. This is another sentence.",
    );
    assert_eq!(r.data["sentenceCount"], 2);
    assert_eq!(
        r.explanation,
        "The sentence count (2) is within the specified range of 1 to 3."
    );
    fail(
        "default.sentenceCount",
        json!({"minSentences": 3, "maxSentences": 4}),
        "This is a sentence. This is another sentence.",
    );
    // Empty text is zero sentences, not an error (Portkey).
    let r = fail(
        "default.sentenceCount",
        json!({"minSentences": 1, "maxSentences": 3}),
        "",
    );
    assert_eq!(r.data["sentenceCount"], 0);
    // Characters are UTF-16 units, as JavaScript's `length`: 😀 counts 2.
    let r = pass(
        "default.characterCount",
        json!({"minCharacters": 3, "maxCharacters": 3}),
        "a😀",
    );
    assert_eq!(r.data["characterCount"], 3);
    fail(
        "default.characterCount",
        json!({"maxCharacters": 5}),
        "too long text",
    );
    // Defaults from Portkey's manifest.
    pass("default.wordCount", json!({}), "one");
    let r = on("default.wordCount", json!({}), "   ");
    assert_eq!(r.error.as_deref(), Some("Missing text to analyze"));
}

#[test]
fn json_schema() {
    let schema =
        json!({"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]});
    // Portkey: fenced JSON among prose.
    let r = pass(
        "default.jsonSchema",
        json!({"schema": schema, "not": false}),
        "adding some text before this ```json\n{\"key\": \"value\"}\n```\n and adding some text after {\"key\":\"value\"}",
    );
    assert!(r.explanation.contains("Successfully validated"));
    // Portkey: a schema the JSON does not satisfy.
    let r = fail(
        "default.jsonSchema",
        json!({"schema": {"type": "object", "properties": {"key2": {"type": "string"}}, "required": ["key2"]}}),
        "{\"key\": \"value\"}",
    );
    assert_eq!(
        r.data["validationErrors"],
        json!([{"path": "", "message": "failed `required`"}])
    );
    pass(
        "default.jsonSchema",
        json!({"schema": schema.clone(), "not": true}),
        "{\"key\": 5}",
    );
    // Nested objects in prose are found whole.
    pass(
        "default.jsonSchema",
        json!({"schema": {"type": "object", "required": ["a"], "properties": {"a": {"type": "object", "required": ["b"]}}}}),
        "Result: {\"a\": {\"b\": 1}} done",
    );
    // No JSON at all: fails, whatever `not` says (Portkey).
    let r = fail(
        "default.jsonSchema",
        json!({"schema": schema.clone()}),
        "plain words",
    );
    assert_eq!(r.explanation, "No valid JSON found in the response.");
    fail(
        "default.jsonSchema",
        json!({"schema": schema.clone(), "not": true}),
        "plain words",
    );
    // Formats are asserted, and other drafts are honoured through `$schema`.
    fail(
        "default.jsonSchema",
        json!({"schema": {"type": "string", "format": "email"}}),
        "\"not an email\"",
    );
    pass(
        "default.jsonSchema",
        json!({"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": {"type": "integer"}}}),
        "[1, 2, 3]",
    );
    // The schema may arrive as a JSON string.
    pass(
        "default.jsonSchema",
        json!({"schema": "{\"type\":\"object\"}"}),
        "{}",
    );
}

#[test]
fn json_keys() {
    let text = "Here: {\"key1\": \"value1\", \"key2\": \"value2\"} end";
    let r = pass(
        "default.jsonKeys",
        json!({"keys": ["key1", "key3"], "operator": "any"}),
        text,
    );
    assert_eq!(r.data["presentKeys"], json!(["key1"]));
    let r = fail(
        "default.jsonKeys",
        json!({"keys": ["key1", "key3"], "operator": "all"}),
        text,
    );
    assert_eq!(r.data["missingKeys"], json!(["key3"]));
    assert_eq!(
        r.explanation,
        "Failed to find all required keys. Missing keys: [key3]."
    );
    pass(
        "default.jsonKeys",
        json!({"keys": ["key3"], "operator": "none"}),
        text,
    );
    fail(
        "default.jsonKeys",
        json!({"keys": ["key1"], "operator": "none"}),
        text,
    );
    // The best of several objects wins.
    pass(
        "default.jsonKeys",
        json!({"keys": ["a", "b"], "operator": "all"}),
        "{\"a\":1} and {\"a\":1,\"b\":2}",
    );
    let r = fail(
        "default.jsonKeys",
        json!({"keys": ["a"], "operator": "any"}),
        "no json",
    );
    assert_eq!(r.explanation, "No valid JSON found in the text.");
}

#[test]
fn valid_urls() {
    pass(
        "default.validUrls",
        json!({}),
        "See https://example.com/docs and http://localhost:8080/health.",
    );
    let r = fail(
        "default.validUrls",
        json!({"onlyDNS": true}),
        "Good https://example.com, bad https://exa_mple..com/x",
    );
    assert_eq!(r.data["invalidCount"], 1);
    pass(
        "default.validUrls",
        json!({"not": true}),
        "only https://bad..host here",
    );
    // No URL: fails (Portkey).
    let r = fail("default.validUrls", json!({}), "no links at all");
    assert_eq!(r.explanation, "No URLs found in the text.");
    // An address in a query string does not make the URL invalid.
    pass(
        "default.validUrls",
        json!({}),
        "https://example.com/unsubscribe?to=jane@example.com",
    );
}

#[test]
fn contains_code() {
    // Portkey's case: a `py` fence is Python.
    pass(
        "default.containsCode",
        json!({"format": "Python"}),
        "```py\nprint(\"Hello World\")\n```",
    );
    fail(
        "default.containsCode",
        json!({"format": "SQL"}),
        "```py\nprint(1)\n```",
    );
    pass(
        "default.containsCode",
        json!({"format": "SQL", "not": true}),
        "```py\nprint(1)\n```",
    );
    let r = fail(
        "default.containsCode",
        json!({"format": "Python"}),
        "no code here",
    );
    assert_eq!(r.explanation, "No code blocks found in the text");
    pass(
        "default.containsCode",
        json!({"format": "Python", "not": true}),
        "no code here",
    );
    // Switchyard: several languages, or any fenced block.
    pass(
        "default.containsCode",
        json!({"format": ["Rust", "Go"]}),
        "```rs\nfn main() {}\n```",
    );
    pass("default.containsCode", json!({}), "```\nplain block\n```");
    fail("default.containsCode", json!({}), "inline `code` only");
}

#[test]
fn case_and_suffix_and_not_null() {
    pass("default.alluppercase", json!({}), "HELLO WORLD 123!");
    fail("default.alluppercase", json!({}), "Hello");
    pass("default.alluppercase", json!({"not": true}), "Hello");
    pass("default.alllowercase", json!({}), "hello world ÄÖ");
    fail("default.alllowercase", json!({}), "hello World");
    // Portkey: the suffix, or the suffix and a period.
    pass(
        "default.endsWith",
        json!({"suffix": "HarryPotter"}),
        "This is a test HarryPotter.",
    );
    pass("default.endsWith", json!({"suffix": "end"}), "the end");
    fail("default.endsWith", json!({"suffix": "end"}), "the end!");
    pass(
        "default.endsWith",
        json!({"suffix": "end", "not": true}),
        "the start",
    );
    pass("default.notNull", json!({}), "content");
    fail("default.notNull", json!({}), "   ");
    pass("default.notNull", json!({"not": true}), "");
}

fn with_request<'a>(
    model: Option<&'a str>,
    metadata: Option<&'a serde_json::Map<String, Value>>,
    event: HookEvent,
) -> CheckInput<'a> {
    CheckInput::from_text(event, "hi")
        .with_model(model)
        .with_metadata(metadata)
}

#[test]
fn model_whitelist_and_rules() {
    let c = check(
        "default.modelWhitelist",
        json!({"models": ["gpt-4o", "gpt-4o-mini"]}),
    );
    assert!(
        c.run_local(&with_request(
            Some("gpt-4o"),
            None,
            HookEvent::BeforeRequest
        ))
        .verdict
    );
    let r = c.run_local(&with_request(Some("o1"), None, HookEvent::BeforeRequest));
    assert!(!r.verdict);
    assert_eq!(r.explanation, "Model \"o1\" is not in the allowed list.");
    let blocked = check(
        "default.modelWhitelist",
        json!({"models": ["o1"], "not": true}),
    );
    assert!(
        !blocked
            .run_local(&with_request(Some("o1"), None, HookEvent::BeforeRequest))
            .verdict
    );
    let r = c.run_local(&with_request(None, None, HookEvent::BeforeRequest));
    assert_eq!(r.error.as_deref(), Some("Missing model in request"));

    let rules = check(
        "default.modelRules",
        json!({"rules": {"defaults": ["small"], "metadata": {"team": {"research": ["big", "small"]}}}}),
    );
    let research = json!({"team": "research"}).as_object().cloned().unwrap();
    let sales = json!({"team": "sales"}).as_object().cloned().unwrap();
    assert!(
        rules
            .run_local(&with_request(
                Some("big"),
                Some(&research),
                HookEvent::BeforeRequest
            ))
            .verdict
    );
    assert!(
        !rules
            .run_local(&with_request(
                Some("big"),
                Some(&sales),
                HookEvent::BeforeRequest
            ))
            .verdict
    );
    assert!(
        rules
            .run_local(&with_request(Some("small"), None, HookEvent::BeforeRequest))
            .verdict
    );
}

#[test]
fn required_metadata_keys_and_request_types() {
    let meta = json!({"user": "u1", "env": "prod"})
        .as_object()
        .cloned()
        .unwrap();
    let all = check(
        "default.requiredMetadataKeys",
        json!({"metadataKeys": ["user", "env"], "operator": "all"}),
    );
    assert!(
        all.run_local(&with_request(None, Some(&meta), HookEvent::BeforeRequest))
            .verdict
    );
    let missing = check(
        "default.requiredMetadataKeys",
        json!({"metadataKeys": ["user", "team"]}),
    );
    let r = missing.run_local(&with_request(None, Some(&meta), HookEvent::BeforeRequest));
    assert!(!r.verdict);
    assert_eq!(r.data["missing_metadata_keys"], json!(["team"]));
    let none = check(
        "default.requiredMetadataKeys",
        json!({"metadataKeys": ["debug"], "operator": "none"}),
    );
    assert!(
        none.run_local(&with_request(None, Some(&meta), HookEvent::BeforeRequest))
            .verdict
    );
    // After the request it is an error, as in Portkey.
    let r = all.run_local(&with_request(None, Some(&meta), HookEvent::AfterRequest));
    assert!(r.error.is_some());

    let types = check(
        "default.allowedRequestTypes",
        json!({"allowedTypes": "chatComplete, complete"}),
    );
    let input = CheckInput::from_text(HookEvent::BeforeRequest, "x").with_request_type("embed");
    assert!(!types.run_local(&input).verdict);
    let input = CheckInput::from_text(HookEvent::BeforeRequest, "x").with_request_type("complete");
    assert!(types.run_local(&input).verdict);
    let blocked = check(
        "default.allowedRequestTypes",
        json!({"blockedTypes": ["embed"]}),
    );
    let input = CheckInput::from_text(HookEvent::BeforeRequest, "x").with_request_type("embed");
    assert!(!blocked.run_local(&input).verdict);
    // From metadata when the parameters give no list.
    let meta = json!({"supported_endpoints": "embed"})
        .as_object()
        .cloned()
        .unwrap();
    let open = check("default.allowedRequestTypes", json!({}));
    let input = CheckInput::from_text(HookEvent::BeforeRequest, "x")
        .with_request_type("embed")
        .with_metadata(Some(&meta));
    assert!(open.run_local(&input).verdict);
    let input = CheckInput::from_text(HookEvent::BeforeRequest, "x")
        .with_request_type("chatComplete")
        .with_metadata(Some(&meta));
    assert!(!open.run_local(&input).verdict);
}

#[test]
fn pii_detect_deny_and_mask() {
    let text = "Reach jane.doe@example.com or +44 20 7946 0958; card 4111 1111 1111 1111; key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cD0";
    // Detection only: fails, and the explanation counts without echoing values.
    let r = fail("switchyard.pii", json!({}), text);
    assert_eq!(
        r.explanation,
        "Found 1 secret, 1 card number, 1 e-mail address, 1 phone number."
    );
    for secret in ["jane.doe", "4111", "sk-proj", "7946"] {
        let all = serde_json::to_string(&r.data).unwrap() + &r.explanation;
        assert!(!all.contains(secret), "{secret} leaked");
    }
    // Masking: passes with the texts rewritten.
    let r = pass("switchyard.pii", json!({"redact": true}), text);
    assert_eq!(
        r.transformed.unwrap(),
        ["Reach [EMAIL] or [PHONE]; card [CARD]; key [SECRET]"]
    );
    // Only some categories.
    let r = fail(
        "switchyard.pii",
        json!({"categories": ["EMAIL_ADDRESS"]}),
        text,
    );
    assert_eq!(r.data["detectedCategories"], json!(["EMAIL_ADDRESS"]));
    // Clean text passes; `not` inverts.
    pass(
        "switchyard.pii",
        json!({}),
        "nothing personal here, order 12345",
    );
    pass("switchyard.pii", json!({"not": true}), text);
}

#[test]
fn pii_tricky_cases() {
    // A card number failing Luhn is not a card; an IBAN with a bad checksum is not an IBAN.
    pass(
        "switchyard.pii",
        json!({}),
        "ref 4111 1111 1111 1112 and DE88 3704 0044 0532 0130 00",
    );
    let r = pass(
        "switchyard.pii",
        json!({"redact": true}),
        "IBAN DE89 3704 0044 0532 0130 00, ok",
    );
    assert_eq!(r.transformed.unwrap(), ["IBAN [IBAN], ok"]);
    // Handles and logins in URLs are not addresses; an address in a query is.
    pass(
        "switchyard.pii",
        json!({}),
        "see https://medium.com/@jane.doe and https://user:pw@db.example.com/",
    );
    let r = pass(
        "switchyard.pii",
        json!({"redact": true}),
        "https://x.io/unsub?to=jane@example.com",
    );
    assert_eq!(r.transformed.unwrap(), ["https://x.io/unsub?to=[EMAIL]"]);
    // Dates, versions, IPs and order numbers are not phone numbers.
    pass(
        "switchyard.pii",
        json!({}),
        "On 2024-01-15, v10.20.30 on 192.168.100.200 shipped order 4155552671.",
    );
}

#[test]
fn pii_masks_every_message_not_only_the_last() {
    let c = check("switchyard.pii", json!({"redact": true}));
    let texts = vec![
        "my mail is a@b.io".into(),
        "thanks".into(),
        "and c@d.io".into(),
    ];
    let input = CheckInput::new(HookEvent::BeforeRequest, texts, 2..3);
    let r = c.run_local(&input);
    assert_eq!(
        r.transformed.unwrap(),
        ["my mail is [EMAIL]", "thanks", "and [EMAIL]"]
    );
}

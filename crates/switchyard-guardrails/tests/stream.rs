//! The PII detector driving `switchyard_providers::text`: bodies masked and written back,
//! and streams masked with values split across events.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use switchyard_guardrails::pii::{KindSet, PiiDetector};
use switchyard_guardrails::portkey::parse_config;
use switchyard_guardrails::{CheckInput, HookEvent};
use switchyard_providers::text::{self, RequestBody, StreamMasker, DEFAULT_WINDOW};
use switchyard_providers::JsonEnvelope;

fn detector() -> PiiDetector {
    PiiDetector::new(KindSet::all()).unwrap()
}

#[test]
fn a_request_is_masked_in_every_message_and_written_back() {
    let body = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"Support bot. Escalate to ops@example.com."},{"role":"user","content":[{"type":"text","text":"My card is 4111 1111 1111 1111"},{"type":"image_url","image_url":{"url":"https://x.io/a.png"}}]}],"temperature":0.2}"#;
    let env = JsonEnvelope::parse(Bytes::from_static(body.as_bytes())).unwrap();
    let found = text::request_texts(&env, RequestBody::Chat).unwrap();
    let hooks = parse_config(
        &serde_json::json!({"input_guardrails": [{"switchyard.pii": {"redact": true}}]}),
        &serde_json::Map::new(),
    )
    .unwrap();
    let result = hooks.before[0].evaluate(CheckInput::from_body(HookEvent::BeforeRequest, &found));
    assert!(result.verdict);
    let texts = result.texts.unwrap();
    let masked = text::rewrite_request(&env, RequestBody::Chat, &found, &texts).unwrap();
    assert_eq!(
        std::str::from_utf8(masked.raw()).unwrap(),
        r#"{"model":"gpt-4o","messages":[{"role":"system","content":"Support bot. Escalate to [EMAIL]."},{"role":"user","content":[{"type":"text","text":"My card is [CARD]"},{"type":"image_url","image_url":{"url":"https://x.io/a.png"}}]}],"temperature":0.2}"#
    );
}

#[test]
fn a_response_is_masked_and_written_back() {
    let body = Bytes::from_static(
        br#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Use key AKIAIOSFODNN7EXAMPLE"},"finish_reason":"stop"}]}"#,
    );
    let found = text::response_texts(&body, false).unwrap();
    let d = detector();
    let texts: Vec<String> = found
        .texts()
        .map(|t| d.mask(t).unwrap_or_else(|| t.to_owned()))
        .collect();
    let out = text::rewrite_response(&body, &found, &texts).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "Use key [SECRET]");
}

fn chunk(content: &str) -> Vec<u8> {
    serde_json::json!({
        "id": "s", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
    .into_bytes()
}

fn finish_chunk() -> Vec<u8> {
    br#"{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.to_vec()
}

/// What a client reads from the masked stream of `deltas`.
fn stream(deltas: &[&str], window: usize) -> String {
    let mut m = StreamMasker::new(detector(), window);
    let mut out = String::new();
    let mut events = Vec::new();
    for d in deltas {
        events.extend(m.push(&chunk(d)).unwrap());
    }
    events.extend(m.push(&finish_chunk()).unwrap());
    events.extend(m.push(b"[DONE]").unwrap());
    for e in events {
        let s = std::str::from_utf8(&e).unwrap();
        let payload = s.strip_prefix("data: ").unwrap().trim_end();
        if payload == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(payload).unwrap();
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            out.push_str(c);
        }
    }
    out
}

#[test]
fn values_split_across_deltas_are_masked() {
    assert_eq!(
        stream(
            &[
                "Contact jane.do",
                "e@example.",
                "com or call +1 415-",
                "555-2671 today."
            ],
            DEFAULT_WINDOW
        ),
        "Contact [EMAIL] or call [PHONE] today."
    );
    assert_eq!(
        stream(
            &["card: 4111 1111 ", "1111 1111", " thanks"],
            DEFAULT_WINDOW
        ),
        "card: [CARD] thanks"
    );
    let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cD0";
    assert_eq!(
        stream(
            &["key=", &key[..10], &key[10..30], &key[30..], " end"],
            DEFAULT_WINDOW
        ),
        "key=[SECRET] end"
    );
}

#[test]
fn the_window_is_a_bound_on_what_is_held() {
    let mut m = StreamMasker::new(detector(), 16);
    let long = "word ".repeat(40);
    m.push(&chunk(&long)).unwrap();
    assert!(m.held_chars() <= 16);
}

const WORDS: &[&str] = &[
    "hello",
    "the",
    "order",
    "12345",
    "jane.doe@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "AKIAIOSFODNN7EXAMPLE",
    "2024-01-15",
    "v1.2.3",
    "café",
    "😀",
    "ok.",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However the text is split into deltas, the client reads what masking it whole gives.
    #[test]
    fn any_split_masks_like_the_whole_text(
        words in proptest::collection::vec(0..WORDS.len(), 1..24),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let text = words.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
        let expected = detector().mask(&text).unwrap_or_else(|| text.clone());
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).filter(|&i| text.is_char_boundary(i)).collect();
        at.sort_unstable();
        at.dedup();
        let mut deltas = Vec::new();
        let mut last = 0;
        for &i in &at {
            deltas.push(&text[last..i]);
            last = i;
        }
        deltas.push(&text[last..]);
        prop_assert_eq!(stream(&deltas, DEFAULT_WINDOW), expected);
    }

    #[test]
    fn detectors_never_panic(s in "\\PC{0,200}") {
        let d = detector();
        let masked = d.mask(&s);
        if let Some(m) = masked {
            prop_assert!(d.findings(&m).is_empty() || m.contains('['));
        }
    }
}

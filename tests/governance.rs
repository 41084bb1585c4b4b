//! Governance: gateway keys (plain and hashed, every header a client may send them in, a keys
//! file), allow lists (403 naming the model, for routes, `provider/model`, catalog names,
//! per-request configs and configured providers chosen by header), per-key `max_tokens`
//! caps, and request validation: a table of invalid requests, each a 400 naming its `param`,
//! none reaching a provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a failure is the test failing

use std::process::Command;

use serde_json::{json, Value};
use switchyard_tests::*;

const PLAIN_KEY: &str = "sk-gw-plain-0123456789";
const TEAM_KEY: &str = "sk-gw-team-a-0123456789";
const FILED_KEY: &str = "sk-gw-filed-0123456789";
/// The hex SHA-256 of `text`, computed as an operator would (`printf %s KEY | sha256sum`).
fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// A gateway with three keys: `plain` (no restriction), `team-a` (hashed in the config, may
/// use the `fast` route and `openai/*`, capped at 1000 tokens) and `filed` (in a keys file,
/// may use the `mixed` route only).
async fn governed(mock: &MockServer, dir: &TempDir) -> Gateway {
    let keys_file = dir.0.join("keys.yaml");
    std::fs::write(
        &keys_file,
        format!(
            "keys:\n  - name: filed\n    key_sha256: {}\n    allow: [mixed]\n",
            sha256_hex(FILED_KEY)
        ),
    )
    .unwrap();
    GatewayConfig::new(format!(
        r#"providers:
  openai: {{ kind: openai, base_url: "{base}", api_key: sk-mock, models: [gpt-4o-mini] }}
  claude: {{ kind: anthropic, base_url: "{base}", api_key: sk-ant-mock, models: [claude-x] }}
routes:
  fast: {{ targets: [ {{ provider: openai, model: gpt-4o-mini }} ] }}
  mixed: {{ targets: [ {{ provider: openai, model: gpt-4o }}, {{ provider: claude, model: claude-x }} ] }}
auth:
  keys_file: "{file}"
  keys:
    - {{ name: plain, key: "${{PLAIN_KEY}}" }}
    - name: team-a
      key_sha256: {team}
      metadata: {{ team: search, app: web }}
      allow: [fast, openai/*]
      max_tokens: 1000
"#,
        base = mock.base_url(),
        file = keys_file.display(),
        team = sha256_hex(TEAM_KEY),
    ))
    .env("PLAIN_KEY", PLAIN_KEY)
    .start()
    .await
}

async fn send(gw: &Gateway, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let mut req = http().post(gw.url("/v1/chat/completions")).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })),
    )
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

#[tokio::test]
async fn the_auth_matrix() {
    let mock = MockServer::start().await;
    let dir = TempDir::new();
    let gw = governed(&mock, &dir).await;
    let body = chat("fast", "hi");

    // No key, a wrong key, a key's digest presented as the key: 401, OpenAI-shaped.
    let team_digest = sha256_hex(TEAM_KEY);
    let wrong_team = bearer(&team_digest);
    for headers in [
        vec![],
        vec![("authorization", "Bearer sk-gw-wrong-0123456789")],
        vec![("x-api-key", "sk-gw-wrong-0123456789")],
        vec![("authorization", wrong_team.as_str())],
        vec![("authorization", "Basic c2stZ3ctcGxhaW4=")],
    ] {
        let (status, e) = send(&gw, &headers, &body).await;
        assert_eq!(status, 401, "{headers:?}: {e}");
        assert_eq!(e["error"]["type"], "authentication_error");
        assert_eq!(e["error"]["code"], "invalid_api_key");
        assert!(e["error"]["message"].as_str().unwrap().contains("key"));
    }
    assert!(mock.requests().await.is_empty());

    // The plain key and the hashed one, in every header a client may use.
    let plain = bearer(PLAIN_KEY);
    let team = bearer(TEAM_KEY);
    let admitted: Vec<Vec<(&str, &str)>> = vec![
        vec![("authorization", plain.as_str())],
        vec![("authorization", team.as_str())],
        vec![("x-api-key", TEAM_KEY)],
        vec![("x-portkey-api-key", TEAM_KEY)],
        vec![("x-switchyard-api-key", PLAIN_KEY)],
    ];
    for headers in &admitted {
        let (status, r) = send(&gw, headers, &body).await;
        assert_eq!(status, 200, "{headers:?}: {r}");
    }
    // The key from the keys file, on the one route it may use.
    let (status, r) = send(&gw, &[("x-api-key", FILED_KEY)], &chat("mixed", "hi")).await;
    assert_eq!(status, 200, "{r}");

    let seen = mock.requests().await;
    assert_eq!(seen.len(), admitted.len() + 1);
    for s in &seen {
        let headers = s["headers"].to_string();
        for key in [PLAIN_KEY, TEAM_KEY, FILED_KEY] {
            assert!(!headers.contains(key), "a gateway key reached the provider");
        }
    }
    // Requests are logged under the key's name, never the key.
    let logs = gw.logs_with(|l| l.contains("\"key\":\"filed\"")).await;
    assert!(logs.contains("\"key\":\"team-a\""));
    for key in [PLAIN_KEY, TEAM_KEY, FILED_KEY] {
        assert!(!logs.contains(key), "a gateway key was logged");
    }
}

#[tokio::test]
async fn allow_lists_refuse_other_models_with_a_403_naming_them() {
    let mock = MockServer::start().await;
    let dir = TempDir::new();
    let gw = governed(&mock, &dir).await;
    let team = bearer(TEAM_KEY);
    let key = [("authorization", team.as_str())];

    // Allowed: the route by name, and `openai/*` addressed directly.
    for model in ["fast", "openai/gpt-4o", "openai/o3-mini"] {
        let (status, r) = send(&gw, &key, &chat(model, "hi")).await;
        assert_eq!(status, 200, "{model}: {r}");
    }
    let allowed = mock.requests().await.len();
    assert_eq!(allowed, 3);

    // Refused: another provider directly, a catalog name that routes to it, and a route one
    // of whose targets is outside the list.
    for (model, names) in [
        ("claude/claude-x", "`claude/claude-x`"),
        ("claude-x", "`claude/claude-x`"),
        ("mixed", "`claude/claude-x`"),
    ] {
        let (status, e) = send(&gw, &key, &chat(model, "hi")).await;
        assert_eq!(status, 403, "{model}: {e}");
        assert_eq!(e["error"]["type"], "permission_error");
        assert_eq!(e["error"]["code"], "model_not_allowed");
        assert_eq!(e["error"]["param"], "model");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("`{model}`")), "{message}");
        assert!(message.contains(names), "{message}");
        assert!(message.contains("team-a"), "{message}");
    }
    // The same through a per-request config, a stored config by name and a configured
    // provider chosen by header.
    let config = json!({"targets": [{"provider": "claude", "model": "claude-x"}]}).to_string();
    for headers in [
        vec![("x-switchyard-config", config.as_str())],
        vec![("x-portkey-config", "mixed")],
        vec![("x-switchyard-provider", "claude")],
    ] {
        let mut all = headers.clone();
        all.push(("authorization", team.as_str()));
        let (status, e) = send(&gw, &all, &chat("claude-x", "hi")).await;
        assert_eq!(status, 403, "{headers:?}: {e}");
        assert_eq!(e["error"]["code"], "model_not_allowed");
    }
    // A per-request config whose targets are all allowed passes.
    let config = json!({"targets": [{"provider": "openai", "model": "gpt-4o"}]}).to_string();
    let (status, r) = send(
        &gw,
        &[("authorization", &team), ("x-switchyard-config", &config)],
        &chat("anything", "hi"),
    )
    .await;
    assert_eq!(status, 200, "{r}");

    // The filed key may use `mixed` (named) but not `fast`; the plain key anything.
    let (status, _) = send(&gw, &[("x-api-key", FILED_KEY)], &chat("fast", "hi")).await;
    assert_eq!(status, 403);
    let plain = bearer(PLAIN_KEY);
    let (status, _) = send(
        &gw,
        &[("authorization", &plain)],
        &chat("claude/claude-x", "hi"),
    )
    .await;
    assert_eq!(status, 200);
    // Refused requests reached no provider.
    assert_eq!(mock.requests().await.len(), allowed + 2);
}

#[tokio::test]
async fn a_key_caps_max_tokens() {
    let mock = MockServer::start().await;
    let dir = TempDir::new();
    let gw = governed(&mock, &dir).await;
    let team = bearer(TEAM_KEY);
    let plain = bearer(PLAIN_KEY);
    let mut body = chat("fast", "hi");
    body["max_tokens"] = json!(1001);
    let (status, e) = send(&gw, &[("authorization", &team)], &body).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["error"]["param"], "max_tokens");
    assert_eq!(e["error"]["code"], "integer_above_max_value");
    body["max_tokens"] = json!(1000);
    assert_eq!(send(&gw, &[("authorization", &team)], &body).await.0, 200);
    // Another key has no cap.
    body["max_tokens"] = json!(100_000);
    assert_eq!(send(&gw, &[("authorization", &plain)], &body).await.0, 200);
    assert_eq!(mock.requests().await.len(), 2);
}

#[test]
fn a_missing_or_invalid_keys_file_is_a_config_error() {
    let dir = TempDir::new();
    let config = dir.0.join("switchyard.yaml");
    std::fs::write(&config, "auth:\n  keys_file: keys.yaml\n").unwrap();
    let check = || {
        let out = Command::new(bin("switchyard"))
            .args(["check", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check();
    assert_eq!(code, Some(1));
    assert!(
        err.contains("`auth.keys_file`") && err.contains("cannot read"),
        "{err}"
    );
    std::fs::write(
        dir.0.join("keys.yaml"),
        "keys:\n  - { name: a, key_sha256: xyz }\n",
    )
    .unwrap();
    let (code, err) = check();
    assert_eq!(code, Some(1));
    assert!(
        err.contains("keys.yaml:2:") && err.contains("`keys[0].key_sha256`"),
        "{err}"
    );
    std::fs::write(
        dir.0.join("keys.yaml"),
        format!(
            "keys:\n  - {{ name: a, key_sha256: {} }}\n",
            sha256_hex("k")
        ),
    )
    .unwrap();
    assert_eq!(check().0, Some(0));
}

/// `(path, body, param, code)`: each must be a 400 naming `param`, with OpenAI's `code`.
fn invalid_requests() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    const CHAT: &str = "/v1/chat/completions";
    let msgs = |m: Value| json!({"model": "fast", "messages": m});
    let user = |content: Value| msgs(json!([{"role": "user", "content": content}]));
    let with = |extra: Value| {
        let mut b = chat("fast", "hi");
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let call = |c: Value| {
        msgs(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [c]}
        ]))
    };
    let tools = |t: Value| with(json!({ "tools": [t] }));
    vec![
        // Messages and roles.
        (
            CHAT,
            msgs(json!([{"role": "alien", "content": "hi"}])),
            "messages[0].role",
            "invalid_value",
        ),
        (
            CHAT,
            msgs(json!([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])),
            "messages[1].role",
            "invalid_value",
        ),
        (
            CHAT,
            json!({"model": "fast"}),
            "messages",
            "missing_required_parameter",
        ),
        (CHAT, msgs(json!(null)), "messages", "invalid_type"),
        (
            CHAT,
            msgs(json!({"role": "user", "content": "hi"})),
            "messages",
            "invalid_type",
        ),
        (CHAT, msgs(json!([])), "messages", "empty_array"),
        (CHAT, msgs(json!(["hi"])), "messages[0]", "invalid_type"),
        (
            CHAT,
            msgs(json!([{"content": "hi"}])),
            "messages[0].role",
            "missing_required_parameter",
        ),
        (
            CHAT,
            msgs(json!([{"role": 1, "content": "hi"}])),
            "messages[0].role",
            "invalid_type",
        ),
        (
            CHAT,
            msgs(json!([{"role": "user"}])),
            "messages[0].content",
            "missing_required_parameter",
        ),
        (CHAT, user(json!(42)), "messages[0].content", "invalid_type"),
        (
            CHAT,
            user(json!({"type": "text", "text": "x"})),
            "messages[0].content",
            "invalid_type",
        ),
        (
            CHAT,
            msgs(json!([{"role": "system", "content": []}])),
            "messages[0].content",
            "empty_array",
        ),
        (
            CHAT,
            msgs(json!([{"role": "user", "content": "x", "name": 5}])),
            "messages[0].name",
            "invalid_type",
        ),
        // Content parts.
        (
            CHAT,
            user(json!([{"text": "x"}])),
            "messages[0].content[0].type",
            "missing_required_parameter",
        ),
        (
            CHAT,
            user(json!([{"type": "image", "source": {}}])),
            "messages[0].content[0].type",
            "invalid_value",
        ),
        (
            CHAT,
            user(json!([{"type": "text"}])),
            "messages[0].content[0].text",
            "missing_required_parameter",
        ),
        (
            CHAT,
            user(json!([{"type": "text", "text": 5}])),
            "messages[0].content[0].text",
            "invalid_type",
        ),
        (
            CHAT,
            user(
                json!([{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"detail": "low"}}]),
            ),
            "messages[0].content[1].image_url.url",
            "missing_required_parameter",
        ),
        (
            CHAT,
            user(json!([{"type": "input_audio", "input_audio": {"data": "UklGR"}}])),
            "messages[0].content[0].input_audio.format",
            "missing_required_parameter",
        ),
        (
            CHAT,
            user(json!(["just text"])),
            "messages[0].content[0]",
            "invalid_type",
        ),
        // Tool messages and calls.
        (
            CHAT,
            msgs(json!([{"role": "user", "content": "a"}, {"role": "tool", "content": "42"}])),
            "messages[1].tool_call_id",
            "missing_required_parameter",
        ),
        (
            CHAT,
            msgs(json!([{"role": "user", "content": "a"}, {"role": "function", "content": "42"}])),
            "messages[1].name",
            "missing_required_parameter",
        ),
        (
            CHAT,
            call(json!({"type": "function", "function": {"name": "f", "arguments": "{}"}})),
            "messages[1].tool_calls[0].id",
            "missing_required_parameter",
        ),
        (
            CHAT,
            call(
                json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"city": "Paris"}}}),
            ),
            "messages[1].tool_calls[0].function.arguments",
            "invalid_type",
        ),
        (
            CHAT,
            call(
                json!({"id": "c1", "type": "retrieval", "function": {"name": "f", "arguments": "{}"}}),
            ),
            "messages[1].tool_calls[0].type",
            "invalid_value",
        ),
        // Sampling and numeric ranges.
        (
            CHAT,
            with(json!({"temperature": 3})),
            "temperature",
            "decimal_above_max_value",
        ),
        (
            CHAT,
            with(json!({"temperature": -0.1})),
            "temperature",
            "decimal_below_min_value",
        ),
        (
            CHAT,
            with(json!({"temperature": "0.5"})),
            "temperature",
            "invalid_type",
        ),
        (
            CHAT,
            with(json!({"top_p": 1.5})),
            "top_p",
            "decimal_above_max_value",
        ),
        (
            CHAT,
            with(json!({"max_tokens": 0})),
            "max_tokens",
            "integer_below_min_value",
        ),
        (
            CHAT,
            with(json!({"max_completion_tokens": -5})),
            "max_completion_tokens",
            "integer_below_min_value",
        ),
        (
            CHAT,
            with(json!({"max_tokens": "100"})),
            "max_tokens",
            "invalid_type",
        ),
        (
            CHAT,
            with(json!({"n": 129})),
            "n",
            "integer_above_max_value",
        ),
        (
            CHAT,
            with(json!({"presence_penalty": 2.5})),
            "presence_penalty",
            "decimal_above_max_value",
        ),
        (
            CHAT,
            with(json!({"frequency_penalty": -3})),
            "frequency_penalty",
            "decimal_below_min_value",
        ),
        (
            CHAT,
            with(json!({"top_logprobs": 21})),
            "top_logprobs",
            "integer_above_max_value",
        ),
        (
            CHAT,
            with(json!({"stop": ["a", "b", "c", "d", "e"]})),
            "stop",
            "array_above_max_length",
        ),
        (
            CHAT,
            with(json!({"logit_bias": {"hello": 5}})),
            "logit_bias",
            "invalid_value",
        ),
        (
            CHAT,
            with(json!({"stream": true, "stream_options": {"include_usage": "yes"}})),
            "stream_options.include_usage",
            "invalid_type",
        ),
        (
            CHAT,
            with(json!({"parallel_tool_calls": "true"})),
            "parallel_tool_calls",
            "invalid_type",
        ),
        // Tools, tool choice, response format.
        (
            CHAT,
            with(json!({"tools": {"type": "function"}})),
            "tools",
            "invalid_type",
        ),
        (
            CHAT,
            tools(json!({"type": "retrieval"})),
            "tools[0].type",
            "invalid_value",
        ),
        (
            CHAT,
            tools(json!({"type": "function"})),
            "tools[0].function",
            "missing_required_parameter",
        ),
        (
            CHAT,
            tools(json!({"type": "function", "function": {"name": "get weather"}})),
            "tools[0].function.name",
            "invalid_value",
        ),
        (
            CHAT,
            tools(json!({"type": "function", "function": {"name": "f", "parameters": "{}"}})),
            "tools[0].function.parameters",
            "invalid_type",
        ),
        (
            CHAT,
            with(json!({"tool_choice": "any"})),
            "tool_choice",
            "invalid_value",
        ),
        (
            CHAT,
            with(json!({"tool_choice": {"type": "function"}})),
            "tool_choice.function",
            "missing_required_parameter",
        ),
        (
            CHAT,
            with(json!({"response_format": "json"})),
            "response_format",
            "invalid_type",
        ),
        (
            CHAT,
            with(json!({"response_format": {"type": "xml"}})),
            "response_format.type",
            "invalid_value",
        ),
        (
            CHAT,
            with(json!({"response_format": {"type": "json_schema"}})),
            "response_format.json_schema",
            "missing_required_parameter",
        ),
        // The other endpoints.
        (
            "/v1/completions",
            json!({"model": "fast", "max_tokens": 5}),
            "prompt",
            "missing_required_parameter",
        ),
        (
            "/v1/completions",
            json!({"model": "fast", "prompt": ["a", 1]}),
            "prompt[1]",
            "invalid_type",
        ),
        (
            "/v1/completions",
            json!({"model": "fast", "prompt": "x", "best_of": 21}),
            "best_of",
            "integer_above_max_value",
        ),
        (
            "/v1/embeddings",
            json!({"model": "fast"}),
            "input",
            "missing_required_parameter",
        ),
        (
            "/v1/embeddings",
            json!({"model": "fast", "input": {"text": "x"}}),
            "input",
            "invalid_type",
        ),
        (
            "/v1/images/generations",
            json!({"model": "fast"}),
            "prompt",
            "missing_required_parameter",
        ),
        (
            "/v1/audio/speech",
            json!({"model": "fast", "voice": "alloy"}),
            "input",
            "missing_required_parameter",
        ),
    ]
}

#[tokio::test]
async fn invalid_requests_are_400s_naming_the_param_and_reach_no_provider() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}validation: {{ max_messages: 3 }}\n",
        single_provider(&mock)
    ))
    .await;
    let mut cases = invalid_requests();
    // The configured bounds.
    let many = json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]);
    cases.push((
        "/v1/chat/completions",
        json!({"model": "fast", "messages": many}),
        "messages",
        "array_above_max_length",
    ));
    assert!(cases.len() >= 40, "{}", cases.len());
    let c = http();
    for (path, body, param, code) in &cases {
        let r = c.post(gw.url(path)).json(body).send().await.unwrap();
        let status = r.status().as_u16();
        let e: Value = r.json().await.unwrap();
        assert_eq!(
            (
                status,
                e["error"]["param"].as_str(),
                e["error"]["code"].as_str()
            ),
            (400, Some(*param), Some(*code)),
            "{path} {body}: {e}"
        );
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert!(e["error"]["message"].as_str().unwrap().len() > 10);
    }
    assert!(mock.requests().await.is_empty());
    // The same body made valid goes through.
    let r = c
        .post(gw.url("/v1/chat/completions"))
        .json(&chat("fast", "hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Counted under OpenAI's codes.
    let invalid_values = cases.iter().filter(|c| c.3 == "invalid_value").count();
    let m = gw.metrics().await;
    assert_eq!(
        metric(&m, "switchyard_errors_total", &[("code", "invalid_value")]),
        invalid_values as f64
    );
}

#[tokio::test]
async fn validation_can_be_turned_off() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "{}validation: {{ enabled: false }}\n",
        single_provider(&mock)
    ))
    .await;
    let r = gw
        .post(
            "/v1/chat/completions",
            &json!({"model": "fast", "messages": [{"role": "alien", "content": "hi"}]}),
        )
        .await;
    // Forwarded as is: the provider's answer (the mock refuses it, as OpenAI does) decides.
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["provider"], "local", "{e}");
    assert_eq!(mock.requests().await.len(), 1);
}

/// What the official SDKs send (`tests/sdk/capture.py`'s captures) passes validation: the
/// Messages and Responses bodies, translated to chat for the stages and for a provider that
/// speaks chat only, reach it.
#[tokio::test]
async fn sdk_captures_pass_validation() {
    let mock = MockServer::start().await;
    let gw = Gateway::start(&format!(
        "providers:\n  compat: {{ kind: openai-compatible, base_url: \"{}\", api_key: sk-mock }}\nroutes:\n  fast: {{ targets: [ {{ provider: compat, model: gpt-4o-mini }} ] }}\n",
        mock.base_url()
    ))
    .await;
    let dir = repo_root().join("crates/switchyard-providers/tests/fixtures/inbound/sdk");
    let mut sent = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let capture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut body = capture["body"].clone();
        body["model"] = json!("fast");
        let r = http()
            .post(gw.url(capture["path"].as_str().unwrap()))
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, 200, "{}: {text}", path.display());
        sent += 1;
    }
    assert!(sent >= 9, "{sent}");
    assert!(!mock.requests().await.is_empty());
}

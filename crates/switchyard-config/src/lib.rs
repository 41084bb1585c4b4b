//! Switchyard's configuration.
//!
//! Two layers, as in River and TensorZero: [`raw`] mirrors the YAML file exactly (every
//! struct denies unknown fields, every value keeps its source location), and [`validate`]
//! lowers it once into the typed [`Config`] the gateway runs on. Secrets come from the
//! environment through `${VAR}` / `${VAR:-default}` and are held as [`Secret`]s from then on.
//!
//! [`catalog`] holds the model catalog (prices, context windows, modalities: the embedded
//! `conf/models.yaml` plus the config's `catalog:`), the pure cost computation and the
//! `/v1/models` entries.
//!
//! This crate reads files and environment variables and nothing else: no sockets, no DNS.

pub mod catalog;
mod env;
mod errors;
pub mod keys;
pub mod limits;
mod model;
pub mod raw;
pub mod route;
mod units;
mod validate;

use std::path::Path;

pub use catalog::{Catalog, ModelInfo};
pub use errors::{ConfigError, ConfigErrors};
pub use keys::KeyDigest;
pub use model::*;
pub use switchyard_providers::Secret;
pub use units::{parse_duration, parse_size};
pub use validate::Flavor;

/// The configuration `switchyard run` uses when given no `--config`.
pub const DEFAULT_CONFIG: &str = include_str!("../../../conf/switchyard.yaml");

/// The name shown for [`DEFAULT_CONFIG`] in error messages.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded conf/switchyard.yaml>";

/// Loads and validates a config file, reading `${VAR}`s from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::file(&name, format!("cannot read the file: {e}")))?;
    load_str(&text, &name, &|var| std::env::var(var).ok())
}

/// Parses and validates a per-request config (JSON or YAML text) against the running config.
/// No `${VAR}` is expanded: a request must never read the gateway's environment.
pub fn load_request_config(
    text: &str,
    source_name: &str,
    flavor: Flavor,
    config: &Config,
) -> Result<RequestConfig, ConfigErrors> {
    // Refused before parsing when the text nests deeper than any config within the limits
    // could (each level of targets is at most an object and an array): the parser then
    // never recurses on a hostile input.
    let allowed = 2 * config.request_config.max_depth + 6;
    if nesting(text) > allowed {
        return Err(ConfigErrors(vec![ConfigError::file(
            source_name,
            format!(
                "the config nests deeper than this gateway accepts (request_config.max_depth: {})",
                config.request_config.max_depth
            ),
        )]));
    }
    let raw: raw::RawNode = if text.trim_start().starts_with('{') {
        raw::parse_json_as(text, source_name)?
    } else {
        raw::parse_as(text, source_name)?
    };
    validate::request_config(&raw, source_name, flavor, config)
}

/// A validated per-request config.
#[derive(Debug)]
pub struct RequestConfig {
    /// Its route tree.
    pub root: route::RouteNode,
    /// Fields accepted without effect on this gateway (Portkey's `cache`, …), one sentence
    /// each, for the `x-switchyard-warnings` response header.
    pub warnings: Vec<String>,
}

/// The deepest nesting of `{`/`[` in JSON (or flow-style YAML) text, outside strings.
fn nesting(text: &str) -> usize {
    let (mut depth, mut max, mut in_str, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parses and validates config text; `env` answers `${VAR}` lookups.
pub fn load_str(
    text: &str,
    source_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let raw = raw::parse(text, source_name)?;
    validate::validate(raw, source_name, env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn env(name: &str) -> Option<String> {
        match name {
            "LOCAL_KEY" => Some("sk-local-secret".into()),
            _ => None,
        }
    }

    fn load(text: &str) -> Result<Config, ConfigErrors> {
        load_str(text, "test.yaml", &env)
    }

    fn one_error(text: &str) -> ConfigError {
        let mut errs = load(text).unwrap_err().0;
        assert_eq!(errs.len(), 1, "{errs:?}");
        errs.remove(0)
    }

    const ISSUE_EXAMPLE: &str = r#"
server: { listen: 127.0.0.1:8787, admin_listen: 127.0.0.1:9090, threads: 2 }
providers:
  local: { kind: openai, base_url: http://127.0.0.1:9000/v1, api_key: "${LOCAL_KEY}" }
routes:
  fast: { targets: [ { provider: local, model: gpt-4o-mini } ] }
"#;

    #[test]
    fn the_documented_shape_loads() {
        let c = load(ISSUE_EXAMPLE).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(c.server.threads, 2);
        let p = &c.providers[0];
        assert_eq!(p.name, "local");
        assert_eq!(p.api_key.expose(), "sk-local-secret");
        assert_eq!(p.base_url.authority(), "127.0.0.1:9000");
        assert_eq!(p.base_url.path, "/v1");
        assert!(!p.http2);
        let r = c.route("fast").unwrap();
        let route::NodeKind::Group { mode, children } = &r.node.kind else {
            panic!()
        };
        assert!(matches!(mode, route::Mode::Single));
        let route::NodeKind::Target(t) = &children[0].kind else {
            panic!()
        };
        assert!(matches!(
            t.provider,
            route::TargetProvider::Configured(ProviderId(0))
        ));
        assert_eq!(t.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(children[0].path, "config.targets[0]");
        assert_eq!(p.timeouts, Timeouts::default());
    }

    #[test]
    fn anthropic_needs_a_key_and_defaults_its_url() {
        let c = load("providers:\n  claude: { kind: anthropic, api_key: sk-ant, api_version: 2023-06-01, default_max_tokens: 1024 }\n").unwrap();
        let p = &c.providers[0];
        assert_eq!(p.base_url.authority(), "api.anthropic.com");
        assert_eq!(p.base_url.path, "/v1");
        assert_eq!(p.auth, switchyard_providers::AuthStyle::Header("x-api-key"));
        assert_eq!(p.options.api_version.as_deref(), Some("2023-06-01"));
        assert_eq!(p.options.default_max_tokens, Some(1024));
        let e = one_error("providers:\n  claude: { kind: anthropic }\n");
        assert_eq!(e.field.as_deref(), Some("providers.claude.api_key"));
        assert!(e.message.contains("x-api-key"), "{e:?}");
        let e = one_error("providers:\n  claude: { kind: anthropic, api_key: k, auth: sigv4 }\n");
        assert_eq!(e.field.as_deref(), Some("providers.claude.auth"));
        assert!(load("providers:\n  claude: { kind: anthropic, auth: none, base_url: http://127.0.0.1:1/v1 }\n").is_ok());
    }

    #[test]
    fn the_embedded_default_config_is_valid() {
        let c = load_str(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME, &|_| None).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(c.server.admin_listen.to_string(), "127.0.0.1:9090");
        assert!(c.provider_id("openai").is_some());
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        let c = load("").unwrap();
        assert!(c.providers.is_empty());
        assert_eq!(c.server.max_body_size, 32 * 1024 * 1024);
        assert!(c.zero_config.enabled);
        let c = load("# only a comment\n").unwrap();
        assert!(c.routes.is_empty());
    }

    #[test]
    fn unknown_fields_name_file_line_and_field() {
        let e = one_error("server:\n  listen: 127.0.0.1:1\n  bogus: 1\n");
        assert_eq!((e.line, e.column), (Some(3), Some(3)));
        assert_eq!(e.field.as_deref(), Some("server.bogus"));
        assert!(e.message.contains("unknown field `bogus`"), "{}", e.message);
        assert!(e
            .to_string()
            .starts_with("test.yaml:3:3: `server.bogus`: unknown field"));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = one_error("server:\n  threads: two\n");
        assert_eq!(e.field.as_deref(), Some("server.threads"));
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let e = one_error(
            "providers:\n  local:\n    kind: openai\nroutes:\n  fast:\n    targets:\n      - provider: nope\n",
        );
        assert_eq!(e.field.as_deref(), Some("routes.fast.targets[0].provider"));
        assert_eq!(e.line, Some(7));
        assert!(e.message.contains("no provider named `nope`"));
    }

    #[test]
    fn all_semantic_errors_are_reported_together() {
        let errs = load(
            "server:\n  listen: nowhere\nproviders:\n  a:\n    kind: martian\n  b:\n    kind: openai-compatible\n",
        )
        .unwrap_err();
        assert_eq!(errs.0.len(), 3, "{errs}");
        let text = errs.to_string();
        assert!(text.contains("test.yaml:2:11: `server.listen`"), "{text}");
        assert!(text.contains("unknown provider kind `martian`"), "{text}");
        assert!(
            text.contains("`providers.b.base_url`: kind `openai-compatible` has no default URL"),
            "{text}"
        );
    }

    #[test]
    fn azure_openai_needs_a_base_url_and_a_plain_api_version() {
        let e = one_error("providers:\n  az:\n    kind: azure-openai\n    api_key: k\n");
        assert_eq!(e.field.as_deref(), Some("providers.az.base_url"));
        assert!(e.message.contains("kind `azure-openai` has no default URL"));
        let e = one_error(
            "providers:\n  az:\n    kind: azure-openai\n    base_url: https://res.openai.azure.com\n    api_version: \"2024-10-21&x=1\"\n",
        );
        assert_eq!(e.field.as_deref(), Some("providers.az.api_version"));
        let c = load(
            "providers:\n  az:\n    kind: azure-openai\n    base_url: https://res.openai.azure.com\n    api_version: 2025-04-01-preview\n    auth: bearer\n",
        )
        .unwrap();
        assert_eq!(
            c.providers[0].options.api_version.as_deref(),
            Some("2025-04-01-preview")
        );
    }

    #[test]
    fn missing_env_vars_are_errors_that_do_not_leak_values() {
        let e = one_error("providers:\n  p:\n    kind: openai\n    api_key: ${NOPE}\n");
        assert_eq!(e.field.as_deref(), Some("providers.p.api_key"));
        assert!(e.message.contains("`NOPE` is not set"));
        let c = load("providers:\n  p:\n    kind: openai\n    api_key: ${NOPE:-}\n").unwrap();
        assert!(c.providers[0].api_key.is_empty());
    }

    #[test]
    fn bedrock_needs_a_region_and_credentials_to_sign() {
        let c = load(
            "providers:\n  aws:\n    kind: bedrock\n    region: eu-west-1\n    aws_access_key_id: AKID\n    aws_secret_access_key: ${LOCAL_KEY}\n",
        )
        .unwrap();
        let p = &c.providers[0];
        assert_eq!(
            p.base_url.authority(),
            "bedrock-runtime.eu-west-1.amazonaws.com"
        );
        assert_eq!(p.options.region.as_deref(), Some("eu-west-1"));
        assert!(p.options.aws.is_some());
        let e = one_error("providers:\n  aws:\n    kind: bedrock\n    aws_access_key_id: A\n    aws_secret_access_key: B\n");
        assert_eq!(e.field.as_deref(), Some("providers.aws.region"));
        let e = one_error(
            "providers:\n  aws:\n    kind: bedrock\n    base_url: http://127.0.0.1:9000\n    aws_access_key_id: A\n    aws_secret_access_key: B\n",
        );
        assert_eq!(e.field.as_deref(), Some("providers.aws.region"));
        let e = one_error("providers:\n  aws:\n    kind: bedrock\n    region: us-east-1\n");
        assert_eq!(e.field.as_deref(), Some("providers.aws.aws_access_key_id"));
        assert!(e.message.contains("auth: bearer"));
        let c = load("providers:\n  aws:\n    kind: bedrock\n    region: us-east-1\n    auth: bearer\n    api_key: ${LOCAL_KEY}\n").unwrap();
        assert_eq!(c.providers[0].auth, switchyard_providers::AuthStyle::Bearer);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = load(ISSUE_EXAMPLE).unwrap();
        let dump = format!("{c:?}");
        assert!(!dump.contains("sk-local-secret"), "{dump}");
        let c =
            load("providers:\n  p:\n    kind: openai\n    headers: { x-key: \"${LOCAL_KEY}\" }\n")
                .unwrap();
        assert!(!format!("{c:?}").contains("sk-local-secret"));
    }

    #[test]
    fn durations_sizes_and_reserved_headers_are_checked() {
        let e = one_error("defaults:\n  timeouts:\n    connect: 10\n");
        assert!(e.message.contains("no unit"), "{}", e.message);
        let e = one_error("server:\n  max_body_size: 12\n");
        assert!(e.message.contains("between 1KiB and 1GiB"));
        let e = one_error("providers:\n  p:\n    kind: openai\n    headers: { host: x }\n");
        assert!(e.message.contains("set by the gateway"));
        let c = load("defaults:\n  timeouts: { connect: 250ms }\nproviders:\n  p: { kind: openai, timeouts: { total: 5s } }\n").unwrap();
        assert_eq!(c.providers[0].timeouts.connect, Duration::from_millis(250));
        assert_eq!(c.providers[0].timeouts.total, Duration::from_secs(5));
    }

    #[test]
    fn strategies_and_gateway_keys() {
        let c = load("providers:\n  a: { kind: openai }\n  b: { kind: openai }\nroutes:\n  r: { targets: [ {provider: a}, {provider: b} ] }\nauth:\n  keys:\n    - { name: team, key: \"${LOCAL_KEY}\" }\n").unwrap();
        let route::NodeKind::Group { mode, .. } = &c.route("r").unwrap().node.kind else {
            panic!()
        };
        assert!(
            matches!(mode, route::Mode::Fallback { on_status } if *on_status == route::StatusSet::default_failover())
        );
        assert_eq!(c.auth[0].name, "team");
        let e = one_error("auth:\n  keys:\n    - { name: t, key: short }\n");
        assert!(e.message.contains("at least 8"));
    }

    #[test]
    fn gateway_keys_are_held_as_digests_with_metadata_allow_and_caps() {
        let hex = KeyDigest::of(b"sk-hashed-key").to_hex();
        let c = load(&format!("providers:\n  openai: {{ kind: openai }}\nroutes:\n  fast: {{ targets: [ {{ provider: openai }} ] }}\nauth:\n  keys:\n    - {{ name: plain, key: \"${{LOCAL_KEY}}\" }}\n    - name: hashed\n      key_sha256: {}\n      metadata: {{ team: search, app: web }}\n      allow: [fast, openai/*, anthropic/claude-*]\n      max_tokens: 512\n", hex.to_uppercase())).unwrap();
        assert_eq!(c.auth[0].digest, KeyDigest::of(b"sk-local-secret"));
        assert_eq!(c.auth[0].allow, None);
        let k = &c.auth[1];
        assert_eq!(k.digest.to_hex(), hex);
        assert_eq!(k.metadata["team"], "search");
        assert_eq!(
            k.allow.as_deref().unwrap(),
            ["fast", "openai/*", "anthropic/claude-*"]
        );
        assert_eq!(k.max_tokens, Some(512));
        // Nothing in the config's debug form is a usable key.
        assert!(!format!("{c:?}").contains("sk-local-secret"));

        for (yaml, field, says) in [
            ("- { name: a }", "auth.keys[0]", "`key_sha256`"),
            (
                "- { name: a, key: k12345678, key_sha256: abc }",
                "auth.keys[0].key_sha256",
                "not both",
            ),
            (
                "- { name: a, key_sha256: abc }",
                "auth.keys[0].key_sha256",
                "64 hex digits",
            ),
            (
                "- { name: a, key: k12345678, allow: [] }",
                "auth.keys[0].allow",
                "use nothing",
            ),
            (
                "- { name: a, key: k12345678, allow: [slow] }",
                "auth.keys[0].allow",
                "`slow` is neither",
            ),
            (
                "- { name: a, key: k12345678, allow: [nope/*] }",
                "auth.keys[0].allow",
                "`nope/*` is neither",
            ),
            (
                "- { name: a, key: k12345678, max_tokens: 0 }",
                "auth.keys[0].max_tokens",
                "at least 1",
            ),
            (
                "- { name: a, key: k12345678 }\n    - { name: b, key: k12345678 }",
                "auth.keys[1]",
                "twice",
            ),
            (
                "- { name: a, key: k12345678 }\n    - { name: a, key: k87654321 }",
                "auth.keys[1].name",
                "duplicate",
            ),
        ] {
            let e = one_error(&format!("auth:\n  keys:\n    {yaml}\n"));
            assert_eq!(e.field.as_deref(), Some(field), "{yaml}: {e}");
            assert!(e.message.contains(says), "{yaml}: {e}");
        }
        // A kind's name and `*` providers are patterns too.
        assert!(load("auth:\n  keys:\n    - { name: a, key: k12345678, allow: [anthropic/*, '*/gpt-4o', '*'] }\n").is_ok());
    }

    #[test]
    fn keys_files_are_read_beside_the_config_and_checked() {
        let dir = std::env::temp_dir().join(format!("switchyard-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let main = dir.join("main.yaml");
        let hex = KeyDigest::of(b"sk-from-the-file").to_hex();
        std::fs::write(
            dir.join("keys.yaml"),
            format!("keys:\n  - {{ name: filed, key_sha256: {hex}, metadata: {{ team: a }} }}\n"),
        )
        .unwrap();
        std::fs::write(
            &main,
            "auth:\n  keys_file: keys.yaml\n  keys:\n    - { name: inline, key: k12345678 }\n",
        )
        .unwrap();
        let c = load_file(&main).unwrap();
        assert_eq!(c.auth.len(), 2);
        assert_eq!(c.auth[1].name, "filed");
        assert_eq!(c.auth[1].digest, KeyDigest::of(b"sk-from-the-file"));

        // A bad entry in the keys file is reported with the keys file's name.
        std::fs::write(
            dir.join("keys.yaml"),
            "keys:\n  - { name: filed, key_sha256: nothex }\n",
        )
        .unwrap();
        let e = load_file(&main).unwrap_err().0;
        assert!(e[0].file.ends_with("keys.yaml"), "{e:?}");
        assert_eq!(e[0].field.as_deref(), Some("keys[0].key_sha256"));
        std::fs::write(
            dir.join("keys.yaml"),
            "keys:\n  - { name: filed, colour: blue }\n",
        )
        .unwrap();
        let e = load_file(&main).unwrap_err().0;
        assert!(
            e[0].file.ends_with("keys.yaml") && e[0].message.contains("colour"),
            "{e:?}"
        );
        // Missing: a config error naming the field.
        std::fs::remove_file(dir.join("keys.yaml")).unwrap();
        let e = load_file(&main).unwrap_err().0;
        assert_eq!(e[0].field.as_deref(), Some("auth.keys_file"));
        assert!(e[0].message.contains("cannot read"), "{e:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn validation_bounds() {
        let c = load("").unwrap();
        assert!(c.validation.enabled);
        assert_eq!(c.validation.limits, ValidationLimits::default());
        let c = load(
            "validation: { enabled: false, max_messages: 10, max_tokens: 4096, max_depth: 20 }\n",
        )
        .unwrap();
        assert!(!c.validation.enabled);
        assert_eq!(c.validation.limits.max_messages, 10);
        assert_eq!(c.validation.limits.max_tokens, Some(4096));
        assert_eq!(c.validation.limits.max_depth, 20);
        let e = one_error("validation: { max_depth: 1000 }\n");
        assert_eq!(e.field.as_deref(), Some("validation.max_depth"));
    }

    const TREE: &str = r#"
providers:
  a: { kind: openai }
  b: { kind: openai }
  c: { kind: openai }
routes:
  cheap: { targets: [ { provider: c, model: mini } ] }
  smart:
    strategy: { mode: conditional, conditions: [ { query: { metadata.tier: { $eq: paid } }, then: premium } ], default: budget }
    retry: { attempts: 3, on_status_codes: [429], backoff: { initial: 100ms, max: 2s } }
    override_params: { max_tokens: 512 }
    targets:
      - name: premium
        strategy: loadbalance
        timeouts: { total: 30s }
        targets:
          - { provider: a, model: big, weight: 3 }
          - { provider: b, model: big, weight: 1 }
      - { name: budget, route: cheap }
"#;

    #[test]
    fn route_trees_nest_and_reference_each_other() {
        let c = load(TREE).unwrap();
        let smart = c.route("smart").unwrap();
        let route::NodeKind::Group {
            mode: route::Mode::Conditional { rules, default },
            children,
        } = &smart.node.kind
        else {
            panic!()
        };
        assert_eq!(rules[0].then, "premium");
        assert_eq!(default.as_deref(), Some("budget"));
        assert_eq!(smart.node.settings.retry.as_ref().unwrap().attempts, 3);
        assert_eq!(smart.node.settings.override_params["max_tokens"], 512);
        let route::NodeKind::Group {
            mode: route::Mode::LoadBalance { balance, .. },
            children: lb,
        } = &children[0].kind
        else {
            panic!()
        };
        assert_eq!(*balance, route::Balance::Weighted);
        assert_eq!(lb[0].weight, 3.0);
        assert_eq!(lb[1].path, "config.targets[0].targets[1]");
        assert_eq!(
            children[0].settings.timeouts.total,
            Some(Duration::from_secs(30))
        );
        // The reference expands into the referenced route under this node's path.
        let route::NodeKind::Group {
            children: budget, ..
        } = &children[1].kind
        else {
            panic!()
        };
        assert_eq!(budget[0].path, "config.targets[1].targets[0]");
    }

    #[test]
    fn invalid_route_trees_say_what_is_wrong() {
        let cases = [
            ("routes:\n  a: { route: b }\n  b: { route: a }\n", "refers to itself"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { strategy: sometimes, targets: [ {provider: p} ] }\n", "unknown strategy `sometimes`"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { strategy: { mode: conditional, conditions: [ { query: { tier: x }, then: p } ] }, targets: [ {provider: p, name: q} ] }\n", "must start with"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { strategy: { mode: conditional, default: nobody }, targets: [ {provider: p} ] }\n", "default names `nobody`"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { provider: p, route: r }\n", "only one of"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { model: x }\n", "needs `provider`, `route` or `targets`"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { provider: p, retry: { attempts: 50 } }\n", "at most 10 retries"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { provider: p, override_params: { stream: false } }\n", "cannot be overridden"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { strategy: loadbalance, targets: [ {provider: p, weight: 0} ] }\n", "weight 0"),
            ("providers:\n  p: { kind: openai }\nroutes:\n  r: { provider: p, api_key: x }\n", "cannot be set for the configured provider"),
        ];
        for (text, want) in cases {
            let errs = load(text).unwrap_err();
            assert!(errs.to_string().contains(want), "{text}\n→ {errs}");
            assert!(errs.0.iter().all(|e| e.line.is_some()), "{errs}");
        }
    }

    #[test]
    fn per_request_configs_use_portkey_semantics_when_asked() {
        let c = load(TREE).unwrap();
        let portkey = r#"{"strategy": {"mode": "fallback"}, "targets": [{"provider": "a", "override_params": {"model": "x"}}, {"provider": "openai", "api_key": "sk-client"}], "retry": {"attempts": 2}}"#;
        let n = load_request_config(portkey, "x-portkey-config", Flavor::Portkey, &c)
            .unwrap()
            .root;
        let route::NodeKind::Group {
            mode: route::Mode::Fallback { on_status },
            children,
        } = &n.kind
        else {
            panic!()
        };
        assert_eq!(*on_status, route::StatusSet::AnyError);
        let route::NodeKind::Target(t) = &children[1].kind else {
            panic!()
        };
        assert!(
            matches!(&t.provider, route::TargetProvider::Inline { kind, api_key, .. } if *kind == switchyard_providers::ProviderKind::OpenAi && api_key.expose() == "sk-client")
        );
        assert!(!format!("{n:?}").contains("sk-client"));
        let ours = load_request_config(
            r#"{"strategy": "fallback", "targets": [{"route": "cheap"}, {"provider": "b"}]}"#,
            "x-switchyard-config",
            Flavor::Switchyard,
            &c,
        )
        .unwrap()
        .root;
        let route::NodeKind::Group {
            mode: route::Mode::Fallback { on_status },
            ..
        } = &ours.kind
        else {
            panic!()
        };
        assert_eq!(*on_status, route::StatusSet::default_failover());
        // Errors point into the header text and name the field.
        let e = load_request_config(
            r#"{"targets": [{"provider": "a", "colour": 1}]}"#,
            "x-switchyard-config",
            Flavor::Switchyard,
            &c,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("x-switchyard-config:1:")
                && e.to_string().contains("unknown field `colour`"),
            "{e}"
        );
        let e = load_request_config(
            r#"{"provider": "nope"}"#,
            "x-portkey-config",
            Flavor::Portkey,
            &c,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("neither a configured provider nor a known provider kind"),
            "{e}"
        );
        let e = load_request_config(
            r#"{"virtual_key": "vk-1", "provider": "a"}"#,
            "h",
            Flavor::Portkey,
            &c,
        )
        .unwrap_err();
        assert!(e.to_string().contains("hosted Portkey feature"), "{e}");
        let e = load_request_config("{not json", "h", Flavor::Portkey, &c).unwrap_err();
        assert!(e.0[0].line.is_some(), "{e}");
    }

    /// Every field of Portkey's config schema (`src/middlewares/requestValidator/schema/
    /// config.ts`) is implemented, accepted with a warning, or refused with a reason.
    #[test]
    fn portkey_configs_are_accepted_as_written() {
        let c = load(TREE).unwrap();
        let portkey =
            |text: &str| load_request_config(text, "x-portkey-config", Flavor::Portkey, &c);
        // Portkey's docs: fallback with retries, both spellings of the Retry-After switch,
        // a cache block, strictness, forwarded headers and a request timeout.
        let ok = portkey(
            r#"{
              "strategy": {"mode": "fallback", "on_status_codes": [429, 503]},
              "retry": {"attempts": 3, "on_status_codes": [429], "use_retry_after_headers": true},
              "cache": {"mode": "simple", "max_age": 60},
              "strict_open_ai_compliance": false,
              "request_timeout": 10000,
              "forward_headers": ["X-Trace-Id", "x-team"],
              "targets": [
                {"provider": "a", "override_params": {"model": "gpt-4o"}, "weight": 0.7},
                {"provider": "openai", "api_key": "sk-client", "openai_project": "proj_1",
                 "openai_organization": "org-1", "retry": {"attempts": 1, "use_retry_after_header": false}}
              ]
            }"#,
        )
        .unwrap();
        assert_eq!(ok.warnings.len(), 2, "{:?}", ok.warnings);
        assert!(ok.warnings[0].contains("config.cache"), "{:?}", ok.warnings);
        assert!(ok.root.settings.timeouts.total_is_request_timeout);
        let fwd = ok.root.settings.forward_headers.as_deref().unwrap();
        assert_eq!(fwd, ["x-trace-id", "x-team"]);
        let route::NodeKind::Group { children, .. } = &ok.root.kind else {
            panic!()
        };
        let route::NodeKind::Target(t) = &children[1].kind else {
            panic!()
        };
        let route::TargetProvider::Inline {
            extra: Some(extra), ..
        } = &t.provider
        else {
            panic!("{t:?}")
        };
        assert_eq!(extra.headers.len(), 2);
        assert!(
            !format!("{ok:?}").contains("proj_1"),
            "header values are sensitive"
        );
        // Bedrock and Vertex credentials build the provider's URL; Azure takes a token.
        let bedrock = portkey(r#"{"provider": "bedrock", "aws_access_key_id": "AKIA1", "aws_secret_access_key": "s3cr3t", "aws_region": "us-west-2"}"#).unwrap();
        let route::NodeKind::Target(t) = &bedrock.root.kind else {
            panic!()
        };
        let route::TargetProvider::Inline {
            custom_host: Some(url),
            extra: Some(extra),
            ..
        } = &t.provider
        else {
            panic!("{t:?}")
        };
        assert_eq!(url.host, "bedrock-runtime.us-west-2.amazonaws.com");
        assert!(extra.options.aws.is_some());
        assert!(!format!("{bedrock:?}").contains("s3cr3t"));
        let vertex = portkey(r#"{"provider": "vertex-ai", "api_key": "ya29.x", "vertex_project_id": "p1", "vertex_region": "us-central1"}"#).unwrap();
        let route::NodeKind::Target(t) = &vertex.root.kind else {
            panic!()
        };
        let route::TargetProvider::Inline {
            custom_host: Some(url),
            ..
        } = &t.provider
        else {
            panic!()
        };
        assert_eq!(url.host, "us-central1-aiplatform.googleapis.com");
        assert!(
            url.path.contains("/projects/p1/locations/us-central1/"),
            "{}",
            url.path
        );
        // Ignored with a warning: the hosted circuit breaker and sticky balancing.
        let w = portkey(r#"{"strategy": {"mode": "loadbalance", "sticky": {"enabled": true}}, "cb_config": {"failure_threshold": 3}, "targets": [{"provider": "a"}]}"#).unwrap();
        assert_eq!(w.warnings.len(), 2, "{:?}", w.warnings);
        // Refused, each with its reason: guardrails (never skipped silently), credentials
        // this gateway does not exchange, a field of another kind, credentials forwarded.
        for (text, field, says) in [
            (
                r#"{"provider": "a", "input_guardrails": ["pg-123"]}"#,
                "config.input_guardrails",
                "refused rather than sent unchecked",
            ),
            (
                r#"{"provider": "a", "before_request_hooks": [{"id": "h"}]}"#,
                "config.before_request_hooks",
                "not run",
            ),
            (
                r#"{"provider": "vertex-ai", "vertex_region": "us-central1", "vertex_service_account_json": {"type": "service_account"}}"#,
                "config.vertex_service_account_json",
                "access token",
            ),
            (
                r#"{"provider": "openai", "api_key": "k", "aws_region": "us-east-1"}"#,
                "config.aws_region",
                "applies to provider kind `bedrock`",
            ),
            (
                r#"{"provider": "a", "forward_headers": ["Authorization"]}"#,
                "config.forward_headers",
                "cannot be forwarded",
            ),
            (
                r#"{"provider": "a", "forward_headers": ["x-portkey-config"]}"#,
                "config.forward_headers",
                "cannot be forwarded",
            ),
            (
                r#"{"provider": "a", "cache": {"mode": "fuzzy"}}"#,
                "config.cache",
                "simple | semantic",
            ),
            (
                r#"{"provider": "bedrock", "aws_access_key_id": "a", "aws_secret_access_key": "b", "aws_region": "us-east-1.evil.com/"}"#,
                "config.aws_region",
                "region or project id",
            ),
            (
                r#"{"provider": "a", "openai_project": "p"}"#,
                "config.openai_project",
                "configured provider",
            ),
        ] {
            let e = portkey(text).unwrap_err();
            let fields: Vec<_> = e.0.iter().filter_map(|e| e.field.clone()).collect();
            assert!(fields.iter().any(|f| f == field), "{text}: {fields:?} {e}");
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        // Portkey-only fields do not belong in the gateway's own config file.
        let e = load(&format!(
            "{TREE}  cached: {{ provider: a, cache: {{ mode: simple }} }}\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("per-request"), "{e}");
        // A file's routes may forward headers.
        let f = load(&format!(
            "{TREE}  fwd: {{ provider: a, forward_headers: [x-request-tag] }}\n"
        ))
        .unwrap();
        assert!(f.route("fwd").is_some());
    }

    /// A per-request config is parsed on a request's thread, one stack frame group per level
    /// of `targets`: the deepest config the nesting bound lets through must parse (and be
    /// refused) well within a worker's stack — 2 MiB for Tokio's — even unoptimised.
    #[test]
    fn the_deepest_config_admitted_fits_a_small_stack() {
        let c = load(TREE).unwrap();
        let allowed = 2 * c.request_config.max_depth + 6;
        let levels = (allowed - 1) / 2;
        let text = format!(
            "{}{{\"provider\": \"a\"}}{}",
            "{\"targets\": [".repeat(levels),
            "]}".repeat(levels)
        );
        assert!(nesting(&text) <= allowed);
        let e = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                load_request_config(&text, "x-portkey-config", Flavor::Portkey, &c).map(|_| ())
            })
            .unwrap()
            .join()
            .expect("parsing overflowed a 512 KiB stack")
            .unwrap_err();
        assert!(e.to_string().contains("max_depth"), "{e}");
    }

    #[test]
    fn the_same_listener_twice_is_refused() {
        let e = one_error("server: { listen: 127.0.0.1:1000, admin_listen: 127.0.0.1:1000 }\n");
        assert_eq!(e.field.as_deref(), Some("server.admin_listen"));
    }
    #[test]
    fn vertex_urls_are_filled_from_project_and_location() {
        let c = load(
            "providers:\n  v: { kind: vertex-ai, project: my-proj, location: europe-west4 }\n",
        )
        .unwrap();
        let p = &c.providers[0];
        assert_eq!(p.base_url.host, "europe-west4-aiplatform.googleapis.com");
        assert_eq!(
            p.base_url.path,
            "/v1/projects/my-proj/locations/europe-west4/publishers/google"
        );
        let c =
            load("providers:\n  v: { kind: vertex_ai, project: p, location: global }\n").unwrap();
        assert_eq!(c.providers[0].base_url.host, "aiplatform.googleapis.com");
        assert_eq!(
            c.providers[0].base_url.path,
            "/v1/projects/p/locations/global/publishers/google"
        );
        let e = load("providers:\n  v: { kind: vertex-ai, location: us-central1 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`providers.v.project`"), "{e}");
        let c = load("providers:\n  g: { kind: gemini, api_key: k }\n").unwrap();
        assert_eq!(
            c.providers[0].base_url.host,
            "generativelanguage.googleapis.com"
        );
    }
}

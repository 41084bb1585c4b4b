//! Gateway keys (`auth.keys`, `auth.keys_file`): every request must present one, as
//! `Authorization: Bearer`, `x-switchyard-api-key`, `x-portkey-api-key` or `x-api-key`.
//! Registered only when keys are configured.
//!
//! The gateway holds only the keys' SHA-256 digests. A presented key is hashed once and its
//! digest looked up; digests are compared in constant time. The lookup's timing can say
//! something about a *digest*, which a caller can compute for any guess anyway, and nothing
//! about a key: reaching a stored digest still takes a preimage.
//!
//! A key's `allow` list (route names and `provider/model` patterns) is checked when the
//! request's route tree is known ([`check_allowed`], called by the plan step for configured
//! routes, `provider/model` and catalog names, per-request configs and zero-config targets
//! alike): a tree the key may not use ends the request with a 403 naming the model, before
//! any stage that costs money and before any provider is asked.

use std::collections::HashMap;
use std::sync::Arc;

use switchyard_config::route::{NodeKind, RouteNode, TargetProvider};
use switchyard_config::{Config, GatewayKey, KeyDigest};
use switchyard_pipeline::{GatewayError, Hooks, KeyIdentity, RequestCx, RequestHead, Stage, Step};

use crate::intake::{bearer, first_header, names};

/// The `admit` stage that checks gateway keys.
pub struct Auth {
    keys: HashMap<KeyDigest, Known>,
}

/// What a digest admits.
struct Known {
    digest: KeyDigest,
    id: Arc<KeyIdentity>,
    allow: Option<KeyAllow>,
}

/// The allow list of the key a request was admitted with, kept in the request's extensions
/// (only for keys that have one).
#[derive(Clone)]
pub struct KeyAllow(Arc<Allow>);

/// A key's allow list.
struct Allow {
    key: Arc<str>,
    patterns: Vec<String>,
}

impl Auth {
    /// A stage accepting `keys`.
    pub fn new(keys: &[GatewayKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|k| {
                    let name: Arc<str> = Arc::from(k.name.as_str());
                    let id = KeyIdentity {
                        name: name.clone(),
                        metadata: k.metadata.clone(),
                    };
                    let allow = k.allow.as_ref().map(|patterns| {
                        KeyAllow(Arc::new(Allow {
                            key: name,
                            patterns: patterns.clone(),
                        }))
                    });
                    let known = Known {
                        digest: k.digest,
                        id: Arc::new(id),
                        allow,
                    };
                    (k.digest, known)
                })
                .collect(),
        }
    }

    fn check(&self, cx: &mut RequestCx, head: &RequestHead) -> Result<(), GatewayError> {
        let dedicated = first_header(head, &names::API_KEY);
        let (presented, from_authorization) = match (dedicated, bearer(head)) {
            (Some(k), _) => (k, false),
            (None, Some(k)) => (k, true),
            (None, None) => {
                return Err(GatewayError::Unauthorized(
                    "missing gateway API key: send it as `Authorization: Bearer <key>` or `x-switchyard-api-key`",
                ))
            }
        };
        let digest = KeyDigest::of(presented.as_bytes());
        let known = self
            .keys
            .get(&digest)
            .filter(|k| k.digest.ct_eq(&digest))
            .ok_or(GatewayError::Unauthorized("invalid gateway API key"))?;
        cx.key = Some(known.id.clone());
        cx.authorization_is_gateway_key = from_authorization;
        if let Some(allow) = &known.allow {
            cx.extensions.insert(allow.clone());
        }
        Ok(())
    }
}

impl Stage for Auth {
    fn name(&self) -> &str {
        "auth"
    }

    fn hooks(&self) -> Hooks {
        Hooks::ADMIT
    }

    fn admit<'a>(&'a self, cx: &'a mut RequestCx, head: &'a RequestHead) -> Step<'a> {
        match self.check(cx, head) {
            Ok(()) => Step::CONTINUE,
            Err(e) => Step::fail(e),
        }
    }
}

/// Refuses a route tree the request's key may not use: allowed when the key's list names the
/// configured route the request resolved to (`route`), or when every target of the tree —
/// `provider/model`, with the provider's config name (a kind's name for a client-described
/// provider) and the model the target would send — matches an entry. Free for requests whose
/// key has no allow list.
pub fn check_allowed(
    config: &Config,
    cx: &RequestCx,
    route: Option<&str>,
    root: &RouteNode,
    model: &str,
) -> Result<(), GatewayError> {
    let Some(KeyAllow(allow)) = cx.extensions.get::<KeyAllow>() else {
        return Ok(());
    };
    if route.is_some_and(|r| allow.patterns.iter().any(|p| glob(p, r))) {
        return Ok(());
    }
    let mut denied = None;
    targets(root, None, &mut |provider, target_model| {
        if denied.is_some() {
            return;
        }
        let provider = match provider {
            TargetProvider::Configured(id) => config.provider(*id).map_or("", |p| p.name.as_str()),
            TargetProvider::Inline { kind, .. } => kind.name(),
        };
        let target_model = target_model.unwrap_or(model);
        let full = format!("{provider}/{target_model}");
        if !allow.patterns.iter().any(|p| glob(p, &full)) {
            denied = Some(full);
        }
    });
    let Some(target) = denied else { return Ok(()) };
    let shown: String = model.chars().take(200).collect();
    let message = if target == model {
        format!(
            "the gateway key `{}` may not use the model `{shown}`",
            allow.key
        )
    } else {
        format!(
            "the gateway key `{}` may not use the model `{shown}` (it routes to `{}`, outside the key's allow list)",
            allow.key,
            target.chars().take(200).collect::<String>()
        )
    };
    Err(GatewayError::Refused {
        status: 403,
        code: "model_not_allowed",
        message,
        param: Some("model".into()),
        headers: Vec::new(),
    })
}

/// Calls `f` with every target of the tree and the model it would send (`None`: the
/// client's), the nearest `override_params.model` applying to targets without their own.
fn targets<'t>(
    node: &'t RouteNode,
    inherited: Option<&'t str>,
    f: &mut dyn FnMut(&'t TargetProvider, Option<&'t str>),
) {
    let overridden = node.settings.model_override().or(inherited);
    match &node.kind {
        NodeKind::Target(t) => f(&t.provider, t.model_or(overridden)),
        NodeKind::Group { children, .. } => {
            for c in children {
                targets(c, overridden, f);
            }
        }
    }
}

/// `*` matches any run of characters (`/` included); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it is matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` take one more character.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, m) in [
            ("openai/*", "openai/gpt-4o", true),
            ("openai/*", "openai/", true),
            ("openai/*", "anthropic/claude", false),
            ("openai/*", "openai", false),
            ("*", "anything/at/all", true),
            ("*/gpt-4o", "azure/gpt-4o", true),
            ("*/gpt-4o", "azure/gpt-4o-mini", false),
            ("anthropic/claude-*-4*", "anthropic/claude-sonnet-4-5", true),
            ("anthropic/claude-*-4*", "anthropic/claude-3-5-haiku", false),
            ("fast", "fast", true),
            ("fast", "faster", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("", "", true),
            ("", "x", false),
        ] {
            assert_eq!(glob(p, t), m, "{p} ~ {t}");
        }
    }

    fn config() -> Config {
        switchyard_config::load_str(
            r#"
providers:
  openai: { kind: openai }
  claude: { kind: anthropic, api_key: k }
routes:
  fast: { targets: [ { provider: openai, model: gpt-4o-mini } ] }
  mixed: { targets: [ { provider: openai, model: gpt-4o }, { provider: claude, model: claude-x } ] }
  bare: { override_params: { model: o-mini }, targets: [ { provider: openai }, { provider: claude, model: c } ] }
"#,
            "t.yaml",
            &|_| None,
        )
        .unwrap()
    }

    fn cx_with(patterns: &[&str]) -> RequestCx {
        let mut cx = RequestCx::new(&Arc::from("none"));
        cx.extensions.insert(KeyAllow(Arc::new(Allow {
            key: Arc::from("team-a"),
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
        })));
        cx
    }

    fn check(c: &Config, cx: &RequestCx, route: &str) -> Result<(), String> {
        let root = &c.route(route).unwrap().node;
        check_allowed(c, cx, Some(route), root, route).map_err(|e| {
            assert_eq!(e.status(), 403);
            assert_eq!(e.label(), "model_not_allowed");
            e.to_string()
        })
    }

    #[test]
    fn routes_are_allowed_by_name_or_when_every_target_is() {
        let c = config();
        let cx = cx_with(&["openai/*"]);
        assert!(check(&c, &cx, "fast").is_ok());
        let e = check(&c, &cx, "mixed").unwrap_err();
        assert!(
            e.contains("`mixed`") && e.contains("`claude/claude-x`"),
            "{e}"
        );
        // Named, a route is allowed whatever its targets.
        assert!(check(&c, &cx_with(&["mixed"]), "mixed").is_ok());
        // The nearest override_params.model is what a target without a model sends.
        assert!(check(&c, &cx_with(&["openai/o-mini", "claude/c"]), "bare").is_ok());
        assert!(check(&c, &cx_with(&["openai/gpt-*", "claude/c"]), "bare").is_err());
        // No allow list: anything.
        let open = RequestCx::new(&Arc::from("none"));
        assert!(check(&c, &open, "mixed").is_ok());
    }

    #[test]
    fn direct_and_client_described_targets_use_provider_slash_model() {
        let c = config();
        let cx = cx_with(&["openai/gpt-4o*", "groq/*"]);
        let id = c.provider_id("openai").unwrap();
        let direct =
            switchyard_router::single_target(TargetProvider::Configured(id), Some("gpt-4o".into()));
        assert!(check_allowed(&c, &cx, None, &direct, "openai/gpt-4o").is_ok());
        let other =
            switchyard_router::single_target(TargetProvider::Configured(id), Some("o3".into()));
        let e = check_allowed(&c, &cx, None, &other, "openai/o3").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the gateway key `team-a` may not use the model `openai/o3`"
        );
        let inline = switchyard_router::single_target(
            TargetProvider::Inline {
                kind: switchyard_providers::ProviderKind::from_name("groq").unwrap(),
                api_key: Default::default(),
                custom_host: None,
                extra: None,
            },
            None,
        );
        assert!(check_allowed(&c, &cx, None, &inline, "llama-3").is_ok());
        let inline_claude = switchyard_router::single_target(
            TargetProvider::Inline {
                kind: switchyard_providers::ProviderKind::from_name("anthropic").unwrap(),
                api_key: Default::default(),
                custom_host: None,
                extra: None,
            },
            None,
        );
        assert!(check_allowed(&c, &cx, None, &inline_claude, "claude").is_err());
    }
}

//! Lowering route nodes (YAML routes and per-request configs) into [`RouteNode`] trees.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use serde_saphyr::Spanned;
use switchyard_providers::{AwsCredentials, ProviderKind, Secret};

use super::Ctx;
use crate::model::{BaseUrl, Config, ProviderId, ZeroConfig};
use crate::raw::{RawNode, RawRetry, RawTimeouts};
use crate::route::*;

/// Where names used by a route resolve.
pub(crate) enum Source<'a> {
    /// The config file being validated: raw routes (for `route:` references) and the sorted
    /// provider names.
    File {
        routes: &'a BTreeMap<String, RawNode>,
        providers: &'a [&'a str],
    },
    /// A per-request config: the running, validated config.
    Request { config: &'a Config },
}

/// Whose defaults apply where a config is silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Switchyard's: fallback on 429 and 5xx.
    Switchyard,
    /// Portkey's (`x-portkey-config`): fallback on any non-2xx.
    Portkey,
}

pub(crate) struct RouteCx<'a> {
    pub source: Source<'a>,
    pub flavor: Flavor,
    pub zero_config: ZeroConfig,
    /// Routes being expanded, to refuse cycles.
    pub stack: Vec<String>,
    /// Fields of a per-request config accepted but without effect here, for the client.
    pub warnings: Vec<String>,
}

/// The location to blame for a node: its first located field.
fn anchor(raw: &RawNode) -> Option<&Spanned<String>> {
    raw.provider
        .as_ref()
        .or(raw.route.as_ref())
        .or(raw.model.as_ref())
        .or(raw.name.as_ref())
}

impl Ctx<'_> {
    pub(super) fn node_err(&mut self, raw: &RawNode, field: &str, msg: impl Into<String>) {
        match (anchor(raw), &raw.targets, &raw.strategy) {
            (Some(a), _, _) => self.err(a, field, msg),
            (None, Some(t), _) => self.err(t, field, msg),
            (None, None, Some(s)) => self.err(s, field, msg),
            (None, None, None) => self.errors.push(crate::errors::ConfigError {
                file: self.file.to_owned(),
                line: None,
                column: None,
                field: Some(field.to_owned()),
                message: msg.into(),
            }),
        }
    }
}

pub(crate) fn node(
    cx: &mut Ctx<'_>,
    rc: &mut RouteCx<'_>,
    raw: &RawNode,
    field: &str,
    path: &str,
) -> Option<RouteNode> {
    let before = cx.errors.len();
    if let Some(v) = &raw.virtual_key {
        cx.err(v, format!("{field}.virtual_key"), "virtual keys are a hosted Portkey feature: name a configured provider, or give `provider` and `api_key`");
    }
    portkey_fields(cx, rc, raw, field);
    if raw.limits.is_some() || raw.budget.is_some() {
        let top = matches!(&rc.source, Source::File { routes, .. } if routes.values().any(|r| std::ptr::eq(r, raw)));
        if !top {
            cx.node_err(raw, field, "`limits` and `budget` belong on a route (directly under `routes:`), not on a target or in a per-request config");
        }
    }
    let settings = settings(cx, rc, raw, field);
    let weight = match &raw.weight {
        Some(w) if !(w.value.is_finite() && w.value >= 0.0) => {
            cx.err(w, format!("{field}.weight"), "must be a number ≥ 0");
            1.0
        }
        Some(w) => w.value,
        None => 1.0,
    };
    let name = raw.name.as_ref().map(|n| n.value.clone());
    let shapes = [
        raw.provider.is_some(),
        raw.route.is_some(),
        raw.targets.is_some(),
    ];
    let kind = match shapes {
        [true, false, false] => target(cx, rc, raw, field).map(NodeKind::Target),
        [false, true, false] => reference(cx, rc, raw, field, path),
        [false, false, true] => group(cx, rc, raw, field, path),
        [false, false, false] => {
            cx.node_err(
                raw,
                field,
                "a route (or target) needs `provider`, `route` or `targets`",
            );
            None
        }
        _ => {
            cx.node_err(
                raw,
                field,
                "give only one of `provider`, `route` and `targets`",
            );
            None
        }
    };
    if raw.strategy.is_some() && raw.targets.is_none() {
        cx.node_err(
            raw,
            &format!("{field}.strategy"),
            "`strategy` needs `targets`",
        );
    }
    if raw.model.is_some() && raw.provider.is_none() {
        cx.node_err(raw, &format!("{field}.model"), "`model` belongs on a target with `provider`; for a group use `override_params: {model: …}`");
    }
    if cx.errors.len() > before {
        return None;
    }
    Some(RouteNode {
        kind: kind?,
        name,
        weight,
        path: path.to_owned(),
        settings,
    })
}

fn target(
    cx: &mut Ctx<'_>,
    rc: &mut RouteCx<'_>,
    raw: &RawNode,
    field: &str,
) -> Option<TargetSpec> {
    let p = raw.provider.as_ref()?;
    if let Some(codes) = &raw.on_status_codes {
        cx.err(
            codes,
            format!("{field}.on_status_codes"),
            "`on_status_codes` says when a group moves to its next target: set it on the group (or its `strategy`), not on a single target",
        );
    }
    let model = match &raw.model {
        Some(m) if m.value.trim().is_empty() => {
            cx.err(m, format!("{field}.model"), "a model name cannot be empty");
            None
        }
        m => m.as_ref().map(|m| m.value.clone()),
    };
    let configured = match &rc.source {
        Source::File { providers, .. } => providers
            .binary_search(&p.value.as_str())
            .ok()
            .map(ProviderId),
        Source::Request { config } => config.provider_id(&p.value),
    };
    if let Some(id) = configured {
        for (v, name) in [
            (raw.api_key.as_ref(), "api_key"),
            (raw.custom_host.as_ref(), "custom_host"),
        ]
        .into_iter()
        .chain(inline_strings(raw))
        {
            if let Some(v) = v {
                cx.err(
                    v,
                    format!("{field}.{name}"),
                    format!(
                        "`{name}` cannot be set for the configured provider `{}`",
                        p.value
                    ),
                );
            }
        }
        return Some(TargetSpec {
            provider: TargetProvider::Configured(id),
            model,
        });
    }
    if let Source::File { .. } = rc.source {
        cx.err(
            p,
            format!("{field}.provider"),
            format!("no provider named `{}` is configured", p.value),
        );
        return None;
    }
    // A per-request config naming a provider kind with its own key.
    let Some(kind) = ProviderKind::from_name(&p.value) else {
        cx.err(
            p,
            format!("{field}.provider"),
            format!(
                "`{}` is neither a configured provider nor a known provider kind",
                p.value
            ),
        );
        return None;
    };
    if !rc.zero_config.enabled {
        cx.err(p, format!("{field}.provider"), format!("`{}` is not a configured provider, and this gateway does not accept providers from requests (zero_config.enabled)", p.value));
        return None;
    }
    let extra = inline_extra(cx, raw, kind, field);
    let api_key = raw
        .azure_ad_token
        .as_deref()
        .or(raw.api_key.as_ref())
        .map(|k| Secret::new(k.value.clone()))
        .unwrap_or_default();
    let templated = extra.as_ref().and_then(|e| e.base_url.clone());
    let custom_host = match &raw.custom_host {
        Some(h) if !rc.zero_config.allow_custom_host => {
            cx.err(
                h,
                format!("{field}.custom_host"),
                "custom hosts are disabled on this gateway (zero_config.allow_custom_host)",
            );
            None
        }
        Some(h) => match BaseUrl::parse(&h.value) {
            Ok(u) => Some(u),
            Err(e) => {
                cx.err(h, format!("{field}.custom_host"), e);
                None
            }
        },
        None if templated.is_some() => templated,
        None => {
            if kind.info().default_base_url.is_none_or(|u| u.contains('{')) {
                cx.err(
                    p,
                    format!("{field}.custom_host"),
                    format!("provider kind `{kind}` has no public URL: give `custom_host`"),
                );
            }
            None
        }
    };
    Some(TargetSpec {
        provider: TargetProvider::Inline {
            kind,
            api_key,
            custom_host,
            extra: extra.map(|e| Box::new(e.settings)),
        },
        model: model.or_else(|| raw.deployment_id.as_ref().map(|d| d.value.clone())),
    })
}

fn reference(
    cx: &mut Ctx<'_>,
    rc: &mut RouteCx<'_>,
    raw: &RawNode,
    field: &str,
    path: &str,
) -> Option<NodeKind> {
    let r = raw.route.as_ref()?;
    if rc.stack.contains(&r.value) {
        cx.err(
            r,
            format!("{field}.route"),
            format!(
                "route `{}` refers to itself through {}",
                r.value,
                rc.stack.join(" → ")
            ),
        );
        return None;
    }
    let child_path = format!("{path}.targets[0]");
    let child = match &rc.source {
        Source::File { routes, .. } => {
            let Some(target) = routes.get(&r.value) else {
                cx.err(
                    r,
                    format!("{field}.route"),
                    format!("no route named `{}`", r.value),
                );
                return None;
            };
            rc.stack.push(r.value.clone());
            let child = node(cx, rc, target, &format!("routes.{}", r.value), &child_path);
            rc.stack.pop();
            child?
        }
        Source::Request { config } => {
            let Some(route) = config.route(&r.value) else {
                cx.err(
                    r,
                    format!("{field}.route"),
                    format!("no route named `{}`", r.value),
                );
                return None;
            };
            let mut child = route.node.clone();
            repath(&mut child, &child_path);
            child
        }
    };
    // The reference is a one-child group: its own settings are inherited by the route.
    Some(NodeKind::Group {
        mode: Mode::Single,
        children: vec![child],
    })
}

/// Rewrites a subtree's paths under a new root.
fn repath(n: &mut RouteNode, path: &str) {
    n.path = path.to_owned();
    if let NodeKind::Group { children, .. } = &mut n.kind {
        for (i, c) in children.iter_mut().enumerate() {
            repath(c, &format!("{path}.targets[{i}]"));
        }
    }
}

fn group(
    cx: &mut Ctx<'_>,
    rc: &mut RouteCx<'_>,
    raw: &RawNode,
    field: &str,
    path: &str,
) -> Option<NodeKind> {
    let targets = raw.targets.as_ref()?;
    if targets.value.is_empty() {
        cx.err(
            targets,
            format!("{field}.targets"),
            "needs at least one target",
        );
        return None;
    }
    let children: Vec<RouteNode> = targets
        .value
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            node(
                cx,
                rc,
                t,
                &format!("{field}.targets[{i}]"),
                &format!("{path}.targets[{i}]"),
            )
        })
        .collect();
    if children.len() != targets.value.len() {
        return None;
    }
    let strategy = raw.strategy.as_ref();
    let mode_name = strategy.map_or(
        if children.len() > 1 {
            "fallback"
        } else {
            "single"
        },
        |s| s.value.mode.as_str(),
    );
    let sfield = format!("{field}.strategy");
    let codes = match (
        strategy.and_then(|s| s.value.on_status_codes.as_ref()),
        &raw.on_status_codes,
    ) {
        (Some(_), Some(n)) => {
            cx.err(
                n,
                format!("{field}.on_status_codes"),
                "set `on_status_codes` in `strategy` or on the node, not both",
            );
            None
        }
        (Some(c), None) => Some(c.clone()),
        (None, Some(n)) => Some(n.value.clone()),
        (None, None) => None,
    };
    let on_status = match codes {
        Some(c) => {
            if let Some(bad) = c.iter().find(|s| !(100..=599).contains(*s)) {
                cx.node_err(
                    raw,
                    &format!("{field}.on_status_codes"),
                    format!("{bad} is not an HTTP status"),
                );
            }
            StatusSet::Only(c)
        }
        None => match rc.flavor {
            Flavor::Portkey => StatusSet::AnyError,
            Flavor::Switchyard => StatusSet::default_failover(),
        },
    };
    let child_names: Vec<&str> = children.iter().filter_map(|c| c.name.as_deref()).collect();
    let blame = |cx: &mut Ctx<'_>, msg: String| match strategy {
        Some(s) => cx.err(s, sfield.clone(), msg),
        None => cx.err(targets, sfield.clone(), msg),
    };
    let mode = match mode_name {
        "single" => Mode::Single,
        "fallback" => Mode::Fallback { on_status },
        "loadbalance" => {
            let balance = match strategy.and_then(|s| s.value.balance.as_deref()) {
                None | Some("weighted") => Balance::Weighted,
                Some("least_latency") => Balance::LeastLatency,
                Some("least_inflight") => Balance::LeastInflight,
                Some(other) => {
                    blame(
                        cx,
                        format!(
                            "unknown balance `{other}` (weighted, least_latency, least_inflight)"
                        ),
                    );
                    Balance::Weighted
                }
            };
            if children.iter().all(|c| c.weight == 0.0) {
                blame(
                    cx,
                    "every target has weight 0: nothing can be chosen".into(),
                );
            }
            Mode::LoadBalance { balance, on_status }
        }
        "conditional" => {
            let s = strategy.map(|s| &s.value);
            let mut rules = Vec::new();
            for (i, r) in s
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .enumerate()
            {
                match Condition::parse(&r.query) {
                    Ok(query) => {
                        if !child_names.contains(&r.then.as_str()) {
                            blame(cx, format!("conditions[{i}].then names `{}`, which is not the name of a target here", r.then));
                        }
                        rules.push(Rule {
                            query,
                            then: r.then.clone(),
                        });
                    }
                    Err(e) => blame(cx, format!("conditions[{i}].query: {e}")),
                }
            }
            let default = s.and_then(|s| s.default.clone());
            if let Some(d) = &default {
                if !child_names.contains(&d.as_str()) {
                    blame(
                        cx,
                        format!("default names `{d}`, which is not the name of a target here"),
                    );
                }
            }
            if rules.is_empty() && default.is_none() {
                blame(
                    cx,
                    "a conditional strategy needs `conditions` (and usually a `default`)".into(),
                );
            }
            Mode::Conditional { rules, default }
        }
        other => {
            blame(
                cx,
                format!("unknown strategy `{other}` (single, fallback, loadbalance, conditional)"),
            );
            Mode::Single
        }
    };
    if let Some(s) = strategy {
        if s.value.balance.is_some() && !matches!(mode, Mode::LoadBalance { .. }) {
            cx.err(s, sfield.clone(), "`balance` applies to `loadbalance` only");
        }
        if (s.value.conditions.is_some() || s.value.default.is_some())
            && !matches!(mode, Mode::Conditional { .. })
        {
            cx.err(
                s,
                sfield.clone(),
                "`conditions` and `default` apply to `conditional` only",
            );
        }
    }
    Some(NodeKind::Group { mode, children })
}

fn settings(cx: &mut Ctx<'_>, rc: &RouteCx<'_>, raw: &RawNode, field: &str) -> NodeSettings {
    let retry = raw
        .retry
        .as_ref()
        .and_then(|r| retry(cx, r, &format!("{field}.retry"), rc.flavor))
        .map(std::sync::Arc::new);
    let mut override_params = Map::new();
    if let Some(o) = &raw.override_params {
        match &o.value {
            Value::Object(m) => {
                for forbidden in ["stream", "stream_options"] {
                    if m.contains_key(forbidden) {
                        cx.err(
                            o,
                            format!("{field}.override_params"),
                            format!(
                                "`{forbidden}` cannot be overridden: it is the client's choice"
                            ),
                        );
                    }
                }
                override_params = m.clone();
            }
            _ => cx.err(
                o,
                format!("{field}.override_params"),
                "must be an object of request parameters",
            ),
        }
    }
    let mut timeouts = partial_timeouts(cx, &raw.timeouts, &format!("{field}.timeouts"));
    if let Some(ms) = &raw.request_timeout {
        if timeouts.total.is_some() {
            cx.err(
                ms,
                format!("{field}.request_timeout"),
                "set `request_timeout` or `timeouts.total`, not both",
            );
        } else if ms.value == 0 {
            cx.err(
                ms,
                format!("{field}.request_timeout"),
                "must be greater than zero",
            );
        } else {
            timeouts.total = Some(Duration::from_millis(ms.value));
            timeouts.total_is_request_timeout = rc.flavor == Flavor::Portkey;
        }
    }
    let forward_headers = raw
        .forward_headers
        .as_ref()
        .map(|h| forward_headers(cx, h, &format!("{field}.forward_headers")));
    let _ = rc;
    NodeSettings {
        retry,
        override_params,
        timeouts,
        forward_headers,
    }
}

/// Headers a client may not have forwarded: credentials (the gateway's key must not reach a
/// provider, and the provider's is the gateway's to set), framing and hop-by-hop headers,
/// and the gateway's own control headers.
const UNFORWARDABLE: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "x-goog-api-key",
    "cookie",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

fn forward_headers(
    cx: &mut Ctx<'_>,
    raw: &Spanned<Vec<String>>,
    field: &str,
) -> std::sync::Arc<[http::HeaderName]> {
    let mut names: Vec<http::HeaderName> = Vec::new();
    for name in &raw.value {
        let lower = name.trim().to_ascii_lowercase();
        match http::HeaderName::from_bytes(lower.as_bytes()) {
            Err(_) => cx.err(raw, field, format!("`{name}` is not a valid header name")),
            Ok(_)
                if UNFORWARDABLE.contains(&lower.as_str())
                    || lower.starts_with("x-switchyard-")
                    || lower.starts_with("x-portkey-") =>
            {
                cx.err(
                    raw,
                    field,
                    format!("`{lower}` cannot be forwarded: credentials, framing and the gateway's own headers are the gateway's to set"),
                );
            }
            Ok(h) if !names.contains(&h) => names.push(h),
            Ok(_) => {}
        }
    }
    if names.len() > 32 {
        cx.err(raw, field, "at most 32 headers can be forwarded");
    }
    names.into()
}

/// Fields of Portkey's config schema that have no counterpart in a route: accepted with a
/// warning where ignoring them changes nothing the client relies on, refused where it would
/// (a guardrail silently skipped would let through what it was there to stop).
fn portkey_fields(cx: &mut Ctx<'_>, rc: &mut RouteCx<'_>, raw: &RawNode, field: &str) {
    let in_file = matches!(rc.source, Source::File { .. });
    for (name, v) in raw.hooks() {
        cx.err(
            v,
            format!("{field}.{name}"),
            format!("`{name}` (Portkey hooks and guardrails) is not run by this gateway's routes; the request is refused rather than sent unchecked — configure guardrails on the gateway instead"),
        );
    }
    if let Some(c) = &raw.cache {
        let mode = c.value.get("mode").and_then(Value::as_str);
        let max_age_ok = c
            .value
            .get("max_age")
            .is_none_or(|v| v.as_f64().is_some_and(|n| n >= 0.0));
        if !c.value.is_object() || !matches!(mode, Some("simple" | "semantic")) || !max_age_ok {
            cx.err(
                c,
                format!("{field}.cache"),
                "must be `{mode: simple | semantic, max_age: <seconds>}`",
            );
        } else if in_file {
            cx.err(
                c,
                format!("{field}.cache"),
                "`cache` belongs to per-request (Portkey) configs",
            );
        } else {
            rc.warnings.push(format!(
                "{field}.cache ignored: this gateway has no response cache"
            ));
        }
    }
    if let Some(strict) = &raw.strict_open_ai_compliance {
        if in_file {
            cx.err(
                strict,
                format!("{field}.strict_open_ai_compliance"),
                "`strict_open_ai_compliance` belongs to per-request (Portkey) configs",
            );
        } else if !strict.value {
            rc.warnings.push(format!(
                "{field}.strict_open_ai_compliance=false ignored: answers are always in OpenAI's format"
            ));
        }
    }
    if let Some(cb) = &raw.cb_config {
        if in_file {
            cx.err(cb, format!("{field}.cb_config"), "`cb_config` belongs to per-request (Portkey) configs; configure `health` on the provider");
        } else {
            rc.warnings.push(format!(
                "{field}.cb_config ignored: circuit breakers are configured per provider on this gateway"
            ));
        }
    }
    if let Some(s) = &raw.strategy {
        if s.value.sticky.is_some() {
            rc.warnings.push(format!(
                "{field}.strategy.sticky ignored: load balancing here is not sticky"
            ));
        }
    }
}

/// The string-valued provider-specific fields of an inline provider, by name.
fn inline_strings(raw: &RawNode) -> [(Option<&Spanned<String>>, &'static str); 15] {
    [
        (raw.aws_access_key_id.as_deref(), "aws_access_key_id"),
        (
            raw.aws_secret_access_key.as_deref(),
            "aws_secret_access_key",
        ),
        (raw.aws_session_token.as_deref(), "aws_session_token"),
        (raw.aws_region.as_deref(), "aws_region"),
        (raw.vertex_project_id.as_deref(), "vertex_project_id"),
        (raw.vertex_region.as_deref(), "vertex_region"),
        (raw.openai_project.as_deref(), "openai_project"),
        (raw.openai_organization.as_deref(), "openai_organization"),
        (raw.deployment_id.as_deref(), "deployment_id"),
        (raw.api_version.as_deref(), "api_version"),
        (raw.azure_ad_token.as_deref(), "azure_ad_token"),
        (raw.azure_auth_mode.as_deref(), "azure_auth_mode"),
        (raw.azure_model_name.as_deref(), "azure_model_name"),
        (
            raw.azure_entra_client_id.as_deref(),
            "azure_entra_client_id",
        ),
        (
            raw.azure_entra_tenant_id.as_deref(),
            "azure_entra_tenant_id",
        ),
    ]
}

/// What an inline provider's Portkey fields amount to.
struct Extra {
    settings: InlineSettings,
    /// The provider's URL filled in from its region or project, for kinds whose URL has them.
    base_url: Option<BaseUrl>,
}

/// The kind each provider-specific field belongs to.
fn field_kind(name: &str) -> ProviderKind {
    match name {
        n if n.starts_with("aws_") => ProviderKind::Bedrock,
        n if n.starts_with("vertex_") => ProviderKind::VertexAi,
        n if n.starts_with("openai_") => ProviderKind::OpenAi,
        _ => ProviderKind::AzureOpenAi,
    }
}

/// A cloud region or project id: letters, digits and `-` only (it becomes part of a host name).
fn cloud_name(cx: &mut Ctx<'_>, v: &Spanned<String>, field: String) -> Option<String> {
    let t = v.value.trim();
    if t.is_empty() || t.len() > 63 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        cx.err(
            v,
            field,
            "must be a region or project id (letters, digits and `-`)",
        );
        return None;
    }
    Some(t.to_owned())
}

fn inline_extra(cx: &mut Ctx<'_>, raw: &RawNode, kind: ProviderKind, field: &str) -> Option<Extra> {
    let present: Vec<(&Spanned<String>, &str)> = inline_strings(raw)
        .into_iter()
        .filter_map(|(v, n)| v.map(|v| (v, n)))
        .collect();
    if let Some(sa) = &raw.vertex_service_account_json {
        cx.err(sa, format!("{field}.vertex_service_account_json"), "service account keys are not exchanged for tokens by this gateway: send an access token as `api_key`");
    }
    if let Some(secret) = &raw.azure_entra_client_secret {
        cx.err(secret, format!("{field}.azure_entra_client_secret"), "Entra ID client credentials are not exchanged for tokens by this gateway: send a token as `azure_ad_token`");
    }
    if present.is_empty() {
        return None;
    }
    let mut ok = true;
    for (v, name) in &present {
        let wanted = field_kind(name);
        if wanted != kind {
            cx.err(
                *v,
                format!("{field}.{name}"),
                format!("`{name}` applies to provider kind `{wanted}`, not `{kind}`"),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    let mut settings = InlineSettings::default();
    let mut base_url = None;
    let text = |v: &Option<Box<Spanned<String>>>| v.as_deref().map(|v| v.value.trim().to_owned());
    match kind {
        ProviderKind::Bedrock => {
            match (&raw.aws_access_key_id, &raw.aws_secret_access_key) {
                (Some(id), Some(secret)) => {
                    settings.options.aws = Some(AwsCredentials {
                        access_key_id: Secret::new(id.value.trim().to_owned()),
                        secret_access_key: Secret::new(secret.value.trim().to_owned()),
                        session_token: text(&raw.aws_session_token).map(Secret::new),
                    });
                }
                (a, b) => {
                    if let Some(v) = a.as_ref().or(b.as_ref()).or(raw.aws_session_token.as_ref()) {
                        cx.err(
                            v,
                            format!("{field}.aws_access_key_id"),
                            "give both `aws_access_key_id` and `aws_secret_access_key`",
                        );
                    }
                }
            }
            if let Some(r) = &raw.aws_region {
                let region = cloud_name(cx, r, format!("{field}.aws_region"))?;
                base_url = template_url(cx, r, kind, &[("region", &region)], field);
                settings.options.region = Some(region);
            }
        }
        ProviderKind::VertexAi => match (&raw.vertex_project_id, &raw.vertex_region) {
            (Some(p), Some(r)) => {
                let project = cloud_name(cx, p, format!("{field}.vertex_project_id"))?;
                let location = cloud_name(cx, r, format!("{field}.vertex_region"))?;
                base_url = template_url(
                    cx,
                    r,
                    kind,
                    &[("project", &project), ("location", &location)],
                    field,
                );
                settings.options.project = Some(project);
                settings.options.location = Some(location);
            }
            (a, b) => {
                if let Some(v) = a.as_ref().or(b.as_ref()) {
                    cx.err(
                        v,
                        format!("{field}.vertex_region"),
                        "give both `vertex_project_id` and `vertex_region`",
                    );
                }
            }
        },
        ProviderKind::OpenAi => {
            for (v, header) in [
                (&raw.openai_organization, "openai-organization"),
                (&raw.openai_project, "openai-project"),
            ] {
                if let Some(v) = v {
                    match http::HeaderValue::from_str(v.value.trim()) {
                        Ok(mut value) => {
                            value.set_sensitive(true);
                            settings
                                .headers
                                .push((http::HeaderName::from_static(header), value));
                        }
                        Err(_) => cx.err(
                            v,
                            format!("{field}.{}", header.replace('-', "_")),
                            "must be printable text",
                        ),
                    }
                }
            }
        }
        ProviderKind::AzureOpenAi => {
            settings.options.api_version = text(&raw.api_version);
            if let Some(mode) = &raw.azure_auth_mode {
                let m = mode.value.trim().to_ascii_lowercase();
                let token_mode = matches!(m.as_str(), "entra" | "managed");
                if token_mode && raw.azure_ad_token.is_none() {
                    cx.err(mode, format!("{field}.azure_auth_mode"), format!("`{}` needs a token this gateway does not mint: send it as `azure_ad_token`", mode.value));
                } else if !token_mode && !matches!(m.as_str(), "apikey" | "api_key" | "api-key") {
                    cx.err(
                        mode,
                        format!("{field}.azure_auth_mode"),
                        "must be `apiKey`, `entra` or `managed`",
                    );
                }
            }
            if raw.azure_ad_token.is_some() {
                settings.auth = Some(switchyard_providers::AuthStyle::Bearer);
            }
            for v in [&raw.azure_entra_client_id, &raw.azure_entra_tenant_id]
                .into_iter()
                .flatten()
            {
                cx.err(v, format!("{field}.azure_entra_client_id"), "Entra ID client credentials are not exchanged for tokens by this gateway: send a token as `azure_ad_token`");
            }
        }
        _ => {}
    }
    Some(Extra { settings, base_url })
}

/// A kind's default URL with its placeholders filled.
fn template_url(
    cx: &mut Ctx<'_>,
    at: &Spanned<String>,
    kind: ProviderKind,
    values: &[(&str, &str)],
    field: &str,
) -> Option<BaseUrl> {
    let mut url = kind.info().default_base_url?.to_owned();
    for (name, value) in values {
        url = super::fill_placeholder(&url, name, value);
    }
    match BaseUrl::parse(&url) {
        Ok(u) if !url.contains('{') => Some(u),
        _ => {
            cx.err(
                at,
                field,
                format!("cannot build the `{kind}` URL from these settings"),
            );
            None
        }
    }
}

fn partial_timeouts(cx: &mut Ctx<'_>, raw: &RawTimeouts, field: &str) -> PartialTimeouts {
    let mut pick = |v: &Option<Spanned<crate::raw::Dur>>, name: &str| match v {
        Some(d) if d.value.0.is_zero() => {
            cx.err(d, format!("{field}.{name}"), "must be greater than zero");
            None
        }
        Some(d) => Some(d.value.0),
        None => None,
    };
    PartialTimeouts {
        connect: pick(&raw.connect, "connect"),
        first_byte: pick(&raw.first_byte, "first_byte"),
        idle: pick(&raw.idle, "idle"),
        total: pick(&raw.total, "total"),
        total_is_request_timeout: false,
    }
}

/// The most retries a policy may ask for.
const MAX_RETRIES: u32 = 10;

fn retry(
    cx: &mut Ctx<'_>,
    raw: &Spanned<RawRetry>,
    field: &str,
    flavor: Flavor,
) -> Option<RetryPolicy> {
    let r = &raw.value;
    let attempts = r.attempts.unwrap_or(2);
    if attempts > MAX_RETRIES {
        cx.err(
            raw,
            format!("{field}.attempts"),
            format!("at most {MAX_RETRIES} retries"),
        );
        return None;
    }
    let on_status = match &r.on_status_codes {
        Some(c) => {
            if let Some(bad) = c.iter().find(|s| !(100..=599).contains(*s)) {
                cx.err(
                    raw,
                    format!("{field}.on_status_codes"),
                    format!("{bad} is not an HTTP status"),
                );
                return None;
            }
            StatusSet::Only(c.clone())
        }
        None => match flavor {
            Flavor::Switchyard => RetryPolicy::default_statuses(),
            Flavor::Portkey => RetryPolicy::portkey_statuses(),
        },
    };
    let b = r.backoff.as_ref();
    let initial = b
        .and_then(|b| b.initial)
        .map_or(Duration::from_millis(250), |d| d.0);
    let max = b
        .and_then(|b| b.max)
        .map_or(Duration::from_secs(8), |d| d.0);
    let multiplier = b.and_then(|b| b.multiplier).unwrap_or(2.0);
    if initial.is_zero() || max < initial {
        cx.err(
            raw,
            format!("{field}.backoff"),
            "`initial` must be > 0 and ≤ `max`",
        );
        return None;
    }
    if !(1.0..=10.0).contains(&multiplier) {
        cx.err(
            raw,
            format!("{field}.backoff.multiplier"),
            "must be between 1 and 10",
        );
        return None;
    }
    Some(RetryPolicy {
        attempts,
        on_status,
        initial,
        max,
        multiplier,
        use_retry_after: r.use_retry_after_header.unwrap_or(true),
        retry_after_cap: r.retry_after_cap.map_or(Duration::from_secs(60), |d| d.0),
    })
}

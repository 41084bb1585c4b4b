//! From a parsed request to a plan: which route tree to walk — a per-request config header,
//! a zero-config provider header, or the router (alias, `provider/model`, catalog name) —
//! and how a target's provider is reached.

use std::ops::Deref;
use std::sync::Arc;

use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};
use switchyard_config::route::{RouteNode, TargetProvider};
use switchyard_config::{BaseUrl, Flavor};
use switchyard_pipeline::{RequestCx, RequestHead};
use switchyard_providers::{ProviderKind, Secret};
use switchyard_router::single_target;

use crate::error::GatewayError;
use crate::intake::{bearer, first_header, header_str, names};
use crate::stages::check_allowed;
use crate::state::{zero_config_runtime, ProviderRuntime, State};

/// A provider runtime, shared from the config snapshot or built for this request.
pub enum ProviderRef<'s> {
    /// From the snapshot.
    Shared(&'s ProviderRuntime),
    /// Built from zero-config headers.
    Owned(Box<ProviderRuntime>),
}

impl Deref for ProviderRef<'_> {
    type Target = ProviderRuntime;
    fn deref(&self) -> &ProviderRuntime {
        match self {
            ProviderRef::Shared(p) => p,
            ProviderRef::Owned(p) => p,
        }
    }
}

/// The route tree a request walks: shared from the config or built for this request.
pub enum Root {
    /// A configured route (or a direct/catalog plan).
    Shared(Arc<RouteNode>),
    /// Built from request headers.
    Owned(Box<RouteNode>),
}

impl Deref for Root {
    type Target = RouteNode;
    fn deref(&self) -> &RouteNode {
        match self {
            Root::Shared(n) => n,
            Root::Owned(n) => n,
        }
    }
}

/// What a request resolved to.
pub struct Plan {
    /// The tree to walk.
    pub root: Root,
    /// The client's provider key, in zero-config mode.
    pub client_key: Option<String>,
}

/// Resolves what to try for this request: a per-request config header first, then the
/// zero-config provider header, then the router; then refuses a tree the gateway key may not
/// use (`stages::auth::check_allowed`).
/// Sets `cx.route` and `cx.metadata`.
pub fn plan(
    state: &State,
    head: &RequestHead,
    cx: &mut RequestCx,
    model: &str,
) -> Result<Plan, GatewayError> {
    let (plan, named) = resolve(state, head, cx, model)?;
    let route = named.then_some(&*cx.route);
    check_allowed(&state.config, cx, route, &plan.root, model)?;
    Ok(plan)
}

/// The plan, and whether its tree is the configured route named by `cx.route`.
fn resolve(
    state: &State,
    head: &RequestHead,
    cx: &mut RequestCx,
    model: &str,
) -> Result<(Plan, bool), GatewayError> {
    cx.metadata = metadata(head)?.map(Arc::new);
    let (root, named) = if let Some((header, value)) = config_header(head) {
        let root = request_config(state, cx, header, value)?;
        let named = matches!(root, Root::Shared(_));
        (root, named)
    } else if let Some(name) = first_header(head, &names::PROVIDER) {
        // The client's own provider key: `Authorization`, unless it carried the gateway key;
        // else Anthropic's `x-api-key` when no gateway key was asked for.
        let key = (!cx.authorization_is_gateway_key)
            .then(|| bearer(head))
            .flatten()
            .or_else(|| {
                cx.key
                    .is_none()
                    .then(|| header_str(head, &names::X_API_KEY))
                    .flatten()
            })
            .map(str::to_owned);
        let (root, key) = zero_config(state, head, cx, name, key)?;
        let plan = Plan {
            root,
            client_key: key,
        };
        return Ok((plan, false));
    } else {
        let plan = state
            .router
            .resolve(model)
            .ok_or_else(|| GatewayError::ModelNotFound(model.chars().take(200).collect()))?;
        // A route's label is its name; `direct` and `catalog` plans could only share it with
        // a model of that very name.
        let named = &*plan.label == model && state.config.route(model).is_some();
        cx.route = plan.label.clone();
        (Root::Shared(plan.root), named)
    };
    let plan = Plan {
        root,
        client_key: None,
    };
    Ok((plan, named))
}

fn metadata(head: &RequestHead) -> Result<Option<Map<String, Value>>, GatewayError> {
    let Some(raw) = first_header(head, &names::METADATA) else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        _ => Err(GatewayError::InvalidRequest {
            message: "the metadata header must be a JSON object".into(),
            param: None,
        }),
    }
}

fn config_header(head: &RequestHead) -> Option<(&'static str, &str)> {
    ["x-switchyard-config", "x-portkey-config"]
        .into_iter()
        .zip(&names::CONFIG)
        .find_map(|(label, h)| header_str(head, h).map(|v| (label, v)))
}

/// A per-request config: JSON (Switchyard's route schema, or Portkey's under
/// `x-portkey-config`) or the name of a configured route.
fn request_config(
    state: &State,
    cx: &mut RequestCx,
    header: &'static str,
    value: &str,
) -> Result<Root, GatewayError> {
    if !state.config.request_config.enabled {
        return Err(GatewayError::InvalidRequest {
            message: format!("{header}: per-request configs are disabled on this gateway (request_config.enabled)"),
            param: None,
        });
    }
    if !value.starts_with('{') {
        let plan = state
            .router
            .route(value)
            .ok_or_else(|| GatewayError::InvalidRequest {
                message: format!(
                    "{header}: no stored config (route) named `{}`",
                    value.chars().take(100).collect::<String>()
                ),
                param: None,
            })?;
        cx.route = plan.label.clone();
        return Ok(Root::Shared(plan.root));
    }
    let flavor = if header == "x-portkey-config" {
        Flavor::Portkey
    } else {
        Flavor::Switchyard
    };
    let config = switchyard_config::load_request_config(value, header, flavor, &state.config)
        .map_err(|e| GatewayError::InvalidRequest {
            message: format!("invalid config: {e}"),
            param: None,
        })?;
    if !config.warnings.is_empty() {
        // Text the gateway wrote (field paths and fixed sentences): always a valid value.
        if let Ok(v) = HeaderValue::from_str(&config.warnings.join("; ")) {
            cx.response_headers
                .push((HeaderName::from_static("x-switchyard-warnings"), v));
        }
    }
    cx.route = state.request_config_label.clone();
    Ok(Root::Owned(Box::new(config.root)))
}

fn zero_config(
    state: &State,
    head: &RequestHead,
    cx: &mut RequestCx,
    name: &str,
    client_key: Option<String>,
) -> Result<(Root, Option<String>), GatewayError> {
    // A configured provider by name: the gateway's own key and settings.
    if let Some(id) = state.config.provider_id(name) {
        cx.route = Arc::from("direct");
        let root = single_target(TargetProvider::Configured(id), None);
        return Ok((Root::Owned(Box::new(root)), None));
    }
    let zc = state.config.zero_config;
    let invalid = |message: String| GatewayError::InvalidRequest {
        message,
        param: None,
    };
    if !zc.enabled {
        return Err(invalid(format!(
            "no provider named `{name}` is configured, and zero-config routing is disabled"
        )));
    }
    let kind = ProviderKind::from_name(name).ok_or_else(|| {
        invalid(format!(
            "unknown provider `{}`: not a configured provider nor a known kind ({})",
            name.chars().take(100).collect::<String>(),
            ProviderKind::names().join(", ")
        ))
    })?;
    cx.route = Arc::from("zero_config");
    let custom = first_header(head, &names::CUSTOM_HOST);
    let custom_host = match custom {
        Some(url) if zc.allow_custom_host => {
            Some(BaseUrl::parse(url).map_err(|e| invalid(format!("invalid custom host: {e}")))?)
        }
        Some(_) => {
            return Err(invalid(
                "custom hosts are disabled on this gateway (zero_config.allow_custom_host)".into(),
            ))
        }
        None if !state.zero_config.contains_key(&kind) => {
            return Err(invalid(if kind.info().default_base_url.is_some() {
                format!(
                    "provider kind `{kind}` runs on the gateway's own host by default and cannot be chosen per request: configure it as a provider"
                )
            } else {
                format!("provider kind `{kind}` has no public URL: send x-switchyard-custom-host")
            }))
        }
        None => None,
    };
    let root = single_target(
        TargetProvider::Inline {
            kind,
            api_key: Secret::default(),
            custom_host,
            extra: None,
        },
        None,
    );
    Ok((Root::Owned(Box::new(root)), client_key))
}

/// Resolves a target's provider to a runtime: configured, the shared zero-config one for a
/// kind, or one built for a custom host.
pub fn runtime<'s>(
    state: &'s State,
    provider: &TargetProvider,
) -> Result<ProviderRef<'s>, GatewayError> {
    match provider {
        TargetProvider::Configured(id) => state
            .provider(*id)
            .map(ProviderRef::Shared)
            .ok_or_else(|| GatewayError::Internal("unknown provider id".into())),
        TargetProvider::Inline {
            kind,
            custom_host: Some(url),
            extra,
            ..
        } => Ok(ProviderRef::Owned(Box::new(zero_config_runtime(
            *kind,
            url,
            extra.as_deref(),
            &state.config,
            state.default_connector.clone(),
        )))),
        TargetProvider::Inline { kind, .. } => state
            .zero_config
            .get(kind)
            .map(ProviderRef::Shared)
            .ok_or_else(|| GatewayError::InvalidRequest {
                message: format!("provider kind `{kind}` has no public URL: give a custom host"),
                param: None,
            }),
    }
}

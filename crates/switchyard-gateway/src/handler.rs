//! From a client's request to a plan: match the endpoint, check the gateway key, read and
//! parse the body once, and resolve `model` (or the zero-config headers) to the targets to try.

use std::ops::Deref;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_LENGTH, EXPECT};
use pingora::proxy::Session;
use serde_json::{Map, Value};
use switchyard_config::route::{RouteNode, TargetProvider};
use switchyard_config::{BaseUrl, Flavor};
use switchyard_providers::endpoint::PathMatch;
use switchyard_providers::{Endpoint, ErrorBody, Form, JsonEnvelope, ProviderKind, Secret};
use switchyard_router::single_target;

use crate::ctx::RequestCtx;
use crate::error::GatewayError;
use crate::state::{zero_config_runtime, ProviderRuntime, State};

/// Why a request ended early.
pub enum Failure {
    /// Nothing has been written yet: answer with this error.
    Respond {
        /// Status.
        status: u16,
        /// Body.
        body: ErrorBody,
        /// Extra headers (`Allow`, `Retry-After`).
        headers: Vec<(&'static str, String)>,
        /// Metric label.
        code: &'static str,
    },
    /// The response has started and cannot be completed: tear the connection down so the
    /// client sees a broken response, never a truncated one that looks whole.
    Abort(Box<pingora::Error>),
}

impl From<GatewayError> for Failure {
    fn from(e: GatewayError) -> Self {
        let headers = match &e {
            GatewayError::MethodNotAllowed { allowed, .. } => {
                vec![("allow", (*allowed).to_owned())]
            }
            _ => Vec::new(),
        };
        Failure::Respond {
            status: e.status(),
            body: e.body(),
            headers,
            code: e.label(),
        }
    }
}

impl From<switchyard_providers::EnvelopeError> for Failure {
    fn from(e: switchyard_providers::EnvelopeError) -> Self {
        GatewayError::from(e).into()
    }
}

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

/// A request ready for its attempts.
pub struct Prepared {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The parsed body (for a multipart endpoint, the form's text fields).
    pub body: JsonEnvelope,
    /// The multipart form, for endpoints that take one.
    pub form: Option<Form>,
    /// The client's `model`.
    pub model: String,
    /// Whether a stream was asked for.
    pub stream: bool,
    /// What to walk.
    pub root: Root,
    /// The client's own provider key (zero-config mode).
    pub client_key: Option<String>,
    /// The metadata header, for conditional routing.
    pub metadata: Option<Map<String, Value>>,
    /// The request path, for conditional routing.
    pub path: String,
}

/// Matches method and path.
pub fn match_endpoint(session: &Session) -> Result<Endpoint, GatewayError> {
    let req = session.req_header();
    let method = req.method.as_str();
    let path = req.uri.path();
    match Endpoint::match_request(method, path) {
        PathMatch::Found(e) => Ok(e),
        PathMatch::WrongMethod(e) => Err(GatewayError::MethodNotAllowed {
            method: method.to_owned(),
            path: path.to_owned(),
            allowed: e.method(),
        }),
        PathMatch::NotFound => Err(GatewayError::NotFound {
            method: method.to_owned(),
            path: path.chars().take(200).collect(),
        }),
    }
}

/// Where the client's credentials came from.
#[derive(Default)]
pub struct Credentials {
    /// The `Authorization` bearer token, unless it was the gateway key.
    pub provider_key: Option<String>,
}

fn header_str<'a>(session: &'a Session, name: &str) -> Option<&'a str> {
    session
        .req_header()
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn first_header<'a>(session: &'a Session, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| header_str(session, n))
}

fn bearer(session: &Session) -> Option<&str> {
    let v = header_str(session, AUTHORIZATION.as_str())?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the gateway key when keys are configured, and separates it from a provider key the
/// client may have brought.
pub fn authenticate(
    state: &State,
    session: &Session,
    ctx: &mut RequestCtx,
) -> Result<Credentials, GatewayError> {
    let bearer_token = bearer(session);
    if state.config.auth.is_empty() {
        return Ok(Credentials {
            provider_key: bearer_token.map(str::to_owned),
        });
    }
    let dedicated = first_header(session, &["x-switchyard-api-key", "x-portkey-api-key"]);
    let (presented, from_authorization) = match (dedicated, bearer_token) {
        (Some(k), _) => (k, false),
        (None, Some(k)) => (k, true),
        (None, None) => {
            return Err(GatewayError::Unauthorized(
                "missing gateway API key: send it as `Authorization: Bearer <key>` or `x-switchyard-api-key`",
            ))
        }
    };
    let key = state
        .config
        .auth
        .iter()
        .find(|k| k.key.ct_eq(presented.as_bytes()))
        .ok_or(GatewayError::Unauthorized("invalid gateway API key"))?;
    ctx.key_name = Some(key.name.clone());
    Ok(Credentials {
        provider_key: if from_authorization {
            None
        } else {
            bearer_token.map(str::to_owned)
        },
    })
}

/// Reads the whole request body, refusing more than `limit` bytes.
pub async fn read_body(session: &mut Session, limit: usize) -> Result<Bytes, GatewayError> {
    let declared =
        header_str(session, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    if header_str(session, EXPECT.as_str()).is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        session
            .write_continue_response()
            .await
            .map_err(|e| GatewayError::ClientRead(e.to_string()))?;
    }
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    while let Some(chunk) = session
        .read_request_body()
        .await
        .map_err(|e| GatewayError::ClientRead(e.to_string()))?
    {
        let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
        if held + chunk.len() > limit {
            return Err(GatewayError::BodyTooLarge { limit });
        }
        // The common case is one chunk: keep it as is instead of copying.
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            prior => {
                if let Some(p) = prior {
                    buf.reserve(declared.unwrap_or(p.len() + chunk.len()));
                    buf.extend_from_slice(&p);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// What a request resolved to.
pub struct Planned {
    /// The tree to walk.
    pub root: Root,
    /// The client's provider key, in zero-config mode.
    pub client_key: Option<String>,
    /// The metadata header.
    pub metadata: Option<Map<String, Value>>,
}

/// Resolves what to try for this request: a per-request config header first, then the
/// zero-config provider header, then the router.
pub fn plan(
    state: &State,
    session: &Session,
    ctx: &mut RequestCtx,
    model: &str,
    creds: &Credentials,
) -> Result<Planned, GatewayError> {
    let metadata = metadata(session)?;
    let root = if let Some((header, value)) = config_header(session) {
        request_config(state, ctx, header, value)?
    } else if let Some(name) =
        first_header(session, &["x-switchyard-provider", "x-portkey-provider"])
    {
        let (root, key) = zero_config(state, session, ctx, name, creds)?;
        return Ok(Planned {
            root,
            client_key: key,
            metadata,
        });
    } else {
        let plan = state
            .router
            .resolve(model)
            .ok_or_else(|| GatewayError::ModelNotFound(model.chars().take(200).collect()))?;
        ctx.route = plan.label.clone();
        Root::Shared(plan.root)
    };
    Ok(Planned {
        root,
        client_key: None,
        metadata,
    })
}

fn metadata(session: &Session) -> Result<Option<Map<String, Value>>, GatewayError> {
    let Some(raw) = first_header(session, &["x-switchyard-metadata", "x-portkey-metadata"]) else {
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

fn config_header(session: &Session) -> Option<(&'static str, &str)> {
    ["x-switchyard-config", "x-portkey-config"]
        .into_iter()
        .find_map(|h| header_str(session, h).map(|v| (h, v)))
}

/// A per-request config: JSON (Switchyard's route schema, or Portkey's under
/// `x-portkey-config`) or the name of a configured route.
fn request_config(
    state: &State,
    ctx: &mut RequestCtx,
    header: &'static str,
    value: &str,
) -> Result<Root, GatewayError> {
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
        ctx.route = plan.label.clone();
        return Ok(Root::Shared(plan.root));
    }
    let flavor = if header == "x-portkey-config" {
        Flavor::Portkey
    } else {
        Flavor::Switchyard
    };
    let node = switchyard_config::load_request_config(value, header, flavor, &state.config)
        .map_err(|e| GatewayError::InvalidRequest {
            message: format!("invalid config: {e}"),
            param: None,
        })?;
    ctx.route = state.request_config_label.clone();
    Ok(Root::Owned(Box::new(node)))
}

fn zero_config(
    state: &State,
    session: &Session,
    ctx: &mut RequestCtx,
    name: &str,
    creds: &Credentials,
) -> Result<(Root, Option<String>), GatewayError> {
    // A configured provider by name: the gateway's own key and settings.
    if let Some(id) = state.config.provider_id(name) {
        ctx.route = Arc::from("direct");
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
    ctx.route = Arc::from("zero_config");
    let custom = first_header(
        session,
        &["x-switchyard-custom-host", "x-portkey-custom-host"],
    );
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
            return Err(invalid(format!(
                "provider kind `{kind}` has no public URL: send x-switchyard-custom-host"
            )))
        }
        None => None,
    };
    let root = single_target(
        TargetProvider::Inline {
            kind,
            api_key: Secret::default(),
            custom_host,
        },
        None,
    );
    Ok((Root::Owned(Box::new(root)), creds.provider_key.clone()))
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
            ..
        } => Ok(ProviderRef::Owned(Box::new(zero_config_runtime(
            *kind,
            url,
            state.config.default_timeouts,
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

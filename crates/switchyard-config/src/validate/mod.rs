//! Lowering [`RawConfig`] into [`Config`]: every check happens here, once, and every error
//! names the file, line, column and field.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use serde_saphyr::Spanned;
use switchyard_providers::{AuthStyle, AwsCredentials, ProviderKind, ProviderOptions, Secret};

use crate::env;

pub(crate) mod catalog;
mod keys;
pub(crate) mod limits;
pub(crate) mod route;

use crate::errors::{ConfigError, ConfigErrors};
use crate::model::*;
use crate::raw::*;
pub use route::Flavor;

pub(crate) struct Ctx<'a> {
    file: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: Vec<ConfigError>,
}

fn loc<T>(s: &Spanned<T>) -> Option<(usize, usize)> {
    let l = s.referenced;
    (l.line() > 0).then(|| (l.line() as usize, l.column() as usize))
}

impl Ctx<'_> {
    fn err<T>(&mut self, at: &Spanned<T>, field: impl Into<String>, msg: impl Into<String>) {
        self.errors
            .push(ConfigError::at(self.file, loc(at), field, msg));
    }

    /// Expands `${VAR}` in a spanned string; on error records it and returns `None`.
    fn expand(&mut self, s: &Spanned<String>, field: &str) -> Option<String> {
        match env::expand(&s.value, self.env) {
            Ok(v) => Some(v),
            Err(e) => {
                self.err(s, field, e);
                None
            }
        }
    }
}

/// Validates a per-request config (the `x-switchyard-config` / `x-portkey-config` header,
/// already parsed) against the running config.
pub(crate) fn request_config(
    raw: &RawNode,
    source_name: &str,
    flavor: Flavor,
    config: &Config,
) -> Result<crate::RequestConfig, ConfigErrors> {
    let mut cx = Ctx {
        file: source_name,
        env: &|_| None,
        errors: Vec::new(),
    };
    let mut rc = route::RouteCx {
        source: route::Source::Request { config },
        flavor,
        zero_config: config.zero_config,
        stack: Vec::new(),
        warnings: Vec::new(),
    };
    let node = route::node(&mut cx, &mut rc, raw, "config", "config");
    match (node, cx.errors.is_empty()) {
        (Some(n), true) => {
            let limits = config.request_config;
            let (targets, depth) = shape(&n);
            if targets > limits.max_targets {
                return Err(ConfigErrors(vec![ConfigError::file(
                    source_name,
                    format!(
                        "the config has {targets} targets; this gateway accepts at most {} per request (request_config.max_targets)",
                        limits.max_targets
                    ),
                )]));
            }
            if depth > limits.max_depth {
                return Err(ConfigErrors(vec![ConfigError::file(
                    source_name,
                    format!(
                        "the config nests targets {depth} deep; this gateway accepts at most {} (request_config.max_depth)",
                        limits.max_depth
                    ),
                )]));
            }
            Ok(crate::RequestConfig {
                root: n,
                warnings: rc.warnings,
            })
        }
        _ => Err(ConfigErrors(cx.errors)),
    }
}

/// Targets (leaves) and depth of a route tree; a single target is depth 1.
fn shape(n: &crate::route::RouteNode) -> (usize, usize) {
    match &n.kind {
        crate::route::NodeKind::Target(_) => (1, 1),
        crate::route::NodeKind::Group { children, .. } => children
            .iter()
            .map(shape)
            .fold((0, 1), |(t, d), (ct, cd)| (t + ct, d.max(cd + 1))),
    }
}

pub(crate) fn validate(
    raw: RawConfig,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut cx = Ctx {
        file,
        env,
        errors: Vec::new(),
    };
    let server = server(&mut cx, &raw.server);
    let log = log(&mut cx, &raw.log);
    let validation = keys::validation(&mut cx, &raw.validation);
    let zero_config = ZeroConfig {
        enabled: raw.zero_config.enabled.unwrap_or(true),
        allow_custom_host: raw.zero_config.allow_custom_host.unwrap_or(false),
        allow_private_networks: raw.zero_config.allow_private_networks.unwrap_or(false),
    };
    let default_timeouts = timeouts(
        &mut cx,
        &raw.defaults.timeouts,
        Timeouts::default(),
        "defaults.timeouts",
    );
    let default_check = health_check(
        &mut cx,
        &raw.health.checks,
        &HealthCheck {
            enabled: false,
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(2),
            path: "/models".into(),
        },
        "health.checks",
    );
    let circuit_breaker = CircuitBreaker {
        failures: raw
            .health
            .circuit_breaker
            .failures
            .as_ref()
            .map_or(5, |f| f.value),
        cooldown: match &raw.health.circuit_breaker.cooldown {
            Some(c) if c.value.0.is_zero() => {
                cx.err(
                    c,
                    "health.circuit_breaker.cooldown",
                    "must be greater than zero",
                );
                Duration::from_secs(30)
            }
            Some(c) => c.value.0,
            None => Duration::from_secs(30),
        },
    };
    let images = images(&mut cx, &raw.images);
    let providers: Vec<Provider> = raw
        .providers
        .iter()
        .filter_map(|(name, p)| provider(&mut cx, name, p, default_timeouts, &default_check))
        .collect();
    let names: Vec<&str> = raw.providers.keys().map(String::as_str).collect();
    let mut routes: Vec<Route> = Vec::new();
    for (name, r) in &raw.routes {
        if name.trim().is_empty() {
            cx.node_err(r, "routes", "a route name cannot be empty");
            continue;
        }
        let mut rc = route::RouteCx {
            source: route::Source::File {
                routes: &raw.routes,
                providers: &names,
            },
            flavor: route::Flavor::Switchyard,
            zero_config,
            stack: vec![name.clone()],
            warnings: Vec::new(),
        };
        if let Some(node) = route::node(&mut cx, &mut rc, r, &format!("routes.{name}"), "config") {
            let field = format!("routes.{name}");
            routes.push(Route {
                name: name.clone(),
                node,
                limits: limits::limits(&mut cx, r.limits.as_ref(), &format!("{field}.limits")),
                budget: limits::budget(&mut cx, r.budget.as_ref(), &format!("{field}.budget")),
            });
        }
    }

    let route_names: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    let auth = keys::auth(
        &mut cx,
        raw.auth.as_ref(),
        &keys::Names {
            routes: &route_names,
            providers: &names,
        },
    );

    let plugins = raw
        .plugins
        .iter()
        .filter_map(|p| {
            if p.name.value.trim().is_empty() {
                cx.err(&p.name, "plugins[].use", "must name a plugin");
                return None;
            }
            Some(PluginUse {
                name: p.name.value.clone(),
                settings: p
                    .settings
                    .as_ref()
                    .map_or(serde_json::Value::Null, |s| s.value.clone()),
            })
        })
        .collect();
    let catalog = catalog::for_config(&mut cx, raw.catalog.as_ref());
    let request_config = request_config_limits(&mut cx, &raw.request_config);
    let attempts = attempt_limits(&mut cx, &raw.attempts);
    let limits = limits::section(&mut cx, raw.limits.as_ref());

    if !cx.errors.is_empty() {
        cx.errors.sort_by_key(|e| (e.line, e.column));
        return Err(ConfigErrors(cx.errors));
    }
    Ok(Config {
        plugins,
        request_config,
        attempts,
        server,
        log,
        auth,
        validation,
        zero_config,
        default_timeouts,
        providers,
        routes,
        circuit_breaker,
        images,
        catalog,
        limits,
    })
}

fn images(cx: &mut Ctx<'_>, raw: &crate::raw::RawImages) -> ImageFetch {
    let d = ImageFetch::default();
    let max_bytes = match &raw.max_bytes {
        Some(s) if s.value.0 < 1024 || s.value.0 > 100 * 1024 * 1024 => {
            cx.err(s, "images.max_bytes", "must be between 1KiB and 100MiB");
            d.max_bytes
        }
        Some(s) => s.value.0 as usize,
        None => d.max_bytes,
    };
    let timeout = match &raw.timeout {
        Some(t) if t.value.0.is_zero() => {
            cx.err(t, "images.timeout", "must be greater than zero");
            d.timeout
        }
        Some(t) => t.value.0,
        None => d.timeout,
    };
    ImageFetch {
        enabled: raw.fetch.unwrap_or(d.enabled),
        max_bytes,
        timeout,
        allow_private_networks: raw
            .allow_private_networks
            .unwrap_or(d.allow_private_networks),
    }
}

fn socket_addr(
    cx: &mut Ctx<'_>,
    s: Option<&Spanned<String>>,
    field: &str,
    default: &str,
) -> SocketAddr {
    let fallback = default
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let Some(s) = s else { return fallback };
    let Some(text) = cx.expand(s, field) else {
        return fallback;
    };
    match text.trim().parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => {
            cx.err(
                s,
                field,
                format!("`{text}` is not an ip:port address (e.g. 127.0.0.1:8787 or [::1]:8787)"),
            );
            fallback
        }
    }
}

fn server(cx: &mut Ctx<'_>, raw: &RawServer) -> Server {
    let listen = socket_addr(cx, raw.listen.as_ref(), "server.listen", "127.0.0.1:8787");
    let admin_listen = socket_addr(
        cx,
        raw.admin_listen.as_ref(),
        "server.admin_listen",
        "127.0.0.1:9090",
    );
    if listen == admin_listen {
        if let Some(s) = &raw.admin_listen {
            cx.err(s, "server.admin_listen", "must differ from server.listen");
        }
    }
    let threads = match &raw.threads {
        Some(t) if t.value == 0 || t.value > 1024 => {
            cx.err(t, "server.threads", "must be between 1 and 1024");
            1
        }
        Some(t) => t.value as usize,
        None => std::thread::available_parallelism().map_or(2, usize::from),
    };
    let max_body_size = match &raw.max_body_size {
        Some(s) if s.value.0 < 1024 || s.value.0 > 1024 * 1024 * 1024 => {
            cx.err(s, "server.max_body_size", "must be between 1KiB and 1GiB");
            0
        }
        Some(s) => s.value.0 as usize,
        None => 32 * 1024 * 1024,
    };
    let shutdown_timeout = raw
        .shutdown_timeout
        .as_ref()
        .map_or(Duration::from_secs(30), |d| d.value.0);
    let upstream_pool_size = match &raw.upstream_pool_size {
        Some(p) if p.value > 100_000 => {
            cx.err(p, "server.upstream_pool_size", "must be at most 100000");
            128
        }
        Some(p) => p.value as usize,
        None => 128,
    };
    let mut path = |v: &Option<Spanned<String>>, name: &str| {
        v.as_ref()
            .and_then(|p| cx.expand(p, &format!("server.{name}")))
            .map(PathBuf::from)
    };
    let pid_file = path(&raw.pid_file, "pid_file");
    let upgrade_sock = path(&raw.upgrade_sock, "upgrade_sock");
    let tls_files = raw.tls.as_ref().map(|t| {
        (
            path(&t.value.cert, "tls.cert"),
            path(&t.value.key, "tls.key"),
        )
    });
    let tls = match (&raw.tls, tls_files) {
        (Some(_), Some((Some(cert), Some(key)))) => Some(ServerTls { cert, key }),
        (Some(t), _) => {
            cx.err(t, "server.tls", "needs both `cert` and `key` (PEM files)");
            None
        }
        _ => None,
    };
    let max_connections = match &raw.max_connections {
        Some(m) if m.value == 0 || m.value > 1_000_000 => {
            cx.err(m, "server.max_connections", "must be between 1 and 1000000");
            4096
        }
        Some(m) => m.value as usize,
        None => 4096,
    };
    let mut within =
        |d: &Option<Spanned<Dur>>, name: &str, min: Duration, max: Duration, default: Duration| {
            match d {
                Some(d) if d.value.0 < min || d.value.0 > max => {
                    cx.err(
                        d,
                        format!("server.{name}"),
                        format!("must be between {min:?} and {max:?}"),
                    );
                    default
                }
                Some(d) => d.value.0,
                None => default,
            }
        };
    let header_timeout = within(
        &raw.header_timeout,
        "header_timeout",
        Duration::from_millis(100),
        Duration::from_secs(300),
        Duration::from_secs(10),
    );
    let idle_timeout = within(
        &raw.idle_timeout,
        "idle_timeout",
        Duration::from_millis(100),
        Duration::from_secs(3600),
        Duration::from_secs(60),
    );
    let body_timeout = within(
        &raw.body_timeout,
        "body_timeout",
        Duration::from_millis(100),
        Duration::from_secs(3600),
        Duration::from_secs(60),
    );
    let max_header_size = match &raw.max_header_size {
        Some(s) if s.value.0 < 1024 || s.value.0 > 1024 * 1024 => {
            cx.err(s, "server.max_header_size", "must be between 1KiB and 1MiB");
            64 * 1024
        }
        Some(s) => s.value.0 as usize,
        None => 64 * 1024,
    };
    let max_buffered = match &raw.max_buffered {
        Some(s) if s.value.0 < 1024 * 1024 || s.value.0 > 64 * 1024 * 1024 * 1024 => {
            cx.err(s, "server.max_buffered", "must be between 1MiB and 64GiB");
            256 * 1024 * 1024
        }
        Some(s) => s.value.0 as usize,
        None => 256 * 1024 * 1024,
    };
    if max_buffered < max_body_size {
        if let Some(s) = &raw.max_buffered {
            cx.err(
                s,
                "server.max_buffered",
                "must be at least server.max_body_size",
            );
        }
    }
    Server {
        max_buffered,
        max_connections,
        header_timeout,
        idle_timeout,
        body_timeout,
        max_header_size,
        h2c: raw.h2c.unwrap_or(false),
        listen,
        admin_listen,
        threads,
        max_body_size,
        shutdown_timeout,
        upstream_pool_size,
        pid_file,
        upgrade_sock,
        tls,
    }
}

fn request_config_limits(
    cx: &mut Ctx<'_>,
    raw: &crate::raw::RawRequestConfig,
) -> RequestConfigLimits {
    let d = RequestConfigLimits::default();
    let mut bounded = |v: &Option<Spanned<u32>>, name: &str, max: u32, default: usize| match v {
        Some(n) if n.value == 0 || n.value > max => {
            cx.err(
                n,
                format!("request_config.{name}"),
                format!("must be between 1 and {max}"),
            );
            default
        }
        Some(n) => n.value as usize,
        None => default,
    };
    RequestConfigLimits {
        enabled: raw.enabled.unwrap_or(d.enabled),
        max_targets: bounded(&raw.max_targets, "max_targets", 1000, d.max_targets),
        max_depth: bounded(&raw.max_depth, "max_depth", 32, d.max_depth),
    }
}

fn attempt_limits(cx: &mut Ctx<'_>, raw: &crate::raw::RawAttempts) -> AttemptLimits {
    let d = AttemptLimits::default();
    AttemptLimits {
        max: match &raw.max {
            Some(n) if n.value == 0 || n.value > 1000 => {
                cx.err(n, "attempts.max", "must be between 1 and 1000");
                d.max
            }
            Some(n) => n.value,
            None => d.max,
        },
        max_wait: raw.max_wait.as_ref().map_or(d.max_wait, |w| w.value.0),
    }
}

fn log(cx: &mut Ctx<'_>, raw: &RawLog) -> Log {
    let level = match &raw.level {
        None => LogLevel::Info,
        Some(l) => LogLevel::from_name(&l.value).unwrap_or_else(|| {
            cx.err(
                l,
                "log.level",
                "must be one of off, error, warn, info, debug, trace",
            );
            LogLevel::Info
        }),
    };
    Log {
        level,
        access_log: raw.access_log.unwrap_or(true),
    }
}

fn timeouts(cx: &mut Ctx<'_>, raw: &RawTimeouts, inherit: Timeouts, field: &str) -> Timeouts {
    let mut pick = |v: &Option<Spanned<Dur>>, name: &str, dflt: Duration| match v {
        Some(d) if d.value.0.is_zero() => {
            cx.err(d, format!("{field}.{name}"), "must be greater than zero");
            dflt
        }
        Some(d) => d.value.0,
        None => dflt,
    };
    Timeouts {
        connect: pick(&raw.connect, "connect", inherit.connect),
        first_byte: pick(&raw.first_byte, "first_byte", inherit.first_byte),
        idle: pick(&raw.idle, "idle", inherit.idle),
        total: pick(&raw.total, "total", inherit.total),
    }
}

/// Header names the gateway owns; a provider config may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
];

fn health_check(
    cx: &mut Ctx<'_>,
    raw: &RawHealthCheck,
    inherit: &HealthCheck,
    field: &str,
) -> HealthCheck {
    let mut dur = |v: &Option<Spanned<Dur>>, name: &str, dflt: Duration| match v {
        Some(d) if d.value.0 < Duration::from_millis(10) => {
            cx.err(d, format!("{field}.{name}"), "must be at least 10ms");
            dflt
        }
        Some(d) => d.value.0,
        None => dflt,
    };
    let interval = dur(&raw.interval, "interval", inherit.interval);
    let timeout = dur(&raw.timeout, "timeout", inherit.timeout);
    let path = match &raw.path {
        Some(p) if !p.value.starts_with('/') => {
            cx.err(p, format!("{field}.path"), "must start with `/`");
            inherit.path.clone()
        }
        Some(p) => p.value.clone(),
        None => inherit.path.clone(),
    };
    HealthCheck {
        enabled: raw.enabled.unwrap_or(inherit.enabled),
        interval,
        timeout,
        path,
    }
}

fn provider(
    cx: &mut Ctx<'_>,
    name: &str,
    raw: &RawProvider,
    defaults: Timeouts,
    default_check: &HealthCheck,
) -> Option<Provider> {
    let field = format!("providers.{name}");
    let before = cx.errors.len();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        cx.err(
            &raw.kind,
            &field,
            "a provider name may use only letters, digits, `-`, `_` and `.`",
        );
    }
    let kind = ProviderKind::from_name(&raw.kind.value);
    if kind.is_none() {
        cx.err(
            &raw.kind,
            format!("{field}.kind"),
            format!(
                "unknown provider kind `{}`; known kinds: {}",
                raw.kind.value,
                ProviderKind::names().join(", ")
            ),
        );
    }
    let base_url = match (&raw.base_url, kind.and_then(|k| k.info().default_base_url)) {
        (Some(s), _) => {
            cx.expand(s, &format!("{field}.base_url"))
                .and_then(|u| match BaseUrl::parse(&u) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        cx.err(s, format!("{field}.base_url"), e);
                        None
                    }
                })
        }
        (None, Some(template)) => {
            let filled = fill_url_template(cx, template, raw, &field);
            filled.and_then(|u| match BaseUrl::parse(&u) {
                Ok(b) => Some(b),
                Err(e) => {
                    cx.err(&raw.kind, format!("{field}.base_url"), e);
                    None
                }
            })
        }
        (None, None) => {
            if let Some(k) = kind {
                cx.err(
                    &raw.kind,
                    format!("{field}.base_url"),
                    format!("kind `{k}` has no default URL: set `base_url`"),
                );
            }
            None
        }
    };
    let api_key = match &raw.api_key {
        Some(k) => cx
            .expand(k, &format!("{field}.api_key"))
            .map(Secret::new)
            .unwrap_or_default(),
        None => Secret::default(),
    };
    let mut headers = Vec::new();
    for (hname, hval) in &raw.headers {
        let hfield = format!("{field}.headers.{hname}");
        let Ok(n) = HeaderName::from_bytes(hname.as_bytes()) else {
            cx.err(
                hval,
                &hfield,
                format!("`{hname}` is not a valid header name"),
            );
            continue;
        };
        if RESERVED_HEADERS.contains(&n.as_str()) {
            cx.err(
                hval,
                &hfield,
                format!("`{n}` is set by the gateway and cannot be configured"),
            );
            continue;
        }
        let Some(v) = cx.expand(hval, &hfield) else {
            continue;
        };
        // Printable ASCII only: `HeaderValue` would take other bytes (obs-text) that cannot
        // be read back as text, and such a header was dropped on the way out, silently.
        match HeaderValue::from_str(&v) {
            Ok(mut v) if v.to_str().is_ok() => {
                v.set_sensitive(true);
                headers.push((n, v));
            }
            _ => cx.err(
                hval,
                &hfield,
                format!("provider `{name}`: the value of header `{hname}` has characters a header cannot carry (printable ASCII only: no line breaks, NUL or non-ASCII characters)"),
            ),
        }
    }
    let mut models = Vec::new();
    for m in &raw.models {
        if m.value.trim().is_empty() {
            cx.err(m, format!("{field}.models"), "a model name cannot be empty");
        } else if models.contains(&m.value) {
            cx.err(
                m,
                format!("{field}.models"),
                format!("`{}` is listed twice", m.value),
            );
        } else {
            models.push(m.value.clone());
        }
    }
    let timeouts = timeouts(cx, &raw.timeouts, defaults, &format!("{field}.timeouts"));
    let ca_file = raw.tls.ca_file.as_ref().and_then(|c| {
        let path = cx.expand(c, &format!("{field}.tls.ca_file"))?;
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => Some(PathBuf::from(path)),
            _ => {
                cx.err(
                    c,
                    format!("{field}.tls.ca_file"),
                    format!("cannot read `{path}`"),
                );
                None
            }
        }
    });
    let options = provider_options(cx, raw, &field);
    if let (Some(ProviderKind::AzureOpenAi), Some(v), Some(at)) =
        (kind, &options.api_version, &raw.api_version)
    {
        // It goes into the query string as is.
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
        {
            cx.err(
                at,
                format!("{field}.api_version"),
                "an Azure OpenAI api_version looks like `2024-10-21` or `2025-04-01-preview`",
            );
        }
    }
    let health_check = health_check(
        cx,
        &raw.health_check,
        default_check,
        &format!("{field}.health_check"),
    );
    let auth = match &raw.auth {
        None => kind.map_or(AuthStyle::Bearer, |k| k.info().auth),
        Some(a) => AuthStyle::from_config(&a.value).unwrap_or_else(|| {
            cx.err(
                a,
                format!("{field}.auth"),
                "must be one of bearer, sigv4, none",
            );
            AuthStyle::Bearer
        }),
    };
    let kind_errors = cx.errors.len();
    kind_requirements(cx, raw, &field, kind, auth, &api_key);
    // A kind that cannot sign has said so; the SigV4 settings are only asked of the others.
    if auth == AuthStyle::AwsSigV4 && cx.errors.len() == kind_errors {
        // SigV4 signs with the region in its credential scope, also when `base_url` is set
        // (a missing region in the default URL template is reported there already).
        let template_needs_region = raw.base_url.is_none()
            && kind
                .and_then(|k| k.info().default_base_url)
                .is_some_and(|u| u.contains("{region}"));
        if options.region.is_none() && !template_needs_region {
            cx.err(
                &raw.kind,
                format!("{field}.region"),
                "SigV4 signing (the `bedrock` kind, or `auth: sigv4`) needs `region`",
            );
        }
        if options.aws.is_none() && raw.aws_access_key_id.is_none() {
            cx.err(
                &raw.kind,
                format!("{field}.aws_access_key_id"),
                "SigV4 signing needs `aws_access_key_id` and `aws_secret_access_key` (or `auth: bearer` with a Bedrock API key in `api_key`)",
            );
        }
    }
    if cx.errors.len() > before {
        return None;
    }
    let (kind, base_url) = (kind?, base_url?);
    Some(Provider {
        auth,
        options,
        health_check,
        name: name.to_owned(),
        kind,
        http2: raw.tls.http2.unwrap_or(base_url.tls()),
        stream_usage: raw.stream_usage.unwrap_or(kind.info().stream_usage),
        base_url,
        api_key,
        headers,
        models,
        timeouts,
        ca_file,
    })
}

/// Settings a kind cannot work without, beyond its base URL.
fn kind_requirements(
    cx: &mut Ctx<'_>,
    raw: &RawProvider,
    field: &str,
    kind: Option<ProviderKind>,
    auth: AuthStyle,
    api_key: &Secret,
) {
    if kind == Some(ProviderKind::Anthropic) {
        if auth == AuthStyle::AwsSigV4 {
            cx.err(
                &raw.kind,
                format!("{field}.auth"),
                "kind `anthropic` does not sign requests: use `bedrock` for Claude on AWS",
            );
        } else if auth != AuthStyle::None && api_key.is_empty() {
            cx.err(
                &raw.kind,
                format!("{field}.api_key"),
                "kind `anthropic` needs `api_key` (sent as `x-api-key`)",
            );
        }
    }
}

/// Fills `{region}`, `{project}` and `{location}` in a kind's default URL from the
/// provider's settings; a missing one is an error naming the setting. Google's `global`
/// location has no regional host, so a host starting with `{location}-` loses that prefix.
fn fill_url_template(
    cx: &mut Ctx<'_>,
    template: &str,
    raw: &RawProvider,
    field: &str,
) -> Option<String> {
    let mut url = template.to_owned();
    for (name, value) in [
        ("region", &raw.region),
        ("project", &raw.project),
        ("location", &raw.location),
    ] {
        let placeholder = format!("{{{name}}}");
        if !url.contains(&placeholder) {
            continue;
        }
        match value {
            Some(v) => {
                let v = cx.expand(v, &format!("{field}.{name}"))?;
                url = fill_placeholder(&url, name, v.trim());
            }
            None => {
                cx.err(
                    &raw.kind,
                    format!("{field}.{name}"),
                    format!(
                        "kind `{}` needs `{name}` (or an explicit `base_url`)",
                        raw.kind.value
                    ),
                );
                return None;
            }
        }
    }
    Some(url)
}

/// `url` with `{name}` replaced by `value`; Google's `global` location has no regional host,
/// so a host starting with `{location}-` loses that prefix.
pub(super) fn fill_placeholder(url: &str, name: &str, value: &str) -> String {
    let url = if name == "location" && value == "global" {
        url.replace("://{location}-", "://")
    } else {
        url.to_owned()
    };
    url.replace(&format!("{{{name}}}"), value)
}

fn provider_options(cx: &mut Ctx<'_>, raw: &RawProvider, field: &str) -> ProviderOptions {
    let mut text = |v: &Option<Spanned<String>>, name: &str| -> Option<String> {
        let v = v.as_ref()?;
        let out = cx.expand(v, &format!("{field}.{name}"))?;
        (!out.trim().is_empty()).then(|| out.trim().to_owned())
    };
    let api_version = text(&raw.api_version, "api_version");
    let region = text(&raw.region, "region");
    let project = text(&raw.project, "project");
    let location = text(&raw.location, "location");
    let access = text(&raw.aws_access_key_id, "aws_access_key_id");
    let secret = text(&raw.aws_secret_access_key, "aws_secret_access_key");
    let session = text(&raw.aws_session_token, "aws_session_token");
    let aws = match (access, secret) {
        (Some(a), Some(s)) => Some(AwsCredentials {
            access_key_id: Secret::new(a),
            secret_access_key: Secret::new(s),
            session_token: session.map(Secret::new),
        }),
        (None, None) => None,
        _ => {
            let at = raw
                .aws_access_key_id
                .as_ref()
                .or(raw.aws_secret_access_key.as_ref());
            if let Some(at) = at {
                cx.err(
                    at,
                    format!("{field}.aws_secret_access_key"),
                    "set both aws_access_key_id and aws_secret_access_key, or neither",
                );
            }
            None
        }
    };
    let default_max_tokens = match &raw.default_max_tokens {
        Some(m) if m.value == 0 => {
            cx.err(
                m,
                format!("{field}.default_max_tokens"),
                "must be greater than zero",
            );
            None
        }
        Some(m) => Some(m.value),
        None => None,
    };
    ProviderOptions {
        api_version,
        region,
        project,
        location,
        aws,
        default_max_tokens,
    }
}

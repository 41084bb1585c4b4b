//! The validated, typed configuration the gateway runs on. Built once per load; never
//! mutated (a reload builds a new one).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};

pub use switchyard_providers::validate::Limits as ValidationLimits;
use switchyard_providers::{AuthStyle, ProviderKind, ProviderOptions, Secret};

use crate::catalog::Catalog;
use crate::keys::KeyDigest;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listeners and process settings.
    pub server: Server,
    /// Logging.
    pub log: Log,
    /// Gateway keys (`auth.keys` and `auth.keys_file`); empty means the gateway is open.
    pub auth: Vec<GatewayKey>,
    /// Request validation.
    pub validation: Validation,
    /// Header-driven routing.
    pub zero_config: ZeroConfig,
    /// Timeouts for providers created by zero-config requests.
    pub default_timeouts: Timeouts,
    /// Providers, sorted by name; [`ProviderId`] indexes this.
    pub providers: Vec<Provider>,
    /// Routes, sorted by name.
    pub routes: Vec<Route>,
    /// Circuit breaking.
    pub circuit_breaker: CircuitBreaker,
    /// Fetching image URLs for providers that need images inline.
    pub images: ImageFetch,
    /// Compiled-in plugins to run, in order.
    pub plugins: Vec<PluginUse>,
    /// Limits on per-request configs.
    pub request_config: RequestConfigLimits,
    /// Limits on the attempts one request may make.
    pub attempts: AttemptLimits,
    /// Model prices, limits and modalities: the built-in catalog with the config's
    /// `catalog:` applied.
    pub catalog: Arc<Catalog>,
    /// Rate limits per user and global, and the shared store.
    pub limits: crate::limits::LimitsConfig,
}

/// `request_config:`: what a client may send in `x-switchyard-config` / `x-portkey-config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestConfigLimits {
    /// Per-request configs are accepted.
    pub enabled: bool,
    /// Most targets (leaves) in one.
    pub max_targets: usize,
    /// Deepest nesting of targets (a flat list of targets is depth 1).
    pub max_depth: usize,
}

impl Default for RequestConfigLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            max_targets: 50,
            max_depth: 8,
        }
    }
}

/// `attempts:`: what one request may cost upstream, whatever its route says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Most upstream attempts, retries and fallbacks included.
    pub max: u32,
    /// Most time spent waiting between attempts.
    pub max_wait: Duration,
}

impl Default for AttemptLimits {
    fn default() -> Self {
        Self {
            max: 50,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// A plugin the config turns on (`plugins: [ { use: NAME, with: {…} } ]`). Whether `name` is
/// compiled in, and whether `settings` suit it, is checked when the gateway is built.
#[derive(Debug, Clone)]
pub struct PluginUse {
    /// The plugin's name.
    pub name: String,
    /// Its `with:` settings (`null` when absent).
    pub settings: serde_json::Value,
}

/// `images:`: how the gateway fetches `http(s)` image URLs for providers (Gemini, Bedrock)
/// that only accept inline image bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFetch {
    /// Fetch at all; when off, such URLs get a 400.
    pub enabled: bool,
    /// Largest image.
    pub max_bytes: usize,
    /// Time for one fetch.
    pub timeout: Duration,
    /// Allow loopback, private and link-local destinations.
    pub allow_private_networks: bool,
}

impl Default for ImageFetch {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            allow_private_networks: false,
        }
    }
}

/// Passive outlier ejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Consecutive failures that open a target's circuit; 0 turns it off.
    pub failures: u32,
    /// How long it stays open before a probe.
    pub cooldown: Duration,
}

/// Active health checks of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Run them.
    pub enabled: bool,
    /// Time between checks.
    pub interval: Duration,
    /// Timeout of one check.
    pub timeout: Duration,
    /// Path below the base URL.
    pub path: String,
}

/// Index into [`Config::providers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(pub usize);

/// `server:`
#[derive(Debug, Clone)]
pub struct Server {
    /// Gateway listener.
    pub listen: SocketAddr,
    /// Admin listener.
    pub admin_listen: SocketAddr,
    /// Worker threads.
    pub threads: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_size: usize,
    /// Time in-flight requests get to finish on shutdown.
    pub shutdown_timeout: Duration,
    /// Idle upstream connections kept.
    pub upstream_pool_size: usize,
    /// Where `--daemon` writes the process id (default `/tmp/switchyard-<port>.pid`).
    pub pid_file: Option<PathBuf>,
    /// Socket for graceful upgrades, in a directory only this user can write (default
    /// `switchyard-<port>.upgrade.sock` in a private runtime directory).
    pub upgrade_sock: Option<PathBuf>,
    /// Most client connections at once.
    pub max_connections: usize,
    /// From the first byte of a request head to its end.
    pub header_timeout: Duration,
    /// How long a connection may wait for its next request.
    pub idle_timeout: Duration,
    /// The whole request body.
    pub body_timeout: Duration,
    /// Largest request head.
    pub max_header_size: usize,
    /// Accept HTTP/2 without TLS (h2c).
    pub h2c: bool,
    /// Most request and response bytes held across all requests.
    pub max_buffered: usize,
    /// TLS on the gateway listener (HTTP/2 offered by ALPN); plaintext without it.
    pub tls: Option<ServerTls>,
}

/// The gateway listener's certificate and key files (reloaded when they change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors.
    Error,
    /// Warnings.
    Warn,
    /// Normal operation.
    Info,
    /// Detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Parses `off|error|warn|info|debug|trace`.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" => Self::Off,
            "error" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => return None,
        })
    }
}

/// `log:`
#[derive(Debug, Clone)]
pub struct Log {
    /// Minimum level.
    pub level: LogLevel,
    /// One JSON line per request.
    pub access_log: bool,
}

/// An accepted gateway key. The key itself is not kept: only its digest.
#[derive(Debug, Clone)]
pub struct GatewayKey {
    /// Its label.
    pub name: String,
    /// The SHA-256 of the key.
    pub digest: KeyDigest,
    /// Free-form labels (`team`, `app`, …).
    pub metadata: BTreeMap<String, String>,
    /// Route names and `provider/model` patterns (`*` matches any run of characters) the key
    /// may use; `None`: every model.
    pub allow: Option<Vec<String>>,
    /// Largest `max_tokens` / `max_completion_tokens` a request may ask for with this key
    /// (lower than `validation.max_tokens` when both are set).
    pub max_tokens: Option<u64>,
    // Limits and budget of the key.
    /// Requests and tokens per period.
    pub limits: crate::limits::Limits,
    /// Spending cap.
    pub budget: Option<crate::limits::Budget>,
}

/// `validation:`: request bodies checked against OpenAI's schema before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validation {
    /// On unless turned off.
    pub enabled: bool,
    /// The bounds beyond the schema.
    pub limits: ValidationLimits,
}

impl Default for Validation {
    fn default() -> Self {
        Self {
            enabled: true,
            limits: ValidationLimits::default(),
        }
    }
}

/// `zero_config:`
#[derive(Debug, Clone, Copy)]
pub struct ZeroConfig {
    /// Header-selected providers with the client's own key.
    pub enabled: bool,
    /// Client-chosen upstream URLs.
    pub allow_custom_host: bool,
    /// Client-chosen destinations may be loopback, private or link-local addresses.
    pub allow_private_networks: bool,
}

/// Upstream timeouts, all explicit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP plus TLS connect.
    pub connect: Duration,
    /// Request sent → response header.
    pub first_byte: Duration,
    /// Between body reads.
    pub idle: Duration,
    /// The whole exchange.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

/// A parsed base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    /// Scheme.
    pub scheme: Scheme,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// Port (explicit or the scheme's default).
    pub port: u16,
    /// Path without a trailing slash, possibly empty.
    pub path: String,
}

impl BaseUrl {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (Scheme::Http, r)
        } else {
            return Err(format!("`{url}` must start with http:// or https://"));
        };
        if rest.contains(['?', '#']) {
            return Err("a base URL cannot have a query or fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("put credentials in `api_key` or `headers`, not in the URL".into());
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or("unterminated IPv6 literal")?;
            let port = match &v6[end + 1..] {
                "" => default_port,
                p => parse_port(p.strip_prefix(':').ok_or("bad port")?)?,
            };
            (v6[..end].to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), parse_port(p)?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        {
            return Err(format!("`{host}` is not a valid host"));
        }
        Ok(Self {
            scheme,
            host,
            port,
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The `Host` header value: the port only when it is not the scheme's default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.scheme, self.port) {
            (Scheme::Http, 80) | (Scheme::Https, 443) => host,
            (_, port) => format!("{host}:{port}"),
        }
    }

    /// True for https.
    pub fn tls(&self) -> bool {
        self.scheme == Scheme::Https
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("`{p}` is not a valid port"))
}

/// A validated provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Its config name.
    pub name: String,
    /// Its kind.
    pub kind: ProviderKind,
    /// Where it lives.
    pub base_url: BaseUrl,
    /// Its key; empty when none.
    pub api_key: Secret,
    /// Extra headers (values marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Models it serves.
    pub models: Vec<String>,
    /// Ask for usage on streams.
    pub stream_usage: bool,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// A CA bundle to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// Offer HTTP/2 over TLS.
    pub http2: bool,
    /// How credentials are sent.
    pub auth: AuthStyle,
    /// Kind-specific settings (API version, region, project, AWS credentials…).
    pub options: ProviderOptions,
    /// Active health checks.
    pub health_check: HealthCheck,
}

/// A validated route: a model alias and its tree.
#[derive(Debug, Clone)]
pub struct Route {
    /// The alias clients send as `model`.
    pub name: String,
    /// What it does.
    pub node: crate::route::RouteNode,
    // Limits and budget of the route.
    /// Requests and tokens per period.
    pub limits: crate::limits::Limits,
    /// Spending cap.
    pub budget: Option<crate::limits::Budget>,
}

impl Config {
    /// True when some rate limit or budget is configured (the limits stage then runs).
    pub fn has_limits(&self) -> bool {
        !self.limits.per_user.is_empty()
            || !self.limits.global.is_empty()
            || self
                .auth
                .iter()
                .any(|k| !k.limits.is_empty() || k.budget.is_some())
            || self
                .routes
                .iter()
                .any(|r| !r.limits.is_empty() || r.budget.is_some())
    }

    /// A provider by id.
    pub fn provider(&self, id: ProviderId) -> Option<&Provider> {
        self.providers.get(id.0)
    }

    /// A provider by name.
    pub fn provider_id(&self, name: &str) -> Option<ProviderId> {
        self.providers
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
            .map(ProviderId)
    }

    /// A route by name.
    pub fn route(&self, name: &str) -> Option<&Route> {
        self.routes
            .binary_search_by(|r| r.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.routes.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_parse() {
        let u = BaseUrl::parse("https://api.openai.com/v1/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("api.openai.com", 443, "/v1")
        );
        assert_eq!(u.authority(), "api.openai.com");
        let u = BaseUrl::parse("http://127.0.0.1:9000/v1").unwrap();
        assert_eq!(u.authority(), "127.0.0.1:9000");
        let u = BaseUrl::parse("http://[::1]:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8080, "")
        );
        assert_eq!(u.authority(), "[::1]:8080");
        assert!(BaseUrl::parse("ftp://x").is_err());
        assert!(BaseUrl::parse("http://user:pw@x").is_err());
        assert!(BaseUrl::parse("http://x:99999").is_err());
        assert!(BaseUrl::parse("http://x/v1?key=1").is_err());
        assert!(BaseUrl::parse("http:///v1").is_err());
    }
}

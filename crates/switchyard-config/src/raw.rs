//! The configuration file exactly as written. Every struct denies unknown fields; values that
//! validation may reject keep their source location ([`Spanned`]).

use std::collections::BTreeMap;

use serde::Deserialize;
pub use serde_saphyr::Spanned;

use crate::errors::ConfigError;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Listeners and process settings.
    #[serde(default)]
    pub server: RawServer,
    /// Logging.
    #[serde(default)]
    pub log: RawLog,
    /// Gateway API keys.
    #[serde(default)]
    pub auth: Option<RawAuth>,
    /// Header-driven routing without configured providers.
    #[serde(default)]
    pub zero_config: RawZeroConfig,
    /// Defaults inherited by every provider.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// Providers by name.
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    /// Routes (model aliases) by name.
    #[serde(default)]
    pub routes: BTreeMap<String, RawRoute>,
}

/// `server:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Gateway listener, `ip:port`.
    pub listen: Option<Spanned<String>>,
    /// Admin listener (health, readiness, metrics), `ip:port`.
    pub admin_listen: Option<Spanned<String>>,
    /// Worker threads.
    pub threads: Option<Spanned<u32>>,
    /// Largest request body accepted.
    pub max_body_size: Option<Spanned<Size>>,
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    pub shutdown_timeout: Option<Spanned<Dur>>,
    /// Idle upstream connections kept per process.
    pub upstream_pool_size: Option<Spanned<u32>>,
}

/// `log:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// Minimum level.
    pub level: Option<Spanned<String>>,
    /// One JSON line per request.
    pub access_log: Option<bool>,
}

/// `auth:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// Accepted gateway keys.
    #[serde(default)]
    pub keys: Vec<RawKey>,
}

/// One gateway key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// A label for logs and metrics.
    pub name: Spanned<String>,
    /// The key (use `${VAR}`).
    pub key: Spanned<String>,
}

/// `zero_config:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZeroConfig {
    /// Accept `x-switchyard-provider` / `x-portkey-provider` with the client's own key.
    pub enabled: Option<bool>,
    /// Also accept `x-switchyard-custom-host` / `x-portkey-custom-host` (lets clients pick
    /// any upstream URL: only for trusted networks).
    pub allow_custom_host: Option<bool>,
}

/// `defaults:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Upstream timeouts.
    #[serde(default)]
    pub timeouts: RawTimeouts,
}

/// Upstream timeouts; each may be left out to inherit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    /// TCP and TLS connect.
    pub connect: Option<Spanned<Dur>>,
    /// From the request sent to the response header.
    pub first_byte: Option<Spanned<Dur>>,
    /// Between two reads of the response body.
    pub idle: Option<Spanned<Dur>>,
    /// The whole exchange.
    pub total: Option<Spanned<Dur>>,
}

/// One provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// The kind (`openai`, …).
    pub kind: Spanned<String>,
    /// Where it lives; defaults to the kind's public URL.
    pub base_url: Option<Spanned<String>>,
    /// Its key (use `${VAR}`).
    pub api_key: Option<Spanned<String>>,
    /// Extra headers for every request.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// Models it serves, listed by `GET /v1/models` and routable by bare name.
    #[serde(default)]
    pub models: Vec<Spanned<String>>,
    /// Ask for usage on streams (overrides the kind's default).
    pub stream_usage: Option<bool>,
    /// Timeouts (override `defaults.timeouts`).
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// TLS settings for https base URLs.
    #[serde(default)]
    pub tls: RawTls,
    /// Override how credentials are sent: `bearer`, `sigv4` or `none`.
    pub auth: Option<Spanned<String>>,
    /// API version (Anthropic's `anthropic-version`, Azure's `api-version`).
    pub api_version: Option<Spanned<String>>,
    /// Cloud region (AWS Bedrock).
    pub region: Option<Spanned<String>>,
    /// Cloud project (Google Vertex AI).
    pub project: Option<Spanned<String>>,
    /// Cloud location (Google Vertex AI).
    pub location: Option<Spanned<String>>,
    /// AWS access key id (use `${VAR}`).
    pub aws_access_key_id: Option<Spanned<String>>,
    /// AWS secret access key (use `${VAR}`).
    pub aws_secret_access_key: Option<Spanned<String>>,
    /// AWS session token (use `${VAR}`).
    pub aws_session_token: Option<Spanned<String>>,
    /// `max_tokens` sent when a client gives none and the provider requires one.
    pub default_max_tokens: Option<Spanned<u32>>,
}

/// TLS to a provider.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// A PEM file of CA certificates to trust instead of the system's.
    pub ca_file: Option<Spanned<String>>,
    /// Offer HTTP/2 (default: on for https).
    pub http2: Option<bool>,
}

/// One route: a model alias and where it goes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// `single` or `fallback` (default: `fallback` when there are several targets).
    pub strategy: Option<Spanned<String>>,
    /// The targets, in order.
    pub targets: Spanned<Vec<RawTarget>>,
}

/// One target of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    /// A provider name.
    pub provider: Spanned<String>,
    /// The model to ask it for; defaults to the client's.
    pub model: Option<Spanned<String>>,
}

/// A duration written with a unit.
#[derive(Debug, Clone, Copy)]
pub struct Dur(pub std::time::Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::units::parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

/// A byte size, plain or with a unit.
#[derive(Debug, Clone, Copy)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size such as 32MiB or a number of bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Size, E> {
                crate::units::parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses YAML text into the raw form; errors carry file, line, column and field path.
pub fn parse(text: &str, source_name: &str) -> Result<RawConfig, ConfigError> {
    let mut path = None;
    let result = serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = Some(e.path().to_string());
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let loc = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize));
        let mut message = e.without_snippet().to_string();
        // The location is reported separately; keep the message to what went wrong.
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        // `Spanned` wraps values in a struct whose one field is `value`: not a config field.
        let field = path
            .map(|p| p.strip_suffix(".value").map(str::to_owned).unwrap_or(p))
            .filter(|p| !p.is_empty() && p != ".");
        ConfigError {
            file: source_name.to_owned(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            field,
            message,
        }
    })
}

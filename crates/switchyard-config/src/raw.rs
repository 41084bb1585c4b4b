//! The configuration file exactly as written. Every struct denies unknown fields; values that
//! validation may reject keep their source location ([`Spanned`]).

use std::collections::BTreeMap;

use serde::Deserialize;
pub use serde_saphyr::Spanned;

use crate::errors::{ConfigError, ConfigErrors};

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
    /// Request validation before routing.
    #[serde(default)]
    pub validation: RawValidation,
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
    pub routes: BTreeMap<String, RawNode>,
    /// Circuit breaking and active health checks.
    #[serde(default)]
    pub health: RawHealth,
    /// Fetching image URLs for providers that need images inline.
    #[serde(default)]
    pub images: RawImages,
    /// Compiled-in plugins to run, in order.
    #[serde(default)]
    pub plugins: Vec<RawPlugin>,
    /// Limits on per-request configs (`x-switchyard-config`, `x-portkey-config`).
    #[serde(default)]
    pub request_config: RawRequestConfig,
    /// Limits on the upstream attempts one request may make.
    #[serde(default)]
    pub attempts: RawAttempts,
    /// Model prices, context windows and modalities: overrides of (or a replacement for) the
    /// built-in catalog.
    #[serde(default)]
    pub catalog: Option<RawCatalog>,
    /// Rate limits per user and global, and the store shared between replicas.
    #[serde(default)]
    pub limits: Option<crate::limits::RawLimitsSection>,
}

/// `request_config:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequestConfig {
    /// Accept per-request configs at all.
    pub enabled: Option<bool>,
    /// Most targets (leaves) in one.
    pub max_targets: Option<Spanned<u32>>,
    /// Deepest nesting of targets.
    pub max_depth: Option<Spanned<u32>>,
}

/// `attempts:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttempts {
    /// Most upstream attempts per request, retries and fallbacks included.
    pub max: Option<Spanned<u32>>,
    /// Most time spent waiting between attempts (backoff, `Retry-After`).
    pub max_wait: Option<Spanned<Dur>>,
}

/// One entry of `plugins:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlugin {
    /// The plugin's name, as compiled into the binary.
    #[serde(rename = "use")]
    pub name: Spanned<String>,
    /// Its settings, handed to the plugin as JSON.
    #[serde(default, rename = "with")]
    pub settings: Option<Spanned<serde_json::Value>>,
}

/// `catalog:` in a config, and the whole of the built-in `conf/models.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    /// `extend` (the default: add to and override the built-in catalog) or `replace` (only
    /// the models given here).
    pub mode: Option<Spanned<String>>,
    /// Models by provider kind.
    #[serde(default)]
    pub providers: BTreeMap<String, Spanned<RawCatalogProvider>>,
}

/// The models of one provider kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogProvider {
    /// The provider's public pricing page.
    pub pricing_url: Option<Spanned<String>>,
    /// When the figures were read (`YYYY-MM-DD`).
    pub retrieved: Option<Spanned<String>>,
    /// Where the figures come from, when not only from the pricing page.
    pub figures: Option<String>,
    /// Models by the id the provider's API expects.
    #[serde(default)]
    pub models: BTreeMap<String, Spanned<RawCatalogModel>>,
}

/// One model of the catalog. In `extend` mode, an entry for a model the built-in catalog has
/// changes only the fields it gives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalogModel {
    /// Other ids the provider documents for the same model at the same price (dated
    /// snapshots, `-latest` names, inference profiles).
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    /// Prices in USD per million tokens.
    pub price: Option<Spanned<RawPrice>>,
    /// Higher prices that apply to the whole request once its prompt exceeds a size.
    pub long_context: Option<Spanned<RawLongContext>>,
    /// Largest prompt plus completion, in tokens.
    pub context_window: Option<Spanned<u64>>,
    /// Largest completion, in tokens.
    pub max_output_tokens: Option<Spanned<u64>>,
    /// What goes in and comes out.
    pub modalities: Option<Spanned<RawModalities>>,
    /// Where this entry's figures come from, when it differs from its provider's.
    pub source: Option<String>,
}

/// Token prices in USD per million tokens.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    /// Prompt tokens not read from or written to a cache.
    pub input: Option<Spanned<f64>>,
    /// Generated tokens, reasoning included.
    pub output: Option<Spanned<f64>>,
    /// Prompt tokens read from the provider's cache.
    pub cached_input: Option<Spanned<f64>>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write: Option<Spanned<f64>>,
}

/// `long_context:` prices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLongContext {
    /// Prompt size (tokens, cached ones included) above which these prices apply.
    pub above: Spanned<u64>,
    /// Prompt tokens not read from or written to a cache.
    pub input: Option<Spanned<f64>>,
    /// Generated tokens.
    pub output: Option<Spanned<f64>>,
    /// Prompt tokens read from the provider's cache.
    pub cached_input: Option<Spanned<f64>>,
    /// Prompt tokens written to the provider's cache.
    pub cache_write: Option<Spanned<f64>>,
}

/// `modalities:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModalities {
    /// `text`, `image`, `audio`, `video`.
    #[serde(default)]
    pub input: Vec<Spanned<String>>,
    /// `text`, `image`, `audio`, or `embeddings` alone.
    #[serde(default)]
    pub output: Vec<Spanned<String>>,
}

/// `health:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealth {
    /// Passive outlier ejection.
    #[serde(default)]
    pub circuit_breaker: RawBreaker,
    /// Active checks, the default for every provider.
    #[serde(default)]
    pub checks: RawHealthCheck,
}

/// `images:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImages {
    /// Fetch `http(s)` image URLs for providers that only take inline images (default true).
    pub fetch: Option<bool>,
    /// Largest image fetched.
    pub max_bytes: Option<Spanned<Size>>,
    /// Time allowed for one fetch, connect to last byte.
    pub timeout: Option<Spanned<Dur>>,
    /// Allow URLs that resolve to loopback, private or link-local addresses (default false:
    /// a client must not make the gateway reach into its own network).
    pub allow_private_networks: Option<bool>,
}

/// `health.circuit_breaker:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Consecutive failures that open a target's circuit (0 turns the breaker off).
    pub failures: Option<Spanned<u32>>,
    /// How long an open circuit refuses traffic before one probe is let through.
    pub cooldown: Option<Spanned<Dur>>,
}

/// Active health checks (`health.checks:` and a provider's `health_check:`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Run them.
    pub enabled: Option<bool>,
    /// Time between checks.
    pub interval: Option<Spanned<Dur>>,
    /// Connect and response timeout of one check.
    pub timeout: Option<Spanned<Dur>>,
    /// Path below the provider's base URL to `GET` (any answer below 500 is healthy).
    pub path: Option<Spanned<String>>,
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
    /// Where `--daemon` writes the process id.
    pub pid_file: Option<Spanned<String>>,
    /// The Unix socket through which `--upgrade` receives the listeners of a running instance.
    pub upgrade_sock: Option<Spanned<String>>,
    /// Most client connections at once.
    pub max_connections: Option<Spanned<u32>>,
    /// From the first byte of a request head to its end.
    pub header_timeout: Option<Spanned<Dur>>,
    /// How long a connection may wait for its next request.
    pub idle_timeout: Option<Spanned<Dur>>,
    /// The whole request body.
    pub body_timeout: Option<Spanned<Dur>>,
    /// Largest request head (request line and headers).
    pub max_header_size: Option<Spanned<Size>>,
    /// Accept HTTP/2 without TLS.
    pub h2c: Option<bool>,
    /// Most request and response bytes held across all requests.
    pub max_buffered: Option<Spanned<Size>>,
    /// TLS on the gateway listener.
    pub tls: Option<Spanned<RawServerTls>>,
}

/// `server.tls:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerTls {
    /// PEM certificate chain, leaf first.
    pub cert: Option<Spanned<String>>,
    /// PEM private key.
    pub key: Option<Spanned<String>>,
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
    /// A YAML file holding more keys (`keys: [ … ]`, the same entries), read at start;
    /// relative to the config file's directory.
    pub keys_file: Option<Spanned<String>>,
}

/// A keys file (`auth.keys_file`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeysFile {
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
    /// The key (use `${VAR}`); or give `key_sha256`.
    pub key: Option<Spanned<String>>,
    /// The key's SHA-256 digest in hex (`switchyard keys new` prints it).
    pub key_sha256: Option<Spanned<String>>,
    /// Free-form labels (`team`, `app`, …) carried with the key's identity.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Route names and `provider/model` patterns (`*` matches anything) this key may use;
    /// absent: every model.
    pub allow: Option<Spanned<Vec<String>>>,
    /// Largest `max_tokens` / `max_completion_tokens` a request with this key may ask for.
    pub max_tokens: Option<Spanned<u64>>,
    // Limits and budget of the key (see `crate::limits`).
    /// Requests and tokens per period.
    pub limits: Option<crate::limits::RawLimits>,
    /// Spending cap.
    pub budget: Option<crate::limits::RawBudget>,
}

/// `validation:`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidation {
    /// Validate request bodies before routing (default on).
    pub enabled: Option<bool>,
    /// Most entries in `messages`.
    pub max_messages: Option<Spanned<u64>>,
    /// Deepest nesting of arrays and objects in a body.
    pub max_depth: Option<Spanned<u64>>,
    /// Largest `n`.
    pub max_n: Option<Spanned<u64>>,
    /// Largest `max_tokens` / `max_completion_tokens` (a key's own cap may lower it).
    pub max_tokens: Option<Spanned<u64>>,
    /// Most entries in `tools`.
    pub max_tools: Option<Spanned<u64>>,
    /// Most stop sequences.
    pub max_stop: Option<Spanned<u64>>,
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
    /// Let such requests reach loopback, private and link-local addresses.
    pub allow_private_networks: Option<bool>,
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
    /// Active health checks for this provider (override `health.checks`).
    #[serde(default)]
    pub health_check: RawHealthCheck,
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

/// A route, or any node of one: a target (`provider`), a reference to another route
/// (`route`), or a group (`strategy` and `targets`). The same shape is accepted in YAML routes
/// and in per-request configs (`x-switchyard-config`, Portkey's `x-portkey-config`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// `single`, `fallback`, `loadbalance`, `conditional`, or an object with `mode` and its
    /// settings (Portkey's form).
    pub strategy: Option<Spanned<RawStrategy>>,
    /// Children of a group.
    pub targets: Option<Spanned<Vec<Box<RawNode>>>>,
    /// A provider: a configured provider's name, or (per-request configs) a provider kind.
    pub provider: Option<Spanned<String>>,
    /// The model to ask the provider for.
    pub model: Option<Spanned<String>>,
    /// Another route, by name.
    pub route: Option<Spanned<String>>,
    /// A name conditional rules refer to.
    pub name: Option<Spanned<String>>,
    /// Load-balancing weight.
    pub weight: Option<Spanned<f64>>,
    /// Statuses that make a fallback group move on (Portkey's form at node level).
    pub on_status_codes: Option<Spanned<Vec<u16>>>,
    /// Retry policy.
    pub retry: Option<Spanned<RawRetry>>,
    /// Request parameters to force.
    pub override_params: Option<Spanned<serde_json::Value>>,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// Total timeout in milliseconds (Portkey's form).
    pub request_timeout: Option<Spanned<u64>>,
    /// A provider key (per-request configs with an inline provider only).
    pub api_key: Option<Spanned<String>>,
    /// A provider URL (per-request configs with an inline provider only).
    pub custom_host: Option<Spanned<String>>,
    /// Portkey's hosted virtual keys: refused with an explanation.
    pub virtual_key: Option<Spanned<String>>,
    // Portkey's fields below are boxed: rarely given, and a node is deserialized on the stack
    // once per level of `targets` (see `load_request_config`'s nesting bound).
    /// Client request headers passed on to the provider as they came.
    pub forward_headers: Option<Box<Spanned<Vec<String>>>>,
    /// Portkey's response cache settings (`{mode, max_age}`).
    pub cache: Option<Box<Spanned<serde_json::Value>>>,
    /// Portkey's `strict_open_ai_compliance`.
    pub strict_open_ai_compliance: Option<Box<Spanned<bool>>>,
    /// Portkey's hosted circuit-breaker settings.
    pub cb_config: Option<Box<Spanned<serde_json::Value>>>,
    /// Checks before the request is sent.
    pub before_request_hooks: Option<Box<Spanned<serde_json::Value>>>,
    /// Checks on the answer.
    pub after_request_hooks: Option<Box<Spanned<serde_json::Value>>>,
    /// Guardrails on the input (ids or objects).
    pub input_guardrails: Option<Box<Spanned<serde_json::Value>>>,
    /// Guardrails on the output.
    pub output_guardrails: Option<Box<Spanned<serde_json::Value>>>,
    /// Mutators on the input.
    pub input_mutators: Option<Box<Spanned<serde_json::Value>>>,
    /// Mutators on the output.
    pub output_mutators: Option<Box<Spanned<serde_json::Value>>>,
    /// AWS access key id (Bedrock).
    pub aws_access_key_id: Option<Box<Spanned<String>>>,
    /// AWS secret access key (Bedrock).
    pub aws_secret_access_key: Option<Box<Spanned<String>>>,
    /// AWS session token for temporary credentials (Bedrock).
    pub aws_session_token: Option<Box<Spanned<String>>>,
    /// AWS region (Bedrock).
    pub aws_region: Option<Box<Spanned<String>>>,
    /// Google Cloud project (Vertex AI).
    pub vertex_project_id: Option<Box<Spanned<String>>>,
    /// Google Cloud region (Vertex AI).
    pub vertex_region: Option<Box<Spanned<String>>>,
    /// A Google service account key (Vertex AI).
    pub vertex_service_account_json: Option<Box<Spanned<serde_json::Value>>>,
    /// `OpenAI-Project` header (OpenAI).
    pub openai_project: Option<Box<Spanned<String>>>,
    /// `OpenAI-Organization` header (OpenAI).
    pub openai_organization: Option<Box<Spanned<String>>>,
    /// Azure deployment (the model path segment).
    pub deployment_id: Option<Box<Spanned<String>>>,
    /// Azure `api-version`.
    pub api_version: Option<Box<Spanned<String>>>,
    /// An Entra ID token sent as `Authorization: Bearer` (Azure).
    pub azure_ad_token: Option<Box<Spanned<String>>>,
    /// Azure's authentication mode.
    pub azure_auth_mode: Option<Box<Spanned<String>>>,
    /// Azure's underlying model name (for Portkey's cost accounting).
    pub azure_model_name: Option<Box<Spanned<String>>>,
    /// Entra ID client credentials (Azure).
    pub azure_entra_client_id: Option<Box<Spanned<String>>>,
    /// Entra ID client credentials (Azure).
    pub azure_entra_client_secret: Option<Box<Spanned<String>>>,
    /// Entra ID client credentials (Azure).
    pub azure_entra_tenant_id: Option<Box<Spanned<String>>>,
    // Limits and budget of a route (top level of `routes:` only; see `crate::limits`).
    /// Requests and tokens per period.
    pub limits: Option<crate::limits::RawLimits>,
    /// Spending cap.
    pub budget: Option<crate::limits::RawBudget>,
}

impl RawNode {
    /// Portkey's hook and guardrail fields present on this node, by name.
    pub fn hooks(&self) -> impl Iterator<Item = (&'static str, &Spanned<serde_json::Value>)> {
        [
            ("before_request_hooks", &self.before_request_hooks),
            ("after_request_hooks", &self.after_request_hooks),
            ("input_guardrails", &self.input_guardrails),
            ("output_guardrails", &self.output_guardrails),
            ("input_mutators", &self.input_mutators),
            ("output_mutators", &self.output_mutators),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.as_deref().map(|v| (n, v)))
    }
}

/// A strategy: a bare mode or Portkey's object form.
#[derive(Debug, Default)]
pub struct RawStrategy {
    /// The mode.
    pub mode: String,
    /// Statuses that make a fallback move on.
    pub on_status_codes: Option<Vec<u16>>,
    /// Conditional rules.
    pub conditions: Option<Vec<RawRule>>,
    /// Conditional default child.
    pub default: Option<String>,
    /// Load-balancing policy.
    pub balance: Option<String>,
    /// Portkey's sticky load balancing (accepted, ignored with a warning).
    pub sticky: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for RawStrategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawStrategy;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "a mode (single, fallback, loadbalance, conditional) or an object with `mode`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawStrategy, E> {
                Ok(RawStrategy {
                    mode: v.to_owned(),
                    ..RawStrategy::default()
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawStrategy, A::Error> {
                let mut s = RawStrategy::default();
                let mut mode = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "mode" => mode = Some(map.next_value::<String>()?),
                        "on_status_codes" => s.on_status_codes = Some(map.next_value()?),
                        "conditions" => s.conditions = Some(map.next_value()?),
                        "default" => s.default = Some(map.next_value()?),
                        "balance" => s.balance = Some(map.next_value()?),
                        "sticky" => s.sticky = Some(map.next_value()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &[
                                    "mode",
                                    "on_status_codes",
                                    "conditions",
                                    "default",
                                    "balance",
                                    "sticky",
                                ],
                            ))
                        }
                    }
                }
                s.mode = mode.ok_or_else(|| serde::de::Error::missing_field("mode"))?;
                Ok(s)
            }
        }
        d.deserialize_any(V)
    }
}

/// A conditional rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// A MongoDB-style query.
    pub query: serde_json::Value,
    /// The name of the child it selects.
    pub then: String,
}

/// A retry policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// Retries after the first try.
    pub attempts: Option<u32>,
    /// Statuses worth retrying.
    pub on_status_codes: Option<Vec<u16>>,
    /// Honour `Retry-After` (Portkey's name; its docs also spell it `use_retry_after_headers`).
    #[serde(alias = "use_retry_after_headers")]
    pub use_retry_after_header: Option<bool>,
    /// The longest `Retry-After` worth waiting for.
    pub retry_after_cap: Option<Dur>,
    /// Exponential backoff.
    pub backoff: Option<RawBackoff>,
}

/// Exponential backoff with full jitter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackoff {
    /// First delay.
    pub initial: Option<Dur>,
    /// Largest delay.
    pub max: Option<Dur>,
    /// Growth factor.
    pub multiplier: Option<f64>,
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

/// Most problems one parse reports.
const MAX_PARSE_ERRORS: usize = 25;

/// Parses YAML text into the raw form; errors carry file, line, column and field path.
///
/// A parse stops at its first error, so after each one the line it points at is blanked and
/// the text parsed again: one run lists every unknown field, wrong type and duplicate key.
/// A line that opens a block (the next line is indented deeper) is not blanked, since its
/// children would then be read as something else: the search stops there. An error found
/// above a blanked line is the blanking's doing (a mapping left empty): not reported, and its
/// line is blanked in turn.
pub fn parse(text: &str, source_name: &str) -> Result<RawConfig, ConfigErrors> {
    let first = match parse_as(text, source_name) {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    let mut lines: Vec<&str> = text.lines().collect();
    let mut next_blank = first.line;
    let mut errors = vec![first];
    let indent = |l: &str| l.len() - l.trim_start().len();
    for _ in 0..2 * MAX_PARSE_ERRORS {
        if errors.len() >= MAX_PARSE_ERRORS {
            break;
        }
        let Some(at) = next_blank.and_then(|l| l.checked_sub(1)) else {
            break;
        };
        let Some(line) = lines.get(at) else {
            break;
        };
        let opens_block = lines[at + 1..]
            .iter()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .is_some_and(|next| indent(next) > indent(line));
        if line.trim().is_empty() || opens_block {
            break;
        }
        lines[at] = "";
        match parse_as::<RawConfig>(&lines.join("\n"), source_name) {
            Ok(_) => break,
            Err(e) => {
                next_blank = e.line;
                // Parsing goes down the file: an error above the blanked line is the
                // blanking's doing (a mapping left empty), not the file's; that line goes too.
                if e.line.is_some_and(|l| l <= at) {
                    continue;
                }
                if errors
                    .iter()
                    .any(|seen| seen.line == e.line && seen.message == e.message)
                {
                    break;
                }
                errors.push(e);
            }
        }
    }
    Err(ConfigErrors(errors))
}

/// Parses YAML (or JSON, a subset of YAML's flow style) into any raw type.
/// Parses JSON text (a per-request config header) into `T`, naming the failing field by its
/// path and the header's line and column. JSON needs no YAML machinery: `serde_json` keeps a
/// small stack frame per level of nesting where the YAML parser keeps a large one, and a
/// per-request config is parsed on a request's worker thread (values then carry no source
/// location; the field path names them).
pub fn parse_json_as<T: serde::de::DeserializeOwned>(
    text: &str,
    source_name: &str,
) -> Result<T, ConfigError> {
    let error = |path: Option<String>, inner: serde_json::Error| {
        let (line, column) = (inner.line(), inner.column());
        let mut message = inner.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        ConfigError {
            file: source_name.to_owned(),
            line: (line > 0).then_some(line),
            column: (line > 0).then_some(column),
            field: path
                .map(|p| spanned_free_path(&p))
                .filter(|p| !p.is_empty() && p != "."),
            message,
        }
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        error(Some(path), e.into_inner())
    })?;
    de.end().map_err(|e| error(None, e))?;
    Ok(value)
}

pub fn parse_as<T: serde::de::DeserializeOwned + Default>(
    text: &str,
    source_name: &str,
) -> Result<T, ConfigError> {
    if text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        return Ok(T::default());
    }
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
        let message = plain_words(&message);
        // `Spanned` wraps values in a struct whose one field is `value`: not a config field.
        // (A map key literally named `value` is elided from the path too.)
        let field = path
            .map(|p| spanned_free_path(&p))
            .map(|p| p.strip_suffix(".?").map(str::to_owned).unwrap_or(p))
            .filter(|p| !p.is_empty() && p != "." && p != "?");
        ConfigError {
            file: source_name.to_owned(),
            line: loc.map(|l| l.0),
            column: loc.map(|l| l.1),
            field,
            message,
        }
    })
}

/// The parser's message in the config's words: no Rust type or option names.
fn plain_words(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("`{key}` is given twice in the same mapping");
    }
    const NUMBERS: [&str; 12] = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    ];
    let mut out = message.to_owned();
    for n in NUMBERS {
        out = out.replace(
            &format!("invalid {n}"),
            "expected a whole number (in range)",
        );
        out = out.replace(&format!("expected {n}"), "expected a whole number");
    }
    for (rust, plain) in [
        ("invalid f64", "expected a number"),
        ("invalid f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("invalid bool", "expected true or false"),
        (
            "expected mapping start",
            "expected a mapping (`key: value` lines or `{ … }`)",
        ),
        (
            "expected sequence start",
            "expected a list (`- item` lines or `[ … ]`)",
        ),
        ("expected string scalar", "expected a text value"),
        ("expected a string", "expected a text value"),
    ] {
        out = out.replace(rust, plain);
    }
    if let Some(i) = out.find("struct ") {
        // `invalid type: …, expected struct RawServer` and the like.
        let end = out[i..].find([',', ')']).map_or(out.len(), |e| i + e);
        out.replace_range(i..end, "a mapping");
    }
    out
}

/// A serde path without the `value` segments `Spanned` adds (`catalog.providers.openai.value.
/// models` → `catalog.providers.openai.models`, `targets.value[0]` → `targets[0]`).
fn spanned_free_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for seg in path.split('.') {
        let rest = match seg.strip_prefix("value") {
            Some(rest) if rest.is_empty() || rest.starts_with('[') => rest,
            _ => seg,
        };
        if rest.is_empty() {
            continue;
        }
        if !out.is_empty() && !rest.starts_with('[') {
            out.push('.');
        }
        out.push_str(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_parse_problem_is_listed_in_plain_words() {
        let text = "server:\n  threads: x\n  nope: 1\nproviders:\n  p1: { kind: openai, bogus: 1 }\n  p2: { kind: openai }\nroutes: [1]\nlog:\n  level: info\n  level: warn\n";
        let errs = super::parse(text, "t.yaml").unwrap_err().0;
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 5, "{all:#?}");
        let text = all.join("\n");
        for want in [
            "t.yaml:2:12: `server.threads`: expected a whole number",
            "`server.nope`: unknown field `nope`",
            "t.yaml:10:3: `log`: `level` is given twice in the same mapping",
            "`providers.p1.bogus`: unknown field `bogus`",
            "`routes`: expected a mapping",
        ] {
            assert!(text.contains(want), "{want} not in:\n{text}");
        }
        for rust in ["u32", "DuplicateKeyPolicy", "Options", "scalar", "struct"] {
            assert!(!text.contains(rust), "{rust} in:\n{text}");
        }
    }

    #[test]
    fn spanned_segments_leave_the_path() {
        use super::spanned_free_path as f;
        assert_eq!(f("server.threads.value"), "server.threads");
        assert_eq!(
            f("catalog.providers.openai.value.models.x.value.colour"),
            "catalog.providers.openai.models.x.colour"
        );
        assert_eq!(f("targets.value[0].colour"), "targets[0].colour");
        assert_eq!(f("server.bogus"), "server.bogus");
        assert_eq!(f("providers.values.kind"), "providers.values.kind");
    }
}

//! The runtime snapshot built once from a validated config: providers with their dialects and
//! connection settings, the routing table, the pipeline of stages, the `/v1/models` answer and
//! the metrics. Nothing in it changes while requests run; a reload starts a new process with
//! a new snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use pingora::connectors::http::Connector;
use pingora::connectors::ConnectorOptions;
use pingora::server::configuration::ServerConf;
use switchyard_config::catalog::listing::{self, ModelList};
use switchyard_config::route::InlineSettings;
use switchyard_config::{BaseUrl, Config, Provider, ProviderId};
use switchyard_pipeline::{Pipeline, Plugin};
use switchyard_providers::{dialect_for, Dialect, ProviderEndpoint, ProviderKind, Secret};
use switchyard_router::{BreakerPolicy, HealthRegistry, Router};

use crate::metrics::Metrics;
use crate::upstream::{Upstream, UpstreamTarget};

/// One provider, ready to serve.
pub struct ProviderRuntime {
    /// What translation needs.
    pub endpoint: ProviderEndpoint,
    /// The dialect.
    pub dialect: &'static dyn Dialect,
    /// How to reach it.
    pub target: UpstreamTarget,
    /// Its metric label.
    pub label: Arc<str>,
}

/// Everything requests share.
pub struct State {
    /// The config it was built from.
    pub config: Config,
    /// The routing table.
    pub router: Router,
    /// Configured providers, indexed by [`ProviderId`].
    pub providers: Vec<ProviderRuntime>,
    /// One provider per kind with a public URL, for zero-config requests.
    pub zero_config: HashMap<ProviderKind, ProviderRuntime>,
    /// The upstream client.
    pub upstream: Upstream,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The stages every request goes through.
    pub pipeline: Pipeline,
    /// The task sharing limit counters through Redis, until the server takes it to run.
    pub limits_sync: std::sync::Mutex<Option<crate::stages::LimitsSync>>,
    /// The clock health decisions use.
    pub clock: Clock,
    /// Secrets redacted from what providers send back.
    pub redactor: crate::redact::Redactor,
    /// Request and response bytes held, bounded by `server.max_buffered`.
    pub budget: Arc<crate::budget::Budget>,
    /// Client connections held, bounded by `server.max_connections`.
    pub connections: Arc<crate::guard::Connections>,
    /// Set when shutdown begins: connections stop being kept alive.
    pub draining: AtomicBool,
    /// Set when the shutdown timeout is about to end: responses still running end now.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// The pool for providers that trust the system's CAs.
    pub default_connector: Arc<Connector>,
    /// The `GET /v1/models` listing, and its body precomputed.
    pub models: ModelList,
    /// The precomputed `GET /v1/models` body.
    pub models_body: Bytes,
    /// Circuit breakers and load figures per target.
    pub health: HealthRegistry,
    /// The route label of requests carrying their own config.
    pub request_config_label: Arc<str>,
    request_ids: RequestIds,
}

impl State {
    /// Builds the snapshot. `server_conf` supplies pool sizes; `plugins` are the plugins
    /// compiled into the binary, which the config may turn on.
    pub fn new(
        config: Config,
        server_conf: &ServerConf,
        plugins: &[Plugin],
    ) -> Result<Arc<Self>, String> {
        let metrics = Arc::new(Metrics::new().map_err(|e| format!("metrics: {e}"))?);
        let (pipeline, limits_sync) = crate::stages::build(&config, &metrics, plugins)?;
        let mut connectors: HashMap<Option<PathBuf>, Arc<Connector>> = HashMap::new();
        let base_opts = ConnectorOptions::from_server_conf(server_conf);
        let default_connector = Arc::new(Connector::new(Some(base_opts.clone())));
        connectors.insert(None, default_connector.clone());
        let mut providers = Vec::with_capacity(config.providers.len());
        for p in &config.providers {
            let connector = connectors
                .entry(p.ca_file.clone())
                .or_insert_with(|| {
                    let mut opts = base_opts.clone();
                    opts.ca_file = p.ca_file.as_ref().map(|f| f.display().to_string());
                    Arc::new(Connector::new(Some(opts)))
                })
                .clone();
            providers.push(runtime_for(p, connector));
        }
        // One runtime per kind with a public default URL. Kinds whose default is the
        // gateway's own host (Ollama, vLLM, LM Studio, llama.cpp) are left out: a client
        // must not reach services on the gateway's host by naming a kind — configure such a
        // provider instead.
        let zero_config = ProviderKind::ALL
            .iter()
            .filter_map(|&kind| {
                let url = BaseUrl::parse(kind.info().default_base_url?).ok()?;
                if is_local_host(&url.host) {
                    return None;
                }
                let rt = zero_config_runtime(kind, &url, None, &config, default_connector.clone());
                Some((kind, rt))
            })
            .collect();
        let router = Router::new(&config);
        let (models, models_body) = models(&config);
        let health = HealthRegistry::new(
            &config,
            BreakerPolicy {
                failures: config.circuit_breaker.failures,
                cooldown: config.circuit_breaker.cooldown,
            },
        );
        Ok(Arc::new(Self {
            router,
            providers,
            zero_config,
            upstream: Upstream::default(),
            metrics,
            pipeline,
            limits_sync: std::sync::Mutex::new(limits_sync),
            clock: Clock::new(),
            budget: crate::budget::Budget::new(config.server.max_buffered),
            redactor: crate::redact::Redactor::new(&config),
            connections: Arc::new(crate::guard::Connections::new(
                config.server.max_connections,
            )),
            draining: AtomicBool::new(false),
            closing: tokio::sync::watch::Sender::new(false),
            default_connector,
            models,
            models_body,
            health,
            request_config_label: Arc::from("request_config"),
            request_ids: RequestIds::new(),
            config,
        }))
    }

    /// A provider by id.
    pub fn provider(&self, id: ProviderId) -> Option<&ProviderRuntime> {
        self.providers.get(id.0)
    }

    /// A fresh request id: 32 hex digits, unique per process and unlikely to repeat across
    /// processes.
    pub fn next_request_id(&self) -> String {
        self.request_ids.next()
    }
}

/// A runtime for a configured provider.
pub fn runtime_for(p: &Provider, connector: Arc<Connector>) -> ProviderRuntime {
    let endpoint = ProviderEndpoint {
        name: p.name.clone(),
        kind: p.kind,
        authority: p.base_url.authority(),
        base_path: p.base_url.path.clone(),
        api_key: p.api_key.clone(),
        headers: p.headers.clone(),
        stream_usage: p.stream_usage,
        auth: p.auth,
        options: p.options.clone(),
    };
    ProviderRuntime {
        dialect: dialect_for(p.kind.info().dialect),
        target: UpstreamTarget::new(
            p.base_url.host.clone(),
            p.base_url.port,
            p.base_url.tls(),
            p.base_url.authority(),
            p.timeouts,
            p.http2,
            connector,
        ),
        label: Arc::from(p.name.as_str()),
        endpoint,
    }
}

/// A host name that means this machine.
fn is_local_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| !crate::netguard::is_public(ip))
}

/// A runtime for a provider chosen by request headers, keyed by the client's own credentials.
/// Only public addresses are reached unless `zero_config.allow_private_networks`.
pub fn zero_config_runtime(
    kind: ProviderKind,
    url: &BaseUrl,
    extra: Option<&InlineSettings>,
    config: &Config,
    connector: Arc<Connector>,
) -> ProviderRuntime {
    let timeouts = config.default_timeouts;
    let mut rt = ProviderRuntime {
        endpoint: ProviderEndpoint {
            name: kind.name().to_owned(),
            kind,
            authority: url.authority(),
            base_path: url.path.clone(),
            api_key: Secret::default(),
            headers: extra.map(|e| e.headers.clone()).unwrap_or_default(),
            // The client did not configure anything: change nothing it did not ask for.
            stream_usage: false,
            auth: extra.and_then(|e| e.auth).unwrap_or(kind.info().auth),
            options: extra.map(|e| e.options.clone()).unwrap_or_default(),
        },
        dialect: dialect_for(kind.info().dialect),
        target: UpstreamTarget::new(
            url.host.clone(),
            url.port,
            url.tls(),
            url.authority(),
            timeouts,
            url.tls(),
            connector,
        ),
        label: Arc::from(kind.name()),
    };
    rt.target.public_only = !config.zero_config.allow_private_networks;
    rt
}

/// The `GET /v1/models` listing (routes, configured providers' models — or their kind's
/// catalog models — with prices, context windows and modalities from the catalog).
fn models(config: &Config) -> (ModelList, Bytes) {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let list = listing::model_list(config, created);
    let body = Bytes::from(list.to_json().unwrap_or_default());
    (list, body)
}

/// Microseconds since the gateway started: the clock every health decision reads (the
/// router itself reads none).
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// Now, in microseconds since start.
    pub fn now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }
}

struct RequestIds {
    seed: u64,
    counter: AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        Self {
            seed: rand::random(),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        // 32 lowercase hex digits without the formatting machinery (on every request).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 32];
        for (i, word) in [self.seed, n].into_iter().enumerate() {
            for j in 0..16 {
                out[i * 16 + j] = HEX[((word >> (60 - 4 * j)) & 0xf) as usize];
            }
        }
        std::str::from_utf8(&out)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

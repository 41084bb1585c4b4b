//! Active health checks, on pingora-load-balancing's machinery: for every provider whose
//! config enables them, a `LoadBalancer` with one backend (the provider's resolved address)
//! runs an `HttpHealthCheck` in the background — `GET <base path><health path>` every
//! `interval` — and a callback flips the provider's "up" flag in the [`HealthRegistry`]. A
//! provider that is down is tried only after healthy ones. The passive circuit breakers in the
//! registry do the rest from real traffic.
//!
//! Any answer below 500 counts as healthy: the probe carries no API key, so a 401 or 404 still
//! proves the provider is there and answering.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::http::RequestHeader;
use pingora::lb::discovery::ServiceDiscovery;
use pingora::lb::health_check::{HealthObserve, HttpHealthCheck};
use pingora::lb::selection::RoundRobin;
use pingora::lb::{Backend, Backends, LoadBalancer};
use pingora::services::background::{background_service, GenBackgroundService};
use switchyard_config::ProviderId;

use crate::dns::Resolver;
use crate::state::State;

/// Discovers a provider's single backend by resolving its host (asynchronously: Pingora's
/// own resolution would block and panic on failure).
struct ProviderDiscovery {
    host: String,
    port: u16,
    resolver: Arc<Resolver>,
}

#[async_trait]
impl ServiceDiscovery for ProviderDiscovery {
    async fn discover(&self) -> pingora::Result<(BTreeSet<Backend>, HashMap<u64, bool>)> {
        let addr = self
            .resolver
            .resolve(&self.host, self.port)
            .await
            .map_err(|e| {
                pingora::Error::explain(pingora::ErrorType::ConnectError, e.to_string())
            })?;
        let backend = Backend::new(&addr.to_string())?;
        Ok((BTreeSet::from([backend]), HashMap::new()))
    }
}

/// Copies the check's verdict into the registry.
struct Observer {
    provider: String,
    up: Arc<AtomicBool>,
}

#[async_trait]
impl HealthObserve for Observer {
    async fn observe(&self, _target: &Backend, healthy: bool) {
        let was = self.up.swap(healthy, Ordering::Relaxed);
        if was != healthy {
            log::warn!(
                target: "switchyard::health",
                provider = self.provider.as_str(),
                healthy = healthy;
                "active health check changed state"
            );
        }
    }
}

/// One background service per provider with checks enabled.
pub fn services(state: &State) -> Vec<GenBackgroundService<LoadBalancer<RoundRobin>>> {
    let resolver = Arc::new(Resolver::default());
    let mut out = Vec::new();
    for (i, p) in state.config.providers.iter().enumerate() {
        let check = &p.health_check;
        if !check.enabled {
            continue;
        }
        let Some(up) = state.health.provider_up(ProviderId(i)) else {
            continue;
        };
        let discovery = ProviderDiscovery {
            host: p.base_url.host.clone(),
            port: p.base_url.port,
            resolver: resolver.clone(),
        };
        let mut lb = LoadBalancer::<RoundRobin>::from_backends(Backends::new(Box::new(discovery)));
        let authority = p.base_url.authority();
        let mut hc = HttpHealthCheck::new(&authority, p.base_url.tls());
        hc.peer_template.sni = p.base_url.host.clone();
        hc.peer_template.options.connection_timeout = Some(check.timeout);
        hc.peer_template.options.total_connection_timeout = Some(check.timeout);
        hc.peer_template.options.read_timeout = Some(check.timeout);
        hc.peer_template.options.write_timeout = Some(check.timeout);
        if p.ca_file.is_some() {
            // The checker's own connector only knows the system CAs; the probe asks "is it
            // answering", and real traffic still verifies against the configured CA.
            hc.peer_template.options.verify_cert = false;
        }
        let path = format!("{}{}", p.base_url.path, check.path);
        match RequestHeader::build("GET", path.as_bytes(), None) {
            Ok(mut req) => {
                if req.insert_header("host", authority.as_str()).is_err()
                    || req
                        .insert_header(
                            "user-agent",
                            concat!("switchyard/", env!("CARGO_PKG_VERSION"), " health-check"),
                        )
                        .is_err()
                {
                    continue;
                }
                hc.req = req;
            }
            Err(_) => continue,
        }
        hc.consecutive_failure = 2;
        hc.consecutive_success = 1;
        hc.validator = Some(Box::new(|resp| {
            if resp.status.as_u16() < 500 {
                Ok(())
            } else {
                Err(pingora::Error::explain(
                    pingora::ErrorType::HTTPStatus(resp.status.as_u16()),
                    "health check answered 5xx",
                ))
            }
        }));
        hc.health_changed_callback = Some(Box::new(Observer {
            provider: p.name.clone(),
            up: up.clone(),
        }));
        lb.set_health_check(Box::new(hc));
        lb.health_check_frequency = Some(check.interval);
        // Re-resolve the provider's name now and then.
        lb.update_frequency = Some(Duration::from_secs(60));
        out.push(background_service(&format!("health check {}", p.name), lb));
    }
    out
}

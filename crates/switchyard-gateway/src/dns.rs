//! Asynchronous, cached name resolution for provider hosts.
//!
//! Pingora's `HttpPeer::new` resolves names synchronously and panics when that fails, so the
//! gateway resolves here (off the worker threads, through Tokio's resolver) and hands Pingora
//! socket addresses only. Answers are cached for a fixed time; when a refresh fails, the last
//! good answer keeps being used so a resolver blip does not take a provider down.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::error::UpstreamError;

/// How long an answer is reused before it is looked up again.
const TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Entry {
    addrs: Vec<SocketAddr>,
    fetched: Instant,
}

/// The resolver shared by all requests.
#[derive(Default)]
pub struct Resolver {
    cache: RwLock<HashMap<(String, u16), Entry>>,
}

impl Resolver {
    /// Resolves `host:port`; IP literals need no lookup.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, UpstreamError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let key = (host.to_owned(), port);
        let cached = self.cached(&key);
        if let Some(e) = &cached {
            if e.fetched.elapsed() < TTL {
                return first(&e.addrs, host);
            }
        }
        match tokio::net::lookup_host((host, port)).await {
            Ok(addrs) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                let picked = first(&addrs, host)?;
                if let Ok(mut cache) = self.cache.write() {
                    cache.insert(
                        key,
                        Entry {
                            addrs,
                            fetched: Instant::now(),
                        },
                    );
                }
                Ok(picked)
            }
            // Serve the stale answer rather than fail outright.
            Err(_) if cached.is_some() => first(&cached.map(|e| e.addrs).unwrap_or_default(), host),
            Err(e) => Err(UpstreamError::Resolve {
                host: host.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    fn cached(&self, key: &(String, u16)) -> Option<Entry> {
        self.cache.read().ok()?.get(key).cloned()
    }
}

fn first(addrs: &[SocketAddr], host: &str) -> Result<SocketAddr, UpstreamError> {
    // Prefer IPv4 when both are offered: many hosts publish AAAA records that are not
    // reachable from IPv4-only machines.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| UpstreamError::Resolve {
            host: host.to_owned(),
            reason: "no addresses".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ip_literals_and_localhost_resolve() {
        let r = Resolver::default();
        assert_eq!(
            r.resolve("127.0.0.1", 80).await.unwrap(),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            r.resolve("::1", 80).await.unwrap(),
            "[::1]:80".parse().unwrap()
        );
        assert!(r.resolve("localhost", 9).await.unwrap().ip().is_loopback());
    }
}

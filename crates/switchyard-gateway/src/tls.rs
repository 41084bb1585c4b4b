//! TLS on the gateway listener: `server.tls` names a PEM certificate chain and key; HTTP/2 is
//! offered by ALPN next to HTTP/1.1. [`Certs`] is the listener's certificate resolver: each
//! handshake takes the current key pair, and [`CertWatch`] swaps in a new one whole when
//! either file changes (a renewal needs no restart). A file that cannot be read or parsed at
//! start stops the start; after that, a bad file is logged and the old pair kept.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{ClientHello, CryptoProvider, ResolvesServerCert};
use switchyard_config::ServerTls;

/// How often the files are looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// The listener's certificate and key, swapped whole on change.
pub struct Certs {
    cert: PathBuf,
    key: PathBuf,
    current: ArcSwap<CertifiedKey>,
    /// Modification times of the pair in use.
    stamp: Mutex<(Option<SystemTime>, Option<SystemTime>)>,
}

impl fmt::Debug for Certs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certs")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Certs {
    /// Loads the configured pair.
    pub fn load(tls: &ServerTls) -> Result<Arc<Self>, String> {
        pingora::tls::install_default_crypto_provider();
        let stamp = stamps(&tls.cert, &tls.key);
        let pair = read(&tls.cert, &tls.key)?;
        Ok(Arc::new(Self {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            current: ArcSwap::from_pointee(pair),
            stamp: Mutex::new(stamp),
        }))
    }

    /// Reloads the pair when a file changed since it was read; true when a new pair is in use.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamps(&self.cert, &self.key);
        let Ok(mut stamp) = self.stamp.lock() else {
            return false;
        };
        if *stamp == now {
            return false;
        }
        *stamp = now;
        match read(&self.cert, &self.key) {
            Ok(pair) => {
                self.current.store(Arc::new(pair));
                log::info!(target: "switchyard", cert = self.cert.display().to_string().as_str(); "TLS certificate reloaded");
                true
            }
            Err(e) => {
                log::warn!(target: "switchyard", error = e.as_str(); "TLS certificate not reloaded; the previous one stays in use");
                false
            }
        }
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn stamps(cert: &Path, key: &Path) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(cert), m(key))
}

/// Reads and checks a certificate chain and its private key.
fn read(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let (c, k) = (cert.display().to_string(), key.display().to_string());
    let (chain, private) = pingora::tls::load_certs_and_key_files(&c, &k)
        .map_err(|e| format!("server.tls: cannot read {c} or {k}: {e}"))?
        .ok_or_else(|| format!("server.tls: no certificate in {c} or no private key in {k}"))?;
    let provider = CryptoProvider::get_default()
        .ok_or_else(|| "server.tls: no TLS crypto provider installed".to_owned())?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| format!("server.tls: the key in {k} cannot be used: {e}"))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match().map_err(|e| {
        format!("server.tls: the key in {k} does not match the certificate in {c}: {e}")
    })?;
    Ok(pair)
}

/// Watches the certificate files and reloads them on change.
pub struct CertWatch(pub Arc<Certs>);

#[async_trait]
impl BackgroundService for CertWatch {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => { self.0.reload_if_changed(); }
                _ = shutdown.changed() => return,
            }
        }
    }
}

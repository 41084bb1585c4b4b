//! The listening sockets, held before anything starts, and their hand-over to a new process.
//!
//! Pingora binds each listener inside its service's runtime once the server runs: an address
//! in use is retried for 30 s (the admin listener may already report ready meanwhile), and one
//! that cannot be bound panics the service's thread while the process lives on. Here every
//! listener is bound, or received from the running instance on `--upgrade`, by
//! [`Listeners::acquire`] before the server starts: a listener that cannot be had ends the start
//! with a clear error and a non-zero exit, and `/ready` (served by one of them) cannot answer
//! before all are held. [`Bound`] gives each service its sockets through Pingora's table of
//! inherited sockets, so Pingora never binds.
//!
//! The hand-over on SIGQUIT is ours too ([`Listeners::hand_over`], run by the signal watcher):
//! the old process stops only once a new one has taken the sockets; when none has (it failed to
//! start, e.g. on a broken config), the old one logs why and keeps serving.
//!
//! The upgrade socket decides who receives the listening sockets, so it lives in a private
//! directory ([`upgrade_sock`]): by default a `0700` runtime directory of ours, and a
//! configured path whose directory others can write is refused.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{IntoRawFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use pingora::server::{Fds, ListenFds, ShutdownWatch};
use pingora::services::Service;
use switchyard_config::Config;

/// Longest path a Unix socket address holds (`sun_path` less its NUL).
const MAX_SOCK_PATH: usize = 107;

/// The listening sockets of this process, by the address string each service listens on.
pub struct Listeners {
    fds: HashMap<String, RawFd>,
}

impl Listeners {
    /// Binds every address in `addrs`. With `upgrade_from` (the upgrade socket), an address
    /// in use is expected from the running instance, which hands its sockets over there; its
    /// sockets for addresses this config no longer has are closed. Every address that can be
    /// bound is bound before the hand-over, so a config whose new address cannot be had fails
    /// while the running instance still serves.
    pub fn acquire(
        addrs: &[(String, SocketAddr)],
        upgrade_from: Option<&str>,
    ) -> Result<Self, String> {
        let mut fds = HashMap::new();
        let mut expected = Vec::new();
        for (name, addr) in addrs {
            if fds.contains_key(name) || expected.contains(name) {
                return Err(format!("{name} is configured for two listeners"));
            }
            match bind(*addr) {
                Ok(l) => {
                    fds.insert(name.clone(), l.into_raw_fd());
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && upgrade_from.is_some() => {
                    expected.push(name.clone());
                }
                Err(e) => return Err(format!("cannot listen on {name}: {e}")),
            }
        }
        let Some(sock) = upgrade_from else {
            return Ok(Self { fds });
        };
        let (names, inherited) = receive(sock)?.serialize();
        let mut inherited: HashMap<String, RawFd> = names.into_iter().zip(inherited).collect();
        for name in expected {
            let Some(fd) = inherited.remove(&name) else {
                return Err(format!(
                    "cannot listen on {name}: it is in use, and the running instance did not hand it over"
                ));
            };
            log::info!(target: "switchyard", listen = name.as_str(); "listening socket taken over");
            fds.insert(name, fd);
        }
        for (name, fd) in inherited {
            log::info!(target: "switchyard", listen = name.as_str(); "inherited listening socket no longer configured: closed");
            let _ = nix::unistd::close(fd);
        }
        Ok(Self { fds })
    }

    /// Sends every listening socket to the new process waiting on `upgrade_sock` (blocking,
    /// retried for a few seconds while it starts).
    pub fn hand_over(&self, upgrade_sock: &str) -> Result<(), String> {
        let mut table = Fds::new();
        for (name, fd) in &self.fds {
            table.add(name.clone(), *fd);
        }
        table.send_to_sock(upgrade_sock).map(|_| ()).map_err(|e| {
            format!("no new process took the listening sockets on {upgrade_sock}: {e}")
        })
    }
}

/// A listening socket bound the way Pingora binds (`SO_REUSEADDR`, which on Linux still
/// refuses a port another socket listens on; Pingora raises the backlog when it takes it),
/// non-blocking as its runtime needs.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Receives the listening sockets of the running instance (`--upgrade`): it sends them when it
/// gets SIGQUIT. Waits a few seconds at most.
fn receive(upgrade_sock: &str) -> Result<Fds, String> {
    let mut fds = Fds::new();
    fds.get_from_sock(upgrade_sock).map_err(|e| {
        format!("--upgrade: no running instance handed over its listening sockets on {upgrade_sock} (send it SIGQUIT after starting this one): {e}")
    })?;
    Ok(fds)
}

/// A Pingora service that listens on sockets held by [`Listeners`] instead of binding its own.
pub struct Bound<S> {
    inner: S,
    listeners: Arc<Listeners>,
}

impl<S> Bound<S> {
    /// `inner`, listening on its addresses' sockets from `listeners`.
    pub fn new(inner: S, listeners: Arc<Listeners>) -> Self {
        Self { inner, listeners }
    }
}

#[async_trait]
impl<S: Service> Service for Bound<S> {
    async fn start_service(
        &mut self,
        fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
    ) {
        if let Some(table) = &fds {
            let mut table = table.lock();
            for addr in self.inner.listen_addresses().unwrap_or_default() {
                if let Some(fd) = self.listeners.fds.get(&addr) {
                    if table.get(&addr).is_none() {
                        table.add(addr, *fd);
                    }
                }
            }
        }
        self.inner
            .start_service(fds, shutdown, listeners_per_fd)
            .await;
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn threads(&self) -> Option<usize> {
        self.inner.threads()
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        self.inner.listen_addresses()
    }
}

/// The upgrade socket's path, in a directory only this user can write: the configured
/// `server.upgrade_sock` (refused when others can write its directory), or
/// `switchyard-<port>.upgrade.sock` in a private runtime directory: `$RUNTIME_DIRECTORY`
/// (systemd), `$XDG_RUNTIME_DIR/switchyard`, `/run/switchyard` (root), else
/// `<tmp>/switchyard-<uid>`, created `0700`.
pub fn upgrade_sock(config: &Config) -> Result<String, String> {
    let path = match &config.server.upgrade_sock {
        Some(p) => {
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            private_dir(&dir, false)
                .map_err(|e| format!("server.upgrade_sock {}: {e}", p.display()))?;
            p.clone()
        }
        None => {
            let dir = runtime_dir();
            private_dir(&dir, true).map_err(|e| {
                format!(
                    "the upgrade socket's directory {}: {e} (set server.upgrade_sock)",
                    dir.display()
                )
            })?;
            dir.join(format!(
                "switchyard-{}.upgrade.sock",
                config.server.listen.port()
            ))
        }
    };
    let s = path.display().to_string();
    if s.len() > MAX_SOCK_PATH {
        return Err(format!(
            "the upgrade socket path {s} is longer than {MAX_SOCK_PATH} bytes"
        ));
    }
    Ok(s)
}

/// Where a default upgrade socket goes.
fn runtime_dir() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = env("RUNTIME_DIRECTORY") {
        // systemd may list several, separated by ':'.
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_owned();
        if !first.is_empty() {
            return PathBuf::from(first);
        }
    }
    if let Some(d) = env("XDG_RUNTIME_DIR") {
        return PathBuf::from(d).join("switchyard");
    }
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        PathBuf::from("/run/switchyard")
    } else {
        std::env::temp_dir().join(format!("switchyard-{uid}"))
    }
}

/// Checks that `dir` is a directory owned by this user (or root) that nobody else can write;
/// with `create`, makes it (`0700`) when missing.
fn private_dir(dir: &Path, create: bool) -> Result<(), String> {
    if create && !dir.exists() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create it: {e}"))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| format!("{e}"))?;
    if !meta.is_dir() {
        return Err("not a directory".to_owned());
    }
    let uid = nix::unistd::geteuid().as_raw();
    if meta.uid() != uid && meta.uid() != 0 {
        return Err(format!(
            "the directory belongs to user {}, not to this process's user {uid}",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "the directory {} can be written by other users (mode {:o}): whoever binds the socket there first would receive the listening sockets",
            dir.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_an_error_not_a_retry() {
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let err = Listeners::acquire(&[(addr.to_string(), addr)], None)
            .err()
            .unwrap();
        assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
        assert!(err.contains("in use"), "{err}");
    }

    #[test]
    fn shared_directories_are_refused() {
        let err = private_dir(Path::new("/tmp"), false).unwrap_err();
        assert!(err.contains("can be written by other users"), "{err}");
        let dir = std::env::temp_dir().join(format!("sy-private-{}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        private_dir(&dir, true).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir(&dir).unwrap();
    }
}

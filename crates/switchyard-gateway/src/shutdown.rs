//! Signals and graceful shutdown.
//!
//! SIGTERM and SIGINT both shut down gracefully (a second one exits at once); SIGQUIT hands
//! the listening sockets to a new process started with `--upgrade`, then shuts down
//! gracefully, or, when no new process takes them, logs why and keeps serving. SIGHUP,
//! SIGUSR1, SIGUSR2 and SIGALRM are logged and otherwise ignored (SIGPIPE is ignored by the
//! Rust runtime): no other signal ends the process. In every case the listeners stop accepting
//! and in-flight requests get up to `server.shutdown_timeout` to finish. Pingora waits out
//! that whole grace period even when nothing is in flight, so [`Drain`] ends the process as
//! soon as the last request is done.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora::services::background::BackgroundService;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::listeners::Listeners;
use crate::state::State;

/// Maps Unix signals to Pingora shutdown kinds.
pub struct Signals {
    listeners: Arc<Listeners>,
    upgrade_sock: String,
    installed: Mutex<Option<Installed>>,
}

/// The handlers, installed before the server starts: a signal that arrives while it starts is
/// not handled by the default action (which ends the process).
struct Installed {
    term: Signal,
    int: Signal,
    quit: Signal,
    others: Vec<(Signal, &'static str)>,
}

/// Signals that end a process by default but mean nothing to the gateway.
const IGNORED: [(SignalKind, &str); 4] = [
    (SignalKind::hangup(), "SIGHUP"),
    (SignalKind::user_defined1(), "SIGUSR1"),
    (SignalKind::user_defined2(), "SIGUSR2"),
    (SignalKind::alarm(), "SIGALRM"),
];

impl Signals {
    /// Installs the handlers now; at SIGQUIT `listeners` are handed over on `upgrade_sock`.
    pub fn install(listeners: Arc<Listeners>, upgrade_sock: String) -> Result<Self, String> {
        // Tokio installs a process-wide handler the first time a signal is asked for; the
        // streams made here are read later by the server's runtime.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot install signal handlers: {e}"))?;
        let _in_rt = rt.enter();
        let mk = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| format!("cannot install a handler for {name}: {e}"))
        };
        let mut others = Vec::new();
        for (kind, name) in IGNORED {
            others.push((mk(kind, name)?, name));
        }
        let installed = Installed {
            term: mk(SignalKind::terminate(), "SIGTERM")?,
            int: mk(SignalKind::interrupt(), "SIGINT")?,
            quit: mk(SignalKind::quit(), "SIGQUIT")?,
            others,
        };
        Ok(Self {
            listeners,
            upgrade_sock,
            installed: Mutex::new(Some(installed)),
        })
    }
}

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let taken = self.installed.lock().ok().and_then(|mut i| i.take());
        let Some(Installed {
            mut term,
            mut int,
            mut quit,
            others,
        }) = taken
        else {
            return std::future::pending().await;
        };
        for (mut s, name) in others {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    log::warn!(target: "switchyard", signal = name; "signal ignored");
                }
            });
        }
        let kind = loop {
            tokio::select! {
                _ = term.recv() => break ShutdownSignal::GracefulTerminate,
                _ = int.recv() => break ShutdownSignal::GracefulTerminate,
                _ = quit.recv() => {
                    if self.hand_over().await {
                        // The sockets are the new process's now (its accept loop takes the
                        // connections queued meanwhile): stop accepting and drain. Pingora's
                        // own upgrade would send them a second time.
                        break ShutdownSignal::GracefulTerminate;
                    }
                }
            }
        };
        watch_second_signal(term, int);
        log::info!("shutdown signal received: no new connections, finishing in-flight requests");
        kind
    }
}

impl Signals {
    /// Sends the listening sockets to the new process; false (logged) when none took them.
    async fn hand_over(&self) -> bool {
        log::info!(target: "switchyard", upgrade_sock = self.upgrade_sock.as_str(); "SIGQUIT: handing the listening sockets to the new process");
        let listeners = self.listeners.clone();
        let sock = self.upgrade_sock.clone();
        match tokio::task::spawn_blocking(move || listeners.hand_over(&sock)).await {
            Ok(Ok(())) => {
                log::info!(target: "switchyard", "listening sockets handed over; draining");
                true
            }
            Ok(Err(e)) => {
                log::error!(target: "switchyard", error = e.as_str(); "upgrade failed: still serving");
                false
            }
            Err(e) => {
                log::error!(target: "switchyard", error = e.to_string().as_str(); "upgrade failed: still serving");
                false
            }
        }
    }
}

/// A second SIGTERM or SIGINT during the drain means: stop now.
fn watch_second_signal(mut term: Signal, mut int: Signal) {
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        log::warn!("second shutdown signal: exiting without waiting for in-flight requests");
        std::process::exit(130);
    });
}

/// A background service that waits for the shutdown broadcast, marks the gateway as
/// draining, and exits the process as soon as nothing is in flight. (A service rather than a
/// thread: in daemon mode Pingora forks after services are registered, and only what runs
/// inside its runtimes survives the fork.)
pub struct Drain {
    state: Arc<State>,
}

impl Drain {
    /// A drain watcher for `state`.
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

#[async_trait]
impl BackgroundService for Drain {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        while !*shutdown.borrow() {
            if shutdown.changed().await.is_err() {
                return;
            }
        }
        self.state.draining.store(true, Ordering::Relaxed);
        // Shortly before the grace period ends (when Pingora stops the runtime), responses
        // still running are told to end: a stream then closes with an error event instead of
        // being cut off looking complete.
        let grace = self.state.config.server.shutdown_timeout;
        let last_call = tokio::time::Instant::now()
            + grace.saturating_sub(Duration::from_secs(1)).max(grace / 2);
        let mut told = false;
        let mut quiet_polls = 0;
        loop {
            if !told && tokio::time::Instant::now() >= last_call {
                told = true;
                log::warn!(
                    inflight = self.state.metrics.inflight.get();
                    "shutdown timeout: ending the responses still in flight"
                );
                let _ = self.state.closing.send(true);
            }
            // Two quiet polls in a row with no request in flight and no head being read: a
            // request accepted just before the listener closed has had time to show up.
            if self.state.metrics.inflight.get() <= 0 && self.state.connections.reading_heads() == 0
            {
                quiet_polls += 1;
                if quiet_polls >= 2 {
                    log::info!("all in-flight requests finished; exiting");
                    std::process::exit(0);
                }
            } else {
                quiet_polls = 0;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

//! Graceful shutdown.
//!
//! SIGTERM and SIGINT both shut down gracefully (a second one exits at once); SIGQUIT hands
//! the listening sockets to a new process started with `--upgrade` (Pingora's graceful
//! upgrade). In every case the listeners stop accepting and in-flight requests get up to
//! `server.shutdown_timeout` to finish. Pingora waits out that whole grace period even when
//! nothing is in flight, so a watcher ends the process as soon as the last request is done.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora::server::{ExecutionPhase, Server, ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, SignalKind};

use crate::state::State;

/// Maps Unix signals to Pingora shutdown kinds.
pub struct Signals;

#[async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            log::error!("cannot install signal handlers; shut down with SIGKILL");
            return std::future::pending().await;
        };
        let kind = tokio::select! {
            _ = term.recv() => ShutdownSignal::GracefulTerminate,
            _ = int.recv() => ShutdownSignal::GracefulTerminate,
            _ = quit.recv() => ShutdownSignal::GracefulUpgrade,
        };
        // A second SIGTERM or SIGINT during the drain means: stop now.
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
            log::warn!("second shutdown signal: exiting without waiting for in-flight requests");
            std::process::exit(130);
        });
        log::info!("shutdown signal received: no new connections, finishing in-flight requests");
        kind
    }
}

/// Watches the server's phases: marks the gateway as draining when shutdown starts and exits
/// the process once nothing is in flight.
pub fn watch(server: &Server, state: Arc<State>) {
    let mut phases = server.watch_execution_phase();
    let spawned = std::thread::Builder::new()
        .name("switchyard-drain".into())
        .spawn(move || loop {
            match phases.blocking_recv() {
                Ok(ExecutionPhase::GracefulTerminate)
                | Ok(ExecutionPhase::GracefulUpgradeTransferringFds)
                | Ok(ExecutionPhase::ShutdownStarted) => {
                    state.draining.store(true, Ordering::Relaxed);
                }
                Ok(ExecutionPhase::ShutdownGracePeriod) => {
                    state.draining.store(true, Ordering::Relaxed);
                    drain_then_exit(&state);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        });
    if let Err(e) = spawned {
        log::warn!("cannot start the drain watcher ({e}); shutdown will wait the full timeout");
    }
}

fn drain_then_exit(state: &State) {
    let inflight = || state.metrics.inflight.get();
    let mut quiet_polls = 0;
    loop {
        // Two quiet polls in a row: a request accepted just before the listener closed has
        // had time to show up.
        if inflight() <= 0 {
            quiet_polls += 1;
            if quiet_polls >= 2 {
                log::info!("all in-flight requests finished; exiting");
                std::process::exit(0);
            }
        } else {
            quiet_polls = 0;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

//! Assembling the Pingora server: the gateway service, the admin service and shutdown.

use std::sync::Arc;

use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig, DEFAULT_L4_WRITE_BUFFER_SIZE};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use switchyard_config::Config;
use switchyard_pipeline::Plugin;

use crate::admin::Admin;
use crate::front::Front;
use crate::guard::GuardLimits;
use crate::health;
use crate::listeners::{self, Bound, Listeners};
use crate::proxy::Gateway;
use crate::shutdown;
use crate::state::State;
use crate::tls::{CertWatch, Certs};

/// How the process was started.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Take over the listening sockets of a running instance (graceful upgrade/reload).
    pub upgrade: bool,
    /// Fork into the background after start-up, writing `server.pid_file`.
    pub daemon: bool,
}

/// Pingora's server settings derived from ours; `upgrade_sock` is the checked path from
/// [`listeners::upgrade_sock`].
pub fn server_conf(config: &Config, upgrade_sock: String) -> ServerConf {
    let s = &config.server;
    let port = s.listen.port();
    ServerConf {
        threads: s.threads,
        work_stealing: true,
        upstream_keepalive_pool_size: s.upstream_pool_size,
        // The drain watcher exits as soon as nothing is in flight; this is only the cap.
        grace_period_seconds: Some(s.shutdown_timeout.as_secs().max(1)),
        graceful_shutdown_timeout_seconds: Some(1),
        pid_file: s.pid_file.as_ref().map_or_else(
            || format!("/tmp/switchyard-{port}.pid"),
            |p| p.display().to_string(),
        ),
        upgrade_sock,
        ..ServerConf::default()
    }
}

/// The gateway listener: Pingora's HTTP proxy running [`Gateway`], behind [`Front`], which
/// bounds connections and guards request heads.
fn gateway_service(
    state: &Arc<State>,
    conf: &Arc<ServerConf>,
    listen: &str,
    certs: Option<Arc<Certs>>,
) -> Result<Service<Front>, String> {
    let s = &state.config.server;
    let mut proxy = pingora::proxy::http_proxy(conf, Gateway::new(state.clone()));
    let mut options = HttpServerOptions::default();
    // h2c is told apart by `Front` (Pingora's own detection waits for 24 bytes forever).
    options.h2c = false;
    // An HTTP/2 connection with no stream open for this long is closed.
    options.h2_idle_timeout = Some(s.idle_timeout);
    proxy.server_options = Some(options);
    // Every HTTP/2 limit explicit (tests/hostile.rs abuses each): headers as large as an
    // HTTP/1 head may be; 64 streams per connection (each is a request served concurrently);
    // rapid reset (streams cancelled before they are taken) and streams reset for protocol
    // errors end the connection with ENHANCE_YOUR_CALM past 20 and 256; at most 64 KiB
    // buffered per stream for a client that does not read.
    let mut h2 = pingora::protocols::http::v2::server::default_h2_options();
    h2.max_header_list_size(u32::try_from(s.max_header_size).unwrap_or(u32::MAX))
        .max_concurrent_streams(64)
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(Some(256))
        .max_send_buffer_size(64 * 1024);
    proxy.h2_options = Some(h2);
    let limits = GuardLimits {
        header_timeout: s.header_timeout,
        idle_timeout: s.idle_timeout,
        max_header_size: s.max_header_size,
    };
    let front = Front::new(proxy, state.connections.clone(), limits, s.h2c);
    let mut service = Service::new("switchyard gateway".to_owned(), front);
    // No read buffer in front of client sockets: Pingora's default is a zero-filled 64 KiB
    // buffer per connection, resident for the connection's whole life (64 KB for every open
    // stream or idle keep-alive client), while its HTTP session already reads headers and
    // bodies into buffers of its own. Writes keep the default small coalescing buffer.
    let mut listener = ListenerConfig::tcp(listen.to_owned())
        .l4_buffer(L4BufferSettings::new(0, DEFAULT_L4_WRITE_BUFFER_SIZE));
    if let Some(certs) = certs {
        // The paths are not read: the resolver supplies the pair.
        let mut tls = TlsSettings::intermediate("", "").map_err(|e| format!("server.tls: {e}"))?;
        tls.set_cert_resolver(certs);
        tls.enable_h2();
        listener = listener.tls(tls);
    }
    service.add_listener(listener);
    Ok(service)
}

/// Checks what `switchyard check` cannot see in the config alone: that the plugins it turns
/// on are compiled in and accept their settings, and that the TLS certificate and key load.
pub fn check(config: &Config, plugins: &[Plugin]) -> Result<(), String> {
    if let Some(tls) = &config.server.tls {
        Certs::load(tls)?;
    }
    let metrics =
        std::sync::Arc::new(crate::metrics::Metrics::new().map_err(|e| format!("metrics: {e}"))?);
    crate::stages::pipeline(config, &metrics, plugins).map(|_| ())
}

/// Builds the server with both services and runs it until shutdown. `plugins` are the
/// plugins compiled into the binary (the config decides which run).
///
/// Everything that can fail does so before a listening socket is taken: the config, the
/// upgrade socket's directory, the runtime state; then the sockets are received from the
/// running instance (`--upgrade`) or bound, and only then does Pingora start.
pub fn run(config: Config, opts: RunOptions, plugins: &[Plugin]) -> Result<(), String> {
    let upgrade_sock = listeners::upgrade_sock(&config)?;
    let conf = server_conf(&config, upgrade_sock.clone());
    let listen = config.server.listen.to_string();
    let admin_listen = config.server.admin_listen.to_string();
    let addrs = [
        (listen.clone(), config.server.listen),
        (admin_listen.clone(), config.server.admin_listen),
    ];
    let opt = Opt {
        // The hand-over is done here (see `listeners`), not by Pingora's bootstrap.
        upgrade: false,
        daemon: opts.daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    raise_open_files(config.server.max_connections);
    let state = State::new(config, &server.configuration, plugins)?;
    let upgrade_from = opts.upgrade.then_some(upgrade_sock.as_str());
    let listeners = Arc::new(Listeners::acquire(&addrs, upgrade_from)?);
    let signals = shutdown::Signals::install(listeners.clone(), upgrade_sock)?;

    let certs = match &state.config.server.tls {
        Some(tls) => Some(Certs::load(tls)?),
        None => None,
    };
    let gateway = gateway_service(&state, &server.configuration, &listen, certs.clone())?;

    let mut admin = Service::new("switchyard admin".to_owned(), Admin::new(state.clone()));
    admin.threads = Some(1);
    admin.add_tcp(&admin_listen);

    server.add_service(Bound::new(gateway, listeners.clone()));
    server.add_service(Bound::new(admin, listeners.clone()));
    server.add_service(background_service(
        "drain",
        shutdown::Drain::new(state.clone()),
    ));
    if let Some(certs) = certs {
        server.add_service(background_service("certificates", CertWatch(certs)));
    }
    if let Some(sync) = state.limits_sync.lock().ok().and_then(|mut s| s.take()) {
        server.add_service(background_service("limits store", sync));
    }
    for checks in health::services(&state) {
        server.add_service(checks);
    }
    log::info!(
        target: "switchyard",
        listen = listen.as_str(),
        admin = admin_listen.as_str(),
        providers = state.providers.len(),
        routes = state.config.routes.len(),
        stages = state.pipeline.names().join(",").as_str(),
        threads = state.config.server.threads;
        "switchyard starting"
    );
    let _state: Arc<State> = state;
    server.run(RunArgs {
        shutdown_signal: Box::new(signals),
    });
    Ok(())
}

/// Raises the soft limit on open files to the hard limit (every client connection and every
/// upstream connection is a descriptor), and warns when it is still below what
/// `server.max_connections` needs.
fn raise_open_files(max_connections: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let mut limit = soft;
    if hard > soft {
        // Linux refuses an unlimited soft limit for files: it is capped by fs.nr_open.
        let target = if hard == RLIM_INFINITY {
            std::fs::read_to_string("/proc/sys/fs/nr_open")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1 << 20)
        } else {
            hard
        };
        match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
            Ok(()) => {
                log::info!(target: "switchyard", from = soft, to = target; "open-files limit raised");
                limit = target;
            }
            Err(e) => {
                log::warn!(target: "switchyard", limit = soft, error = e.to_string().as_str(); "cannot raise the open-files limit");
            }
        }
    }
    // A client connection, its upstream connection, and a reserve for the rest.
    let need = (2 * max_connections as u64).saturating_add(256);
    if limit < need {
        log::warn!(
            target: "switchyard",
            limit = limit,
            max_connections = max_connections,
            needs = need;
            "the open-files limit is below what server.max_connections needs: raise it (ulimit -n, LimitNOFILE=) or lower server.max_connections"
        );
    }
}

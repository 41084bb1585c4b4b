//! Assembling the Pingora server: the gateway service, the admin service and shutdown.

use std::sync::Arc;

use pingora::apps::HttpServerOptions;
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
use crate::proxy::Gateway;
use crate::shutdown;
use crate::state::State;

/// How the process was started.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Take over the listening sockets of a running instance (graceful upgrade/reload).
    pub upgrade: bool,
    /// Fork into the background after start-up, writing `server.pid_file`.
    pub daemon: bool,
}

/// Pingora's server settings derived from ours.
pub fn server_conf(config: &Config) -> ServerConf {
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
        upgrade_sock: s.upgrade_sock.as_ref().map_or_else(
            || format!("/tmp/switchyard-{port}.upgrade.sock"),
            |p| p.display().to_string(),
        ),
        ..ServerConf::default()
    }
}

/// The gateway listener: Pingora's HTTP proxy running [`Gateway`], behind [`Front`], which
/// bounds connections and guards request heads.
fn gateway_service(state: &Arc<State>, conf: &Arc<ServerConf>, listen: &str) -> Service<Front> {
    let s = &state.config.server;
    let mut proxy = pingora::proxy::http_proxy(conf, Gateway::new(state.clone()));
    let mut options = HttpServerOptions::default();
    // h2c is told apart by `Front` (Pingora's own detection waits for 24 bytes forever).
    options.h2c = false;
    // An HTTP/2 connection with no stream open for this long is closed.
    options.h2_idle_timeout = Some(s.idle_timeout);
    proxy.server_options = Some(options);
    // Pingora's bounded defaults (64 KiB of headers, 100 streams), fewer streams per
    // connection: each is a request the gateway serves concurrently.
    let mut h2 = pingora::protocols::http::v2::server::default_h2_options();
    h2.max_concurrent_streams(64);
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
    service.add_listener(
        ListenerConfig::tcp(listen.to_owned())
            .l4_buffer(L4BufferSettings::new(0, DEFAULT_L4_WRITE_BUFFER_SIZE)),
    );
    service
}

/// Checks what `switchyard check` cannot see in the config alone: that the plugins it turns
/// on are compiled in and accept their settings.
pub fn check(config: &Config, plugins: &[Plugin]) -> Result<(), String> {
    let metrics =
        std::sync::Arc::new(crate::metrics::Metrics::new().map_err(|e| format!("metrics: {e}"))?);
    crate::stages::pipeline(config, &metrics, plugins).map(|_| ())
}

/// Builds the server with both services and runs it until shutdown. `plugins` are the
/// plugins compiled into the binary (the config decides which run).
pub fn run(config: Config, opts: RunOptions, plugins: &[Plugin]) -> Result<(), String> {
    let conf = server_conf(&config);
    let listen = config.server.listen.to_string();
    let admin_listen = config.server.admin_listen.to_string();
    let opt = Opt {
        upgrade: opts.upgrade,
        daemon: opts.daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    let state = State::new(config, &server.configuration, plugins)?;

    let gateway = gateway_service(&state, &server.configuration, &listen);

    let mut admin = Service::new("switchyard admin".to_owned(), Admin::new(state.clone()));
    admin.threads = Some(1);
    admin.add_tcp(&admin_listen);

    server.add_service(gateway);
    server.add_service(admin);
    server.add_service(background_service(
        "drain",
        shutdown::Drain::new(state.clone()),
    ));
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
        shutdown_signal: Box::new(shutdown::Signals),
    });
    Ok(())
}

//! The floor: the smallest useful Pingora proxy (`ProxyHttp` with only `upstream_peer`), in
//! front of the same mock provider, so Switchyard's figures can be read as "what the gateway
//! adds on top of Pingora itself".

use std::net::SocketAddr;
use std::process::ExitCode;

use async_trait::async_trait;
use clap::Parser;
use pingora::http::RequestHeader;
use pingora::proxy::{ProxyHttp, Session};
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::upstreams::peer::HttpPeer;

/// A bare Pingora passthrough proxy.
#[derive(Parser, Debug)]
struct Cli {
    /// Listener, ip:port.
    #[arg(long, default_value = "127.0.0.1:8686")]
    listen: String,
    /// Upstream, ip:port.
    #[arg(long, default_value = "127.0.0.1:9000")]
    upstream: SocketAddr,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

struct Floor {
    upstream: SocketAddr,
}

#[async_trait]
impl ProxyHttp for Floor {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut (),
    ) -> pingora::Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(self.upstream, false, String::new())))
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        req: &mut RequestHeader,
        _ctx: &mut (),
    ) -> pingora::Result<()> {
        req.insert_header("host", self.upstream.to_string())
    }
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let conf = ServerConf {
        threads: cli.threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(0),
        pid_file: format!("/tmp/pingora-floor-{}.pid", std::process::id()),
        upgrade_sock: format!("/tmp/pingora-floor-{}.sock", std::process::id()),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(Opt::default(), conf);
    server.bootstrap();
    let mut service = pingora::proxy::http_proxy_service(
        &server.configuration,
        Floor {
            upstream: cli.upstream,
        },
    );
    service.add_tcp(&cli.listen);
    server.add_service(service);
    eprintln!("pingora-floor on {} -> {}", cli.listen, cli.upstream);
    server.run_forever()
}

//! `switchyard-mock`: a mock model provider for tests and benchmarks.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchyard_mock::MockOptions;

/// A mock provider speaking OpenAI's wire format, scriptable through `/__mock/`.
#[derive(Parser, Debug)]
#[command(name = "switchyard-mock", version, about)]
struct Cli {
    /// Plain HTTP listener, ip:port.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// TLS listener, ip:port (needs --tls-cert and --tls-key).
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    tls_listen: Option<String>,
    /// PEM certificate for the TLS listener.
    #[arg(long)]
    tls_cert: Option<String>,
    /// PEM private key for the TLS listener.
    #[arg(long)]
    tls_key: Option<String>,
    /// Require this bearer key.
    #[arg(long)]
    api_key: Option<String>,
    /// Content chunks per streamed answer.
    #[arg(long, default_value_t = 5)]
    chunks: usize,
    /// Milliseconds between stream chunks.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Milliseconds before every response header.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Streamed OpenAI chat content deltas carry their send time, `"t=<unix micros> "`, taken
    /// just before each chunk is written (one-way latency measurements).
    #[arg(long)]
    stamp: bool,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Requests remembered for /__mock/requests (0 turns recording off, as benchmarks do).
    #[arg(long, default_value_t = 200)]
    record: usize,
    /// AWS access key id that SigV4-signed requests must use.
    #[arg(long, requires = "aws_secret_access_key")]
    aws_access_key_id: Option<String>,
    /// AWS secret access key to verify SigV4 signatures with.
    #[arg(long, requires = "aws_access_key_id")]
    aws_secret_access_key: Option<String>,
}

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = MockOptions {
        api_key: cli.api_key,
        chunks: cli.chunks,
        chunk_delay: Duration::from_millis(cli.chunk_delay_ms),
        latency: Duration::from_millis(cli.latency_ms),
        record: cli.record,
        aws: cli.aws_access_key_id.zip(cli.aws_secret_access_key),
        stamp: cli.stamp,
        ..MockOptions::default()
    };
    let tls = match (cli.tls_listen, cli.tls_cert, cli.tls_key) {
        (Some(a), Some(c), Some(k)) => Some((a, c, k)),
        _ => None,
    };
    match switchyard_mock::run(opts, &cli.listen, tls, cli.threads.max(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchyard-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

//! `switchyard-loadgen`: a lean HTTP/1.1 load generator for loopback benchmarks.
//!
//! - `streams`: N concurrent streamed chat requests (ramped), each read to `data: [DONE]`;
//!   measures the peak number of streams open at once, per-event one-way latency (when the
//!   mock runs with `--stamp`, every content delta carries its send time), gaps between events
//!   and time to first byte.
//! - `soak`: C keep-alive connections loop over a mix of requests for a while, counting
//!   expected and unexpected statuses, while sampling a process's RSS.
//!
//! Raw HTTP/1.1 over `TcpStream`: status line, headers, `content-length`, chunked transfer
//! encoding and SSE lines are parsed here, into per-connection buffers that are reused; the
//! numbers go into lock-free log-linear histograms (under 0.8 % error), so nothing allocates
//! per event. Only loopback addresses are accepted.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use memchr::memmem;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

#[derive(Parser, Debug)]
#[command(
    name = "switchyard-loadgen",
    about = "Loopback HTTP/1.1 load generator"
)]
struct Cli {
    /// Tokio worker threads (pin the process with taskset to control where they run).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Many concurrent long-lived SSE streams.
    Streams(StreamsArgs),
    /// Keep-alive connections looping over a request mix, with RSS sampling.
    Soak(SoakArgs),
}

#[derive(Args, Debug)]
struct StreamsArgs {
    /// http://127.0.0.1:PORT/v1/chat/completions
    #[arg(long)]
    url: String,
    /// Concurrent streams (one connection each).
    #[arg(long, default_value_t = 100)]
    conns: usize,
    /// Stream starts spread evenly over this many seconds.
    #[arg(long, default_value_t = 0.0)]
    ramp_secs: f64,
    /// A stream not finished this long after its start fails as a timeout.
    #[arg(long, default_value_t = 120.0)]
    timeout_secs: f64,
    /// Extra request header, `name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Request body (default: a streamed gpt-4o-mini chat saying "hi").
    #[arg(long)]
    body: Option<String>,
    /// Bind client sockets to these loopback addresses, round robin (more ephemeral ports).
    #[arg(long, value_delimiter = ',')]
    source_ips: Vec<IpAddr>,
    /// Sample a process's RSS while streaming, `name=PID` (repeatable).
    #[arg(long = "watch")]
    watch: Vec<String>,
    /// Seconds between RSS samples of watched processes.
    #[arg(long, default_value_t = 0.5)]
    watch_secs: f64,
    /// A name for this run in the report.
    #[arg(long, default_value = "streams")]
    label: String,
    /// Write the full report here as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SoakArgs {
    /// http://127.0.0.1:PORT
    #[arg(long)]
    base: String,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 16)]
    conns: usize,
    /// How long the load runs.
    #[arg(long, default_value_t = 600.0)]
    duration_secs: f64,
    /// JSON array of requests: {name, method, path, headers, body, expect_status, stream, weight}.
    #[arg(long)]
    mix: PathBuf,
    /// Process whose RSS is sampled (the gateway).
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds between RSS samples.
    #[arg(long, default_value_t = 5.0)]
    sample_secs: f64,
    /// Warm-up excluded from the RSS verdict (default: the first 20 % of the run).
    #[arg(long)]
    warmup_secs: Option<f64>,
    /// Per-request timeout.
    #[arg(long, default_value_t = 30.0)]
    timeout_secs: f64,
    /// "flat" allows final − post-warm-up RSS up to max(this many KB, --tolerance-pct).
    #[arg(long, default_value_t = 2048)]
    tolerance_kb: u64,
    /// … or this percentage of the post-warm-up RSS, whichever is larger.
    #[arg(long, default_value_t = 5.0)]
    tolerance_pct: f64,
    /// "flat" also needs the post-warm-up regression slope below this (KB per minute).
    #[arg(long, default_value_t = 100.0)]
    max_slope_kb_per_min: f64,
    /// Bind client sockets to these loopback addresses, round robin.
    #[arg(long, value_delimiter = ',')]
    source_ips: Vec<IpAddr>,
    /// Write the full report (with every RSS sample) here as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchyard-loadgen: runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.cmd {
            Cmd::Streams(a) => streams(a, cli.threads).await,
            Cmd::Soak(a) => soak(a, cli.threads).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("switchyard-loadgen: {e:#}");
            ExitCode::from(3)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Histogram

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Log-linear histogram of u64 values: exact below 256, then 128 buckets per power of two.
struct Hist {
    counts: Box<[AtomicU64]>,
    n: AtomicU64,
    sum: AtomicU64,
    max: AtomicU64,
}

fn bucket(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    let shift = e - SUB_BITS;
    (u64::from(shift) * SUB + (v >> shift)) as usize
}

fn bucket_high(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let m = i - shift * SUB;
    let high = (u128::from(m) + 1) << shift;
    u64::try_from(high - 1).unwrap_or(u64::MAX)
}

impl Hist {
    fn new() -> Self {
        Self {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            n: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            max: AtomicU64::new(0),
        }
    }

    fn record(&self, v: u64) {
        if let Some(c) = self.counts.get(bucket(v)) {
            c.fetch_add(1, Relaxed);
        }
        self.n.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    fn count(&self) -> u64 {
        self.n.load(Relaxed)
    }

    /// The value at quantile `q` (upper edge of its bucket, never above the maximum seen).
    fn quantile(&self, q: f64) -> u64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Relaxed);
            if seen >= rank {
                return bucket_high(i).min(self.max.load(Relaxed));
            }
        }
        self.max.load(Relaxed)
    }

    fn summary(&self) -> Value {
        let n = self.count();
        json!({
            "count": n,
            "p50": self.quantile(0.50),
            "p90": self.quantile(0.90),
            "p99": self.quantile(0.99),
            "p999": self.quantile(0.999),
            "max": self.max.load(Relaxed),
            "mean": self.sum.load(Relaxed).checked_div(n).unwrap_or(0),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Targets, requests, connections

struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("only http:// URLs are supported: {url}"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = hostport
        .parse()
        .with_context(|| format!("{hostport} is not ip:port"))?;
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address; this tool only talks to this machine");
    }
    Ok(Target {
        addr,
        host: hostport.to_owned(),
        path: path.to_owned(),
    })
}

fn check_sources(ips: &[IpAddr]) -> Result<()> {
    for ip in ips {
        if !ip.is_loopback() {
            bail!("source address {ip} is not loopback");
        }
    }
    Ok(())
}

fn build_request(
    method: &str,
    target: &Target,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut r = Vec::with_capacity(256 + body.len());
    r.extend_from_slice(
        format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", target.host).as_bytes(),
    );
    let has_ct = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if !has_ct && !body.is_empty() {
        r.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        r.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if !body.is_empty() || method != "GET" {
        r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

fn parse_header_arg(h: &str) -> Result<(String, String)> {
    let (k, v) = h
        .split_once(':')
        .ok_or_else(|| anyhow!("header {h:?} is not `name: value`"))?;
    Ok((k.trim().to_owned(), v.trim().to_owned()))
}

/// Why an exchange failed.
#[derive(Debug)]
enum Fail {
    Connect(String),
    Status(u16),
    Reset(String),
    Timeout,
    MissingDone,
    Protocol(String),
    ErrorEvent(String),
    /// A reused keep-alive connection closed before any byte of the answer.
    Stale,
}

impl Fail {
    fn class(&self) -> &'static str {
        match self {
            Fail::Connect(_) => "connect",
            Fail::Status(_) => "status",
            Fail::Reset(_) => "reset",
            Fail::Timeout => "timeout",
            Fail::MissingDone => "missing_done",
            Fail::Protocol(_) => "protocol",
            Fail::ErrorEvent(_) => "error_event",
            Fail::Stale => "stale_keepalive",
        }
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Connect(m) | Fail::Reset(m) | Fail::Protocol(m) | Fail::ErrorEvent(m) => {
                write!(f, "{}: {m}", self.class())
            }
            Fail::Status(s) => write!(f, "status {s}"),
            _ => f.write_str(self.class()),
        }
    }
}

fn io_fail(e: std::io::Error) -> Fail {
    Fail::Reset(e.to_string())
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn connect(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, Fail> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| Fail::Connect(format!("socket: {e}")))?;
    if let Some(ip) = source {
        // Ports still in TIME_WAIT from an earlier run may be bound again.
        let _ = sock.set_reuseaddr(true);
        sock.bind(SocketAddr::new(ip, 0))
            .map_err(|e| Fail::Connect(format!("bind {ip}: {e}")))?;
    }
    let s = sock
        .connect(addr)
        .await
        .map_err(|e| Fail::Connect(e.to_string()))?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    Eof,
}

struct Head {
    status: u16,
    framing: Framing,
    close: bool,
}

/// One connection with its read buffer; `pos` is where unparsed bytes start.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    read_us: u64,
    read_at: Instant,
    used: bool,
}

enum Chunk {
    Size,
    Data(u64),
    Crlf,
    Trailer,
}

impl Conn {
    fn new(s: TcpStream, cap: usize) -> Self {
        Self {
            s,
            buf: Vec::with_capacity(cap),
            pos: 0,
            read_us: 0,
            read_at: Instant::now(),
            used: false,
        }
    }

    /// Reads more bytes; 0 at end of stream. Stamps the arrival time of what was read.
    async fn fill(&mut self) -> Result<usize, Fail> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() - self.buf.len() < 256 {
            self.buf.reserve(1024);
        }
        let n = self.s.read_buf(&mut self.buf).await.map_err(io_fail)?;
        self.read_at = Instant::now();
        self.read_us = now_micros();
        Ok(n)
    }

    async fn send(&mut self, req: &[u8]) -> Result<(), Fail> {
        self.s.write_all(req).await.map_err(io_fail)
    }

    /// Reads the response head; `first_byte` gets the arrival of its first byte.
    async fn read_head(&mut self, first_byte: &mut Option<Instant>) -> Result<Head, Fail> {
        let mut got_any = self.pos < self.buf.len();
        loop {
            if let Some(end) = memmem::find(&self.buf[self.pos..], b"\r\n\r\n") {
                let head = parse_head(&self.buf[self.pos..self.pos + end])?;
                self.pos += end + 4;
                if head.status < 200 {
                    // An interim answer (100 Continue): the real one follows.
                    continue;
                }
                return Ok(head);
            }
            if self.buf.len() - self.pos > 64 * 1024 {
                return Err(Fail::Protocol("response head over 64 KiB".into()));
            }
            let n = match self.fill().await {
                Ok(n) => n,
                Err(_) if !got_any && self.used => return Err(Fail::Stale),
                Err(e) => return Err(e),
            };
            if n == 0 {
                if !got_any && self.used {
                    return Err(Fail::Stale);
                }
                return Err(Fail::Reset("closed before the response head".into()));
            }
            got_any = true;
            first_byte.get_or_insert(self.read_at);
        }
    }

    /// Reads the body, handing decoded data with its arrival time (unix µs, instant) to `f`.
    async fn read_body<F: FnMut(&[u8], u64, Instant)>(
        &mut self,
        framing: &Framing,
        mut f: F,
    ) -> Result<(), Fail> {
        match framing {
            Framing::None => Ok(()),
            Framing::Length(n) => {
                let mut left = *n;
                loop {
                    let avail = (self.buf.len() - self.pos) as u64;
                    let take = avail.min(left) as usize;
                    if take > 0 {
                        f(
                            &self.buf[self.pos..self.pos + take],
                            self.read_us,
                            self.read_at,
                        );
                        self.pos += take;
                        left -= take as u64;
                    }
                    if left == 0 {
                        return Ok(());
                    }
                    if self.fill().await? == 0 {
                        return Err(Fail::Reset("closed mid-body".into()));
                    }
                }
            }
            Framing::Eof => loop {
                if self.pos < self.buf.len() {
                    f(&self.buf[self.pos..], self.read_us, self.read_at);
                    self.pos = self.buf.len();
                }
                if self.fill().await? == 0 {
                    return Ok(());
                }
            },
            Framing::Chunked => {
                let mut state = Chunk::Size;
                loop {
                    // Decode as much as is buffered.
                    loop {
                        let rest = &self.buf[self.pos..];
                        match state {
                            Chunk::Size | Chunk::Trailer => {
                                let Some(i) = memchr::memchr(b'\n', rest) else {
                                    if rest.len() > 4096 {
                                        return Err(Fail::Protocol("chunk size line".into()));
                                    }
                                    break;
                                };
                                let line = rest[..i].strip_suffix(b"\r").unwrap_or(&rest[..i]);
                                if matches!(state, Chunk::Trailer) {
                                    self.pos += i + 1;
                                    if line.is_empty() {
                                        return Ok(());
                                    }
                                    continue;
                                }
                                let size = parse_chunk_size(line)?;
                                self.pos += i + 1;
                                state = if size == 0 {
                                    Chunk::Trailer
                                } else {
                                    Chunk::Data(size)
                                };
                            }
                            Chunk::Data(left) => {
                                if rest.is_empty() {
                                    break;
                                }
                                let take = (rest.len() as u64).min(left) as usize;
                                f(&rest[..take], self.read_us, self.read_at);
                                self.pos += take;
                                state = if left == take as u64 {
                                    Chunk::Crlf
                                } else {
                                    Chunk::Data(left - take as u64)
                                };
                            }
                            Chunk::Crlf => {
                                if rest.len() < 2 {
                                    break;
                                }
                                if &rest[..2] != b"\r\n" {
                                    return Err(Fail::Protocol("no CRLF after chunk".into()));
                                }
                                self.pos += 2;
                                state = Chunk::Size;
                            }
                        }
                    }
                    if self.fill().await? == 0 {
                        return Err(Fail::Reset("closed mid-body".into()));
                    }
                }
            }
        }
    }
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, Fail> {
    let hex = line.split(|b| *b == b';').next().unwrap_or(line);
    let s = std::str::from_utf8(hex)
        .map_err(|_| Fail::Protocol("chunk size".into()))?
        .trim();
    u64::from_str_radix(s, 16).map_err(|_| Fail::Protocol(format!("chunk size {s:?}")))
}

fn parse_head(head: &[u8]) -> Result<Head, Fail> {
    let text = std::str::from_utf8(head).map_err(|_| Fail::Protocol("head not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(Fail::Protocol(format!("status line {status_line:?}")));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Fail::Protocol(format!("status line {status_line:?}")))?;
    let mut length = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            length = Some(
                v.parse::<u64>()
                    .map_err(|_| Fail::Protocol(format!("content-length {v:?}")))?,
            );
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().contains("chunked");
        } else if k.eq_ignore_ascii_case("connection") {
            let v = v.to_ascii_lowercase();
            if v.contains("close") {
                close = true;
            } else if v.contains("keep-alive") {
                close = false;
            }
        }
    }
    let framing = if status == 204 || status == 304 {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        close = true;
        Framing::Eof
    };
    Ok(Head {
        status,
        framing,
        close,
    })
}

// ---------------------------------------------------------------------------------------------
// SSE

/// What a stream has shown so far; `partial` holds an incomplete line between reads.
#[derive(Default)]
struct Sse {
    partial: Vec<u8>,
    done: bool,
    error: Option<String>,
    events: u64,
    last: Option<Instant>,
}

/// The send time a stamped event carries: the digits after `"t=`.
fn find_stamp(payload: &[u8]) -> Option<u64> {
    let at = memmem::find(payload, b"\"t=")? + 3;
    let digits = payload[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    std::str::from_utf8(&payload[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

impl Sse {
    fn feed(&mut self, mut data: &[u8], now_us: u64, now: Instant, st: Option<&StreamStats>) {
        while let Some(i) = memchr::memchr(b'\n', data) {
            if self.partial.is_empty() {
                self.line(&data[..i], now_us, now, st);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&data[..i]);
                self.line(&line, now_us, now, st);
                line.clear();
                self.partial = line;
            }
            data = &data[i + 1..];
        }
        if !data.is_empty() {
            if self.partial.len() > 1 << 20 {
                self.error
                    .get_or_insert_with(|| "SSE line over 1 MiB".into());
                self.partial.clear();
            }
            self.partial.extend_from_slice(data);
        }
    }

    fn line(&mut self, line: &[u8], now_us: u64, now: Instant, st: Option<&StreamStats>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(payload) = line.strip_prefix(b"data:") else {
            return;
        };
        let payload = payload.strip_prefix(b" ").unwrap_or(payload);
        if payload == b"[DONE]" {
            self.done = true;
            return;
        }
        self.events += 1;
        if payload.starts_with(b"{\"error\"") && self.error.is_none() {
            self.error = Some(String::from_utf8_lossy(&payload[..payload.len().min(300)]).into());
        }
        if let Some(st) = st {
            st.events.fetch_add(1, Relaxed);
            if let Some(prev) = self.last {
                st.gap.record(micros(now.saturating_duration_since(prev)));
            }
            if let Some(sent) = find_stamp(payload) {
                st.stamped.fetch_add(1, Relaxed);
                st.latency.record(now_us.saturating_sub(sent));
            }
        }
        self.last = Some(now);
    }
}

// ---------------------------------------------------------------------------------------------
// Gauges and process memory

/// A gauge that tracks its peak; `Up` holds one unit until dropped.
#[derive(Default)]
struct Gauge {
    now: AtomicI64,
    peak: AtomicI64,
}

struct Up<'a>(&'a Gauge);

impl Gauge {
    fn up(&self) -> Up<'_> {
        let v = self.now.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(v, Relaxed);
        Up(self)
    }
    fn get(&self) -> i64 {
        self.now.load(Relaxed)
    }
    fn peak(&self) -> i64 {
        self.peak.load(Relaxed)
    }
}

impl Drop for Up<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Relaxed);
    }
}

/// `VmRSS`, `VmHWM`… of a process, in kB.
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// User + system CPU time of a process (`self` or a pid), in seconds.
fn cpu_secs(pid: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state (field 3).
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux configuration this runs on.
    Some(ticks / 100.0)
}

/// The soft limit on open files of this process, from /proc/self/limits.
fn nofile_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// streams

struct StreamStats {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    statuses: Mutex<BTreeMap<u16, u64>>,
    samples: Mutex<Vec<String>>,
    conns: Gauge,
    open: Gauge,
    events: AtomicU64,
    stamped: AtomicU64,
    latency: Hist,
    gap: Hist,
    ttfb: Hist,
    connect: Hist,
}

impl StreamStats {
    fn new() -> Self {
        Self {
            started: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
            statuses: Mutex::new(BTreeMap::new()),
            samples: Mutex::new(Vec::new()),
            conns: Gauge::default(),
            open: Gauge::default(),
            events: AtomicU64::new(0),
            stamped: AtomicU64::new(0),
            latency: Hist::new(),
            gap: Hist::new(),
            ttfb: Hist::new(),
            connect: Hist::new(),
        }
    }

    fn fail(&self, f: &Fail) {
        self.failed.fetch_add(1, Relaxed);
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(f.class()).or_default() += 1;
        }
        if let Fail::Status(s) = f {
            if let Ok(mut m) = self.statuses.lock() {
                *m.entry(*s).or_default() += 1;
            }
        }
        if let Ok(mut s) = self.samples.lock() {
            if s.len() < 10 {
                s.push(f.to_string());
            }
        }
    }
}

struct StreamCfg {
    target: Target,
    request: Vec<u8>,
    sources: Vec<IpAddr>,
    timeout: Duration,
}

async fn one_stream(id: usize, cfg: &StreamCfg, st: &StreamStats) -> Result<(), Fail> {
    let source = (!cfg.sources.is_empty()).then(|| cfg.sources[id % cfg.sources.len()]);
    let t0 = Instant::now();
    let s = connect(cfg.target.addr, source).await?;
    st.connect.record(micros(t0.elapsed()));
    let _conn = st.conns.up();
    let mut conn = Conn::new(s, 1024);
    conn.send(&cfg.request).await?;
    let sent = Instant::now();
    let mut first = None;
    let head = conn.read_head(&mut first).await?;
    if let Some(fb) = first {
        st.ttfb.record(micros(fb.saturating_duration_since(sent)));
    }
    if head.status != 200 {
        return Err(Fail::Status(head.status));
    }
    let _open = st.open.up();
    let mut sse = Sse::default();
    conn.read_body(&head.framing, |d, us, at| sse.feed(d, us, at, Some(st)))
        .await?;
    if let Some(e) = sse.error {
        return Err(Fail::ErrorEvent(e));
    }
    if !sse.done {
        return Err(Fail::MissingDone);
    }
    Ok(())
}

struct Watched {
    name: String,
    pid: u32,
    cpu_start: Option<f64>,
    samples: Mutex<Vec<(f64, i64, u64)>>,
}

async fn streams(a: StreamsArgs, threads: usize) -> Result<bool> {
    let target = parse_url(&a.url)?;
    check_sources(&a.source_ips)?;
    if a.conns == 0 {
        bail!("--conns must be at least 1");
    }
    if let Some(limit) = nofile_limit() {
        if limit < a.conns as u64 + 64 {
            bail!(
                "open-file limit {limit} is too low for {} connections (raise it with ulimit -n)",
                a.conns
            );
        }
    }
    let headers: Vec<(String, String)> = a
        .headers
        .iter()
        .map(|h| parse_header_arg(h))
        .collect::<Result<_>>()?;
    let body = a.body.clone().unwrap_or_else(|| {
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            .to_owned()
    });
    let request = build_request("POST", &target, &target.path, &headers, body.as_bytes());
    let cfg = Arc::new(StreamCfg {
        target,
        request,
        sources: a.source_ips.clone(),
        timeout: Duration::from_secs_f64(a.timeout_secs.max(0.001)),
    });
    let st = Arc::new(StreamStats::new());
    let mut watched = Vec::new();
    for w in &a.watch {
        let (name, pid) = w
            .split_once('=')
            .ok_or_else(|| anyhow!("--watch wants name=PID, got {w:?}"))?;
        let pid: u32 = pid.parse().with_context(|| format!("--watch {w}"))?;
        watched.push(Arc::new(Watched {
            name: name.to_owned(),
            pid,
            cpu_start: cpu_secs(&pid.to_string()),
            samples: Mutex::new(Vec::new()),
        }));
    }

    let self_cpu = cpu_secs("self");
    let t0 = Instant::now();
    let finished = Arc::new(AtomicBool::new(false));
    // Sampler: RSS of watched processes with the number of open streams, until the end.
    let sampler = {
        let (st, finished, watched) = (st.clone(), finished.clone(), watched.clone());
        let every = Duration::from_secs_f64(a.watch_secs.max(0.05));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut last_print = Instant::now();
            while !finished.load(Relaxed) {
                tick.tick().await;
                let t = t0.elapsed().as_secs_f64();
                let open = st.open.get();
                for w in &watched {
                    if let Some(kb) = proc_status_kb(w.pid, "VmRSS") {
                        if let Ok(mut s) = w.samples.lock() {
                            s.push((t, open, kb));
                        }
                    }
                }
                if last_print.elapsed() >= Duration::from_secs(5) {
                    last_print = Instant::now();
                    eprintln!(
                        "  [{t:6.1}s] started {} open {} (peak {}) completed {} failed {} events {}",
                        st.started.load(Relaxed),
                        open,
                        st.open.peak(),
                        st.completed.load(Relaxed),
                        st.failed.load(Relaxed),
                        st.events.load(Relaxed)
                    );
                }
            }
        })
    };

    let n = a.conns;
    let ramp = Duration::from_secs_f64(a.ramp_secs.max(0.0));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (cfg, st) = (cfg.clone(), st.clone());
        let at = t0 + ramp.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at.into()).await;
            st.started.fetch_add(1, Relaxed);
            match tokio::time::timeout(cfg.timeout, one_stream(i, &cfg, &st)).await {
                Ok(Ok(())) => {
                    st.completed.fetch_add(1, Relaxed);
                }
                Ok(Err(f)) => st.fail(&f),
                Err(_) => st.fail(&Fail::Timeout),
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            eprintln!("a stream task ended abnormally: {e}");
            st.fail(&Fail::Protocol(format!("task: {e}")));
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    finished.store(true, Relaxed);
    let _ = sampler.await;

    let mut watch = serde_json::Map::new();
    for w in &watched {
        let samples = w.samples.lock().map(|s| s.clone()).unwrap_or_default();
        let peak_open = samples.iter().map(|s| s.1).max().unwrap_or(0);
        let at_peak = samples
            .iter()
            .filter(|s| s.1 == peak_open)
            .map(|s| s.2)
            .max();
        watch.insert(
            w.name.clone(),
            json!({
                "pid": w.pid,
                "rss_max_sampled_kb": samples.iter().map(|s| s.2).max(),
                "rss_at_peak_open_kb": at_peak,
                "open_at_that_sample": peak_open,
                "rss_end_kb": proc_status_kb(w.pid, "VmRSS"),
                "cpu_secs": cpu_secs(&w.pid.to_string()).zip(w.cpu_start).map(|(b, a)| b - a),
                "hwm_kb": proc_status_kb(w.pid, "VmHWM"),
                "samples": samples.iter().map(|s| json!([(s.0 * 10.0).round() / 10.0, s.1, s.2])).collect::<Vec<_>>(),
            }),
        );
    }
    let errors = st.errors.lock().map(|m| m.clone()).unwrap_or_default();
    let statuses: BTreeMap<String, u64> = st
        .statuses
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        .unwrap_or_default();
    let report = json!({
        "label": a.label,
        "url": a.url,
        "conns": n,
        "ramp_secs": a.ramp_secs,
        "timeout_secs": a.timeout_secs,
        "threads": threads,
        "source_ips": a.source_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "wall_secs": wall,
        "started": st.started.load(Relaxed),
        "completed": st.completed.load(Relaxed),
        "failed": st.failed.load(Relaxed),
        "errors": errors,
        "statuses": statuses,
        "error_samples": st.samples.lock().map(|s| s.clone()).unwrap_or_default(),
        "peak_open_streams": st.open.peak(),
        "peak_open_conns": st.conns.peak(),
        "events": st.events.load(Relaxed),
        "stamped_events": st.stamped.load(Relaxed),
        "latency_us": st.latency.summary(),
        "gap_us": st.gap.summary(),
        "ttfb_us": st.ttfb.summary(),
        "connect_us": st.connect.summary(),
        "watch": watch,
        "loadgen_cpu_secs": cpu_secs("self").zip(self_cpu).map(|(b, a)| b - a),
    });
    let l = &report["latency_us"];
    let g = &report["gap_us"];
    let f = &report["ttfb_us"];
    println!(
        "{}: {} started, {} completed, {} failed {} {}; peak open {} streams ({} conns); {} events ({} stamped); \
         latency p50 {} p99 {} p999 {} max {} µs; gap p50 {} p99 {} µs; ttfb p50 {} p99 {} µs; {:.1} s",
        a.label,
        report["started"],
        report["completed"],
        report["failed"],
        report["errors"],
        report["statuses"],
        report["peak_open_streams"],
        report["peak_open_conns"],
        report["events"],
        report["stamped_events"],
        l["p50"],
        l["p99"],
        l["p999"],
        l["max"],
        g["p50"],
        g["p99"],
        f["p50"],
        f["p99"],
        wall
    );
    if let Some(path) = &a.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(st.failed.load(Relaxed) == 0)
}

// ---------------------------------------------------------------------------------------------
// soak

struct MixItem {
    name: String,
    request: Vec<u8>,
    expect: u16,
    stream: bool,
}

#[derive(Default)]
struct NameStats {
    requests: AtomicU64,
    expected: AtomicU64,
    unexpected: AtomicU64,
    unexpected_status: Mutex<BTreeMap<u16, u64>>,
    transport: Mutex<BTreeMap<&'static str, u64>>,
    samples: Mutex<Vec<String>>,
}

impl NameStats {
    fn sample(&self, s: String) {
        if let Ok(mut v) = self.samples.lock() {
            if v.len() < 5 {
                v.push(s);
            }
        }
    }
}

fn load_mix(path: &PathBuf, target: &Target) -> Result<(Vec<MixItem>, Vec<usize>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("parsing {path:?}"))?;
    let list = v
        .as_array()
        .ok_or_else(|| anyhow!("the mix must be a JSON array"))?;
    let mut items = Vec::new();
    let mut order = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let name = e["name"]
            .as_str()
            .ok_or_else(|| anyhow!("mix[{i}] has no name"))?
            .to_owned();
        let method = e["method"].as_str().unwrap_or("POST").to_ascii_uppercase();
        let path = e["path"]
            .as_str()
            .ok_or_else(|| anyhow!("mix[{i}] has no path"))?;
        let mut headers = Vec::new();
        match &e["headers"] {
            Value::Object(m) => {
                for (k, v) in m {
                    let v = v
                        .as_str()
                        .ok_or_else(|| anyhow!("mix[{i}] header {k} is not a string"))?;
                    headers.push((k.clone(), v.to_owned()));
                }
            }
            Value::Null => {}
            _ => bail!("mix[{i}].headers must be an object"),
        }
        let body = match &e["body"] {
            Value::Null => Vec::new(),
            Value::String(s) => s.clone().into_bytes(),
            other => serde_json::to_vec(other)?,
        };
        let expect = e["expect_status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200);
        let stream = e["stream"].as_bool().unwrap_or(false);
        let weight = e["weight"].as_u64().unwrap_or(1).min(1000);
        for _ in 0..weight {
            order.push(items.len());
        }
        items.push(MixItem {
            request: build_request(&method, target, path, &headers, &body),
            name,
            expect,
            stream,
        });
    }
    if order.is_empty() {
        bail!("the mix has no requests");
    }
    Ok((items, order))
}

/// One request on `conn`; the status and whether the connection must be closed.
async fn exchange(conn: &mut Conn, item: &MixItem) -> Result<(u16, bool, Option<Fail>), Fail> {
    conn.send(&item.request)
        .await
        .map_err(|e| if conn.used { Fail::Stale } else { e })?;
    let mut first = None;
    let head = conn.read_head(&mut first).await?;
    conn.used = true;
    let mut sse = Sse::default();
    let sse_wanted = item.stream && head.status == 200;
    conn.read_body(&head.framing, |d, us, at| {
        if sse_wanted {
            sse.feed(d, us, at, None);
        }
    })
    .await?;
    let mut problem = None;
    if sse_wanted {
        if let Some(e) = sse.error {
            problem = Some(Fail::ErrorEvent(e));
        } else if !sse.done {
            problem = Some(Fail::MissingDone);
        }
    }
    Ok((head.status, head.close, problem))
}

/// What every soak connection shares.
struct SoakShared {
    addr: SocketAddr,
    sources: Vec<IpAddr>,
    items: Vec<MixItem>,
    order: Vec<usize>,
    stats: Vec<NameStats>,
    end: Instant,
    timeout: Duration,
    stale: AtomicU64,
}

async fn soak_conn(id: usize, sh: Arc<SoakShared>) {
    let (addr, end, timeout) = (sh.addr, sh.end, sh.timeout);
    let source = (!sh.sources.is_empty()).then(|| sh.sources[id % sh.sources.len()]);
    let (items, order, stats, stale) = (&sh.items, &sh.order, &sh.stats, &sh.stale);
    let mut conn: Option<Conn> = None;
    let mut k = id.wrapping_mul(7);
    while Instant::now() < end {
        let idx = order[k % order.len()];
        k += 1;
        let (item, ns) = (&items[idx], &stats[idx]);
        let mut retried = false;
        loop {
            if conn.is_none() {
                match tokio::time::timeout(timeout, connect(addr, source)).await {
                    Ok(Ok(s)) => conn = Some(Conn::new(s, 4096)),
                    Ok(Err(f)) => {
                        ns.requests.fetch_add(1, Relaxed);
                        record_transport(ns, &f);
                        // Do not spin on a refused port.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        break;
                    }
                    Err(_) => {
                        ns.requests.fetch_add(1, Relaxed);
                        record_transport(ns, &Fail::Timeout);
                        break;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { break };
            let r = tokio::time::timeout(timeout, exchange(c, item)).await;
            match r {
                Err(_) => {
                    ns.requests.fetch_add(1, Relaxed);
                    record_transport(ns, &Fail::Timeout);
                    conn = None;
                }
                Ok(Err(Fail::Stale)) if !retried => {
                    // The server closed an idle keep-alive connection as we reused it: what
                    // any client does, retry once on a new connection.
                    stale.fetch_add(1, Relaxed);
                    retried = true;
                    conn = None;
                    continue;
                }
                Ok(Err(f)) => {
                    ns.requests.fetch_add(1, Relaxed);
                    record_transport(ns, &f);
                    conn = None;
                }
                Ok(Ok((status, close, problem))) => {
                    ns.requests.fetch_add(1, Relaxed);
                    if status != item.expect {
                        ns.unexpected.fetch_add(1, Relaxed);
                        if let Ok(mut m) = ns.unexpected_status.lock() {
                            *m.entry(status).or_default() += 1;
                        }
                        ns.sample(format!("status {status}, expected {}", item.expect));
                    } else if let Some(p) = problem {
                        ns.unexpected.fetch_add(1, Relaxed);
                        ns.sample(format!("status {status} but {p}"));
                    } else {
                        ns.expected.fetch_add(1, Relaxed);
                    }
                    if close {
                        conn = None;
                    }
                }
            }
            break;
        }
    }
}

fn record_transport(ns: &NameStats, f: &Fail) {
    if let Ok(mut m) = ns.transport.lock() {
        *m.entry(f.class()).or_default() += 1;
    }
    ns.sample(f.to_string());
}

/// Least-squares slope of y over x.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

async fn soak(a: SoakArgs, threads: usize) -> Result<bool> {
    let target = parse_url(&a.base)?;
    check_sources(&a.source_ips)?;
    let (items, order) = load_mix(&a.mix, &target)?;
    let stats: Vec<NameStats> = (0..items.len()).map(|_| NameStats::default()).collect();
    let duration = Duration::from_secs_f64(a.duration_secs.max(1.0));
    let warmup = a.warmup_secs.unwrap_or(a.duration_secs * 0.2).max(0.0);
    let timeout = Duration::from_secs_f64(a.timeout_secs.max(0.1));
    let t0 = Instant::now();
    let end = t0 + duration;
    let sh = Arc::new(SoakShared {
        addr: target.addr,
        sources: a.source_ips.clone(),
        items,
        order,
        stats,
        end,
        timeout,
        stale: AtomicU64::new(0),
    });

    // RSS sampler: one sample at the start, then every `sample_secs`, until `end`.
    let sampler = a.pid.map(|pid| {
        let every = Duration::from_secs_f64(a.sample_secs.max(0.1));
        let sh = sh.clone();
        tokio::spawn(async move {
            let stats = &sh.stats;
            let mut samples: Vec<(f64, u64)> = Vec::new();
            let mut alive = true;
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let t = t0.elapsed().as_secs_f64();
                match proc_status_kb(pid, "VmRSS") {
                    Some(kb) => samples.push((t, kb)),
                    None => {
                        alive = false;
                        eprintln!("  [{t:6.1}s] process {pid} is gone");
                        break;
                    }
                }
                let total: u64 = stats.iter().map(|s| s.requests.load(Relaxed)).sum();
                let bad: u64 = stats.iter().map(|s| s.unexpected.load(Relaxed)).sum();
                eprintln!(
                    "  [{t:6.1}s] rss {} kB, requests {total}, unexpected {bad}",
                    samples.last().map_or(0, |s| s.1)
                );
                if Instant::now() + every > end {
                    break;
                }
            }
            (samples, alive)
        })
    });

    let mut tasks = Vec::with_capacity(a.conns);
    for i in 0..a.conns.max(1) {
        tasks.push(tokio::spawn(soak_conn(i, sh.clone())));
    }
    let mut task_failures = 0;
    for t in tasks {
        if t.await.is_err() {
            task_failures += 1;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let (mut samples, alive) = match sampler {
        Some(h) => h.await.unwrap_or_default(),
        None => (Vec::new(), true),
    };
    if let Some(pid) = a.pid {
        if let Some(kb) = proc_status_kb(pid, "VmRSS") {
            samples.push((t0.elapsed().as_secs_f64(), kb));
        }
    }

    // Per-name report.
    let mut per = serde_json::Map::new();
    let (mut total, mut expected, mut unexpected, mut transport) = (0u64, 0u64, 0u64, 0u64);
    let mut lines = Vec::new();
    let stale = &sh.stale;
    for (item, s) in sh.items.iter().zip(sh.stats.iter()) {
        let r = s.requests.load(Relaxed);
        let e = s.expected.load(Relaxed);
        let u = s.unexpected.load(Relaxed);
        let tmap = s.transport.lock().map(|m| m.clone()).unwrap_or_default();
        let t: u64 = tmap.values().sum();
        total += r;
        expected += e;
        unexpected += u;
        transport += t;
        let ustat: BTreeMap<String, u64> = s
            .unexpected_status
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.to_string(), *v)).collect())
            .unwrap_or_default();
        lines.push(format!(
            "  {:<24} expect {} {:>9} requests {:>9} expected {:>5} unexpected {:>5} transport",
            item.name, item.expect, r, e, u, t
        ));
        per.insert(
            item.name.clone(),
            json!({
                "expect_status": item.expect, "stream": item.stream,
                "requests": r, "expected": e, "unexpected": u,
                "unexpected_status": ustat, "transport_errors": tmap,
                "samples": s.samples.lock().map(|v| v.clone()).unwrap_or_default(),
            }),
        );
    }

    // RSS summary.
    let post: Vec<(f64, u64)> = samples.iter().copied().filter(|s| s.0 >= warmup).collect();
    let at_warm = post.first().map(|s| s.1);
    let final_kb = samples.last().map(|s| s.1);
    let min_kb = post.iter().map(|s| s.1).min();
    let max_kb = post.iter().map(|s| s.1).max();
    let slope_kb_min = slope(
        &post
            .iter()
            .map(|s| (s.0 / 60.0, s.1 as f64))
            .collect::<Vec<_>>(),
    );
    let verdict = match (at_warm, final_kb, slope_kb_min) {
        (Some(w), Some(f), Some(sl)) => {
            let tol = (a.tolerance_kb as f64).max(w as f64 * a.tolerance_pct / 100.0);
            let growth = f as f64 - w as f64;
            if growth <= tol && sl <= a.max_slope_kb_per_min {
                "flat"
            } else {
                "growing"
            }
        }
        _ => "unknown",
    };
    let passed = unexpected == 0 && transport == 0 && alive && task_failures == 0;
    let rps = total as f64 / wall.max(0.001);
    let report = json!({
        "base": a.base, "conns": a.conns, "threads": threads,
        "duration_secs": a.duration_secs, "wall_secs": wall, "warmup_secs": warmup,
        "requests": total, "expected": expected, "unexpected": unexpected,
        "transport_errors": transport, "stale_keepalive_retries": stale.load(Relaxed),
        "requests_per_sec": rps, "per_request": per, "process_alive": alive,
        "passed": passed,
        "rss": {
            "pid": a.pid, "sample_secs": a.sample_secs,
            "at_warmup_end_kb": at_warm, "min_after_warmup_kb": min_kb,
            "max_after_warmup_kb": max_kb, "final_kb": final_kb,
            "slope_kb_per_min": slope_kb_min,
            "tolerance_kb": a.tolerance_kb, "tolerance_pct": a.tolerance_pct,
            "max_slope_kb_per_min": a.max_slope_kb_per_min,
            "verdict": verdict,
            "samples": samples.iter().map(|s| json!([(s.0 * 10.0).round() / 10.0, s.1])).collect::<Vec<_>>(),
        },
    });
    println!(
        "soak: {total} requests ({rps:.0}/s) in {wall:.1} s, {expected} expected, {unexpected} unexpected, \
         {transport} transport errors ({} stale keep-alive retries)",
        stale.load(Relaxed)
    );
    for l in lines {
        println!("{l}");
    }
    println!(
        "rss: after warm-up {} kB, min {} max {} final {} kB, slope {} kB/min → {verdict}; {}",
        at_warm.map_or("-".into(), |v| v.to_string()),
        min_kb.map_or("-".into(), |v| v.to_string()),
        max_kb.map_or("-".into(), |v| v.to_string()),
        final_kb.map_or("-".into(), |v| v.to_string()),
        slope_kb_min.map_or("-".into(), |v| format!("{v:.1}")),
        if passed { "PASS" } else { "FAIL" }
    );
    if let Some(path) = &a.json_out {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, 123_456_789, u64::MAX / 3, u64::MAX]) {
            let b = bucket(v);
            assert!(b < BUCKETS);
            assert!(bucket_high(b) >= v);
            assert!(bucket_high(b) - v <= v / 128 + 1, "{v}");
            if v < 5000 {
                assert!(b >= last);
                last = b;
            }
        }
    }

    #[test]
    fn quantiles() {
        let h = Hist::new();
        for v in 1..=1000 {
            h.record(v);
        }
        assert!((500..=501).contains(&h.quantile(0.5)));
        assert!((990..=998).contains(&h.quantile(0.99)));
        assert_eq!(h.quantile(1.0), 1000);
    }

    #[test]
    fn stamps_and_sse_lines() {
        assert_eq!(
            find_stamp(br#"{"delta":{"content":"t=0001712345678901 "}}"#),
            Some(1_712_345_678_901)
        );
        assert_eq!(find_stamp(br#"{"delta":{"content":"hi"}}"#), None);
        let st = StreamStats::new();
        let mut sse = Sse::default();
        let now = Instant::now();
        sse.feed(b"data: {\"c\":\"t=100 \"}\n\nda", 150, now, Some(&st));
        sse.feed(
            b"ta: {\"c\":\"t=120 \"}\r\n\r\ndata: [DONE]\n\n",
            200,
            now,
            Some(&st),
        );
        assert!(sse.done);
        assert_eq!(sse.events, 2);
        assert_eq!(st.latency.max.load(Relaxed), 80);
        assert_eq!(st.stamped.load(Relaxed), 2);
    }

    #[test]
    fn heads() {
        let h =
            parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive")
                .unwrap();
        assert_eq!(h.status, 200);
        assert!(matches!(h.framing, Framing::Chunked));
        assert!(!h.close);
        let h = parse_head(b"HTTP/1.1 404 Not Found\r\ncontent-length: 12").unwrap();
        assert!(matches!(h.framing, Framing::Length(12)));
        assert!(parse_head(b"SSH-2.0").is_err());
        assert!(parse_url("http://10.0.0.1:80/x").is_err());
        assert!(parse_url("http://127.0.0.2:80/x").is_ok());
    }

    #[test]
    fn regression_slope() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 7.0)).collect();
        assert!((slope(&pts).unwrap() - 3.0).abs() < 1e-9);
    }
}

//! The end-to-end test harness: starts the real `switchyard` and `switchyard-mock` binaries
//! as child processes on free loopback ports, waits until they answer, and kills them when
//! the test ends. Nothing here talks to anything but 127.0.0.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use async_openai::config::OpenAIConfig;
use serde_json::Value;

/// How long a process gets to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(30);

static INIT: Once = Once::new();

/// One-time setup: a TLS crypto provider for reqwest (the clients only speak plain HTTP to
/// the gateway, but reqwest's TLS layer needs one installed).
pub fn init() {
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The path of a binary built in this workspace (`cargo build --bins` first).
pub fn bin(name: &str) -> PathBuf {
    let env_name = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Ok(p) = std::env::var(&env_name) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: run `cargo build --bins` before the tests (or set {env_name})",
        path.display()
    );
    path
}

/// A port that was free a moment ago and that no other test process has been handed.
///
/// nextest runs every test in its own process, all picking ports at once: the port is
/// reserved with a lock file (held until this process ends) so that two tests never start
/// servers on the same port. Something outside the tests can still take it in the gap
/// before the server binds; the starters retry on a fresh port when that happens.
pub fn free_port() -> u16 {
    static HELD: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());
    let dir = std::env::temp_dir().join("switchyard-test-ports");
    std::fs::create_dir_all(&dir).unwrap();
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(port.to_string()))
            .unwrap();
        if file.try_lock().is_ok() {
            HELD.lock().unwrap_or_else(|e| e.into_inner()).push(file);
            return port;
        }
    }
}

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A scratch directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory.
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "switchyard-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed on drop; its output goes to a log file shown if the test fails.
pub struct Proc {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_owned(),
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Sends a signal (`TERM`, `INT`, `KILL`, …).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} {} failed", self.pid());
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let out = self.output();
            let tail: Vec<&str> = out.lines().rev().take(60).collect();
            eprintln!("----- last output of {} -----", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A plain HTTP client for the tests.
pub fn http() -> reqwest::Client {
    init();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn wait_ready(proc: &mut Proc, url: &str) -> bool {
    let client = http();
    let end = Instant::now() + START_TIMEOUT;
    while Instant::now() < end {
        if proc.exited().is_some() {
            return false;
        }
        if let Ok(r) = client.get(url).timeout(Duration::from_secs(2)).send().await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "{} did not become ready at {url}:\n{}",
        proc.name,
        proc.output()
    );
}

/// A mock provider process.
pub struct MockServer {
    /// Plain HTTP port.
    pub port: u16,
    /// TLS port, when started with TLS.
    pub tls_port: Option<u16>,
    /// The process.
    pub proc: Proc,
    _dir: TempDir,
}

impl MockServer {
    /// A mock that accepts any key.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A mock with extra command-line arguments (e.g. `--api-key`).
    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_inner(args, false).await
    }

    /// A mock that also serves HTTPS with the test certificate.
    pub async fn start_tls(args: &[&str]) -> Self {
        Self::start_inner(args, true).await
    }

    /// A mock on a given port (e.g. to bring a killed provider back where it was).
    pub async fn start_at(port: u16, args: &[&str]) -> Self {
        let dir = TempDir::new();
        let mut cmd = Command::new(bin("switchyard-mock"));
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(args);
        let mut proc = Proc::spawn(
            "switchyard-mock",
            &mut cmd,
            dir.0.join(format!("mock-{port}.log")),
        );
        assert!(
            wait_ready(&mut proc, &format!("http://127.0.0.1:{port}/__mock/health")).await,
            "the mock did not start on port {port}:\n{}",
            proc.output()
        );
        MockServer {
            port,
            tls_port: None,
            proc,
            _dir: dir,
        }
    }

    async fn start_inner(args: &[&str], tls: bool) -> Self {
        let dir = TempDir::new();
        for _ in 0..5 {
            let port = free_port();
            let tls_port = tls.then(free_port);
            let mut cmd = Command::new(bin("switchyard-mock"));
            cmd.arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .args(args);
            if let Some(tp) = tls_port {
                let fx = repo_root().join("tests/fixtures/tls");
                cmd.arg("--tls-listen")
                    .arg(format!("127.0.0.1:{tp}"))
                    .arg("--tls-cert")
                    .arg(fx.join("server.pem"))
                    .arg("--tls-key")
                    .arg(fx.join("server.key"));
            }
            let mut proc = Proc::spawn(
                "switchyard-mock",
                &mut cmd,
                dir.0.join(format!("mock-{port}.log")),
            );
            if wait_ready(&mut proc, &format!("http://127.0.0.1:{port}/__mock/health")).await {
                return MockServer {
                    port,
                    tls_port,
                    proc,
                    _dir: dir,
                };
            }
        }
        panic!("the mock provider did not start after 5 tries");
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queues scripted behaviours (see `switchyard_mock::script::Behaviour`).
    pub async fn script(&self, behaviours: Value) {
        let r = http()
            .post(format!("http://127.0.0.1:{}/__mock/script", self.port))
            .json(&behaviours)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "script rejected: {}",
            r.text().await.unwrap()
        );
    }

    /// The requests the mock received, oldest first.
    pub async fn requests(&self) -> Vec<Value> {
        http()
            .get(format!("http://127.0.0.1:{}/__mock/requests", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A running gateway.
pub struct Gateway {
    /// Gateway port.
    pub port: u16,
    /// Admin port.
    pub admin_port: u16,
    /// The process.
    pub proc: Proc,
    /// Its scratch directory (config file, logs).
    pub dir: TempDir,
}

/// How to start a gateway.
pub struct GatewayConfig {
    yaml: String,
    env: Vec<(String, String)>,
}

impl GatewayConfig {
    /// A config body. `server:` is added with the ports unless the body has one, in which
    /// case `{listen}` and `{admin}` in it are replaced.
    pub fn new(yaml: impl Into<String>) -> Self {
        Self {
            yaml: yaml.into(),
            env: Vec::new(),
        }
    }

    /// An environment variable for the gateway process.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// Starts the gateway.
    pub async fn start(self) -> Gateway {
        Gateway::start_config(self).await
    }
}

impl Gateway {
    /// Starts a gateway with this config body.
    pub async fn start(yaml: &str) -> Gateway {
        GatewayConfig::new(yaml).start().await
    }

    async fn start_config(cfg: GatewayConfig) -> Gateway {
        let dir = TempDir::new();
        for attempt in 0..5 {
            let (port, admin_port) = (free_port(), free_port());
            let listen = format!("127.0.0.1:{port}");
            let admin = format!("127.0.0.1:{admin_port}");
            let yaml = if cfg.yaml.contains("server:") {
                cfg.yaml
                    .replace("{listen}", &listen)
                    .replace("{admin}", &admin)
            } else {
                format!(
                    "server: {{ listen: \"{listen}\", admin_listen: \"{admin}\", threads: 2 }}\n{}",
                    cfg.yaml
                )
            };
            let config_path = dir.0.join("switchyard.yaml");
            std::fs::write(&config_path, &yaml).unwrap();
            let mut cmd = Command::new(bin("switchyard"));
            cmd.arg("run").arg("--config").arg(&config_path);
            cmd.env_remove("OPENAI_API_KEY");
            for (k, v) in &cfg.env {
                cmd.env(k, v);
            }
            let mut proc = Proc::spawn(
                "switchyard",
                &mut cmd,
                dir.0.join(format!("gateway-{attempt}.log")),
            );
            if wait_ready(&mut proc, &format!("http://{admin}/ready")).await {
                return Gateway {
                    port,
                    admin_port,
                    proc,
                    dir,
                };
            }
            let out = proc.output();
            assert!(
                out.contains("ddress already in use")
                    || out.contains("AddrInUse")
                    || out.contains("bind"),
                "the gateway exited at start:\n{out}"
            );
        }
        panic!("the gateway did not start after 5 tries");
    }

    /// Starts a second gateway process that takes over this one's listening sockets
    /// (`switchyard run --upgrade`) with a new config body (same `{listen}`/`{admin}` rules).
    pub fn start_upgrade(&self, yaml: &str) -> Proc {
        let listen = format!("127.0.0.1:{}", self.port);
        let admin = format!("127.0.0.1:{}", self.admin_port);
        let yaml = yaml.replace("{listen}", &listen).replace("{admin}", &admin);
        let config_path = self.dir.0.join("switchyard-upgrade.yaml");
        std::fs::write(&config_path, yaml).unwrap();
        let mut cmd = Command::new(bin("switchyard"));
        cmd.arg("run")
            .arg("--upgrade")
            .arg("--config")
            .arg(&config_path);
        Proc::spawn(
            "switchyard (upgrade)",
            &mut cmd,
            self.dir.0.join("gateway-upgrade.log"),
        )
    }

    /// `http://127.0.0.1:PORT{path}`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `http://127.0.0.1:ADMIN{path}`
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    /// An OpenAI SDK client pointed at the gateway.
    pub fn openai(&self) -> async_openai::Client<OpenAIConfig> {
        init();
        async_openai::Client::with_config(
            OpenAIConfig::new()
                .with_api_base(self.url("/v1"))
                .with_api_key("sk-client-not-a-provider-key"),
        )
    }

    /// The Prometheus exposition once every request has been accounted for. A request is
    /// counted after its response is complete (Pingora's `logging` phase), so a client can
    /// finish reading before the gateway records it: wait (bounded) until nothing is in
    /// flight, then return what the gateway reports.
    pub async fn metrics(&self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let m = http()
                .get(self.admin_url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if metric(&m, "switchyard_inflight_requests", &[]) == 0.0
                || std::time::Instant::now() > deadline
            {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Everything the gateway logged so far.
    pub fn logs(&self) -> String {
        self.proc.output()
    }

    /// The log once a line satisfying `pred` has been written (the access log is written after
    /// the response), within 10 s.
    pub async fn logs_with(&self, pred: impl Fn(&str) -> bool) -> String {
        wait_until("a matching log line", Duration::from_secs(10), || {
            let logs = self.logs();
            let found = logs.lines().any(&pred);
            async move { found.then_some(logs) }
        })
        .await
    }

    /// POSTs JSON to a gateway path.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        http().post(self.url(path)).json(body).send().await.unwrap()
    }
}

/// Polls `check` every 10 ms until it returns `Some`, failing the test after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The value of a counter or gauge line `name{labels} value` in a Prometheus exposition,
/// where every `(label, value)` pair given matches; summed over matching lines.
pub fn metric(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A chat request body.
pub fn chat(model: &str, text: &str) -> Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// The config for one provider named `local` on a mock, with a `fast` route.
pub fn single_provider(mock: &MockServer) -> String {
    format!(
        "providers:\n  local:\n    kind: openai\n    base_url: {}\n    api_key: sk-mock-key\n    models: [gpt-4o-mini]\nroutes:\n  fast:\n    targets:\n      - provider: local\n        model: gpt-4o-mini\n",
        mock.base_url()
    )
}

/// Parses an SSE body into its `data:` payloads.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|ev| {
            let data: Vec<&str> = ev
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("data:")
                        .map(|d| d.strip_prefix(' ').unwrap_or(d))
                })
                .collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

// ----- Redis (shared limits) -----------------------------------------------------------------

/// A real `redis-server` on a free loopback port, with no persistence, in a scratch
/// directory; killed when dropped. `scripts/setup.sh` installs it.
pub struct Redis {
    /// Its port.
    pub port: u16,
    proc: Option<Proc>,
    dir: TempDir,
}

impl Redis {
    /// Starts one and waits until it answers `PING`.
    pub async fn start() -> Redis {
        let mut dir = TempDir::new();
        for _ in 0..5 {
            let port = free_port();
            let mut r = Redis {
                port,
                proc: None,
                dir,
            };
            if r.spawn().await {
                return r;
            }
            dir = std::mem::take(&mut r.dir);
        }
        panic!("redis-server did not start after 5 tries");
    }

    async fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir.0);
        let log = self.dir.0.join(format!("redis-{}.log", self.port));
        let mut proc = Proc::spawn("redis-server", &mut cmd, log);
        let end = Instant::now() + START_TIMEOUT;
        while Instant::now() < end {
            if self.ping() {
                self.proc = Some(proc);
                return true;
            }
            if proc.exited().is_some() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// True when the server answers `PING` now.
    pub fn ping(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL) and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.signal("KILL");
            assert!(p.wait_exit(Duration::from_secs(10)).await.is_some());
        }
    }

    /// Starts it again on the same port (empty: it keeps nothing).
    pub async fn restart(&mut self) {
        for _ in 0..50 {
            if self.spawn().await {
                return;
            }
            // The port may linger for a moment after the kill.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("redis-server did not restart on port {}", self.port);
    }

    /// `redis-cli` with `args` against this server; its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

//! JSON-lines logging to stderr: one object per line with `ts`, `level`, `target`, `msg` and
//! the record's key-values. Used for Switchyard's own logs, the access log (target `access`)
//! and Pingora's logs alike.
//!
//! No line carries a secret, at any level: Pingora's debug and trace lines print whole
//! request and response heads, so every line passes through the gateway's [`Redactor`] (the
//! configured secrets) and has the values of credential headers (`authorization`, `*api-key`,
//! `x-amz-security-token`, …) replaced, whoever sent them. Warnings and errors repeated in a
//! burst (an `accept` failing on every connection when descriptors run out) are written a few
//! times a second at most, with a count of those left out.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use log::kv::{Error as KvError, Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use switchyard_config::LogLevel;
use switchyard_gateway::redact::{Redactor, REDACTED};
use switchyard_providers::time::UtcDateTime;

/// Header names whose values are credentials (`api-key` also covers `x-api-key`,
/// `x-goog-api-key` and `x-portkey-api-key`; `authorization` covers `proxy-authorization`).
const CREDENTIAL_HEADERS: [&str; 4] =
    ["authorization", "api-key", "x-amz-security-token", "cookie"];

/// Lines with the same level, target and start written per window before the rest of the
/// window's are counted instead.
const BURST: u32 = 5;
const WINDOW: Duration = Duration::from_secs(1);

struct JsonLogger {
    level: LevelFilter,
    redactor: Redactor,
    headers: Option<AhoCorasick>,
    bursts: Mutex<HashMap<u64, Burst>>,
}

struct Burst {
    since: Instant,
    written: u32,
    dropped: u64,
}

/// Installs the logger at `level`; `redactor` holds the configured secrets.
pub fn init(level: LogLevel, redactor: Redactor) {
    let level = match level {
        LogLevel::Off => LevelFilter::Off,
        LogLevel::Error => LevelFilter::Error,
        LogLevel::Warn => LevelFilter::Warn,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Trace => LevelFilter::Trace,
    };
    let headers = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .build(CREDENTIAL_HEADERS)
        .ok();
    let logger = JsonLogger {
        level,
        redactor,
        headers,
        bursts: Mutex::new(HashMap::new()),
    };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(level);
    }
}

impl Log for JsonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let dropped = match self.admit(record) {
            Some(n) => n,
            None => return,
        };
        let mut line = Vec::with_capacity(320);
        line.extend_from_slice(b"{\"ts\":\"");
        push_timestamp(&mut line, SystemTime::now());
        line.extend_from_slice(b"\",\"level\":\"");
        line.extend_from_slice(record.level().as_str().as_bytes());
        line.extend_from_slice(b"\",\"target\":");
        push_json_str(&mut line, record.target());
        line.extend_from_slice(b",\"msg\":");
        match record.args().as_str() {
            Some(msg) => push_json_str(&mut line, msg),
            None => push_json_str(&mut line, &record.args().to_string()),
        }
        let _ = record.key_values().visit(&mut Fields(&mut line));
        if dropped > 0 {
            let _ = write!(line, ",\"similar_lines_dropped\":{dropped}");
        }
        line.extend_from_slice(b"}\n");
        // Most lines hold neither a secret nor a credential header: no copy is made then.
        let line = self.redactor.redact(&line, None);
        let line = match &self.headers {
            Some(names) if names.is_match(&*line) => Cow::Owned(scrub_headers(names, &line)),
            _ => line,
        };
        let _ = std::io::stderr().lock().write_all(&line);
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

impl JsonLogger {
    /// Whether a warning or error is written (`Some(lines left out before it)`) or left out
    /// of a burst (`None`). Other levels are always written.
    fn admit(&self, record: &Record<'_>) -> Option<u64> {
        if record.level() > Level::Warn {
            return Some(0);
        }
        let mut h = DefaultHasher::new();
        record.level().hash(&mut h);
        record.target().hash(&mut h);
        match record.args().as_str() {
            Some(m) => m.hash(&mut h),
            None => {
                let m = record.args().to_string();
                m.get(..m.len().min(32)).unwrap_or("").hash(&mut h);
            }
        }
        let key = h.finish();
        let now = Instant::now();
        let Ok(mut bursts) = self.bursts.lock() else {
            return Some(0);
        };
        if bursts.len() > 4096 {
            bursts.retain(|_, b| now.duration_since(b.since) < WINDOW);
        }
        let b = bursts.entry(key).or_insert(Burst {
            since: now,
            written: 0,
            dropped: 0,
        });
        if now.duration_since(b.since) >= WINDOW {
            let dropped = b.dropped;
            *b = Burst {
                since: now,
                written: 1,
                dropped: 0,
            };
            return Some(dropped);
        }
        if b.written < BURST {
            b.written += 1;
            Some(0)
        } else {
            b.dropped += 1;
            None
        }
    }
}

/// `line` with the value after each credential header name replaced: `name: value`,
/// `"name": "value"` (a header map's debug form) or `name=value`, the value running to the
/// next quote, backslash (an escaped `\r\n` in a debug-printed head) or line end.
fn scrub_headers(names: &AhoCorasick, line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len());
    let mut copied = 0;
    for m in names.find_iter(line) {
        if m.start() < copied {
            continue;
        }
        let mut i = m.end();
        while i < line.len() && matches!(line[i], b'"' | b'\'' | b'\\') {
            i += 1;
        }
        while i < line.len() && line[i] == b' ' {
            i += 1;
        }
        if i >= line.len() || !matches!(line[i], b':' | b'=') {
            continue;
        }
        i += 1;
        while i < line.len() && matches!(line[i], b' ' | b'"' | b'\'' | b'\\') {
            i += 1;
        }
        let start = i;
        while i < line.len() && !matches!(line[i], b'"' | b'\'' | b'\\' | b'\r' | b'\n') {
            i += 1;
        }
        if i > start {
            out.extend_from_slice(&line[copied..start]);
            out.extend_from_slice(REDACTED.as_bytes());
            copied = i;
        }
    }
    out.extend_from_slice(&line[copied..]);
    out
}

struct Fields<'a>(&'a mut Vec<u8>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), KvError> {
        self.0.push(b',');
        push_json_str(self.0, key.as_str());
        self.0.push(b':');
        // Writing into a Vec cannot fail.
        if let Some(b) = value.to_bool() {
            self.0
                .extend_from_slice(if b { b"true" as &[u8] } else { b"false" });
        } else if let Some(n) = value.to_u64() {
            let _ = write!(self.0, "{n}");
        } else if let Some(n) = value.to_i64() {
            let _ = write!(self.0, "{n}");
        } else if let Some(f) = value.to_f64().filter(|f| f.is_finite()) {
            let _ = write!(self.0, "{f:.3}");
        } else if let Some(s) = value.to_borrowed_str() {
            push_json_str(self.0, s);
        } else {
            push_json_str(self.0, &value.to_string());
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string. Almost every value needs no escaping and is copied whole;
/// the rest is escaped by `serde_json`.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-25T11:10:00.123Z`.
fn push_timestamp(out: &mut Vec<u8>, t: SystemTime) {
    let t = UtcDateTime::from_system_time(t);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millisecond
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_rfc3339() {
        let mut s = Vec::new();
        push_timestamp(
            &mut s,
            UNIX_EPOCH + Duration::from_millis(1_795_000_000_123),
        );
        assert_eq!(s, b"2026-11-18T11:06:40.123Z");
        let mut s = Vec::new();
        push_timestamp(&mut s, UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!(s, b"2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn strings_are_escaped() {
        let mut s = Vec::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}\t\u{7f}é");
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "\"a\\\"b\\\\c\\nd\\u0001\\t\u{7f}é\""
        );
        let mut s = Vec::new();
        push_json_str(&mut s, "plain /v1/chat/completions");
        assert_eq!(s, b"\"plain /v1/chat/completions\"");
    }

    fn names() -> AhoCorasick {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(CREDENTIAL_HEADERS)
            .unwrap()
    }

    #[test]
    fn credential_headers_are_scrubbed_in_every_debug_form() {
        let cases = [
            // A request head written upstream (`Bytes` debug, then JSON-escaped).
            r#"{"msg":"Writing request header: b\"POST /v1/chat HTTP/1.1\\r\\nAuthorization: Bearer sk-up-1\\r\\nx-api-key: sk-up-2\\r\\n\""}"#,
            // A header map's debug form.
            r#"{"msg":"Request header: {\"authorization\": \"Bearer sk-up-1\", \"X-Goog-Api-Key\": \"sk-up-2\"}"}"#,
            // SigV4, with commas in the value.
            "authorization: AWS4-HMAC-SHA256 Credential=sk-up-1/x, Signature=sk-up-2\n",
        ];
        for c in cases {
            let out = String::from_utf8(scrub_headers(&names(), c.as_bytes())).unwrap();
            assert!(
                !out.contains("sk-up-1") && !out.contains("sk-up-2"),
                "{out}"
            );
            assert!(out.contains(REDACTED), "{out}");
        }
        // Prose naming a header is left alone.
        let prose = b"missing authorization header";
        assert_eq!(scrub_headers(&names(), prose), prose);
    }

    #[test]
    fn a_burst_of_the_same_error_is_thinned_out() {
        let config = switchyard_config::load_str("", "t.yaml", &|_| None).unwrap();
        let logger = JsonLogger {
            level: LevelFilter::Trace,
            redactor: Redactor::new(&config),
            headers: None,
            bursts: Mutex::new(HashMap::new()),
        };
        let admitted = |level: Level, msg: &str| {
            let args = format_args!("{msg}");
            let r = Record::builder()
                .level(level)
                .target("pingora")
                .args(args)
                .build();
            logger.admit(&r)
        };
        let written = (0..1000)
            .filter(|_| admitted(Level::Error, "accept failed: too many open files").is_some())
            .count();
        assert_eq!(written, BURST as usize);
        // Another message, and lines below warning, are not held back by it.
        assert_eq!(admitted(Level::Error, "another error"), Some(0));
        assert!(
            (0..100).all(|_| admitted(Level::Info, "accept failed: too many open files").is_some())
        );
    }

    #[test]
    fn every_string_round_trips_through_a_json_parser() {
        let all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        for s in ["", "\u{0}", "\\", "\"", "line\r\nnext", all.as_str()] {
            let mut out = Vec::new();
            push_json_str(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
        }
    }
}

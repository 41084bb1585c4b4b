//! JSON-lines logging to stderr: one object per line with `ts`, `level`, `target`, `msg` and
//! the record's key-values. Used for Switchyard's own logs, the access log (target `access`)
//! and Pingora's logs alike.

use std::io::Write as _;
use std::time::SystemTime;

use log::kv::{Error as KvError, Key, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record};
use switchyard_config::LogLevel;
use switchyard_providers::time::UtcDateTime;

struct JsonLogger {
    level: LevelFilter,
}

/// Installs the logger at `level`.
pub fn init(level: LogLevel) {
    let level = match level {
        LogLevel::Off => LevelFilter::Off,
        LogLevel::Error => LevelFilter::Error,
        LogLevel::Warn => LevelFilter::Warn,
        LogLevel::Info => LevelFilter::Info,
        LogLevel::Debug => LevelFilter::Debug,
        LogLevel::Trace => LevelFilter::Trace,
    };
    if log::set_boxed_logger(Box::new(JsonLogger { level })).is_ok() {
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
        line.extend_from_slice(b"}\n");
        let _ = std::io::stderr().lock().write_all(&line);
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
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

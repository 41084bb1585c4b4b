//! Scripted behaviour: what the next requests should get instead of a normal answer.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Deserialize;

/// One scripted behaviour. Fields combine: e.g. `delay_ms` then `status`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Answer with this status. Non-2xx statuses get the provider's error body unless
    /// `body` is given.
    pub status: Option<u16>,
    /// The exact body to send (a JSON value is serialised; a string is sent as is).
    pub body: Option<serde_json::Value>,
    /// Extra response headers (e.g. `retry-after`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Wait this long before the response header.
    pub delay_ms: Option<u64>,
    /// Close the connection without answering.
    #[serde(default)]
    pub reset_before_headers: bool,
    /// Stream this many content chunks.
    pub chunks: Option<usize>,
    /// Wait this long between stream chunks.
    pub chunk_delay_ms: Option<u64>,
    /// Drop the connection after this many stream chunks (or, for a plain body, after the
    /// header and half the body).
    pub reset_after_chunks: Option<usize>,
    /// Send syntactically broken JSON (a plain body) or a broken event (a stream).
    #[serde(default)]
    pub malformed: bool,
    /// Answer a stream with 200 whose first event is this error object.
    pub error_event: Option<serde_json::Value>,
    /// End a stream cleanly but without its end marker (`data: [DONE]`).
    #[serde(default)]
    pub omit_done: bool,
    /// How many requests this applies to (default 1).
    pub times: Option<usize>,
}

/// A queue of behaviours consumed one request at a time.
#[derive(Default)]
pub struct Script {
    queue: Mutex<VecDeque<(Behaviour, usize)>>,
}

impl Script {
    /// Appends behaviours.
    pub fn push(&self, items: Vec<Behaviour>) {
        if let Ok(mut q) = self.queue.lock() {
            for b in items {
                let times = b.times.unwrap_or(1).max(1);
                q.push_back((b, times));
            }
        }
    }

    /// Forgets every behaviour.
    pub fn clear(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.clear();
        }
    }

    /// The behaviour for the next request, if one is scripted.
    pub fn next(&self) -> Option<Behaviour> {
        let mut q = self.queue.lock().ok()?;
        let (b, left) = q.front_mut()?;
        let out = b.clone();
        *left -= 1;
        if *left == 0 {
            q.pop_front();
        }
        Some(out)
    }
}

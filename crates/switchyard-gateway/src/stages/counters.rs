//! Window counters for rate limits and budgets: local, lock-free, and optionally shared
//! between replicas through Redis.
//!
//! Each [`Period`] has one fixed window aligned on the UTC calendar (so every replica agrees
//! on where a minute or a month starts), counted in a `pingora-limits` [`Estimator`] (a
//! count-min sketch: a fixed 4 × 1024 atomics whatever the number of users, and never an
//! undercount). Two estimators alternate by window parity; the first caller to see a new
//! window clears the one it takes over. A count is what this process charged plus what the
//! other replicas charged as last seen in Redis (kept under a second key of the same sketch).
//!
//! With a store, every charge is also added to a small journal under a mutex (no I/O); the
//! background task ([`Sync`]) pushes the journal to Redis every `sync_interval` with one
//! pipelined `INCRBY` per counter, and the totals Redis answers tell it what the others
//! charged. The request path never waits for Redis. Accuracy: a replica does not see what the
//! others admitted since the last sync, so N replicas can together overshoot a limit by what
//! N − 1 of them admit in one sync interval plus a round trip.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pingora_limits::estimator::Estimator;
use switchyard_config::limits::{LimitsStore, Period};

const HASHES: usize = 4;
const SLOTS: usize = 1024;
/// Mixed into a scope's id for the count the other replicas charged.
const OTHERS: u64 = 0x9e37_79b9_7f4a_7c15;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A stable id for a scope name (`key:team-a:requests`), the same in every replica: FNV-1a.
pub fn scope_id(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The counters of one period.
struct Window {
    period: Period,
    /// The window index the current slot counts.
    index: AtomicU64,
    slots: [Estimator; 2],
}

impl Window {
    fn new(period: Period, now: u64) -> Self {
        Self {
            period,
            index: AtomicU64::new(period.index(now)),
            slots: [Estimator::new(HASHES, SLOTS), Estimator::new(HASHES, SLOTS)],
        }
    }

    /// The estimator of the window `now` falls in (moving to it if it is new) and its index.
    fn at(&self, now: u64) -> (&Estimator, u64) {
        let idx = self.period.index(now);
        let mut cur = self.index.load(Ordering::Acquire);
        while idx > cur {
            match self
                .index
                .compare_exchange(cur, idx, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.slots[(idx % 2) as usize].reset();
                    if idx > cur + 1 {
                        self.slots[((idx + 1) % 2) as usize].reset();
                    }
                    cur = idx;
                }
                Err(seen) => cur = seen,
            }
        }
        // A caller whose clock read is a hair behind another's counts in the newer window.
        (&self.slots[(cur % 2) as usize], cur)
    }

    /// The estimator of window `idx` if it is still the current one.
    fn if_current(&self, idx: u64) -> Option<&Estimator> {
        (self.index.load(Ordering::Acquire) == idx).then(|| &self.slots[(idx % 2) as usize])
    }
}

/// One counter to charge: a scope in a period, with its cap.
#[derive(Clone, Copy, Debug)]
pub struct Charge {
    /// The scope's id ([`scope_id`]).
    pub scope: u64,
    /// The window length.
    pub period: Period,
    /// The cap per window.
    pub limit: u64,
    /// What to add.
    pub amount: u64,
}

/// What a counter looks like after a charge, for the `x-ratelimit-*` headers.
#[derive(Clone, Copy, Debug)]
pub struct Standing {
    /// The cap.
    pub limit: u64,
    /// What is left in this window.
    pub remaining: u64,
    /// Until the window ends.
    pub reset: Duration,
}

/// Where a charge was made, to settle it later.
#[derive(Clone, Copy, Debug)]
pub struct Receipt {
    scope: u64,
    period: Period,
    index: u64,
}

/// The counters of the gateway.
pub struct Counters {
    windows: Vec<Window>,
    shared: Option<Shared>,
}

/// The journal of charges not yet pushed, and the store's health.
struct Shared {
    journal: Mutex<HashMap<(u64, Period, u64), i64>>,
    up: AtomicBool,
}

impl Counters {
    /// Counters for every period; `shared` when a store is configured.
    pub fn new(shared: bool) -> Self {
        let now = now_ms();
        Self {
            windows: Period::ALL.iter().map(|&p| Window::new(p, now)).collect(),
            shared: shared.then(|| Shared {
                journal: Mutex::new(HashMap::new()),
                up: AtomicBool::new(true),
            }),
        }
    }

    fn window(&self, p: Period) -> &Window {
        // `windows` follows `Period::ALL`, whose order is the enum's.
        &self.windows[p as usize]
    }

    /// False while a configured store cannot be reached.
    pub fn store_up(&self) -> bool {
        self.shared
            .as_ref()
            .is_none_or(|s| s.up.load(Ordering::Relaxed))
    }

    /// What the other replicas charged to `scope`, as last seen (nothing to look up without
    /// a store: a sketch lookup hashes the key once per row).
    #[inline]
    fn others(&self, est: &Estimator, scope: u64) -> isize {
        if self.shared.is_some() {
            est.get(scope ^ OTHERS)
        } else {
            0
        }
    }

    fn journal(&self, scope: u64, period: Period, index: u64, delta: i64) {
        if let Some(s) = &self.shared {
            if let Ok(mut j) = s.journal.lock() {
                *j.entry((scope, period, index)).or_insert(0) += delta;
            }
        }
    }

    /// The count of a scope now (this process's charges and the others' as last seen).
    pub fn count(&self, scope: u64, period: Period, now: u64) -> (u64, u64) {
        let (est, idx) = self.window(period).at(now);
        let n = est.get(scope).saturating_add(self.others(est, scope));
        (n.max(0) as u64, idx)
    }

    /// Charges every counter of `charges`, or none: when one would go over its cap, the
    /// charges already made are taken back and the index of the one over is returned with
    /// how long until its window ends. `out` gets one standing and one receipt per charge.
    pub fn charge_all(
        &self,
        charges: &[Charge],
        now: u64,
        out: &mut Vec<(Standing, Receipt)>,
    ) -> Result<(), (usize, Duration)> {
        let start = out.len();
        for (i, c) in charges.iter().enumerate() {
            let w = self.window(c.period);
            let (est, idx) = w.at(now);
            let amount = c.amount.min(i64::MAX as u64 / 4) as isize;
            let mine = est.incr(c.scope, amount);
            let total = mine.saturating_add(self.others(est, c.scope)).max(0) as u64;
            let reset = Duration::from_millis(c.period.end_ms(idx).saturating_sub(now));
            if total > c.limit {
                est.decr(c.scope, amount);
                // `out[start..]` holds the receipts of `charges[..i]`, in order.
                for (j, (_, r)) in out.drain(start..).enumerate() {
                    let back = charges[j].amount.min(i64::MAX as u64 / 4) as isize;
                    if let Some(e) = self.window(r.period).if_current(r.index) {
                        e.decr(r.scope, back);
                    }
                    self.journal(r.scope, r.period, r.index, -(back as i64));
                }
                return Err((i, reset));
            }
            self.journal(c.scope, c.period, idx, amount as i64);
            out.push((
                Standing {
                    limit: c.limit,
                    remaining: c.limit - total,
                    reset,
                },
                Receipt {
                    scope: c.scope,
                    period: c.period,
                    index: idx,
                },
            ));
        }
        Ok(())
    }

    /// Adds `delta` (negative to give back) to the counter a receipt charged, if its window
    /// is still the current one.
    pub fn settle(&self, r: &Receipt, delta: i64) {
        if delta == 0 {
            return;
        }
        if let Some(e) = self.window(r.period).if_current(r.index) {
            e.incr(r.scope, delta as isize);
            self.journal(r.scope, r.period, r.index, delta);
        }
    }

    /// Adds `amount` to a scope without a cap (spend after the fact).
    pub fn add(&self, scope: u64, period: Period, amount: u64, now: u64) {
        let (est, idx) = self.window(period).at(now);
        let amount = amount.min(i64::MAX as u64 / 4) as isize;
        est.incr(scope, amount);
        self.journal(scope, period, idx, amount as i64);
    }
}

/// What the sync task knows of one shared counter.
#[derive(Default)]
struct Tracked {
    /// Charged here, not yet pushed.
    pending: i64,
    /// Charged here and pushed.
    pushed: i64,
    /// What the others charged, as last seen (and added to the local sketch).
    others: i64,
}

/// Store metrics.
pub struct StoreMetrics {
    /// 1 while the store answers.
    pub up: prometheus::IntGauge,
    /// Failed synchronisations.
    pub errors: prometheus::IntCounter,
}

/// The background task that synchronises the counters with Redis.
pub struct Sync {
    counters: Arc<Counters>,
    store: LimitsStore,
    /// Scopes always followed (keys, routes, global: bounded by the config), so that what
    /// the others spent is known before this replica's first charge — and spend survives a
    /// restart.
    watch: Vec<(u64, Period)>,
    metrics: StoreMetrics,
}

impl Sync {
    /// A task for `counters`, following `watch` from the start.
    pub fn new(
        counters: Arc<Counters>,
        store: LimitsStore,
        watch: Vec<(u64, Period)>,
        metrics: StoreMetrics,
    ) -> Self {
        Self {
            counters,
            store,
            watch,
            metrics,
        }
    }

    fn key(&self, scope: u64, period: Period, index: u64) -> String {
        format!(
            "{}limit:{}:{index}:{scope:016x}",
            self.store.prefix,
            period.name()
        )
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let Some(shared) = &self.counters.shared else {
            return;
        };
        let client = match redis::Client::open(self.store.redis.expose()) {
            Ok(c) => c,
            Err(_) => {
                // The URL was checked at load; never log it (it may hold a password).
                log::error!(target: "switchyard", "limits.store: the Redis URL is not usable; counters stay local");
                shared.up.store(false, Ordering::Relaxed);
                self.metrics.up.set(0);
                return;
            }
        };
        let mut conn: Option<redis::aio::MultiplexedConnection> = None;
        let mut tracked: HashMap<(u64, Period, u64), Tracked> = HashMap::new();
        let mut last_log: Option<Instant> = None;
        let timeout = self.store.sync_interval.max(Duration::from_millis(250)) * 4;
        let mut tick = tokio::time::interval(self.store.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() {
                        return;
                    }
                }
            }
            let now = now_ms();
            let drained = shared
                .journal
                .lock()
                .map(|mut j| std::mem::take(&mut *j))
                .unwrap_or_default();
            for (k, d) in drained {
                tracked.entry(k).or_default().pending += d;
            }
            for &(scope, period) in &self.watch {
                tracked
                    .entry((scope, period, period.index(now)))
                    .or_default();
            }
            // Windows that are over: forget them (Redis expires them).
            tracked.retain(|&(_, p, idx), _| idx >= p.index(now));
            if tracked.is_empty() {
                continue;
            }
            let result = match conn.as_mut() {
                Some(c) => self.push(c, &tracked, timeout).await,
                None => {
                    match tokio::time::timeout(timeout, client.get_multiplexed_async_connection())
                        .await
                    {
                        Ok(Ok(mut c)) => {
                            let r = self.push(&mut c, &tracked, timeout).await;
                            conn = Some(c);
                            r
                        }
                        Ok(Err(e)) => Err(e.kind_label()),
                        Err(_) => Err("timeout"),
                    }
                }
            };
            match result {
                Ok(totals) => {
                    if !shared.up.swap(true, Ordering::Relaxed) {
                        log::info!(target: "switchyard", "limits.store: Redis is reachable again; counters are shared");
                    }
                    self.metrics.up.set(1);
                    for ((key, t), total) in tracked.iter_mut().zip(totals) {
                        t.pushed += t.pending;
                        t.pending = 0;
                        if total < t.pushed {
                            // Redis lost the counter (restarted empty, or evicted it): what
                            // this replica charged is pushed again on the next round.
                            t.pending = t.pushed - total;
                            t.pushed = total;
                        }
                        let others = total - t.pushed;
                        let (scope, period, idx) = *key;
                        if let Some(e) = self.counters.window(period).if_current(idx) {
                            e.incr(scope ^ OTHERS, (others - t.others) as isize);
                            t.others = others;
                        }
                    }
                }
                Err(kind) => {
                    conn = None;
                    shared.up.store(false, Ordering::Relaxed);
                    self.metrics.up.set(0);
                    self.metrics.errors.inc();
                    if last_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                        last_log = Some(Instant::now());
                        log::warn!(target: "switchyard", error = kind; "limits.store: Redis unreachable; serving on local counters until it returns");
                    }
                }
            }
        }
    }

    /// One pipelined round: `INCRBY` each counter by what is pending (0 reads it) and keep
    /// it for two of its windows. Returns the totals, in `tracked`'s order.
    async fn push(
        &self,
        c: &mut redis::aio::MultiplexedConnection,
        tracked: &HashMap<(u64, Period, u64), Tracked>,
        timeout: Duration,
    ) -> Result<Vec<i64>, &'static str> {
        let mut pipe = redis::pipe();
        for (&(scope, period, idx), t) in tracked {
            let key = self.key(scope, period, idx);
            pipe.cmd("INCRBY").arg(&key).arg(t.pending);
            if t.pending != 0 {
                let ttl = period.max_len().as_secs() * 2;
                pipe.cmd("EXPIRE").arg(&key).arg(ttl).ignore();
            }
        }
        match tokio::time::timeout(timeout, pipe.query_async::<Vec<i64>>(c)).await {
            Ok(Ok(v)) if v.len() == tracked.len() => Ok(v),
            Ok(Ok(_)) => Err("bad_reply"),
            Ok(Err(e)) => Err(e.kind_label()),
            Err(_) => Err("timeout"),
        }
    }
}

#[async_trait::async_trait]
impl pingora::services::background::BackgroundService for Sync {
    async fn start(&self, shutdown: pingora::server::ShutdownWatch) {
        self.run(shutdown).await;
    }
}

/// A bounded label for a Redis error.
trait KindLabel {
    fn kind_label(&self) -> &'static str;
}

impl KindLabel for redis::RedisError {
    fn kind_label(&self) -> &'static str {
        if self.is_timeout() {
            "timeout"
        } else if self.is_io_error() || self.is_connection_refusal() || self.is_connection_dropped()
        {
            "connection"
        } else {
            "reply"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(scope: u64, limit: u64, amount: u64) -> Charge {
        Charge {
            scope,
            period: Period::Minute,
            limit,
            amount,
        }
    }

    #[test]
    fn charges_are_all_or_nothing() {
        let counters = Counters::new(false);
        let now = now_ms();
        let mut out = Vec::new();
        for _ in 0..3 {
            counters
                .charge_all(&[c(1, 5, 1), c(2, 3, 1)], now, &mut out)
                .unwrap();
        }
        assert_eq!(out.last().unwrap().0.remaining, 0);
        out.clear();
        let (i, reset) = counters
            .charge_all(&[c(1, 5, 1), c(2, 3, 1)], now, &mut out)
            .unwrap_err();
        assert_eq!(i, 1);
        assert!(reset <= Duration::from_secs(60));
        assert!(out.is_empty());
        // The refused charge gave scope 1 back.
        assert_eq!(counters.count(1, Period::Minute, now).0, 3);
        counters.charge_all(&[c(1, 5, 2)], now, &mut out).unwrap();
        assert_eq!(out[0].0.remaining, 0);
        counters.settle(&out[0].1, -2);
        assert_eq!(counters.count(1, Period::Minute, now).0, 3);
    }

    #[test]
    fn a_new_window_starts_empty() {
        let counters = Counters::new(false);
        let now = now_ms();
        counters.add(7, Period::Second, 10, now);
        assert_eq!(counters.count(7, Period::Second, now).0, 10);
        assert_eq!(counters.count(7, Period::Second, now + 1000).0, 0);
        assert_eq!(counters.count(7, Period::Second, now + 3000).0, 0);
    }

    #[test]
    fn scope_ids_are_stable() {
        assert_eq!(scope_id(&["key", "a"]), scope_id(&["key", "a"]));
        assert_ne!(scope_id(&["key", "a"]), scope_id(&["ke", "ya"]));
        assert_eq!(scope_id(&[""]), 0xcbf2_9ce4_8422_2325);
    }
}

//! Rate limits and budgets: `auth.keys[].limits` / `.budget`, `routes.<r>.limits` / `.budget`
//! and the top-level `limits:` section (per user, global, and the shared Redis store).
//!
//! The raw forms mirror the YAML; the typed forms are what the gateway's limits stage runs
//! on. [`Period`] also holds the pure calendar arithmetic of the windows (which window a time
//! falls in, when it ends), so every replica of the gateway agrees on window boundaries.

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;
use switchyard_providers::Secret;

use crate::raw::Dur;

/// `limits: { requests: 100/min, tokens: 50000/min }` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Requests per period: `N/s`, `N/min`, `N/h`, `N/day`.
    pub requests: Option<Spanned<String>>,
    /// Tokens (prompt + completion) per period.
    pub tokens: Option<Spanned<String>>,
}

/// `budget: { usd: 50, per: month }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Dollars per period.
    pub usd: Spanned<f64>,
    /// `day`, `week` or `month` (calendar periods, UTC).
    pub per: Spanned<String>,
}

/// The top-level `limits:` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimitsSection {
    /// Limits for each end user (the body's `user` or `x-switchyard-user`).
    pub per_user: Option<RawLimits>,
    /// Limits over all requests to this gateway (or to all, with a shared store).
    pub global: Option<RawLimits>,
    /// Where counters are shared between replicas; absent: in-process only.
    pub store: Option<RawStore>,
}

/// `limits.store:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `redis://[user:password@]host:port[/db]`.
    pub redis: Spanned<String>,
    /// `allow` (default): serve on local counters while Redis is unreachable; `deny`: refuse.
    pub on_error: Option<Spanned<String>>,
    /// How often local counters are pushed to and refreshed from Redis (default 20ms).
    pub sync_interval: Option<Spanned<Dur>>,
    /// Prefix of every Redis key (default `switchyard:`).
    pub prefix: Option<Spanned<String>>,
}

/// The length of a limit's or a budget's window. Windows are aligned on the UTC calendar
/// (a minute window starts at second 0, a week on Monday 00:00, a month on the 1st).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One second.
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One ISO week (Monday to Sunday).
    Week,
    /// One calendar month.
    Month,
}

const DAY_MS: u64 = 86_400_000;

impl Period {
    /// Every period, shortest first.
    pub const ALL: [Period; 6] = [
        Period::Second,
        Period::Minute,
        Period::Hour,
        Period::Day,
        Period::Week,
        Period::Month,
    ];

    /// A short name (`s`, `min`, `h`, `day`, `week`, `month`), used in Redis keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Period::Second => "s",
            Period::Minute => "min",
            Period::Hour => "h",
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The window that `unix_ms` (milliseconds since the Unix epoch) falls in.
    pub fn index(self, unix_ms: u64) -> u64 {
        match self {
            Period::Second => unix_ms / 1000,
            Period::Minute => unix_ms / 60_000,
            Period::Hour => unix_ms / 3_600_000,
            Period::Day => unix_ms / DAY_MS,
            // 1970-01-01 was a Thursday: shifting by 3 days puts Mondays on multiples of 7.
            Period::Week => (unix_ms / DAY_MS + 3) / 7,
            Period::Month => {
                let days = (unix_ms / DAY_MS) as i64;
                let (y, m, _) = switchyard_providers::time::civil_from_days(days);
                (y.max(1970) as u64 - 1970) * 12 + u64::from(m - 1)
            }
        }
    }

    /// When window `index` ends, in milliseconds since the Unix epoch.
    pub fn end_ms(self, index: u64) -> u64 {
        let next = index.saturating_add(1);
        match self {
            Period::Second => next.saturating_mul(1000),
            Period::Minute => next.saturating_mul(60_000),
            Period::Hour => next.saturating_mul(3_600_000),
            Period::Day => next.saturating_mul(DAY_MS),
            Period::Week => next
                .saturating_mul(7)
                .saturating_sub(3)
                .saturating_mul(DAY_MS),
            Period::Month => {
                let (y, m) = (1970 + (next / 12) as i64, (next % 12) as u32 + 1);
                (days_from_civil(y, m, 1).max(0) as u64).saturating_mul(DAY_MS)
            }
        }
    }

    /// The longest a window lasts (for the expiry of shared counters).
    pub fn max_len(self) -> Duration {
        Duration::from_millis(match self {
            Period::Second => 1000,
            Period::Minute => 60_000,
            Period::Hour => 3_600_000,
            Period::Day => DAY_MS,
            Period::Week => 7 * DAY_MS,
            Period::Month => 31 * DAY_MS,
        })
    }

    fn parse_rate_unit(s: &str) -> Option<Period> {
        Some(match s {
            "s" | "sec" | "second" => Period::Second,
            "m" | "min" | "minute" => Period::Minute,
            "h" | "hour" => Period::Hour,
            "d" | "day" => Period::Day,
            _ => return None,
        })
    }

    pub(crate) fn parse_budget(s: &str) -> Option<Period> {
        Some(match s {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => return None,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// At most `limit` units per window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Units allowed per window.
    pub limit: u64,
    /// The window.
    pub per: Period,
}

impl Rate {
    /// Parses `N/s`, `N/min`, `N/h` or `N/day` (`N` ≥ 1).
    pub fn parse(text: &str) -> Result<Rate, String> {
        let t = text.trim();
        let usage = || format!("`{t}` is not a rate: write e.g. `100/min` (per s, min, h or day)");
        let (n, unit) = t.split_once('/').ok_or_else(usage)?;
        let limit: u64 = n.trim().replace('_', "").parse().map_err(|_| usage())?;
        let per = Period::parse_rate_unit(unit.trim()).ok_or_else(usage)?;
        if limit == 0 {
            return Err(format!("`{t}`: a limit must be at least 1"));
        }
        // Counters are signed 64-bit in the local estimator and in Redis.
        if limit > i64::MAX as u64 / 2 {
            return Err(format!("`{t}` is too large"));
        }
        Ok(Rate { limit, per })
    }
}

/// Request and token limits of one scope (a key, a route, each user, the gateway).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests per window.
    pub requests: Option<Rate>,
    /// Tokens per window.
    pub tokens: Option<Rate>,
}

impl Limits {
    /// No limit at all.
    pub fn is_empty(&self) -> bool {
        self.requests.is_none() && self.tokens.is_none()
    }
}

/// A spending cap in money over a calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The cap, in nano-dollars (the catalog's unit).
    pub nano_usd: u64,
    /// The period: day, week or month.
    pub per: Period,
}

/// What happens while the shared store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStoreError {
    /// Serve with the local counters (and the last figures seen from the store).
    #[default]
    Allow,
    /// Refuse requests that a limit or budget applies to (503).
    Deny,
}

/// `limits.store`: counters shared between replicas through Redis.
#[derive(Debug, Clone)]
pub struct LimitsStore {
    /// The Redis URL (it may hold a password).
    pub redis: Secret,
    /// While Redis is unreachable.
    pub on_error: OnStoreError,
    /// How often local counters are synchronised.
    pub sync_interval: Duration,
    /// Prefix of every Redis key.
    pub prefix: String,
}

/// The top-level `limits:` section.
#[derive(Debug, Clone, Default)]
pub struct LimitsConfig {
    /// Limits for each end user.
    pub per_user: Limits,
    /// Limits over all requests.
    pub global: Limits,
    /// The shared store, if any.
    pub store: Option<LimitsStore>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(
            Rate::parse("100/min").unwrap(),
            Rate {
                limit: 100,
                per: Period::Minute
            }
        );
        assert_eq!(Rate::parse(" 5 / s ").unwrap().per, Period::Second);
        assert_eq!(Rate::parse("50_000/day").unwrap().limit, 50_000);
        assert!(Rate::parse("0/min").is_err());
        assert!(Rate::parse("100").is_err());
        assert!(Rate::parse("100/fortnight").is_err());
        assert!(Rate::parse("-1/s").is_err());
        assert!(Rate::parse("99999999999999999999/s").is_err());
    }

    #[test]
    fn windows_are_calendar_aligned() {
        // 2026-12-02T10:53:20Z, a Wednesday.
        let t = 1_796_208_800_000;
        let w = Period::Week.index(t);
        // The week ends on Monday 2026-12-07T00:00Z.
        assert_eq!(Period::Week.end_ms(w), 1_796_601_600_000);
        // The month ends on 2027-01-01T00:00Z.
        let m = Period::Month.index(t);
        assert_eq!(Period::Month.end_ms(m), 1_798_761_600_000);
        assert_eq!(Period::Day.end_ms(Period::Day.index(t)), 1_796_256_000_000);
        assert_eq!(
            Period::Minute.end_ms(Period::Minute.index(t)),
            1_796_208_840_000
        );
        for p in Period::ALL {
            let i = p.index(t);
            assert!(p.end_ms(i) > t);
            assert_eq!(p.index(p.end_ms(i)), i + 1, "{p:?}");
            assert_eq!(p.index(p.end_ms(i) - 1), i, "{p:?}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}

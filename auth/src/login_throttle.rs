//! Login throttling: growing delays instead of a lockout. A lockout that anyone who knows a
//! username can trigger is a denial of service, and one that only existing names can trigger
//! tells an attacker which names exist. Here every attempt is counted against three keys, and
//! each key's failures past a free allowance impose an exponentially growing wait (capped)
//! before the next attempt is even checked:
//!
//! * the **(name, source)** pair: one client guessing one account's password;
//! * the **source**: one client trying many names (password spraying);
//! * the **name**: many clients guessing one account (a distributed attack), with a low cap so
//!   the real user is at most slowed, never shut out.
//!
//! A source from which the account has logged in successfully (within
//! [`LoginThrottleConfig::trusted_for`]) is exempt from the name and source delays, so an
//! attacker elsewhere (or sharing its address) cannot keep the real user out; it still has its
//! own pair allowance. Names are keyed as submitted (trimmed, lower-cased) whether or not an
//! account exists, so known and unknown names are throttled identically. IPv6 sources are
//! keyed by their /64 network, which one host usually controls entirely.
//!
//! Every attempt counts as a failure from the moment it is admitted until it is reported as
//! a success, so parallel attempts cannot all slip through one free slot. State lives in
//! memory, per replica, in LRU maps of bounded size; counters are forgotten after a quiet
//! period. Time is passed in.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use lru::LruCache;

/// Longest name kept as a key, in characters; longer ones are cut (they are throttled alike).
const MAX_KEY_CHARS: usize = 128;

/// Allowances and delays. Delays start at `base_delay` once a key's failures pass its free
/// allowance and double with each further failure, up to the key's cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottleConfig {
    /// Failures of one name from one source before delays start.
    pub free_per_pair: u32,
    /// Failures from one source (any name) before delays start.
    pub free_per_source: u32,
    /// Failures of one name (any source) before delays start.
    pub free_per_name: u32,
    /// The first delay.
    pub base_delay: Duration,
    /// Longest delay of a pair or a source.
    pub max_delay: Duration,
    /// Longest delay of a name across sources: what a distributed attack can cost the real user
    /// on a source it never logged in from.
    pub max_name_delay: Duration,
    /// A key with no failure for this long starts afresh.
    pub forget_after: Duration,
    /// How long a successful login exempts its source from the name and source delays.
    pub trusted_for: Duration,
    /// Most keys remembered per map (least recently used ones are dropped first).
    pub max_entries: usize,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self {
            free_per_pair: 3,
            free_per_source: 20,
            free_per_name: 10,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            max_name_delay: Duration::minutes(1),
            forget_after: Duration::hours(1),
            trusted_for: Duration::days(30),
            max_entries: 100_000,
        }
    }
}

/// An attempt refused before its password was checked: answer `429` with
/// `Retry-After: retry_after_seconds`, the same for every name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; retry after {retry_after_seconds} s")]
pub struct Throttled {
    /// At least 1.
    pub retry_after_seconds: u64,
}

/// An admitted attempt, counted as a failure until [`LoginThrottle::succeeded`] says otherwise.
#[derive(Debug)]
#[must_use = "report the outcome with `succeeded` or `failed`"]
pub struct LoginAttempt {
    name: String,
    source: IpAddr,
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    last: DateTime<Utc>,
}

impl Counter {
    /// When the next attempt may start, or `None` when it may start now.
    fn wait_until(&self, free: u32, cap: Duration, config: &LoginThrottleConfig) -> Option<DateTime<Utc>> {
        let over = self.failures.checked_sub(free)?;
        let delay = if over >= 31 { cap } else { config.base_delay.checked_mul(1 << over).map_or(cap, |d| d.min(cap)) };
        Some(after(self.last, delay))
    }
}

struct Maps {
    pairs: LruCache<(String, IpAddr), Counter>,
    sources: LruCache<IpAddr, Counter>,
    names: LruCache<String, Counter>,
    trusted: LruCache<(String, IpAddr), DateTime<Utc>>,
}

/// The throttle, shared by every login handler of a replica (`Send + Sync`).
pub struct LoginThrottle {
    config: LoginThrottleConfig,
    maps: Mutex<Maps>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The key of a name: trimmed and lower-cased, as usernames are compared.
fn name_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(MAX_KEY_CHARS).collect()
}

/// The key of a source: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 network.
pub fn source_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(segments.into())
        }
        v4 => v4,
    }
}

impl LoginThrottle {
    pub fn new(config: LoginThrottleConfig) -> Self {
        let cap = NonZeroUsize::new(config.max_entries).unwrap_or(NonZeroUsize::MIN);
        let maps = Maps {
            pairs: LruCache::new(cap),
            sources: LruCache::new(cap),
            names: LruCache::new(cap),
            trusted: LruCache::new(cap),
        };
        Self { config, maps: Mutex::new(maps) }
    }

    /// Before the password is checked: admits the attempt of `username` from `source` at
    /// `now` (counting it as a failure for now), or says how long to wait. Call it for every
    /// name, existing or not.
    pub fn begin(&self, username: &str, source: IpAddr, now: DateTime<Utc>) -> Result<LoginAttempt, Throttled> {
        let (name, source) = (name_key(username), source_key(source));
        let config = &self.config;
        let mut maps = self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pair_key = (name.clone(), source);
        let trusted = maps.trusted.get(&pair_key).is_some_and(|since| now < after(*since, config.trusted_for));
        let mut waits = Vec::with_capacity(3);
        waits.push(
            fresh(maps.pairs.get(&pair_key), now, config)
                .and_then(|c| c.wait_until(config.free_per_pair, config.max_delay, config)),
        );
        if !trusted {
            waits.push(
                fresh(maps.sources.get(&source), now, config)
                    .and_then(|c| c.wait_until(config.free_per_source, config.max_delay, config)),
            );
            waits.push(
                fresh(maps.names.get(&name), now, config)
                    .and_then(|c| c.wait_until(config.free_per_name, config.max_name_delay, config)),
            );
        }
        if let Some(until) = waits.into_iter().flatten().filter(|until| *until > now).max() {
            let millis = (until - now).num_milliseconds().max(1);
            let retry_after_seconds = u64::try_from(millis).unwrap_or(u64::MAX).div_ceil(1000);
            return Err(Throttled { retry_after_seconds });
        }
        count(&mut maps.pairs, pair_key, now, config);
        count(&mut maps.sources, source, now, config);
        count(&mut maps.names, name.clone(), now, config);
        Ok(LoginAttempt { name, source })
    }

    /// The password matched: the pair starts afresh, the attempt no longer counts against the
    /// source and the name, and the source is trusted for this name from now on.
    pub fn succeeded(&self, attempt: LoginAttempt, now: DateTime<Utc>) {
        let mut maps = self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let pair_key = (attempt.name.clone(), attempt.source);
        maps.pairs.pop(&pair_key);
        uncount(&mut maps.sources, &attempt.source);
        uncount(&mut maps.names, &attempt.name);
        maps.trusted.put(pair_key, now);
    }

    /// The password did not match, or the name is unknown. The attempt was counted when it was
    /// admitted, so nothing changes; calling it says so where the outcome is decided.
    pub fn failed(&self, attempt: LoginAttempt) {
        let LoginAttempt { .. } = attempt;
    }

    /// Forgets every failure of `username` (an administrator vouches for the account).
    pub fn forgive(&self, username: &str) {
        let name = name_key(username);
        let mut maps = self.maps.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        maps.names.pop(&name);
        let pairs: Vec<_> = maps.pairs.iter().filter(|((n, _), _)| *n == name).map(|(k, _)| k.clone()).collect();
        for pair in pairs {
            maps.pairs.pop(&pair);
        }
    }
}

/// `at + d`, saturating instead of panicking.
fn after(at: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    at.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The counter unless it has been quiet long enough to be forgotten.
fn fresh<'a>(counter: Option<&'a Counter>, now: DateTime<Utc>, config: &LoginThrottleConfig) -> Option<&'a Counter> {
    counter.filter(|c| now < after(c.last, config.forget_after))
}

fn count<K: std::hash::Hash + Eq>(
    map: &mut LruCache<K, Counter>,
    key: K,
    now: DateTime<Utc>,
    config: &LoginThrottleConfig,
) {
    let counter = map.get_or_insert_mut(key, || Counter { failures: 0, last: now });
    if now >= after(counter.last, config.forget_after) {
        counter.failures = 0;
    }
    counter.failures = counter.failures.saturating_add(1);
    counter.last = now;
}

fn uncount<K: std::hash::Hash + Eq>(map: &mut LruCache<K, Counter>, key: &K) {
    if let Some(counter) = map.peek_mut(key) {
        counter.failures = counter.failures.saturating_sub(1);
    }
}

#[cfg(test)]
#[path = "login_throttle_tests.rs"]
mod tests;

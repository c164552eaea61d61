//! Tiered rate limits: one keyed GCRA limiter per tier (anonymous, authenticated, admin,
//! authentication endpoints), so a key such as a client IP is counted separately per tier.
//! Quotas are per minute with the whole minute's allowance usable as a burst.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::MonotonicClock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::Quota;
use reserver_domain::Role;
use serde::{Deserialize, Serialize};

/// Checks between sweeps of keys that are back to a full allowance.
const SWEEP_EVERY: u64 = 4096;

/// Requests per minute for each tier. A limit of 0 leaves that tier unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitConfig {
    pub anonymous_per_minute: u32,
    pub authenticated_per_minute: u32,
    pub admin_per_minute: u32,
    /// Login, registration, token refresh: kept low against password guessing.
    pub auth_endpoints_per_minute: u32,
    pub enabled: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            anonymous_per_minute: 60,
            authenticated_per_minute: 600,
            admin_per_minute: 1200,
            auth_endpoints_per_minute: 10,
            enabled: true,
        }
    }
}

/// Which allowance a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    Anonymous,
    Authenticated,
    Admin,
    AuthEndpoint,
}

impl Tier {
    /// The tier of an ordinary route for a caller with `role` (`None`: not logged in).
    pub fn for_role(role: Option<Role>) -> Tier {
        match role {
            None => Tier::Anonymous,
            Some(Role::Admin) => Tier::Admin,
            Some(_) => Tier::Authenticated,
        }
    }
}

/// An allowed request's standing, for the `RateLimit-*` headers. `limit == 0` means unlimited
/// (limits off, or the tier has none): send no headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the allowance is full again.
    pub reset_seconds: u64,
}

impl RateInfo {
    const UNLIMITED: RateInfo = RateInfo { limit: 0, remaining: 0, reset_seconds: 0 };

    pub fn is_unlimited(&self) -> bool {
        self.limit == 0
    }
}

/// A refused request: answer `429` with `Retry-After: retry_after_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit of {limit} per minute exceeded; retry after {retry_after_seconds} s")]
pub struct Limited {
    /// At least 1.
    pub retry_after_seconds: u64,
    pub limit: u32,
}

type KeyedLimiter =
    governor::RateLimiter<String, DashMapStateStore<String>, MonotonicClock, StateInformationMiddleware>;

struct TierLimiter {
    limiter: KeyedLimiter,
    limit: u32,
    checks: AtomicU64,
}

impl TierLimiter {
    fn new(per_minute: u32) -> Option<TierLimiter> {
        let limit = NonZeroU32::new(per_minute)?;
        let limiter: KeyedLimiter =
            governor::RateLimiter::new(Quota::per_minute(limit), DashMapStateStore::default(), MonotonicClock);
        Some(TierLimiter { limiter, limit: per_minute, checks: AtomicU64::new(0) })
    }

    fn check(&self, key: &str) -> Result<RateInfo, Limited> {
        // Without sweeping, every client address ever seen would stay in memory.
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let key = key.to_string();
        match self.limiter.check_key(&key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity().min(self.limit);
                let interval = snapshot.quota().replenish_interval();
                let refill = interval.saturating_mul(self.limit - remaining);
                Ok(RateInfo { limit: self.limit, remaining, reset_seconds: ceil_seconds(refill) })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(Instant::now());
                Err(Limited { retry_after_seconds: ceil_seconds(wait).max(1), limit: self.limit })
            }
        }
    }
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The service's rate limits. Shared across request handlers (`Send + Sync`).
pub struct RateLimiter {
    config: RateLimitConfig,
    enabled: bool,
    anonymous: Option<TierLimiter>,
    authenticated: Option<TierLimiter>,
    admin: Option<TierLimiter>,
    auth_endpoints: Option<TierLimiter>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("enabled", &self.enabled).finish_non_exhaustive()
    }
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            enabled: config.enabled,
            anonymous: TierLimiter::new(config.anonymous_per_minute),
            authenticated: TierLimiter::new(config.authenticated_per_minute),
            admin: TierLimiter::new(config.admin_per_minute),
            auth_endpoints: TierLimiter::new(config.auth_endpoints_per_minute),
        }
    }

    /// The limits this limiter applies.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Requests per minute an ordinary route allows a caller of `tier`; 0 when unlimited
    /// (limits off, or the tier has none).
    pub fn per_minute(&self, tier: Tier) -> u32 {
        if !self.enabled {
            return 0;
        }
        match tier {
            Tier::Anonymous => self.config.anonymous_per_minute,
            Tier::Authenticated => self.config.authenticated_per_minute,
            Tier::Admin => self.config.admin_per_minute,
            Tier::AuthEndpoint => self.config.auth_endpoints_per_minute,
        }
    }

    /// Counts one request by `key` (a user id, or the client address when anonymous) against
    /// `tier`'s allowance.
    pub fn check(&self, tier: Tier, key: &str) -> Result<RateInfo, Limited> {
        if !self.enabled {
            return Ok(RateInfo::UNLIMITED);
        }
        let limiter = match tier {
            Tier::Anonymous => &self.anonymous,
            Tier::Authenticated => &self.authenticated,
            Tier::Admin => &self.admin,
            Tier::AuthEndpoint => &self.auth_endpoints,
        };
        limiter.as_ref().map_or(Ok(RateInfo::UNLIMITED), |l| l.check(key))
    }
}

#[cfg(test)]
#[path = "rate_limit_tests.rs"]
mod tests;

//! When a failed delivery is tried again: exponential back-off with jitter, until the
//! delivery's maximum age.
//!
//! The nominal delay after the n-th failed attempt is `base · 2^(n-1)`, capped at `max_delay`.
//! The actual delay is drawn uniformly from `[nominal / 2, nominal]` ("equal jitter"): replicas
//! and endpoints that failed together do not retry in lockstep, and below the cap each delay
//! is at least the previous one's nominal value, so delays never shrink while they grow.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long and how often a delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt (nominal).
    pub base_delay: Duration,
    /// Longest delay between two attempts.
    pub max_delay: Duration,
    /// No attempt is scheduled later than this after the delivery was planned; the delivery
    /// is then `failed`.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(60 * 60),
            max_age: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl RetryPolicy {
    /// `base · 2^(attempt-1)`, capped at `max_delay`; `attempt` counts from 1.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base_delay.saturating_mul(1u32 << doublings).min(self.max_delay)
    }

    /// The delay after `attempt` failed, for a `jitter` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let nominal = self.nominal_delay(attempt);
        let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.0 };
        nominal.mul_f64(0.5 + jitter / 2.0)
    }

    /// When to try again after `attempt` failed at `now`, or `None` when that would be after
    /// `expires_at` (the delivery has then failed for good).
    pub fn next_attempt(
        &self,
        attempt: u32,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let delay = chrono::Duration::from_std(self.delay(attempt, jitter)).ok()?;
        let next = now.checked_add_signed(delay)?;
        (next <= expires_at).then_some(next)
    }
}

/// A uniformly random number in `[0, 1)` from the system's random source (0.5 if it fails:
/// jitter is a courtesy, not a requirement).
pub fn random_jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        // 53 random bits: every value representable in [0, 1) with f64's precision.
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn nominal_delays_double_up_to_the_cap() {
        let p = policy();
        let secs: Vec<u64> = (1..=8).map(|n| p.nominal_delay(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(p.nominal_delay(0), Duration::from_secs(1));
        assert_eq!(p.nominal_delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_nominal_delay() {
        let p = policy();
        for n in 1..10 {
            let nominal = p.nominal_delay(n);
            assert_eq!(p.delay(n, 0.0), nominal / 2);
            assert_eq!(p.delay(n, 1.0), nominal);
            let drawn = p.delay(n, random_jitter());
            assert!(drawn >= nominal / 2 && drawn <= nominal, "{drawn:?} vs {nominal:?}");
            assert_eq!(p.delay(n, f64::NAN), nominal / 2);
        }
    }

    #[test]
    fn delays_never_shrink_below_the_cap_whatever_the_jitter() {
        let p = policy();
        for n in 1..6 {
            // The shortest next delay is at least the longest current one.
            assert!(p.delay(n + 1, 0.0) >= p.delay(n, 0.999_999));
        }
    }

    #[test]
    fn no_attempt_is_scheduled_past_the_maximum_age() {
        let p = policy();
        let now = Utc::now();
        let expires = now + chrono::Duration::seconds(10);
        assert_eq!(p.next_attempt(1, now, expires, 1.0), Some(now + chrono::Duration::seconds(1)));
        assert_eq!(p.next_attempt(4, now, expires, 1.0), Some(now + chrono::Duration::seconds(8)));
        assert_eq!(p.next_attempt(5, now, expires, 0.0), Some(now + chrono::Duration::seconds(8)));
        assert_eq!(p.next_attempt(5, now, expires, 1.0), None);
    }

    #[test]
    fn random_jitter_is_in_the_unit_interval() {
        for _ in 0..1000 {
            let j = random_jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}

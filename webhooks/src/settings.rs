//! How webhooks are delivered: timeouts, retries, auto-disable, concurrency, the guard.

use std::time::Duration;

use crate::backoff::RetryPolicy;

/// Delivery settings (environment: `WEBHOOKS_*`, see `docs/webhooks.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Allow targets on loopback, private and link-local addresses (development, tests).
    pub allow_private: bool,
    /// Longest one attempt may take, connect to last byte.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Disable an endpoint after this many consecutive deliveries failed for good (every
    /// retry used up) since it was created or last enabled; 0 never disables.
    pub disable_after_failures: u32,
    /// Attempts in flight at once in this process.
    pub concurrency: usize,
    /// How long the previous secret keeps signing after a rotation.
    pub secret_overlap: Duration,
    /// Longest the worker sleeps before looking for due deliveries anyway.
    pub poll_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            disable_after_failures: 5,
            concurrency: 8,
            secret_overlap: Duration::from_secs(24 * 60 * 60),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl WebhookSettings {
    /// How long a claimed delivery stays reserved for the worker that claimed it: the attempt's
    /// timeout plus a margin for bookkeeping. A worker that dies leaves its claims to others
    /// after this.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(5)
    }
}

/// Reads a duration written with a unit: `250ms`, `10s`, `5m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("expected a number with a unit (ms, s, m, h, d), got {text:?}"))?;
    let millis = match unit.trim() {
        "ms" => Some(number),
        "s" => number.checked_mul(1000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        "d" => number.checked_mul(86_400_000),
        _ => return Err(format!("expected a unit ms, s, m, h or d after the number, got {text:?}")),
    };
    millis.map(Duration::from_millis).ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration(" 10s "), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}

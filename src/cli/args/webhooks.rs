//! `reserver serve` flags and environment for webhook delivery (`WEBHOOKS_*`).

use std::time::Duration;

use clap::Args;
use reserver_webhooks::backoff::RetryPolicy;
use reserver_webhooks::settings::parse_duration;
use reserver_webhooks::WebhookSettings;

#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Allow webhook targets on loopback, private and link-local addresses (development only).
    #[arg(long, env = "WEBHOOKS_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    webhooks_allow_private: bool,
    /// Longest one delivery attempt may take (e.g. 10s, 500ms).
    #[arg(long, env = "WEBHOOKS_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    webhooks_timeout: Duration,
    /// Delay after the first failed attempt; it doubles after each further failure.
    #[arg(long, env = "WEBHOOKS_RETRY_BASE_DELAY", default_value = "5s", value_parser = parse_duration)]
    webhooks_retry_base_delay: Duration,
    /// Longest delay between two attempts.
    #[arg(long, env = "WEBHOOKS_RETRY_MAX_DELAY", default_value = "1h", value_parser = parse_duration)]
    webhooks_retry_max_delay: Duration,
    /// A delivery is retried until it is this old, then it has failed.
    #[arg(long, env = "WEBHOOKS_MAX_AGE", default_value = "24h", value_parser = parse_duration)]
    webhooks_max_age: Duration,
    /// Disable an endpoint after this many consecutive failed deliveries (0: never).
    #[arg(long, env = "WEBHOOKS_DISABLE_AFTER_FAILURES", default_value_t = 5)]
    webhooks_disable_after_failures: u32,
    /// Delivery attempts in flight at once, per process.
    #[arg(long, env = "WEBHOOKS_CONCURRENCY", default_value_t = 8)]
    webhooks_concurrency: usize,
    /// How long the previous secret keeps signing after a rotation.
    #[arg(long, env = "WEBHOOKS_SECRET_OVERLAP", default_value = "24h", value_parser = parse_duration)]
    webhooks_secret_overlap: Duration,
}

impl WebhookArgs {
    pub fn settings(&self) -> WebhookSettings {
        let defaults = WebhookSettings::default();
        WebhookSettings {
            allow_private: self.webhooks_allow_private,
            timeout: self.webhooks_timeout.max(Duration::from_millis(1)),
            retry: RetryPolicy {
                base_delay: self.webhooks_retry_base_delay,
                max_delay: self.webhooks_retry_max_delay.max(self.webhooks_retry_base_delay),
                max_age: self.webhooks_max_age,
            },
            disable_after_failures: self.webhooks_disable_after_failures,
            concurrency: self.webhooks_concurrency.clamp(1, 1024),
            secret_overlap: self.webhooks_secret_overlap,
            // Retries are due at their own times; the worker also wakes for them.
            poll_interval: defaults.poll_interval.min(self.webhooks_retry_base_delay.max(Duration::from_millis(50))),
        }
    }
}

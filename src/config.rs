//! Service settings, from flags and the environment.

use std::sync::Arc;

use reserver_app::quota_meter::DailyQuotaConfig;
use reserver_auth::RateLimitConfig;
use reserver_commands::Clock;
use reserver_store::DEFAULT_DATABASE_URL;

/// Where the HTTP server listens when neither `--bind` nor `RESERVER_BIND` says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8000";

/// Everything the service needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `sqlite://PATH` (default `./data/reserver.db`) or `postgres://…`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// `SECRET_KEY`: signs access tokens. Required (and not a known default) in production.
    pub secret_key: Option<String>,
    /// `ENVIRONMENT=production` refuses to start without a proper secret.
    pub production: bool,
    /// `CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser.
    pub cors_origins: Vec<String>,
    pub rate_limits: RateLimitConfig,
    /// `API_QUOTA_*`: daily request quotas per tier, and how often replicas share their counts.
    pub quotas: DailyQuotaConfig,
    /// Where the daily quotas' days come from: the system clock unless set (tests move it).
    pub quota_clock: Option<QuotaClock>,
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// `REFRESH_SESSION_MAX_DAYS`: a session's absolute lifetime, refreshes or not.
    pub refresh_session_max_days: i64,
    /// `SETUP_REOPEN_TOKEN`: lets `POST /setup/unlock` reopen first-admin setup.
    pub setup_reopen_token: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    pub live: reserver_api::live::LiveSettings,
    pub mail: reserver_mailer::MailSettings,
    /// Webhook delivery: timeouts, retries, auto-disable, the private-address guard.
    pub webhooks: reserver_webhooks::WebhookSettings,
    /// `API_URL`: the service's public base URL, for links handed out (calendar feeds);
    /// without it, the request's own scheme and host.
    pub public_url: Option<String>,
    /// `TRUSTED_PROXIES`: peers whose `Forwarded`/`X-Forwarded-*` headers are believed.
    pub trusted_proxies: reserver_app::client_ip::TrustedProxies,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.into(),
            bind: DEFAULT_BIND.into(),
            workers: 0,
            secret_key: None,
            production: false,
            cors_origins: Vec::new(),
            rate_limits: RateLimitConfig::default(),
            quotas: DailyQuotaConfig::default(),
            quota_clock: None,
            access_token_minutes: 15,
            refresh_token_days: 14,
            refresh_session_max_days: 30,
            setup_reopen_token: None,
            max_body_bytes: 1024 * 1024,
            live: reserver_api::live::LiveSettings::default(),
            mail: reserver_mailer::MailSettings::default(),
            webhooks: reserver_webhooks::WebhookSettings::default(),
            public_url: None,
            trusted_proxies: Default::default(),
        }
    }
}

/// A clock for the daily quotas other than the system's (tests set a `ManualClock`).
#[derive(Clone)]
pub struct QuotaClock(pub Arc<dyn Clock>);

impl std::fmt::Debug for QuotaClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QuotaClock({})", self.0.now())
    }
}

impl Settings {
    /// Settings for a server on a random local port over the given database (tests).
    pub fn for_tests(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind: "127.0.0.1:0".into(),
            workers: 2,
            secret_key: Some("test-secret-key-that-is-long-enough-0123456789".into()),
            rate_limits: RateLimitConfig { enabled: false, ..RateLimitConfig::default() },
            ..Self::default()
        }
    }
}

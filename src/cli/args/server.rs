//! Flags of the server commands: `serve`, `migrate`, `events verify`, `projections`, `bench`.

use clap::{Args, Subcommand};
use reserver_loadgen::append::AppendBenchArgs;
use reserver_store::DEFAULT_DATABASE_URL;

use crate::config::{Settings, DEFAULT_BIND};

/// The database of a server command.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Database: sqlite://PATH (embedded, created on first run) or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "RESERVER_BIND", default_value = DEFAULT_BIND)]
    bind: String,
    /// HTTP worker threads (0: one per core).
    #[arg(long, env = "RESERVER_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Secret that signs access tokens (required in production; at least 32 bytes).
    #[arg(long, env = "SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// `production` refuses to start without a proper SECRET_KEY.
    #[arg(long, env = "ENVIRONMENT", default_value = "development")]
    environment: String,
    /// Browser origins allowed to call the API (comma-separated).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Lets POST /api/v1/setup/unlock reopen first-admin setup.
    #[arg(long, env = "SETUP_REOPEN_TOKEN", hide_env_values = true)]
    setup_reopen_token: Option<String>,
    #[arg(long, env = "ACCESS_TOKEN_EXPIRE_MINUTES", default_value_t = 15)]
    access_token_minutes: i64,
    #[arg(long, env = "REFRESH_TOKEN_EXPIRE_DAYS", default_value_t = 14)]
    refresh_token_days: i64,
    /// A login session ends this many days after login however often it is refreshed.
    #[arg(long, env = "REFRESH_SESSION_MAX_DAYS", default_value_t = 30)]
    refresh_session_max_days: i64,
    /// Rate limits on or off.
    #[arg(long, env = "RATE_LIMIT_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    rate_limit_enabled: bool,
    /// Requests per minute for anonymous callers (by address).
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS", default_value = "60/minute", value_parser = per_minute)]
    rate_limit_anonymous: u32,
    /// Requests per minute for authenticated users.
    #[arg(long, env = "RATE_LIMIT_AUTHENTICATED", default_value = "600/minute", value_parser = per_minute)]
    rate_limit_authenticated: u32,
    /// Requests per minute for admins.
    #[arg(long, env = "RATE_LIMIT_ADMIN", default_value = "1200/minute", value_parser = per_minute)]
    rate_limit_admin: u32,
    /// Requests per minute to login, registration, refresh and setup (by address).
    #[arg(long, env = "RATE_LIMIT_AUTH", default_value = "10/minute", value_parser = per_minute)]
    rate_limit_auth: u32,
    /// Daily request quotas of signed-in callers and OAuth2 clients on or off.
    #[arg(long, env = "API_QUOTA_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    api_quota_enabled: bool,
    /// Requests per UTC day for guests (0: unlimited).
    #[arg(long, env = "API_QUOTA_GUEST", default_value = "1000/day", value_parser = per_day)]
    api_quota_guest: u64,
    /// Requests per UTC day for users (0: unlimited).
    #[arg(long, env = "API_QUOTA_USER", default_value = "10000/day", value_parser = per_day)]
    api_quota_user: u64,
    /// Requests per UTC day for approvers (0: unlimited).
    #[arg(long, env = "API_QUOTA_APPROVER", default_value = "20000/day", value_parser = per_day)]
    api_quota_approver: u64,
    /// Requests per UTC day for auditors (0: unlimited).
    #[arg(long, env = "API_QUOTA_AUDITOR", default_value = "20000/day", value_parser = per_day)]
    api_quota_auditor: u64,
    /// Requests per UTC day for admins (0: unlimited).
    #[arg(long, env = "API_QUOTA_ADMIN", default_value = "0", value_parser = per_day)]
    api_quota_admin: u64,
    /// Requests per UTC day for each OAuth2 client (0: unlimited).
    #[arg(long, env = "API_QUOTA_CLIENT", default_value = "50000/day", value_parser = per_day)]
    api_quota_client: u64,
    /// Milliseconds between a replica's additions to the shared daily counts; a replica may
    /// admit up to one interval's requests of a caller past its quota.
    #[arg(long, env = "API_QUOTA_FLUSH_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    api_quota_flush_ms: u64,
    #[command(flatten)]
    live: super::outward::LiveArgs,
    #[command(flatten)]
    mail: super::outward::MailArgs,
    #[command(flatten)]
    webhooks: super::webhooks::WebhookArgs,
    /// Public base URL of the service (e.g. https://reserver.example.com), used in calendar
    /// feed links; by default the scheme and host of each request.
    #[arg(long, env = "API_URL")]
    public_url: Option<String>,
    /// Proxies whose Forwarded / X-Forwarded-For headers are believed (comma-separated IPs or
    /// CIDR blocks, e.g. 10.0.0.0/8); from anyone else those headers are ignored.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", value_parser = trusted_proxies)]
    trusted_proxies: reserver_app::client_ip::TrustedProxies,
}

fn trusted_proxies(text: &str) -> Result<reserver_app::client_ip::TrustedProxies, String> {
    reserver_app::client_ip::TrustedProxies::parse(text)
}

/// `N` or `N/day`.
fn per_day(text: &str) -> Result<u64, String> {
    text.trim().trim_end_matches("/day").trim().parse().map_err(|_| format!("expected N or N/day, got {text:?}"))
}

/// `N` or `N/minute` (the seed's notation).
fn per_minute(text: &str) -> Result<u32, String> {
    text.trim().trim_end_matches("/minute").trim().parse().map_err(|_| format!("expected N or N/minute, got {text:?}"))
}

impl ServeArgs {
    pub fn settings(self) -> Settings {
        Settings {
            database_url: self.db.database_url,
            bind: self.bind,
            workers: self.workers,
            secret_key: self.secret_key.filter(|s| !s.is_empty()),
            production: self.environment.eq_ignore_ascii_case("production"),
            cors_origins: self.cors_origins.into_iter().filter(|o| !o.is_empty()).collect(),
            rate_limits: reserver_auth::RateLimitConfig {
                anonymous_per_minute: self.rate_limit_anonymous,
                authenticated_per_minute: self.rate_limit_authenticated,
                admin_per_minute: self.rate_limit_admin,
                auth_endpoints_per_minute: self.rate_limit_auth,
                enabled: self.rate_limit_enabled,
            },
            quotas: reserver_app::quota_meter::DailyQuotaConfig {
                enabled: self.api_quota_enabled,
                guest: self.api_quota_guest,
                user: self.api_quota_user,
                approver: self.api_quota_approver,
                auditor: self.api_quota_auditor,
                admin: self.api_quota_admin,
                client: self.api_quota_client,
                flush_interval: std::time::Duration::from_millis(self.api_quota_flush_ms),
            },
            access_token_minutes: self.access_token_minutes.clamp(1, 24 * 60),
            refresh_token_days: self.refresh_token_days.clamp(1, 365),
            refresh_session_max_days: self.refresh_session_max_days.clamp(1, 365),
            setup_reopen_token: self.setup_reopen_token.filter(|s| !s.is_empty()),
            live: self.live.settings(),
            mail: self.mail.settings(),
            webhooks: self.webhooks.settings(),
            public_url: self.public_url.filter(|u| !u.trim().is_empty()),
            trusted_proxies: self.trusted_proxies,
            ..Settings::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Position and lag of each read model.
    Status(DbArgs),
    /// Drop a read model and rebuild it from the log (stop the service first, or let a replica
    /// hold the projector and rebuild there).
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
        /// The projector to rebuild.
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Rebuild every read model.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Append throughput and latency, with and without group commit, beside the one-fsync ceiling.
    Append(AppendBenchArgs),
    /// HTTP load: bookings under contention, overlap check, list and availability reads.
    Http(reserver_loadgen::http::HttpBenchArgs),
    /// Uncached availability: free slots, next free, search and summaries on fully booked resources.
    Availability(reserver_loadgen::availability::AvailabilityBenchArgs),
    /// Web pages: server time of each page, signed in, schedule of a resource with 1,000 bookings.
    Pages(reserver_loadgen::pages::PagesBenchArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_the_seed_notation() {
        assert_eq!(per_minute("60/minute"), Ok(60));
        assert_eq!(per_minute(" 7 "), Ok(7));
        assert!(per_minute("fast").is_err());
        assert_eq!(per_day("10000/day"), Ok(10_000));
        assert_eq!(per_day("0"), Ok(0));
        assert!(per_day("-1").is_err());
    }
}

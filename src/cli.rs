//! The `reserver` command line.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use reserver_store::{verify_chain, StoreConfig, DEFAULT_DATABASE_URL};

use crate::config::{Settings, DEFAULT_BIND};
use crate::{telemetry, Application};
use reserver_loadgen::append::{self as bench, AppendBenchArgs};

#[derive(Debug, Parser)]
#[command(
    name = "reserver",
    version,
    about = "Resource Reserver: share rooms, desks, equipment and labs without double-booking"
)]
pub struct Cli {
    /// Database: sqlite://PATH (embedded, created on first run) or postgres://USER@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect the event log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Inspect or rebuild the read models.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// Measure performance on scratch databases (never touches DATABASE_URL's data).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
struct ServeArgs {
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
    /// Milliseconds list and availability answers may be served from cache (0: off).
    #[arg(long, env = "READ_CACHE_MS", default_value_t = 1000)]
    read_cache_ms: u64,
    #[command(flatten)]
    live: crate::outward_args::LiveArgs,
    #[command(flatten)]
    mail: crate::outward_args::MailArgs,
    #[command(flatten)]
    webhooks: crate::webhook_args::WebhookArgs,
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

/// `N` or `N/minute` (the seed's notation).
fn per_minute(text: &str) -> Result<u32, String> {
    text.trim().trim_end_matches("/minute").trim().parse().map_err(|_| format!("expected N or N/minute, got {text:?}"))
}

impl ServeArgs {
    fn settings(self, database_url: String) -> Settings {
        Settings {
            database_url,
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
            access_token_minutes: self.access_token_minutes.clamp(1, 24 * 60),
            refresh_token_days: self.refresh_token_days.clamp(1, 365),
            setup_reopen_token: self.setup_reopen_token.filter(|s| !s.is_empty()),
            read_cache_ttl: std::time::Duration::from_millis(self.read_cache_ms),
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
enum EventsCommand {
    /// Walk the hash chain: exit 0 with the event count when intact, 1 with the first bad
    /// position when not.
    Verify,
}

#[derive(Debug, Subcommand)]
enum ProjectionsCommand {
    /// Position and lag of each read model.
    Status,
    /// Drop a read model and rebuild it from the log (stop the service first, or let a replica
    /// hold the projector and rebuild there).
    Rebuild {
        /// The projector to rebuild.
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Rebuild every read model.
        #[arg(long, conflicts_with = "name")]
        all: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Append throughput and latency, with and without group commit, beside the one-fsync ceiling.
    Append(AppendBenchArgs),
    /// HTTP load: bookings under contention, overlap check, list and availability reads.
    Http(reserver_loadgen::http::HttpBenchArgs),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before any HTTP client (webhooks, `bench http`) is built.
    reserver_webhooks::sender::install_crypto_provider();
    telemetry::init(if matches!(cli.command, Command::Serve(_)) { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let settings = args.settings(cli.database_url);
            let app = Application::build(settings.clone()).await?;
            tracing::info!(bind = %settings.bind, port = app.port(), "serving");
            app.run_until_stopped().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            reserver_store::migrate(&cli.database_url).await?;
            println!("migrations applied to {}", redact(&cli.database_url));
            Ok(ExitCode::SUCCESS)
        }
        Command::Events(EventsCommand::Verify) => {
            let store = reserver_store::open(&StoreConfig::new(&cli.database_url)).await?;
            match verify_chain(store.as_ref()).await? {
                Ok(report) => {
                    println!("chain intact: {} events, head hash {}", report.events, report.head_hash);
                    Ok(ExitCode::SUCCESS)
                }
                Err(broken) => {
                    eprintln!("chain broken at position {}: {}", broken.position, broken.reason);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Projections(command) => {
            let store = reserver_store::open(&StoreConfig::new(&cli.database_url)).await?;
            let statuses = match command {
                ProjectionsCommand::Status => reserver_projections::status(store.as_ref()).await?,
                ProjectionsCommand::Rebuild { name, .. } => {
                    let started = std::time::Instant::now();
                    let statuses = reserver_projections::rebuild(store.clone(), name.as_deref()).await?;
                    println!("rebuilt in {:.2} s", started.elapsed().as_secs_f64());
                    statuses
                }
            };
            println!("{:<16} {:>12} {:>12} {:>8}  state", "projector", "position", "head", "lag");
            let mut stuck_any = false;
            for s in statuses {
                let state = match &s.stuck {
                    Some(stuck) => {
                        stuck_any = true;
                        format!(
                            "STUCK at position {} ({}) since {}: {}",
                            stuck.position,
                            stuck.event_type,
                            stuck.since.to_rfc3339(),
                            stuck.error
                        )
                    }
                    None => "ok".into(),
                };
                println!("{:<16} {:>12} {:>12} {:>8}  {state}", s.name, s.position, s.head, s.lag);
            }
            // Scripts and monitors can act on a stuck read model by the exit code alone.
            Ok(if stuck_any { ExitCode::from(3) } else { ExitCode::SUCCESS })
        }
        Command::Bench(BenchCommand::Append(args)) => {
            bench::run_append(args).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Http(args)) => {
            reserver_loadgen::http::run(args).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A database URL fit for logs: the password, if any, replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./data/reserver.db"), "sqlite://./data/reserver.db");
    }

    #[test]
    fn every_command_has_help() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

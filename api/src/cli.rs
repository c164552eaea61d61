//! The `reserver` command line.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use reserver_store::{verify_chain, StoreConfig, DEFAULT_DATABASE_URL};

use crate::bench::{self, AppendBenchArgs};
use crate::config::{Settings, DEFAULT_BIND};
use crate::{telemetry, Application};

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
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect the event log.
    #[command(subcommand)]
    Events(EventsCommand),
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
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Walk the hash chain: exit 0 with the event count when intact, 1 with the first bad
    /// position when not.
    Verify,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Append throughput and latency, with and without group commit, beside the one-fsync ceiling.
    Append(AppendBenchArgs),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
            let settings = Settings { database_url: cli.database_url, bind: args.bind, workers: args.workers };
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
        Command::Bench(BenchCommand::Append(args)) => {
            bench::run_append(args).await?;
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

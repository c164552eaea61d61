//! The `reserver` command line: server commands that open the database ([`server`]) and
//! client commands that call only the public REST API ([`client`]), one clap tree
//! ([`args`]), one way to print ([`output`]), one exit status per kind of outcome ([`exit`]).

use std::process::ExitCode;

use clap::Parser;

pub mod args;
mod client;
pub mod exit;
pub mod output;
mod profile;
mod server;
mod terminal;
mod when;

use args::{Cli, Command, EventsCommand};
use exit::{Exit, Failure};

/// Parses the command line, runs it, and maps its outcome to the process's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let exit = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            return ExitCode::from(code(exit));
        }
    };
    // Before any HTTP client (the API client, webhooks, `bench http`) is built.
    crate::install_crypto_provider();
    let serving = matches!(cli.command, Command::Serve(_));
    crate::telemetry::init(if serving { "info" } else { "warn" });
    let color = !cli.global.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let outcome = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => Err(Failure::Other(format!("cannot start the async runtime: {e}"))),
    };
    let exit = match outcome {
        Ok(()) => Exit::Ok,
        Err(failure) => {
            failure.report(color);
            failure.exit()
        }
    };
    ExitCode::from(code(exit))
}

/// The process exit code of each outcome (documented in `reserver --help` and docs/cli.md).
fn code(exit: Exit) -> u8 {
    match exit {
        Exit::Ok => 0,
        Exit::Error => 1,
        Exit::Usage => 2,
        Exit::NotFound | Exit::Stuck => 3,
        Exit::Refused => 4,
        Exit::Auth => 5,
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => server::serve(*args).await,
        Command::Migrate(db) => server::migrate(db).await,
        Command::Events(EventsCommand::Verify(db)) => server::verify(db).await,
        Command::Projections(command) => server::projections(command).await,
        Command::Bench(command) => server::bench(command).await,
        Command::Completions(args) => client::meta::completions(args),
        Command::Man(args) => client::meta::man(args),
        command => client::run(&cli.global, command).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_help() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let codes: Vec<u8> =
            [Exit::Ok, Exit::Error, Exit::Usage, Exit::NotFound, Exit::Refused, Exit::Auth].map(code).to_vec();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5]);
    }
}

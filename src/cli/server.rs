//! The server commands: they open the database directly (`serve`, `migrate`,
//! `events verify`, `projections`) or run benchmarks on scratch databases (`bench`).

use reserver_store::{verify_chain, StoreConfig};

use super::args::{BenchCommand, DbArgs, ProjectionsCommand, ServeArgs};
use super::exit::{Exit, Failure};
use crate::Application;
use reserver_loadgen::append as bench;

/// `reserver serve`.
pub async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let settings = args.settings();
    let app = Application::build(settings.clone()).await?;
    tracing::info!(bind = %settings.bind, port = app.port(), "serving");
    // One line on stdout with the address actually bound (`--bind 127.0.0.1:0` picks a free
    // port): what a person opens, and how a supervisor or test learns the port without racing
    // another process for it.
    println!("{}", listening_line(&settings.bind, app.port()));
    app.run_until_stopped().await?;
    Ok(())
}

/// `listening on http://HOST:PORT` for `bind` (`HOST:PORT`, `[v6]:PORT`) and the bound port.
pub fn listening_line(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map_or(bind, |(host, _)| host);
    format!("listening on http://{host}:{port}")
}

/// `reserver migrate`.
pub async fn migrate(db: DbArgs) -> Result<(), Failure> {
    reserver_store::migrate(&db.database_url).await.map_err(other)?;
    println!("migrations applied to {}", redact(&db.database_url));
    Ok(())
}

/// `reserver events verify`: exit 0 with the count when the chain is intact, 1 when not.
pub async fn verify(db: DbArgs) -> Result<(), Failure> {
    let store = reserver_store::open(&StoreConfig::new(&db.database_url)).await.map_err(other)?;
    match verify_chain(store.as_ref()).await.map_err(other)? {
        Ok(report) => {
            println!("chain intact: {} events, head hash {}", report.events, report.head_hash);
            Ok(())
        }
        Err(broken) => {
            eprintln!("chain broken at position {}: {}", broken.position, broken.reason);
            Err(Failure::Reported(Exit::Error))
        }
    }
}

/// `reserver projections status|rebuild`.
pub async fn projections(command: ProjectionsCommand) -> Result<(), Failure> {
    let statuses = match command {
        ProjectionsCommand::Status(db) => {
            let store = reserver_store::open(&StoreConfig::new(&db.database_url)).await.map_err(other)?;
            reserver_projections::status(store.as_ref()).await.map_err(other)?
        }
        ProjectionsCommand::Rebuild { db, name, .. } => {
            let store = reserver_store::open(&StoreConfig::new(&db.database_url)).await.map_err(other)?;
            let started = std::time::Instant::now();
            let statuses = reserver_projections::rebuild(store.clone(), name.as_deref()).await.map_err(other)?;
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
    if stuck_any {
        Err(Failure::Reported(Exit::Stuck))
    } else {
        Ok(())
    }
}

/// `reserver bench append|http`.
pub async fn bench(command: BenchCommand) -> Result<(), Failure> {
    match command {
        BenchCommand::Append(args) => bench::run_append(args).await?,
        BenchCommand::Http(args) => reserver_loadgen::http::run(args).await?,
        BenchCommand::Pages(args) => reserver_loadgen::pages::run(args).await?,
        BenchCommand::Availability(args) => reserver_loadgen::availability::run(args).await?,
    }
    Ok(())
}

fn other(e: impl std::fmt::Display) -> Failure {
    Failure::Other(e.to_string())
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
    fn the_listening_line_names_the_bound_port() {
        assert_eq!(listening_line("127.0.0.1:0", 43123), "listening on http://127.0.0.1:43123");
        assert_eq!(listening_line("0.0.0.0:8000", 8000), "listening on http://0.0.0.0:8000");
        assert_eq!(listening_line("[::1]:0", 9000), "listening on http://[::1]:9000");
        // The load generator and the tests find the port by this prefix.
        assert!(listening_line("127.0.0.1:0", 1).starts_with(reserver_loadgen::server::LISTENING_PREFIX));
    }
}

//! `reserver bench append`: append throughput and latency for concurrent single-event
//! appenders, with and without group commit, on scratch databases of each backend, beside the
//! machine's one-fsync ceiling (a loop of single-row commits on one connection).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use futures::future::join_all;
use reserver_store::scratch::{ScratchDatabase, DEFAULT_TEST_DATABASE_URL};
use reserver_store::{AppendRequest, Backend, Database, EventStore, ExpectedVersion, GroupCommitConfig, NewEvent};
use uuid::Uuid;

#[derive(Debug, Args)]
pub struct AppendBenchArgs {
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// PostgreSQL server on which scratch databases are created (and dropped).
    #[arg(long, env = "BENCH_POSTGRES_URL", default_value = DEFAULT_TEST_DATABASE_URL)]
    postgres_url: String,
    /// Folder for scratch SQLite files (put it on the disk you want measured).
    #[arg(long, default_value = "./data/bench")]
    sqlite_dir: PathBuf,
    /// Numbers of concurrent appenders.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
}

struct Measurement {
    ops: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Measurement {
    fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

pub async fn run_append(args: AppendBenchArgs) -> anyhow::Result<()> {
    let duration = Duration::from_secs_f64(args.seconds.max(0.1));
    println!("| backend | group commit | appenders | appends/s | p50 ms | p99 ms | × one-fsync ceiling |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for name in &args.backends {
        let backend = match name.as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" => Backend::Postgres,
            other => anyhow::bail!("unknown backend {other:?}: use sqlite or postgres"),
        };
        let label = name.as_str();
        let ceiling = {
            let db = scratch(backend, &args).await?;
            let store = db.open().await;
            commit_loop(store.database(), duration).await?
        };
        println!(
            "| {label} | one-fsync ceiling (single-row commits) | 1 | {:.0} | {:.2} | {:.2} | 1.0 |",
            ceiling.per_second(),
            ceiling.percentile_ms(0.5),
            ceiling.percentile_ms(0.99)
        );
        for group_commit in [false, true] {
            for &appenders in &args.concurrency {
                let db = scratch(backend, &args).await?;
                let max_batch = if group_commit { GroupCommitConfig::default().max_batch } else { 1 };
                let store = db.open_with(GroupCommitConfig { max_batch, slow_commit: None }).await;
                let m = append_load(store, appenders.max(1), duration).await?;
                println!(
                    "| {label} | {} | {appenders} | {:.0} | {:.2} | {:.2} | {:.1} |",
                    if group_commit { "on" } else { "off" },
                    m.per_second(),
                    m.percentile_ms(0.5),
                    m.percentile_ms(0.99),
                    m.per_second() / ceiling.per_second()
                );
            }
        }
    }
    Ok(())
}

async fn scratch(backend: Backend, args: &AppendBenchArgs) -> anyhow::Result<ScratchDatabase> {
    Ok(match backend {
        Backend::Sqlite => ScratchDatabase::sqlite_in(&args.sqlite_dir)?,
        Backend::Postgres => ScratchDatabase::postgres_beside(&args.postgres_url).await?,
    })
}

/// Single-row commits in a loop on one connection: what one fsync per write allows.
async fn commit_loop(database: Database, duration: Duration) -> anyhow::Result<Measurement> {
    let body = "x".repeat(200);
    let mut latencies = Vec::new();
    let start = Instant::now();
    match database {
        Database::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("CREATE TABLE bench_commits (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
                .execute(&mut *conn)
                .await?;
            while start.elapsed() < duration {
                let t = Instant::now();
                sqlx::query("INSERT INTO bench_commits (body) VALUES (?)").bind(&body).execute(&mut *conn).await?;
                latencies.push(t.elapsed());
            }
        }
        Database::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("CREATE TABLE bench_commits (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)")
                .execute(&mut *conn)
                .await?;
            while start.elapsed() < duration {
                let t = Instant::now();
                sqlx::query("INSERT INTO bench_commits (body) VALUES ($1)").bind(&body).execute(&mut *conn).await?;
                latencies.push(t.elapsed());
            }
        }
    }
    latencies.sort();
    Ok(Measurement { ops: latencies.len() as u64, elapsed: start.elapsed(), latencies })
}

/// `appenders` tasks, each appending one event at a time to its own stream with an exact
/// expected version, for `duration`.
async fn append_load(
    store: std::sync::Arc<dyn EventStore>,
    appenders: usize,
    duration: Duration,
) -> anyhow::Result<Measurement> {
    let start = Instant::now();
    let tasks = (0..appenders).map(|a| {
        let store = store.clone();
        tokio::spawn(async move {
            let stream = format!("bench-{a}");
            let mut version = 0u64;
            let mut latencies = Vec::new();
            while start.elapsed() < duration {
                let event =
                    NewEvent::new(Uuid::new_v4(), "bench_appended", format!(r#"{{"appender":{a},"n":{version}}}"#));
                let t = Instant::now();
                let outcome =
                    store.append(AppendRequest::single(&stream, ExpectedVersion::Exact(version), vec![event])).await?;
                latencies.push(t.elapsed());
                version = outcome.stream_versions.first().map_or(version + 1, |(_, v)| *v);
            }
            anyhow::Ok(latencies)
        })
    });
    let mut latencies = Vec::new();
    for task in join_all(tasks).await {
        latencies.extend(task??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Measurement { ops: latencies.len() as u64, elapsed, latencies })
}

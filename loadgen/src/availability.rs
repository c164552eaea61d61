//! `reserver bench availability`: uncached availability questions against a real
//! `reserver serve` child process on a scratch database, every resource holding `--bookings`
//! reservations. Each request asks something new — a random resource, a random day, a random
//! slot length — so no answer cache could help; the service answers from its in-memory
//! availability index. With `--wrk-script`, the same questions are also asked by `wrk` (a load
//! generator nobody here wrote), so the figures can be reproduced independently.

use std::time::Instant;

use chrono::{DurationRound, Utc};
use clap::Args;
use futures::future::join_all;
use reserver_store::scratch::{ScratchDatabase, DEFAULT_TEST_DATABASE_URL};
use reserver_store::Backend;
use serde_json::{json, Value};

use crate::common::{admin_token, get_load, percentile, run_wrk, PathFn};
use crate::server::ServerProcess;

#[derive(Debug, Args)]
pub struct AvailabilityBenchArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "postgres")]
    backend: String,
    #[arg(long, env = "BENCH_POSTGRES_URL", default_value = DEFAULT_TEST_DATABASE_URL)]
    postgres_url: String,
    #[arg(long, default_value = "./data/bench")]
    sqlite_dir: std::path::PathBuf,
    /// Resources, each holding `--bookings` reservations.
    #[arg(long, default_value_t = 10)]
    resources: usize,
    /// Reservations per resource: one hour every 90 minutes from tomorrow on.
    #[arg(long, default_value_t = 1000)]
    bookings: usize,
    /// Clients asking at once.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// Clients asking at once in the search phase (default: `--concurrency`). A search visits
    /// every resource, so its latency under N concurrent searches on two cores is N times its
    /// cost: ask fewer at once to see a search's own time.
    #[arg(long)]
    search_concurrency: Option<usize>,
    /// Run only the phases whose path contains one of these (comma-separated: `available-slots`,
    /// `next-available`, `search`, `availability?`); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// HTTP workers of the server under test.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Also run `wrk` with this Lua script (e.g. loadgen/wrk/slots.lua) against the seeded
    /// service: `wrk -t2 -c<concurrency> -d<seconds>s --latency -s SCRIPT URL -- TOKEN IDS DAYS`.
    #[arg(long)]
    wrk_script: Option<std::path::PathBuf>,
    /// The `reserver` binary to start (default: this one).
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
}

/// Slot lengths asked for, in minutes.
const DURATIONS: [u64; 6] = [15, 30, 45, 60, 90, 120];

pub async fn run(args: AvailabilityBenchArgs) -> anyhow::Result<()> {
    let db = match args.backend.as_str() {
        "sqlite" => ScratchDatabase::sqlite_in(&args.sqlite_dir)?,
        "postgres" => ScratchDatabase::postgres_beside(&args.postgres_url).await?,
        other => anyhow::bail!("unknown backend {other:?}"),
    };
    let server = ServerProcess::start(args.server_bin.clone(), db.url(), args.workers, &[]).await?;
    let outcome = measure(&server.base_url, &args, db.backend()).await;
    server.stop();
    outcome
}

async fn measure(base: &str, args: &AvailabilityBenchArgs, backend: Backend) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let seeding = Instant::now();
    let (token, resources, days) = seed(&client, base, args).await?;
    println!(
        "backend {} · {} resources × {} bookings (seeded in {:.1} s) · concurrency {} · {:.0} s per phase · {} server workers",
        if backend == Backend::Postgres { "postgres" } else { "sqlite" },
        args.resources,
        args.bookings,
        seeding.elapsed().as_secs_f64(),
        args.concurrency,
        args.seconds,
        args.workers
    );
    println!(
        "| question (each one random: resource, day, slot length) | requests/s | p50 ms | p95 ms | p99 ms | notes |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    let day0 = Utc::now().duration_trunc(chrono::Duration::days(1)).unwrap_or_else(|_| Utc::now());
    let ids = resources.clone();
    let slots: PathFn = std::sync::Arc::new(move |rng| {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let date = (day0 + chrono::Duration::days(1 + rng.below(days) as i64)).date_naive();
        let minutes = DURATIONS[rng.below(DURATIONS.len() as u64) as usize];
        format!("/api/v1/resources/{id}/available-slots?date={date}&duration_minutes={minutes}")
    });
    let ids = resources.clone();
    let next: PathFn = std::sync::Arc::new(move |rng| {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let start = day0 + chrono::Duration::minutes(60 * 24 + rng.below(days * 24 * 60) as i64);
        let minutes = DURATIONS[rng.below(DURATIONS.len() as u64) as usize];
        format!(
            "/api/v1/resources/{id}/next-available?start={}&duration_minutes={minutes}",
            start.format("%Y-%m-%dT%H:%M:%SZ")
        )
    });
    let search: PathFn = std::sync::Arc::new(move |rng| {
        let start = day0 + chrono::Duration::days(1 + rng.below(days) as i64);
        let end = start + chrono::Duration::days(1);
        let minutes = DURATIONS[rng.below(DURATIONS.len() as u64) as usize];
        format!(
            "/api/v1/availability/search?start={}&end={}&duration_minutes={minutes}&tags=bench&limit=100",
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            end.format("%Y-%m-%dT%H:%M:%SZ")
        )
    });
    let ids = resources.clone();
    let summary: PathFn = std::sync::Arc::new(move |rng| {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        let minutes = DURATIONS[rng.below(DURATIONS.len() as u64) as usize];
        format!("/api/v1/resources/{id}/availability?days_ahead=30&duration_minutes={minutes}")
    });
    let phases: Vec<(&str, String, PathFn)> = vec![
        ("GET /resources/{id}/available-slots?date=…", "one local day".into(), slots),
        ("GET /resources/{id}/next-available?start=…", "first free slot from a random instant".into(), next),
        (
            "GET /availability/search (one-day window)",
            format!("across all {} resources, first 5 slots each", args.resources),
            search,
        ),
        ("GET /resources/{id}/availability?days_ahead=30", "30 per-day summaries".into(), summary),
    ];
    for (label, note, path) in phases {
        if !args.only.is_empty() && !args.only.iter().any(|o| label.contains(o.as_str())) {
            continue;
        }
        let concurrency = match label.contains("search") {
            true => args.search_concurrency.unwrap_or(args.concurrency),
            false => args.concurrency,
        };
        let note = format!("{note}; {concurrency} clients");
        let (count, mut lat, errors) = get_load(&client, base, &token, path, concurrency, args.seconds).await;
        lat.sort();
        println!(
            "| {label} | {:.0} | {:.2} | {:.2} | {:.2} | {note}; non-200: {errors} |",
            count as f64 / args.seconds,
            percentile(&lat, 0.5),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99)
        );
    }
    if let Some(script) = &args.wrk_script {
        let (ids, days) = (resources.join(","), days.to_string());
        run_wrk(script, base, args.concurrency, args.seconds, &[&token, &ids, &days])?;
    }
    Ok(())
}

/// Creates the resources and books them full (as the admin): returns the admin's token, the
/// resource ids and the number of days the bookings span.
async fn seed(
    client: &reqwest::Client,
    base: &str,
    args: &AvailabilityBenchArgs,
) -> anyhow::Result<(String, Vec<String>, u64)> {
    let token = admin_token(client, base).await?;
    let mut resources = Vec::new();
    for i in 0..args.resources {
        let r: Value = client
            .post(format!("{base}/api/v1/resources"))
            .bearer_auth(&token)
            .json(&json!({ "name": format!("Room {i:03}"), "tags": ["bench"], "capacity": 1 }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        resources.push(r["id"].as_str().unwrap_or_default().to_string());
    }
    let day1 =
        Utc::now().duration_trunc(chrono::Duration::days(1)).unwrap_or_else(|_| Utc::now()) + chrono::Duration::days(1);
    // One task per resource, booking it in order: one hour every 90 minutes.
    let bookings = args.bookings;
    let tasks = resources.iter().map(|id| {
        let (client, base, token, id) = (client.clone(), base.to_string(), token.clone(), id.clone());
        tokio::spawn(async move {
            for k in 0..bookings {
                let start = day1 + chrono::Duration::minutes(90 * k as i64);
                client
                    .post(format!("{base}/api/v1/reservations"))
                    .bearer_auth(&token)
                    .json(&json!({
                        "resource_id": id,
                        "start_time": start.to_rfc3339(),
                        "end_time": (start + chrono::Duration::hours(1)).to_rfc3339(),
                    }))
                    .send()
                    .await?
                    .error_for_status()?;
            }
            anyhow::Ok(())
        })
    });
    for result in join_all(tasks).await {
        result??;
    }
    let days = (bookings as u64 * 90).div_ceil(24 * 60).max(1);
    Ok((token, resources, days))
}

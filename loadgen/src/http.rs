//! `reserver bench http`: an HTTP load generator against the real service, started as a child
//! process (`reserver serve`, the same binary by default) on a scratch database. Books with N users on M resources at concurrency C — a mix of
//! random slots and groups of mutually overlapping requests in flight together — then checks the
//! reservations read model for overlaps, and measures the two hottest reads. With `--wrk-script
//! loadgen/wrk/book.lua`, `wrk` (a load generator nobody here wrote) books the same mix too, and
//! the read model is checked again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DurationRound, Utc};
use clap::Args;
use futures::future::join_all;
use reserver_store::scratch::{ScratchDatabase, DEFAULT_TEST_DATABASE_URL};
use reserver_store::Backend;
use serde_json::{json, Value};

use crate::common::{admin_token, get_load, percentile, run_wrk, token, PathFn, Rng, PASSWORD};
use crate::server::ServerProcess;

#[derive(Debug, Args)]
pub struct HttpBenchArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "postgres")]
    backend: String,
    #[arg(long, env = "BENCH_POSTGRES_URL", default_value = DEFAULT_TEST_DATABASE_URL)]
    postgres_url: String,
    #[arg(long, default_value = "./data/bench")]
    sqlite_dir: std::path::PathBuf,
    #[arg(long, default_value_t = 10)]
    users: usize,
    #[arg(long, default_value_t = 50)]
    resources: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of booking load, and of each read benchmark.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Share of requests aimed at a few contended slots (the rest are random).
    #[arg(long, default_value_t = 0.2)]
    contended_share: f64,
    /// HTTP workers of the server under test.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// The `reserver` binary to start (default: this one).
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
    /// After the booking phase, book again with `wrk` and this Lua script (e.g.
    /// loadgen/wrk/book.lua) with as many users and resources again, fresh ones, then check those
    /// resources for overlaps too: `wrk -t2 -c<concurrency> -d<seconds>s --latency -s SCRIPT URL --
    /// TOKENS IDS DAY0 CONTENDED`.
    #[arg(long)]
    wrk_script: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    created: u64,
    conflicts: u64,
    other: u64,
    max_position: u64,
}

pub async fn run(args: HttpBenchArgs) -> anyhow::Result<()> {
    let db = match args.backend.as_str() {
        "sqlite" => ScratchDatabase::sqlite_in(&args.sqlite_dir)?,
        "postgres" => ScratchDatabase::postgres_beside(&args.postgres_url).await?,
        other => anyhow::bail!("unknown backend {other:?}"),
    };
    let server = ServerProcess::start(args.server_bin.clone(), db.url(), args.workers, &[]).await?;
    let outcome = measure(&server.base_url, &args, db.backend()).await;
    // Stop the service (and its log followers) before the scratch database is dropped.
    server.stop();
    outcome
}

async fn measure(base: &str, args: &HttpBenchArgs, backend: Backend) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let (admin, mut users, mut resources) = seed(&client, base, args).await?;
    // The wrk phase has its own users and resources, so that both start from empty calendars.
    let wrk_resources = resources.split_off(args.resources.min(resources.len()));
    let wrk_users = users.split_off(args.users.min(users.len()));
    println!(
        "backend {} · {} users · {} resources · concurrency {} · {:.0} s per phase",
        if backend == Backend::Postgres { "postgres" } else { "sqlite" },
        args.users,
        args.resources,
        args.concurrency,
        args.seconds,
    );

    let day0 =
        Utc::now().duration_trunc(chrono::Duration::days(1)).unwrap_or_else(|_| Utc::now()) + chrono::Duration::days(1);
    let tally = book_load(&client, base, &users, &resources, day0, args).await;
    let mut overlaps = check_overlaps(&client, base, &admin, &resources, tally.max_position).await?;
    let mut lat = tally.latencies.clone();
    lat.sort();
    let secs = args.seconds;
    println!("| phase | requests/s | p50 ms | p95 ms | p99 ms | notes |");
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| POST /reservations | {:.0} | {:.2} | {:.2} | {:.2} | 201: {}, 409: {}, other: {}, overlaps in read model: {} |",
        (tally.created + tally.conflicts + tally.other) as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        tally.created,
        tally.conflicts,
        tally.other,
        overlaps
    );
    println!("|  bookings accepted/s | {:.0} | | | | |", tally.created as f64 / secs);
    if let Some(script) = &args.wrk_script {
        let day0 = day0.timestamp().to_string();
        let (tokens, ids, share) = (wrk_users.join(","), wrk_resources.join(","), args.contended_share.to_string());
        let report = run_wrk(script, base, args.concurrency, secs, &[&tokens, &ids, &day0, &share])?;
        let outcome = WrkBookings::from_report(&report)?;
        println!("|  bookings accepted/s (wrk) | {:.0} | | | | |", outcome.created as f64 / secs);
        if outcome.created == 0 || outcome.other > 0 || outcome.socket_errors > 0 {
            anyhow::bail!(
                "the wrk phase went wrong: {} accepted, {} other answers, {} socket errors",
                outcome.created,
                outcome.other,
                outcome.socket_errors
            );
        }
        let position = outcome.position;
        let found = check_overlaps(&client, base, &admin, &wrk_resources, position).await?;
        println!("overlaps in read model after the wrk phase: {found}\n");
        overlaps += found;
    }
    let token = users[0].clone();
    for (label, path) in [
        ("GET /resources?limit=20", "/api/v1/resources?limit=20".to_string()),
        (
            "GET /resources/{id}/availability?days_ahead=30",
            format!("/api/v1/resources/{}/availability?days_ahead=30", resources[0]),
        ),
    ] {
        let fixed: PathFn = std::sync::Arc::new(move |_| path.clone());
        let (count, mut lat, errors) = get_load(&client, base, &token, fixed, args.concurrency, args.seconds).await;
        lat.sort();
        println!(
            "| {label} | {:.0} | {:.2} | {:.2} | {:.2} | non-200: {errors} |",
            count as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.95),
            percentile(&lat, 0.99)
        );
    }
    if overlaps > 0 {
        anyhow::bail!("{overlaps} overlapping confirmed bookings found");
    }
    Ok(())
}

async fn seed(
    client: &reqwest::Client,
    base: &str,
    args: &HttpBenchArgs,
) -> anyhow::Result<(String, Vec<String>, Vec<String>)> {
    let admin = admin_token(client, base).await?;
    let mut resources = Vec::new();
    let count = if args.wrk_script.is_some() { 2 * args.resources } else { args.resources };
    for i in 0..count {
        let r: Value = client
            .post(format!("{base}/api/v1/resources"))
            .bearer_auth(&admin)
            .json(&json!({ "name": format!("Room {i:03}"), "tags": ["bench"], "capacity": 1 }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        resources.push(r["id"].as_str().unwrap_or_default().to_string());
    }
    let mut users = Vec::new();
    let count = if args.wrk_script.is_some() { 2 * args.users } else { args.users };
    for i in 0..count {
        let name = format!("user{i:03}");
        client
            .post(format!("{base}/api/v1/register"))
            .json(&json!({ "username": name, "password": PASSWORD }))
            .send()
            .await?
            .error_for_status()?;
        users.push(token(client, base, &name).await?);
    }
    Ok((admin, users, resources))
}

async fn book_load(
    client: &reqwest::Client,
    base: &str,
    users: &[String],
    resources: &[String],
    day0: chrono::DateTime<Utc>,
    args: &HttpBenchArgs,
) -> Tally {
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let seq = Arc::new(AtomicU64::new(0));
    let url = Arc::new(format!("{base}/api/v1/reservations"));
    let bearers: Arc<Vec<String>> = Arc::new(users.iter().map(|u| format!("Bearer {u}")).collect());
    let resources: Arc<Vec<String>> = Arc::new(resources.to_vec());
    // One task per client, so answers are read as soon as they arrive on any runtime thread.
    let workers = (0..args.concurrency).map(|w| {
        let (client, url, bearers, resources, seq) =
            (client.clone(), url.clone(), bearers.clone(), resources.clone(), seq.clone());
        let contended = args.contended_share;
        tokio::spawn(async move {
            let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ ((w as u64 + 1) * 0x9E37_79B9));
            let mut t = Tally::default();
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let bearer = &bearers[rng.below(bearers.len() as u64) as usize];
                // Contended: everyone in the same 100 ms aims at one of three shared slots.
                let (resource, start) = if (rng.below(1000) as f64) < contended * 1000.0 {
                    let group = n / 16;
                    (
                        &resources[(group % resources.len() as u64) as usize],
                        day0 + chrono::Duration::hours(8 + (group % 3) as i64),
                    )
                } else {
                    let minutes = rng.below(60 * 24 * 60) as i64 / 30 * 30;
                    (&resources[rng.below(resources.len() as u64) as usize], day0 + chrono::Duration::minutes(minutes))
                };
                let body = format!(
                    r#"{{"resource_id":"{resource}","start_time":"{}","end_time":"{}"}}"#,
                    start.to_rfc3339(),
                    (start + chrono::Duration::minutes(60)).to_rfc3339()
                );
                let request = client
                    .post(url.as_str())
                    .header(reqwest::header::AUTHORIZATION, bearer.as_str())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
                let began = Instant::now();
                match request.send().await {
                    Ok(r) => {
                        let position = r
                            .headers()
                            .get("X-Log-Position")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let status = r.status().as_u16();
                        // Read the answer as a client would (and so the connection is reused).
                        let read = r.bytes().await.is_ok();
                        t.latencies.push(began.elapsed());
                        t.max_position = t.max_position.max(position);
                        match status {
                            _ if !read => t.other += 1,
                            201 => t.created += 1,
                            409 => t.conflicts += 1,
                            _ => t.other += 1,
                        }
                    }
                    Err(_) => t.other += 1,
                }
            }
            t
        })
    });
    let mut total = Tally::default();
    for t in join_all(workers).await.into_iter().flatten() {
        total.latencies.extend(t.latencies);
        total.created += t.created;
        total.conflicts += t.conflicts;
        total.other += t.other;
        total.max_position = total.max_position.max(t.max_position);
    }
    total
}

/// Reads every resource's reservations from the read model (after the last write) and counts
/// overlapping confirmed pairs; also checks that confirmed == accepted.
async fn check_overlaps(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    resources: &[String],
    position: u64,
) -> anyhow::Result<usize> {
    let mut overlaps = 0;
    for id in resources {
        let mut spans: Vec<(String, String)> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{base}/api/v1/resources/{id}/reservations?limit=500&min_position={position}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = client.get(url).bearer_auth(admin).send().await?.error_for_status()?.json().await?;
            for r in page["data"].as_array().cloned().unwrap_or_default() {
                if r["status"] == "confirmed" {
                    spans.push((
                        r["start_time"].as_str().unwrap_or_default().into(),
                        r["end_time"].as_str().unwrap_or_default().into(),
                    ));
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_string);
            if page["has_more"] != true {
                break;
            }
        }
        spans.sort();
        overlaps += spans.windows(2).filter(|p| p[0].1 > p[1].0).count();
    }
    Ok(overlaps)
}

/// What `loadgen/wrk/book.lua` reports at the end of a run.
#[derive(Debug, PartialEq, Eq)]
struct WrkBookings {
    created: u64,
    other: u64,
    socket_errors: u64,
    /// The highest `X-Log-Position` answered.
    position: u64,
}

impl WrkBookings {
    /// Reads the script's two closing lines: `201: N, 409: N, other: N, socket errors: N` and
    /// `highest X-Log-Position: N`.
    fn from_report(report: &str) -> anyhow::Result<Self> {
        let number = |text: &str, label: &str| -> Option<u64> {
            let at = text.find(label)? + label.len();
            text[at..].trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
        };
        let counts = report.lines().find(|l| l.starts_with("201: ")).unwrap_or_default();
        let position = report.lines().find(|l| l.starts_with("highest X-Log-Position: ")).unwrap_or_default();
        let missing = || anyhow::anyhow!("the wrk script reported no counts or log position (is it book.lua?)");
        Ok(Self {
            created: number(counts, "201:").ok_or_else(missing)?,
            other: number(counts, "other:").ok_or_else(missing)?,
            socket_errors: number(counts, "socket errors:").ok_or_else(missing)?,
            position: number(position, "X-Log-Position:").ok_or_else(missing)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_book_lua_reports() {
        let report = "Requests/sec:   5082.31\n201: 23941, 409: 16785, other: 2, socket errors: 0\n\
                      highest X-Log-Position: 48928\n";
        let outcome = WrkBookings::from_report(report).expect("parsed");
        assert_eq!(outcome, WrkBookings { created: 23941, other: 2, socket_errors: 0, position: 48928 });
        assert!(WrkBookings::from_report("Requests/sec: 10\n").is_err(), "another script's report");
    }
}

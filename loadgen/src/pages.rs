//! `reserver bench pages`: the server time of each web page, measured from a client on the same
//! machine against a real `reserver serve` child process on a scratch database, signed in
//! through the login form like a browser. The schedule pages are those of a resource holding
//! `--bookings` reservations (1,000 by default).

use std::time::Instant;

use chrono::{DurationRound, Utc};
use clap::Args;
use reserver_store::scratch::{ScratchDatabase, DEFAULT_TEST_DATABASE_URL};
use serde_json::{json, Value};

use crate::common::{admin_token, percentile, PASSWORD};
use crate::server::ServerProcess;

#[derive(Debug, Args)]
pub struct PagesBenchArgs {
    /// sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, env = "BENCH_POSTGRES_URL", default_value = DEFAULT_TEST_DATABASE_URL)]
    postgres_url: String,
    #[arg(long, default_value = "./data/bench")]
    sqlite_dir: std::path::PathBuf,
    /// Reservations on the resource whose schedule is measured.
    #[arg(long, default_value_t = 1000)]
    bookings: usize,
    /// Requests per page (sequential, after 5 warm-up requests).
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// The `reserver` binary to start (default: this one).
    #[arg(long)]
    server_bin: Option<std::path::PathBuf>,
}

pub async fn run(args: PagesBenchArgs) -> anyhow::Result<()> {
    let db = match args.backend.as_str() {
        "sqlite" => ScratchDatabase::sqlite_in(&args.sqlite_dir)?,
        "postgres" => ScratchDatabase::postgres_beside(&args.postgres_url).await?,
        other => anyhow::bail!("unknown backend {other:?}"),
    };
    let server = ServerProcess::start(args.server_bin.clone(), db.url(), 2, &[]).await?;
    let outcome = measure(&server.base_url, &args).await;
    server.stop();
    outcome
}

async fn measure(base: &str, args: &PagesBenchArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let token = admin_token(&client, base).await?;
    let resource: Value = client
        .post(format!("{base}/api/v1/resources"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Busy lab", "tags": ["bench"], "capacity": 1, "time_zone": "Europe/Paris" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let resource_id = resource["id"].as_str().unwrap_or_default().to_string();
    // Back-to-back half hours from tomorrow on: the first week holds 336 of them.
    let start = (Utc::now() + chrono::Duration::days(1)).duration_trunc(chrono::Duration::days(1))?;
    for i in 0..args.bookings {
        let from = start + chrono::Duration::minutes(30 * i as i64);
        client
            .post(format!("{base}/api/v1/reservations"))
            .bearer_auth(&token)
            .json(&json!({
                "resource_id": resource_id,
                "start_time": from.to_rfc3339(),
                "end_time": (from + chrono::Duration::minutes(30)).to_rfc3339(),
            }))
            .send()
            .await?
            .error_for_status()?;
    }
    let cookie = sign_in(&client, base).await?;
    let day = (start + chrono::Duration::hours(12)).format("%Y-%m-%d");
    println!("{} bookings on one resource · {} sequential requests per page", args.bookings, args.requests);
    println!("| page | p50 ms | p95 ms | p99 ms | bytes | status |");
    println!("|---|---:|---:|---:|---:|---|");
    let pages = [
        ("dashboard", "/".to_string()),
        ("resources", "/resources".to_string()),
        ("resource, day schedule", format!("/resources/{resource_id}?view=day&date={day}")),
        ("resource, week schedule", format!("/resources/{resource_id}?view=week&date={day}")),
        ("my reservations", "/reservations".to_string()),
        ("waitlist", "/waitlist".to_string()),
        ("notifications", "/notifications".to_string()),
        ("preferences", "/preferences".to_string()),
        ("login (signed out)", "/login".to_string()),
    ];
    for (label, path) in pages {
        let signed_in = !path.starts_with("/login");
        let mut latencies = Vec::with_capacity(args.requests);
        let mut status = 0;
        let mut bytes = 0;
        for i in 0..args.requests + 5 {
            let mut request = client.get(format!("{base}{path}"));
            if signed_in {
                request = request.header("Cookie", &cookie);
            }
            let began = Instant::now();
            let response = request.send().await?;
            status = response.status().as_u16();
            bytes = response.bytes().await?.len();
            if i >= 5 {
                latencies.push(began.elapsed());
            }
        }
        latencies.sort();
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {bytes} | {status} |",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99)
        );
    }
    Ok(())
}

/// Logs in through the web form and returns the session cookie (`rr_session=…`).
async fn sign_in(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let page = client.get(format!("{base}/login")).send().await?;
    let anon = set_cookie(&page, "rr_anon").unwrap_or_default();
    let html = page.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let csrf = html
        .find(marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| anyhow::anyhow!("the login page has no CSRF field"))?;
    let response = client
        .post(format!("{base}/login"))
        .header("Cookie", anon)
        .form(&[("csrf", csrf), ("username", "admin"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await?;
    set_cookie(&response, "rr_session").ok_or_else(|| anyhow::anyhow!("login did not start a session"))
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

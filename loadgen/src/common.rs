//! What the load generators share: a tiny random source, percentiles, the first admin of a
//! scratch service, and a closed-loop GET load.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{json, Value};

/// The password every benchmark account uses.
pub(crate) const PASSWORD: &str = "Bench-Password-42!";

/// xorshift64: fast, and the same sequence for the same seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// The `p` quantile (0 to 1) of sorted latencies, in milliseconds.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Logs `name` in and returns an access token.
pub(crate) async fn token(client: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let r: Value = client
        .post(format!("{base}/api/v1/token"))
        .form(&[("username", name), ("password", PASSWORD)])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(r["access_token"].as_str().unwrap_or_default().to_string())
}

/// Creates the first admin (`admin`) of a fresh service and returns its access token.
pub(crate) async fn admin_token(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    client
        .post(format!("{base}/api/v1/setup/initialize"))
        .json(&json!({ "username": "admin", "password": PASSWORD }))
        .send()
        .await?
        .error_for_status()?;
    token(client, base, "admin").await
}

/// The path of each request, drawn from the worker's random source.
pub(crate) type PathFn = Arc<dyn Fn(&mut Rng) -> String + Send + Sync>;

/// `concurrency` workers each sending GETs back to back for `seconds`: how many answered 200,
/// their latencies, and how many did not.
pub(crate) async fn get_load(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: PathFn,
    concurrency: usize,
    seconds: f64,
) -> (u64, Vec<Duration>, u64) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let bearer = format!("Bearer {token}");
    let workers = (0..concurrency).map(|w| {
        let (client, base, bearer, path) = (client.clone(), base.to_string(), bearer.clone(), path.clone());
        tokio::spawn(async move {
            let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ ((w as u64 + 1) * 0x9E37_79B9));
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            while Instant::now() < deadline {
                let url = format!("{base}{}", path(&mut rng));
                let began = Instant::now();
                match client.get(&url).header(reqwest::header::AUTHORIZATION, bearer.as_str()).send().await {
                    Ok(r) if r.status() == 200 => {
                        let _ = r.bytes().await;
                        lat.push(began.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        })
    });
    let (mut all, mut errors) = (Vec::new(), 0);
    for (lat, e) in join_all(workers).await.into_iter().flatten() {
        all.extend(lat);
        errors += e;
    }
    (all.len() as u64, all, errors)
}

/// Runs [`wrk`](https://github.com/wg/wrk) (a load generator nobody here wrote) with a Lua
/// script against `base`: `wrk -t<threads> -c<concurrency> -d<seconds>s --latency -s SCRIPT BASE --
/// SCRIPT_ARGS…`, two threads (one when there is one connection). Prints the command and
/// wrk's report, and returns the report.
pub(crate) fn run_wrk(
    script: &std::path::Path,
    base: &str,
    concurrency: usize,
    seconds: f64,
    script_args: &[&str],
) -> anyhow::Result<String> {
    let seconds = seconds.round().max(1.0) as u64;
    // wrk refuses fewer connections than threads.
    let threads = concurrency.clamp(1, 2);
    let output = std::process::Command::new("wrk")
        .args([&format!("-t{threads}"), &format!("-c{concurrency}"), &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script)
        .arg(base)
        .arg("--")
        .args(script_args)
        .output()
        .map_err(|e| anyhow::anyhow!("could not start wrk (is it installed?): {e}"))?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("\nwrk -t{threads} -c{concurrency} -d{seconds}s --latency -s {} …", script.display());
    println!("{report}");
    if !output.status.success() {
        anyhow::bail!("wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(report)
}

//! The service under test, as a child process: `reserver serve` on a free loopback port against
//! a scratch database, killed when the measurement ends (before the database is dropped).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

pub struct ServerProcess {
    child: Child,
    pub base_url: String,
}

/// A signing key for the scratch service only: the benchmark's tokens never leave the process.
const BENCH_SECRET: &str = "bench-only-secret-key-that-is-long-enough-for-hs256";

impl ServerProcess {
    /// Starts `bin` (default: the running executable) with `serve` and waits until `/live` answers.
    pub async fn start(
        bin: Option<PathBuf>,
        database_url: &str,
        workers: usize,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let bin = match bin {
            Some(bin) => bin,
            None => std::env::current_exe()?,
        };
        let mut command = Command::new(bin);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", &workers.to_string()])
            .env("DATABASE_URL", database_url)
            .env("SECRET_KEY", BENCH_SECRET)
            .env("RATE_LIMIT_ENABLED", "false")
            .env("API_QUOTA_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn()?;
        let base_url = match announced_url(&mut child, Duration::from_secs(60)).await {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let server = Self { child, base_url };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}/live", server.base_url)).send().await {
                if r.status().is_success() {
                    return Ok(server);
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "the service under test did not come up within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the service and waits for it to exit.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How `reserver serve` begins the line it prints on stdout once it listens:
/// `listening on http://HOST:PORT`.
pub const LISTENING_PREFIX: &str = "listening on ";

/// The base URL `child` (`reserver serve … --bind 127.0.0.1:0`, stdout piped) announces once it
/// listens. Asking the server for the port it bound, instead of picking a free one and handing
/// it over, leaves no window in which another process takes that port (and a client then talks
/// to the wrong server). Later lines are read and dropped in a thread, so the child never
/// blocks on a full pipe. Errors: it exited, or said nothing within `within`.
pub async fn announced_url(child: &mut Child, within: Duration) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("the server's stdout is not piped")?;
    let (found, announced) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix(LISTENING_PREFIX) {
                let _ = found.send(url.trim().to_string());
            }
        }
    });
    tokio::task::spawn_blocking(move || announced.recv_timeout(within))
        .await?
        .map_err(|_| anyhow::anyhow!("the server did not announce its address within {within:?} (see its log)"))
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

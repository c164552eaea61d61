//! The service under test, as a child process: `reserver serve` on a free loopback port against
//! a scratch database, killed when the measurement ends (before the database is dropped).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(bin);
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--workers", &workers.to_string()])
            .env("DATABASE_URL", database_url)
            .env("SECRET_KEY", BENCH_SECRET)
            .env("RATE_LIMIT_ENABLED", "false")
            .env("API_QUOTA_ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn()?;
        let server = Self { child, base_url: format!("http://127.0.0.1:{port}") };
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

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Helpers for black-box tests of the built `reserver` binary.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use reserver_store::scratch::ScratchDatabase;
pub use reserver_store::Backend;

/// The binary under test, built by cargo for this test run.
pub fn reserver() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reserver"));
    cmd.env_remove("DATABASE_URL").env_remove("RESERVER_BIND").env("RUST_LOG", "warn");
    cmd
}

/// Runs `reserver ARGS` against a database and returns its output.
pub fn run(database_url: &str, args: &[&str]) -> Output {
    reserver().args(args).env("DATABASE_URL", database_url).output().expect("run reserver")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `reserver serve` process, killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
}

impl Server {
    pub async fn start(database_url: &str) -> Server {
        // Pick a free port, then hand it to the server (the tiny race is harmless in tests).
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let child = reserver()
            .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--workers", "2"])
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn reserver serve");
        let server = Server { child, base_url: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = client.get(format!("{}/live", server.base_url)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

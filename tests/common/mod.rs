//! Helpers for black-box tests of the built `reserver` binary.
#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub mod smtp_sink;

/// Runs each check as a test on SQLite and on PostgreSQL: `on_both_backends!(module::check, …)`
/// or `on_both_backends!(check, …)` for checks of the test file itself. A check is an
/// `async fn(Backend)`.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod sqlite { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { $module::$check(Backend::Sqlite).await; }
        )* }
        mod postgres { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { $module::$check(Backend::Postgres).await; }
        )* }
    };
    ($($check:ident),* $(,)?) => {
        mod sqlite { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { super::$check(Backend::Sqlite).await; }
        )* }
        mod postgres { use super::*; $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() { super::$check(Backend::Postgres).await; }
        )* }
    };
}

pub use reserver_store::scratch::ScratchDatabase;
pub use reserver_store::Backend;

/// The binary under test, built by cargo for this test run.
/// The RFC 6238 code (SHA-1, 6 digits, 30 s steps, as the service issues) of `secret` (base32)
/// at `offset_steps` steps from now.
pub fn totp_code(secret: &str, offset_steps: i64) -> String {
    use totp_rs::{Algorithm, Builder, Secret};
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(Secret::try_from_base32(secret).expect("base32 secret"))
        .build()
        .expect("totp");
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    totp.generate(u64::try_from(now).expect("after 1970")).to_string()
}

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

/// A `reserver serve` process, killed when dropped (or a server this test runs in-process).
pub struct Server {
    child: Option<Child>,
    pub base_url: String,
    pub client: reqwest::Client,
}

/// A password that satisfies the policy.
pub const PASSWORD: &str = "Correct-Horse-9-Battery";

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Creates the first admin and returns its access token.
    pub async fn setup_admin(&self) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/setup/initialize"))
            .json(&serde_json::json!({ "username": "admin", "password": PASSWORD }))
            .send()
            .await
            .expect("setup");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        self.login("admin", PASSWORD).await
    }

    /// Registers a user and returns its access token.
    pub async fn user(&self, name: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/register"))
            .json(&serde_json::json!({ "username": name, "password": PASSWORD }))
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
        self.login(name, PASSWORD).await
    }

    pub async fn login_response(&self, name: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/token"))
            .form(&[("username", name), ("password", password)])
            .send()
            .await
            .expect("login")
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let r = self.login_response(name, password).await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }

    pub fn get(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(token)
    }

    pub fn post(&self, token: &str, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(token).json(&body)
    }
}

impl Server {
    pub async fn start(database_url: &str) -> Server {
        Self::start_with(database_url, &[]).await
    }

    /// Starts a server with extra environment (e.g. rate limits on).
    pub async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Server {
        Self::launch(database_url, env, Stdio::inherit()).await
    }

    /// Starts a server whose log (stderr) goes to `log`, for tests that read it.
    pub async fn start_logging_to(database_url: &str, env: &[(&str, &str)], log: &std::path::Path) -> Server {
        let file = std::fs::File::create(log).expect("create log file");
        Self::launch(database_url, env, Stdio::from(file)).await
    }

    async fn launch(database_url: &str, env: &[(&str, &str)], stderr: Stdio) -> Server {
        // The HTTP client needs the process's TLS provider before it is built.
        reserver::install_crypto_provider();
        // The server binds a free port itself and says which: a port picked here and handed
        // over could be taken by another test's server first, and this test would then talk
        // to that one.
        let mut command = reserver();
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .env("SECRET_KEY", "a-test-secret-that-is-long-enough-for-hs256-0123456789")
            .env("RATE_LIMIT_ENABLED", "false")
            .env("API_QUOTA_ENABLED", "false")
            .env("SETUP_REOPEN_TOKEN", "reopen-me");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn reserver serve");
        let base_url = match reserver_loadgen::server::announced_url(&mut child, Duration::from_secs(30)).await {
            Ok(url) => url,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not come up: {e}");
            }
        };
        let server = Server { child: Some(child), base_url, client: reqwest::Client::new() };
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

impl Server {
    /// A server already listening on `port` of this machine (one the test built in-process).
    pub fn attached(port: u16) -> Server {
        reserver::install_crypto_provider();
        Server { child: None, base_url: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

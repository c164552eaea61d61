//! A server, a scratch database and a private config directory, and the binary run against them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::*;

/// One scenario's world.
pub struct World {
    pub server: Server,
    pub config: tempfile::TempDir,
    _db: ScratchDatabase,
}

/// What a run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run { code: out.status.code().unwrap_or(-1), stdout: stdout(&out), stderr: stderr(&out) }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }

    /// TSV rows of stdout.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.stdout.lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
    }
}

impl World {
    pub async fn start(backend: Backend) -> World {
        let db = ScratchDatabase::new(backend).await;
        let server = Server::start(db.url()).await;
        World { server, config: tempfile::tempdir().expect("config dir"), _db: db }
    }

    /// `reserver ARGS` as a script runs it: no terminal, this world's server and config.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = reserver();
        cmd.args(args)
            .env("CLI_CONFIG_DIR", self.config.path())
            .env("RESERVER_URL", &self.server.base_url)
            .env("TZ", "UTC")
            .env_remove("RESERVER_TOKEN")
            .env_remove("RESERVER_PROFILE")
            .env_remove("RESERVER_TZ")
            .env_remove("API_URL")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run reserver"))
    }

    /// Runs with `input` on standard input.
    pub fn run_with_input(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn reserver");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        Run::from(child.wait_with_output().expect("wait"))
    }

    /// Creates the first admin and logs in as it, through the command line.
    pub fn admin(&self) {
        let password = format!("{PASSWORD}\n");
        self.run_with_input(&["setup", "-u", "admin", "--password-stdin"], &password).ok();
        self.run_with_input(&["login", "-u", "admin", "--password-stdin"], &password).ok();
    }

    /// Creates a resource in UTC and returns its id.
    pub fn resource(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["resources", "create", name, "--zone", "UTC", "-o", "json"];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        run.ok();
        run.json()["id"].as_str().expect("id").to_string()
    }

    /// The stored credentials of the default profile.
    pub fn credentials(&self) -> Value {
        let text = std::fs::read_to_string(self.config.path().join("credentials.json")).unwrap_or_else(|_| "{}".into());
        serde_json::from_str::<Value>(&text).expect("credentials json")["default"].clone()
    }

    pub fn write_credentials(&self, stored: &Value) {
        let all = serde_json::json!({ "default": stored });
        std::fs::write(self.config.path().join("credentials.json"), all.to_string()).expect("write credentials");
    }
}

/// Whether stderr shows any trace of a drawn progress bar or colour.
pub fn has_terminal_codes(text: &str) -> bool {
    text.contains('\u{1b}') || text.contains('\r')
}

//! The `reserver` binary, black-box: the server's health endpoints and the CLI, on both backends.

mod common;

use common::*;
use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
use serde_json::Value;
use uuid::Uuid;

async fn health_endpoints_answer(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let server = Server::start(db.url()).await;
    let client = reqwest::Client::new();

    let live = client.get(format!("{}/live", server.base_url)).send().await.expect("live");
    assert_eq!(live.status(), 200);
    // Every request gets an id (echoed when the caller brought one), for logs and correlation.
    let generated = live.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    assert!(generated.is_some_and(|id| Uuid::parse_str(&id).is_ok()), "a generated request id");
    let given =
        client.get(format!("{}/live", server.base_url)).header("X-Request-Id", "trace-42").send().await.expect("live");
    assert_eq!(given.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("trace-42"));

    let health: Value =
        client.get(format!("{}/health", server.base_url)).send().await.expect("health").json().await.expect("json");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    let expected_backend = if backend == Backend::Postgres { "postgres" } else { "sqlite" };
    assert_eq!(health["backend"], expected_backend);

    // Events appended by another process show in readiness: both share one log.
    let store = db.open().await;
    store
        .append(AppendRequest::single("s", ExpectedVersion::NoStream, vec![NewEvent::new(Uuid::new_v4(), "t", "{}")]))
        .await
        .expect("append");
    let ready = client.get(format!("{}/ready", server.base_url)).send().await.expect("ready");
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["log_position"], 1);

    let missing = client.get(format!("{}/nope", server.base_url)).send().await.expect("404");
    assert_eq!(missing.status(), 404);
}

async fn verify_catches_a_tampered_row(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let migrated = run(db.url(), &["migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));

    let empty = run(db.url(), &["events", "verify"]);
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert!(stdout(&empty).contains("chain intact: 0 events"), "{}", stdout(&empty));

    let store = db.open().await;
    for i in 0..12 {
        let e = NewEvent::new(Uuid::new_v4(), "thing_happened", format!(r#"{{"i":{i}}}"#));
        store
            .append(AppendRequest::single(format!("s-{}", i % 3), ExpectedVersion::Any, vec![e]))
            .await
            .expect("append");
    }
    let intact = run(db.url(), &["events", "verify"]);
    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(stdout(&intact).contains("chain intact: 12 events"), "{}", stdout(&intact));

    db.tamper_payload(5, r#"{"i":"forged"}"#).await;
    let broken = run(db.url(), &["events", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "tampering makes verify fail");
    assert!(stderr(&broken).contains("chain broken at position 5"), "{}", stderr(&broken));
}

#[tokio::test]
async fn sqlite_health_endpoints_answer() {
    health_endpoints_answer(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_health_endpoints_answer() {
    health_endpoints_answer(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite_verify_catches_a_tampered_row() {
    verify_catches_a_tampered_row(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_verify_catches_a_tampered_row() {
    verify_catches_a_tampered_row(Backend::Postgres).await;
}

#[test]
fn every_command_explains_itself() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["events", "--help"],
        vec!["events", "verify", "--help"],
        vec!["projections", "status", "--help"],
        vec!["projections", "rebuild", "--help"],
        vec!["bench", "http", "--help"],
        vec!["bench", "append", "--help"],
    ] {
        let out = reserver().args(&args).output().expect("run");
        assert!(out.status.success(), "{args:?}");
        assert!(stdout(&out).contains("Usage: reserver"), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn unsupported_database_url_is_a_clear_error() {
    let out = run("mysql://localhost/x", &["migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unsupported database url"), "{}", stderr(&out));
}

#[test]
fn default_database_is_created_on_first_run() {
    let dir = tempfile::tempdir().expect("dir");
    let out = reserver().arg("migrate").current_dir(dir.path()).output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("data/reserver.db").exists(), "the embedded default is ./data/reserver.db");
}

async fn projections_status_and_rebuild(backend: Backend) {
    let db = ScratchDatabase::new(backend).await;
    let store = db.open().await;
    for i in 0..3 {
        let e = NewEvent::new(Uuid::new_v4(), "unrelated", format!(r#"{{"i":{i}}}"#));
        store.append(AppendRequest::single("other-1", ExpectedVersion::Any, vec![e])).await.expect("append");
    }
    let rebuilt = run(db.url(), &["projections", "rebuild", "--all"]);
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let status = run(db.url(), &["projections", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(text.contains("reservations"), "{text}");
    for line in text.lines().skip(1) {
        let fields: Vec<_> = line.split_whitespace().collect();
        assert_eq!(fields[1..], ["3", "3", "0", "ok"], "every projector caught up: {line}");
    }
    let unknown = run(db.url(), &["projections", "rebuild", "nope"]);
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn sqlite_projections_status_and_rebuild() {
    projections_status_and_rebuild(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_projections_status_and_rebuild() {
    projections_status_and_rebuild(Backend::Postgres).await;
}

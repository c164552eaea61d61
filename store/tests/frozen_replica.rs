//! A frozen replica must not stop the others (PostgreSQL). Two processes append to one
//! database; one is paused with SIGSTOP while its transaction holds the log's head lock. The
//! server cuts the paused session (`idle_in_transaction_session_timeout`), so the other
//! process's appends stall only for that bound, not for the whole freeze; when the paused one
//! wakes, its late commit fails, and its retry writes each event exactly once.
//!
//! SQLite has no counterpart: it serves one process, whose pause stops nobody else.
//!
//! The second process is this test binary itself, run as the `frozen_child` test with
//! `FROZEN_CHILD_URL` set; without it, that test does nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reserver_store::scratch::ScratchDatabase;
use reserver_store::{open, verify_chain, AppendRequest, ExpectedVersion, GroupCommitConfig, NewEvent, StoreConfig};
use sqlx::Connection;
use uuid::Uuid;

const CHILD_URL: &str = "FROZEN_CHILD_URL";
const CHILD_APP: &str = "reserver-frozen-child";
const FREEZE: Duration = Duration::from_secs(20);
/// Generous: the default cut is 5 s. Without it the stall lasts the whole freeze.
const STALL_BOUND: Duration = Duration::from_secs(8);

fn child_event(i: u64, stream: &str, n: u64) -> NewEvent {
    let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("child/{i}/{stream}/{n}").as_bytes());
    NewEvent::new(id, "child_appended", format!(r#"{{"i":{i},"n":{n}}}"#))
}

/// Two streams of two events per request, so a half-written request would show.
fn child_request(i: u64) -> AppendRequest {
    let (a, b) = (format!("child-{i}-a"), format!("child-{i}-b"));
    AppendRequest::single(&a, ExpectedVersion::NoStream, vec![child_event(i, &a, 1), child_event(i, &a, 2)])
        .with_stream(&b, ExpectedVersion::NoStream, vec![child_event(i, &b, 1), child_event(i, &b, 2)])
}

/// The replica that gets frozen: appends request after request, each transaction holding the
/// head lock for a while before it commits, and retries a failed request with the same event
/// ids. Prints `ok I DUPLICATE` or `err I MESSAGE` per attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_child() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let mut config = StoreConfig::new(format!("{url}?application_name={CHILD_APP}"));
    config.migrate = false;
    config.group_commit = GroupCommitConfig { max_batch: 16, slow_commit: Some((1, Duration::from_millis(300))) };
    let store = open(&config).await.expect("child opens the store");
    for i in 0.. {
        loop {
            match store.append(child_request(i)).await {
                Ok(outcome) => {
                    println!("ok {i} {}", outcome.duplicate);
                    break;
                }
                Err(e) => {
                    println!("err {i} {}", e.to_string().replace('\n', " "));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Continues and kills the child whatever happens to the test.
struct ChildGuard(Child);

impl ChildGuard {
    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.0.id().to_string()]).status().expect("kill");
        assert!(status.success(), "kill {signal}");
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0.id().to_string()]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the child's session is inside a transaction that has locked the head row.
async fn child_holds_head(admin: &mut sqlx::PgConnection) -> bool {
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE a.application_name = $1 AND a.state = 'idle in transaction' \
         AND l.relation = 'log_head'::regclass AND l.mode = 'RowShareLock'",
    )
    .bind(CHILD_APP)
    .fetch_one(admin)
    .await
    .expect("pg_locks");
    held > 0
}

fn next_line(lines: &mpsc::Receiver<String>, deadline: Instant) -> String {
    let left = deadline.saturating_duration_since(Instant::now());
    lines.recv_timeout(left).expect("the child keeps reporting")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_replica_stalls_the_others_only_briefly() {
    let db = ScratchDatabase::postgres().await;
    let store = db.open().await;
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["frozen_child", "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_URL, db.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child replica");
    let stdout = child.stdout.take().expect("stdout");
    let child = ChildGuard(child);
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ok ") || line.starts_with("err ") {
                let _ = tx.send(line);
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !next_line(&lines, deadline).starts_with("ok ") {}

    // Freeze the child while its transaction holds the head lock.
    let mut admin = sqlx::PgConnection::connect(db.url()).await.expect("admin connection");
    loop {
        assert!(Instant::now() < deadline, "the child never held the head lock");
        if child_holds_head(&mut admin).await {
            child.signal("-STOP");
            if child_holds_head(&mut admin).await {
                break;
            }
            child.signal("-CONT");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Meanwhile this replica keeps appending; record its longest wait for an append.
    let frozen_at = Instant::now();
    let (mut longest, mut appended, mut failed) = (Duration::ZERO, 0u32, Vec::new());
    while frozen_at.elapsed() < FREEZE {
        let started = Instant::now();
        let event = NewEvent::new(Uuid::new_v4(), "parent_appended", "{}");
        match store.append(AppendRequest::single("parent", ExpectedVersion::Any, vec![event])).await {
            Ok(_) => appended += 1,
            Err(e) => failed.push(e.to_string()),
        }
        longest = longest.max(started.elapsed());
    }
    child.signal("-CONT");
    eprintln!("longest append while the other replica was frozen: {longest:?} ({appended} appends)");
    assert!(longest < STALL_BOUND, "an append waited {longest:?} while another replica was frozen");
    assert!(failed.is_empty(), "appends failed while another replica was frozen: {failed:?}");
    assert!(appended > 10, "only {appended} appends in {FREEZE:?}");

    // The child wakes: its late commit fails, and its retry (same event ids) succeeds.
    let mut attempts: HashMap<u64, Vec<String>> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let retried = loop {
        let line = next_line(&lines, deadline);
        let mut words = line.splitn(3, ' ');
        let (kind, i) = (words.next().unwrap_or(""), words.next().and_then(|i| i.parse().ok()).unwrap_or(0));
        attempts.entry(i).or_default().push(line.clone());
        let failed_before = attempts[&i].iter().any(|l| l.starts_with("err "));
        if kind == "ok" && failed_before {
            break i;
        }
    };
    drop(child);
    assert!(
        attempts[&retried].last().is_some_and(|l| l.starts_with("ok ")),
        "the woken replica's retry went through: {:?}",
        attempts[&retried]
    );

    // Nothing half-written, nothing twice: each of the child's streams holds its two events.
    for stream in [format!("child-{retried}-a"), format!("child-{retried}-b")] {
        let events = store.read_stream(&stream, 1, 10).await.expect("read");
        assert_eq!(events.iter().map(|e| e.stream_version).collect::<Vec<_>>(), vec![1, 2], "{stream}");
    }
    let all = store.read_all_from_database(0, 1_000_000).await.expect("read the log");
    let mut per_stream: HashMap<&str, u64> = HashMap::new();
    for e in all.iter().filter(|e| e.stream_id.starts_with("child-")) {
        *per_stream.entry(e.stream_id.as_str()).or_default() += 1;
    }
    assert!(per_stream.values().all(|&n| n == 2), "a request of the child was half-written: {per_stream:?}");
    assert!(verify_chain(store.as_ref()).await.expect("verify").is_ok());
}

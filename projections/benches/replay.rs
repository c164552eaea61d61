//! Read-side benchmark: full-rebuild replay speed of every read model over a large log, and
//! steady-state projection lag under a booking load.
//!
//! ```text
//! cargo bench -p reserver-projections --bench replay -- --events 1000000 --backend postgres
//! cargo bench -p reserver-projections --bench replay -- --events 1000000 --backend sqlite
//! ```
//! Options: `--events N` (log size, default 1,000,000), `--backend sqlite|postgres`,
//! `--resources N` (default 2,000), `--batch N[,N…]` (events per projector transaction during
//! the rebuild, default 5,000; several sizes rebuild once each over the same log),
//! `--load-rate N` (events/s of the lag phase, default 2,000), `--load-seconds N` (default 10;
//! 0 skips the load), `--only NAME` (rebuild that projector alone), `--per-projector` (then
//! each projector alone too), `--sizes` (then the read models' size on disk, PostgreSQL).
//! PostgreSQL comes from `TEST_DATABASE_URL`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_domain::resource::{stream_id, ResourceDetails, ResourceKind};
use reserver_domain::user::{user_stream_id, UserEvent};
use reserver_domain::{BookingPolicy, ResourceEvent, Role, TimeRange};
use reserver_projections::{rebuild_with, ProjectionRuntime};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

/// The allocator of the `reserver` binary, so the rebuild is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Options {
    events: u64,
    backend: Backend,
    resources: u64,
    batches: Vec<usize>,
    load_rate: u64,
    load_seconds: u64,
    only: Option<String>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let number = |name: &str, default: u64| value(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    Options {
        events: number("--events", 1_000_000),
        backend: match value("--backend").as_deref() {
            Some("postgres") => Backend::Postgres,
            _ => Backend::Sqlite,
        },
        resources: number("--resources", 2_000).max(1),
        batches: value("--batch")
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect::<Vec<usize>>())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![5_000]),
        load_rate: number("--load-rate", 2_000).max(1),
        load_seconds: number("--load-seconds", 10),
        only: value("--only"),
    }
}

const USERS: u64 = 200;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).single().unwrap_or_default()
}

fn metadata(actor: Uuid, n: u64) -> EventMetadata {
    EventMetadata {
        actor: Some(actor.to_string()),
        command_id: Some(Uuid::from_u64_pair(1, n)),
        correlation_id: Some(Uuid::from_u64_pair(2, n)),
        causation_id: None,
        client_ip: Some("198.51.100.4".into()),
    }
}

fn event(stream: &str, n: u64, e: &ResourceEvent, actor: Uuid) -> NewEvent {
    let payload = serde_json::to_string(e).unwrap_or_default();
    NewEvent::new(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{stream}/{n}").as_bytes()), e.event_type(), payload)
        .with_metadata(metadata(actor, n))
}

/// The `n`-th event of a resource's booking history: a steady stream of bookings, a third of
/// them cancelled and the rest completed, with time moving forward so the aggregate's state
/// stays small, as it does in production.
fn booking_event(resource: u64, n: u64, tick: u64) -> (ResourceEvent, Uuid) {
    let at = base() + chrono::Duration::minutes(tick as i64);
    let user = Uuid::from_u64_pair(0, n % USERS);
    let reservation_id = Uuid::from_u64_pair(resource, n / 2);
    let start = at + chrono::Duration::hours(1);
    let range = TimeRange::new(start, start + chrono::Duration::minutes(30)).unwrap_or_else(|_| unreachable!());
    if n.is_multiple_of(2) {
        (ResourceEvent::ReservationConfirmed { reservation_id, user_id: user, range, series_id: None, at }, user)
    } else if n.is_multiple_of(3) {
        (ResourceEvent::ReservationCancelled { reservation_id, user_id: user, by: user, reason: None, at }, user)
    } else {
        (ResourceEvent::ReservationCompleted { reservation_id, user_id: user, at }, user)
    }
}

fn created(resource: u64) -> ResourceEvent {
    ResourceEvent::ResourceCreated {
        resource_id: Uuid::from_u64_pair(9, resource),
        details: ResourceDetails {
            name: format!("Room {resource}"),
            kind: ResourceKind::Room,
            tags: vec!["bench".into()],
            description: "benchmark room".into(),
            location: "HQ".into(),
            group_id: None,
        },
        capacity: 2,
        time_zone: Tz::Europe__Berlin,
        policy: BookingPolicy::default(),
        business_hours: None,
        by: Uuid::nil(),
        at: base(),
    }
}

async fn fill(store: &Arc<dyn EventStore>, o: &Options) -> u64 {
    let started = Instant::now();
    let mut request = AppendRequest::default();
    for user in 0..USERS {
        let id = Uuid::from_u64_pair(0, user);
        let e = UserEvent::Registered {
            user_id: id,
            username: format!("user{user}"),
            password_hash: "x".into(),
            role: if user == 0 { Role::Approver } else { Role::User },
            at: base(),
        };
        let payload = serde_json::to_string(&e).unwrap_or_default();
        let new = NewEvent::new(Uuid::from_u64_pair(3, user), e.event_type(), payload);
        request = request.with_stream(user_stream_id(id), ExpectedVersion::NoStream, vec![new]);
    }
    store.append(request).await.expect("append users");
    let per_resource = (o.events.saturating_sub(USERS) / o.resources).max(1);
    let per_round = 20u64;
    let mut written = USERS;
    let mut round = 0;
    while round * per_round < per_resource && written < o.events {
        let mut request = AppendRequest::default();
        for resource in 0..o.resources {
            let stream = stream_id(Uuid::from_u64_pair(9, resource));
            let mut events = Vec::new();
            for n in round * per_round..((round + 1) * per_round).min(per_resource) {
                let (e, actor) = if n == 0 {
                    (created(resource), Uuid::nil())
                } else {
                    booking_event(resource, n, n * o.resources + resource)
                };
                events.push(event(&stream, n, &e, actor));
            }
            written += events.len() as u64;
            request = request.with_stream(stream, ExpectedVersion::Any, events);
            if request.event_count() >= 2_000 {
                store.append(std::mem::take(&mut request)).await.expect("append");
            }
        }
        if request.event_count() > 0 {
            store.append(request).await.expect("append");
        }
        round += 1;
    }
    let head = store.head().await.expect("head").position;
    let secs = started.elapsed().as_secs_f64();
    println!("log filled: {head} events in {secs:.1} s ({:.0} events/s appended)", head as f64 / secs);
    head
}

async fn lag_under_load(store: &Arc<dyn EventStore>, o: &Options) {
    let handle = ProjectionRuntime::start(store.clone()).await.expect("start projectors");
    let head = store.head().await.expect("head").position;
    handle.wait_for(head, Duration::from_secs(600)).await.expect("caught up");
    let total = o.load_rate * o.load_seconds;
    let interval = Duration::from_secs_f64(1.0 / o.load_rate as f64 * 10.0);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut lags = Vec::new();
    let mut next = 0u64;
    let mut tick = 10_000_000u64;
    while next < total {
        // Ten single-event bookings per interval, each its own append, as commands arrive.
        let appends = (0..10).map(|i| {
            let resource = (next + i) % o.resources;
            let stream = stream_id(Uuid::from_u64_pair(9, resource));
            let n = 1_000_000 + next + i;
            let (e, actor) = booking_event(resource, n - n % 2, tick + i);
            let store = store.clone();
            async move {
                let request =
                    AppendRequest::single(stream.clone(), ExpectedVersion::Any, vec![event(&stream, n, &e, actor)]);
                store.append(request).await.map(|o| o.last_position())
            }
        });
        let positions = futures::future::join_all(appends).await;
        next += 10;
        tick += 10;
        if let Some(Ok(position)) = positions.last() {
            let waited = Instant::now();
            if handle.wait_for(*position, Duration::from_secs(5)).await.is_ok() {
                latencies.push(waited.elapsed());
            }
        }
        let head = store.head().await.map(|h| h.position).unwrap_or(0);
        let slowest = handle.positions().iter().map(|(_, p)| *p).min().unwrap_or(0);
        lags.push(head.saturating_sub(slowest));
        let due = interval * (next / 10) as u32;
        if let Some(sleep) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(sleep).await;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    handle.shutdown().await;
    latencies.sort();
    lags.sort();
    let pct = |v: &[Duration], p: f64| v.get(((v.len() as f64 - 1.0) * p) as usize).copied().unwrap_or_default();
    println!(
        "booking load: {total} single-event appends in {secs:.1} s ({:.0}/s); read-your-writes wait p50 {:?} p99 {:?} max {:?}; \
         lag sampled after each wave: median {} events, max {} events",
        total as f64 / secs,
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        lags.get(lags.len() / 2).copied().unwrap_or(0),
        lags.last().copied().unwrap_or(0),
    );
}

/// Leaves the freshly filled log as a running system's log stands: vacuumed (visibility map and
/// hint bits set, which the first reader of a million fresh rows otherwise does, writing every
/// page once), analyzed, and on PostgreSQL checkpointed (the fill's dirty pages written out).
/// Without it the first rebuild also competes with autovacuum and the checkpointer.
async fn settle(store: &Arc<dyn EventStore>) {
    let started = Instant::now();
    match store.database() {
        reserver_store::Database::Postgres(pool) => {
            sqlx::query("VACUUM (ANALYZE) events").execute(&pool).await.expect("vacuum");
            sqlx::query("CHECKPOINT").execute(&pool).await.expect("checkpoint");
        }
        reserver_store::Database::Sqlite(pool) => {
            sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
        }
    }
    println!("log settled in {:.1} s", started.elapsed().as_secs_f64());
}

/// What the rebuilt read models take on disk (PostgreSQL), the volume a rebuild writes.
async fn print_sizes(store: &Arc<dyn EventStore>) {
    let reserver_store::Database::Postgres(pool) = store.database() else { return };
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT relname::text, pg_table_size(relid), pg_indexes_size(relid) FROM pg_stat_user_tables \
         WHERE relname LIKE 'rm\\_%' AND pg_table_size(relid) > 1048576 ORDER BY 2 DESC",
    )
    .fetch_all(&pool)
    .await
    .expect("table sizes");
    for (table, heap, indexes) in rows {
        println!("  {table:<24} table {:>5} MiB, indexes {:>5} MiB", heap >> 20, indexes >> 20);
    }
}

/// CPU seconds the whole machine has spent busy so far (every process, PostgreSQL included),
/// from Linux's `/proc/stat` (clock ticks of 1/100 s); `None` elsewhere.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal …: all but idle and iowait were busy.
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((ticks.iter().sum::<f64>() - idle) / 100.0)
}

/// "… core-s" for the CPU the machine spent busy since `before`, when it can be read.
fn core_seconds_since(before: Option<f64>) -> String {
    match (before, machine_busy_seconds()) {
        (Some(before), Some(now)) => format!(", {:.1} core-s busy", now - before),
        _ => String::new(),
    }
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let db = ScratchDatabase::new(o.backend).await;
        let store = db.open().await;
        println!("backend {:?}, {} resources", o.backend, o.resources);
        let head = fill(&store, &o).await;
        settle(&store).await;
        for &batch in &o.batches {
            let (started, busy) = (Instant::now(), machine_busy_seconds());
            let statuses = rebuild_with(store.clone(), o.only.as_deref(), batch).await.expect("rebuild");
            let secs = started.elapsed().as_secs_f64();
            assert!(statuses.iter().all(|s| s.position == head), "{statuses:?}");
            println!(
                "rebuild of {} read model(s), batch {batch}: {head} events in {secs:.1} s = {:.0} events/s{}",
                statuses.len(),
                head as f64 / secs,
                core_seconds_since(busy)
            );
            if std::env::args().any(|a| a == "--per-projector") {
                for projector in reserver_projections::all_projectors() {
                    let (started, busy) = (Instant::now(), machine_busy_seconds());
                    rebuild_with(store.clone(), Some(projector.name()), batch).await.expect("rebuild");
                    let secs = started.elapsed().as_secs_f64();
                    println!(
                        "  {:<14} alone: {secs:.1} s = {:.0} events/s{}",
                        projector.name(),
                        head as f64 / secs,
                        core_seconds_since(busy)
                    );
                }
            }
        }
        if std::env::args().any(|a| a == "--sizes") {
            print_sizes(&store).await;
        }
        if o.load_seconds > 0 {
            lag_under_load(&store, &o).await;
        }
    });
}

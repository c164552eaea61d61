//! Benchmarks of the availability index alone (no HTTP): uncached free-slot queries,
//! cross-resource search, memory per reservation, the write side's booking decision on a
//! busy resource, and start-up from a log of 1,000,000 events.
//!
//! ```text
//! cargo bench -p reserver-availability-index --bench index -- queries
//! cargo bench -p reserver-availability-index --bench index -- startup --backend postgres --events 1000000
//! cargo bench -p reserver-availability-index --bench index -- startup --backend sqlite --events 1000000
//! ```
//! `queries` options: `--bookings N` per resource (default 1,000), `--resources N` for the
//! search (default 500), `--seconds N` per throughput phase (default 5), `--threads N`
//! (default 2). `startup` options: `--events N`, `--resources N` (default 2,000), `--live N`
//! (future bookings appended after that history, still live at the end; default 0),
//! `--backend sqlite|postgres` (PostgreSQL from `TEST_DATABASE_URL`), `--read-model` to also
//! time building the states from the reservations read model after a rebuild of it,
//! `--replica PATH` to also start that `reserver` binary (`serve`) on the filled log, three
//! times, and time it until `GET /ready` answers 200 (a whole replica: migrations, projectors,
//! the index, the live hub, then the listener).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use reserver_availability_index::{AvailabilityIndex, IndexConfig, IndexLimits, MemoryIndex, SearchQuery};
use reserver_domain::resource::{stream_id, ResourceDetails, ResourceKind};
use reserver_domain::{
    decide, Actor, BookingPolicy, DecisionContext, ResourceCommand, ResourceEvent, ResourceState, Role, TimeRange,
};
use reserver_store::scratch::ScratchDatabase;
use reserver_store::{AppendRequest, Backend, EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use uuid::Uuid;

/// Counts live heap bytes, for the memory figure.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn number(name: &str, default: u64) -> u64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (xorshift64*), so runs are repeatable without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// "Now" of the query benchmarks: Monday 2030-03-04 00:00 UTC.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 0, 0, 0).single().unwrap_or_default()
}

const DAYS: u64 = 60;

fn created(id: Uuid, n: u64, at: DateTime<Utc>) -> ResourceEvent {
    ResourceEvent::ResourceCreated {
        resource_id: id,
        details: ResourceDetails {
            name: format!("Room {n}"),
            kind: ResourceKind::Room,
            tags: vec!["bench".into(), if n.is_multiple_of(2) { "video".into() } else { "quiet".into() }],
            description: String::new(),
            location: String::new(),
            group_id: None,
        },
        capacity: 1,
        time_zone: Tz::Europe__Berlin,
        policy: BookingPolicy::default(),
        business_hours: None,
        by: Uuid::nil(),
        at,
    }
}

/// A resource with `bookings` confirmed bookings over the next 60 days: on each day, distinct
/// whole hours, 30 or 60 minutes long (a day about two thirds booked at 1,000 bookings).
fn resource_events(n: u64, bookings: u64, rng: &mut Rng) -> (Uuid, Vec<ResourceEvent>) {
    let id = Uuid::from_u64_pair(9, n);
    let mut events = vec![created(id, n, now())];
    let per_day = bookings.div_ceil(DAYS).min(24);
    let mut made = 0;
    'days: for day in 0..DAYS {
        let mut hours: Vec<u64> = (0..24).collect();
        for i in 0..per_day as usize {
            if made == bookings {
                break 'days;
            }
            let pick = i + rng.below(24 - i as u64) as usize;
            hours.swap(i, pick);
            let start = now() + chrono::Duration::hours((day * 24 + hours[i]) as i64);
            let length = chrono::Duration::minutes(if rng.below(2) == 0 { 30 } else { 60 });
            let Ok(range) = TimeRange::new(start, start + length) else { continue };
            let reservation_id = Uuid::from_u64_pair(n, made);
            let user_id = Uuid::from_u64_pair(0, rng.below(200));
            events.push(ResourceEvent::ReservationConfirmed {
                reservation_id,
                user_id,
                range,
                series_id: None,
                at: now(),
            });
            made += 1;
        }
    }
    (id, events)
}

fn record(id: Uuid, events: &[ResourceEvent], first: u64) -> Vec<RecordedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| RecordedEvent {
            position: first + i as u64,
            event_id: Uuid::from_u64_pair(first, i as u64),
            stream_id: stream_id(id),
            stream_version: i as u64 + 1,
            event_type: e.event_type().to_string(),
            schema_version: 1,
            payload: serde_json::to_string(e).unwrap_or_default(),
            metadata: "{}".into(),
            recorded_at: now(),
            prev_hash: Vec::new(),
            hash: Vec::new(),
        })
        .collect()
}

/// An index holding `resources` resources of `bookings` bookings each, fed as log events.
fn build(resources: u64, bookings: u64) -> (MemoryIndex, Vec<(Uuid, ResourceState)>) {
    let index = MemoryIndex::new(IndexLimits { max_reservations: usize::MAX });
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut position = 1;
    let mut states = Vec::new();
    for n in 0..resources {
        let (id, events) = resource_events(n, bookings, &mut rng);
        let recorded = record(id, &events, position);
        position += recorded.len() as u64;
        index.apply(&recorded);
        states.push((id, ResourceState::from_events(&events)));
    }
    (index, states)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

fn report(name: &str, mut latencies: Vec<Duration>, elapsed: Duration) {
    latencies.sort();
    println!(
        "{name}: {} queries in {:.1} s = {:.0}/s; p50 {:?} p99 {:?} max {:?}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
}

/// Runs `query` on `threads` threads for `seconds`, each with its own generator.
fn throughput(name: &str, threads: u64, seconds: u64, query: impl Fn(&mut Rng) + Sync) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let latencies: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let query = &query;
                scope.spawn(move || {
                    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ (t + 1));
                    let mut own = Vec::new();
                    while Instant::now() < deadline {
                        let begun = Instant::now();
                        query(&mut rng);
                        own.push(begun.elapsed());
                    }
                    own
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    report(name, latencies, started.elapsed());
}

fn queries() {
    let bookings = number("--bookings", 1_000);
    let resources = number("--resources", 500);
    let seconds = number("--seconds", 5);
    let threads = number("--threads", 2).max(1);

    // Memory: 100 resources × 1,000 bookings = 100,000 live reservations.
    let before = LIVE.load(Ordering::Relaxed);
    let (small, states) = build(100, 1_000);
    drop(states);
    let held = small.stats().reservations;
    let bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "memory: {held} live reservations in 100 resources hold {:.1} MiB = {} bytes per reservation (index, all included)",
        bytes as f64 / (1 << 20) as f64,
        bytes / held.max(1)
    );
    drop(small);

    let started = Instant::now();
    let (index, states) = build(resources, bookings);
    println!(
        "built: {resources} resources × {bookings} bookings ({} reservations) from log events in {:.1} s",
        index.stats().reservations,
        started.elapsed().as_secs_f64()
    );
    let ids: Vec<Uuid> = states.iter().map(|(id, _)| *id).collect();
    let day_window = |rng: &mut Rng| {
        let start = now() + chrono::Duration::days(rng.below(DAYS) as i64);
        TimeRange::new(start, start + chrono::Duration::days(1)).unwrap_or_else(|_| unreachable!())
    };
    let duration = |rng: &mut Rng| chrono::Duration::minutes(30 * (1 + rng.below(8) as i64));

    throughput(
        "free slots (random resource, random day, random 30–240 min, up to 50 slots)",
        threads,
        seconds,
        |rng| {
            let id = ids[rng.below(ids.len() as u64) as usize];
            let slots = index.free_slots(id, day_window(rng), duration(rng), now(), 50, None);
            std::hint::black_box(slots.ok());
        },
    );
    throughput("free slots, 30-day window (random resource, random 30–240 min, up to 50)", threads, seconds, |rng| {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let start = now() + chrono::Duration::days(rng.below(30) as i64);
        let window = TimeRange::new(start, start + chrono::Duration::days(30)).unwrap_or_else(|_| unreachable!());
        std::hint::black_box(index.free_slots(id, window, duration(rng), now(), 50, None).ok());
    });
    throughput("next available (random resource, from a random day)", threads, seconds, |rng| {
        let id = ids[rng.below(ids.len() as u64) as usize];
        std::hint::black_box(index.next_available(id, day_window(rng).start(), duration(rng), now(), None).ok());
    });
    throughput("schedule grid, one week", threads, seconds, |rng| {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let from = day_window(rng).start().date_naive();
        std::hint::black_box(index.schedule(id, from, 7).ok());
    });
    throughput("day summary, 30 days of 60-minute slots (the availability route)", threads, seconds, |rng| {
        let id = ids[rng.below(ids.len() as u64) as usize];
        let from = day_window(rng).start().date_naive();
        std::hint::black_box(index.day_summary(id, from, 30, chrono::Duration::hours(1), now()).ok());
    });
    for (label, tags, per) in
        [("every resource", vec![], 5), ("tag `video` (half of them)", vec!["video".to_string()], 5)]
    {
        throughput(
            &format!("search over {resources} resources, one-day window, {label}, {per} slots each"),
            1,
            seconds,
            |rng| {
                let query = SearchQuery {
                    tags: tags.clone(),
                    group_id: None,
                    include_subgroups: false,
                    min_capacity: None,
                    kind: None,
                    window: day_window(rng),
                    duration: duration(rng),
                    slots_per_resource: per,
                    max_resources: 1000,
                };
                std::hint::black_box(index.search(&query, now(), None));
            },
        );
    }

    // The write side's decision on the same busy resources: a booking into a random hour
    // (accepted when free, else refused with conflicts and three suggestions).
    let actor = Actor { user_id: Uuid::from_u128(5), role: Role::User };
    throughput("decide a booking on a resource of 1,000 bookings (write side, no I/O)", threads, seconds, |rng| {
        let (_, state) = &states[rng.below(states.len() as u64) as usize];
        let start = now() + chrono::Duration::hours(rng.below(DAYS * 24) as i64);
        let range = TimeRange::new(start, start + chrono::Duration::hours(1)).unwrap_or_else(|_| unreachable!());
        let command = ResourceCommand::Book { reservation_id: Uuid::from_u64_pair(7, rng.next()), range };
        std::hint::black_box(decide(state, &command, &DecisionContext { now: now(), actor }).is_ok());
    });
    let (_, state) = &states[0];
    let event = ResourceEvent::ReservationConfirmed {
        reservation_id: Uuid::from_u128(0xFEED),
        user_id: Uuid::nil(),
        range: TimeRange::new(
            now() + chrono::Duration::days(70),
            now() + chrono::Duration::days(70) + chrono::Duration::hours(1),
        )
        .unwrap_or_else(|_| unreachable!()),
        series_id: None,
        at: now(),
    };
    throughput("copy a state of 1,000 bookings and apply one event (a batch's scratch state)", 1, seconds, |_| {
        let mut copy = state.clone();
        copy.apply(&event);
        std::hint::black_box(copy);
    });
}

/// The `n`-th event of a resource's history in the start-up log: bookings an hour ahead, a
/// third cancelled and the rest completed, time moving forward (as `projections/benches/replay.rs`).
fn history_event(resource: u64, n: u64, tick: u64) -> ResourceEvent {
    let at = now() + chrono::Duration::minutes(tick as i64);
    let user = Uuid::from_u64_pair(0, n % 200);
    let reservation_id = Uuid::from_u64_pair(resource, n / 2);
    let start = at + chrono::Duration::hours(1);
    let range = TimeRange::new(start, start + chrono::Duration::minutes(30)).unwrap_or_else(|_| unreachable!());
    if n.is_multiple_of(2) {
        ResourceEvent::ReservationConfirmed { reservation_id, user_id: user, range, series_id: None, at }
    } else if n.is_multiple_of(3) {
        ResourceEvent::ReservationCancelled { reservation_id, user_id: user, by: user, reason: None, at }
    } else {
        ResourceEvent::ReservationCompleted { reservation_id, user_id: user, at }
    }
}

async fn fill(store: &Arc<dyn EventStore>, events: u64, resources: u64) -> u64 {
    let started = Instant::now();
    let per_resource = (events / resources).max(1);
    let mut written = 0;
    let mut round = 0;
    while round * 20 < per_resource && written < events {
        let mut request = AppendRequest::default();
        for r in 0..resources {
            let id = Uuid::from_u64_pair(9, r);
            let mut batch = Vec::new();
            for n in round * 20..((round + 1) * 20).min(per_resource) {
                let e = if n == 0 { created(id, r, now()) } else { history_event(r, n, n * resources + r) };
                let payload = serde_json::to_string(&e).unwrap_or_default();
                let event_id = Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("{r}/{n}").as_bytes());
                batch.push(NewEvent::new(event_id, e.event_type(), payload));
            }
            written += batch.len() as u64;
            request = request.with_stream(stream_id(id), ExpectedVersion::Any, batch);
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
    println!("log filled: {head} events in {:.1} s", started.elapsed().as_secs_f64());
    head
}

/// `live` bookings in the future, spread over the resources, after all of the history.
async fn add_live(store: &Arc<dyn EventStore>, live: u64, resources: u64) -> u64 {
    let at = now() + chrono::Duration::minutes(2_000_000);
    let mut request = AppendRequest::default();
    for k in 0..live {
        let r = k % resources;
        let start = at + chrono::Duration::days(1) + chrono::Duration::hours((k / resources) as i64);
        let range = TimeRange::new(start, start + chrono::Duration::minutes(45)).unwrap_or_else(|_| unreachable!());
        let reservation_id = Uuid::from_u64_pair(u64::MAX - r, k);
        let e =
            ResourceEvent::ReservationConfirmed { reservation_id, user_id: Uuid::nil(), range, series_id: None, at };
        let payload = serde_json::to_string(&e).unwrap_or_default();
        let new =
            NewEvent::new(Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("live/{k}").as_bytes()), e.event_type(), payload);
        request = request.with_stream(stream_id(Uuid::from_u64_pair(9, r)), ExpectedVersion::Any, vec![new]);
        if request.event_count() >= 2_000 {
            store.append(std::mem::take(&mut request)).await.expect("append");
        }
    }
    if request.event_count() > 0 {
        store.append(request).await.expect("append");
    }
    let head = store.head().await.expect("head").position;
    println!("{live} live bookings appended; log head {head}");
    head
}

fn startup() {
    let backend = match arg("--backend").as_deref() {
        Some("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let events = number("--events", 1_000_000);
    let resources = number("--resources", 2_000).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let db = ScratchDatabase::new(backend).await;
        let store = db.open().await;
        println!("backend {backend:?}, {resources} resources");
        let mut head = fill(&store, events, resources).await;
        let live = number("--live", 0);
        if live > 0 {
            head = add_live(&store, live, resources).await;
        }
        for run in 1..=3 {
            let before = LIVE.load(Ordering::Relaxed);
            let index = AvailabilityIndex::start(store.clone(), IndexConfig::default()).await.expect("start");
            let report = index.startup();
            let stats = index.stats();
            println!(
                "start-up {run} from the log: {} events to position {} in {:.2} s = {:.0} events/s; {} resources, {} live reservations, {:.1} MiB",
                report.events,
                report.position,
                report.elapsed.as_secs_f64(),
                report.events as f64 / report.elapsed.as_secs_f64(),
                stats.resources,
                stats.reservations,
                LIVE.load(Ordering::Relaxed).saturating_sub(before) as f64 / (1 << 20) as f64,
            );
            assert_eq!(report.position, head);
            index.shutdown().await;
        }
        if let Some(bin) = arg("--replica") {
            for run in 1..=3 {
                let (elapsed, rss) = replica_ready(&bin, db.url()).await;
                println!(
                    "replica {run}: `{bin} serve` answered GET /ready 200 after {:.2} s; resident memory then {:.1} MiB",
                    elapsed.as_secs_f64(),
                    rss as f64 / 1024.0
                );
            }
        }
        if std::env::args().any(|a| a == "--read-model") {
            let started = Instant::now();
            reserver_projections::rebuild(store.clone(), Some("reservations")).await.expect("rebuild");
            println!("reservations read model rebuilt in {:.1} s", started.elapsed().as_secs_f64());
            for run in 1..=3 {
                let started = Instant::now();
                let (states, live) = states_from_read_model(&store).await;
                println!(
                    "start-up {run} from the read model: {states} resource states and {live} live reservations read and decoded in {:.2} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
    });
}

/// Starts `bin serve` on `database_url` and times it until `GET /ready` answers 200; stops it.
/// Returns that time and the process's resident memory (KiB, `VmRSS`) when it was ready.
async fn replica_ready(bin: &str, database_url: &str) -> (Duration, u64) {
    use std::io::{BufRead, Read, Write};
    let started = Instant::now();
    let mut child = std::process::Command::new(bin)
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .env("DATABASE_URL", database_url)
        .env("SECRET_KEY", "bench-only-secret-key-that-is-long-enough-for-hs256")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the replica");
    // `serve` binds a free port itself and prints `listening on http://127.0.0.1:PORT`.
    let stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let port: u16 = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.rsplit_once(':').and_then(|(_, port)| port.trim().parse().ok()))
        .expect("the replica announces its port");
    let ready = || -> bool {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
        let request = format!("GET /ready HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.lines().next().is_some_and(|status| status.contains(" 200"))
    };
    while !ready() {
        assert!(started.elapsed() < Duration::from_secs(600), "the replica was not ready within 10 minutes");
        assert!(child.try_wait().expect("child").is_none(), "the replica exited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    (elapsed, rss)
}

/// What a start-up from the read model would read: every resource's stored state and its
/// reservations from the pruning cutoff on, decoded into aggregate states (the bulk form of
/// `reserver_projections::availability::resource_state`).
async fn states_from_read_model(store: &Arc<dyn EventStore>) -> (usize, usize) {
    use reserver_projections::reservations::ReservationView;
    use reserver_projections::sql::fetch_all;
    let db = store.database();
    let rows = fetch_all(&db, "SELECT resource_id, state FROM rm_resource_states", &[]).await.expect("states");
    let mut states = std::collections::HashMap::new();
    for row in &rows {
        let state: ResourceState = serde_json::from_str(&row.text(1).expect("state")).expect("decode state");
        states.insert(row.text(0).expect("id"), state);
    }
    let rows = fetch_all(
        &db,
        "SELECT r.resource_id, r.doc FROM rm_reservations r JOIN rm_resource_states s ON s.resource_id = r.resource_id \
         WHERE r.end_at >= s.retain_from AND r.status IN ('confirmed', 'pending_approval', 'offered')",
        &[],
    )
    .await
    .expect("reservations");
    for row in &rows {
        let view: ReservationView = serde_json::from_str(&row.text(1).expect("doc")).expect("decode reservation");
        if let Some(state) = states.get_mut(&row.text(0).expect("id")) {
            state.reservations.insert(view.reservation_id, view.as_aggregate_entry());
        }
    }
    (states.len(), rows.len())
}

fn main() {
    if std::env::args().any(|a| a == "startup") {
        startup();
    } else {
        queries();
    }
}

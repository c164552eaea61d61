//! The command pipeline. Commands for one aggregate instance queue in a per-stream slot; one
//! drainer task at a time takes everything queued, decides each command in order against the
//! evolving state (so the batch is as if decided one by one), and appends all of their events
//! in one append with the expected version it loaded. The store's group commit then combines
//! the appends of many streams into one transaction: one fsync, many commands. If another
//! writer (another replica) got there first, the append fails on the expected version and the
//! whole batch is reloaded and decided again. Answers go out only after the append committed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reserver_domain::{Actor, DecisionContext};
use reserver_store::{AppendError, AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent, Snapshot};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::cache::{AggregateCache, Loaded};
use crate::clock::Clock;
use crate::idempotency::{self, IdempotencyKey, IdempotencyRecord, RecordedOutcome};
use crate::CommandError;

/// Events read per page when catching an aggregate up.
const LOAD_PAGE: usize = 1000;

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Aggregates kept in memory.
    pub cache_capacity: usize,
    /// Save a snapshot every this many events of a stream.
    pub snapshot_every: u64,
    /// Attempts before a batch gives up under contention.
    pub max_attempts: u32,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self { cache_capacity: 10_000, snapshot_every: 200, max_attempts: 30 }
    }
}

/// Everything about a command besides the command itself.
#[derive(Debug, Clone, Default)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub client_ip: Option<String>,
    pub idempotency: Option<IdempotencyKey>,
    /// Streams that must not exist yet, claimed by this command in the same append (unique
    /// names such as usernames). Losing a claim answers `ClaimTaken`.
    pub claims: Vec<String>,
    /// Optimistic concurrency for clients (`If-Match`): decide only if the aggregate is still at
    /// this version, else answer `VersionMismatch`.
    pub expected_version: Option<u64>,
}

impl CommandMeta {
    pub fn new() -> Self {
        Self { command_id: Uuid::new_v4(), ..Self::default() }
    }
}

/// A command's accepted result.
#[derive(Debug)]
pub struct Decided<A: Aggregate> {
    pub events: Vec<A::Event>,
    /// The aggregate's stream version after this command.
    pub stream_version: u64,
    /// Log position covering this command's writes: the read-your-writes token.
    pub position: u64,
    /// True when answered from an idempotency record instead of decided now.
    pub replayed: bool,
}

impl<A: Aggregate> Clone for Decided<A> {
    fn clone(&self) -> Self {
        Self {
            events: self.events.clone(),
            stream_version: self.stream_version,
            position: self.position,
            replayed: self.replayed,
        }
    }
}

type Reply<A> = oneshot::Sender<Result<Decided<A>, CommandError>>;

struct Job<A: Aggregate> {
    actor: Actor,
    command: A::Command,
    meta: CommandMeta,
    reply: Reply<A>,
}

struct SlotQueue<A: Aggregate> {
    jobs: Vec<Job<A>>,
    draining: bool,
}

impl<A: Aggregate> Default for SlotQueue<A> {
    fn default() -> Self {
        Self { jobs: Vec::new(), draining: false }
    }
}

struct Slot<A: Aggregate> {
    queue: Mutex<SlotQueue<A>>,
}

/// Runs commands of one aggregate type.
pub struct CommandPipeline<A: Aggregate> {
    inner: Arc<Inner<A>>,
}

impl<A: Aggregate> Clone for CommandPipeline<A> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

struct Inner<A: Aggregate> {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    cache: AggregateCache<A::State>,
    slots: Mutex<HashMap<Uuid, Arc<Slot<A>>>>,
    config: PipelineConfig,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<A: Aggregate> CommandPipeline<A> {
    pub fn new(store: Arc<dyn EventStore>, clock: Arc<dyn Clock>, config: PipelineConfig) -> Self {
        let cache = AggregateCache::new(config.cache_capacity);
        Self { inner: Arc::new(Inner { store, clock, cache, slots: Mutex::new(HashMap::new()), config }) }
    }

    /// Decides `command` for aggregate `id` as `actor` and appends its events.
    pub async fn execute(
        &self,
        id: Uuid,
        actor: Actor,
        command: A::Command,
        meta: CommandMeta,
    ) -> Result<Decided<A>, CommandError> {
        let (reply, answer) = oneshot::channel();
        let slot =
            lock(&self.inner.slots).entry(id).or_insert_with(|| Arc::new(Slot { queue: Mutex::default() })).clone();
        let start_drainer = {
            let mut queue = lock(&slot.queue);
            queue.jobs.push(Job { actor, command, meta, reply });
            !std::mem::replace(&mut queue.draining, true)
        };
        if start_drainer {
            // A task of its own: the caller may go away (a dropped HTTP request) without
            // stranding the others queued behind it.
            let inner = self.inner.clone();
            tokio::spawn(async move { inner.drain(id, slot).await });
        }
        answer.await.map_err(|_| CommandError::Unavailable("the command pipeline stopped".into()))?
    }

    /// Decides `command` for aggregate `id` as `actor` on its current state (caught up with the
    /// log) at the clock's now, and appends nothing: the events it would cause, or its
    /// rejection. For previews ("dry runs"); a later `execute` decides again on the state then.
    pub async fn preview(&self, id: Uuid, actor: Actor, command: &A::Command) -> Result<Vec<A::Event>, CommandError> {
        let loaded = self.inner.load_fresh(id).await?;
        let ctx = DecisionContext { now: self.inner.clock.now(), actor };
        A::decide(&loaded.state, command, &ctx).map_err(CommandError::Rejected)
    }

    /// The aggregate's current state and version, caught up with the log.
    pub async fn load(&self, id: Uuid) -> Result<(u64, A::State), CommandError> {
        let loaded = self.inner.load_fresh(id).await?;
        Ok((loaded.version, loaded.state.clone()))
    }

    /// `f` applied to the aggregate at `version` or later: to the cached state in place when it
    /// is that far already (no read, no copy), else to a freshly loaded one. For log followers
    /// that know the version they have seen; `f` should be quick, it may run under the cache lock.
    pub async fn inspect_at_least<R>(
        &self,
        id: Uuid,
        version: u64,
        f: impl Fn(&A::State) -> R,
    ) -> Result<R, CommandError> {
        let cached = self.inner.cache.inspect(id, |loaded| (loaded.version >= version).then(|| f(&loaded.state)));
        match cached.flatten() {
            Some(answer) => Ok(answer),
            None => Ok(f(&self.inner.load_fresh(id).await?.state)),
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}

/// What deciding one job produced, before the append.
enum Planned<A: Aggregate> {
    /// Known without writing (an idempotent replay, a reused key, a rejection without key).
    Answer(Result<Decided<A>, CommandError>),
    /// To be written: its events (maybe none) and, for keyed or claiming commands, extra streams.
    Write { events: Vec<A::Event>, rejection: Option<reserver_domain::Rejection>, extra: Vec<(String, NewEvent)> },
    /// A repeat, within this batch, of the keyed request at this index: gets the same answer.
    SameAs(usize),
}

impl<A: Aggregate> Planned<A> {
    /// True for answers that do not depend on the aggregate's state being current: replays
    /// and reused keys. (A version mismatch is decided on the state, so it is not settled.)
    fn is_settled(&self) -> bool {
        match self {
            Planned::Answer(Ok(_)) | Planned::SameAs(_) => true,
            Planned::Answer(Err(e)) => matches!(e, CommandError::IdempotencyKeyReused | CommandError::ClaimTaken(_)),
            Planned::Write { .. } => false,
        }
    }
}

/// What earlier jobs of the batch being planned have taken.
#[derive(Default)]
struct BatchScope {
    /// Idempotency stream → (fingerprint, index of the job that records it).
    keys: HashMap<String, (String, usize)>,
    claims: std::collections::HashSet<String>,
}

impl<A: Aggregate> Inner<A> {
    async fn drain(self: Arc<Self>, id: Uuid, slot: Arc<Slot<A>>) {
        loop {
            let jobs = {
                let mut queue = lock(&slot.queue);
                if queue.jobs.is_empty() {
                    queue.draining = false;
                    break;
                }
                std::mem::take(&mut queue.jobs)
            };
            self.process(id, jobs).await;
        }
        let mut slots = lock(&self.slots);
        let idle = lock(&slot.queue).jobs.is_empty();
        if idle && slots.get(&id).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            slots.remove(&id);
        }
    }

    async fn process(&self, id: Uuid, mut jobs: Vec<Job<A>>) {
        let stream = A::stream_id(id);
        for attempt in 0..self.config.max_attempts {
            if attempt > 2 {
                // Someone else keeps winning: step back a little, differently each time.
                let jitter = (Uuid::new_v4().as_u128() % 5_000) as u64;
                tokio::time::sleep(Duration::from_micros(jitter * u64::from(attempt.min(10)))).await;
            }
            // The cached state is trusted: the append carries the version it was decided at,
            // so a stale cache is caught by the store, forgotten, and the batch decided again.
            let (base, read_now) = match self.cache.get(id) {
                Some(cached) => (cached, false),
                None => match self.load_fresh(id).await {
                    Ok(l) => (l, true),
                    Err(e) => return fail_all(jobs, &e),
                },
            };
            let now = self.clock.now();
            let mut version = base.version;
            // Commands are decided on the shared cached state; a copy is made only when a later
            // command of the batch must see the events of an earlier one.
            let mut own: Option<A::State> = None;
            let mut unapplied: Vec<A::Event> = Vec::new();
            let mut plans = Vec::with_capacity(jobs.len());
            let mut scope = BatchScope::default();
            for (index, job) in jobs.iter().enumerate() {
                if !unapplied.is_empty() {
                    let state = own.get_or_insert_with(|| base.state.clone());
                    evolve_all::<A>(state, unapplied.drain(..));
                }
                let state = own.as_ref().unwrap_or(&base.state);
                let plan = self.plan(state, version, (index, job), &mut scope, now, &stream).await;
                if let Planned::Write { events, .. } = &plan {
                    version += events.len() as u64;
                    unapplied.extend(events.iter().cloned());
                }
                plans.push(plan);
            }
            let mut main_events = Vec::new();
            for (job, plan) in jobs.iter().zip(&plans) {
                if let Planned::Write { events, .. } = plan {
                    for e in events {
                        match encode::<A>(e, job) {
                            Ok(ev) => main_events.push(ev),
                            Err(err) => return fail_all(jobs, &err),
                        }
                    }
                }
            }
            let main_count = main_events.len() as u64;
            let extra: Vec<_> = plans
                .iter()
                .flat_map(|p| match p {
                    Planned::Write { extra, .. } => extra.as_slice(),
                    _ => &[],
                })
                .collect();
            if main_count == 0 && extra.is_empty() && (read_now || plans.iter().all(Planned::is_settled)) {
                // Nothing to write, and nothing decided on a state that may be stale: decisions
                // on a state just read, or answers that did not look at the state at all.
                return answer_written(jobs, plans, base.version, &[], 0);
            }
            // With no events of its own, the stream is only checked: rejections decided on
            // the cache stand only if no other writer moved the aggregate since.
            let mut request = AppendRequest::single(&stream, ExpectedVersion::Exact(base.version), main_events);
            for (extra_stream, event) in extra {
                request = request.with_stream(extra_stream, ExpectedVersion::NoStream, vec![event.clone()]);
            }
            match self.store.append(request).await {
                Ok(outcome) => {
                    let from = base.version;
                    if main_count > 0 {
                        drop(base);
                        self.remember(id, &stream, from, from + main_count, own, unapplied);
                    }
                    return answer_written(jobs, plans, from, &outcome.positions, main_count as usize);
                }
                Err(AppendError::WrongExpectedVersion { stream_id, .. }) => {
                    if stream_id == stream {
                        self.cache.forget(id);
                    } else if let Some(i) = jobs.iter().position(|j| j.meta.claims.contains(&stream_id)) {
                        let job = jobs.remove(i);
                        let _ = job.reply.send(Err(CommandError::ClaimTaken(stream_id)));
                    }
                    // A lost idempotency-key race needs nothing: the next attempt finds the record.
                }
                Err(e) => return fail_all(jobs, &e),
            }
        }
        for job in jobs {
            let _ = job.reply.send(Err(CommandError::Contention(stream.clone())));
        }
    }

    /// Decides one job against `state` (at stream `version`).
    async fn plan(
        &self,
        state: &A::State,
        version: u64,
        (index, job): (usize, &Job<A>),
        scope: &mut BatchScope,
        now: chrono::DateTime<chrono::Utc>,
        stream: &str,
    ) -> Planned<A> {
        if let Some(key) = &job.meta.idempotency {
            match scope.keys.get(key.stream_id()) {
                Some((fingerprint, first)) if fingerprint == key.fingerprint() => return Planned::SameAs(*first),
                Some(_) => return Planned::Answer(Err(CommandError::IdempotencyKeyReused)),
                None => {}
            }
        }
        if job.meta.expected_version.is_some_and(|v| v != version) {
            return Planned::Answer(Err(CommandError::VersionMismatch { current: version }));
        }
        if let Some(claim) = job.meta.claims.iter().find(|c| scope.claims.contains(*c)) {
            return Planned::Answer(Err(CommandError::ClaimTaken(claim.clone())));
        }
        if let Some(key) = &job.meta.idempotency {
            match idempotency::lookup(self.store.as_ref(), key).await {
                Ok(Some((record, position))) if idempotency::matches(&record, key) => {
                    return Planned::Answer(replay::<A>(record, position));
                }
                Ok(Some(_)) => return Planned::Answer(Err(CommandError::IdempotencyKeyReused)),
                Ok(None) => {}
                Err(e) => return Planned::Answer(Err(CommandError::Unavailable(e.to_string()))),
            }
        }
        let ctx = DecisionContext { now, actor: job.actor };
        let decision = A::decide(state, &job.command, &ctx);
        let (events, rejection) = match decision {
            Ok(events) => (events, None),
            Err(rejection) if job.meta.idempotency.is_none() => {
                return Planned::Answer(Err(CommandError::Rejected(rejection)));
            }
            Err(rejection) => (Vec::new(), Some(rejection)),
        };
        let mut extra = Vec::new();
        if let Some(key) = &job.meta.idempotency {
            let outcome = match &rejection {
                Some(r) => RecordedOutcome::Rejected { rejection: r.clone() },
                None => RecordedOutcome::Decided {
                    events: serde_json::to_value(&events).unwrap_or_default(),
                    stream_version: version + events.len() as u64,
                },
            };
            scope.keys.insert(key.stream_id().to_string(), (key.fingerprint().to_string(), index));
            let record = IdempotencyRecord { fingerprint: key.fingerprint().to_string(), outcome };
            match record.to_event() {
                Ok(e) => extra.push((key.stream_id().to_string(), e.with_metadata(metadata(job)))),
                Err(e) => return Planned::Answer(Err(e)),
            }
        }
        if !events.is_empty() {
            scope.claims.extend(job.meta.claims.iter().cloned());
            for claim in &job.meta.claims {
                let payload = serde_json::json!({ "claimed_by": stream }).to_string();
                extra.push((
                    claim.clone(),
                    NewEvent::new(Uuid::new_v4(), "claim_registered", payload).with_metadata(metadata(job)),
                ));
            }
        }
        Planned::Write { events, rejection, extra }
    }

    /// Caches the state after a committed batch — `own` evolved by the events not yet applied
    /// to it, or else the cached entry advanced in place — and, every `snapshot_every` events,
    /// saves a snapshot in the background.
    fn remember(&self, id: Uuid, stream: &str, from: u64, to: u64, own: Option<A::State>, unapplied: Vec<A::Event>) {
        let advanced = match own {
            Some(mut state) => {
                evolve_all::<A>(&mut state, unapplied.into_iter());
                let loaded = Arc::new(Loaded { version: to, state });
                self.cache.put(id, loaded.clone());
                Some(loaded)
            }
            None => self.cache.advance(id, from, to, |state| evolve_all::<A>(state, unapplied.into_iter())),
        };
        let every = self.config.snapshot_every.max(1);
        let Some(loaded) = advanced.filter(|_| to / every > from / every) else { return };
        let store = self.store.clone();
        let stream = stream.to_string();
        tokio::spawn(async move {
            // The entry's own version: a follower may have cached a newer one meanwhile.
            let version = loaded.version;
            let Ok(state) = serde_json::to_vec(&loaded.state) else { return };
            drop(loaded);
            let snapshot = Snapshot { stream_id: stream, version, schema_version: A::STATE_SCHEMA_VERSION, state };
            if let Err(e) = store.save_snapshot(&snapshot).await {
                tracing::warn!(error = %e, stream = %snapshot.stream_id, "snapshot not saved");
            }
        });
    }

    /// The cached state (or the snapshot, or nothing) caught up with the stream's newer events.
    async fn load_fresh(&self, id: Uuid) -> Result<Arc<Loaded<A::State>>, CommandError> {
        let stream = A::stream_id(id);
        let mut loaded = match self.cache.get(id) {
            Some(l) => l,
            None => Arc::new(self.load_snapshot(&stream).await?),
        };
        let start = loaded.version;
        loop {
            let events = self.store.read_stream(&stream, loaded.version + 1, LOAD_PAGE).await?;
            let page = events.len();
            for recorded in events {
                let event: A::Event = serde_json::from_str(&recorded.payload)
                    .map_err(|e| CommandError::Decode(format!("{stream}@{}: {e}", recorded.stream_version)))?;
                let l = Arc::make_mut(&mut loaded);
                l.state = A::evolve(std::mem::take(&mut l.state), &event);
                l.version = recorded.stream_version;
            }
            if page < LOAD_PAGE {
                break;
            }
        }
        if loaded.version != start || !self.cache.contains(id) {
            self.cache.put(id, loaded.clone());
        }
        Ok(loaded)
    }

    async fn load_snapshot(&self, stream: &str) -> Result<Loaded<A::State>, CommandError> {
        let snapshot = self.store.load_snapshot(stream).await?;
        let usable = snapshot.filter(|s| s.schema_version == A::STATE_SCHEMA_VERSION);
        Ok(usable
            .and_then(|s| serde_json::from_slice(&s.state).ok().map(|state| Loaded { version: s.version, state }))
            .unwrap_or(Loaded { version: 0, state: A::State::default() }))
    }
}

fn evolve_all<A: Aggregate>(state: &mut A::State, events: impl Iterator<Item = A::Event>) {
    for e in events {
        *state = A::evolve(std::mem::take(state), &e);
    }
}

fn metadata<A: Aggregate>(job: &Job<A>) -> EventMetadata {
    EventMetadata {
        actor: Some(job.actor.user_id.to_string()),
        command_id: Some(job.meta.command_id),
        correlation_id: Some(job.meta.correlation_id.unwrap_or(job.meta.command_id)),
        causation_id: job.meta.causation_id,
        client_ip: job.meta.client_ip.clone(),
    }
}

fn encode<A: Aggregate>(event: &A::Event, job: &Job<A>) -> Result<NewEvent, CommandError> {
    let payload = serde_json::to_string(event).map_err(|e| CommandError::Decode(e.to_string()))?;
    Ok(NewEvent::new(Uuid::new_v4(), A::event_type(event), payload).with_metadata(metadata(job)))
}

fn replay<A: Aggregate>(record: IdempotencyRecord, position: u64) -> Result<Decided<A>, CommandError> {
    match record.outcome {
        RecordedOutcome::Rejected { rejection } => Err(CommandError::Rejected(rejection)),
        RecordedOutcome::Decided { events, stream_version } => {
            let events = serde_json::from_value(events).map_err(|e| CommandError::Decode(e.to_string()))?;
            Ok(Decided { events, stream_version, position, replayed: true })
        }
    }
}

fn fail_all<A: Aggregate>(jobs: Vec<Job<A>>, error: &dyn std::fmt::Display) {
    for job in jobs {
        let _ = job.reply.send(Err(CommandError::Unavailable(error.to_string())));
    }
}

/// Sends each job its answer; `SameAs` jobs (`None` here) get a replay of the job they repeat.
fn send_answers<A: Aggregate>(
    jobs: Vec<Job<A>>,
    answers: Vec<Option<Result<Decided<A>, CommandError>>>,
    same_as: &[Option<usize>],
) {
    let repeat = |i: usize| -> Result<Decided<A>, CommandError> {
        match answers.get(i).and_then(|a| a.as_ref()) {
            Some(Ok(d)) => Ok(Decided { replayed: true, ..d.clone() }),
            Some(Err(CommandError::Rejected(r))) => Err(CommandError::Rejected(r.clone())),
            Some(Err(e)) => Err(CommandError::Unavailable(e.to_string())),
            None => Err(CommandError::Unavailable("repeated request has no answer".into())),
        }
    };
    let resolved: Vec<_> = (0..jobs.len()).map(|i| same_as.get(i).copied().flatten().map(repeat)).collect();
    let mut answers = answers;
    for (i, (job, resolved)) in jobs.into_iter().zip(resolved).enumerate() {
        let answer = resolved.or_else(|| answers.get_mut(i).and_then(Option::take));
        let _ = job.reply.send(answer.unwrap_or_else(|| Err(CommandError::Unavailable("no answer".into()))));
    }
}

/// Answers a batch once written (or found to need no write): each job gets the positions of
/// its own writes.
fn answer_written<A: Aggregate>(
    jobs: Vec<Job<A>>,
    plans: Vec<Planned<A>>,
    base_version: u64,
    positions: &[u64],
    main_count: usize,
) {
    let (mut next_main, mut next_extra) = (0usize, main_count);
    let mut version = base_version;
    let same_as: Vec<Option<usize>> =
        plans.iter().map(|p| if let Planned::SameAs(i) = p { Some(*i) } else { None }).collect();
    let mut answers = Vec::with_capacity(jobs.len());
    for plan in plans {
        let answer = match plan {
            Planned::SameAs(_) => None,
            Planned::Answer(a) => Some(a),
            Planned::Write { events, rejection, extra } => Some({
                let own_main =
                    &positions[next_main.min(positions.len())..(next_main + events.len()).min(positions.len())];
                let own_extra =
                    &positions[next_extra.min(positions.len())..(next_extra + extra.len()).min(positions.len())];
                next_main += events.len();
                next_extra += extra.len();
                version += events.len() as u64;
                let position = own_main.iter().chain(own_extra).copied().max().unwrap_or(0);
                match rejection {
                    Some(r) => Err(CommandError::Rejected(r)),
                    None => Ok(Decided { events, stream_version: version, position, replayed: false }),
                }
            }),
        };
        answers.push(answer);
    }
    send_answers(jobs, answers, &same_as);
}

//! Deciding a batch of appends in memory. Both backends lock the log, load what this module
//! needs (head, stream versions, events already stored under the batch's ids), let it decide
//! every append of the batch, then write the rows it produced in one transaction. Keeping the
//! decision here means the two backends cannot disagree on idempotency or version checks.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use uuid::Uuid;

use crate::hash::{event_hash, HashedFields};
use crate::{AppendError, AppendOutcome, AppendRequest, ExpectedVersion, LogHead};

/// Longest accepted stream id; ids are keys, not documents.
const MAX_STREAM_ID_LEN: usize = 256;

/// An event already in the log, as far as idempotency needs to know it.
#[derive(Debug, Clone)]
pub(crate) struct StoredIdentity {
    pub position: u64,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub payload: String,
}

/// A row ready to be inserted.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// What the database must know before a batch can be decided.
#[derive(Debug, Default)]
pub(crate) struct BatchInputs {
    pub stream_ids: Vec<String>,
    pub event_ids: Vec<Uuid>,
}

impl BatchInputs {
    pub fn of(requests: &[AppendRequest]) -> Self {
        let mut streams = HashSet::new();
        let mut inputs = BatchInputs::default();
        for request in requests {
            for stream in &request.streams {
                if streams.insert(stream.stream_id.as_str()) {
                    inputs.stream_ids.push(stream.stream_id.clone());
                }
                inputs.event_ids.extend(stream.events.iter().map(|e| e.event_id));
            }
        }
        inputs
    }
}

/// The decided batch: rows to insert, the new head, and one answer per request.
pub(crate) struct BatchPlan {
    pub rows: Vec<EventRow>,
    pub head: LogHead,
    pub results: Vec<Result<AppendOutcome, AppendError>>,
}

/// Checks what can be checked without the database. Run before a request joins a batch, so one
/// malformed request can never fail the transaction of the others.
pub(crate) fn validate(request: &AppendRequest) -> Result<(), AppendError> {
    let invalid = |m: String| Err(AppendError::Invalid(m));
    if request.streams.is_empty() {
        return invalid("an append needs at least one stream".into());
    }
    let mut streams = HashSet::new();
    let mut ids = HashSet::new();
    for stream in &request.streams {
        if stream.stream_id.is_empty() || stream.stream_id.len() > MAX_STREAM_ID_LEN {
            return invalid(format!("stream id must be 1..={MAX_STREAM_ID_LEN} bytes"));
        }
        // PostgreSQL text cannot hold NUL; refused on both backends so they accept the same appends.
        if stream.stream_id.contains('\0') {
            return invalid("stream id must not contain NUL".into());
        }
        if !streams.insert(&stream.stream_id) {
            return invalid(format!("stream {} appears twice in one append", stream.stream_id));
        }
        if stream.events.is_empty() && stream.expected == ExpectedVersion::Any {
            return invalid(format!("stream {} has no events and no version to check", stream.stream_id));
        }
        for event in &stream.events {
            if !ids.insert(event.event_id) {
                return invalid(format!("event id {} appears twice in one append", event.event_id));
            }
            if event.event_type.is_empty() || event.event_type.contains('\0') {
                return invalid(format!("event {} type must be non-empty text without NUL", event.event_id));
            }
            if serde_json::from_str::<IgnoredAny>(&event.payload).is_err() {
                return invalid(format!("event {} payload is not valid JSON", event.event_id));
            }
        }
    }
    Ok(())
}

/// True when no request of the batch carries an event: it only checks versions, needs no lock
/// and no transaction, and is answered by [`check_versions`].
pub(crate) fn checks_only(requests: &[AppendRequest]) -> bool {
    requests.iter().all(|r| r.event_count() == 0)
}

/// Answers a batch of version checks (see [`checks_only`]) against the committed versions.
pub(crate) fn check_versions(
    versions: HashMap<String, u64>,
    requests: &[AppendRequest],
) -> Vec<Result<AppendOutcome, AppendError>> {
    let head = LogHead { position: 0, hash: Vec::new() };
    plan_batch(head, versions, HashMap::new(), requests, Utc::now()).results
}

/// Decides every request of a batch in arrival order against the locked log state.
pub(crate) fn plan_batch(
    head: LogHead,
    mut versions: HashMap<String, u64>,
    mut stored: HashMap<Uuid, StoredIdentity>,
    requests: &[AppendRequest],
    recorded_at: DateTime<Utc>,
) -> BatchPlan {
    let mut plan = BatchPlan { rows: Vec::new(), head, results: Vec::with_capacity(requests.len()) };
    for request in requests {
        let result = match idempotent_replay(request, &stored, &versions) {
            Some(answer) => answer,
            None => append_one(request, &mut plan, &mut versions, &mut stored, recorded_at),
        };
        plan.results.push(result);
    }
    plan
}

/// `Some` when the request's events are already stored: the original answer, or a conflict
/// when an id is reused for different content. `None` when none of its ids are known.
fn idempotent_replay(
    request: &AppendRequest,
    stored: &HashMap<Uuid, StoredIdentity>,
    versions: &HashMap<String, u64>,
) -> Option<Result<AppendOutcome, AppendError>> {
    let known = request.events().filter(|(_, e)| stored.contains_key(&e.event_id)).count();
    if known == 0 {
        return None;
    }
    let mut positions = Vec::with_capacity(request.event_count());
    for (stream, event) in request.events() {
        let same = stored.get(&event.event_id).filter(|s| {
            s.stream_id == stream.stream_id && s.event_type == event.event_type && s.payload == event.payload
        });
        match same {
            Some(s) => positions.push(s.position),
            None => return Some(Err(AppendError::EventIdConflict { event_id: event.event_id })),
        }
    }
    let stream_versions = request
        .streams
        .iter()
        .map(|s| {
            let version = s
                .events
                .iter()
                .filter_map(|e| stored.get(&e.event_id).map(|x| x.stream_version))
                .max()
                .unwrap_or_else(|| versions.get(&s.stream_id).copied().unwrap_or(0));
            (s.stream_id.clone(), version)
        })
        .collect();
    Some(Ok(AppendOutcome { positions, stream_versions, duplicate: true }))
}

fn append_one(
    request: &AppendRequest,
    plan: &mut BatchPlan,
    versions: &mut HashMap<String, u64>,
    stored: &mut HashMap<Uuid, StoredIdentity>,
    recorded_at: DateTime<Utc>,
) -> Result<AppendOutcome, AppendError> {
    for stream in &request.streams {
        let current = versions.get(&stream.stream_id).copied().unwrap_or(0);
        if !stream.expected.admits(current) {
            return Err(AppendError::WrongExpectedVersion {
                stream_id: stream.stream_id.clone(),
                expected: stream.expected,
                current,
            });
        }
    }
    let mut metadata = request
        .events()
        .map(|(_, e)| serde_json::to_string(&e.metadata))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AppendError::Invalid(format!("metadata: {e}")))?
        .into_iter();
    let mut outcome = AppendOutcome { positions: Vec::new(), stream_versions: Vec::new(), duplicate: false };
    for stream in &request.streams {
        let version = versions.entry(stream.stream_id.clone()).or_insert(0);
        for event in &stream.events {
            *version += 1;
            let position = plan.head.position + 1;
            let metadata = metadata.next().unwrap_or_default();
            let hash = event_hash(
                &plan.head.hash,
                &HashedFields {
                    position,
                    event_id: event.event_id,
                    stream_id: &stream.stream_id,
                    stream_version: *version,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    recorded_at_micros: recorded_at.timestamp_micros(),
                    payload: &event.payload,
                    metadata: &metadata,
                },
            );
            stored.insert(
                event.event_id,
                StoredIdentity {
                    position,
                    stream_id: stream.stream_id.clone(),
                    stream_version: *version,
                    event_type: event.event_type.clone(),
                    payload: event.payload.clone(),
                },
            );
            plan.rows.push(EventRow {
                position,
                event_id: event.event_id,
                stream_id: stream.stream_id.clone(),
                stream_version: *version,
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                payload: event.payload.clone(),
                metadata,
                recorded_at,
                prev_hash: std::mem::replace(&mut plan.head.hash, hash.to_vec()),
                hash: hash.to_vec(),
            });
            plan.head.position = position;
            outcome.positions.push(position);
        }
        outcome.stream_versions.push((stream.stream_id.clone(), *version));
    }
    Ok(outcome)
}

//! Idempotency keys. A command sent with a key records its answer in a stream of its own,
//! `idempotency-<hash of scope and key>`, in the same atomic append as its events (expected
//! version: no stream). A retry with the same key finds the record and gets the first answer;
//! the same key with a different request is refused. Two concurrent first attempts cannot both
//! record: one append loses on the key stream, retries, and finds the winner's record.

use reserver_domain::Rejection;
use reserver_store::{EventStore, NewEvent, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::CommandError;

pub(crate) const RECORD_EVENT_TYPE: &str = "idempotency_key_recorded";

/// A client's idempotency key, scoped (e.g. to the caller) and paired with a fingerprint of the
/// request it was first used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    stream_id: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// `scope` keeps different callers' keys apart; `request` is what "the same request" means
    /// (e.g. method, path and body).
    pub fn new(scope: &str, key: &str, request: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(scope.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        let stream_id = format!("idempotency-{}", &hex::encode(h.finalize())[..40]);
        Self { stream_id, fingerprint: hex::encode(Sha256::digest(request)) }
    }

    pub(crate) fn stream_id(&self) -> &str {
        &self.stream_id
    }

    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// The first answer to a keyed command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    pub fingerprint: String,
    pub outcome: RecordedOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub(crate) enum RecordedOutcome {
    Decided { events: serde_json::Value, stream_version: u64 },
    Rejected { rejection: Rejection },
}

impl IdempotencyRecord {
    pub fn to_event(&self) -> Result<NewEvent, CommandError> {
        let payload = serde_json::to_string(self).map_err(|e| CommandError::Decode(e.to_string()))?;
        Ok(NewEvent::new(Uuid::new_v4(), RECORD_EVENT_TYPE, payload))
    }
}

/// The record stored under `key` and its log position, if the key was used before.
pub(crate) async fn lookup(
    store: &dyn EventStore,
    key: &IdempotencyKey,
) -> Result<Option<(IdempotencyRecord, u64)>, StoreError> {
    let Some(event) = store.read_stream(key.stream_id(), 1, 1).await?.into_iter().next() else {
        return Ok(None);
    };
    let record = serde_json::from_str(&event.payload)
        .map_err(|e| StoreError::CorruptRow { position: event.position, reason: format!("idempotency record: {e}") })?;
    Ok(Some((record, event.position)))
}

/// Event type of [`CreatedRecord`].
pub const CREATED_EVENT_TYPE: &str = "idempotency_create_recorded";

/// What a keyed create outside the command pipeline records (OAuth2 clients, webhook
/// subscriptions): the request's fingerprint and the id of what it created — nothing secret.
/// Appended to the key's stream (expected version: no stream) in the same atomic append as
/// the creating event, so one key creates one thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedRecord {
    pub fingerprint: String,
    pub created: Uuid,
}

impl IdempotencyKey {
    /// The stream holding this key's record.
    pub fn record_stream(&self) -> &str {
        &self.stream_id
    }

    /// The record of a keyed create of `created`, to append to [`IdempotencyKey::record_stream`]
    /// with expected version "no stream".
    pub fn created_record(&self, created: Uuid) -> Result<NewEvent, CommandError> {
        let record = CreatedRecord { fingerprint: self.fingerprint.clone(), created };
        let payload = serde_json::to_string(&record).map_err(|e| CommandError::Decode(e.to_string()))?;
        Ok(NewEvent::new(Uuid::new_v4(), CREATED_EVENT_TYPE, payload))
    }

    /// What an earlier keyed create with this key made: `Ok(None)` when the key is new,
    /// `Ok(Some((id, position)))` when the same request created `id` at `position`.
    /// Errors: `IdempotencyKeyReused` when the key was used for another request.
    pub async fn created_before(&self, store: &dyn EventStore) -> Result<Option<(Uuid, u64)>, CommandError> {
        let Some(event) = store.read_stream(&self.stream_id, 1, 1).await?.into_iter().next() else {
            return Ok(None);
        };
        match serde_json::from_str::<CreatedRecord>(&event.payload) {
            Ok(record) if record.fingerprint == self.fingerprint => Ok(Some((record.created, event.position))),
            _ => Err(CommandError::IdempotencyKeyReused),
        }
    }
}

/// Whether a stored record answers this key's request.
pub(crate) fn matches(record: &IdempotencyRecord, key: &IdempotencyKey) -> bool {
    record.fingerprint == key.fingerprint
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_key_make_the_stream() {
        let a = IdempotencyKey::new("alice", "k1", b"body");
        assert_eq!(a, IdempotencyKey::new("alice", "k1", b"body"));
        assert_ne!(a.stream_id(), IdempotencyKey::new("bob", "k1", b"body").stream_id());
        assert_eq!(a.stream_id(), IdempotencyKey::new("alice", "k1", b"other").stream_id());
        assert_ne!(a.fingerprint, IdempotencyKey::new("alice", "k1", b"other").fingerprint);
    }
}

//! The event envelope and the shapes of append requests and their answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who and what caused an event. Stored as JSON beside the payload and covered by the hash.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
}

/// An event about to be appended. `payload` is JSON text, stored byte for byte as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// An event with schema version 1 and empty metadata.
    pub fn new(event_id: Uuid, event_type: impl Into<String>, payload: impl Into<String>) -> Self {
        Self {
            event_id,
            event_type: event_type.into(),
            schema_version: 1,
            payload: payload.into(),
            metadata: EventMetadata::default(),
        }
    }

    pub fn with_metadata(mut self, metadata: EventMetadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// What the appender believes the stream's current version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// No check: append whatever the version is.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream's last event must have exactly this version (0 means "no stream yet").
    Exact(u64),
}

impl ExpectedVersion {
    pub(crate) fn admits(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }
}

/// Events for one stream within an append. A stream with no events is a version check: the
/// append succeeds only if the stream is at `expected`, and writes nothing to it. A command
/// that decided nothing new checks this way that the state it decided on is still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamAppend {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// One atomic append: every stream's events are written together or none are.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendRequest {
    pub streams: Vec<StreamAppend>,
}

impl AppendRequest {
    /// An append to a single stream.
    pub fn single(stream_id: impl Into<String>, expected: ExpectedVersion, events: Vec<NewEvent>) -> Self {
        Self::default().with_stream(stream_id, expected, events)
    }

    /// Adds another stream to this atomic append.
    pub fn with_stream(
        mut self,
        stream_id: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        self.streams.push(StreamAppend { stream_id: stream_id.into(), expected, events });
        self
    }

    pub fn event_count(&self) -> usize {
        self.streams.iter().map(|s| s.events.len()).sum()
    }

    pub(crate) fn events(&self) -> impl Iterator<Item = (&StreamAppend, &NewEvent)> {
        self.streams.iter().flat_map(|s| s.events.iter().map(move |e| (s, e)))
    }
}

/// The answer to a successful append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    /// Global positions of the appended events, in request order.
    pub positions: Vec<u64>,
    /// Each stream's version after the append, in request order.
    pub stream_versions: Vec<(String, u64)>,
    /// True when every event was already in the log (an idempotent retry): nothing was written.
    pub duplicate: bool,
}

impl AppendOutcome {
    /// The position of the last event of the append: the read-your-writes token.
    pub fn last_position(&self) -> u64 {
        self.positions.iter().copied().max().unwrap_or(0)
    }
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedEvent {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    #[serde(with = "hex_bytes")]
    pub prev_hash: Vec<u8>,
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
}

/// The newest position of the log and the hash of the event there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHead {
    pub position: u64,
    #[serde(with = "hex_bytes")]
    pub hash: Vec<u8>,
}

/// Saved aggregate state, so loading does not replay a stream from its first event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub stream_id: String,
    /// The stream version the state reflects.
    pub version: u64,
    /// Version of the state's own encoding, so old snapshots can be ignored after a change.
    pub schema_version: i32,
    pub state: Vec<u8>,
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
}

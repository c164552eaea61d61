//! Turning database rows into [`RecordedEvent`]s, with the conversions both backends share.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{RecordedEvent, StoreError};

/// The column list every event read selects, in this order.
pub(crate) const EVENT_COLUMNS_PG: &str = "position, event_id, stream_id, stream_version, event_type, \
     schema_version, payload::text AS payload, metadata::text AS metadata, recorded_at, prev_hash, hash";
pub(crate) const EVENT_COLUMNS_SQLITE: &str = "position, event_id, stream_id, stream_version, event_type, \
     schema_version, payload, metadata, recorded_at, prev_hash, hash";

/// Databases store positions and versions as signed 64-bit integers.
pub(crate) fn to_db(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn from_db(n: i64, position: u64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::CorruptRow { position, reason: format!("negative {what}") })
}

/// The instant a batch is recorded, cut to the microsecond both databases keep exactly.
pub(crate) fn recorded_now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Fields as read from either backend before conversion.
pub(crate) struct RawEvent {
    pub position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl TryFrom<RawEvent> for RecordedEvent {
    type Error = StoreError;

    fn try_from(r: RawEvent) -> Result<Self, StoreError> {
        let position = from_db(r.position, 0, "position")?;
        Ok(RecordedEvent {
            position,
            event_id: r.event_id,
            stream_id: r.stream_id,
            stream_version: from_db(r.stream_version, position, "stream version")?,
            event_type: r.event_type,
            schema_version: r.schema_version,
            payload: r.payload,
            metadata: r.metadata,
            recorded_at: r.recorded_at,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

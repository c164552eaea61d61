//! Turning stored events back into domain events. Projections only read the resource, user
//! and group streams; anything else in the log (usernames, idempotency keys, future streams)
//! and any event type this build does not know is skipped, never fatal, so an older read side
//! keeps running beside a newer write side.

use std::borrow::Cow;

use reserver_domain::group::GroupEvent;
use reserver_domain::user::UserEvent;
use reserver_domain::ResourceEvent;
use reserver_store::{EventMetadata, RecordedEvent};
use uuid::Uuid;

/// A recorded event this read side understands.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // decoded one at a time; boxing would only add allocations
pub enum DomainEvent {
    Resource { resource_id: Uuid, event: ResourceEvent },
    User { user_id: Uuid, event: UserEvent },
    Group { group_id: Uuid, event: GroupEvent },
}

/// Which kind of stream an event belongs to, if projections read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Resource(Uuid),
    User(Uuid),
    Group(Uuid),
}

/// The projected stream a stream id names.
pub fn stream_kind(stream_id: &str) -> Option<StreamKind> {
    let (prefix, id) = stream_id.split_once('-')?;
    let id = Uuid::parse_str(id).ok()?;
    match prefix {
        "resource" => Some(StreamKind::Resource(id)),
        "user" => Some(StreamKind::User(id)),
        "group" => Some(StreamKind::Group(id)),
        _ => None,
    }
}

/// Decodes an event, or `None` (logged at debug) when projections do not read it.
pub fn decode(event: &RecordedEvent) -> Option<DomainEvent> {
    let kind = stream_kind(&event.stream_id)?;
    let decoded = match kind {
        StreamKind::Resource(resource_id) => serde_json::from_str::<ResourceEvent>(&event.payload)
            .map(|event| DomainEvent::Resource { resource_id, event }),
        StreamKind::User(user_id) => {
            serde_json::from_str::<UserEvent>(&event.payload).map(|event| DomainEvent::User { user_id, event })
        }
        StreamKind::Group(group_id) => {
            serde_json::from_str::<GroupEvent>(&event.payload).map(|event| DomainEvent::Group { group_id, event })
        }
    };
    match decoded {
        Ok(event) => Some(event),
        Err(error) => {
            tracing::debug!(position = event.position, event_type = %event.event_type, %error, "event skipped by projections");
            None
        }
    }
}

/// A batch's events decoded once, on first use, for every projector applying that batch: a
/// rebuild's shared replay decodes each batch in its log reader, ahead of the projectors, which
/// would otherwise each parse every payload again (a tenth of a full rebuild's CPU).
#[derive(Debug, Default)]
pub struct DecodedBatch(std::sync::OnceLock<Decoded>);

/// The decoded events, with the first and last position of the batch they were decoded from.
#[derive(Debug)]
struct Decoded {
    span: Option<(u64, u64)>,
    events: Vec<Option<DomainEvent>>,
}

fn span_of(events: &[RecordedEvent]) -> Option<(u64, u64)> {
    Some((events.first()?.position, events.last()?.position))
}

impl DecodedBatch {
    /// [`decode`] of each of `events`, index for index. The first call decodes them and later
    /// calls with the same batch get that; a call with other events (another length or other
    /// positions) gets them decoded afresh, so a mix-up costs time, never events.
    pub fn of(&self, events: &[RecordedEvent]) -> Cow<'_, [Option<DomainEvent>]> {
        let decoded =
            self.0.get_or_init(|| Decoded { span: span_of(events), events: events.iter().map(decode).collect() });
        if decoded.events.len() == events.len() && decoded.span == span_of(events) {
            Cow::Borrowed(&decoded.events)
        } else {
            Cow::Owned(events.iter().map(decode).collect())
        }
    }
}

/// Decodes a resource event, if `event` is one.
pub fn decode_resource(event: &RecordedEvent) -> Option<(Uuid, ResourceEvent)> {
    match decode(event)? {
        DomainEvent::Resource { resource_id, event } => Some((resource_id, event)),
        _ => None,
    }
}

/// The event's metadata; empty when it cannot be read (it is informational only).
pub fn metadata(event: &RecordedEvent) -> EventMetadata {
    metadata_from(&event.metadata)
}

/// The event's actor alone, as [`metadata`] reads it, without parsing the other fields (ids
/// and addresses): the audit projector reads nothing else, once per event of the log.
pub fn actor(event: &RecordedEvent) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ActorOnly {
        #[serde(default)]
        actor: Option<String>,
    }
    // The store writes metadata from `EventMetadata`, so the other fields are always valid and
    // this agrees with `metadata(event).actor` (test `the_actor_is_read_as_the_metadata_reads_it`).
    serde_json::from_str::<ActorOnly>(&event.metadata).ok().and_then(|m| m.actor)
}

/// [`metadata`] from its stored JSON text, as a query joining `events` reads it.
pub fn metadata_from(text: &str) -> EventMetadata {
    serde_json::from_str(text).unwrap_or_default()
}

/// Microseconds since the Unix epoch: how read models store instants (sortable, identical on
/// both backends).
pub fn micros(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_micros()
}

/// The instant `micros` encodes.
pub fn from_micros(value: i64) -> Result<chrono::DateTime<chrono::Utc>, crate::ProjectionError> {
    chrono::DateTime::from_timestamp_micros(value)
        .ok_or_else(|| crate::ProjectionError::Corrupt(format!("instant {value} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reserver_store::EventMetadata;

    fn recorded(metadata: String) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            event_id: Uuid::nil(),
            stream_id: "user-x".into(),
            stream_version: 1,
            event_type: "t".into(),
            schema_version: 1,
            payload: "{}".into(),
            metadata,
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            prev_hash: Vec::new(),
            hash: Vec::new(),
        }
    }

    #[test]
    fn a_batch_is_decoded_once_index_for_index() {
        let mut resource = recorded(String::new());
        resource.stream_id = format!("resource-{}", Uuid::from_u128(7));
        resource.payload = serde_json::json!({"type": "checked_in", "reservation_id": Uuid::from_u128(8),
            "user_id": Uuid::from_u128(9), "at": "2030-01-01T09:00:00Z"})
        .to_string();
        let foreign = recorded(String::new());
        let events = vec![foreign, resource];
        let batch = DecodedBatch::default();
        let first = batch.of(&events);
        assert!(first[0].is_none(), "not a projected stream");
        assert!(
            matches!(&first[1], Some(DomainEvent::Resource { resource_id, .. }) if *resource_id == Uuid::from_u128(7))
        );
        // The second reader gets the same decoding, not a new one.
        assert!(matches!((&first, batch.of(&events)), (Cow::Borrowed(a), Cow::Borrowed(b)) if std::ptr::eq(*a, b)));
        // Other events are decoded for themselves, not matched to this batch's decoding.
        let other = batch.of(&events[1..]);
        assert_eq!(other.len(), 1);
        assert!(other[0].is_some());
    }

    #[test]
    fn the_actor_is_read_as_the_metadata_reads_it() {
        let full = EventMetadata {
            actor: Some("a \"quoted\" \u{0} actor".into()),
            command_id: Some(Uuid::from_u128(1)),
            correlation_id: Some(Uuid::from_u128(2)),
            causation_id: Some(Uuid::from_u128(3)),
            client_ip: Some("192.0.2.1".into()),
        };
        let no_actor = EventMetadata { actor: None, ..full.clone() };
        for stored in [full, no_actor, EventMetadata::default()] {
            let event = recorded(serde_json::to_string(&stored).unwrap_or_default());
            assert_eq!(actor(&event), metadata(&event).actor);
            assert_eq!(actor(&event), stored.actor);
        }
        // Unreadable metadata has no actor, as `metadata` reads it.
        assert_eq!(actor(&recorded("not json".into())), None);
    }
}

//! Time travel: a resource's schedule as the log knew it at a past instant, computed from the
//! log itself rather than a read model, so it also answers for instants before a read model
//! existed. "Knew at T" means events recorded at or before T (the log's own clock, which
//! orders commits); the reservations are folded with the same function the projector uses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reserver_domain::resource::stream_id;
use reserver_store::EventStore;
use uuid::Uuid;

use crate::decode::decode_resource;
use crate::error::ProjectionError;
use crate::reservations::{apply_reservation, ReservationView};

/// Events read per round trip.
const PAGE: usize = 1000;

/// Every reservation of `resource_id` as it stood at `instant` (each with its status then),
/// ordered by start time. Empty when the resource did not exist yet.
pub async fn schedule_as_of(
    store: &dyn EventStore,
    resource_id: Uuid,
    instant: DateTime<Utc>,
) -> Result<Vec<ReservationView>, ProjectionError> {
    let stream = stream_id(resource_id);
    let mut views: BTreeMap<Uuid, Option<ReservationView>> = BTreeMap::new();
    let mut from_version = 1;
    'read: loop {
        let events = store.read_stream(&stream, from_version, PAGE).await?;
        let Some(last) = events.last() else { break };
        from_version = last.stream_version + 1;
        for recorded in &events {
            if recorded.recorded_at > instant {
                break 'read;
            }
            let Some((resource, event)) = decode_resource(recorded) else { continue };
            if let Some(id) = event.reservation_id() {
                apply_reservation(views.entry(id).or_default(), resource, &event);
            }
        }
        if events.len() < PAGE {
            break;
        }
    }
    let mut schedule: Vec<ReservationView> = views.into_values().flatten().collect();
    schedule.sort_by(|a, b| a.range.start().cmp(&b.range.start()).then(a.reservation_id.cmp(&b.reservation_id)));
    Ok(schedule)
}

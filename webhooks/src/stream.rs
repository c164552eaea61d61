//! Reading and appending a subscription's stream in the log.

use std::sync::Arc;

use reserver_store::{AppendError, AppendOutcome, AppendRequest, EventMetadata, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

use crate::error::WebhookError;
use crate::subscription::{fold, stream_id, Subscription, WebhookEvent};

/// Events read per call while loading a stream.
const READ_BATCH: usize = 1000;

/// A subscription's current state (`None` if it never existed or was deleted) and its
/// stream's version, read straight from the log: always up to date, unlike the planner's table.
pub async fn load(store: &Arc<dyn EventStore>, id: Uuid) -> Result<(Option<Subscription>, u64), WebhookError> {
    let stream = stream_id(id);
    let mut events = Vec::new();
    loop {
        let batch = store.read_stream(&stream, events.len() as u64 + 1, READ_BATCH).await?;
        let done = batch.len() < READ_BATCH;
        events.extend(batch);
        if done {
            break;
        }
    }
    Ok(fold(id, &events))
}

/// Appends one event to a subscription's stream, if the stream is at `expected`.
pub async fn append(
    store: &Arc<dyn EventStore>,
    id: Uuid,
    expected: ExpectedVersion,
    event: &WebhookEvent,
    metadata: EventMetadata,
) -> Result<AppendOutcome, AppendError> {
    append_all(store, id, expected, std::slice::from_ref(event), metadata).await
}

/// Appends events to a subscription's stream atomically, if the stream is at `expected`.
pub async fn append_all(
    store: &Arc<dyn EventStore>,
    id: Uuid,
    expected: ExpectedVersion,
    events: &[WebhookEvent],
    metadata: EventMetadata,
) -> Result<AppendOutcome, AppendError> {
    let events = events
        .iter()
        .map(|event| {
            let payload = serde_json::to_string(event).unwrap_or_default();
            NewEvent::new(Uuid::new_v4(), event.event_type(), payload).with_metadata(metadata.clone())
        })
        .collect();
    store.append(AppendRequest::single(stream_id(id), expected, events)).await
}

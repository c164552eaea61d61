//! Auto-disable: an endpoint whose last `disable_after_failures` deliveries since it was
//! created or re-enabled all failed for good (each used up every retry until its maximum age)
//! is disabled by appending `webhook_disabled` to its stream. Its pending deliveries then wait
//! (they are not claimed while it is disabled), no new ones are planned, and its owner gets a
//! notification. An admin re-enables it with `PATCH {"active": true}`, which also restarts
//! the count.

use std::sync::Arc;

use chrono::Utc;
use reserver_store::{AppendError, EventMetadata, EventStore, ExpectedVersion};
use uuid::Uuid;

use crate::deliveries::{recent_outcomes, FAILED};
use crate::error::WebhookError;
use crate::stream;
use crate::subscription::WebhookEvent;

/// The actor recorded on events the service appends by itself.
pub fn system_metadata() -> EventMetadata {
    EventMetadata { actor: Some(Uuid::nil().to_string()), ..EventMetadata::default() }
}

/// Checks the rule after a delivery of `subscription` failed for good; true if it disabled it.
pub async fn after_failure(
    store: &Arc<dyn EventStore>,
    subscription: Uuid,
    threshold: u32,
) -> Result<bool, WebhookError> {
    if threshold == 0 {
        return Ok(false);
    }
    let (state, version) = stream::load(store, subscription).await?;
    let Some(state) = state.filter(|s| s.active) else { return Ok(false) };
    let outcomes = recent_outcomes(&store.database(), subscription, state.enabled_at, threshold).await?;
    if outcomes.len() < threshold as usize || outcomes.iter().any(|status| status != FAILED) {
        return Ok(false);
    }
    let event = WebhookEvent::WebhookDisabled {
        reason: format!("{threshold} consecutive deliveries failed after every retry"),
        owner: state.owner,
        url: state.url.clone(),
        at: Utc::now(),
    };
    match stream::append(store, subscription, ExpectedVersion::Exact(version), &event, system_metadata()).await {
        Ok(_) => {
            tracing::warn!(%subscription, url = %state.url, "webhook endpoint disabled after repeated failures");
            Ok(true)
        }
        // Someone changed it meanwhile (another replica disabled it, an admin edited it): the
        // next failure decides again on the new state.
        Err(AppendError::WrongExpectedVersion { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

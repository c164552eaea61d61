//! The worker: claims due deliveries (up to the free concurrency), makes one attempt each in
//! its own task, records it, and schedules the retry or gives up. It sleeps until the next
//! delivery is due, a wake-up (new deliveries planned or queued), a finished attempt, or the
//! poll interval, whichever comes first.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reserver_store::EventStore;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::backoff::random_jitter;
use crate::deliveries::{claim, finish_attempt, next_due, Claimed, Outcome};
use crate::settings::WebhookSettings;
use crate::{disable, sender};

/// Shortest sleep between two passes, so a row that stays due (a clock skew, a race) cannot spin the loop.
const MIN_PAUSE: Duration = Duration::from_millis(10);

/// What the worker and its attempts share.
pub(crate) struct WorkerContext {
    pub store: Arc<dyn EventStore>,
    pub settings: WebhookSettings,
    pub client: reqwest::Client,
    pub wake: Arc<Notify>,
}

/// Runs until `shutdown` turns true, then lets attempts in flight finish (bounded by the
/// timeout) and stops.
pub(crate) async fn run(context: Arc<WorkerContext>, mut shutdown: watch::Receiver<bool>) {
    let db = context.store.database();
    let slots = Arc::new(Semaphore::new(context.settings.concurrency.max(1)));
    let mut in_flight = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
        let now = Utc::now();
        let lease = chrono::Duration::from_std(context.settings.lease()).unwrap_or(chrono::Duration::seconds(60));
        let mut pause = context.settings.poll_interval;
        match claim(&db, now, now + lease, slots.available_permits()).await {
            Ok(claimed) => {
                for delivery in claimed {
                    let Ok(slot) = slots.clone().try_acquire_owned() else { break };
                    in_flight.spawn(attempt(context.clone(), delivery, slot));
                }
            }
            Err(error) => tracing::warn!(%error, "could not claim webhook deliveries"),
        }
        if slots.available_permits() > 0 {
            match next_due(&db).await {
                Ok(Some(due)) => {
                    let until = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                    pause = pause.min(until);
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not read the next webhook delivery time"),
            }
        }
        let pause = pause.max(MIN_PAUSE);
        tokio::select! {
            _ = context.wake.notified() => {}
            _ = tokio::time::sleep(pause) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            _ = shutdown.changed() => {}
        }
    }
    let grace = context.settings.timeout + Duration::from_secs(1);
    let drained = tokio::time::timeout(grace, async { while in_flight.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        // Their leases run out and another worker makes the attempt again.
        in_flight.abort_all();
    }
}

/// One attempt of one delivery, recorded; the slot is held until it is.
async fn attempt(context: Arc<WorkerContext>, claimed: Claimed, _slot: OwnedSemaphorePermit) {
    let db = context.store.database();
    let (record, delivered) = match sender::attempt(&context.client, &context.settings, &db, &claimed).await {
        Ok(result) => result,
        Err(error) => {
            // Bookkeeping failed before sending: the lease runs out and the attempt is made again.
            tracing::warn!(%error, delivery = %claimed.delivery_id, "webhook attempt could not start");
            return;
        }
    };
    let now = Utc::now();
    let outcome = if delivered {
        Outcome::Delivered
    } else {
        let retry = &context.settings.retry;
        match retry.next_attempt(claimed.attempt_in_round, now, claimed.expires_at, random_jitter()) {
            Some(at) => Outcome::RetryAt(at),
            None => Outcome::Failed,
        }
    };
    if let Err(error) = finish_attempt(&db, &claimed, &record, outcome, now).await {
        tracing::warn!(%error, delivery = %claimed.delivery_id, "could not record a webhook attempt");
        return;
    }
    if outcome == Outcome::Failed {
        let threshold = context.settings.disable_after_failures;
        if let Err(error) = disable::after_failure(&context.store, claimed.subscription_id, threshold).await {
            tracing::warn!(%error, subscription = %claimed.subscription_id, "auto-disable check failed");
        }
    }
}

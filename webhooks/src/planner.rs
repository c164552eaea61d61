//! The planner: a projector that turns the log into deliveries. In the one transaction that
//! also moves its checkpoint it (1) keeps `webhook_subscriptions` in step with the
//! `webhook-{uuid}` streams and (2) inserts one `webhook_deliveries` row per public event and
//! active subscription that wants it. Subscriptions come from the same log, folded in log
//! order, so a subscription gets exactly the events after its creation (and none while it is
//! disabled), deterministically, whatever crashes and replays happen: a batch applies
//! entirely or not at all, and the delivery ids are derived from event and subscription.
//!
//! It is deliberately not one of `all_projectors()`: a `projections rebuild` must never plan
//! (and so send) past events again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use reserver_projections::public_events::publish;
use reserver_projections::sql::{DbTx, Value};
use reserver_projections::{ProjectionError, Projector};
use reserver_store::RecordedEvent;
use uuid::Uuid;

use crate::deliveries::{delivery_id, NewDelivery, INSERT_HEAD, INSERT_TAIL};
use crate::envelope;
use crate::subscription::{evolve, Subscription, WebhookEvent};

/// The planner's checkpoint name.
pub const PLANNER: &str = "webhook_planner";

/// Plans deliveries; `max_age` bounds how long each is retried.
pub struct WebhookPlanner {
    pub max_age: Duration,
}

fn corrupt(e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Corrupt(e.to_string())
}

/// Every subscription the planner knows, by id.
async fn load_subscriptions(tx: &mut DbTx) -> Result<BTreeMap<Uuid, Subscription>, ProjectionError> {
    let mut subscriptions = BTreeMap::new();
    for row in tx.fetch_all("SELECT doc FROM webhook_subscriptions", &[]).await? {
        let subscription: Subscription = serde_json::from_str(&row.text(0)?)?;
        subscriptions.insert(subscription.id, subscription);
    }
    Ok(subscriptions)
}

async fn save_subscription(tx: &mut DbTx, subscription: &Subscription) -> Result<(), ProjectionError> {
    tx.execute(
        "INSERT INTO webhook_subscriptions (subscription_id, active, created_at, doc) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (subscription_id) DO UPDATE SET active = excluded.active, doc = excluded.doc",
        &[
            subscription.id.to_string().into(),
            Value::Int(i64::from(subscription.active)),
            Value::Int(subscription.created_at.timestamp_micros()),
            Value::Text(serde_json::to_string(subscription)?),
        ],
    )
    .await?;
    Ok(())
}

async fn forget_subscription(tx: &mut DbTx, id: Uuid) -> Result<(), ProjectionError> {
    tx.execute("DELETE FROM webhook_subscriptions WHERE subscription_id = $1", &[id.to_string().into()]).await?;
    crate::deliveries::delete_for(tx, id).await.map_err(corrupt)?;
    Ok(())
}

#[async_trait]
impl Projector for WebhookPlanner {
    fn name(&self) -> &'static str {
        PLANNER
    }

    /// Only the subscription table: were the planner ever reset, existing delivery rows stop
    /// a replay from sending their events twice.
    fn tables(&self) -> &'static [&'static str] {
        &["webhook_subscriptions"]
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(self.max_age).map_err(corrupt)?;
        let mut subscriptions = load_subscriptions(tx).await?;
        let mut touched = BTreeSet::new();
        let mut rows = Vec::new();
        for recorded in events {
            if let Some((id, event)) = WebhookEvent::decode(recorded) {
                if let Some(subscription) = evolve(subscriptions.remove(&id), id, recorded.stream_version, &event) {
                    subscriptions.insert(id, subscription);
                }
                touched.insert(id);
                continue;
            }
            let Some(public) = publish(recorded) else { continue };
            let mut body = None;
            for subscription in subscriptions.values().filter(|s| s.active && s.wants(public.name)) {
                let body = body.get_or_insert_with(|| envelope::for_event(&public));
                let delivery = NewDelivery {
                    delivery_id: delivery_id(public.event_id, subscription.id),
                    subscription_id: subscription.id,
                    event_id: public.event_id,
                    event_type: public.name.to_string(),
                    position: public.position,
                    body: body.clone(),
                };
                rows.push(delivery.row(now, expires_at));
            }
        }
        // Deliveries first: a subscription deleted later in the batch takes them with it.
        tx.insert_rows(INSERT_HEAD, INSERT_TAIL, &rows).await?;
        for id in touched {
            match subscriptions.get(&id) {
                Some(subscription) => save_subscription(tx, subscription).await?,
                None => forget_subscription(tx, id).await?,
            }
        }
        Ok(())
    }
}

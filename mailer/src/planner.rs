//! The mail planner follows the log from its own checkpoint and, in the same transaction as the
//! checkpoint, keeps three tables: contact preferences (`mail_contacts`, from the preferences
//! streams), bookings that may need a reminder (`mail_reminders`) and, when email is on, one
//! outbox row per (event, recipient) (`mail_outbox`, unique). Because rows and checkpoint
//! commit together, a crash or restart neither loses nor doubles an email.
//!
//! It is not one of the rebuildable projectors: a rebuild would send every email again.

use std::collections::HashMap;

use async_trait::async_trait;
use reserver_domain::{ResourceEvent, TimeRange};
use reserver_projections::decode::{decode_resource, micros};
use reserver_projections::public_events::{publish, Audience, PublicEvent};
use reserver_projections::sql::{DbTx, Value};
use reserver_projections::{ProjectionError, Projector};
use reserver_store::RecordedEvent;
use serde_json::Value as Json;
use uuid::Uuid;

use crate::compose::{compose, EMAILED};

/// Longest reminder lead time an account can choose (a week).
pub const MAX_REMINDER_MINUTES: i64 = 7 * 24 * 60;

/// Checkpoint name of the planner.
pub const PLANNER: &str = "mail_planner";

pub struct MailPlanner {
    /// Whether to write outbox rows (SMTP configured and email enabled).
    pub email: bool,
}

#[async_trait]
impl Projector for MailPlanner {
    fn name(&self) -> &'static str {
        PLANNER
    }

    fn tables(&self) -> &'static [&'static str] {
        // Never reset: see the module documentation.
        &[]
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut reminders = ReminderChanges::default();
        for event in events {
            if let Some(user) = event.stream_id.strip_prefix("preferences-").and_then(|u| Uuid::parse_str(u).ok()) {
                save_contact(tx, user, &event.payload).await?;
            } else if let Some((resource_id, domain)) = decode_resource(event) {
                reminders.track(resource_id, &domain);
            }
            if self.email {
                if let Some(public) = publish(event) {
                    enqueue(tx, &public).await?;
                }
            }
        }
        reminders.write(tx).await
    }
}

/// Preferences events hold the whole merged object: `email`, `email_notifications`,
/// `reminder_minutes`.
async fn save_contact(tx: &mut DbTx, user: Uuid, payload: &str) -> Result<(), ProjectionError> {
    let prefs: Json = serde_json::from_str(payload).unwrap_or(Json::Null);
    // An address with control characters (NUL, line breaks) is no address: it could neither be
    // sent to nor, in a header, be trusted.
    let address = prefs
        .get("email")
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|a| a.contains('@') && !a.chars().any(char::is_control));
    let enabled = prefs.get("email_notifications").and_then(Json::as_bool).unwrap_or(true);
    let minutes = prefs.get("reminder_minutes").and_then(Json::as_i64).map(|m| m.clamp(0, MAX_REMINDER_MINUTES));
    tx.execute(
        "INSERT INTO mail_contacts (user_id, address, enabled, reminder_minutes) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET address = excluded.address, enabled = excluded.enabled, \
         reminder_minutes = excluded.reminder_minutes",
        &[user.to_string().into(), address.map(str::to_string).into(), Value::Int(enabled as i64), minutes.into()],
    )
    .await?;
    Ok(())
}

/// What a batch does to `mail_reminders`, folded per reservation in log order so the batch
/// costs a statement per kind of change rather than one per event.
#[derive(Default)]
struct ReminderChanges {
    changes: HashMap<Uuid, ReminderChange>,
}

enum ReminderChange {
    /// Insert (or set `active` of) the row.
    Upsert {
        user_id: Uuid,
        resource_id: Uuid,
        range: TimeRange,
        active: bool,
    },
    /// Set `active` of a row an earlier batch wrote.
    Activate,
    Remove,
}

impl ReminderChanges {
    /// Keeps `mail_reminders` to the bookings that will happen: held requests and offers are
    /// inactive until confirmed; anything that ends a booking removes it.
    fn track(&mut self, resource_id: Uuid, event: &ResourceEvent) {
        use ResourceEvent::*;
        let upsert = |user_id: &Uuid, range: &TimeRange, active| ReminderChange::Upsert {
            user_id: *user_id,
            resource_id,
            range: *range,
            active,
        };
        match event {
            ReservationConfirmed { reservation_id, user_id, range, .. } => {
                self.changes.insert(*reservation_id, upsert(user_id, range, true));
            }
            ReservationRequested { reservation_id, user_id, range, .. }
            | WaitlistOfferMade { reservation_id, user_id, range, .. } => {
                self.changes.insert(*reservation_id, upsert(user_id, range, false));
            }
            // A taken offer awaiting approval stays inactive until approved.
            WaitlistOfferAccepted { approval_deadline: Some(_), .. } => {}
            ReservationApproved { reservation_id, .. } | WaitlistOfferAccepted { reservation_id, .. } => {
                match self.changes.get_mut(reservation_id) {
                    Some(ReminderChange::Upsert { active, .. }) => *active = true,
                    Some(ReminderChange::Activate | ReminderChange::Remove) => {}
                    None => {
                        self.changes.insert(*reservation_id, ReminderChange::Activate);
                    }
                }
            }
            ReservationCancelled { reservation_id, .. }
            | ReservationRejected { reservation_id, .. }
            | ApprovalExpired { reservation_id, .. }
            | WaitlistOfferDeclined { reservation_id, .. }
            | WaitlistOfferExpired { reservation_id, .. }
            | NoShowReleased { reservation_id, .. }
            | ReservationCompleted { reservation_id, .. } => {
                self.changes.insert(*reservation_id, ReminderChange::Remove);
            }
            _ => {}
        }
    }

    async fn write(self, tx: &mut DbTx) -> Result<(), ProjectionError> {
        let mut upserts = Vec::new();
        let mut removed = Vec::new();
        for (reservation_id, change) in self.changes {
            match change {
                ReminderChange::Upsert { user_id, resource_id, range, active } => upserts.push(vec![
                    reservation_id.to_string().into(),
                    user_id.to_string().into(),
                    resource_id.to_string().into(),
                    Value::Int(micros(range.start())),
                    Value::Int(micros(range.end())),
                    Value::Int(active as i64),
                ]),
                ReminderChange::Activate => {
                    tx.execute(
                        "UPDATE mail_reminders SET active = 1 WHERE reservation_id = $1",
                        &[reservation_id.to_string().into()],
                    )
                    .await?;
                }
                ReminderChange::Remove => removed.push(reservation_id.to_string()),
            }
        }
        tx.delete_keys("mail_reminders", "reservation_id", &removed).await?;
        tx.insert_rows(
            "INSERT INTO mail_reminders (reservation_id, user_id, resource_id, start_at, end_at, active)",
            "ON CONFLICT (reservation_id) DO UPDATE SET active = excluded.active",
            &upserts,
        )
        .await?;
        Ok(())
    }
}

/// One outbox row for the account an emailed event concerns, if it has an address and wants
/// email. The row id is derived from event and recipient, so it is the same on every replica.
async fn enqueue(tx: &mut DbTx, event: &PublicEvent) -> Result<(), ProjectionError> {
    if !EMAILED.contains(&event.name) {
        return Ok(());
    }
    let Audience::Users(users) = &event.audience else {
        return Ok(());
    };
    for user in users {
        let contact = tx
            .fetch_all(
                "SELECT address FROM mail_contacts WHERE user_id = $1 AND enabled = 1 AND address IS NOT NULL",
                &[user.to_string().into()],
            )
            .await?;
        let Some(address) = contact.first().map(|row| row.text(0)).transpose()? else {
            continue;
        };
        let resource_name = resource_name(tx, &event.data).await?;
        let Some((subject, body)) = compose(event, &resource_name) else {
            continue;
        };
        let mail_id = Uuid::new_v5(&event.event_id, user.as_bytes());
        tx.execute(
            "INSERT INTO mail_outbox (mail_id, event_id, user_id, address, subject, body, position, status, attempts, \
             next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, 0) \
             ON CONFLICT (event_id, user_id) DO NOTHING",
            &[
                mail_id.to_string().into(),
                event.event_id.to_string().into(),
                user.to_string().into(),
                address.into(),
                subject.into(),
                body.into(),
                Value::Int(event.position as i64),
            ],
        )
        .await?;
    }
    Ok(())
}

/// The resource's name from the catalog read model, or its id when the catalog has not got it.
async fn resource_name(tx: &mut DbTx, data: &Json) -> Result<String, ProjectionError> {
    let Some(id) = data.get("resource_id").and_then(Json::as_str) else {
        return Ok("your resource".into());
    };
    let rows = tx.fetch_all("SELECT doc FROM rm_resources WHERE resource_id = $1", &[id.into()]).await?;
    let name = match rows.first() {
        Some(row) => serde_json::from_str::<Json>(&row.text(0)?)
            .ok()
            .and_then(|doc| doc.get("name").and_then(Json::as_str).map(str::to_string)),
        None => None,
    };
    Ok(name.unwrap_or_else(|| id.to_string()))
}

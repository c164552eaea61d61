//! Reminders and email, both driven from the event log.
//!
//! * [`planner`] — a log follower with its own checkpoint keeping contacts, bookings that need
//!   a reminder and the email outbox, in one transaction with the checkpoint.
//! * [`reminders`] — appends one `reservation_reminder` event per booking when its time comes.
//! * [`smtp`] — sends the outbox through SMTP with leases, retries and backoff.
//! * [`compose`] — what each email says.

pub mod compose;
pub mod planner;
pub mod reminders;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reserver_projections::runtime::{ensure_checkpoint, follow, RuntimeOptions};
use reserver_store::EventStore;
use tokio::task::JoinHandle;

pub use smtp::SmtpSettings;

/// Events the planner applies per transaction.
const PLANNER_BATCH: usize = 500;

/// What the mailer does.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// SMTP, when email is on (`EMAIL_ENABLED=true`).
    pub smtp: Option<SmtpSettings>,
    /// Reminder lead time for accounts without a `reminder_minutes` preference (0: none).
    pub default_reminder_minutes: i64,
    /// Longest pause between passes of the reminder and send loops.
    pub poll: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self { smtp: None, default_reminder_minutes: 60, poll: Duration::from_secs(2) }
    }
}

/// Starts the planner, the reminder loop and (with SMTP) the sender. Abort the handles to stop.
pub async fn spawn(
    store: Arc<dyn EventStore>,
    settings: MailSettings,
    now: fn() -> DateTime<Utc>,
) -> Result<Vec<JoinHandle<()>>, reserver_projections::ProjectionError> {
    ensure_checkpoint(&store.database(), planner::PLANNER).await?;
    let mut tasks = vec![spawn_planner(store.clone(), settings.smtp.is_some(), settings.poll)];
    tasks.push(spawn_reminders(store.clone(), settings.default_reminder_minutes, settings.poll, now));
    if let Some(smtp) = settings.smtp {
        let transport = smtp::transport(&smtp).map_err(reserver_projections::ProjectionError::InvalidQuery)?;
        tasks.push(spawn_sender(store, smtp, transport, settings.poll, now));
    }
    Ok(tasks)
}

fn spawn_planner(store: Arc<dyn EventStore>, email: bool, poll: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let planner = planner::MailPlanner { email };
        let options = RuntimeOptions { batch_size: PLANNER_BATCH, poll_interval: poll, ..RuntimeOptions::default() };
        // Runs until its task is aborted: the shutdown switch is never thrown.
        let (_never, shutdown) = tokio::sync::watch::channel(false);
        follow(store.as_ref(), &planner, &options, |_, _| {}, shutdown).await;
    })
}

fn spawn_reminders(
    store: Arc<dyn EventStore>,
    default_minutes: i64,
    poll: Duration,
    now: fn() -> DateTime<Utc>,
) -> JoinHandle<()> {
    // Time-driven: polled, not woken by every commit.
    tokio::spawn(async move {
        loop {
            match reminders::due(store.as_ref(), now(), default_minutes).await {
                Ok(due) => {
                    for reminder in &due {
                        if let Err(error) = reminders::send(&store, reminder).await {
                            tracing::warn!(%error, reservation_id = %reminder.reservation_id, "reminder not sent");
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "could not look for due reminders"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

fn spawn_sender(
    store: Arc<dyn EventStore>,
    settings: SmtpSettings,
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    poll: Duration,
    now: fn() -> DateTime<Utc>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let db = store.database();
        loop {
            match smtp::claim(&db, now()).await {
                Ok(claimed) => {
                    for mail in &claimed {
                        if let Err(error) = smtp::deliver(&db, &transport, &settings, mail, now).await {
                            tracing::warn!(%error, "could not record an email's outcome");
                        }
                    }
                    if !claimed.is_empty() {
                        continue;
                    }
                }
                Err(error) => tracing::warn!(%error, "could not claim emails"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

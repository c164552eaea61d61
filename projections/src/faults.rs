//! Followers of the log that cannot get past an event. A projector (or planner) whose batch
//! fails is retried; when the failure belongs to one event — its `apply` refuses it, not the
//! database connection — the runtime pins it to that event (the events before it are applied
//! one by one) and reports the follower as stuck: in memory for this process
//! ([`crate::ProjectionHandle::stuck`], which read-your-writes waits consult), in the
//! `projection_faults` table for every replica and the command line ([`stuck_projectors`],
//! [`crate::status`]), in the metrics `projection_failures_total{projector}` (every failed
//! batch) and `projection_stuck{projector}` (1 while stuck), and in the log at error level.
//! Other followers keep running; the stuck one retries with a growing pause (at most
//! [`MAX_STUCK_BACKOFF`]) and clears its report once it gets past the event.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reserver_store::{Database, RecordedEvent};
use serde::{Deserialize, Serialize};

use crate::decode::from_micros;
use crate::error::ProjectionError;
use crate::sql::{execute, fetch_all, Value};

/// Longest pause between retries of a stuck follower.
pub const MAX_STUCK_BACKOFF: Duration = Duration::from_secs(30);

/// A follower that cannot apply the event at `position`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckProjector {
    /// The projector's (or planner's) checkpoint name, e.g. `catalog`.
    pub name: String,
    /// Log position of the event it cannot apply; everything before it is applied.
    pub position: u64,
    /// That event's type.
    pub event_type: String,
    /// Why, as the projector or the database said it.
    pub error: String,
    /// The first failure at this position.
    pub since: DateTime<Utc>,
    /// Failed attempts at this position so far.
    pub attempts: u64,
}

impl StuckProjector {
    /// The report after another failure at `event`: attempts and `since` carry over when the
    /// previous report was for the same event.
    pub(crate) fn after_failure(
        previous: Option<&StuckProjector>,
        name: &str,
        position: u64,
        event_type: &str,
        error: String,
        now: DateTime<Utc>,
    ) -> StuckProjector {
        let same = previous.filter(|p| p.position == position);
        StuckProjector {
            name: name.to_string(),
            position,
            event_type: event_type.to_string(),
            error,
            since: same.map_or(now, |p| p.since),
            attempts: same.map_or(0, |p| p.attempts) + 1,
        }
    }

    /// Pause before the next attempt: `base` doubled per attempt, at most [`MAX_STUCK_BACKOFF`].
    pub(crate) fn backoff(&self, base: Duration) -> Duration {
        let doublings = self.attempts.saturating_sub(1).min(16) as u32;
        base.saturating_mul(1 << doublings).min(MAX_STUCK_BACKOFF)
    }
}

/// The error for a projector that refused `event`.
pub(crate) fn cannot_apply(name: &str, event: &RecordedEvent, source: ProjectionError) -> ProjectionError {
    ProjectionError::CannotApply {
        projector: name.to_string(),
        position: event.position,
        event_type: event.event_type.clone(),
        source: Box::new(source),
    }
}

/// Saves the report so every replica and the command line see it.
pub(crate) async fn record(db: &Database, stuck: &StuckProjector) -> Result<(), ProjectionError> {
    execute(
        db,
        "INSERT INTO projection_faults (name, position, event_type, error, since, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
         event_type = excluded.event_type, error = excluded.error, since = excluded.since, \
         attempts = excluded.attempts",
        &[
            stuck.name.as_str().into(),
            Value::Int(stuck.position as i64),
            stuck.event_type.as_str().into(),
            stuck.error.as_str().into(),
            Value::Int(stuck.since.timestamp_micros()),
            Value::Int(stuck.attempts as i64),
        ],
    )
    .await?;
    Ok(())
}

/// Removes a follower's report (it got past the event, or was reset for a rebuild).
pub(crate) async fn clear(db: &Database, name: &str) -> Result<(), ProjectionError> {
    execute(db, "DELETE FROM projection_faults WHERE name = $1", &[name.into()]).await?;
    Ok(())
}

/// Every follower (projectors and planners) stuck now, by name, as recorded by any replica.
/// A report whose event the follower has applied since is left out.
pub async fn stuck_projectors(db: &Database) -> Result<Vec<StuckProjector>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT f.name, f.position, f.event_type, f.error, f.since, f.attempts FROM projection_faults f \
         LEFT JOIN projection_checkpoints c ON c.name = f.name \
         WHERE c.position IS NULL OR c.position < f.position ORDER BY f.name",
        &[],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StuckProjector {
                name: row.text(0)?,
                position: row.int(1)?.max(0) as u64,
                event_type: row.text(2)?,
                error: row.text(3)?,
                since: from_micros(row.int(4)?)?,
                attempts: row.int(5)?.max(0) as u64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_count_attempts_per_event_and_back_off() {
        let now = Utc::now();
        let first = StuckProjector::after_failure(None, "catalog", 7, "resource_created", "bad".into(), now);
        assert_eq!((first.attempts, first.since), (1, now));
        let later = now + chrono::Duration::seconds(5);
        let second = StuckProjector::after_failure(Some(&first), "catalog", 7, "resource_created", "bad".into(), later);
        assert_eq!((second.attempts, second.since), (2, now));
        let elsewhere = StuckProjector::after_failure(Some(&second), "catalog", 9, "x", "bad".into(), later);
        assert_eq!((elsewhere.attempts, elsewhere.since), (1, later));
        let base = Duration::from_millis(500);
        assert_eq!(first.backoff(base), base);
        assert_eq!(second.backoff(base), base * 2);
        let many = StuckProjector { attempts: 40, ..second };
        assert_eq!(many.backoff(base), MAX_STUCK_BACKOFF);
    }
}

//! Finding the aggregate a command is for from the ids clients hold. A reservation, a series
//! and a waitlist entry live inside their resource's stream; the client knows only their own
//! id. The answer comes from the event log itself (partial expression indexes on the creating
//! events, migration 0012), which is written in the same transaction as the append: an id that
//! a `201` just returned is found at once, with no read model in between.

use reserver_store::{Database, EventStore};
use uuid::Uuid;

use crate::error::CommandError;

/// An id that lives inside a resource's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// A reservation (booked, requested, or offered from the waitlist).
    Reservation(Uuid),
    /// A recurring series.
    Series(Uuid),
    /// A waitlist entry.
    WaitlistEntry(Uuid),
}

impl Address {
    /// The SQL that finds the creating event's stream. The expressions and predicates repeat
    /// the indexes' exactly, so the planner uses them.
    fn query(self, database: &Database) -> &'static str {
        let sqlite = matches!(database, Database::Sqlite(_));
        match (self, sqlite) {
            (Address::Reservation(_), false) => {
                "SELECT stream_id FROM events WHERE event_type IN \
                 ('reservation_confirmed', 'reservation_requested', 'waitlist_offer_made') \
                 AND (payload->>'reservation_id') = $1 LIMIT 1"
            }
            (Address::Reservation(_), true) => {
                "SELECT stream_id FROM events WHERE event_type IN \
                 ('reservation_confirmed', 'reservation_requested', 'waitlist_offer_made') \
                 AND json_extract(payload, '$.reservation_id') = $1 LIMIT 1"
            }
            (Address::Series(_), false) => {
                "SELECT stream_id FROM events WHERE event_type = 'series_booked' \
                 AND (payload->>'series_id') = $1 LIMIT 1"
            }
            (Address::Series(_), true) => {
                "SELECT stream_id FROM events WHERE event_type = 'series_booked' \
                 AND json_extract(payload, '$.series_id') = $1 LIMIT 1"
            }
            (Address::WaitlistEntry(_), false) => {
                "SELECT stream_id FROM events WHERE event_type = 'waitlist_joined' \
                 AND (payload->>'entry_id') = $1 LIMIT 1"
            }
            (Address::WaitlistEntry(_), true) => {
                "SELECT stream_id FROM events WHERE event_type = 'waitlist_joined' \
                 AND json_extract(payload, '$.entry_id') = $1 LIMIT 1"
            }
        }
    }

    fn id(self) -> Uuid {
        match self {
            Address::Reservation(id) | Address::Series(id) | Address::WaitlistEntry(id) => id,
        }
    }
}

/// The resource whose stream holds `address`, or `None` when no such id was ever created.
/// Errors: `Unavailable` when the log cannot be read.
pub async fn resource_of(store: &dyn EventStore, address: Address) -> Result<Option<Uuid>, CommandError> {
    let database = store.database();
    let sql = address.query(&database);
    let id = address.id().to_string();
    let stream: Option<String> = match &database {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await,
        Database::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await,
    }
    .map_err(|e| CommandError::Unavailable(format!("looking up {address:?}: {e}")))?;
    // The inverse of `resource::stream_id`.
    Ok(stream.as_deref().and_then(|s| s.strip_prefix("resource-")).and_then(|id| Uuid::parse_str(id).ok()))
}

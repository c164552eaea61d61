//! Finding the aggregate a command is for from the ids clients hold. A reservation, a series
//! and a waitlist entry live inside their resource's stream; the client knows only their own
//! id. The answer comes from the event log itself (partial expression indexes, migrations 0012
//! and 0021), which is written in the same transaction as the append: an id that
//! a `201` just returned is found at once, with no read model in between.

use reserver_domain::ResourceEvent;
use reserver_store::{log_index, Backend, Database, EventStore};
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
    /// the indexes' exactly (a reservation's through `log_index`), so the planner uses them.
    fn query(self, database: &Database) -> String {
        let sqlite = matches!(database, Database::Sqlite(_));
        match (self, sqlite) {
            (Address::Reservation(_), _) => {
                let backend = if sqlite { Backend::Sqlite } else { Backend::Postgres };
                format!(
                    "SELECT stream_id FROM events WHERE {} AND {} = $1 LIMIT 1",
                    log_index::event_type_in(&ResourceEvent::RESERVATION_CREATING_TYPES),
                    log_index::reservation_of_event(backend)
                )
            }
            (Address::Series(_), false) => "SELECT stream_id FROM events WHERE event_type = 'series_booked' \
                 AND (payload->>'series_id') = $1 LIMIT 1"
                .into(),
            (Address::Series(_), true) => "SELECT stream_id FROM events WHERE event_type = 'series_booked' \
                 AND json_extract(payload, '$.series_id') = $1 LIMIT 1"
                .into(),
            (Address::WaitlistEntry(_), false) => "SELECT stream_id FROM events WHERE event_type = 'waitlist_joined' \
                 AND (payload->>'entry_id') = $1 LIMIT 1"
                .into(),
            (Address::WaitlistEntry(_), true) => "SELECT stream_id FROM events WHERE event_type = 'waitlist_joined' \
                 AND json_extract(payload, '$.entry_id') = $1 LIMIT 1"
                .into(),
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
    let sql = sqlx::AssertSqlSafe(sql);
    let id = address.id().to_string();
    let stream: Option<String> = match &database {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await,
        Database::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await,
    }
    .map_err(|e| CommandError::Unavailable(format!("looking up {address:?}: {e}")))?;
    // The inverse of `resource::stream_id`.
    Ok(stream.as_deref().and_then(|s| s.strip_prefix("resource-")).and_then(|id| Uuid::parse_str(id).ok()))
}

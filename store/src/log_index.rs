//! SQL that reaches the log through its own indexes. A partial expression index is used only
//! by a query repeating its expression and implying its predicate, so each index's shape is
//! written here once, for both backends, and the callers build their queries from it.

use crate::Backend;

/// The reservation an event is about, as `events_reservation_idx` (migration 0021) indexes it:
/// the `reservation_id` of the stored payload. On PostgreSQL it is cut from the stored text,
/// not read with `->>`, which refuses a whole document holding an escaped NUL anywhere: every
/// event of the indexed types has `"reservation_id":"<36-character UUID>"` at its top level and
/// no other field of that name, and a quote inside a string is escaped, so the first match is
/// the event's own reservation.
pub fn reservation_of_event(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "substr(payload::text, strpos(payload::text, '\"reservation_id\":\"') + 18, 36)",
        Backend::Sqlite => "json_extract(payload, '$.reservation_id')",
    }
}

/// `event_type IN ('a', 'b', …)` for `types` (names of our own event kinds, never user input):
/// the predicate of a partial index over those types, implied by a query that repeats it or
/// names a subset.
pub fn event_type_in(types: &[&str]) -> String {
    let quoted: Vec<String> = types.iter().map(|t| format!("'{}'", t.replace('\'', "''"))).collect();
    format!("event_type IN ({})", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_lists_are_quoted() {
        assert_eq!(event_type_in(&["a", "b'c"]), "event_type IN ('a', 'b''c')");
    }
}

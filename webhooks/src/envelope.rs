//! The body every delivery sends: `{"type", "timestamp", "position", "data"}`, the Standard
//! Webhooks payload shape plus the log position (a receiver can order and de-duplicate by it).

use chrono::{DateTime, SecondsFormat, Utc};
use reserver_projections::public_events::PublicEvent;
use serde::Serialize;
use serde_json::{json, Value};
use uuid::Uuid;

/// The event type of a ping sent by `POST /webhooks/{id}/test`.
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    position: u64,
    data: &'a Value,
}

fn render(kind: &str, at: DateTime<Utc>, position: u64, data: &Value) -> String {
    let envelope = Envelope { kind, timestamp: at.to_rfc3339_opts(SecondsFormat::Micros, true), position, data };
    // Serializing strings, numbers and an existing JSON value cannot fail.
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// The body for a public event of the log.
pub fn for_event(event: &PublicEvent) -> String {
    render(event.name, event.occurred_at, event.position, &event.data)
}

/// The body of a ping: `position` is the log head when it was sent.
pub fn for_test(subscription: Uuid, at: DateTime<Utc>, head: u64) -> String {
    let data = json!({ "webhook_id": subscription, "message": "Test delivery from Resource Reserver" });
    render(TEST_EVENT, at, head, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_has_type_timestamp_position_and_data_in_that_order() {
        let at = DateTime::parse_from_rfc3339("2030-01-10T09:00:00Z").expect("time").with_timezone(&Utc);
        let body = render("reservation.created", at, 42, &json!({ "id": 1 }));
        assert_eq!(
            body,
            r#"{"type":"reservation.created","timestamp":"2030-01-10T09:00:00.000000Z","position":42,"data":{"id":1}}"#
        );
        let ping: Value = serde_json::from_str(&for_test(Uuid::nil(), at, 7)).expect("json");
        assert_eq!((ping["type"].as_str(), ping["position"].as_u64()), (Some(TEST_EVENT), Some(7)));
    }
}

//! What an email says. Pure: a public event and the resource's name in, subject and text out.

use reserver_projections::public_events::PublicEvent;
use serde_json::Value;

/// Event names that are emailed to the account they concern.
pub const EMAILED: &[&str] = &[
    "reservation.created",
    "reservation.cancelled",
    "reservation.approved",
    "reservation.rejected",
    "reservation.expired",
    "reservation.reminder",
    "waitlist.offer",
];

/// Subject and plain-text body for an emailed event, or `None` if it is not emailed.
pub fn compose(event: &PublicEvent, resource_name: &str) -> Option<(String, String)> {
    let when = span(&event.data);
    let (subject, opening) = match event.name {
        "reservation.created" => {
            (format!("Booked: {resource_name}"), format!("Your booking of {resource_name} is confirmed."))
        }
        "reservation.cancelled" => {
            (format!("Cancelled: {resource_name}"), format!("Your booking of {resource_name} was cancelled."))
        }
        "reservation.approved" => {
            (format!("Approved: {resource_name}"), format!("Your request for {resource_name} was approved."))
        }
        "reservation.rejected" => {
            (format!("Not approved: {resource_name}"), format!("Your request for {resource_name} was not approved."))
        }
        "reservation.expired" => (
            format!("Request expired: {resource_name}"),
            format!("Your request for {resource_name} was not decided in time and has lapsed."),
        ),
        "reservation.reminder" => {
            let minutes = event.data.get("minutes_before").and_then(Value::as_i64).unwrap_or(0);
            (
                format!("Starting soon: {resource_name}"),
                format!("Reminder: your booking of {resource_name} starts in about {minutes} minutes."),
            )
        }
        "waitlist.offer" => (
            format!("A slot opened: {resource_name}"),
            format!("A slot you were waiting for on {resource_name} is held for you. Accept it before it expires."),
        ),
        _ => return None,
    };
    let mut body = opening;
    if let Some(when) = when {
        body.push_str(&format!("\n\nWhen: {when}"));
    }
    for (label, key) in [("Reservation", "reservation_id"), ("Comment", "comment"), ("Offer expires", "expires_at")] {
        if let Some(value) = event.data.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
            body.push_str(&format!("\n{label}: {value}"));
        }
    }
    body.push_str("\n\nResource Reserver");
    Some((subject, body))
}

/// `start – end` (UTC) from `range` or `start_time`/`end_time`.
fn span(data: &Value) -> Option<String> {
    let range = data.get("range").or_else(|| data.get("desired"));
    let (start, end) = match range {
        Some(r) => (r.get("start")?.as_str()?, r.get("end")?.as_str()?),
        None => (data.get("start_time")?.as_str()?, data.get("end_time")?.as_str()?),
    };
    Some(format!("{start} – {end} (UTC)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use reserver_projections::public_events::Audience;
    use serde_json::json;
    use uuid::Uuid;

    fn event(name: &'static str, data: Value) -> PublicEvent {
        PublicEvent {
            position: 1,
            event_id: Uuid::nil(),
            name,
            occurred_at: Utc::now(),
            data,
            audience: Audience::Everyone,
        }
    }

    #[test]
    fn confirmation_names_the_resource_and_the_time() {
        let data = json!({ "reservation_id": "r-1", "range": { "start": "2030-01-01T09:00:00Z", "end": "2030-01-01T10:00:00Z" } });
        let (subject, body) = compose(&event("reservation.created", data), "Room 1").expect("emailed");
        assert_eq!(subject, "Booked: Room 1");
        assert!(body.contains("2030-01-01T09:00:00Z – 2030-01-01T10:00:00Z"), "{body}");
        assert!(body.contains("Reservation: r-1"), "{body}");
    }

    #[test]
    fn reminders_say_how_soon() {
        let data = json!({ "minutes_before": 30, "start_time": "a", "end_time": "b" });
        let (subject, body) = compose(&event("reservation.reminder", data), "Lab").expect("emailed");
        assert_eq!(subject, "Starting soon: Lab");
        assert!(body.contains("about 30 minutes"), "{body}");
    }

    #[test]
    fn other_events_are_not_emailed() {
        assert!(compose(&event("resource.updated", json!({})), "Lab").is_none());
        assert!(EMAILED.iter().all(|name| compose(&event(name, json!({})), "x").is_some()));
    }
}

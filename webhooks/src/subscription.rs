//! Webhook subscriptions are event-sourced: each lives in a `webhook-{uuid}` stream of the log,
//! and its state is the fold of that stream. The log never holds a secret: a rotation only
//! records that it happened (the secrets are in the operational `webhook_secrets` table).

use chrono::{DateTime, Utc};
use reserver_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What every subscription stream id starts with.
pub const STREAM_PREFIX: &str = "webhook-";
/// The event type name that matches every event.
pub const ALL_EVENTS: &str = "*";

pub fn stream_id(id: Uuid) -> String {
    format!("{STREAM_PREFIX}{id}")
}

/// The subscription a stream belongs to, if it is a subscription stream.
pub fn subscription_of(stream_id: &str) -> Option<Uuid> {
    stream_id.strip_prefix(STREAM_PREFIX).and_then(|id| Uuid::parse_str(id).ok())
}

/// What happens to a subscription. Stored with its `type` tag, which is also the log's event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WebhookEvent {
    WebhookCreated {
        url: String,
        event_types: Vec<String>,
        description: String,
        owner: Uuid,
        at: DateTime<Utc>,
    },
    /// The new values of every editable field.
    WebhookUpdated {
        url: String,
        event_types: Vec<String>,
        description: String,
        at: DateTime<Utc>,
    },
    WebhookDeleted {
        at: DateTime<Utc>,
    },
    /// A new secret signs from now on; the previous one also signs until `previous_valid_until`.
    WebhookSecretRotated {
        previous_valid_until: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// Deliveries stop; `owner` and `url` are carried so the owner's notification needs nothing else.
    WebhookDisabled {
        reason: String,
        owner: Uuid,
        url: String,
        at: DateTime<Utc>,
    },
    WebhookEnabled {
        at: DateTime<Utc>,
    },
}

impl WebhookEvent {
    /// The log's event type: the same as the payload's `type` tag.
    pub fn event_type(&self) -> &'static str {
        match self {
            WebhookEvent::WebhookCreated { .. } => "webhook_created",
            WebhookEvent::WebhookUpdated { .. } => "webhook_updated",
            WebhookEvent::WebhookDeleted { .. } => "webhook_deleted",
            WebhookEvent::WebhookSecretRotated { .. } => "webhook_secret_rotated",
            WebhookEvent::WebhookDisabled { .. } => "webhook_disabled",
            WebhookEvent::WebhookEnabled { .. } => "webhook_enabled",
        }
    }

    /// Reads a recorded event of a subscription stream; `None` for anything else.
    pub fn decode(event: &RecordedEvent) -> Option<(Uuid, WebhookEvent)> {
        let id = subscription_of(&event.stream_id)?;
        match serde_json::from_str(&event.payload) {
            Ok(decoded) => Some((id, decoded)),
            Err(error) => {
                tracing::debug!(position = event.position, %error, "unknown webhook event skipped");
                None
            }
        }
    }
}

/// A subscription as of some version of its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    /// The admin who created it: gets the notification when it is disabled.
    pub owner: Uuid,
    pub active: bool,
    /// Why it was disabled, while it is.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was created or last re-enabled: the auto-disable rule counts failures after it.
    pub enabled_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// The stream version: the ETag.
    pub version: u64,
}

impl Subscription {
    /// Whether this subscription wants events called `name`: listed exactly, `*`, or a
    /// `prefix.*` pattern such as `reservation.*`.
    pub fn wants(&self, name: &str) -> bool {
        self.event_types.iter().any(|pattern| type_matches(pattern, name))
    }
}

/// Whether an event type pattern (`*`, `reservation.*` or an exact name) matches `name`.
pub fn type_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => name.starts_with(prefix),
        _ => pattern == name,
    }
}

/// The state after one more event of the stream (at `version`); `None` once deleted.
pub fn evolve(state: Option<Subscription>, id: Uuid, version: u64, event: &WebhookEvent) -> Option<Subscription> {
    use WebhookEvent::*;
    if let WebhookCreated { url, event_types, description, owner, at } = event {
        return Some(Subscription {
            id,
            url: url.clone(),
            event_types: event_types.clone(),
            description: description.clone(),
            owner: *owner,
            active: true,
            disabled_reason: None,
            created_at: *at,
            updated_at: *at,
            enabled_at: *at,
            secret_rotated_at: None,
            version,
        });
    }
    let mut s = state?;
    s.version = version;
    match event {
        WebhookCreated { .. } => {}
        WebhookUpdated { url, event_types, description, at } => {
            s.url = url.clone();
            s.event_types = event_types.clone();
            s.description = description.clone();
            s.updated_at = *at;
        }
        WebhookDeleted { .. } => return None,
        WebhookSecretRotated { at, .. } => {
            s.secret_rotated_at = Some(*at);
            s.updated_at = *at;
        }
        WebhookDisabled { reason, at, .. } => {
            s.active = false;
            s.disabled_reason = Some(reason.clone());
            s.updated_at = *at;
        }
        WebhookEnabled { at } => {
            s.active = true;
            s.disabled_reason = None;
            s.enabled_at = *at;
            s.updated_at = *at;
        }
    }
    Some(s)
}

/// The state a stream's events fold to, and the stream's version (0 when it has no events).
pub fn fold<'a>(id: Uuid, events: impl IntoIterator<Item = &'a RecordedEvent>) -> (Option<Subscription>, u64) {
    let mut state = None;
    let mut version = 0;
    for recorded in events {
        version = recorded.stream_version;
        if let Some((_, event)) = WebhookEvent::decode(recorded) {
            state = evolve(state, id, recorded.stream_version, &event);
        }
    }
    (state, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(at: DateTime<Utc>) -> WebhookEvent {
        WebhookEvent::WebhookCreated {
            url: "https://example.com/hook".into(),
            event_types: vec!["reservation.created".into()],
            description: "".into(),
            owner: Uuid::nil(),
            at,
        }
    }

    #[test]
    fn patterns_match_exact_names_prefixes_and_everything() {
        assert!(type_matches("*", "reservation.created"));
        assert!(type_matches("reservation.*", "reservation.created"));
        assert!(!type_matches("reservation.*", "resource.created"));
        assert!(type_matches("resource.created", "resource.created"));
        assert!(!type_matches("resource.created", "resource.created_later"));
        assert!(!type_matches("reservation*", "reservation.created"));
    }

    #[test]
    fn a_stream_folds_to_its_subscription() {
        let id = Uuid::new_v4();
        let at = Utc::now();
        let s = evolve(None, id, 1, &created(at)).expect("created");
        assert!(s.active && s.wants("reservation.created") && !s.wants("resource.created"));
        let s = evolve(
            Some(s),
            id,
            2,
            &WebhookEvent::WebhookDisabled { reason: "failing".into(), owner: Uuid::nil(), url: String::new(), at },
        )
        .expect("disabled");
        assert!(!s.active);
        assert_eq!((s.disabled_reason.as_deref(), s.version), (Some("failing"), 2));
        let later = at + chrono::Duration::seconds(5);
        let s = evolve(Some(s), id, 3, &WebhookEvent::WebhookEnabled { at: later }).expect("enabled");
        assert!(s.active && s.disabled_reason.is_none());
        assert_eq!(s.enabled_at, later);
        assert_eq!(evolve(Some(s), id, 4, &WebhookEvent::WebhookDeleted { at }), None);
        assert_eq!(evolve(None, id, 1, &WebhookEvent::WebhookEnabled { at }), None);
    }

    #[test]
    fn event_types_are_the_payload_tags() {
        let event = created(Utc::now());
        let json: serde_json::Value = serde_json::to_value(&event).expect("json");
        assert_eq!(json["type"], event.event_type());
        assert!(json.get("secret").is_none());
    }

    #[test]
    fn stream_ids_round_trip() {
        let id = Uuid::new_v4();
        assert_eq!(subscription_of(&stream_id(id)), Some(id));
        assert_eq!(subscription_of("resource-1"), None);
        assert_eq!(subscription_of("webhook-nope"), None);
    }
}

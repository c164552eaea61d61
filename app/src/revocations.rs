//! Sessions ended by logout or by refresh-token reuse. Access tokens name their session
//! (`sid`); a token of an ended session is refused at once instead of staying valid until it
//! expires. The set is loaded from the log at start and kept current by the live hub's tail,
//! so every replica learns of a logout within moments; entries older than the access-token
//! lifetime are dropped, since every token they could refuse has expired anyway.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use reserver_projections::sql::fetch_all;
use reserver_store::{EventStore, RecordedEvent};
use uuid::Uuid;

const ENDING_EVENTS: [&str; 2] = ["session_revoked", "refresh_token_reuse_detected"];

pub struct Revocations {
    /// Session id → when it ended.
    ended: RwLock<HashMap<Uuid, DateTime<Utc>>>,
    token_lifetime: chrono::Duration,
}

impl Revocations {
    pub fn new(token_lifetime: chrono::Duration) -> Self {
        Self { ended: RwLock::new(HashMap::new()), token_lifetime }
    }

    /// Adds the sessions ended within the last access-token lifetime, from the log. Called after
    /// the live hub has started, so nothing falls between the two.
    pub async fn load(&self, store: &dyn EventStore) -> anyhow::Result<()> {
        let rows = fetch_all(
            &store.database(),
            "SELECT stream_id, CAST(payload AS TEXT) FROM events WHERE event_type IN ($1, $2)",
            &[ENDING_EVENTS[0].into(), ENDING_EVENTS[1].into()],
        )
        .await?;
        for row in rows {
            self.note(&row.text(0)?, &row.text(1)?);
        }
        Ok(())
    }

    /// Follows one event of the log (called by the live hub for every event).
    pub fn observe(&self, event: &RecordedEvent) {
        if ENDING_EVENTS.contains(&event.event_type.as_str()) {
            self.note(&event.stream_id, &event.payload);
        }
    }

    /// Marks a session ended now (the replica that handled the logout does not wait for its tail).
    pub fn end(&self, session_id: Uuid) {
        if let Ok(mut ended) = self.ended.write() {
            ended.insert(session_id, Utc::now());
        }
    }

    pub fn is_ended(&self, session_id: Uuid) -> bool {
        self.ended.read().map(|ended| ended.contains_key(&session_id)).unwrap_or(false)
    }

    fn note(&self, stream_id: &str, payload: &str) {
        let Some(session) = stream_id.strip_prefix("session-").and_then(|s| Uuid::parse_str(s).ok()) else {
            return;
        };
        let at = serde_json::from_str::<serde_json::Value>(payload)
            .ok()
            .and_then(|p| p.get("at")?.as_str()?.parse::<DateTime<Utc>>().ok())
            .unwrap_or_else(Utc::now);
        let horizon = Utc::now() - self.token_lifetime;
        if at < horizon {
            return;
        }
        if let Ok(mut ended) = self.ended.write() {
            ended.insert(session, at);
            // Amortized pruning: only when the map has grown.
            if ended.len() % 1024 == 0 {
                ended.retain(|_, at| *at >= horizon);
            }
        }
    }
}

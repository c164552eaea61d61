//! The sessions read model: each login session of an account — when and from where it started,
//! with which client, when its refresh token was last exchanged, and when and why it ended — for
//! "your sessions" and for admins. Token hashes stay in the session stream.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_store::{Database, EventMetadata, RecordedEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::ProjectionError;
use crate::runtime::Projector;
use crate::sql::{fetch_all, DbTx, Value};

/// The projector's name (its checkpoint).
pub const PROJECTOR: &str = "sessions";

/// One login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// The last refresh-token exchange (API clients), else the start. A web session's cookie is
    /// not exchanged, so its last use is its start.
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless used again (idle expiry), and at the latest (absolute expiry).
    pub expires_at: DateTime<Utc>,
    pub absolute_expires_at: Option<DateTime<Utc>>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `logout`, `revoked by an admin`, `refresh token reuse` …
    pub end_reason: Option<String>,
}

impl SessionView {
    /// Whether the session still lets its holder in at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.ended_at.is_none() && self.expires_at > now && self.absolute_expires_at.is_none_or(|t| t > now)
    }
}

/// Builds `rm_sessions` from the `session-{id}` streams.
pub struct SessionsProjector;

fn session_id(event: &RecordedEvent) -> Option<Uuid> {
    event.stream_id.strip_prefix("session-").and_then(|id| Uuid::parse_str(id).ok())
}

fn instant(payload: &Json, key: &str) -> Option<DateTime<Utc>> {
    payload.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn apply(view: &mut Option<SessionView>, session_id: Uuid, event: &RecordedEvent) {
    let Ok(payload) = serde_json::from_str::<Json>(&event.payload) else { return };
    let at = instant(&payload, "at").unwrap_or(event.recorded_at);
    match event.event_type.as_str() {
        "session_started" => {
            let Some(user_id) = payload.get("user_id").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok())
            else {
                return;
            };
            let metadata: EventMetadata = serde_json::from_str(&event.metadata).unwrap_or_default();
            *view = Some(SessionView {
                session_id,
                user_id,
                started_at: at,
                last_used_at: at,
                expires_at: instant(&payload, "expires_at").unwrap_or(at),
                absolute_expires_at: instant(&payload, "absolute_expires_at"),
                client_ip: metadata.client_ip,
                user_agent: payload.get("user_agent").and_then(|v| v.as_str()).map(str::to_string),
                ended_at: None,
                end_reason: None,
            });
        }
        "session_rotated" => {
            if let Some(v) = view.as_mut() {
                v.last_used_at = at;
                v.expires_at = instant(&payload, "expires_at").unwrap_or(v.expires_at);
            }
        }
        "session_revoked" | "refresh_token_reuse_detected" => {
            if let Some(v) = view.as_mut().filter(|v| v.ended_at.is_none()) {
                v.ended_at = Some(at);
                v.end_reason = Some(match payload.get("reason").and_then(|r| r.as_str()) {
                    Some(reason) => reason.to_string(),
                    None => "refresh token reuse".to_string(),
                });
            }
        }
        _ => {}
    }
}

#[async_trait]
impl Projector for SessionsProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_sessions"]
    }

    fn wants(&self, event: &RecordedEvent) -> bool {
        event.stream_id.starts_with("session-")
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let changes: Vec<(Uuid, &RecordedEvent)> =
            events.iter().filter(|e| self.wants(e)).filter_map(|e| Some((session_id(e)?, e))).collect();
        if changes.is_empty() {
            return Ok(());
        }
        let mut sessions: HashMap<Uuid, Option<SessionView>> = changes.iter().map(|(id, _)| (*id, None)).collect();
        let keys: Vec<String> = sessions.keys().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("doc", "rm_sessions", "session_id", &keys).await? {
            let view: SessionView = serde_json::from_str(&row.text(0)?)?;
            sessions.insert(view.session_id, Some(view));
        }
        for (id, event) in &changes {
            apply(sessions.entry(*id).or_default(), *id, event);
        }
        let mut rows = Vec::new();
        for view in sessions.values().flatten() {
            rows.push(vec![
                Value::Text(view.session_id.to_string()),
                Value::Text(view.user_id.to_string()),
                Value::Text(serde_json::to_string(view)?),
            ]);
        }
        tx.insert_rows(
            "INSERT INTO rm_sessions (session_id, user_id, doc)",
            "ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, doc = excluded.doc",
            &rows,
        )
        .await?;
        Ok(())
    }
}

/// Every session of a user, newest first.
pub async fn sessions_for_user(db: &Database, user_id: Uuid) -> Result<Vec<SessionView>, ProjectionError> {
    let rows = fetch_all(db, "SELECT doc FROM rm_sessions WHERE user_id = $1", &[user_id.to_string().into()]).await?;
    let mut views = rows
        .iter()
        .map(|row| Ok(serde_json::from_str(&row.text(0)?)?))
        .collect::<Result<Vec<SessionView>, ProjectionError>>()?;
    views.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.session_id.cmp(&b.session_id)));
    Ok(views)
}

/// One session by id.
pub async fn get_session(db: &Database, session_id: Uuid) -> Result<Option<SessionView>, ProjectionError> {
    let rows =
        fetch_all(db, "SELECT doc FROM rm_sessions WHERE session_id = $1", &[session_id.to_string().into()]).await?;
    rows.first().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).transpose()
}

//! Refresh sessions as an event-sourced aggregate (stream `session-{uuid}`): one session is
//! one family of refresh tokens, each rotation replacing the current token. Presenting a token
//! that was already rotated away means two parties hold it — the thief or the user — so the
//! whole family is revoked and both must log in again (RFC 6819 §5.2.2.3). Every such
//! decision is an event, so the log holds the security history.

use chrono::{DateTime, Utc};
use reserver_commands::Aggregate;
use reserver_domain::{DecisionContext, Rejection, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Folded session state; `Default` = not started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// `None` until started.
    pub user_id: Option<Uuid>,
    /// Hash of the one refresh token that may be presented next.
    pub current_hash: Option<String>,
    /// Hashes rotated away: presenting one is reuse.
    pub used_hashes: Vec<String>,
    pub revoked: bool,
    /// The current token is refused from this instant.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What can be asked of a session. Token hashes come from [`crate::new_refresh_token`] and
/// [`crate::parse_refresh_token`]; raw tokens never reach the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionCommand {
    /// A login: the first token of a new family. The actor is the user (or an admin).
    Start { user_id: Uuid, token_hash: String, expires_at: DateTime<Utc> },
    /// A refresh: `presented_hash` is exchanged for `new_hash`. The token is the credential,
    /// so any actor may ask.
    Rotate { presented_hash: String, new_hash: String, expires_at: DateTime<Utc> },
    /// Logout or an admin ending the session.
    Revoke { reason: String },
}

/// Facts in a session stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    SessionStarted {
        user_id: Uuid,
        token_hash: String,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    SessionRotated {
        previous_hash: String,
        new_hash: String,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A rotated-away token came back; the whole family is revoked by this event.
    RefreshTokenReuseDetected {
        user_id: Uuid,
        presented_hash: String,
        at: DateTime<Utc>,
    },
    SessionRevoked {
        reason: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
}

impl SessionEvent {
    /// Stable storage name, identical to the serialized `type` tag.
    pub fn event_type(&self) -> &'static str {
        match self {
            SessionEvent::SessionStarted { .. } => "session_started",
            SessionEvent::SessionRotated { .. } => "session_rotated",
            SessionEvent::RefreshTokenReuseDetected { .. } => "refresh_token_reuse_detected",
            SessionEvent::SessionRevoked { .. } => "session_revoked",
        }
    }
}

/// Whether a `Rotate` was answered by revoking the family. Such a rotation is accepted (its
/// event must be written) yet the caller must answer `401` and issue nothing.
pub fn reuse_detected(events: &[SessionEvent]) -> bool {
    events.iter().any(|e| matches!(e, SessionEvent::RefreshTokenReuseDetected { .. }))
}

/// Event-store stream name of a session.
pub fn session_stream_id(session_id: Uuid) -> String {
    format!("session-{session_id}")
}

/// Decides a session command.
pub fn decide_session(
    state: &SessionState,
    command: &SessionCommand,
    ctx: &DecisionContext,
) -> Result<Vec<SessionEvent>, Rejection> {
    let at = ctx.now;
    if let SessionCommand::Start { user_id, token_hash, expires_at } = command {
        if state.user_id.is_some() {
            return Err(invalid_state("session already started"));
        }
        if ctx.actor.user_id != *user_id && ctx.actor.role != Role::Admin {
            return Err(Rejection::Forbidden { reason: "a session is started by its own user".into() });
        }
        if token_hash.is_empty() || *expires_at <= at {
            return Err(Rejection::InvalidInput { reason: "a token hash and a future expiry are required".into() });
        }
        let (user_id, token_hash, expires_at) = (*user_id, token_hash.clone(), *expires_at);
        return Ok(vec![SessionEvent::SessionStarted { user_id, token_hash, expires_at, at }]);
    }
    let Some(user_id) = state.user_id else {
        return Err(Rejection::NotFound { what: "session".into() });
    };
    match command {
        SessionCommand::Start { .. } => Err(invalid_state("session already started")),
        SessionCommand::Rotate { presented_hash, new_hash, expires_at } => {
            if state.revoked {
                return Err(invalid_state("session revoked"));
            }
            // Hashes of 256-bit secrets: comparing them leaks nothing usable about a secret.
            if state.current_hash.as_ref() == Some(presented_hash) {
                if state.expires_at.is_none_or(|until| at >= until) {
                    return Err(invalid_state("refresh token expired"));
                }
                if new_hash.is_empty() || new_hash == presented_hash || state.used_hashes.contains(new_hash) {
                    return Err(Rejection::InvalidInput { reason: "the new token hash must be fresh".into() });
                }
                return Ok(vec![SessionEvent::SessionRotated {
                    previous_hash: presented_hash.clone(),
                    new_hash: new_hash.clone(),
                    expires_at: *expires_at,
                    at,
                }]);
            }
            if state.used_hashes.contains(presented_hash) {
                let presented_hash = presented_hash.clone();
                return Ok(vec![SessionEvent::RefreshTokenReuseDetected { user_id, presented_hash, at }]);
            }
            Err(Rejection::Forbidden { reason: "refresh token not recognised".into() })
        }
        SessionCommand::Revoke { reason } => {
            if ctx.actor.user_id != user_id && ctx.actor.role != Role::Admin {
                return Err(Rejection::Forbidden {
                    reason: "only the session's user or an admin may revoke it".into(),
                });
            }
            if state.revoked {
                return Ok(Vec::new());
            }
            Ok(vec![SessionEvent::SessionRevoked { reason: reason.clone(), by: ctx.actor.user_id, at }])
        }
    }
}

/// Returns the session state after `event`.
pub fn evolve_session(mut state: SessionState, event: &SessionEvent) -> SessionState {
    match event {
        SessionEvent::SessionStarted { user_id, token_hash, expires_at, .. } => {
            state.user_id = Some(*user_id);
            state.current_hash = Some(token_hash.clone());
            state.expires_at = Some(*expires_at);
        }
        SessionEvent::SessionRotated { previous_hash, new_hash, expires_at, .. } => {
            state.used_hashes.push(previous_hash.clone());
            state.current_hash = Some(new_hash.clone());
            state.expires_at = Some(*expires_at);
        }
        SessionEvent::RefreshTokenReuseDetected { .. } | SessionEvent::SessionRevoked { .. } => {
            state.revoked = true;
            state.current_hash = None;
        }
    }
    state
}

fn invalid_state(reason: &str) -> Rejection {
    Rejection::InvalidState { reason: reason.into() }
}

/// A refresh session, as the command pipeline runs it.
#[derive(Debug, Clone, Copy)]
pub struct SessionAggregate;

impl Aggregate for SessionAggregate {
    type State = SessionState;
    type Command = SessionCommand;
    type Event = SessionEvent;
    const STATE_SCHEMA_VERSION: i32 = 1;

    fn stream_id(id: Uuid) -> String {
        session_stream_id(id)
    }

    fn decide(
        state: &SessionState,
        command: &SessionCommand,
        ctx: &DecisionContext,
    ) -> Result<Vec<SessionEvent>, Rejection> {
        decide_session(state, command, ctx)
    }

    fn evolve(state: SessionState, event: &SessionEvent) -> SessionState {
        evolve_session(state, event)
    }

    fn event_type(event: &SessionEvent) -> &'static str {
        event.event_type()
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;

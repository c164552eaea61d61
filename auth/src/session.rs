//! Refresh sessions as an event-sourced aggregate (stream `session-{uuid}`): one session is
//! one family of refresh tokens, each rotation replacing the current token. Presenting a token
//! that was already rotated away means two parties hold it — the thief or the user — so the
//! whole family is revoked and both must log in again (RFC 6819 §5.2.2.3). Every such
//! decision is an event, so the log holds the security history.
//!
//! A session ends at the first of two expiries: the idle one, pushed forward by every
//! rotation (`expires_at`), and the absolute one fixed at login (`absolute_expires_at`), which
//! no rotation extends, so a stolen refresh token cannot be kept alive forever by using it.

use chrono::{DateTime, Duration, Utc};
use reserver_commands::Aggregate;
use reserver_domain::text::{check_opaque, TextRule};
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
    /// The current token is refused from this instant (idle expiry; never after the absolute one).
    pub expires_at: Option<DateTime<Utc>>,
    /// The session ends at this instant whatever its rotations (absolute lifetime).
    #[serde(default)]
    pub absolute_expires_at: Option<DateTime<Utc>>,
}

/// Idle lifetime of a refresh token when not configured: 14 days after its issue.
pub const DEFAULT_IDLE_LIFETIME: Duration = Duration::days(14);
/// Absolute lifetime of a session when not configured: 30 days after login.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::days(30);
/// Longest token hash accepted (a SHA-256 in hex is 64).
const MAX_TOKEN_HASH_CHARS: usize = 128;
/// `reason` of a revocation: one line.
const REVOKE_REASON: TextRule = TextRule::line("reason", 200);

/// How long refresh sessions last. Builds the commands so that callers need not compute
/// expiries themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    /// A refresh token not used for this long stops working (each rotation restarts it).
    pub idle: Duration,
    /// A session ends this long after login, however often it is refreshed.
    pub absolute: Duration,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        Self { idle: DEFAULT_IDLE_LIFETIME, absolute: DEFAULT_ABSOLUTE_LIFETIME }
    }
}

impl SessionLifetimes {
    /// The `Start` command of a login at `now`.
    pub fn start(&self, user_id: Uuid, token_hash: String, now: DateTime<Utc>) -> SessionCommand {
        SessionCommand::Start {
            user_id,
            token_hash,
            expires_at: later(now, self.idle),
            absolute_expires_at: later(now, self.absolute),
            user_agent: None,
        }
    }

    /// The `Rotate` command of a refresh at `now` (the aggregate keeps it within the absolute expiry).
    pub fn rotate(&self, presented_hash: String, new_hash: String, now: DateTime<Utc>) -> SessionCommand {
        SessionCommand::Rotate { presented_hash, new_hash, expires_at: later(now, self.idle) }
    }
}

fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What can be asked of a session. Token hashes come from [`crate::new_refresh_token`] and
/// [`crate::parse_refresh_token`]; raw tokens never reach the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionCommand {
    /// A login: the first token of a new family. The actor is the user (or an admin).
    /// `expires_at` is the idle expiry of the first token, `absolute_expires_at` the end of the
    /// session whatever happens ([`SessionLifetimes::start`] computes both).
    Start {
        user_id: Uuid,
        token_hash: String,
        expires_at: DateTime<Utc>,
        absolute_expires_at: DateTime<Utc>,
        /// The client's `User-Agent`, printable and at most 200 characters, to tell sessions apart.
        user_agent: Option<String>,
    },
    /// A refresh: `presented_hash` is exchanged for `new_hash`. The token is the credential,
    /// so any actor may ask. `expires_at` is the new token's idle expiry; it is cut to the
    /// session's absolute expiry.
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
        /// Absent in sessions started before absolute lifetimes: they end
        /// [`DEFAULT_ABSOLUTE_LIFETIME`] after `at`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        absolute_expires_at: Option<DateTime<Utc>>,
        /// The client that logged in (absent in older sessions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_agent: Option<String>,
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
    if let SessionCommand::Start { user_id, token_hash, expires_at, absolute_expires_at, user_agent } = command {
        if state.user_id.is_some() {
            return Err(invalid_state("session already started"));
        }
        if ctx.actor.user_id != *user_id && ctx.actor.role != Role::Admin {
            return Err(Rejection::Forbidden { reason: "a session is started by its own user".into() });
        }
        check_opaque("token_hash", token_hash, MAX_TOKEN_HASH_CHARS)?;
        if *expires_at <= at || *absolute_expires_at <= at {
            return Err(Rejection::InvalidInput { reason: "a token hash and future expiries are required".into() });
        }
        let (user_id, token_hash) = (*user_id, token_hash.clone());
        let expires_at = (*expires_at).min(*absolute_expires_at);
        let absolute_expires_at = Some(*absolute_expires_at);
        // Shown back to its user only: kept printable and short rather than refused.
        let user_agent = user_agent
            .as_deref()
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
            .filter(|ua| !ua.trim().is_empty());
        return Ok(vec![SessionEvent::SessionStarted {
            user_id,
            token_hash,
            expires_at,
            absolute_expires_at,
            user_agent,
            at,
        }]);
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
                let absolute = state.absolute_expires_at.unwrap_or(DateTime::<Utc>::MIN_UTC);
                if at >= absolute {
                    return Err(invalid_state("session reached its absolute lifetime; log in again"));
                }
                if state.expires_at.is_none_or(|until| at >= until) {
                    return Err(invalid_state("refresh token expired"));
                }
                check_opaque("token_hash", new_hash, MAX_TOKEN_HASH_CHARS)?;
                if new_hash == presented_hash || state.used_hashes.contains(new_hash) {
                    return Err(Rejection::InvalidInput { reason: "the new token hash must be fresh".into() });
                }
                if *expires_at <= at {
                    return Err(Rejection::InvalidInput { reason: "the new token needs a future expiry".into() });
                }
                return Ok(vec![SessionEvent::SessionRotated {
                    previous_hash: presented_hash.clone(),
                    new_hash: new_hash.clone(),
                    expires_at: (*expires_at).min(absolute),
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
            let reason = REVOKE_REASON.check(reason)?;
            if state.revoked {
                return Ok(Vec::new());
            }
            Ok(vec![SessionEvent::SessionRevoked { reason, by: ctx.actor.user_id, at }])
        }
    }
}

/// Returns the session state after `event`.
pub fn evolve_session(mut state: SessionState, event: &SessionEvent) -> SessionState {
    match event {
        SessionEvent::SessionStarted { user_id, token_hash, expires_at, absolute_expires_at, at, .. } => {
            state.user_id = Some(*user_id);
            state.current_hash = Some(token_hash.clone());
            state.expires_at = Some(*expires_at);
            state.absolute_expires_at =
                Some(absolute_expires_at.unwrap_or_else(|| later(*at, DEFAULT_ABSOLUTE_LIFETIME)));
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
    /// 2: `absolute_expires_at` (older snapshots are replayed from events instead).
    const STATE_SCHEMA_VERSION: i32 = 2;

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

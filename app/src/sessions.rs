//! An account's login sessions: listing them, and ending one or every other one. Ending a
//! session revokes it in the log, so its tokens, its web cookie and its live connections stop
//! working at once on every replica.

use reserver_auth::SessionCommand;
use reserver_domain::Role;
use reserver_projections::sessions::{self as rm, SessionView};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;

/// A live session and whether it is the one asking.
#[derive(Debug, Clone)]
pub struct ListedSession {
    pub view: SessionView,
    pub current: bool,
}

fn may_manage(caller: &Caller, owner: Uuid) -> Result<(), AppError> {
    if caller.user_id == owner || caller.role == Role::Admin {
        Ok(())
    } else {
        // Someone else's account is not there, as for reservations.
        Err(AppError::not_found("user"))
    }
}

/// The live sessions of `owner` (the caller's own, or any account's for admins), newest first.
pub async fn list(services: &Services, caller: &Caller, owner: Uuid) -> Result<Vec<ListedSession>, AppError> {
    may_manage(caller, owner)?;
    let now = services.clock.now();
    Ok(rm::sessions_for_user(&services.db(), owner)
        .await?
        .into_iter()
        .filter(|s| s.is_live(now))
        .map(|view| ListedSession { current: view.session_id == caller.session_id, view })
        .collect())
}

/// Ends one session of `owner`. Errors: `NotFound` when the session is not `owner`'s (or the
/// caller may not manage `owner`). Ending an already ended session changes nothing.
pub async fn revoke(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    owner: Uuid,
    session_id: Uuid,
) -> Result<u64, AppError> {
    may_manage(caller, owner)?;
    // The log, not the read model, says whose session it is: a session started a moment ago
    // can be ended at once.
    let (_, session) = services.sessions.load(session_id).await?;
    if session.user_id != Some(owner) {
        return Err(AppError::not_found("session"));
    }
    if session.revoked {
        return Ok(0);
    }
    let reason = if caller.user_id == owner { "revoked by its user" } else { "revoked by an admin" };
    let decided = services
        .sessions
        .execute(
            session_id,
            caller.actor(),
            SessionCommand::Revoke { reason: reason.into() },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    services.revocations.end(session_id);
    Ok(decided.position)
}

/// Ends every live session of the caller but the current one; returns how many ended and the
/// log position of the last.
pub async fn revoke_others(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
) -> Result<(usize, u64), AppError> {
    let now = services.clock.now();
    let mut ended = 0;
    let mut position = 0;
    for session in rm::sessions_for_user(&services.db(), caller.user_id).await? {
        if session.session_id != caller.session_id && session.is_live(now) {
            position = revoke(services, info, caller, caller.user_id, session.session_id).await?.max(position);
            ended += 1;
        }
    }
    Ok((ended, position))
}

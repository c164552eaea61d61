//! What administrators do to other accounts: list them, change a role, unlock (clear the login
//! throttle), disable and enable, and reset a password so that the user must choose a new one at
//! the next login. The API's `/users…` routes and the web app's account screens both call these.
//!
//! A disabled account cannot log in (`403 account-disabled` after a correct password) and every
//! one of its sessions ends at once, so its tokens, web cookie and live connections stop working.
//! Its reservations are kept as they are: future bookings stay on the schedule until an admin or
//! approver cancels them (disabling is reversible; cancelling is not).

use reserver_domain::user::{User, UserCommand};
use reserver_domain::Role;
use reserver_projections::sessions as rm;
use reserver_projections::users::{self as users_rm, UserView};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;

fn admin_only(caller: &Caller) -> Result<(), AppError> {
    caller.require(&[Role::Admin])
}

async fn account(services: &Services, user_id: Uuid) -> Result<User, AppError> {
    services.users.load(user_id).await?.1.user.ok_or_else(|| AppError::not_found("user"))
}

/// Every account (or those of `role`), by username, once the users read model has reached
/// `min_position`. Errors: `Forbidden` for non-admins, `NotCaughtUp`.
pub async fn list(
    services: &Services,
    caller: &Caller,
    role: Option<Role>,
    min_position: Option<u64>,
) -> Result<Vec<UserView>, AppError> {
    admin_only(caller)?;
    services.caught_up(min_position).await?;
    Ok(users_rm::list_users(&services.db(), role).await?)
}

/// One account as the users read model shows it. Errors: `Forbidden`, `NotFound`, `NotCaughtUp`.
pub async fn get(
    services: &Services,
    caller: &Caller,
    user_id: Uuid,
    min_position: Option<u64>,
) -> Result<UserView, AppError> {
    admin_only(caller)?;
    services.caught_up(min_position).await?;
    users_rm::get_user(&services.db(), user_id).await?.ok_or_else(|| AppError::not_found("user"))
}

/// Gives the account `role`. This replica refuses tokens of the old role at once, the others as
/// soon as their log tail reaches the event. Returns the log position.
pub async fn grant_role(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
    role: Role,
    body: &[u8],
) -> Result<u64, AppError> {
    admin_only(caller)?;
    let decided = services
        .users
        .execute(user_id, caller.actor(), UserCommand::GrantRole { role }, command_meta(info, Some(caller), body)?)
        .await?;
    services.revocations.role_changed(user_id, role);
    Ok(decided.position)
}

/// Clears the login throttle of the account's name (and any legacy lockout). Returns the log
/// position (0 when nothing was written).
pub async fn unlock(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
) -> Result<u64, AppError> {
    admin_only(caller)?;
    let user = account(services, user_id).await?;
    let decided = services
        .users
        .execute(user_id, caller.actor(), UserCommand::Unlock, command_meta(info, Some(caller), &[])?)
        .await?;
    // This replica at once; the others when their tail brings the event (`follow_unlocks`).
    services.login_throttle.forgive(&user.username);
    Ok(decided.position)
}

/// Clears this replica's login throttle for every account an admin unlocks, on any replica: the
/// unlock event reaches each one through the log ([`crate::revocations::Revocations`]). Runs for
/// the life of the process.
pub async fn follow_unlocks(services: std::sync::Arc<Services>) {
    loop {
        for user_id in services.revocations.next_unlocks().await {
            match services.users.load(user_id).await {
                Ok((_, state)) => {
                    if let Some(user) = state.user {
                        services.login_throttle.forgive(&user.username);
                    }
                }
                Err(error) => tracing::warn!(%error, %user_id, "could not read an unlocked account"),
            }
        }
    }
}

/// Ends every session of `user_id` (after the read model has seen them all up to `position`).
async fn end_sessions(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
    position: u64,
) -> Result<u64, AppError> {
    services.caught_up(Some(position)).await?;
    let now = services.clock.now();
    let mut last = position;
    for session in rm::sessions_for_user(&services.db(), user_id).await? {
        if session.is_live(now) {
            last = last.max(crate::sessions::revoke(services, info, caller, user_id, session.session_id).await?);
        }
    }
    Ok(last)
}

/// Disables the account and ends its sessions at once. Errors: `Forbidden` for non-admins,
/// `Rejected` when an admin disables their own account.
pub async fn disable(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
) -> Result<u64, AppError> {
    admin_only(caller)?;
    account(services, user_id).await?;
    let decided = services
        .users
        .execute(user_id, caller.actor(), UserCommand::Disable, command_meta(info, Some(caller), &[])?)
        .await?;
    end_sessions(services, info, caller, user_id, decided.position).await
}

/// Lets a disabled account log in again.
pub async fn enable(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
) -> Result<u64, AppError> {
    admin_only(caller)?;
    account(services, user_id).await?;
    let decided = services
        .users
        .execute(user_id, caller.actor(), UserCommand::Enable, command_meta(info, Some(caller), &[])?)
        .await?;
    Ok(decided.position)
}

/// Sets a new password (policy-checked) that the user must change at the next login, ends the
/// account's sessions and clears its login throttle.
pub async fn reset_password(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    user_id: Uuid,
    new_password: &str,
) -> Result<u64, AppError> {
    admin_only(caller)?;
    let user = account(services, user_id).await?;
    reserver_auth::check_password_policy(&user.username, new_password).map_err(|violations| {
        let message = violations.iter().map(|v| format!("{}: {}", v.rule, v.message)).collect::<Vec<_>>().join("; ");
        AppError::validation("new_password", message)
    })?;
    let hash = reserver_auth::hash_password(new_password).map_err(|e| AppError::Internal(e.to_string()))?;
    let decided = services
        .users
        .execute(
            user_id,
            caller.actor(),
            UserCommand::ResetPassword { password_hash: hash },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    services.revocations.password_reset(user_id);
    services.login_throttle.forgive(&user.username);
    end_sessions(services, info, caller, user_id, decided.position).await
}

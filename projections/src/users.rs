//! The users read model: id, username, role, lockout and account standing (disabled, a password
//! change forced by an admin, MFA on), for lookups by id and name and the admins' account list.
//! Password hashes, TOTP secrets and backup codes stay in the user stream; they are never copied
//! into a read model.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reserver_domain::user::UserEvent;
use reserver_domain::Role;
use reserver_store::{Database, RecordedEvent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

use crate::catalog::fold_text;
use crate::decode::{decode, stream_kind, DomainEvent, StreamKind};
use crate::error::ProjectionError;
use crate::runtime::Projector;
use crate::sql::{fetch_all, DbTx, Value};

/// A user as lookups see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user_id: Uuid,
    pub username: String,
    pub role: Role,
    pub locked_until: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    /// Disabled by an admin: cannot log in, has no live session.
    #[serde(default)]
    pub disabled: bool,
    /// An admin reset the password; the user must choose a new one before anything else.
    #[serde(default)]
    pub password_change_required: bool,
    /// Two-step login (TOTP, RFC 6238) is on.
    #[serde(default)]
    pub mfa_enabled: bool,
}

/// Stable snake_case name of a role.
pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Approver => "approver",
        Role::Auditor => "auditor",
        Role::User => "user",
        Role::Guest => "guest",
    }
}

/// Events that change nothing the account view shows. A failed login matters only once it
/// locks the account (a separate event); a used code or a new set of backup codes leaves MFA on.
const UNSHOWN_USER_EVENTS: [&str; 5] =
    ["login_failed", "totp_step_used", "backup_code_used", "backup_codes_regenerated", "mfa_set_up"];

/// The projector's name (its checkpoint): what a query of these tables passes to
/// `ProjectionHandle::wait_for_projectors`, so it waits for this read model only.
pub const PROJECTOR: &str = "users";

/// Builds `rm_users`.
pub struct UsersProjector;

fn apply_user(view: &mut Option<UserView>, user_id: Uuid, event: &UserEvent) {
    if let UserEvent::Registered { username, role, at, .. } = event {
        *view = Some(UserView {
            user_id,
            username: username.clone(),
            role: *role,
            locked_until: None,
            registered_at: *at,
            disabled: false,
            password_change_required: false,
            mfa_enabled: false,
        });
        return;
    }
    let Some(v) = view.as_mut() else { return };
    match event {
        UserEvent::RoleGranted { role, .. } => v.role = *role,
        UserEvent::LockedOut { until, .. } => v.locked_until = Some(*until),
        UserEvent::Unlocked { .. } | UserEvent::LoginSucceeded { .. } => v.locked_until = None,
        UserEvent::AccountDisabled { .. } => v.disabled = true,
        UserEvent::AccountEnabled { .. } => v.disabled = false,
        UserEvent::PasswordReset { .. } => v.password_change_required = true,
        UserEvent::PasswordChanged { .. } => v.password_change_required = false,
        UserEvent::MfaEnabled { .. } => v.mfa_enabled = true,
        UserEvent::MfaDisabled { .. } => v.mfa_enabled = false,
        _ => {}
    }
}

#[async_trait]
impl Projector for UsersProjector {
    fn name(&self) -> &'static str {
        PROJECTOR
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_users"]
    }

    fn wants(&self, event: &RecordedEvent) -> bool {
        matches!(stream_kind(&event.stream_id), Some(StreamKind::User(_)))
            && !UNSHOWN_USER_EVENTS.contains(&event.event_type.as_str())
    }

    async fn apply(&self, tx: &mut DbTx, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let changes: Vec<(Uuid, UserEvent)> = events
            .iter()
            .filter(|e| self.wants(e))
            .filter_map(|e| match decode(e)? {
                DomainEvent::User { user_id, event } => Some((user_id, event)),
                _ => None,
            })
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let mut users: HashMap<Uuid, Option<UserView>> = changes.iter().map(|(id, _)| (*id, None)).collect();
        let keys: Vec<String> = users.keys().map(Uuid::to_string).collect();
        for row in tx.fetch_keys("doc", "rm_users", "user_id", &keys).await? {
            let view: UserView = serde_json::from_str(&row.text(0)?)?;
            users.insert(view.user_id, Some(view));
        }
        for (id, event) in &changes {
            apply_user(users.entry(*id).or_default(), *id, event);
        }
        let mut rows = Vec::new();
        for view in users.values().flatten() {
            rows.push(vec![
                Value::Text(view.user_id.to_string()),
                Value::Text(fold_text(&view.username)),
                role_label(view.role).into(),
                Value::Text(serde_json::to_string(view)?),
            ]);
        }
        tx.insert_rows(
            "INSERT INTO rm_users (user_id, username_key, role, doc)",
            "ON CONFLICT (user_id) DO UPDATE SET username_key = excluded.username_key, role = excluded.role, \
             doc = excluded.doc",
            &rows,
        )
        .await?;
        Ok(())
    }
}

fn parse(rows: &[crate::sql::DbRow]) -> Result<Vec<UserView>, ProjectionError> {
    rows.iter().map(|row| Ok(serde_json::from_str(&row.text(0)?)?)).collect()
}

/// One user by id.
pub async fn get_user(db: &Database, user_id: Uuid) -> Result<Option<UserView>, ProjectionError> {
    let rows = fetch_all(db, "SELECT doc FROM rm_users WHERE user_id = $1", &[user_id.to_string().into()]).await?;
    Ok(parse(&rows)?.into_iter().next())
}

/// One user by username (case-insensitive).
pub async fn user_by_username(db: &Database, username: &str) -> Result<Option<UserView>, ProjectionError> {
    let rows = fetch_all(
        db,
        "SELECT doc FROM rm_users WHERE username_key = $1 ORDER BY user_id LIMIT 1",
        &[fold_text(username).into()],
    )
    .await?;
    Ok(parse(&rows)?.into_iter().next())
}

/// Every user, optionally of one role, by username.
pub async fn list_users(db: &Database, role: Option<Role>) -> Result<Vec<UserView>, ProjectionError> {
    let rows = match role {
        Some(role) => {
            fetch_all(
                db,
                "SELECT doc FROM rm_users WHERE role = $1 ORDER BY username_key, user_id",
                &[role_label(role).into()],
            )
            .await?
        }
        None => fetch_all(db, "SELECT doc FROM rm_users ORDER BY username_key, user_id", &[]).await?,
    };
    parse(&rows)
}

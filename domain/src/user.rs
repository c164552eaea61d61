//! The user aggregate: registration, role, password hash and the history of login attempts.
//! Passwords are verified outside; only outcomes arrive here.
//!
//! Failed logins are recorded (`login_failed`) but never lock the account: a hard lock that
//! anyone who knows a username can trigger is a denial of service, and answering "locked" only
//! for existing names tells an attacker which names exist. Guessing is slowed instead by the
//! login throttle in the `auth` crate, keyed by the submitted name and the client's address
//! alike, whether or not the name exists. `locked_out` events written before that change still
//! decode and replay; they no longer refuse anything.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::context::{DecisionContext, Role};
use crate::rejection::Rejection;
use crate::text::{check_opaque, TextRule};

/// Login names: 3 to 64 characters.
pub const USERNAME: TextRule =
    TextRule { field: "username", lines: crate::text::Lines::Single, min_chars: 3, max_chars: 64 };

/// Longest password hash (a PHC string) accepted, in bytes.
pub const MAX_PASSWORD_HASH_CHARS: usize = 1024;

/// The login name as it is to be recorded: trimmed, 3 to 64 letters, digits or `. _ - @`.
pub fn normalised_username(username: &str) -> Result<String, Rejection> {
    let name = USERNAME.check(username)?;
    if !name.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) {
        return Err(USERNAME.refuse("may only contain letters, digits and . _ - @"));
    }
    Ok(name)
}

/// Folded user state; `Default` = not registered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// `None` until registered.
    pub user: Option<User>,
}

/// A registered account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Identity.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Opaque hash produced outside the domain.
    pub password_hash: String,
    /// Permissions.
    pub role: Role,
    /// Failed logins since the last success (history only: nothing is refused because of it).
    pub consecutive_failures: u32,
    /// Set only by `locked_out` events recorded before lockout was replaced by throttling;
    /// no decision reads it any more. Kept so old logs and snapshots load unchanged.
    pub locked_until: Option<DateTime<Utc>>,
    /// Second factor (TOTP, RFC 6238): the secret being set up or in use, and its backup codes.
    #[serde(default)]
    pub mfa: Mfa,
    /// An admin disabled the account: it cannot log in and its sessions were ended.
    #[serde(default)]
    pub disabled: bool,
    /// An admin reset the password: the account must choose its own before doing anything else.
    #[serde(default)]
    pub must_change_password: bool,
}

/// The TOTP state of an account. Codes are checked outside (the secret and the clock are
/// there); the aggregate refuses a time step at or before the last one used, so a code works
/// once, and holds the hashes of the unused backup codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mfa {
    /// Base32 TOTP secret; set up but not yet confirmed while `enabled` is false.
    pub totp_secret: Option<String>,
    /// Whether logins ask for a code.
    pub enabled: bool,
    /// The last TOTP time step accepted (Unix seconds / 30); older and equal steps are refused.
    pub last_step: Option<u64>,
    /// Hashes of the backup codes not used yet.
    pub backup_code_hashes: Vec<String>,
}

/// What can be asked of a user stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserCommand {
    /// Create the account (self-service for `user`/`guest`, admins for any role).
    Register {
        /// Identity.
        user_id: Uuid,
        /// Login name.
        username: String,
        /// Hash computed by the caller.
        password_hash: String,
        /// Initial role.
        role: Role,
    },
    /// Admin: change the role.
    GrantRole {
        /// New role.
        role: Role,
    },
    /// Self or admin: replace the password hash.
    ChangePassword {
        /// New hash.
        password_hash: String,
    },
    /// A login attempt whose password check happened outside.
    RecordLogin {
        /// Whether the password matched.
        succeeded: bool,
    },
    /// Admin: lift a lockout recorded before lockout was replaced by throttling (no events
    /// when there is none). The HTTP layer also clears the login throttle of the account.
    Unlock,
    /// Self or admin: replace the secret calendar-feed token (the token itself is kept outside
    /// the log, so a copy of the log cannot be used to read anyone's calendar).
    RegenerateCalendarToken,
    /// Self: start (or restart) TOTP setup with a new secret; not active until `EnableMfa`.
    SetUpMfa {
        /// Base32 secret generated outside.
        totp_secret: String,
    },
    /// Self: confirm setup with a code valid at time step `step`; installs the backup codes.
    EnableMfa {
        /// The matched TOTP time step.
        step: u64,
        /// Hashes of the new backup codes.
        backup_code_hashes: Vec<String>,
    },
    /// A TOTP code valid at `step` was presented (login, disabling): refused when `step` was
    /// already used or is older than the last one used.
    UseTotpStep {
        /// The matched TOTP time step.
        step: u64,
    },
    /// A backup code was presented: refused unless its hash is one of the unused ones.
    UseBackupCode {
        /// Hash of the presented code.
        code_hash: String,
    },
    /// Self: replace every backup code (MFA must be on).
    RegenerateBackupCodes {
        /// Hashes of the new codes.
        backup_code_hashes: Vec<String>,
    },
    /// Self (after a code or the password was checked) or admin: turn MFA off and forget the secret.
    DisableMfa,
    /// Admin: the account can no longer log in.
    Disable,
    /// Admin: the account can log in again.
    Enable,
    /// Admin: set a new password that the user must change at the next login.
    ResetPassword {
        /// New hash.
        password_hash: String,
    },
}

/// Facts in a user stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // documented in docs/domain.md
pub enum UserEvent {
    /// Account created.
    Registered { user_id: Uuid, username: String, password_hash: String, role: Role, at: DateTime<Utc> },
    /// Role changed.
    RoleGranted { role: Role, by: Uuid, at: DateTime<Utc> },
    /// Password hash replaced.
    PasswordChanged { password_hash: String, by: Uuid, at: DateTime<Utc> },
    /// Successful login; resets the failure count.
    LoginSucceeded { at: DateTime<Utc> },
    /// Failed login, with the running count.
    LoginFailed { consecutive_failures: u32, at: DateTime<Utc> },
    /// Legacy: too many failures locked the account until `until`. No longer emitted; old
    /// events still decode and replay.
    LockedOut { until: DateTime<Utc>, at: DateTime<Utc> },
    /// A legacy lockout lifted by an admin.
    Unlocked { by: Uuid, at: DateTime<Utc> },
    /// The calendar-feed token was replaced; the previous one stopped working.
    CalendarTokenRegenerated { by: Uuid, at: DateTime<Utc> },
    /// A TOTP secret was generated; not in force until `mfa_enabled`.
    MfaSetUp { totp_secret: String, at: DateTime<Utc> },
    /// MFA turned on, confirmed by a code of time step `step`; the backup codes are installed.
    MfaEnabled { step: u64, backup_code_hashes: Vec<String>, at: DateTime<Utc> },
    /// A TOTP code of time step `step` was accepted.
    TotpStepUsed { step: u64, at: DateTime<Utc> },
    /// A backup code was used up.
    BackupCodeUsed { code_hash: String, at: DateTime<Utc> },
    /// Every backup code replaced.
    BackupCodesRegenerated { backup_code_hashes: Vec<String>, at: DateTime<Utc> },
    /// MFA turned off; the secret and backup codes are forgotten.
    MfaDisabled { by: Uuid, at: DateTime<Utc> },
    /// An admin disabled the account.
    AccountDisabled { by: Uuid, at: DateTime<Utc> },
    /// An admin enabled the account again.
    AccountEnabled { by: Uuid, at: DateTime<Utc> },
    /// An admin set a password that must be changed at the next login.
    PasswordReset { password_hash: String, by: Uuid, at: DateTime<Utc> },
}

impl UserEvent {
    /// Stable storage name, identical to the serialized `type` tag.
    pub fn event_type(&self) -> &'static str {
        match self {
            UserEvent::Registered { .. } => "registered",
            UserEvent::RoleGranted { .. } => "role_granted",
            UserEvent::PasswordChanged { .. } => "password_changed",
            UserEvent::LoginSucceeded { .. } => "login_succeeded",
            UserEvent::LoginFailed { .. } => "login_failed",
            UserEvent::LockedOut { .. } => "locked_out",
            UserEvent::Unlocked { .. } => "unlocked",
            UserEvent::CalendarTokenRegenerated { .. } => "calendar_token_regenerated",
            UserEvent::MfaSetUp { .. } => "mfa_set_up",
            UserEvent::MfaEnabled { .. } => "mfa_enabled",
            UserEvent::TotpStepUsed { .. } => "totp_step_used",
            UserEvent::BackupCodeUsed { .. } => "backup_code_used",
            UserEvent::BackupCodesRegenerated { .. } => "backup_codes_regenerated",
            UserEvent::MfaDisabled { .. } => "mfa_disabled",
            UserEvent::AccountDisabled { .. } => "account_disabled",
            UserEvent::AccountEnabled { .. } => "account_enabled",
            UserEvent::PasswordReset { .. } => "password_reset",
        }
    }
}

/// Event-store stream name of a user.
pub fn user_stream_id(user_id: Uuid) -> String {
    format!("user-{user_id}")
}

/// Decides a user command.
pub fn decide_user(
    state: &UserState,
    command: &UserCommand,
    ctx: &DecisionContext,
) -> Result<Vec<UserEvent>, Rejection> {
    let actor = ctx.actor;
    let at = ctx.now;
    if let UserCommand::Register { user_id, username, password_hash, role } = command {
        if state.user.is_some() {
            return Err(Rejection::invalid_state("user already registered"));
        }
        let username = normalised_username(username)?;
        check_opaque("password_hash", password_hash, MAX_PASSWORD_HASH_CHARS)?;
        if !matches!(role, Role::User | Role::Guest) && actor.role != Role::Admin {
            return Err(Rejection::forbidden("only admins register privileged roles"));
        }
        return Ok(vec![UserEvent::Registered {
            user_id: *user_id,
            username,
            password_hash: password_hash.clone(),
            role: *role,
            at,
        }]);
    }
    let user = state.user.as_ref().ok_or_else(|| Rejection::not_found("user"))?;
    match command {
        UserCommand::Register { .. } => Err(Rejection::invalid_state("user already registered")),
        UserCommand::GrantRole { role } => {
            if actor.role != Role::Admin {
                return Err(Rejection::forbidden("only admins grant roles"));
            }
            Ok(vec![UserEvent::RoleGranted { role: *role, by: actor.user_id, at }])
        }
        UserCommand::ChangePassword { password_hash } => {
            if actor.user_id != user.id && actor.role != Role::Admin {
                return Err(Rejection::forbidden("only the user or an admin may change it"));
            }
            check_opaque("password_hash", password_hash, MAX_PASSWORD_HASH_CHARS)?;
            Ok(vec![UserEvent::PasswordChanged { password_hash: password_hash.clone(), by: actor.user_id, at }])
        }
        UserCommand::RecordLogin { succeeded } => {
            if *succeeded {
                return Ok(vec![UserEvent::LoginSucceeded { at }]);
            }
            let consecutive_failures = user.consecutive_failures.saturating_add(1);
            Ok(vec![UserEvent::LoginFailed { consecutive_failures, at }])
        }
        UserCommand::Unlock => {
            if actor.role != Role::Admin {
                return Err(Rejection::forbidden("only admins unlock accounts"));
            }
            if user.locked_until.is_none_or(|until| at >= until) {
                return Ok(Vec::new());
            }
            Ok(vec![UserEvent::Unlocked { by: actor.user_id, at }])
        }
        UserCommand::RegenerateCalendarToken => {
            if actor.user_id != user.id && actor.role != Role::Admin {
                return Err(Rejection::forbidden("only the user or an admin may replace the calendar token"));
            }
            Ok(vec![UserEvent::CalendarTokenRegenerated { by: actor.user_id, at }])
        }
        UserCommand::SetUpMfa { totp_secret } => {
            only_self(actor.user_id, user, "only the user sets up their second factor")?;
            if user.mfa.enabled {
                return Err(Rejection::invalid_state("MFA is already on; disable it first"));
            }
            check_opaque("totp_secret", totp_secret, MAX_PASSWORD_HASH_CHARS)?;
            Ok(vec![UserEvent::MfaSetUp { totp_secret: totp_secret.clone(), at }])
        }
        UserCommand::EnableMfa { step, backup_code_hashes } => {
            only_self(actor.user_id, user, "only the user turns on their second factor")?;
            if user.mfa.enabled {
                return Err(Rejection::invalid_state("MFA is already on"));
            }
            if user.mfa.totp_secret.is_none() {
                return Err(Rejection::invalid_state("set up MFA first"));
            }
            check_hashes(backup_code_hashes)?;
            Ok(vec![UserEvent::MfaEnabled { step: *step, backup_code_hashes: backup_code_hashes.clone(), at }])
        }
        UserCommand::UseTotpStep { step } => {
            only_self(actor.user_id, user, "only the user presents their codes")?;
            if !user.mfa.enabled {
                return Err(Rejection::invalid_state("MFA is off"));
            }
            if user.mfa.last_step.is_some_and(|last| *step <= last) {
                return Err(Rejection::invalid_state("this code was already used; wait for the next one"));
            }
            Ok(vec![UserEvent::TotpStepUsed { step: *step, at }])
        }
        UserCommand::UseBackupCode { code_hash } => {
            only_self(actor.user_id, user, "only the user presents their codes")?;
            if !user.mfa.enabled || !user.mfa.backup_code_hashes.contains(code_hash) {
                return Err(Rejection::invalid_state("not an unused backup code"));
            }
            Ok(vec![UserEvent::BackupCodeUsed { code_hash: code_hash.clone(), at }])
        }
        UserCommand::RegenerateBackupCodes { backup_code_hashes } => {
            only_self(actor.user_id, user, "only the user replaces their backup codes")?;
            if !user.mfa.enabled {
                return Err(Rejection::invalid_state("MFA is off"));
            }
            check_hashes(backup_code_hashes)?;
            Ok(vec![UserEvent::BackupCodesRegenerated { backup_code_hashes: backup_code_hashes.clone(), at }])
        }
        UserCommand::DisableMfa => {
            if actor.user_id != user.id && actor.role != Role::Admin {
                return Err(Rejection::forbidden("only the user or an admin may turn MFA off"));
            }
            if !user.mfa.enabled && user.mfa.totp_secret.is_none() {
                return Ok(Vec::new());
            }
            Ok(vec![UserEvent::MfaDisabled { by: actor.user_id, at }])
        }
        UserCommand::Disable | UserCommand::Enable => {
            if actor.role != Role::Admin {
                return Err(Rejection::forbidden("only admins disable or enable accounts"));
            }
            let disable = matches!(command, UserCommand::Disable);
            if disable && actor.user_id == user.id {
                return Err(Rejection::invalid_state("admins cannot disable their own account"));
            }
            if user.disabled == disable {
                return Ok(Vec::new());
            }
            Ok(vec![if disable {
                UserEvent::AccountDisabled { by: actor.user_id, at }
            } else {
                UserEvent::AccountEnabled { by: actor.user_id, at }
            }])
        }
        UserCommand::ResetPassword { password_hash } => {
            if actor.role != Role::Admin {
                return Err(Rejection::forbidden("only admins reset passwords"));
            }
            check_opaque("password_hash", password_hash, MAX_PASSWORD_HASH_CHARS)?;
            Ok(vec![UserEvent::PasswordReset { password_hash: password_hash.clone(), by: actor.user_id, at }])
        }
    }
}

/// Most backup codes a set may hold.
pub const MAX_BACKUP_CODES: usize = 20;

fn check_hashes(hashes: &[String]) -> Result<(), Rejection> {
    if hashes.is_empty() || hashes.len() > MAX_BACKUP_CODES {
        return Err(Rejection::invalid_state("between 1 and 20 backup codes"));
    }
    for hash in hashes {
        check_opaque("backup_code_hashes", hash, MAX_PASSWORD_HASH_CHARS)?;
    }
    Ok(())
}

fn only_self(actor: Uuid, user: &User, message: &str) -> Result<(), Rejection> {
    if actor == user.id {
        Ok(())
    } else {
        Err(Rejection::forbidden(message))
    }
}

/// Returns the user state after `event`.
pub fn evolve_user(mut state: UserState, event: &UserEvent) -> UserState {
    if let UserEvent::Registered { user_id, username, password_hash, role, .. } = event {
        state.user = Some(User {
            id: *user_id,
            username: username.clone(),
            password_hash: password_hash.clone(),
            role: *role,
            consecutive_failures: 0,
            locked_until: None,
            mfa: Mfa::default(),
            disabled: false,
            must_change_password: false,
        });
        return state;
    }
    let Some(user) = state.user.as_mut() else {
        return state;
    };
    match event {
        UserEvent::Registered { .. } => {}
        UserEvent::RoleGranted { role, .. } => user.role = *role,
        UserEvent::PasswordChanged { password_hash, .. } => {
            user.password_hash = password_hash.clone();
            user.must_change_password = false;
        }
        UserEvent::PasswordReset { password_hash, .. } => {
            user.password_hash = password_hash.clone();
            user.must_change_password = true;
        }
        UserEvent::LoginSucceeded { .. } => {
            user.consecutive_failures = 0;
            user.locked_until = None;
        }
        UserEvent::LoginFailed { consecutive_failures, .. } => user.consecutive_failures = *consecutive_failures,
        UserEvent::LockedOut { until, .. } => {
            user.locked_until = Some(*until);
            user.consecutive_failures = 0;
        }
        UserEvent::Unlocked { .. } => {
            user.locked_until = None;
            user.consecutive_failures = 0;
        }
        // The token lives outside the aggregate; the event only records that it changed.
        UserEvent::CalendarTokenRegenerated { .. } => {}
        UserEvent::MfaSetUp { totp_secret, .. } => {
            user.mfa = Mfa { totp_secret: Some(totp_secret.clone()), ..Mfa::default() };
        }
        UserEvent::MfaEnabled { step, backup_code_hashes, .. } => {
            user.mfa.enabled = true;
            user.mfa.last_step = Some(*step);
            user.mfa.backup_code_hashes = backup_code_hashes.clone();
        }
        UserEvent::TotpStepUsed { step, .. } => {
            user.mfa.last_step = Some(user.mfa.last_step.map_or(*step, |last| last.max(*step)));
        }
        UserEvent::BackupCodeUsed { code_hash, .. } => user.mfa.backup_code_hashes.retain(|h| h != code_hash),
        UserEvent::BackupCodesRegenerated { backup_code_hashes, .. } => {
            user.mfa.backup_code_hashes = backup_code_hashes.clone();
        }
        UserEvent::MfaDisabled { .. } => user.mfa = Mfa::default(),
        UserEvent::AccountDisabled { .. } => user.disabled = true,
        UserEvent::AccountEnabled { .. } => user.disabled = false,
    }
    state
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;

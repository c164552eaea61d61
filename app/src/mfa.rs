//! Multi-factor authentication with time-based one-time passwords (TOTP, RFC 6238: HMAC-SHA1,
//! 6 digits, 30-second steps, one step of clock drift either way) and one-time backup codes,
//! shared by the JSON API and the web app.
//!
//! The secret is state of the user aggregate (`mfa_set_up`); codes are checked here against
//! the service clock, and the aggregate accepts each time step once (`totp_step_used`), so a
//! code seen by someone else is worthless once used. Backup codes are 50-bit random codes kept
//! only as SHA-256 hashes. Wrong codes count in the login throttle like wrong passwords.

use std::net::IpAddr;

use reserver_commands::CommandError;
use reserver_domain::user::{User, UserCommand};
use reserver_domain::Actor;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use crate::accounts::{self, StartedSession};
use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;

/// The issuer authenticator apps show next to the account name.
pub const ISSUER: &str = "Resource Reserver";
/// How many backup codes a set holds.
pub const BACKUP_CODES: usize = 10;
/// Letters of backup codes: no 0/o, 1/l/i to misread.
const BACKUP_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A secret being set up: shown once, active after [`enable`].
#[derive(Debug, Clone)]
pub struct Setup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code of the URI as an SVG document (generated here, no user text but the name).
    pub qr_svg: String,
    pub position: u64,
}

/// Whether an account has MFA on, or a setup waiting for its first code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    pub pending: bool,
    pub backup_codes_left: usize,
}

fn totp(secret_base32: &str, username: &str) -> Result<Totp, AppError> {
    let secret = Secret::try_from_base32(secret_base32).map_err(|e| AppError::Internal(format!("TOTP secret: {e}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_account_name(username)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("randomness: {e}")))?;
    Ok(bytes)
}

/// The form in which a backup code is hashed: lower case, without spaces or dashes.
fn normalised_backup_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// SHA-256 (hex) of a backup code; the codes carry 50 random bits, so a fast hash suffices.
pub fn backup_code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalised_backup_code(code).as_bytes()))
}

/// A new set of backup codes (`xxxxx-xxxxx`) and their hashes.
fn new_backup_codes() -> Result<(Vec<String>, Vec<String>), AppError> {
    let mut codes = Vec::with_capacity(BACKUP_CODES);
    for _ in 0..BACKUP_CODES {
        let bytes: [u8; 10] = random_bytes()?;
        let letters: String =
            bytes.iter().map(|b| BACKUP_ALPHABET[usize::from(*b) % BACKUP_ALPHABET.len()] as char).collect();
        codes.push(format!("{}-{}", &letters[..5], &letters[5..]));
    }
    let hashes = codes.iter().map(|c| backup_code_hash(c)).collect();
    Ok((codes, hashes))
}

/// The QR code of `text` as a standalone SVG document.
pub fn qr_svg(text: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| AppError::Internal(format!("QR code: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

async fn load_user(services: &Services, user_id: Uuid) -> Result<User, AppError> {
    services.users.load(user_id).await?.1.user.ok_or_else(|| AppError::not_found("user"))
}

/// The MFA state of an account.
pub async fn status(services: &Services, user_id: Uuid) -> Result<Status, AppError> {
    let user = load_user(services, user_id).await?;
    Ok(Status {
        enabled: user.mfa.enabled,
        pending: !user.mfa.enabled && user.mfa.totp_secret.is_some(),
        backup_codes_left: user.mfa.backup_code_hashes.len(),
    })
}

/// Starts (or restarts) setup with a new secret. Errors: `Conflict{mfa-enabled}` when MFA is on.
pub async fn setup(services: &Services, info: &RequestInfo<'_>, caller: &Caller) -> Result<Setup, AppError> {
    let user = load_user(services, caller.user_id).await?;
    if user.mfa.enabled {
        return Err(AppError::Conflict { slug: "mfa-enabled", detail: "MFA is already on; disable it first".into() });
    }
    let secret = Secret::from(random_bytes::<20>()?.to_vec()).to_base32();
    let totp = totp(&secret, &user.username)?;
    let otpauth_uri = totp.to_url().map_err(|e| AppError::Internal(format!("otpauth URI: {e}")))?;
    let qr_svg = qr_svg(&otpauth_uri)?;
    let decided = services
        .users
        .execute(
            caller.user_id,
            caller.actor(),
            UserCommand::SetUpMfa { totp_secret: secret.clone() },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    Ok(Setup { secret, otpauth_uri, qr_svg, position: decided.position })
}

fn source_of(info: &RequestInfo<'_>) -> IpAddr {
    info.client_ip.as_deref().and_then(|ip| ip.parse().ok()).unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// The TOTP time step `code` is valid at now (one step of drift either way), if any.
fn matching_step(services: &Services, secret: &str, username: &str, code: &str) -> Result<Option<u64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let now = u64::try_from(services.clock.now().timestamp()).unwrap_or_default();
    Ok(totp(secret, username)?.check(&code, now))
}

/// How a presented code fared.
enum Outcome {
    Accepted,
    Wrong,
    Replayed,
}

/// Checks `code` (TOTP or backup code) for `user` and spends it. Throttled like passwords.
async fn spend_code(
    services: &Services,
    info: &RequestInfo<'_>,
    actor: Actor,
    user: &User,
    code: &str,
) -> Result<Outcome, AppError> {
    let now = services.clock.now();
    let attempt = services
        .login_throttle
        .begin(&user.username, source_of(info), now)
        .map_err(|t| AppError::LoginThrottled { retry_after: t.retry_after_seconds })?;
    let secret = user.mfa.totp_secret.as_deref().unwrap_or_default();
    let command = match matching_step(services, secret, &user.username, code)? {
        Some(step) => UserCommand::UseTotpStep { step },
        None => UserCommand::UseBackupCode { code_hash: backup_code_hash(code) },
    };
    let is_totp = matches!(command, UserCommand::UseTotpStep { .. });
    let outcome = match services.users.execute(user.id, actor, command, crate::accounts::unkeyed(info)?).await {
        Ok(_) => Outcome::Accepted,
        Err(CommandError::Rejected(_)) if is_totp => Outcome::Replayed,
        Err(CommandError::Rejected(_)) => Outcome::Wrong,
        Err(other) => return Err(other.into()),
    };
    match outcome {
        Outcome::Accepted => services.login_throttle.succeeded(attempt, now),
        _ => services.login_throttle.failed(attempt),
    }
    Ok(outcome)
}

fn code_error(outcome: &Outcome) -> AppError {
    match outcome {
        Outcome::Replayed => AppError::validation("code", "this code was already used; wait for the next one"),
        _ => AppError::validation("code", "is not a valid code"),
    }
}

/// Turns MFA on with one code of the secret being set up; answers the backup codes (shown once).
/// Errors: `Conflict{mfa-not-set-up}` / `Conflict{mfa-enabled}`, `Validation` on `code`,
/// `LoginThrottled`.
pub async fn enable(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    code: &str,
) -> Result<(Vec<String>, u64), AppError> {
    let user = load_user(services, caller.user_id).await?;
    if user.mfa.enabled {
        return Err(AppError::Conflict { slug: "mfa-enabled", detail: "MFA is already on".into() });
    }
    let Some(secret) = user.mfa.totp_secret.as_deref() else {
        return Err(AppError::Conflict {
            slug: "mfa-not-set-up",
            detail: "set up MFA first (POST /api/v1/auth/mfa/setup)".into(),
        });
    };
    let now = services.clock.now();
    let attempt = services
        .login_throttle
        .begin(&user.username, source_of(info), now)
        .map_err(|t| AppError::LoginThrottled { retry_after: t.retry_after_seconds })?;
    let Some(step) = matching_step(services, secret, &user.username, code)? else {
        services.login_throttle.failed(attempt);
        return Err(AppError::validation("code", "is not a valid code"));
    };
    services.login_throttle.succeeded(attempt, now);
    let (codes, hashes) = new_backup_codes()?;
    let decided = services
        .users
        .execute(
            caller.user_id,
            caller.actor(),
            UserCommand::EnableMfa { step, backup_code_hashes: hashes },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    // This replica at once (the MFA policy's gate); the others from their tail.
    services.revocations.mfa_changed(caller.user_id, true);
    Ok((codes, decided.position))
}

/// Turns MFA off after checking a current code (TOTP or backup) or the password.
/// Errors: `Validation` on `code` or `password`, `Conflict{mfa-not-enabled}`.
pub async fn disable(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    code: Option<&str>,
    password: Option<&str>,
) -> Result<u64, AppError> {
    let user = load_user(services, caller.user_id).await?;
    if !user.mfa.enabled && user.mfa.totp_secret.is_none() {
        return Err(AppError::Conflict { slug: "mfa-not-enabled", detail: "MFA is not on".into() });
    }
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    let password = password.filter(|p| !p.is_empty());
    match (code, password) {
        (Some(code), _) if user.mfa.enabled => {
            let outcome = spend_code(services, info, caller.actor(), &user, code).await?;
            if !matches!(outcome, Outcome::Accepted) {
                return Err(code_error(&outcome));
            }
        }
        (_, Some(password)) => {
            let now = services.clock.now();
            let attempt = services
                .login_throttle
                .begin(&user.username, source_of(info), now)
                .map_err(|t| AppError::LoginThrottled { retry_after: t.retry_after_seconds })?;
            if !reserver_auth::password::verify_password(&user.password_hash, password) {
                services.login_throttle.failed(attempt);
                return Err(AppError::validation("password", "is not your current password"));
            }
            services.login_throttle.succeeded(attempt, now);
        }
        (Some(_), None) if !user.mfa.enabled => {
            // A setup that was never confirmed: nothing to protect but the password.
            return Err(AppError::validation("password", "send your password to cancel an unconfirmed setup"));
        }
        _ => return Err(AppError::validation("code", "send a current code or your password")),
    }
    let decided = services
        .users
        .execute(caller.user_id, caller.actor(), UserCommand::DisableMfa, command_meta(info, Some(caller), &[])?)
        .await?;
    services.revocations.mfa_changed(caller.user_id, false);
    Ok(decided.position)
}

/// Replaces every backup code; the old ones stop working. Errors: `Conflict{mfa-not-enabled}`.
pub async fn regenerate_backup_codes(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
) -> Result<(Vec<String>, u64), AppError> {
    let user = load_user(services, caller.user_id).await?;
    if !user.mfa.enabled {
        return Err(AppError::Conflict { slug: "mfa-not-enabled", detail: "MFA is not on".into() });
    }
    let (codes, hashes) = new_backup_codes()?;
    let decided = services
        .users
        .execute(
            caller.user_id,
            caller.actor(),
            UserCommand::RegenerateBackupCodes { backup_code_hashes: hashes },
            command_meta(info, Some(caller), &[])?,
        )
        .await?;
    Ok((codes, decided.position))
}

/// The challenge a password step answers for an account with MFA (a short-lived signed token).
pub fn challenge(services: &Services, user_id: Uuid) -> Result<AppError, AppError> {
    let mfa_token = services
        .tokens
        .issue_mfa_challenge(user_id, services.clock.now())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(AppError::MfaRequired { mfa_token })
}

/// The second step of a login: a TOTP or backup code for the user of `mfa_token`; starts the
/// session. Errors: `Unauthorized` (expired or forged challenge, wrong or replayed code),
/// `LoginThrottled`, `AccountDisabled`.
pub async fn complete_login(
    services: &Services,
    info: &RequestInfo<'_>,
    mfa_token: &str,
    code: &str,
) -> Result<StartedSession, AppError> {
    let user_id = services.tokens.verify_mfa_challenge(mfa_token, services.clock.now()).map_err(|_| {
        AppError::Unauthorized("the login step has expired or is invalid; log in with your password again".into())
    })?;
    let user = load_user(services, user_id).await.map_err(|_| AppError::Unauthorized("invalid mfa_token".into()))?;
    if user.disabled {
        return Err(AppError::AccountDisabled);
    }
    if !user.mfa.enabled {
        return Err(AppError::Unauthorized("MFA is no longer on for this account; log in again".into()));
    }
    let actor = Actor { user_id, role: user.role };
    match spend_code(services, info, actor, &user, code).await? {
        Outcome::Accepted => {}
        Outcome::Replayed => {
            services
                .users
                .execute(user_id, actor, UserCommand::RecordLogin { succeeded: false }, crate::accounts::unkeyed(info)?)
                .await?;
            return Err(AppError::Unauthorized("this code was already used; wait for the next one".into()));
        }
        Outcome::Wrong => {
            services
                .users
                .execute(user_id, actor, UserCommand::RecordLogin { succeeded: false }, crate::accounts::unkeyed(info)?)
                .await?;
            return Err(AppError::Unauthorized("incorrect code".into()));
        }
    }
    accounts::start_session(services, info, &user).await
}

/// The setup waiting for its first code, shown again (secret, URI, QR code) until MFA is on.
pub async fn pending_setup(services: &Services, user_id: Uuid) -> Result<Option<Setup>, AppError> {
    let user = load_user(services, user_id).await?;
    let Some(secret) = user.mfa.totp_secret.filter(|_| !user.mfa.enabled) else { return Ok(None) };
    let otpauth_uri =
        totp(&secret, &user.username)?.to_url().map_err(|e| AppError::Internal(format!("otpauth URI: {e}")))?;
    let qr_svg = qr_svg(&otpauth_uri)?;
    Ok(Some(Setup { secret, otpauth_uri, qr_svg, position: 0 }))
}

//! The security policy "these roles must use MFA", event-sourced in its own stream
//! (`security-policy`, events `mfa_policy_set`). An account acting in such a role without MFA
//! on may log in, but until it turns MFA on every API route except MFA setup and verification,
//! `GET /users/me`, the password change and logout answers `403 …/mfa-setup-required`, and the
//! web app sends it to `/mfa`. Every replica follows the stream and the accounts' `mfa_enabled` /
//! `mfa_disabled` events from the log ([`crate::revocations::Revocations`]); the replica that
//! makes a change applies it at once, like the password-change gate.

use chrono::{DateTime, Utc};
use reserver_domain::Role;
use reserver_store::{AppendError, AppendRequest, EventMetadata, ExpectedVersion, NewEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// The policy's stream.
pub const STREAM: &str = "security-policy";
/// The event type of a new policy.
pub const POLICY_SET: &str = "mfa_policy_set";

/// A new policy: the roles whose accounts must use MFA (replacing the previous list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaPolicySet {
    pub required_roles: Vec<Role>,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// The roles, in the fixed order of `GET /roles`, for stable answers.
const ORDER: [Role; 5] = [Role::Admin, Role::Approver, Role::Auditor, Role::User, Role::Guest];

/// The policy in force as of the log, and the stream's version. Errors: store failures.
pub async fn current(services: &Services) -> AppResult<(u64, Vec<Role>)> {
    let mut version = 0;
    let mut roles = Vec::new();
    let mut next = 1;
    loop {
        let batch = services.store.read_stream(STREAM, next, 500).await?;
        for event in &batch {
            version = event.stream_version;
            next = version + 1;
            if let Ok(policy) = serde_json::from_str::<MfaPolicySet>(&event.payload) {
                roles = policy.required_roles;
            }
        }
        if batch.len() < 500 {
            return Ok((version, roles));
        }
    }
}

/// Parses role names (`admin`, `approver`, `auditor`, `user`, `guest`), dropping repeats.
/// Errors: `Validation` on `required_roles` naming the unknown role.
pub fn parse_roles(names: &[String]) -> AppResult<Vec<Role>> {
    let mut roles = Vec::new();
    for name in names {
        let role: Role = serde_json::from_value(serde_json::Value::String(name.trim().to_string())).map_err(|_| {
            AppError::validation(
                "required_roles",
                format!("unknown role `{name}`; roles: admin, approver, auditor, user, guest"),
            )
        })?;
        roles.push(role);
    }
    Ok(ORDER.into_iter().filter(|r| roles.contains(r)).collect())
}

/// Replaces the policy (admins). Returns the log position and the roles now required.
/// Errors: `Forbidden`, `Conflict` when another admin changed it at the same moment.
pub async fn set(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    required_roles: Vec<Role>,
) -> AppResult<(u64, Vec<Role>)> {
    caller.require(&[Role::Admin])?;
    let (version, _) = current(services).await?;
    let event = MfaPolicySet { required_roles: required_roles.clone(), by: caller.user_id, at: services.clock.now() };
    let payload = serde_json::to_string(&event).map_err(|e| AppError::Internal(e.to_string()))?;
    let meta = command_meta(&RequestInfo { idempotency_key: None, ..info.clone() }, Some(caller), &[])?;
    let metadata = EventMetadata {
        actor: Some(caller.user_id.to_string()),
        command_id: Some(meta.command_id),
        correlation_id: meta.correlation_id,
        causation_id: None,
        client_ip: meta.client_ip,
    };
    let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
    let new = NewEvent::new(Uuid::new_v4(), POLICY_SET, payload).with_metadata(metadata);
    let position = match services.store.append(AppendRequest::single(STREAM, expected, vec![new])).await {
        Ok(outcome) => outcome.last_position(),
        Err(AppendError::WrongExpectedVersion { .. }) => {
            return Err(AppError::Conflict {
                slug: "concurrent-change",
                detail: "another administrator changed the MFA policy at the same moment; read it and retry".into(),
            })
        }
        Err(other) => return Err(AppError::Storage(other.to_string())),
    };
    services.revocations.mfa_policy_set(required_roles.clone());
    Ok((position, required_roles))
}

/// Whether `caller` must turn MFA on before doing anything else (never an OAuth2 client).
pub fn setup_required(services: &Services, caller: &Caller) -> bool {
    caller.client.is_none() && services.revocations.mfa_setup_required(caller.user_id, caller.role)
}

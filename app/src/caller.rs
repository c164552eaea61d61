//! Who is asking: the caller behind a verified access token, and the metadata a command carries
//! on their behalf (ids for tracing, client address, idempotency key).

use reserver_auth::tokens::{AccessClaims, TokenError};
use reserver_commands::{CommandMeta, IdempotencyKey};
use reserver_domain::{Actor, Role};
use uuid::Uuid;

use crate::error::AppError;
use crate::oauth::{route_access, RouteAccess, Scope};
use crate::revocations::Refusal;
use crate::services::Services;

/// An authenticated caller, from a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
    /// When the access token expires (Unix seconds); long-lived connections close then.
    pub expires_at: i64,
    /// Set when the caller is an OAuth2 client (then `user_id` is the client's id, and
    /// `session_id` is nil): the scopes its token holds.
    pub client: Option<ClientGrant>,
}

/// What an OAuth2 client's token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientGrant {
    pub scopes: Vec<String>,
    /// The generation of the client's secret the token was obtained with.
    pub generation: u32,
    /// The token's id (`jti`), for revocation.
    pub token_id: Uuid,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.user_id, role: self.role }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether this is an OAuth2 client rather than a user.
    pub fn is_client(&self) -> bool {
        self.client.is_some()
    }

    /// Refuses a client whose token lacks `scope` (`InsufficientScope` naming it); users pass.
    pub fn require_scope(&self, scope: Scope) -> Result<(), AppError> {
        match &self.client {
            Some(grant) if !grant.scopes.iter().any(|s| s == scope.as_str()) => {
                Err(AppError::InsufficientScope { scope: scope.as_str().to_string() })
            }
            _ => Ok(()),
        }
    }

    /// Applies the scope table ([`crate::oauth::route_access`]) to a request for `method path`:
    /// a user passes unchanged; a client needs the route's scope and then acts with the role
    /// that scope carries, and is refused routes that are never a client's.
    pub fn for_route(mut self, method: &str, path: &str) -> Result<Caller, AppError> {
        if self.client.is_none() {
            return Ok(self);
        }
        match route_access(method, path) {
            RouteAccess::Scope(scope) => {
                self.require_scope(scope)?;
                self.role = scope.role();
                Ok(self)
            }
            RouteAccess::AnyClient => Ok(self),
            RouteAccess::UsersOnly => {
                Err(AppError::Forbidden("an OAuth2 client may not use this route; it is for signed-in users".into()))
            }
        }
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs one of the roles {roles:?}")))
        }
    }
}

/// Verifies an access token (JWT, see `reserver_auth::tokens`) and that its session has not ended.
/// Errors: `Unauthorized` when expired, invalid or logged out.
pub fn authenticate(services: &Services, token: &str) -> Result<Caller, AppError> {
    let claims = services.tokens.verify_access(token, services.clock.now()).map_err(|e| match e {
        TokenError::Expired => AppError::Unauthorized("access token expired; refresh it".into()),
        TokenError::Invalid => AppError::Unauthorized("invalid access token".into()),
    })?;
    if let Some(refusal) = refusal_of(services, &claims) {
        return Err(AppError::Unauthorized(
            match refusal {
                Refusal::SessionEnded => "this session has ended (logged out); log in again",
                Refusal::RoleChanged => "your role has changed; refresh the access token",
                Refusal::ClientDisabled => "this OAuth2 client is disabled",
                Refusal::SecretRotated => "the client's secret was rotated; obtain a new token",
                Refusal::TokenRevoked => "this access token was revoked",
            }
            .into(),
        ));
    }
    let client = claims.scope.as_ref().map(|scope| ClientGrant {
        scopes: scope.split_whitespace().map(str::to_string).collect(),
        generation: claims.cgen.unwrap_or(0),
        token_id: claims.jti,
    });
    Ok(Caller { user_id: claims.sub, role: claims.role, session_id: claims.sid, expires_at: claims.exp, client })
}

/// Why a token whose signature and expiry are fine is no longer accepted, if it is not.
pub fn refusal_of(services: &Services, claims: &AccessClaims) -> Option<Refusal> {
    match claims.is_client() {
        true => services.revocations.client_refusal(claims.sub, claims.cgen.unwrap_or(0), claims.jti),
        false => services.revocations.refusal(claims.sub, claims.sid, claims.role),
    }
}

/// What a transport knows about a request that a command records.
#[derive(Debug, Default, Clone)]
pub struct RequestInfo<'a> {
    /// The client's address (already resolved through trusted proxies).
    pub client_ip: Option<String>,
    /// `X-Correlation-Id` / `X-Request-Id`, when it is a UUID.
    pub correlation_id: Option<Uuid>,
    /// The raw `Idempotency-Key`, if sent.
    pub idempotency_key: Option<&'a [u8]>,
    /// Method and path, part of the idempotency fingerprint.
    pub method: &'a str,
    pub path: &'a str,
    /// `User-Agent`, recorded when a session starts so its user can tell sessions apart.
    pub user_agent: Option<&'a str>,
}

/// Metadata for a command sent on behalf of `caller`: the idempotency key is scoped to the caller
/// and fingerprinted by method, path and body. Errors: `Validation` for a malformed key.
pub fn command_meta(info: &RequestInfo<'_>, caller: Option<&Caller>, body: &[u8]) -> Result<CommandMeta, AppError> {
    command_meta_part(info, caller, body, "")
}

/// Metadata for one of several commands a single request sends (rows of an upload, the
/// follow-up of a create): each gets its own idempotency record, derived from the request's key
/// and `part`, so a retry replays every part and a key never answers for another part.
pub fn command_meta_part(
    info: &RequestInfo<'_>,
    caller: Option<&Caller>,
    body: &[u8],
    part: &str,
) -> Result<CommandMeta, AppError> {
    let mut meta = CommandMeta::new();
    meta.client_ip = info.client_ip.clone();
    meta.correlation_id = info.correlation_id;
    if let Some(key) = info.idempotency_key {
        let key = std::str::from_utf8(key)
            .ok()
            .filter(|k| k.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
            .ok_or_else(|| AppError::validation("Idempotency-Key", "must be visible ASCII"))?;
        if key.is_empty() || key.len() > 255 {
            return Err(AppError::validation("Idempotency-Key", "must be 1 to 255 characters"));
        }
        let scope = caller.map(|u| u.user_id.to_string()).unwrap_or_else(|| "anonymous".into());
        let mut request = format!("{} {}\n", info.method, info.path).into_bytes();
        request.extend_from_slice(body);
        let key = if part.is_empty() { key.to_string() } else { format!("{key}\u{1f}{part}") };
        meta.idempotency = Some(IdempotencyKey::new(&scope, &key, &request));
    }
    Ok(meta)
}

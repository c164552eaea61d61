//! Request extractors: the authenticated caller, the read-your-writes position, command metadata.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use reserver_auth::tokens::TokenError;
use reserver_commands::{CommandMeta, IdempotencyKey};
use reserver_domain::{Actor, Role};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Header and query parameter carrying the read-your-writes token.
pub const MIN_POSITION_HEADER: &str = "X-Min-Position";
pub const LOG_POSITION_HEADER: &str = "X-Log-Position";

/// The caller, from a valid `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
    /// When the access token expires (Unix seconds); long-lived connections close then.
    pub expires_at: i64,
}

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.user_id, role: self.role }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs one of the roles {roles:?}")))
        }
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Verifies an access token (header, or `token` for clients that cannot set headers).
pub fn authenticate(req: &HttpRequest, token: Option<&str>) -> Result<CurrentUser, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::Internal("no app state".into()))?;
    let token = bearer(req).or(token).ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
    let claims = state.tokens.verify_access(token, state.clock.now()).map_err(|e| match e {
        TokenError::Expired => ApiError::Unauthorized("access token expired; refresh it".into()),
        TokenError::Invalid => ApiError::Unauthorized("invalid access token".into()),
    })?;
    if state.revocations.is_ended(claims.sid) {
        return Err(ApiError::Unauthorized("this session has ended (logged out); log in again".into()));
    }
    Ok(CurrentUser { user_id: claims.sub, role: claims.role, session_id: claims.sid, expires_at: claims.exp })
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already verified by the rate-limit middleware for this request, if it ran.
        if let Some(user) = req.extensions().get::<CurrentUser>() {
            return ready(Ok(user.clone()));
        }
        ready(authenticate(req, None))
    }
}

/// The minimum log position a query must reflect (`X-Min-Position` or `?min_position=`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MinPosition(pub Option<u64>);

impl FromRequest for MinPosition {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let from_header = req.headers().get(MIN_POSITION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let from_query = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("min_position").cloned());
        ready(match from_header.or(from_query) {
            None => Ok(MinPosition(None)),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(|p| MinPosition(Some(p)))
                .map_err(|_| ApiError::validation("min_position", "must be a non-negative integer log position")),
        })
    }
}

/// Metadata for a command sent on behalf of `user`: ids for tracing, the client's address, and
/// the idempotency key (scoped to the caller, fingerprinted by method, path and body).
pub fn command_meta(req: &HttpRequest, user: Option<&CurrentUser>, body: &[u8]) -> Result<CommandMeta, ApiError> {
    let mut meta = CommandMeta::new();
    meta.client_ip = req.connection_info().realip_remote_addr().map(str::to_string);
    meta.correlation_id = req
        .headers()
        .get("X-Correlation-Id")
        .or_else(|| req.headers().get("X-Request-Id"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    if let Some(key) = req.headers().get("Idempotency-Key") {
        let key = key.to_str().map_err(|_| ApiError::validation("Idempotency-Key", "must be visible ASCII"))?;
        if key.is_empty() || key.len() > 255 {
            return Err(ApiError::validation("Idempotency-Key", "must be 1 to 255 characters"));
        }
        let scope = user.map(|u| u.user_id.to_string()).unwrap_or_else(|| "anonymous".into());
        let mut request = format!("{} {}\n", req.method(), req.path()).into_bytes();
        request.extend_from_slice(body);
        meta.idempotency = Some(IdempotencyKey::new(&scope, key, &request));
    }
    Ok(meta)
}

//! Request extractors: the authenticated caller, the read-your-writes position, command metadata.

use std::borrow::Cow;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::net::IpAddr;

use reserver_app::client_ip::ForwardingHeaders;
use reserver_app::{AppError, Caller, RequestInfo, Services};
use reserver_commands::CommandMeta;
use uuid::Uuid;

use crate::error::ApiError;

/// Header and query parameter carrying the read-your-writes token.
pub const MIN_POSITION_HEADER: &str = "X-Min-Position";
pub const LOG_POSITION_HEADER: &str = "X-Log-Position";

/// The caller, from a valid `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Caller);

impl std::ops::Deref for CurrentUser {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn forwarding_headers(req: &HttpRequest) -> ForwardingHeaders<'_> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    ForwardingHeaders {
        forwarded: header("forwarded"),
        x_forwarded_for: header("x-forwarded-for"),
        x_forwarded_host: header("x-forwarded-host"),
        x_forwarded_proto: header("x-forwarded-proto"),
    }
}

/// The client's address: the peer's, or what a trusted proxy says it saw (`TRUSTED_PROXIES`).
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<Services>>() {
        Some(services) => services.trusted_proxies.client_ip(peer, &forwarding_headers(req)),
        None => peer,
    }
}

/// The base URL of links handed out to this request's client (see `Services::link_base`).
pub fn link_base(services: &Services, req: &HttpRequest) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    services.link_base(services.trusted_proxies.forwarded_origin(peer, &forwarding_headers(req)))
}

/// Verifies an access token (header, or `token` for clients that cannot set headers). An
/// OAuth2 client's token must also hold the scope this route needs (the one scope table,
/// `reserver_app::oauth::ROUTE_SCOPES`): every route taking a `CurrentUser` is checked here.
pub fn authenticate(req: &HttpRequest, token: Option<&str>) -> Result<CurrentUser, AppError> {
    let services = req.app_data::<web::Data<Services>>().ok_or_else(|| AppError::Internal("no services".into()))?;
    let token = bearer(req).or(token).ok_or_else(|| AppError::Unauthorized("missing bearer token".into()))?;
    reserver_app::authenticate(services, token)?.for_route(req.method().as_str(), req.path()).map(CurrentUser)
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already verified by the rate-limit middleware for this request, if it ran.
        let known = req.extensions().get::<CurrentUser>().cloned();
        let user = match known {
            Some(user) => user,
            None => match authenticate(req, None) {
                Ok(user) => user,
                Err(e) => return ready(Err(ApiError(e))),
            },
        };
        ready(
            password_change_gate(req, &user).and_then(|()| mfa_setup_gate(req, &user)).map(|()| user).map_err(ApiError),
        )
    }
}

/// What an account that the MFA policy requires to set up MFA may still do first.
const ALLOWED_BEFORE_MFA_SETUP: [&str; 5] = [
    "/api/v1/auth/mfa/setup",
    "/api/v1/auth/mfa/verify",
    "/api/v1/users/me",
    "/api/v1/users/me/password",
    "/api/v1/logout",
];

/// While the MFA policy requires MFA for the caller's role and it is off, every route but
/// [`ALLOWED_BEFORE_MFA_SETUP`] answers `403 mfa-setup-required`.
fn mfa_setup_gate(req: &HttpRequest, user: &CurrentUser) -> Result<(), AppError> {
    let Some(services) = req.app_data::<web::Data<Services>>() else { return Ok(()) };
    if reserver_app::mfa_policy::setup_required(services, user) && !ALLOWED_BEFORE_MFA_SETUP.contains(&req.path()) {
        return Err(AppError::MfaSetupRequired);
    }
    Ok(())
}

/// What an account whose password an admin reset may still do before choosing a new one.
const ALLOWED_BEFORE_PASSWORD_CHANGE: [&str; 3] = ["/api/v1/users/me/password", "/api/v1/users/me", "/api/v1/logout"];

/// After an admin reset, every route but [`ALLOWED_BEFORE_PASSWORD_CHANGE`] answers
/// `403 password-change-required` until the user sets a new password.
fn password_change_gate(req: &HttpRequest, user: &CurrentUser) -> Result<(), AppError> {
    let Some(services) = req.app_data::<web::Data<Services>>() else { return Ok(()) };
    if services.revocations.must_change_password(user.user_id) && !ALLOWED_BEFORE_PASSWORD_CHANGE.contains(&req.path())
    {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(())
}

/// The minimum log position a query must reflect (`X-Min-Position` or `?min_position=`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MinPosition(pub Option<u64>);

impl FromRequest for MinPosition {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let from_header = req.headers().get(MIN_POSITION_HEADER).and_then(|v| v.to_str().ok()).map(Cow::Borrowed);
        // The query's other parameters are not decoded (nor copied) just to find this one.
        let from_query = || {
            let query = req.query_string();
            query
                .contains("min_position")
                .then(|| {
                    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "min_position").last().map(|(_, v)| v)
                })
                .flatten()
        };
        ready(match from_header.or_else(from_query) {
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
pub fn command_meta(req: &HttpRequest, user: Option<&CurrentUser>, body: &[u8]) -> Result<CommandMeta, AppError> {
    reserver_app::command_meta(&request_info(req), user.map(|u| &u.0), body)
}

/// Metadata for one `part` of a request that sends several commands (see
/// `reserver_app::command_meta_part`).
pub fn command_meta_part(
    req: &HttpRequest,
    user: Option<&CurrentUser>,
    body: &[u8],
    part: &str,
) -> Result<CommandMeta, AppError> {
    reserver_app::command_meta_part(&request_info(req), user.map(|u| &u.0), body, part)
}

/// What a command records of this request: the client's address, correlation id, idempotency
/// key, method and path.
pub fn request_info(req: &HttpRequest) -> RequestInfo<'_> {
    RequestInfo {
        client_ip: client_ip(req).map(|ip| ip.to_string()),
        correlation_id: req
            .headers()
            .get("X-Correlation-Id")
            .or_else(|| req.headers().get("X-Request-Id"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok()),
        idempotency_key: req.headers().get("Idempotency-Key").map(|v| v.as_bytes()),
        method: req.method().as_str(),
        path: req.path(),
        user_agent: req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()),
    }
}

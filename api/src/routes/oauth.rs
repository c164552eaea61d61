//! OAuth2 clients for integrations (RFC 6749 §4.4 client credentials): admins register, list,
//! disable clients and rotate their secrets; clients obtain access tokens, and tokens can be
//! introspected (RFC 7662) and revoked (RFC 7009). The request logic is `reserver_app::oauth`.
//!
//! `POST /oauth/token` answers errors in the RFC 6749 §5.2 form (`{"error": "invalid_client",
//! "error_description": …}`), not problem+json, so that OAuth2 libraries understand them.

use actix_web::http::header::{HeaderValue, AUTHORIZATION, LOCATION, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use reserver_app::oauth::{self, Credentials, OauthClient, OauthError, TokenAuthority};
use reserver_app::Services;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{Forbidden, Invalid, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::error::ApiError;
use crate::extract::{authenticate, request_info, CurrentUser};
use crate::routes::support::{json_body, written};

#[derive(OpenApi)]
#[openapi(paths(list, register, disable, rotate_secret, token, introspect, revoke))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/oauth/clients").route(web::get().to(list)).route(web::post().to(register)))
        .route("/oauth/clients/{id}", web::delete().to(disable))
        .route("/oauth/clients/{id}/rotate-secret", web::post().to(rotate_secret))
        .route("/oauth/token", web::post().to(token))
        .route("/oauth/introspect", web::post().to(introspect))
        .route("/oauth/revoke", web::post().to(revoke));
}

/// An OAuth2 client (its secret only when just issued).
#[derive(Serialize, ToSchema)]
struct OauthClientBody {
    /// The client's id, also its `client_id`.
    id: Uuid,
    client_id: Uuid,
    name: String,
    /// Granted scopes.
    #[schema(example = json!(["resources:read", "reservations:read"]))]
    scopes: Vec<String>,
    /// The admin who registered it.
    owner: Uuid,
    /// False once disabled.
    active: bool,
    created_at: DateTime<Utc>,
    secret_rotated_at: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
    /// Only when registered or rotated: the secret, shown this once (stored hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

fn view(client: &OauthClient, client_secret: Option<String>) -> OauthClientBody {
    OauthClientBody {
        id: client.id,
        client_id: client.id,
        name: client.name.clone(),
        scopes: client.scopes.clone(),
        owner: client.owner,
        active: client.active,
        created_at: client.created_at,
        secret_rotated_at: client.secret_rotated_at,
        disabled_at: client.disabled_at,
        client_secret,
    }
}

#[derive(Serialize, ToSchema)]
struct OauthClientList {
    data: Vec<OauthClientBody>,
}

/// Every client, oldest first (never a secret).
#[utoipa::path(
    get,
    path = "/api/v1/oauth/clients",
    tag = "oauth",
    operation_id = "list_oauth_clients",
    summary = "All OAuth2 clients (admin)",
    responses(
        (status = 200, description = "Every client, oldest first", body = OauthClientList),
        Unauthenticated, Forbidden, RateLimited
    ),
    security(("bearer" = []))
)]
async fn list(state: web::Data<Services>, user: CurrentUser) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let clients = oauth::list(&state).await?;
    Ok(HttpResponse::Ok().json(OauthClientList { data: clients.iter().map(|c| view(c, None)).collect() }))
}

/// A new client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ClientInput {
    /// 1 to 100 characters.
    #[schema(example = "door-display")]
    name: String,
    /// At least one of `resources:read`, `reservations:read`, `reservations:write`,
    /// `webhooks:manage`, `audit:read`.
    #[schema(example = json!(["resources:read", "reservations:read"]))]
    scopes: Vec<String>,
}

/// Registers a client; the answer carries its `client_secret`, shown only this once (or again
/// to a retry with the same `Idempotency-Key` and body, which creates nothing).
///
/// An unknown scope is 422 naming it.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/clients",
    tag = "oauth",
    operation_id = "register_oauth_client",
    summary = "Register an OAuth2 client; the secret is shown once (admin)",
    params(IdempotencyKey),
    request_body = ClientInput,
    responses(
        (status = 201, description = "The client with its `client_secret`", body = OauthClientBody,
         headers(("Location" = String, description = "Where it is listed"))),
        Unauthenticated, Forbidden, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn register(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let input: ClientInput = json_body(&body)?;
    let created = oauth::register(&state, &request_info(&req), &user, &input.name, &input.scopes, &body).await?;
    let mut response =
        written(StatusCode::CREATED, created.position, view(&created.client, Some(created.client_secret)));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/oauth/clients/{}", created.client.id)) {
        response.headers_mut().insert(LOCATION, v);
    }
    response.headers_mut().insert(actix_web::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Disables a client: it can no longer obtain tokens and those it holds stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/oauth/clients/{id}",
    tag = "oauth",
    operation_id = "disable_oauth_client",
    summary = "Disable an OAuth2 client; its tokens stop working (admin)",
    params(("id" = Uuid, Path, description = "The client")),
    responses(
        (status = 204, description = "Disabled (also when it already was)"),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn disable(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let position = oauth::disable(&state, &request_info(&req), &user, id.into_inner()).await?;
    let mut response = HttpResponse::NoContent();
    if position > 0 {
        response.insert_header((crate::extract::LOG_POSITION_HEADER, position.to_string()));
    }
    Ok(response.finish())
}

/// A new secret for a client, shown once; the old secret and the tokens obtained with it stop working.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/clients/{id}/rotate-secret",
    tag = "oauth",
    operation_id = "rotate_oauth_client_secret",
    summary = "Rotate an OAuth2 client's secret; the new one is shown once (admin)",
    params(("id" = Uuid, Path, description = "The client")),
    responses(
        (status = 200, description = "The client with its new `client_secret`", body = OauthClientBody),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn rotate_secret(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let rotated = oauth::rotate_secret(&state, &request_info(&req), &user, id.into_inner()).await?;
    let mut response = written(StatusCode::OK, rotated.position, view(&rotated.client, Some(rotated.client_secret)));
    response.headers_mut().insert(actix_web::http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The form body of the token endpoint (documentation; the body is read field by field).
#[derive(ToSchema)]
#[allow(dead_code)]
struct TokenForm {
    /// `client_credentials`.
    #[schema(example = "client_credentials")]
    grant_type: Option<String>,
    /// Space-separated scopes to narrow the token to (default: all the client's).
    scope: Option<String>,
    /// The client's credentials, when not sent by HTTP Basic.
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The name/value pairs of a form body; `None` if a field is sent twice.
fn form_fields(body: &[u8]) -> Option<std::collections::HashMap<String, String>> {
    let mut fields = std::collections::HashMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        if fields.insert(key.into_owned(), value.into_owned()).is_some() {
            return None;
        }
    }
    Some(fields)
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1: both parts form-urlencoded) or the form.
/// Errors: both ways at once, or a malformed Basic header.
fn credentials(
    req: &HttpRequest,
    fields: &std::collections::HashMap<String, String>,
) -> Result<Option<Credentials>, OauthError> {
    let basic = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_string());
    let form = match (fields.get("client_id"), fields.get("client_secret")) {
        (Some(id), Some(secret)) => Some(Credentials { client_id: id.clone(), client_secret: secret.clone() }),
        (None, None) => None,
        _ => return Err(OauthError::InvalidRequest("send both client_id and client_secret".into())),
    };
    match (basic, form) {
        (Some(_), Some(_)) => {
            Err(OauthError::InvalidRequest("send the client credentials one way only (Basic or form)".into()))
        }
        (Some(encoded), None) => {
            let decoded = STANDARD.decode(encoded).map_err(|_| OauthError::InvalidClient)?;
            let text = String::from_utf8(decoded).map_err(|_| OauthError::InvalidClient)?;
            let (id, secret) = text.split_once(':').ok_or(OauthError::InvalidClient)?;
            let unescape = |s: &str| -> String {
                form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok(Some(Credentials { client_id: unescape(id), client_secret: unescape(secret) }))
        }
        (None, form) => Ok(form),
    }
}

/// The RFC 6749 §5.2 error answer.
fn oauth_error(error: OauthError) -> Result<HttpResponse, ApiError> {
    let (status, code, description) = match error {
        OauthError::InvalidClient => {
            (StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed".to_string())
        }
        OauthError::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m),
        OauthError::InvalidScope(m) => (StatusCode::BAD_REQUEST, "invalid_scope", m),
        OauthError::UnsupportedGrantType(m) => (StatusCode::BAD_REQUEST, "unsupported_grant_type", m),
        OauthError::Server(e) => return Err(e.into()),
    };
    let mut response = HttpResponse::build(status);
    response.insert_header(("Cache-Control", "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"reserver\""));
    }
    Ok(response.json(json!({ "error": code, "error_description": description })))
}

#[derive(Serialize, ToSchema)]
struct ClientToken {
    /// A JWT for `Authorization: Bearer`.
    access_token: String,
    #[schema(example = "bearer")]
    token_type: &'static str,
    /// Seconds the token is valid.
    expires_in: i64,
    /// The granted scopes, space-separated.
    #[schema(example = "resources:read reservations:read")]
    scope: String,
}

#[derive(Serialize, ToSchema)]
struct OauthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_scope` or `unsupported_grant_type`.
    error: String,
    error_description: String,
}

/// Client credentials grant (RFC 6749 §4.4).
///
/// Credentials by HTTP Basic (`client_id:client_secret`) or the form fields `client_id` and
/// `client_secret`; `scope` may narrow the token to some of the client's scopes. Errors follow
/// RFC 6749 §5.2 (`{"error": …}`), not problem+json; `invalid_client` is 401 with
/// `WWW-Authenticate: Basic`.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/token",
    tag = "oauth",
    operation_id = "oauth_token",
    summary = "Obtain a client's access token (client_credentials)",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token", body = ClientToken),
        (status = 400, description = "invalid_request, invalid_scope or unsupported_grant_type", body = OauthErrorBody),
        (status = 401, description = "invalid_client", body = OauthErrorBody),
        RateLimited
    )
)]
async fn token(state: web::Data<Services>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let Some(fields) = form_fields(&body) else {
        return oauth_error(OauthError::InvalidRequest("a parameter was sent more than once".into()));
    };
    let credentials = match credentials(&req, &fields) {
        Ok(credentials) => credentials,
        Err(e) => return oauth_error(e),
    };
    let issued = oauth::issue_token(
        &state,
        fields.get("grant_type").map(String::as_str),
        credentials,
        fields.get("scope").map(String::as_str),
    )
    .await;
    match issued {
        Ok(t) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(ClientToken {
            access_token: t.access_token,
            token_type: t.token_type,
            expires_in: t.expires_in,
            scope: t.scope,
        })),
        Err(e) => oauth_error(e),
    }
}

/// Who asks: client credentials (Basic or form) or a bearer token of an admin or a client.
async fn authority(
    state: &Services,
    req: &HttpRequest,
    fields: &std::collections::HashMap<String, String>,
) -> Result<Result<TokenAuthority, HttpResponse>, ApiError> {
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if bearer {
        let caller = authenticate(req, None)?;
        return Ok(Ok(TokenAuthority::of(&caller)?));
    }
    let found = match credentials(req, fields) {
        Ok(Some(credentials)) => oauth::authenticate_client(state, &credentials).await,
        Ok(None) => Err(OauthError::InvalidClient),
        Err(e) => Err(e),
    };
    match found {
        Ok(client) => Ok(Ok(TokenAuthority::Client(client.id))),
        Err(e) => Ok(Err(oauth_error(e)?)),
    }
}

/// The form body of introspection and revocation (documentation).
#[derive(ToSchema)]
#[allow(dead_code)]
struct TokenParam {
    /// The access token asked about.
    token: String,
    /// Accepted and ignored (only access tokens exist here).
    token_type_hint: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct IntrospectionBody {
    active: bool,
    /// Space-separated scopes (client tokens).
    scope: Option<String>,
    client_id: Option<Uuid>,
    /// A user's token: the user.
    sub: Option<Uuid>,
    username: Option<String>,
    exp: Option<i64>,
    iat: Option<i64>,
    #[schema(example = "bearer")]
    token_type: Option<String>,
}

/// Token introspection (RFC 7662).
///
/// An admin (bearer) may ask about any token; a client (Basic, form credentials, or its own
/// bearer token) about its own. Any other token, an expired, revoked or foreign one, is
/// `{"active": false}`.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/introspect",
    tag = "oauth",
    operation_id = "oauth_introspect",
    summary = "Whether an access token is active (RFC 7662)",
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = IntrospectionBody),
        (status = 400, description = "invalid_request: no token", body = OauthErrorBody),
        (status = 401, description = "invalid_client, or an invalid bearer token", body = OauthErrorBody),
        Forbidden, RateLimited
    ),
    security(("bearer" = []), ())
)]
async fn introspect(state: web::Data<Services>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let Some(fields) = form_fields(&body) else {
        return oauth_error(OauthError::InvalidRequest("a parameter was sent more than once".into()));
    };
    let authority = match authority(&state, &req, &fields).await? {
        Ok(authority) => authority,
        Err(response) => return Ok(response),
    };
    let Some(token) = fields.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(OauthError::InvalidRequest("token is required".into()));
    };
    let answer = oauth::introspect(&state, authority, token);
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(answer))
}

/// Token revocation (RFC 7009).
///
/// Always 200 once the caller is authenticated (an admin, or the token's client): the token
/// stops working at once on every replica. Unknown, expired or foreign tokens change nothing.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/revoke",
    tag = "oauth",
    operation_id = "oauth_revoke",
    summary = "Revoke a client's access token (RFC 7009)",
    request_body(content = TokenParam, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done (whatever the token was)"),
        (status = 400, description = "invalid_request: no token", body = OauthErrorBody),
        (status = 401, description = "invalid_client, or an invalid bearer token", body = OauthErrorBody),
        Forbidden, RateLimited
    ),
    security(("bearer" = []), ())
)]
async fn revoke(state: web::Data<Services>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let Some(fields) = form_fields(&body) else {
        return oauth_error(OauthError::InvalidRequest("a parameter was sent more than once".into()));
    };
    let authority = match authority(&state, &req, &fields).await? {
        Ok(authority) => authority,
        Err(response) => return Ok(response),
    };
    let Some(token) = fields.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(OauthError::InvalidRequest("token is required".into()));
    };
    let position = oauth::revoke(&state, &request_info(&req), authority, token).await?;
    let mut response = HttpResponse::Ok();
    if position > 0 {
        response.insert_header((crate::extract::LOG_POSITION_HEADER, position.to_string()));
    }
    Ok(response.insert_header(("Cache-Control", "no-store")).finish())
}

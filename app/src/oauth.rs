//! OAuth2 clients for integrations (RFC 6749 §4.4, client credentials). A client is an
//! event-sourced aggregate: an `oauth-client-{uuid}` stream of the log holding its registration
//! (name, scopes, owner, the SHA-256 of its secret), secret rotations, its disabling and the
//! revocations of its tokens. The secret itself is shown once and stored nowhere; the hashes
//! are redacted from everything that leaves the service (`reserver_projections::redaction`).
//!
//! A client's access token is a JWT like a user's, naming the client as `sub` and carrying its
//! `scope`; [`route_access`] is the one table saying which scope each route needs, applied by
//! [`Caller::for_route`](crate::Caller::for_route) to every authenticated request.

use chrono::{DateTime, Utc};
use reserver_auth::{client_secret_matches, new_client_secret, AccessClaims, TokenError};
use reserver_domain::Role;
use reserver_projections::sql::fetch_all;
use reserver_store::{AppendError, AppendRequest, EventMetadata, ExpectedVersion, NewEvent, RecordedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::caller::{command_meta, Caller, RequestInfo};
use crate::error::AppError;
use crate::services::Services;
use reserver_commands::IdempotencyKey;

/// What every client stream id starts with.
pub const STREAM_PREFIX: &str = "oauth-client-";

/// Longest client name.
const MAX_NAME: usize = 100;

pub fn stream_id(id: Uuid) -> String {
    format!("{STREAM_PREFIX}{id}")
}

/// What an integration may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    ResourcesRead,
    ReservationsRead,
    ReservationsWrite,
    WebhooksManage,
    AuditRead,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::ResourcesRead,
        Scope::ReservationsRead,
        Scope::ReservationsWrite,
        Scope::WebhooksManage,
        Scope::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ResourcesRead => "resources:read",
            Scope::ReservationsRead => "reservations:read",
            Scope::ReservationsWrite => "reservations:write",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::AuditRead => "audit:read",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The role a client's request acts with on a route needing this scope: what the route's
    /// own checks then see. Booking scopes act as a user (on the client's own reservations).
    pub fn role(self) -> Role {
        match self {
            Scope::WebhooksManage => Role::Admin,
            Scope::AuditRead => Role::Auditor,
            Scope::ResourcesRead | Scope::ReservationsRead | Scope::ReservationsWrite => Role::User,
        }
    }
}

/// What a client may do on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess {
    /// Allowed to a client holding this scope.
    Scope(Scope),
    /// Allowed to any client (its own introspection and revocation).
    AnyClient,
    /// Never a client's: accounts, administration, sessions, notifications…
    UsersOnly,
}

use RouteAccess::{AnyClient, Scope as Needs, UsersOnly};

/// The scope table: `(method or "*", path pattern, access)`, first match wins, paths relative to
/// `/api/v1` (`*` is one segment, a final `**` any number, none included). Anything not listed is
/// [`RouteAccess::UsersOnly`]: a new route is closed to clients until it is put here.
/// docs/api.md repeats this table.
pub const ROUTE_SCOPES: &[(&str, &str, RouteAccess)] = &[
    ("POST", "/oauth/introspect", AnyClient),
    ("POST", "/oauth/revoke", AnyClient),
    ("GET", "/quotas/config", AnyClient),
    ("GET", "/quotas/my-usage", AnyClient),
    ("GET", "/resources/*/reservations", Needs(Scope::ReservationsRead)),
    ("GET", "/resources/*/waitlist", Needs(Scope::ReservationsRead)),
    ("GET", "/resources/**", Needs(Scope::ResourcesRead)),
    ("GET", "/resource-groups/**", Needs(Scope::ResourcesRead)),
    ("GET", "/reservations/**", Needs(Scope::ReservationsRead)),
    ("POST", "/reservations/**", Needs(Scope::ReservationsWrite)),
    ("GET", "/waitlist", Needs(Scope::ReservationsRead)),
    ("POST", "/waitlist/**", Needs(Scope::ReservationsWrite)),
    ("DELETE", "/waitlist/*", Needs(Scope::ReservationsWrite)),
    ("GET", "/calendar/export/*", Needs(Scope::ReservationsRead)),
    ("GET", "/ws", Needs(Scope::ReservationsRead)),
    ("*", "/webhooks/**", Needs(Scope::WebhooksManage)),
    ("GET", "/audit/**", Needs(Scope::AuditRead)),
    ("GET", "/events/**", Needs(Scope::AuditRead)),
];

/// What a client may do on `method path` (a full request path; `/api/v1` is taken off).
pub fn route_access(method: &str, path: &str) -> RouteAccess {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    ROUTE_SCOPES
        .iter()
        .find(|(m, pattern, _)| (*m == "*" || m.eq_ignore_ascii_case(method)) && matches(pattern, &segments))
        .map_or(UsersOnly, |(_, _, access)| *access)
}

fn matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    match parts.split_last() {
        Some((&"**", head)) => {
            segments.len() >= head.len() && head.iter().zip(segments).all(|(p, s)| *p == "*" || p == s)
        }
        _ => parts.len() == segments.len() && parts.iter().zip(segments).all(|(p, s)| *p == "*" || p == s),
    }
}

/// What happens to a client. Stored with its `type` tag, which is also the log's event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OauthClientEvent {
    OauthClientRegistered {
        name: String,
        scopes: Vec<String>,
        owner: Uuid,
        secret_hash: String,
        at: DateTime<Utc>,
    },
    /// A new secret; tokens obtained with an older one stop working.
    OauthClientSecretRotated {
        secret_hash: String,
        generation: u32,
        at: DateTime<Utc>,
    },
    /// The client may no longer obtain tokens; those it holds stop working.
    OauthClientDisabled {
        at: DateTime<Utc>,
    },
    /// One access token (`jti`, valid until `exp`) stops working.
    OauthTokenRevoked {
        jti: Uuid,
        exp: i64,
        at: DateTime<Utc>,
    },
}

impl OauthClientEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            OauthClientEvent::OauthClientRegistered { .. } => "oauth_client_registered",
            OauthClientEvent::OauthClientSecretRotated { .. } => "oauth_client_secret_rotated",
            OauthClientEvent::OauthClientDisabled { .. } => "oauth_client_disabled",
            OauthClientEvent::OauthTokenRevoked { .. } => "oauth_token_revoked",
        }
    }
}

/// A client as of its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OauthClient {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<String>,
    /// The admin who registered it.
    pub owner: Uuid,
    pub active: bool,
    /// SHA-256 of the current secret (never handed out).
    pub secret_hash: String,
    /// 1 for the first secret, one more for each rotation.
    pub generation: u32,
    pub created_at: DateTime<Utc>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub version: u64,
}

fn evolve(state: Option<OauthClient>, id: Uuid, version: u64, event: &OauthClientEvent) -> Option<OauthClient> {
    use OauthClientEvent::*;
    if let OauthClientRegistered { name, scopes, owner, secret_hash, at } = event {
        return Some(OauthClient {
            id,
            name: name.clone(),
            scopes: scopes.clone(),
            owner: *owner,
            active: true,
            secret_hash: secret_hash.clone(),
            generation: 1,
            created_at: *at,
            secret_rotated_at: None,
            disabled_at: None,
            version,
        });
    }
    let mut client = state?;
    client.version = version;
    match event {
        OauthClientSecretRotated { secret_hash, generation, at } => {
            client.secret_hash = secret_hash.clone();
            client.generation = *generation;
            client.secret_rotated_at = Some(*at);
        }
        OauthClientDisabled { at } => {
            client.active = false;
            client.disabled_at = Some(*at);
        }
        OauthClientRegistered { .. } | OauthTokenRevoked { .. } => {}
    }
    Some(client)
}

fn decode(event: &RecordedEvent) -> Option<OauthClientEvent> {
    serde_json::from_str(&event.payload).ok()
}

/// The client `id` as of the log (always current), or `None`.
pub async fn load(services: &Services, id: Uuid) -> Result<Option<OauthClient>, AppError> {
    let stream = stream_id(id);
    let mut state = None;
    let mut next = 1;
    loop {
        let batch = services.store.read_stream(&stream, next, 500).await?;
        let done = batch.len() < 500;
        for event in &batch {
            next = event.stream_version + 1;
            if let Some(decoded) = decode(event) {
                state = evolve(state, id, event.stream_version, &decoded);
            }
        }
        if done {
            return Ok(state);
        }
    }
}

/// Every client, oldest first, read from the log.
pub async fn list(services: &Services) -> Result<Vec<OauthClient>, AppError> {
    let rows = fetch_all(
        &services.db(),
        "SELECT stream_id, stream_version, CAST(payload AS TEXT) FROM events WHERE event_type IN ($1, $2, $3) \
         ORDER BY position",
        &["oauth_client_registered".into(), "oauth_client_secret_rotated".into(), "oauth_client_disabled".into()],
    )
    .await
    .map_err(|e| AppError::Storage(e.to_string()))?;
    let mut clients: Vec<OauthClient> = Vec::new();
    for row in rows {
        let stream = row.text(0).map_err(|e| AppError::Storage(e.to_string()))?;
        let version = row.int(1).map_err(|e| AppError::Storage(e.to_string()))? as u64;
        let payload = row.text(2).map_err(|e| AppError::Storage(e.to_string()))?;
        let (Some(id), Ok(event)) = (
            stream.strip_prefix(STREAM_PREFIX).and_then(|s| Uuid::parse_str(s).ok()),
            serde_json::from_str::<OauthClientEvent>(&payload),
        ) else {
            continue;
        };
        match clients.iter().position(|c| c.id == id) {
            Some(i) => {
                if let Some(next) = evolve(Some(clients[i].clone()), id, version, &event) {
                    clients[i] = next;
                }
            }
            None => clients.extend(evolve(None, id, version, &event)),
        }
    }
    Ok(clients)
}

/// A client with the secret just issued (shown this once).
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub client: OauthClient,
    pub client_secret: String,
    /// Where the change is in the log (read-your-writes).
    pub position: u64,
}

fn metadata(info: &RequestInfo<'_>, actor: Uuid, caller: Option<&Caller>) -> Result<EventMetadata, AppError> {
    let meta = command_meta(&RequestInfo { idempotency_key: None, ..info.clone() }, caller, &[])?;
    Ok(EventMetadata {
        actor: Some(actor.to_string()),
        command_id: Some(meta.command_id),
        correlation_id: meta.correlation_id,
        causation_id: None,
        client_ip: meta.client_ip,
    })
}

async fn append(
    services: &Services,
    id: Uuid,
    expected: ExpectedVersion,
    event: &OauthClientEvent,
    metadata: EventMetadata,
) -> Result<u64, AppError> {
    let payload = serde_json::to_string(event).map_err(|e| AppError::Internal(e.to_string()))?;
    let new = NewEvent::new(Uuid::new_v4(), event.event_type(), payload).with_metadata(metadata);
    match services.store.append(AppendRequest::single(stream_id(id), expected, vec![new])).await {
        Ok(outcome) => Ok(outcome.last_position()),
        Err(AppendError::WrongExpectedVersion { current, .. }) => Err(AppError::PreconditionFailed { current }),
        Err(other) => Err(AppError::Storage(other.to_string())),
    }
}

/// Checked scopes: each known, none twice, at least one. Errors name the unknown scope.
pub fn checked_scopes(field: &str, scopes: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes {
        let scope = scope.trim();
        if Scope::parse(scope).is_none() {
            let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
            return Err(AppError::validation(
                field,
                format!("unknown scope `{scope}`; known scopes: {}", known.join(", ")),
            ));
        }
        if !out.iter().any(|s| s == scope) {
            out.push(scope.to_string());
        }
    }
    if out.is_empty() {
        return Err(AppError::validation(field, "name at least one scope"));
    }
    Ok(out)
}

/// Registers a client owned by `caller` (an admin). `body` is the request as sent: with an
/// `Idempotency-Key`, the same key and body answer again with the same client and secret (the
/// secret is then derived from the service's key and the idempotency record, never stored), and
/// the same key with another body is `IdempotencyKeyReused`.
pub async fn register(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    name: &str,
    scopes: &[String],
    body: &[u8],
) -> Result<WithSecret, AppError> {
    caller.require(&[Role::Admin])?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(AppError::validation("name", format!("must be 1 to {MAX_NAME} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation("name", "must not contain control characters"));
    }
    let scopes = checked_scopes("scopes", scopes)?;
    let key = command_meta(info, Some(caller), body)?.idempotency;
    if let Some(key) = &key {
        if let Some(earlier) = registered_before(services, key).await? {
            return Ok(earlier);
        }
    }
    let id = Uuid::new_v4();
    let (client_secret, secret_hash) = match &key {
        Some(key) => keyed_secret(services, key, id),
        None => new_client_secret().map_err(|e| AppError::Internal(e.to_string()))?,
    };
    let event = OauthClientEvent::OauthClientRegistered {
        name: name.to_string(),
        scopes,
        owner: caller.user_id,
        secret_hash,
        at: services.clock.now(),
    };
    let metadata = metadata(info, caller.user_id, Some(caller))?;
    let position = match &key {
        None => append(services, id, ExpectedVersion::NoStream, &event, metadata).await?,
        Some(key) => {
            let payload = serde_json::to_string(&event).map_err(|e| AppError::Internal(e.to_string()))?;
            let new = NewEvent::new(Uuid::new_v4(), event.event_type(), payload).with_metadata(metadata);
            let request = AppendRequest::single(stream_id(id), ExpectedVersion::NoStream, vec![new]).with_stream(
                key.record_stream(),
                ExpectedVersion::NoStream,
                vec![key.created_record(id)?],
            );
            match services.store.append(request).await {
                Ok(outcome) => outcome.last_position(),
                // A concurrent first attempt with the same key won: answer as it did.
                Err(AppendError::WrongExpectedVersion { .. }) => {
                    return registered_before(services, key)
                        .await?
                        .ok_or_else(|| AppError::Internal("idempotency record vanished".into()));
                }
                Err(other) => return Err(AppError::Storage(other.to_string())),
            }
        }
    };
    let client = load(services, id).await?.ok_or_else(|| AppError::Internal("client vanished".into()))?;
    Ok(WithSecret { client, client_secret, position })
}

/// The secret of the client a keyed registration creates: derived, so a retry can repeat it.
fn keyed_secret(services: &Services, key: &IdempotencyKey, id: Uuid) -> (String, String) {
    let mut input = key.record_stream().as_bytes().to_vec();
    input.extend_from_slice(id.as_bytes());
    services.tokens.derived_client_secret(&input)
}

/// The answer of an earlier registration with this key and request, if there was one (its
/// client as it is now, the secret it was given then). Errors: `IdempotencyKeyReused`.
async fn registered_before(services: &Services, key: &IdempotencyKey) -> Result<Option<WithSecret>, AppError> {
    let Some((id, position)) = key.created_before(services.store.as_ref()).await? else { return Ok(None) };
    let client = load(services, id).await?.ok_or_else(|| AppError::Internal("client vanished".into()))?;
    let (client_secret, _) = keyed_secret(services, key, id);
    Ok(Some(WithSecret { client, client_secret, position }))
}

/// A new secret for client `id`; the old one and the tokens obtained with it stop working.
pub async fn rotate_secret(
    services: &Services,
    info: &RequestInfo<'_>,
    caller: &Caller,
    id: Uuid,
) -> Result<WithSecret, AppError> {
    caller.require(&[Role::Admin])?;
    let client = load(services, id).await?.ok_or_else(|| AppError::not_found("OAuth client"))?;
    if !client.active {
        return Err(AppError::Conflict { slug: "client-disabled", detail: "this client is disabled".into() });
    }
    let (client_secret, secret_hash) = new_client_secret().map_err(|e| AppError::Internal(e.to_string()))?;
    let generation = client.generation + 1;
    let event = OauthClientEvent::OauthClientSecretRotated { secret_hash, generation, at: services.clock.now() };
    let position = append(
        services,
        id,
        ExpectedVersion::Exact(client.version),
        &event,
        metadata(info, caller.user_id, Some(caller))?,
    )
    .await?;
    services.revocations.client_rotated(id, generation);
    let client = load(services, id).await?.ok_or_else(|| AppError::Internal("client vanished".into()))?;
    Ok(WithSecret { client, client_secret, position })
}

/// Disables client `id` for good: no new tokens, and those it holds stop working at once.
/// Disabling a disabled client changes nothing. Returns the log position.
pub async fn disable(services: &Services, info: &RequestInfo<'_>, caller: &Caller, id: Uuid) -> Result<u64, AppError> {
    caller.require(&[Role::Admin])?;
    let client = load(services, id).await?.ok_or_else(|| AppError::not_found("OAuth client"))?;
    if !client.active {
        return Ok(0);
    }
    let event = OauthClientEvent::OauthClientDisabled { at: services.clock.now() };
    let position = append(
        services,
        id,
        ExpectedVersion::Exact(client.version),
        &event,
        metadata(info, caller.user_id, Some(caller))?,
    )
    .await?;
    services.revocations.client_disabled(id);
    Ok(position)
}

/// Why the token endpoint said no: the RFC 6749 §5.2 error codes.
#[derive(Debug)]
pub enum OauthError {
    /// Unknown client, wrong secret, disabled client, or no credentials.
    InvalidClient,
    InvalidRequest(String),
    InvalidScope(String),
    UnsupportedGrantType(String),
    /// Not the caller's fault (storage, signing).
    Server(AppError),
}

impl From<AppError> for OauthError {
    fn from(e: AppError) -> Self {
        OauthError::Server(e)
    }
}

/// A client's credentials as presented (HTTP Basic or form fields).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
}

/// The client these credentials authenticate (active, secret matching).
pub async fn authenticate_client(services: &Services, credentials: &Credentials) -> Result<OauthClient, OauthError> {
    let id = Uuid::try_parse(credentials.client_id.trim()).map_err(|_| OauthError::InvalidClient)?;
    let client = load(services, id).await?.ok_or(OauthError::InvalidClient)?;
    if !client.active || !client_secret_matches(&credentials.client_secret, &client.secret_hash) {
        return Err(OauthError::InvalidClient);
    }
    Ok(client)
}

/// An issued access token (the RFC 6749 §5.1 response).
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// `grant_type=client_credentials`: a token for the client, with all its scopes or the subset
/// `requested` (space-separated) names.
pub async fn issue_token(
    services: &Services,
    grant_type: Option<&str>,
    credentials: Option<Credentials>,
    requested: Option<&str>,
) -> Result<TokenResponse, OauthError> {
    match grant_type.map(str::trim) {
        None | Some("") => return Err(OauthError::InvalidRequest("grant_type is required".into())),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OauthError::UnsupportedGrantType(format!(
                "grant_type `{other}` is not supported here; use client_credentials"
            )))
        }
    }
    let credentials = credentials.ok_or(OauthError::InvalidClient)?;
    let client = authenticate_client(services, &credentials).await?;
    let granted: Vec<String> = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => client.scopes.clone(),
        Some(requested) => {
            let mut granted = Vec::new();
            for scope in requested.split_whitespace() {
                if !client.scopes.iter().any(|s| s == scope) {
                    return Err(OauthError::InvalidScope(format!("scope `{scope}` is not granted to this client")));
                }
                if !granted.iter().any(|s: &String| s == scope) {
                    granted.push(scope.to_string());
                }
            }
            granted
        }
    };
    let scope = granted.join(" ");
    let (token, _) = services
        .tokens
        .issue_client_access(client.id, &client.name, &scope, client.generation, services.clock.now())
        .map_err(|e| OauthError::Server(AppError::Internal(e.to_string())))?;
    Ok(TokenResponse { access_token: token.token, token_type: "bearer", expires_in: token.expires_in, scope })
}

/// Who asks about or revokes a token: an admin (any token) or a client (its own tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuthority {
    Admin(Uuid),
    Client(Uuid),
}

impl TokenAuthority {
    /// From a bearer caller: an admin, or a client; anyone else is refused.
    pub fn of(caller: &Caller) -> Result<TokenAuthority, AppError> {
        if caller.is_client() {
            Ok(TokenAuthority::Client(caller.user_id))
        } else if caller.is_admin() {
            Ok(TokenAuthority::Admin(caller.user_id))
        } else {
            Err(AppError::Forbidden("only admins and the token's own client may do this".into()))
        }
    }

    fn may_see(&self, claims: &AccessClaims) -> bool {
        match self {
            TokenAuthority::Admin(_) => true,
            TokenAuthority::Client(id) => claims.is_client() && claims.sub == *id,
        }
    }

    fn actor(&self) -> Uuid {
        match self {
            TokenAuthority::Admin(id) | TokenAuthority::Client(id) => *id,
        }
    }
}

/// An RFC 7662 introspection answer; only `active` when the token is not.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// A user's token: the user (and `username`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
}

/// Whether `token` works now, as `authority` may know: a token it may not see reads as inactive.
pub fn introspect(services: &Services, authority: TokenAuthority, token: &str) -> Introspection {
    let Ok(claims) = services.tokens.verify_access(token, services.clock.now()) else {
        return Introspection::default();
    };
    if !authority.may_see(&claims) || crate::caller::refusal_of(services, &claims).is_some() {
        return Introspection::default();
    }
    let client = claims.is_client();
    Introspection {
        active: true,
        scope: claims.scope.clone(),
        client_id: client.then_some(claims.sub),
        sub: (!client).then_some(claims.sub),
        username: Some(claims.username.clone()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        token_type: Some("bearer"),
    }
}

/// Revokes a client's access token (RFC 7009): it stops working at once, here and, through
/// the log, on every replica. Tokens the authority may not see, and anything that is not a
/// live client token, are left alone (the endpoint answers 200 either way).
pub async fn revoke(
    services: &Services,
    info: &RequestInfo<'_>,
    authority: TokenAuthority,
    token: &str,
) -> Result<u64, AppError> {
    let claims = match services.tokens.verify_access(token, services.clock.now()) {
        Ok(claims) => claims,
        Err(TokenError::Expired | TokenError::Invalid) => return Ok(0),
    };
    if !claims.is_client() || !authority.may_see(&claims) || services.revocations.is_token_revoked(claims.jti) {
        return Ok(0);
    }
    let event = OauthClientEvent::OauthTokenRevoked { jti: claims.jti, exp: claims.exp, at: services.clock.now() };
    let position =
        append(services, claims.sub, ExpectedVersion::Any, &event, metadata(info, authority.actor(), None)?).await?;
    services.revocations.revoke_token(claims.jti);
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_table_maps_routes_to_scopes() {
        let cases = [
            ("GET", "/api/v1/resources", Needs(Scope::ResourcesRead)),
            ("GET", "/api/v1/resources/abc/availability", Needs(Scope::ResourcesRead)),
            ("GET", "/api/v1/resources/abc/reservations", Needs(Scope::ReservationsRead)),
            ("POST", "/api/v1/resources", UsersOnly),
            ("PATCH", "/api/v1/resources/abc", UsersOnly),
            ("POST", "/api/v1/reservations", Needs(Scope::ReservationsWrite)),
            ("POST", "/api/v1/reservations/x/cancel", Needs(Scope::ReservationsWrite)),
            ("GET", "/api/v1/reservations/my", Needs(Scope::ReservationsRead)),
            ("DELETE", "/api/v1/webhooks/x", Needs(Scope::WebhooksManage)),
            ("GET", "/api/v1/audit/logs", Needs(Scope::AuditRead)),
            ("GET", "/api/v1/events", Needs(Scope::AuditRead)),
            ("GET", "/api/v1/users/me", UsersOnly),
            ("POST", "/api/v1/users/me/password", UsersOnly),
            ("GET", "/api/v1/oauth/clients", UsersOnly),
            ("POST", "/api/v1/oauth/introspect", AnyClient),
            ("GET", "/api/v1/notifications", UsersOnly),
            ("GET", "/ws", Needs(Scope::ReservationsRead)),
            ("GET", "/api/v1/something-new", UsersOnly),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route_access(method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn docs_repeat_the_scope_table_exactly() {
        let docs = include_str!("../../docs/api.md");
        let table = docs.split("### Scope table").nth(1).expect("docs/api.md has a scope table");
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
        assert_eq!(rows.len(), ROUTE_SCOPES.len(), "{rows:#?}");
        for ((method, path, access), row) in ROUTE_SCOPES.iter().zip(rows) {
            let needs = match access {
                Needs(scope) => format!("`{}`", scope.as_str()),
                AnyClient => "any client (its own tokens)".into(),
                UsersOnly => "never a client's".into(),
            };
            assert_eq!(row, format!("| `{method}` | `{path}` | {needs} |"), "rows in the code's order");
        }
    }

    #[test]
    fn unknown_scopes_are_named() {
        let error = checked_scopes("scopes", &["resources:read".into(), "resources:write".into()]).unwrap_err();
        assert!(error.to_string().contains("`resources:write`"), "{error}");
        assert!(checked_scopes("scopes", &[]).is_err());
        let ok = checked_scopes("scopes", &["audit:read".into(), "audit:read".into()]).expect("valid");
        assert_eq!(ok, vec!["audit:read".to_string()]);
    }

    #[test]
    fn events_fold_into_a_client() {
        let id = Uuid::new_v4();
        let at = Utc::now();
        let registered = OauthClientEvent::OauthClientRegistered {
            name: "door".into(),
            scopes: vec!["resources:read".into()],
            owner: Uuid::nil(),
            secret_hash: "h1".into(),
            at,
        };
        let client = evolve(None, id, 1, &registered).expect("registered");
        assert_eq!((client.generation, client.active), (1, true));
        let rotated = OauthClientEvent::OauthClientSecretRotated { secret_hash: "h2".into(), generation: 2, at };
        let client = evolve(Some(client), id, 2, &rotated).expect("rotated");
        assert_eq!((client.secret_hash.as_str(), client.generation), ("h2", 2));
        let client = evolve(Some(client), id, 3, &OauthClientEvent::OauthClientDisabled { at }).expect("disabled");
        assert!(!client.active);
        assert_eq!(client.version, 3);
        assert_eq!(registered.event_type(), serde_json::to_value(&registered).expect("json")["type"]);
    }
}

//! Short-lived access tokens: HS256 JWTs naming the user, role and session. Expiry is checked
//! against the caller's `now` (not the library's clock) so tests and the service agree on time.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use reserver_domain::Role;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::AuthError;

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    pub username: String,
    pub role: Role,
    /// The refresh session this token was issued under; revoking it (logout) lets the HTTP
    /// layer refuse the token before it expires.
    pub sid: Uuid,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Unique token id.
    pub jti: Uuid,
    /// Only in an OAuth2 client's token (`sub` is then the client): the granted scopes,
    /// space-separated. A token without it is a user's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Only in an OAuth2 client's token: the generation of the secret it was obtained with
    /// (a rotation ends the tokens of older generations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgen: Option<u32>,
}

impl AccessClaims {
    /// Whether this is an OAuth2 client's token.
    pub fn is_client(&self) -> bool {
        self.scope.is_some()
    }
}

/// A signed access token and its lifetime in seconds (the OAuth2 `expires_in`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
}

/// Why an access token was refused. Both mean `401`; `Expired` lets clients know to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("access token expired")]
    Expired,
    /// Bad signature, another algorithm, malformed, or missing claims.
    #[error("access token invalid")]
    Invalid,
}

/// Tokens whose signature was verified, remembered so a client's every request does not pay
/// for HMAC, base64 and JSON again. Keyed by the exact token text, so only byte-identical
/// tokens hit; expiry is still checked on every use, revocation by the caller as before.
const VERIFIED_CAPACITY: usize = 10_000;

/// What an MFA challenge asserts: the password of `sub` was right at `iat`; a code is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MfaChallengeClaims {
    sub: Uuid,
    /// Always `mfa`: an access token never decodes as a challenge, nor the reverse.
    typ: String,
    exp: i64,
    iat: i64,
}

/// How long the second step of a login may wait for a code.
pub const MFA_CHALLENGE_TTL: Duration = Duration::minutes(5);

/// Signs and verifies access tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    verified: Arc<Mutex<LruCache<String, AccessClaims>>>,
    /// The signing secret, also keying derived client secrets.
    key: Arc<[u8]>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("access_ttl", &self.access_ttl).finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Self {
        // Only HS256 is accepted: `alg: none` and algorithm-confusion tokens fail the header check.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            verified: Arc::new(Mutex::new(LruCache::new(
                NonZeroUsize::new(VERIFIED_CAPACITY).unwrap_or(NonZeroUsize::MIN),
            ))),
            key: Arc::from(secret),
        }
    }

    /// An OAuth2 client secret derived from the service's secret key and `input`, with its hash
    /// (see [`crate::derived_client_secret`]).
    pub fn derived_client_secret(&self, input: &[u8]) -> (String, String) {
        crate::client_secret::derived_client_secret(&self.key, input)
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// Signs a token for `user_id` valid from `now` for the configured lifetime.
    pub fn issue_access(
        &self,
        user_id: Uuid,
        username: &str,
        role: Role,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, AuthError> {
        let iat = now.timestamp();
        let expires_in = self.access_ttl.num_seconds();
        let claims = AccessClaims {
            sub: user_id,
            username: username.to_string(),
            role,
            sid: session_id,
            exp: iat.saturating_add(expires_in),
            iat,
            jti: Uuid::new_v4(),
            scope: None,
            cgen: None,
        };
        self.sign(&claims, expires_in)
    }

    /// Signs a token for the OAuth2 client `client_id` holding `scopes` (space-separated),
    /// obtained with its secret of generation `generation`. It names no session (`sid` is nil)
    /// and carries the role its requests act with (see the API's scope table).
    pub fn issue_client_access(
        &self,
        client_id: Uuid,
        name: &str,
        scopes: &str,
        generation: u32,
        now: DateTime<Utc>,
    ) -> Result<(AccessToken, AccessClaims), AuthError> {
        let iat = now.timestamp();
        let expires_in = self.access_ttl.num_seconds();
        let claims = AccessClaims {
            sub: client_id,
            username: name.to_string(),
            role: Role::User,
            sid: Uuid::nil(),
            exp: iat.saturating_add(expires_in),
            iat,
            jti: Uuid::new_v4(),
            scope: Some(scopes.to_string()),
            cgen: Some(generation),
        };
        Ok((self.sign(&claims, expires_in)?, claims))
    }

    fn sign(&self, claims: &AccessClaims, expires_in: i64) -> Result<AccessToken, AuthError> {
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::TokenSigning(e.to_string()))?;
        Ok(AccessToken { token, expires_in })
    }

    /// A short-lived challenge for the second step of a login of `user_id`; it starts no session.
    pub fn issue_mfa_challenge(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<String, AuthError> {
        let iat = now.timestamp();
        let claims = MfaChallengeClaims {
            sub: user_id,
            typ: "mfa".into(),
            exp: iat.saturating_add(MFA_CHALLENGE_TTL.num_seconds()),
            iat,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::TokenSigning(e.to_string()))
    }

    /// The user of an MFA challenge signed by us and not expired at `now`.
    pub fn verify_mfa_challenge(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, TokenError> {
        let claims = jsonwebtoken::decode::<MfaChallengeClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.typ != "mfa" {
            return Err(TokenError::Invalid);
        }
        if now.timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims.sub)
    }

    /// The claims of `token` if its signature is ours and it has not expired at `now`
    /// (expired when `now >= exp`, no leeway).
    pub fn verify_access(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let remembered = self.verified.lock().unwrap_or_else(|p| p.into_inner()).get(token).cloned();
        let claims = match remembered {
            Some(claims) => claims,
            None => {
                let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
                    .map_err(|_| TokenError::Invalid)?
                    .claims;
                self.verified.lock().unwrap_or_else(|p| p.into_inner()).put(token.to_string(), claims.clone());
                claims
            }
        };
        if now.timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
#[path = "tokens_tests.rs"]
mod tests;

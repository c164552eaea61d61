//! Security building blocks of Resource Reserver, called by the HTTP layer: argon2id password
//! hashing and the password policy ([`password`]), HS256 access tokens and the signing secret
//! ([`tokens`], [`secret`]), refresh tokens with rotation and reuse detection kept as an
//! event-sourced session aggregate with idle and absolute lifetimes ([`refresh_token`],
//! [`session`]), tiered rate limits ([`rate_limit`]) and the login throttle that replaces
//! account lockout ([`login_throttle`]). Pure apart from OS randomness: sessions are decided here and persisted by
//! the caller's `reserver_commands::CommandPipeline<SessionAggregate>`.

#![forbid(unsafe_code)]

pub mod client_secret;
mod error;
pub mod feed_token;
pub mod login_throttle;
pub mod password;
pub mod rate_limit;
pub mod refresh_token;
pub mod secret;
pub mod session;
pub mod tokens;

pub use client_secret::{client_secret_matches, derived_client_secret, hash_client_secret, new_client_secret};
pub use error::AuthError;
pub use feed_token::{is_feed_token, new_feed_token};
pub use login_throttle::{LoginAttempt, LoginThrottle, LoginThrottleConfig, Throttled};
pub use password::{check_password_policy, hash_password, verify_login, verify_password, PolicyViolation};
pub use rate_limit::{Limited, RateInfo, RateLimitConfig, RateLimiter, Tier};
pub use refresh_token::{new_refresh_token, parse_refresh_token};
pub use secret::SecretKey;
pub use session::{reuse_detected, SessionAggregate, SessionCommand, SessionEvent, SessionLifetimes, SessionState};
pub use tokens::{AccessClaims, AccessToken, TokenError, TokenIssuer};

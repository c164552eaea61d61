//! The token-signing secret, taken from the environment (`SECRET_KEY`). In production a
//! missing, short or well-known secret stops the service from starting: tokens signed with a
//! default anyone can read in a README are forgeable by anyone.

use std::fmt;

use crate::error::{os_random, AuthError};

/// Shortest secret accepted in production: 256 bits, the HS256 key size.
pub const MIN_SECRET_BYTES: usize = 32;

/// Placeholders from sample configurations and tutorials, compared case-insensitively.
const KNOWN_DEFAULTS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "change-me-in-production",
    "changethis",
    "secret",
    "secret-key",
    "secret_key",
    "supersecret",
    "super-secret-key",
    "your-secret-key",
    "your-secret-key-here",
    "your-secret-key-change-in-production",
    "your_secret_key",
    "development",
    "dev-secret",
    "insecure",
    "password",
    "default",
    "test",
    "jwt-secret",
];

/// Fewer distinct bytes than this marks a secret like `aaaa…` or `0101…` as not random.
const MIN_DISTINCT_BYTES: usize = 8;

/// The key access tokens are signed with. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey {
    bytes: Vec<u8>,
    warning: Option<String>,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey").field("bytes", &"<redacted>").field("warning", &self.warning).finish()
    }
}

impl SecretKey {
    /// The secret from the environment value `value`. In `production` anything weak is an
    /// error. In development a weak secret is used with a warning, and a missing one is
    /// replaced by a random secret for this process only (tokens die with a restart).
    pub fn from_env_value(value: Option<&str>, production: bool) -> Result<SecretKey, AuthError> {
        let value = value.filter(|v| !v.trim().is_empty());
        let Some(value) = value else {
            if production {
                return Err(AuthError::InsecureSecret("SECRET_KEY is not set".into()));
            }
            return Ok(SecretKey {
                bytes: os_random::<64>()?.to_vec(),
                warning: Some(
                    "SECRET_KEY is not set: using a random secret for this process; \
                     tokens will not survive a restart or work across replicas"
                        .into(),
                ),
            });
        };
        match weakness(value) {
            None => Ok(SecretKey { bytes: value.as_bytes().to_vec(), warning: None }),
            Some(why) if production => Err(AuthError::InsecureSecret(why)),
            Some(why) => Ok(SecretKey {
                bytes: value.as_bytes().to_vec(),
                warning: Some(format!("{why}; refused in production")),
            }),
        }
    }

    /// A key kept by the service itself (generated once, stored in the database and shared by
    /// every replica): used when no `SECRET_KEY` is configured, outside production.
    pub fn generated(bytes: &[u8]) -> SecretKey {
        SecretKey {
            bytes: bytes.to_vec(),
            warning: Some(
                "SECRET_KEY is not set: using the key this database generated and keeps for all replicas; \
                 set SECRET_KEY in production"
                    .into(),
            ),
        }
    }

    /// The raw key bytes, for [`crate::tokens::TokenIssuer::new`].
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// What the operator should be told at startup, if anything.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }
}

/// Why `value` is not a safe secret, if it is not.
fn weakness(value: &str) -> Option<String> {
    let normalized = value.trim().to_ascii_lowercase();
    if KNOWN_DEFAULTS.contains(&normalized.as_str()) {
        return Some("SECRET_KEY is a well-known default value".into());
    }
    if value.len() < MIN_SECRET_BYTES {
        return Some(format!("SECRET_KEY is {} bytes; at least {MIN_SECRET_BYTES} are required", value.len()));
    }
    let distinct = value.bytes().collect::<std::collections::HashSet<_>>().len();
    if distinct < MIN_DISTINCT_BYTES {
        return Some("SECRET_KEY repeats too few distinct characters to be random".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "q3X9v-LbT2nM8wZr4KcY7uHs1PfJ6dGe";

    #[test]
    fn production_refuses_missing_short_default_and_repetitive_secrets() {
        for value in [None, Some(""), Some("   "), Some("short-but-random-9x")] {
            assert!(SecretKey::from_env_value(value, true).is_err(), "{value:?}");
        }
        for value in ["change-me", "secret", "your-secret-key-change-in-production", "CHANGE-ME"] {
            assert!(SecretKey::from_env_value(Some(value), true).is_err(), "{value}");
        }
        assert!(SecretKey::from_env_value(Some(&"ab".repeat(32)), true).is_err());
    }

    #[test]
    fn production_accepts_a_long_random_secret() {
        let key = SecretKey::from_env_value(Some(GOOD), true).expect("good secret");
        assert_eq!(key.as_bytes(), GOOD.as_bytes());
        assert_eq!(key.warning(), None);
        assert!(!format!("{key:?}").contains(GOOD));
    }

    #[test]
    fn development_generates_an_ephemeral_secret_with_a_warning() {
        let a = SecretKey::from_env_value(None, false).expect("dev secret");
        let b = SecretKey::from_env_value(None, false).expect("dev secret");
        assert!(a.warning().is_some());
        assert!(a.as_bytes().len() >= MIN_SECRET_BYTES);
        assert_ne!(a.as_bytes(), b.as_bytes());
    }

    #[test]
    fn development_uses_a_weak_secret_but_warns() {
        let key = SecretKey::from_env_value(Some("change-me"), false).expect("dev accepts");
        assert_eq!(key.as_bytes(), b"change-me");
        assert!(key.warning().is_some_and(|w| w.contains("default")));
    }
}

//! The crate's error type: what can go wrong while building or using a security primitive.

use thiserror::Error;

/// A failure of this crate's own machinery (not a refused login or token: those have their
/// own outcomes, [`crate::tokens::TokenError`] and `Result<(), Vec<PolicyViolation>>`).
#[derive(Debug, Error)]
pub enum AuthError {
    /// The token-signing secret is unusable; the service must not start with it.
    #[error("insecure secret key: {0}")]
    InsecureSecret(String),
    /// Hashing a password failed (out of memory, bad parameters).
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    /// Signing an access token failed.
    #[error("token signing failed: {0}")]
    TokenSigning(String),
    /// The operating system's random number generator failed.
    #[error("operating system randomness unavailable: {0}")]
    Randomness(String),
}

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn os_random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Randomness(e.to_string()))?;
    Ok(bytes)
}

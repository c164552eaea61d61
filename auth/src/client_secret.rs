//! OAuth2 client secrets: 256 bits from the operating system in unpadded base64url behind a
//! `rcs_` prefix (so a leaked one is easy to recognise). Only the SHA-256 of the secret is
//! stored (the `secret_hash` of a client's events); a secret of this strength needs no slow hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::{os_random, AuthError};

/// What every client secret starts with.
pub const CLIENT_SECRET_PREFIX: &str = "rcs_";

/// A new client secret and the hash to store for it.
pub fn new_client_secret() -> Result<(String, String), AuthError> {
    let secret = format!("{CLIENT_SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(os_random::<32>()?));
    let hash = hash_client_secret(&secret);
    Ok((secret, hash))
}

/// A client secret derived from `key` and `input` (HMAC-SHA256; the same pair always gives the
/// same secret) and the hash to store for it: what lets a registration sent again with the same
/// `Idempotency-Key` get the answer it got the first time, secret included, without the secret
/// being stored anywhere. As strong as a random one while `key` (the service's secret key) is
/// secret; whoever holds that key can sign any token anyway.
pub fn derived_client_secret(key: &[u8], input: &[u8]) -> (String, String) {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"reserver oauth client secret\0");
    mac.update(input);
    let secret = format!("{CLIENT_SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    let hash = hash_client_secret(&secret);
    (secret, hash)
}

/// Lower-case hex SHA-256 of the secret's text.
pub fn hash_client_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `presented` is the secret whose hash is `stored`, compared without an early exit.
pub fn client_secret_matches(presented: &str, stored: &str) -> bool {
    let presented = hash_client_secret(presented);
    presented.len() == stored.len() && presented.bytes().zip(stored.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_only_their_hash_matches() {
        let (secret, hash) = new_client_secret().expect("secret");
        let (other, _) = new_client_secret().expect("secret");
        assert!(secret.starts_with(CLIENT_SECRET_PREFIX));
        assert_eq!(secret.len(), CLIENT_SECRET_PREFIX.len() + 43);
        assert_ne!(secret, other);
        assert!(client_secret_matches(&secret, &hash));
        assert!(!client_secret_matches(&other, &hash));
        assert!(!client_secret_matches(&secret, &hash[1..]));
        assert!(!hash.contains(&secret[4..]));
    }
}

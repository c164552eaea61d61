//! Refresh tokens on the wire: `"<session uuid>.<secret>"`, the secret being 256 bits from
//! the operating system in unpadded base64url (43 characters). Only the SHA-256 of the secret
//! is ever stored or logged, so the event log cannot be mined for live tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{os_random, AuthError};

/// Characters of the secret part: 32 bytes in unpadded base64.
pub const REFRESH_SECRET_CHARS: usize = 43;

/// A new refresh token for `session_id` and the hash to store for it.
pub fn new_refresh_token(session_id: Uuid) -> Result<(String, String), AuthError> {
    let secret = URL_SAFE_NO_PAD.encode(os_random::<32>()?);
    let hash = hash_secret(&secret);
    Ok((format!("{}.{secret}", session_id.hyphenated()), hash))
}

/// The session and secret hash of a well-formed refresh token; `None` for anything else.
pub fn parse_refresh_token(token: &str) -> Option<(Uuid, String)> {
    let (session, secret) = token.split_once('.')?;
    // Only the form we issue: other UUID spellings would make several strings one token.
    if session.len() != 36 {
        return None;
    }
    let session_id = Uuid::try_parse(session).ok()?;
    if secret.len() != REFRESH_SECRET_CHARS {
        return None;
    }
    // The decoder refuses non-zero trailing bits, so exactly one string encodes each secret.
    let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
    if bytes.len() != 32 {
        return None;
    }
    Some((session_id, hash_secret(secret)))
}

/// Lower-case hex SHA-256 of the secret's text.
fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_to_their_session_and_hash() {
        let session = Uuid::new_v4();
        let (token, hash) = new_refresh_token(session).expect("token");
        assert_eq!(token.len(), 36 + 1 + REFRESH_SECRET_CHARS);
        assert_eq!(parse_refresh_token(&token), Some((session, hash.clone())));
        assert_eq!(hash.len(), 64);
        assert!(!token.contains(&hash));
    }

    #[test]
    fn tokens_are_unique() {
        let session = Uuid::new_v4();
        let (a, ha) = new_refresh_token(session).expect("token");
        let (b, hb) = new_refresh_token(session).expect("token");
        assert_ne!(a, b);
        assert_ne!(ha, hb);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (token, _) = new_refresh_token(Uuid::new_v4()).expect("token");
        let (session, secret) = token.split_once('.').expect("dot");
        let simple = Uuid::parse_str(session).expect("uuid").simple().to_string();
        for bad in [
            String::new(),
            "no-dot".to_string(),
            format!("{session}."),
            format!("{session}.{}", &secret[1..]),
            format!("{session}.{secret}A"),
            format!("{session}.{}", "!".repeat(REFRESH_SECRET_CHARS)),
            format!("not-a-uuid-at-all-but-36-characters.{secret}"),
            format!("{simple}.{secret}"),
            format!("{session}.{}", secret.replace(|c: char| c.is_ascii_alphanumeric(), "+")),
        ] {
            assert_eq!(parse_refresh_token(&bad), None, "{bad}");
        }
    }
}

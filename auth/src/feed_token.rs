//! Calendar-feed tokens: 256 bits from the operating system in unpadded base64url (43
//! characters), so they sit in a URL path as they are. Whoever holds one reads its user's
//! calendar feed without logging in, which is what calendar clients need.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{os_random, AuthError};

/// Characters of a feed token: 32 bytes in unpadded base64url.
pub const FEED_TOKEN_CHARS: usize = 43;

/// A fresh feed token.
pub fn new_feed_token() -> Result<String, AuthError> {
    Ok(URL_SAFE_NO_PAD.encode(os_random::<32>()?))
}

/// Whether `text` has the form of a token we issue (checked before any database look-up).
pub fn is_feed_token(text: &str) -> bool {
    // The decoder refuses non-zero trailing bits, so exactly one string encodes each token.
    text.len() == FEED_TOKEN_CHARS && URL_SAFE_NO_PAD.decode(text).is_ok_and(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_url_safe_distinct_and_recognised() {
        let a = new_feed_token().expect("token");
        let b = new_feed_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), FEED_TOKEN_CHARS);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
        assert!(is_feed_token(&a));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let token = new_feed_token().expect("token");
        assert!(!is_feed_token(""));
        assert!(!is_feed_token(&token[1..]));
        assert!(!is_feed_token(&format!("{token}A")));
        assert!(!is_feed_token(&format!("{}+", &token[1..])), "standard base64 alphabet");
        // 43 characters whose last one carries non-zero padding bits.
        assert!(!is_feed_token(&format!("{}B", "A".repeat(42))));
    }
}

//! Standard Webhooks signatures. A secret is `whsec_` followed by the base64 of random bytes;
//! a message is signed as `v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>`,
//! and the `webhook-signature` header lists one such signature per secret in force,
//! separated by spaces, so a receiver holding either the new or the previous secret during a
//! rotation accepts the message.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What every encoded secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the specification allows 24 to 64).
const GENERATED_SECRET_BYTES: usize = 32;
const MIN_SECRET_BYTES: usize = 24;
const MAX_SECRET_BYTES: usize = 64;
/// The only signature scheme this module writes and reads.
const SCHEME: &str = "v1";

/// Header names of the specification.
pub const HEADER_ID: &str = "webhook-id";
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// A signing secret. Its `Debug` form never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A secret could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the system random source failed: {0}")]
    Randomness(String),
    #[error("a secret is `whsec_` followed by base64")]
    NotBase64,
    #[error("a secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, this one {0}")]
    Length(usize),
}

impl Secret {
    /// A new secret of 32 random bytes.
    pub fn generate() -> Result<Self, SecretError> {
        let mut key = vec![0u8; GENERATED_SECRET_BYTES];
        getrandom::fill(&mut key).map_err(|e| SecretError::Randomness(e.to_string()))?;
        Ok(Self { key })
    }

    /// Reads an encoded secret; the `whsec_` prefix is optional, as in the reference libraries.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix(SECRET_PREFIX).unwrap_or(encoded);
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(SecretError::Length(key.len()));
        }
        Ok(Self { key })
    }

    /// The form shown to the endpoint's owner and stored: `whsec_<base64>`.
    pub fn encoded(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        // HMAC accepts keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// One signature: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("{SCHEME},{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
pub fn signature_header(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    NoMatch,
}

/// Checks a received message the way a receiver should: the timestamp within `tolerance_secs`
/// of `now` (replay protection), and at least one `v1` signature equal to ours, compared in
/// constant time.
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let sent: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp)?;
    if (now - sent).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let expected = secret.mac(id, sent, body);
    let matches = signatures.split_whitespace().filter_map(|s| s.split_once(',')).any(|(scheme, signature)| {
        scheme == SCHEME && STANDARD.decode(signature).is_ok_and(|given| constant_time_eq(&given, &expected))
    });
    if matches {
        Ok(())
    } else {
        Err(VerifyError::NoMatch)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published with the Standard Webhooks reference libraries.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TIMESTAMP: i64 = 1614265330;
    const VECTOR_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn vector_secret() -> Secret {
        Secret::parse(VECTOR_SECRET).expect("vector secret")
    }

    #[test]
    fn reproduces_the_published_test_vector() {
        assert_eq!(vector_secret().sign(VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY), VECTOR_SIGNATURE);
    }

    #[test]
    fn verifies_the_published_test_vector() {
        let ts = VECTOR_TIMESTAMP.to_string();
        assert_eq!(
            verify(&vector_secret(), VECTOR_ID, &ts, VECTOR_SIGNATURE, VECTOR_BODY, VECTOR_TIMESTAMP, 300),
            Ok(())
        );
        // Any one matching signature among several is enough.
        let several = format!("v1,bm9wZQ== v2,whatever {VECTOR_SIGNATURE}");
        assert_eq!(verify(&vector_secret(), VECTOR_ID, &ts, &several, VECTOR_BODY, VECTOR_TIMESTAMP, 300), Ok(()));
    }

    #[test]
    fn refuses_tampering_wrong_secrets_and_old_timestamps() {
        let ts = VECTOR_TIMESTAMP.to_string();
        let secret = vector_secret();
        let other = Secret::generate().expect("random");
        let check = |secret: &Secret, id: &str, ts: &str, body: &[u8], now: i64| {
            verify(secret, id, ts, VECTOR_SIGNATURE, body, now, 300)
        };
        assert_eq!(
            check(&secret, VECTOR_ID, &ts, br#"{"test": 2432232315}"#, VECTOR_TIMESTAMP),
            Err(VerifyError::NoMatch)
        );
        assert_eq!(check(&secret, "msg_other", &ts, VECTOR_BODY, VECTOR_TIMESTAMP), Err(VerifyError::NoMatch));
        assert_eq!(check(&other, VECTOR_ID, &ts, VECTOR_BODY, VECTOR_TIMESTAMP), Err(VerifyError::NoMatch));
        assert_eq!(check(&secret, VECTOR_ID, &ts, VECTOR_BODY, VECTOR_TIMESTAMP + 301), Err(VerifyError::Stale));
        assert_eq!(check(&secret, VECTOR_ID, "soon", VECTOR_BODY, VECTOR_TIMESTAMP), Err(VerifyError::BadTimestamp));
        assert_eq!(
            verify(&secret, VECTOR_ID, &ts, "v1,not*base64", VECTOR_BODY, VECTOR_TIMESTAMP, 300),
            Err(VerifyError::NoMatch)
        );
    }

    #[test]
    fn a_rotation_header_verifies_with_either_secret() {
        let (new, old) = (Secret::generate().expect("random"), Secret::generate().expect("random"));
        let header = signature_header(&[&new, &old], "msg_1", 1_700_000_000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        for secret in [&new, &old] {
            assert_eq!(verify(secret, "msg_1", "1700000000", &header, b"{}", 1_700_000_000, 300), Ok(()));
        }
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let secret = Secret::generate().expect("random");
        let encoded = secret.encoded();
        assert!(encoded.starts_with(SECRET_PREFIX));
        assert_eq!(Secret::parse(&encoded), Ok(secret.clone()));
        assert_eq!(Secret::parse(&encoded[SECRET_PREFIX.len()..]), Ok(secret));
        assert_eq!(Secret::parse("whsec_!!!"), Err(SecretError::NotBase64));
        assert_eq!(Secret::parse("whsec_c2hvcnQ="), Err(SecretError::Length(5)));
        assert_eq!(format!("{:?}", vector_secret()), "Secret(…)");
    }
}

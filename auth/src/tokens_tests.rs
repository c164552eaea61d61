use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::TimeZone;

use super::*;

const SECRET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCD";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 8, 0, 0).single().expect("valid date")
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(SECRET, Duration::minutes(15))
}

fn issue() -> (String, Uuid, Uuid) {
    let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
    let token = issuer().issue_access(user, "alice", Role::Approver, session, now()).expect("issue");
    assert_eq!(token.expires_in, 900);
    (token.token, user, session)
}

#[test]
fn issued_tokens_verify_with_their_claims() {
    let (token, user, session) = issue();
    let claims = issuer().verify_access(&token, now() + Duration::minutes(14)).expect("valid");
    assert_eq!((claims.sub, claims.sid, claims.role), (user, session, Role::Approver));
    assert_eq!(claims.username, "alice");
    assert_eq!(claims.exp - claims.iat, 900);
}

#[test]
fn tokens_expire_at_exp_without_leeway() {
    let (token, ..) = issue();
    let exp = now() + Duration::minutes(15);
    assert!(issuer().verify_access(&token, exp - Duration::seconds(1)).is_ok());
    assert_eq!(issuer().verify_access(&token, exp), Err(TokenError::Expired));
    assert_eq!(issuer().verify_access(&token, exp + Duration::days(1)), Err(TokenError::Expired));
}

#[test]
fn another_secret_makes_a_forgery() {
    let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
    let forged = TokenIssuer::new(b"a-completely-different-secret-of-40-bytes", Duration::minutes(15))
        .issue_access(user, "alice", Role::Admin, session, now())
        .expect("issue");
    assert_eq!(issuer().verify_access(&forged.token, now()), Err(TokenError::Invalid));
}

#[test]
fn an_expired_forgery_is_invalid_not_expired() {
    let forged = TokenIssuer::new(b"a-completely-different-secret-of-40-bytes", Duration::minutes(1))
        .issue_access(Uuid::new_v4(), "eve", Role::Admin, Uuid::new_v4(), now())
        .expect("issue");
    assert_eq!(issuer().verify_access(&forged.token, now() + Duration::days(1)), Err(TokenError::Invalid));
}

#[test]
fn an_edited_payload_breaks_the_signature() {
    let (token, ..) = issue();
    let parts: Vec<&str> = token.split('.').collect();
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("utf8");
    let promoted = URL_SAFE_NO_PAD.encode(payload.replace("\"approver\"", "\"admin\""));
    let edited = format!("{}.{}.{}", parts[0], promoted, parts[2]);
    assert_eq!(issuer().verify_access(&edited, now()), Err(TokenError::Invalid));
}

#[test]
fn other_algorithms_are_refused() {
    let (token, ..) = issue();
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(issuer().verify_access(&format!("{none_header}.{}.", parts[1]), now()), Err(TokenError::Invalid));

    let claims = issuer().verify_access(&token, now()).expect("valid");
    let hs512 =
        jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(SECRET)).expect("sign");
    assert_eq!(issuer().verify_access(&hs512, now()), Err(TokenError::Invalid));
}

#[test]
fn garbage_is_invalid() {
    for garbage in ["", "abc", "a.b.c", "....", "Bearer x", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"] {
        assert_eq!(issuer().verify_access(garbage, now()), Err(TokenError::Invalid), "{garbage}");
    }
}

#[test]
fn tokens_missing_claims_are_invalid() {
    #[derive(Serialize)]
    struct Partial {
        sub: Uuid,
        exp: i64,
    }
    let partial = Partial { sub: Uuid::new_v4(), exp: now().timestamp() + 60 };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &partial, &EncodingKey::from_secret(SECRET))
        .expect("sign");
    assert_eq!(issuer().verify_access(&token, now()), Err(TokenError::Invalid));
}

#[test]
fn a_remembered_token_still_expires_and_a_forgery_is_never_remembered() {
    let issuer = issuer();
    let (token, user, _) = issue();
    assert_eq!(issuer.verify_access(&token, now()).expect("valid").sub, user);
    // The second answer comes from memory: same claims, and expiry is still enforced.
    assert_eq!(issuer.verify_access(&token, now()).expect("valid").sub, user);
    assert_eq!(issuer.verify_access(&token, now() + Duration::minutes(15)), Err(TokenError::Expired));
    let forged = TokenIssuer::new(b"a-completely-different-secret-of-40-bytes", Duration::minutes(15))
        .issue_access(user, "alice", Role::Admin, Uuid::new_v4(), now())
        .expect("issue");
    for _ in 0..2 {
        assert_eq!(issuer.verify_access(&forged.token, now()), Err(TokenError::Invalid));
    }
}

#[test]
fn mfa_challenges_are_not_access_tokens_and_expire() {
    let issuer = TokenIssuer::new(&[7u8; 32], Duration::minutes(15));
    let now = Utc::now();
    let user = Uuid::from_u128(5);
    let challenge = issuer.issue_mfa_challenge(user, now).unwrap();
    assert_eq!(issuer.verify_mfa_challenge(&challenge, now), Ok(user));
    assert_eq!(issuer.verify_access(&challenge, now), Err(TokenError::Invalid));
    let access = issuer.issue_access(user, "alice", Role::User, Uuid::from_u128(9), now).unwrap();
    assert_eq!(issuer.verify_mfa_challenge(&access.token, now), Err(TokenError::Invalid));
    let later = now + crate::tokens::MFA_CHALLENGE_TTL;
    assert_eq!(issuer.verify_mfa_challenge(&challenge, later), Err(TokenError::Expired));
}

//! Browser sessions and CSRF protection.
//!
//! The session cookie (`rr_session`, HttpOnly, SameSite=Lax, Secure over https) holds the key of
//! a refresh session in the log, started by the same login as the API's. It is not rotated, so
//! the parallel requests of one page cannot trip reuse detection; logout revokes the session in
//! the log, which ends it on every replica.
//!
//! Every state-changing request carries a CSRF token (form field `csrf` or header
//! `X-CSRF-Token`): an HMAC-SHA-256 of the session id, or before login of a random nonce kept in
//! the `rr_anon` cookie (the "signed double-submit" pattern of the OWASP CSRF cheat sheet). A
//! request whose `Origin` names another host is refused as well.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::HttpRequest;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "rr_session";
pub const ANON_COOKIE: &str = "rr_anon";
pub const THEME_COOKIE: &str = "rr_theme";
pub const LANG_COOKIE: &str = "rr_lang";

/// Keys and cookie settings of the web app.
#[derive(Clone)]
pub struct WebKeys {
    csrf_key: [u8; 32],
    /// Mark cookies `Secure` (the public URL is https).
    secure_cookies: bool,
    /// Lifetime of the session cookie (the refresh session's idle lifetime).
    session_days: i64,
}

impl WebKeys {
    /// Derives the CSRF key from the service's secret key, so every replica agrees.
    pub fn new(secret: &[u8], secure_cookies: bool, session_days: i64) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"reserver-web-csrf\0");
        digest.update(secret);
        Self { csrf_key: digest.finalize().into(), secure_cookies, session_days }
    }

    fn sign(&self, subject: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.csrf_key).expect("HMAC takes any key length");
        mac.update(subject.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The CSRF token of a session (by id) or of an anonymous visitor (by nonce).
    pub fn csrf_token(&self, subject: &CsrfSubject) -> String {
        match subject {
            CsrfSubject::Session(id) => self.sign(&format!("session:{id}")),
            CsrfSubject::Anonymous(nonce) => self.sign(&format!("anon:{nonce}")),
        }
    }

    /// Whether `presented` is the token of `subject` (compared in constant time).
    pub fn csrf_valid(&self, subject: &CsrfSubject, presented: &str) -> bool {
        let expected = self.csrf_token(subject);
        expected.len() == presented.len()
            && expected.bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    fn secure(&self, req: &HttpRequest) -> bool {
        self.secure_cookies || req.connection_info().scheme() == "https"
    }

    /// The session cookie holding `token`.
    pub fn session_cookie(&self, req: &HttpRequest, token: String) -> Cookie<'static> {
        self.cookie(req, SESSION_COOKIE, token, true, CookieDuration::days(self.session_days))
    }

    /// A cookie that removes the session cookie.
    pub fn ended_session_cookie(&self, req: &HttpRequest) -> Cookie<'static> {
        self.cookie(req, SESSION_COOKIE, String::new(), true, CookieDuration::ZERO)
    }

    /// The anonymous visitor's CSRF nonce.
    pub fn anon_cookie(&self, req: &HttpRequest, nonce: String) -> Cookie<'static> {
        self.cookie(req, ANON_COOKIE, nonce, true, CookieDuration::days(1))
    }

    /// A preference kept in a cookie for visitors who are not logged in (theme, language).
    pub fn preference_cookie(&self, req: &HttpRequest, name: &'static str, value: &str) -> Cookie<'static> {
        self.cookie(req, name, value.to_string(), false, CookieDuration::days(365))
    }

    fn cookie(
        &self,
        req: &HttpRequest,
        name: &'static str,
        value: String,
        http_only: bool,
        max_age: CookieDuration,
    ) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(http_only)
            .same_site(SameSite::Lax)
            .secure(self.secure(req))
            .max_age(max_age)
            .finish()
    }
}

/// What a CSRF token is bound to.
#[derive(Debug, Clone)]
pub enum CsrfSubject {
    Session(uuid::Uuid),
    Anonymous(String),
}

/// A new random nonce (128 bits, URL-safe base64).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    // The operating system's generator does not fail on the platforms we run on; a failure
    // would leave a predictable nonce, so it is refused loudly instead.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the request's `Origin` (when sent) is this server's own.
pub fn same_origin(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = req.connection_info().host().to_string();
    origin.split_once("://").is_some_and(|(_, rest)| rest.trim_end_matches('/').eq_ignore_ascii_case(&host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_subject() {
        let keys = WebKeys::new(b"secret", false, 30);
        let session = CsrfSubject::Session(uuid::Uuid::nil());
        let token = keys.csrf_token(&session);
        assert!(keys.csrf_valid(&session, &token));
        assert!(!keys.csrf_valid(&CsrfSubject::Anonymous("x".into()), &token));
        assert!(!keys.csrf_valid(&session, ""));
        let other = WebKeys::new(b"other secret", false, 30);
        assert!(!other.csrf_valid(&session, &token));
    }
}

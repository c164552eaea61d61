//! The one rule that keeps secret material out of everything that leaves the service.
//!
//! The log keeps what the write side needs to decide: an account's password hash
//! (`registered`, `password_changed`, `password_reset`), its TOTP secret and the hashes of its
//! backup codes (`mfa_set_up`, `mfa_enabled`, `backup_codes_regenerated`, `backup_code_used`),
//! the hashes of a session's refresh tokens
//! (`session_started`, `session_rotated`, `refresh_token_reuse_detected`), the hash of an OAuth2
//! client's secret (`oauth_client_registered`, `oauth_client_secret_rotated`), and every answer an
//! idempotency record repeats (which embeds those events). None of it may be handed out.
//! Every outward path applies this module: the raw log (`GET /api/v1/events`, exports), the
//! public catalog behind WebSocket frames and webhook bodies ([`crate::public_events`]),
//! reservation histories, and whatever is added later. Webhook signing secrets and
//! calendar-feed tokens never enter the log (they live in `webhook_secrets` and
//! `calendar_feed_tokens`); the rule covers them should a payload ever carry one.
//!
//! The rule: in an event's payload and metadata, at any depth, the value of every field named
//! in [`SECRET_FIELDS`] is replaced by [`REDACTED`], and a `url` field keeps its address but
//! not the password of its user-info part (`https://user:[redacted]@host/…`). A field that
//! holds secret material must be named so that this rule catches it (tests check every
//! secret-bearing event the service writes).
//!
//! A redacted event's `hash` still covers the original payload, so the chain of a redacted
//! export cannot be re-verified offline; `GET /api/v1/events/verify` and `reserver events
//! verify` check the chain where the originals are.

use std::borrow::Cow;

use reserver_store::RecordedEvent;
use serde_json::Value;

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

/// Names of fields whose values are secret material, wherever they appear.
pub const SECRET_FIELDS: &[&str] = &[
    // accounts
    "password",
    "password_hash",
    // refresh sessions
    "token_hash",
    "previous_hash",
    "new_hash",
    "presented_hash",
    "refresh_token",
    "access_token",
    // calendar feeds, webhooks, integrations
    "token",
    "feed_token",
    "secret",
    "client_secret",
    // OAuth2 clients: the SHA-256 of their secret (`oauth_client_registered`, `…_secret_rotated`)
    "secret_hash",
    "signing_secret",
    // multi-factor authentication: the TOTP secret, hashes of backup codes
    "totp_secret",
    "backup_code_hashes",
    "code_hash",
    "backup_codes",
];

/// Replaces, in place, every secret in `value` (see the module rule). Returns whether
/// anything was replaced.
pub fn redact_value(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (key, field) in map.iter_mut() {
                if SECRET_FIELDS.contains(&key.as_str()) {
                    if *field != Value::Null && *field != Value::String(REDACTED.into()) {
                        *field = Value::String(REDACTED.into());
                        changed = true;
                    }
                } else if key == "url" {
                    if let Value::String(url) = field {
                        if let Some(safe) = without_password(url) {
                            *url = safe;
                            changed = true;
                        }
                    }
                } else {
                    changed |= redact_value(field);
                }
            }
            changed
        }
        Value::Array(items) => {
            // Every item, not only up to the first with a secret.
            let mut changed = false;
            for item in items {
                changed |= redact_value(item);
            }
            changed
        }
        _ => false,
    }
}

/// `json` with its secrets redacted; the very same text when it holds none (or is not JSON).
fn redact_json(json: &str) -> Cow<'_, str> {
    let Ok(mut value) = serde_json::from_str::<Value>(json) else { return Cow::Borrowed(json) };
    if redact_value(&mut value) {
        Cow::Owned(value.to_string())
    } else {
        Cow::Borrowed(json)
    }
}

/// An event as it may leave the service: payload and metadata with their secrets redacted.
/// Borrowed, byte for byte as stored, when there is nothing to redact.
pub fn redact_event(event: &RecordedEvent) -> Cow<'_, RecordedEvent> {
    let payload = redact_json(&event.payload);
    let metadata = redact_json(&event.metadata);
    if matches!((&payload, &metadata), (Cow::Borrowed(_), Cow::Borrowed(_))) {
        return Cow::Borrowed(event);
    }
    let mut redacted = event.clone();
    redacted.payload = payload.into_owned();
    redacted.metadata = metadata.into_owned();
    Cow::Owned(redacted)
}

/// `url` with the password of its user-info replaced, when it has one.
fn without_password(url: &str) -> Option<String> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    if &rest[colon + 1..at] == REDACTED {
        return None;
    }
    Some(format!("{}{}:{REDACTED}{}", &url[..authority_start], &rest[..colon], &rest[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    fn recorded(payload: Value) -> RecordedEvent {
        RecordedEvent {
            position: 1,
            event_id: Uuid::nil(),
            stream_id: "user-1".into(),
            stream_version: 1,
            event_type: "registered".into(),
            schema_version: 1,
            payload: payload.to_string(),
            metadata: "{}".into(),
            recorded_at: Utc::now(),
            prev_hash: vec![0; 32],
            hash: vec![1; 32],
        }
    }

    #[test]
    fn every_secret_field_of_every_event_kind_is_redacted() {
        let secret = "s3cr3t-VALUE";
        let cases = [
            json!({"type": "registered", "username": "ann", "password_hash": secret}),
            json!({"type": "password_changed", "password_hash": secret, "by": "x"}),
            json!({"type": "session_started", "token_hash": secret}),
            json!({"type": "session_rotated", "previous_hash": secret, "new_hash": secret}),
            json!({"type": "refresh_token_reuse_detected", "presented_hash": secret}),
            // An idempotency record repeats the events it answered with.
            json!({"fingerprint": "f", "outcome": {"result": "decided",
                   "events": [{"type": "registered", "password_hash": secret}]}}),
            json!({"type": "webhook_created", "url": format!("https://hook:{secret}@example.com/x?y=1")}),
            json!({"type": "oauth_client_registered", "name": "door", "scopes": ["resources:read"],
                   "owner": Uuid::nil(), "secret_hash": secret}),
            json!({"type": "oauth_client_secret_rotated", "secret_hash": secret, "generation": 2}),
            json!({"type": "mfa_set_up", "totp_secret": secret}),
            json!({"type": "mfa_enabled", "step": 1, "backup_code_hashes": [secret, secret]}),
            json!({"type": "backup_codes_regenerated", "backup_code_hashes": [secret]}),
            json!({"type": "backup_code_used", "code_hash": secret}),
            json!({"type": "password_reset", "password_hash": secret, "by": "x"}),
        ];
        for payload in cases {
            let event = recorded(payload.clone());
            let out = redact_event(&event);
            assert!(!out.payload.contains(secret), "{payload} became {}", out.payload);
            assert!(out.payload.contains(REDACTED), "{}", out.payload);
            assert_eq!(out.hash, event.hash, "the envelope is kept");
        }
    }

    #[test]
    fn events_without_secrets_leave_byte_for_byte() {
        // Key order and spacing as stored: no re-serialization.
        let event = RecordedEvent { payload: r#"{"z": 1, "a": "b"}"#.into(), ..recorded(json!({})) };
        assert!(matches!(redact_event(&event), Cow::Borrowed(_)));
        let plain_url = recorded(json!({"url": "https://user@example.com/p:q@r"}));
        assert!(matches!(redact_event(&plain_url), Cow::Borrowed(_)));
    }

    #[test]
    fn urls_keep_their_address() {
        assert_eq!(
            without_password("https://ann:pw@hooks.example.com:8443/a@b").as_deref(),
            Some("https://ann:[redacted]@hooks.example.com:8443/a@b")
        );
        assert_eq!(without_password("https://hooks.example.com/a:b@c"), None);
        assert_eq!(without_password("not a url"), None);
    }
}

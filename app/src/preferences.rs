//! Preferences of an account: a typed, bounded set kept as a stream of its own
//! (`preferences-{user}`), each event the whole set after a merge.

use reserver_store::{AppendRequest, ExpectedVersion, NewEvent};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppError;
use crate::services::Services;

fn preferences_stream(user_id: Uuid) -> String {
    format!("preferences-{user_id}")
}

async fn read_current(services: &Services, stream: &str) -> Result<(u64, Map<String, Value>), AppError> {
    let version = services.store.stream_version(stream).await?;
    let current = match version {
        0 => Map::new(),
        v => services
            .store
            .read_stream(stream, v, 1)
            .await?
            .first()
            .and_then(|e| serde_json::from_str(&e.payload).ok())
            .unwrap_or_default(),
    };
    Ok((version, current))
}

/// The user's preferences (an empty map when none were set).
pub async fn get(services: &Services, user_id: Uuid) -> Result<Map<String, Value>, AppError> {
    Ok(read_current(services, &preferences_stream(user_id)).await?.1)
}

/// Merges `patch` into the user's preferences (`null` clears a key) and returns all of them
/// with the log position of the change. Errors: `Validation` naming an unknown key or a wrong
/// value, `Conflict{concurrent-update}` when another change won the race.
pub async fn merge(
    services: &Services,
    user_id: Uuid,
    patch: Map<String, Value>,
) -> Result<(Map<String, Value>, u64), AppError> {
    check_preferences(&patch)?;
    let stream = preferences_stream(user_id);
    let (version, mut current) = read_current(services, &stream).await?;
    for (key, value) in patch {
        if value.is_null() {
            current.remove(&key);
        } else {
            current.insert(key, value);
        }
    }
    let event = NewEvent::new(Uuid::new_v4(), "preferences_set", Value::Object(current.clone()).to_string());
    let outcome = services
        .store
        .append(AppendRequest::single(&stream, ExpectedVersion::Exact(version), vec![event]))
        .await
        .map_err(|e| match e {
            reserver_store::AppendError::WrongExpectedVersion { .. } => {
                AppError::Conflict { slug: "concurrent-update", detail: "preferences changed meanwhile; retry".into() }
            }
            other => AppError::Storage(other.to_string()),
        })?;
    Ok((current, outcome.last_position()))
}

/// Preferences are a typed, bounded set: every key is one the service knows, with a value of its
/// type. Unknown keys and wrong types are refused naming the key (`null` clears a key).
pub fn check_preferences(patch: &Map<String, Value>) -> Result<(), AppError> {
    let one_of = |key: &str, allowed: &[&str]| -> Result<(), AppError> {
        match patch.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(v)) if allowed.contains(&v.as_str()) => Ok(()),
            Some(_) => Err(AppError::validation(key, format!("expected one of {}", allowed.join(", ")))),
        }
    };
    for key in patch.keys() {
        if !PREFERENCE_KEYS.contains(&key.as_str()) {
            return Err(AppError::validation(
                key,
                format!("not a preference; the preferences are {}", PREFERENCE_KEYS.join(", ")),
            ));
        }
    }
    one_of("language", &["en", "es", "fr"])?;
    one_of("theme", &["light", "dark", "system"])?;
    one_of("time_zone_display", &["resource", "local"])?;
    if let Some(zone) = patch.get("time_zone") {
        let valid =
            zone.is_null() || zone.as_str().is_some_and(|z| z.len() <= 64 && z.parse::<chrono_tz::Tz>().is_ok());
        if !valid {
            return Err(AppError::validation("time_zone", "expected an IANA time zone such as Europe/Paris, or null"));
        }
    }
    if let Some(email) = patch.get("email") {
        let valid = match email {
            Value::Null => true,
            Value::String(e) => {
                let e = e.trim();
                e.len() <= 254 && e.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            }
            _ => false,
        };
        if !valid {
            return Err(AppError::validation("email", "expected an email address like name@example.org, or null"));
        }
    }
    if let Some(flag) = patch.get("email_notifications") {
        if !flag.is_boolean() {
            return Err(AppError::validation("email_notifications", "expected true or false"));
        }
    }
    if let Some(minutes) = patch.get("reminder_minutes") {
        if !minutes.as_i64().is_some_and(|m| (0..=7 * 24 * 60).contains(&m)) {
            return Err(AppError::validation("reminder_minutes", "expected whole minutes from 0 (off) to 10080"));
        }
    }
    Ok(())
}

/// The preferences an account may set.
pub const PREFERENCE_KEYS: [&str; 7] =
    ["email", "email_notifications", "reminder_minutes", "language", "theme", "time_zone", "time_zone_display"];

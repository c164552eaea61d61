//! The `calendar_feed_tokens` table (migration 0005): one secret feed token per user, created
//! on first use and replaced on request. Operational state beside the log, like read marks:
//! the log records only that a token was replaced, never the token.

use chrono::{DateTime, Utc};
use reserver_projections::sql::{execute, fetch_all, Value};
use reserver_projections::ProjectionError;
use reserver_store::Database;
use uuid::Uuid;

use crate::error::AppError;

fn new_token() -> Result<String, AppError> {
    reserver_auth::new_feed_token().map_err(|e| AppError::Internal(e.to_string()))
}

fn db_error(e: sqlx::Error) -> AppError {
    ProjectionError::from(e).into()
}

async fn current(db: &Database, user_id: Uuid) -> Result<Option<String>, AppError> {
    let rows =
        fetch_all(db, "SELECT token FROM calendar_feed_tokens WHERE user_id = $1", &[user_id.to_string().into()])
            .await
            .map_err(db_error)?;
    rows.first().map(|row| row.text(0)).transpose().map_err(db_error)
}

/// The user's token, created now if they have none. Concurrent first calls agree on one.
pub async fn get_or_create(db: &Database, user_id: Uuid, now: DateTime<Utc>) -> Result<String, AppError> {
    if let Some(token) = current(db, user_id).await? {
        return Ok(token);
    }
    execute(
        db,
        "INSERT INTO calendar_feed_tokens (user_id, token, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO NOTHING",
        &[user_id.to_string().into(), new_token()?.into(), Value::Int(now.timestamp_micros())],
    )
    .await
    .map_err(db_error)?;
    current(db, user_id).await?.ok_or_else(|| AppError::Internal("calendar token vanished".into()))
}

/// Replaces the user's token (or creates the first one); the old one stops working at once.
pub async fn replace(db: &Database, user_id: Uuid, now: DateTime<Utc>) -> Result<String, AppError> {
    let token = new_token()?;
    execute(
        db,
        "INSERT INTO calendar_feed_tokens (user_id, token, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at",
        &[user_id.to_string().into(), token.clone().into(), Value::Int(now.timestamp_micros())],
    )
    .await
    .map_err(db_error)?;
    Ok(token)
}

/// The user a token belongs to; `None` for unknown, replaced or malformed tokens.
pub async fn user_of(db: &Database, token: &str) -> Result<Option<Uuid>, AppError> {
    if !reserver_auth::is_feed_token(token) {
        return Ok(None);
    }
    let rows = fetch_all(db, "SELECT user_id FROM calendar_feed_tokens WHERE token = $1", &[token.into()])
        .await
        .map_err(db_error)?;
    let Some(row) = rows.first() else { return Ok(None) };
    let user = row.text(0).map_err(db_error)?;
    Uuid::parse_str(&user).map(Some).map_err(|e| AppError::Internal(format!("calendar token row: {e}")))
}

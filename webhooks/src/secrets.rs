//! Signing secrets, kept in the operational table `webhook_secrets` and never in the log: the
//! current secret and, after a rotation, the previous one with the instant it stops signing.

use chrono::{DateTime, Utc};
use reserver_projections::sql::{execute, fetch_all, Value};
use reserver_store::Database;
use uuid::Uuid;

use crate::error::WebhookError;
use crate::signing::Secret;

/// Stores the first secret of a new subscription.
pub async fn create(
    db: &Database,
    subscription: Uuid,
    secret: &Secret,
    now: DateTime<Utc>,
) -> Result<(), WebhookError> {
    execute(
        db,
        "INSERT INTO webhook_secrets (subscription_id, current_secret, updated_at) VALUES ($1, $2, $3)",
        &[subscription.to_string().into(), secret.encoded().into(), Value::Int(now.timestamp_micros())],
    )
    .await?;
    Ok(())
}

/// Makes `new` the current secret; the current one keeps signing until `previous_until`.
/// Returns false when the subscription has no secret row.
pub async fn rotate(
    db: &Database,
    subscription: Uuid,
    new: &Secret,
    previous_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, WebhookError> {
    let changed = execute(
        db,
        "UPDATE webhook_secrets SET previous_secret = current_secret, previous_expires_at = $2, \
         current_secret = $3, updated_at = $4 WHERE subscription_id = $1",
        &[
            subscription.to_string().into(),
            Value::Int(previous_until.timestamp_micros()),
            new.encoded().into(),
            Value::Int(now.timestamp_micros()),
        ],
    )
    .await?;
    Ok(changed > 0)
}

/// The secrets that sign a message sent at `now`: the current one first, then the previous
/// one while it is still valid. Empty when the subscription has none.
pub async fn signing_secrets(
    db: &Database,
    subscription: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Secret>, WebhookError> {
    let rows = fetch_all(
        db,
        "SELECT current_secret, previous_secret, previous_expires_at FROM webhook_secrets WHERE subscription_id = $1",
        &[subscription.to_string().into()],
    )
    .await?;
    let Some(row) = rows.first() else { return Ok(Vec::new()) };
    let mut secrets = vec![Secret::parse(&row.text(0)?)?];
    if let (Some(previous), Some(until)) = (row.opt_text(1)?, row.opt_int(2)?) {
        if until > now.timestamp_micros() {
            secrets.push(Secret::parse(&previous)?);
        }
    }
    Ok(secrets)
}

/// Forgets a deleted subscription's secrets.
pub async fn delete(db: &Database, subscription: Uuid) -> Result<(), WebhookError> {
    execute(db, "DELETE FROM webhook_secrets WHERE subscription_id = $1", &[subscription.to_string().into()]).await?;
    Ok(())
}

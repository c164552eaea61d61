//! Secrets shared by every replica on one database (`service_secrets`): created once with a
//! random value on first use, then read by everyone. Inserting with `ON CONFLICT DO NOTHING`
//! and reading back the stored row makes the first writer win even when replicas start
//! together, and a restart finds the same value.

use sqlx::Row;

use crate::{sqlite_write_turn, Database, StoreError};

/// Bytes of a shared secret: 512 bits, the block size of HMAC-SHA-256.
pub const SHARED_SECRET_BYTES: usize = 64;

/// Longest secret name.
const MAX_NAME_LEN: usize = 128;

/// The secret called `name`, created with a random value if this database has none yet.
pub(crate) async fn shared_secret(db: &Database, name: &str) -> Result<[u8; SHARED_SECRET_BYTES], StoreError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(StoreError::Invalid(format!("a secret name must be 1..={MAX_NAME_LEN} bytes without NUL")));
    }
    let mut fresh = [0u8; SHARED_SECRET_BYTES];
    getrandom::fill(&mut fresh).map_err(|e| StoreError::Unavailable(format!("no randomness from the system: {e}")))?;
    let stored: Vec<u8> = match db {
        Database::Postgres(pool) => {
            sqlx::query(
                "INSERT INTO service_secrets (name, secret, created_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh.as_slice())
            .execute(pool)
            .await?;
            sqlx::query("SELECT secret FROM service_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
                .try_get("secret")?
        }
        Database::Sqlite(pool) => {
            let existing = sqlx::query("SELECT secret FROM service_secrets WHERE name = ?")
                .bind(name)
                .fetch_optional(pool)
                .await?;
            match existing {
                Some(row) => row.try_get("secret")?,
                None => {
                    let _turn = sqlite_write_turn(pool).await;
                    sqlx::query(
                        "INSERT INTO service_secrets (name, secret, created_at) VALUES (?, ?, ?) \
                         ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(fresh.as_slice())
                    .bind(chrono::Utc::now().timestamp_micros())
                    .execute(pool)
                    .await?;
                    sqlx::query("SELECT secret FROM service_secrets WHERE name = ?")
                        .bind(name)
                        .fetch_one(pool)
                        .await?
                        .try_get("secret")?
                }
            }
        }
    };
    stored.try_into().map_err(|bytes: Vec<u8>| StoreError::CorruptRow {
        position: 0,
        reason: format!("shared secret {name:?} has {} bytes, not {SHARED_SECRET_BYTES}", bytes.len()),
    })
}

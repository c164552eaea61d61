//! Failures of webhook bookkeeping (not of endpoints: those are attempts, recorded as data).

/// Webhook state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event log: {0}")]
    Store(#[from] reserver_store::StoreError),
    #[error("event log append: {0}")]
    Append(#[from] reserver_store::AppendError),
    #[error("{0}")]
    Projection(#[from] reserver_projections::ProjectionError),
    #[error("secret: {0}")]
    Secret(#[from] crate::signing::SecretError),
    #[error("stored webhook data is corrupt: {0}")]
    Corrupt(String),
}

impl From<serde_json::Error> for WebhookError {
    fn from(e: serde_json::Error) -> Self {
        WebhookError::Corrupt(e.to_string())
    }
}

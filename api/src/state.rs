//! What request handlers share: the log, the command pipelines, the read side, auth.

use std::sync::Arc;
use std::time::Duration;

use reserver_auth::{RateLimiter, SessionAggregate, TokenIssuer};
use reserver_commands::{Clock, CommandPipeline, GroupAggregate, ResourceAggregate, UserAggregate};
use reserver_projections::ProjectionHandle;
use reserver_store::{Database, EventStore};

use crate::error::ApiError;

pub struct AppState {
    pub store: Arc<dyn EventStore>,
    pub clock: Arc<dyn Clock>,
    pub resources: CommandPipeline<ResourceAggregate>,
    pub users: CommandPipeline<UserAggregate>,
    pub groups: CommandPipeline<GroupAggregate>,
    pub sessions: CommandPipeline<SessionAggregate>,
    pub projections: ProjectionHandle,
    pub tokens: TokenIssuer,
    pub rate_limits: RateLimiter,
    pub refresh_ttl: chrono::Duration,
    pub setup_reopen_token: Option<String>,
    /// Longest a query waits for the read model to reach a requested position.
    pub read_wait: Duration,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub fn db(&self) -> Database {
        self.store.database()
    }

    /// Read-your-writes: waits (bounded) until every read model has reached `position`.
    pub async fn caught_up(&self, position: Option<u64>) -> Result<(), ApiError> {
        match position {
            Some(p) if p > 0 => {
                self.projections.wait_for(p, self.read_wait).await.map_err(|_| ApiError::NotCaughtUp { position: p })
            }
            _ => Ok(()),
        }
    }
}

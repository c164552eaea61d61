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
    /// Sessions ended by logout or refresh reuse: their access tokens are refused.
    pub revocations: Arc<crate::revocations::Revocations>,
    pub rate_limits: RateLimiter,
    pub refresh_ttl: chrono::Duration,
    pub setup_reopen_token: Option<String>,
    /// Longest a query waits for the read model to reach a requested position.
    pub read_wait: Duration,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Short-lived answers of the hottest reads (bypassed by `min_position`).
    pub read_cache: crate::read_cache::ReadCache,
    /// The log, live, for WebSocket connections.
    pub live_hub: crate::live::LiveHub,
    pub live: crate::live::LiveSettings,
    /// `API_URL`: base of links handed out (calendar feeds); `None` means the request's host.
    pub public_url: Option<String>,
}

impl AppState {
    /// Serves a cacheable read: from the cache when fresh and no position was asked for, else
    /// computed (and cached).
    pub async fn cached<F, Fut>(
        &self,
        key: String,
        min: Option<u64>,
        compute: F,
    ) -> Result<actix_web::HttpResponse, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<serde_json::Value, ApiError>>,
    {
        let flight = self.read_cache.flight(&key);
        let _computing = if min.is_none() {
            if let Some(body) = self.read_cache.get(&key) {
                return Ok(actix_web::HttpResponse::Ok().content_type("application/json").body(body));
            }
            let guard = flight.lock().await;
            // Someone else may have computed it while we waited.
            if let Some(body) = self.read_cache.get(&key) {
                return Ok(actix_web::HttpResponse::Ok().content_type("application/json").body(body));
            }
            Some(guard)
        } else {
            None
        };
        self.caught_up(min).await?;
        let body = actix_web::web::Bytes::from(
            serde_json::to_vec(&compute().await?).map_err(|e| ApiError::Internal(e.to_string()))?,
        );
        self.read_cache.put(key, body.clone());
        Ok(actix_web::HttpResponse::Ok().content_type("application/json").body(body))
    }

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

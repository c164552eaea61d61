//! What only the HTTP API keeps beside the shared [`reserver_app::Services`]: the live hub for
//! WebSocket connections, the metrics recorder, and the short-lived answer cache of the resource
//! list (availability is answered from the in-memory index, uncached).

use reserver_app::{AppError, Services};

use crate::live::{LiveHub, LiveSettings};
use crate::read_cache::ReadCache;

pub struct ApiState {
    /// The log, live, for WebSocket connections.
    pub live_hub: LiveHub,
    pub live: LiveSettings,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Short-lived answers of `GET /resources` (bypassed by `min_position`): the one hot read
    /// still answered from SQL.
    pub read_cache: ReadCache,
    /// Open WebSocket connections per user.
    pub connections: crate::live::socket::ConnectionCounts,
}

impl ApiState {
    pub fn new(live_hub: LiveHub, live: LiveSettings, read_cache_ttl: std::time::Duration) -> Self {
        Self {
            live_hub,
            live,
            metrics: crate::metrics::recorder(),
            read_cache: ReadCache::new(read_cache_ttl, 10_000),
            connections: Default::default(),
        }
    }

    /// Serves a cacheable read: from the cache when fresh and no position was asked for, else
    /// computed (and cached).
    pub async fn cached<F, Fut>(
        &self,
        services: &Services,
        key: String,
        min: Option<u64>,
        compute: F,
    ) -> Result<actix_web::HttpResponse, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<serde_json::Value, AppError>>,
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
        services.caught_up(min).await?;
        let body = actix_web::web::Bytes::from(
            serde_json::to_vec(&compute().await?).map_err(|e| AppError::Internal(e.to_string()))?,
        );
        self.read_cache.put(key, body.clone());
        Ok(actix_web::HttpResponse::Ok().content_type("application/json").body(body))
    }
}

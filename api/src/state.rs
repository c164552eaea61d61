//! What only the HTTP API keeps beside the shared [`reserver_app::Services`]: the live hub for
//! WebSocket connections and the metrics recorder. Nothing is answered from a cache: the
//! resource list and availability come from the in-memory index, always current.

use crate::live::{LiveHub, LiveSettings};

pub struct ApiState {
    /// The log, live, for WebSocket connections.
    pub live_hub: LiveHub,
    pub live: LiveSettings,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Open WebSocket connections per user.
    pub connections: crate::live::socket::ConnectionCounts,
}

impl ApiState {
    pub fn new(live_hub: LiveHub, live: LiveSettings) -> Self {
        Self { live_hub, live, metrics: crate::metrics::recorder(), connections: Default::default() }
    }
}

//! What the request logic of the API and the web app shares: the log, the command pipelines,
//! the read side, and authentication.

use std::sync::Arc;
use std::time::Duration;

use reserver_auth::{RateLimiter, SessionAggregate, TokenIssuer};
use reserver_commands::{Clock, CommandPipeline, GroupAggregate, ResourceAggregate, UserAggregate};
use reserver_projections::ProjectionHandle;
use reserver_store::{Database, EventStore};

use crate::error::AppError;
use crate::revocations::Revocations;

pub struct Services {
    pub store: Arc<dyn EventStore>,
    pub clock: Arc<dyn Clock>,
    pub resources: CommandPipeline<ResourceAggregate>,
    pub users: CommandPipeline<UserAggregate>,
    pub groups: CommandPipeline<GroupAggregate>,
    pub sessions: CommandPipeline<SessionAggregate>,
    pub projections: ProjectionHandle,
    /// Every resource's availability in memory, following the log: free slots, next free,
    /// per-day summaries, schedules and search without a database round trip
    /// (see [`crate::availability`]).
    pub availability: reserver_availability_index::AvailabilityIndex,
    pub tokens: TokenIssuer,
    /// Sessions ended by logout or refresh reuse: their access tokens are refused.
    pub revocations: Arc<Revocations>,
    pub rate_limits: RateLimiter,
    /// Daily request quotas per caller, counted across replicas (see [`crate::quota_meter`]).
    pub quotas: Arc<crate::quota_meter::QuotaMeter>,
    /// Growing delays for failed logins, per name, source and pair (no lockout).
    pub login_throttle: reserver_auth::LoginThrottle,
    pub refresh_ttl: chrono::Duration,
    /// `REFRESH_SESSION_MAX_DAYS`: a session ends this long after login, however often it is
    /// refreshed (the aggregate cuts every expiry to it).
    pub session_max_lifetime: chrono::Duration,
    pub setup_reopen_token: Option<String>,
    /// Longest a query waits for the read model to reach a requested position.
    pub read_wait: Duration,
    /// `API_URL`: base of links handed out (calendar feeds). Without it, a trusted proxy's
    /// forwarded host, else [`Services::bound_origin`].
    pub public_url: Option<String>,
    /// `http://ADDRESS:PORT` the server listens on: links fall back to it.
    pub bound_origin: String,
    /// `TRUSTED_PROXIES`: peers whose forwarding headers name the client.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
}

impl Services {
    /// The base URL of links handed out (no trailing slash): `API_URL`, else the origin a
    /// trusted proxy forwarded, else the bound address.
    pub fn link_base(&self, forwarded_origin: Option<String>) -> String {
        let base = self.public_url.clone().or(forwarded_origin).unwrap_or_else(|| self.bound_origin.clone());
        let base = base.trim().trim_end_matches('/');
        base.strip_suffix("/api/v1").unwrap_or(base).to_string()
    }

    pub fn db(&self) -> Database {
        self.store.database()
    }

    /// Read-your-writes: waits (bounded) until every read model has reached `position`.
    pub async fn caught_up(&self, position: Option<u64>) -> Result<(), AppError> {
        match position {
            Some(p) if p > 0 => {
                self.projections.wait_for(p, self.read_wait).await.map_err(|_| AppError::NotCaughtUp { position: p })
            }
            _ => Ok(()),
        }
    }
}

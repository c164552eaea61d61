//! `GET /ws?token=<JWT>[&from_position=N][&types=a,b][&resource_id=…]`: the log, live, as JSON
//! text frames, filtered by what the caller may see.
//!
//! A connection first replays the log after `from_position` (if given), then follows the hub.
//! It never buffers without bound: the hub's channel holds a fixed number of events per
//! connection and a send to the socket has a deadline; a subscriber that falls behind either is
//! closed with code [`SLOW_CONSUMER`] and a reason naming the position to resume from.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};
use futures::StreamExt;
use reserver_domain::Role;
use reserver_projections::public_events::{publish, PublicEvent};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::authenticate;
use reserver_app::revocations::Refusal;
use reserver_app::AppError;
use reserver_app::Services;

/// Closed because the subscriber fell too far behind; reconnect with `from_position`.
pub const SLOW_CONSUMER: u16 = 4008;
/// Closed because the access token expired; reconnect with a fresh one.
pub const TOKEN_EXPIRED: u16 = 4001;
/// Closed because the client stopped answering pings.
pub const HEARTBEAT_TIMEOUT: u16 = 4002;
/// Close code: the session ended (logout, revocation) or the user's role changed.
pub const SESSION_REVOKED: u16 = 4003;

/// Longest a close frame waits for room in a stalled connection's queue.
const CLOSE_GRACE: Duration = Duration::from_secs(30);
/// Events read from the log per query while catching up.
const CATCH_UP_BATCH: usize = 500;

/// Timing of live connections.
#[derive(Debug, Clone, Copy)]
pub struct LiveSettings {
    /// Events a connection may fall behind the hub before it is closed.
    pub buffer_events: usize,
    /// Interval of server pings; a client silent for two intervals is closed.
    pub heartbeat: Duration,
    /// Longest a single frame may wait for the socket.
    pub send_timeout: Duration,
    /// Open connections one user may hold at once (more are refused with 429).
    pub max_per_user: usize,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            buffer_events: 1024,
            heartbeat: Duration::from_secs(20),
            send_timeout: Duration::from_secs(10),
            max_per_user: 16,
        }
    }
}

/// Open connections per user, so one account cannot hold unbounded sockets (and memory).
#[derive(Default)]
pub struct ConnectionCounts(std::sync::Mutex<std::collections::HashMap<Uuid, usize>>);

/// One counted connection; uncounted when dropped.
pub struct Counted {
    counts: Arc<crate::ApiState>,
    user_id: Uuid,
}

impl ConnectionCounts {
    /// Counts a new connection of `user_id`, or refuses it when the user holds `max` already.
    fn admit(api: &Arc<crate::ApiState>, user_id: Uuid, max: usize) -> Result<Counted, AppError> {
        let mut counts = api.connections.0.lock().unwrap_or_else(|p| p.into_inner());
        let open = counts.entry(user_id).or_default();
        if *open >= max {
            return Err(AppError::TooManyConnections { limit: max });
        }
        *open += 1;
        Ok(Counted { counts: api.clone(), user_id })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut counts = self.counts.connections.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = counts.get_mut(&self.user_id) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.remove(&self.user_id);
            }
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// An access token, for clients that cannot set `Authorization` on the upgrade request.
    token: Option<String>,
    /// Replay the events after this log position before going live.
    from_position: Option<u64>,
    /// Comma-separated event names, socket (`reservation_created`) or dotted form.
    types: Option<String>,
    /// Only events about this resource.
    resource_id: Option<Uuid>,
}

/// What one subscriber may and wants to see.
struct Filter {
    user_id: Uuid,
    role: Role,
    types: Option<Vec<String>>,
    resource_id: Option<Uuid>,
}

impl Filter {
    fn wants(&self, event: &PublicEvent) -> bool {
        if !event.audience.admits(self.user_id, self.role) {
            return false;
        }
        if let Some(types) = &self.types {
            let socket = event.socket_name();
            if !types.iter().any(|t| t == event.name || *t == socket) {
                return false;
            }
        }
        match self.resource_id {
            Some(wanted) => event.data.get("resource_id").and_then(|v| v.as_str()) == Some(&wanted.to_string()),
            None => true,
        }
    }
}

/// Why a connection ended, as a close frame (or none when the socket is gone).
struct Ending(Option<CloseReason>);

impl Ending {
    fn close(code: u16, description: String) -> Self {
        Ending(Some(CloseReason { code: CloseCode::Other(code), description: Some(description) }))
    }
    fn normal() -> Self {
        Ending(Some(CloseReason { code: CloseCode::Normal, description: None }))
    }
    fn gone() -> Self {
        Ending(None)
    }
}

/// Upgrades to a WebSocket that pushes the public events the caller may see.
///
/// Authenticate with `Authorization: Bearer` or `?token=`; the socket closes when the token
/// expires. Frames are JSON events; see docs/api.md.
#[utoipa::path(
    get,
    path = "/ws",
    tag = "live",
    operation_id = "live_events",
    summary = "WebSocket of live events (?token=, from_position=, types=, resource_id=); see docs/api.md",
    params(SocketQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        crate::api_doc::problems::Unauthenticated,
        crate::api_doc::problems::Invalid
    ),
    security((), ("bearer" = []))
)]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SocketQuery>,
    state: web::Data<Services>,
    api: web::Data<crate::ApiState>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let user = authenticate(&req, query.token.as_deref())?;
    let types = query.types.map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect());
    let filter = Filter { user_id: user.user_id, role: user.role, types, resource_id: query.resource_id };
    let (state, api) = (state.into_inner(), api.into_inner());
    let counted = ConnectionCounts::admit(&api, user.user_id, api.live.max_per_user)?;
    let (response, session, messages) =
        actix_ws::handle(&req, body).map_err(|e| AppError::validation("upgrade", e.to_string()))?;
    let (expires_at, session_id, client) = (user.expires_at, user.session_id, user.client.clone());
    actix_web::rt::spawn(async move {
        metrics::gauge!("ws_connections").increment(1.0);
        let connection = Connection { state, session_id, client, api, session, filter, sent_after: 0 };
        connection.run(messages, query.from_position, expires_at).await;
        metrics::gauge!("ws_connections").decrement(1.0);
        drop(counted);
    });
    Ok(response)
}

struct Connection {
    state: Arc<Services>,
    session_id: Uuid,
    /// An OAuth2 client's grant (its token's secret generation and id), if a client connected.
    client: Option<reserver_app::ClientGrant>,
    api: Arc<crate::ApiState>,
    session: Session,
    filter: Filter,
    /// The last log position this connection has dealt with (sent or filtered out).
    sent_after: u64,
}

impl Connection {
    async fn run(mut self, mut messages: MessageStream, from: Option<u64>, expires_at: i64) {
        let settings = self.api.live;
        let mut feed = self.api.live_hub.feed();
        let ending = async {
            self.sent_after = from.unwrap_or(feed.live_after);
            let hello = json!({
                "type": "connected",
                "user_id": self.filter.user_id,
                "role": self.filter.role,
                "from_position": self.sent_after,
                "head": feed.live_after,
            });
            if let Err(ending) = self.send(hello.to_string()).await {
                return ending;
            }
            if let Err(ending) = self.catch_up(feed.live_after).await {
                return ending;
            }
            let mut revoked = self.state.revocations.changes();
            let mut heartbeat = tokio::time::interval(settings.heartbeat);
            heartbeat.tick().await;
            let mut last_heard = Instant::now();
            let expiry = expiry_sleep(expires_at);
            tokio::pin!(expiry);
            loop {
                tokio::select! {
                    received = feed.receiver.recv() => match received {
                        Ok(event) => {
                            if let Err(ending) = self.forward(&event).await {
                                return ending;
                            }
                        }
                        Err(RecvError::Lagged(missed)) => {
                            return self.slow(format!("fell {missed} events behind"));
                        }
                        Err(RecvError::Closed) => return Ending::close(1012, "service restarting".into()),
                    },
                    message = messages.next() => match message {
                        Some(Ok(Message::Ping(bytes))) => {
                            last_heard = Instant::now();
                            if self.session.pong(&bytes).await.is_err() {
                                return Ending::gone();
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ending::normal(),
                        Some(Ok(_)) => last_heard = Instant::now(),
                    },
                    _ = heartbeat.tick() => {
                        if last_heard.elapsed() > settings.heartbeat * 2 {
                            return Ending::close(HEARTBEAT_TIMEOUT, "no answer to pings".into());
                        }
                        if self.session.ping(b"").await.is_err() {
                            return Ending::gone();
                        }
                    }
                    Ok(()) = revoked.changed() => {
                        let refusal = match &self.client {
                            Some(grant) => self.state.revocations.client_refusal(self.filter.user_id, grant.generation, grant.token_id),
                            None => self.state.revocations.refusal(self.filter.user_id, self.session_id, self.filter.role),
                        };
                        if let Some(refusal) = refusal {
                            return Ending::close(SESSION_REVOKED, match refusal {
                                Refusal::SessionEnded => "the session has ended; log in again".into(),
                                Refusal::RoleChanged => "your role has changed; reconnect with a new token".into(),
                                Refusal::ClientDisabled | Refusal::SecretRotated | Refusal::TokenRevoked => {
                                    "this access token no longer works".into()
                                }
                            });
                        }
                    }
                    _ = &mut expiry => {
                        return Ending::close(TOKEN_EXPIRED, "access token expired; reconnect with a new one".into());
                    }
                }
            }
        }
        .await;
        if let Some(reason) = ending.0 {
            // A client that stopped reading has a full queue: the close frame waits (bounded,
            // nothing else is buffered meanwhile) until it reads again, or the connection is
            // dropped without one.
            let _ = tokio::time::timeout(CLOSE_GRACE, self.session.close(Some(reason))).await;
        }
    }

    /// Replays the log after `sent_after` up to `until` (where the live feed takes over).
    async fn catch_up(&mut self, until: u64) -> Result<(), Ending> {
        while self.sent_after < until {
            let events = match self.state.store.read_all(self.sent_after, CATCH_UP_BATCH).await {
                Ok(events) => events,
                Err(error) => return Err(Ending::close(1011, format!("could not read the log: {error}"))),
            };
            if events.is_empty() {
                break;
            }
            for event in events {
                let position = event.position;
                if let Some(public) = publish(&event) {
                    self.forward(&public).await?;
                }
                self.sent_after = position;
            }
        }
        Ok(())
    }

    /// Sends an event the subscriber may see and has not had yet.
    async fn forward(&mut self, event: &PublicEvent) -> Result<(), Ending> {
        if event.position <= self.sent_after {
            return Ok(());
        }
        if !self.filter.wants(event) {
            self.sent_after = event.position;
            return Ok(());
        }
        let frame = json!({
            "type": event.socket_name(),
            "event": event.name,
            "position": event.position,
            "event_id": event.event_id,
            "timestamp": event.occurred_at,
            "data": event.data,
        });
        self.send(frame.to_string()).await?;
        // Only now: a connection cut while sending names this event as still to come.
        self.sent_after = event.position;
        Ok(())
    }

    async fn send(&mut self, text: String) -> Result<(), Ending> {
        match tokio::time::timeout(self.api.live.send_timeout, self.session.text(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ending::gone()),
            Err(_) => Err(self.slow("the socket did not take a frame in time".into())),
        }
    }

    fn slow(&self, why: String) -> Ending {
        metrics::counter!("ws_slow_consumers_closed").increment(1);
        // Close reasons are limited to 123 bytes; this stays well below.
        Ending::close(SLOW_CONSUMER, format!("slow consumer: {why}; resume with from_position={}", self.sent_after))
    }
}

async fn expiry_sleep(expires_at: i64) {
    let left = expires_at - chrono::Utc::now().timestamp();
    tokio::time::sleep(Duration::from_secs(left.max(0) as u64)).await;
}

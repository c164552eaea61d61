//! Startup, shared by `main` and the tests: open the store, start the read side, the command
//! pipelines and the deadline scheduler, then bind one HTTP server that mounts the API and the
//! web app.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use anyhow::Context;
use reserver_api::ApiState;
use reserver_app::quota_meter::QuotaMeter;
use reserver_app::revocations::Revocations;
use reserver_app::Services;
use reserver_auth::{RateLimiter, SecretKey, TokenIssuer};
use reserver_availability_index::{AvailabilityIndex, IndexConfig};
use reserver_commands::{scheduler, Clock, CommandPipeline, PipelineConfig, SystemClock};
use reserver_projections::ProjectionRuntime;
use reserver_store::{EventStore, StoreConfig};

use crate::config::Settings;

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    store: Arc<dyn EventStore>,
    background: Vec<tokio::task::JoinHandle<()>>,
    webhooks: reserver_webhooks::WebhookService,
}

impl Application {
    /// Opens (and migrates) the database, starts the background work and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let configured = settings.secret_key.as_deref().filter(|k| !k.trim().is_empty());
        // A configured key is checked before anything else starts (production refuses weak ones).
        let explicit = match configured {
            Some(_) => Some(SecretKey::from_env_value(configured, settings.production).context("SECRET_KEY")?),
            None if settings.production => Some(SecretKey::from_env_value(None, true).context("SECRET_KEY")?),
            None => None,
        };
        let store = reserver_store::open(&StoreConfig::new(&settings.database_url))
            .await
            .with_context(|| format!("opening the event store at {}", settings.database_url))?;
        // Without SECRET_KEY every replica uses the one key the database generated and keeps, so
        // tokens work on all of them and survive restarts.
        let secret = match explicit {
            Some(key) => key,
            None => SecretKey::generated(
                &store.shared_secret("token-signing").await.context("reading the shared signing key")?,
            ),
        };
        if let Some(warning) = secret.warning() {
            tracing::warn!("{warning}");
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let pipeline = |store: &Arc<dyn EventStore>| (store.clone(), clock.clone(), PipelineConfig::default());
        let resources = {
            let (s, c, p) = pipeline(&store);
            CommandPipeline::new(s, c, p)
        };
        let projections = ProjectionRuntime::start(store.clone()).await.context("starting the projectors")?;
        // Every availability question is answered from memory: build the index from the log
        // now (ready before the server binds), then follow the live tail.
        let availability = AvailabilityIndex::start(store.clone(), IndexConfig::default())
            .await
            .context("building the availability index")?;
        let (startup, stats) = (availability.startup(), availability.stats());
        tracing::info!(
            events = startup.events,
            position = startup.position,
            resources = stats.resources,
            reservations = stats.reservations,
            elapsed_ms = startup.elapsed.as_millis() as u64,
            "availability index built from the log; following it"
        );
        let access_lifetime = chrono::Duration::minutes(settings.access_token_minutes);
        let revocations = Arc::new(Revocations::new(access_lifetime));
        let quota_clock = settings.quota_clock.as_ref().map_or_else(|| clock.clone(), |c| c.0.clone());
        let quotas = Arc::new(QuotaMeter::new(settings.quotas, store.clone(), quota_clock));
        let (live_hub, live_tail) = reserver_api::live::LiveHub::start(
            store.clone(),
            settings.live.buffer_events,
            revocations.clone(),
            quotas.clone(),
        )
        .await
        .context("starting the live hub")?;
        revocations.load(store.as_ref()).await.context("loading ended sessions")?;
        quotas.load(store.as_ref()).await.context("loading API quota overrides")?;
        let mut background = vec![scheduler::spawn(resources.clone()), live_tail, quotas.clone().spawn_flusher()];
        background.extend(
            reserver_mailer::spawn(store.clone(), settings.mail.clone(), chrono::Utc::now)
                .await
                .context("starting reminders and email")?,
        );
        let webhooks = reserver_webhooks::WebhookService::start(store.clone(), settings.webhooks.clone())
            .await
            .context("starting webhook delivery")?;
        let webhooks_data = web::Data::new(webhooks.clone());
        let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let bound = listener.local_addr()?;
        let services = web::Data::new(Services {
            store: store.clone(),
            clock: clock.clone(),
            users: CommandPipeline::new(store.clone(), clock.clone(), PipelineConfig::default()),
            groups: CommandPipeline::new(store.clone(), clock.clone(), PipelineConfig::default()),
            sessions: CommandPipeline::new(store.clone(), clock.clone(), PipelineConfig::default()),
            resources,
            projections,
            availability,
            tokens: TokenIssuer::new(secret.as_bytes(), access_lifetime),
            revocations,
            rate_limits: RateLimiter::new(settings.rate_limits),
            quotas,
            login_throttle: reserver_auth::LoginThrottle::new(reserver_auth::LoginThrottleConfig::default()),
            refresh_ttl: chrono::Duration::days(settings.refresh_token_days),
            session_max_lifetime: chrono::Duration::days(settings.refresh_session_max_days),
            setup_reopen_token: settings.setup_reopen_token.clone(),
            read_wait: Duration::from_secs(2),
            public_url: settings.public_url.clone(),
            bound_origin: bound_origin(bound),
            trusted_proxies: settings.trusted_proxies.clone(),
        });
        background.push(tokio::spawn(reserver_app::admin_accounts::follow_unlocks(services.clone().into_inner())));
        let web_keys = web::Data::new(reserver_web::WebKeys::new(
            secret.as_bytes(),
            settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
            settings.refresh_token_days,
        ));
        let api_state = web::Data::new(ApiState::new(live_hub, settings.live));
        let port = bound.port();
        let body_limit = settings.max_body_bytes;
        let cors_origins = settings.cors_origins.clone();
        let access_log = reserver_api::access_log::enabled();
        let mut server = HttpServer::new(move || {
            let mut cors = actix_cors::Cors::default()
                .allow_any_method()
                .allow_any_header()
                .expose_headers([
                    "X-Log-Position",
                    "ETag",
                    "Retry-After",
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                    "RateLimit-Policy",
                    "X-Request-Id",
                ])
                .max_age(3600);
            for origin in &cors_origins {
                cors = cors.allowed_origin(origin);
            }
            App::new()
                .app_data(services.clone())
                .app_data(api_state.clone())
                .app_data(webhooks_data.clone())
                .app_data(web_keys.clone())
                .configure(|cfg| reserver_api::extractor_configs(cfg, body_limit))
                .wrap(middleware::from_fn(reserver_api::rate_limit::limit))
                .wrap(middleware::from_fn(reserver_api::metrics::track))
                .wrap(cors)
                .wrap(middleware::from_fn(reserver_api::boundary::guard))
                .wrap(middleware::Condition::new(access_log, reserver_api::access_log::logger()))
                .wrap(middleware::from_fn(reserver_api::request_id::request_id))
                .configure(reserver_api::configure)
                .configure(reserver_web::configure)
                .default_service(web::to(reserver_api::not_found))
        })
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        Ok(Self { port, server: server.run(), store, background, webhooks })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }

    /// Stops the server from elsewhere (the load benchmark, before it drops its database).
    pub fn stop_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in self.background {
            task.abort();
        }
        self.webhooks.shutdown().await;
        result
    }
}

/// `http://ADDRESS:PORT` of the listener. An unspecified address (`0.0.0.0`, `::`) is not one a
/// client can use, so links then name the loopback address: set `API_URL` in such deployments.
fn bound_origin(bound: std::net::SocketAddr) -> String {
    let mut address = bound;
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{address}")
}

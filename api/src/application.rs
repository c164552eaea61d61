//! Startup, shared by `main` and the tests: open the store, bind, build the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use anyhow::Context;
use reserver_store::{EventStore, StoreConfig};

use crate::config::Settings;
use crate::routes;

/// What request handlers share.
pub struct AppState {
    pub store: Arc<dyn EventStore>,
}

/// A built, bound, not yet running service.
pub struct Application {
    port: u16,
    server: Server,
    store: Arc<dyn EventStore>,
}

impl Application {
    /// Opens (and migrates) the database and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = reserver_store::open(&StoreConfig::new(&settings.database_url))
            .await
            .with_context(|| format!("opening the event store at {}", settings.database_url))?;
        let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { store: store.clone() });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(middleware::Logger::new(r#"%a "%r" %s %b %Dms"#))
                .configure(routes::configure)
        })
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        Ok(Self { port, server: server.run(), store })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> Arc<dyn EventStore> {
        self.store.clone()
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

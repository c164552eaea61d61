//! The service of Resource Reserver: the composition root that opens the event log and serves
//! the HTTP API (actix-web), plus the `reserver` command line (serve, migrate, events verify,
//! bench). Everything below this crate is independent of actix.

mod api_doc;
pub mod application;
mod bench;
mod bench_http;
mod calendar;
pub mod cli;
pub mod config;
mod error;
mod extract;
pub mod live;
mod metrics;
mod openapi;
mod outward_args;
mod problem;
mod rate_limit;
mod read_cache;
mod revocations;
mod routes;
mod state;
mod telemetry;
mod webhook_args;

pub use application::Application;
pub use config::Settings;

/// Installs the TLS crypto provider every HTTP client in the process needs (call before building one).
pub use reserver_webhooks::sender::install_crypto_provider;

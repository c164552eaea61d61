//! The service of Resource Reserver: the composition root that opens the event log and serves
//! the HTTP API (actix-web), plus the `reserver` command line (serve, migrate, events verify,
//! bench). Everything below this crate is independent of actix.

mod api_doc;
pub mod application;
mod bench;
mod bench_http;
pub mod cli;
pub mod config;
mod error;
mod extract;
mod metrics;
mod openapi;
mod problem;
mod rate_limit;
mod read_cache;
mod routes;
mod state;
mod telemetry;

pub use application::Application;
pub use config::Settings;

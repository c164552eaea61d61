//! The service of Resource Reserver: the composition root that opens the event log and serves
//! the HTTP API (actix-web), plus the `reserver` command line (serve, migrate, events verify,
//! bench). Everything below this crate is independent of actix.

pub mod application;
mod bench;
pub mod cli;
pub mod config;
mod problem;
mod routes;
mod telemetry;

pub use application::Application;
pub use config::Settings;

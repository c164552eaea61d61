//! Resource Reserver's composition root and command line: settings from flags and the
//! environment ([`config`]), startup shared by `main` and the tests ([`Application`]), and the
//! `reserver` command line ([`cli`]): server commands, and client commands that call only
//! the public REST API through `reserver-client`. The HTTP API (`reserver-api`) is mounted here.

pub mod application;
pub mod cli;
pub mod config;
mod telemetry;

pub use application::Application;
pub use config::Settings;

/// Installs the TLS crypto provider every HTTP client in the process needs (call before building one).
pub use reserver_client::install_crypto_provider;

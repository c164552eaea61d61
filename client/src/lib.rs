//! A typed async client of Resource Reserver's public REST API (`/api/v1`, JSON, RFC 9457
//! problems) and its live WebSocket (`/ws`).
//!
//! It knows the service only from the outside, as any integration would: the same paths and
//! bodies as docs/api.md and `/openapi.json`. Errors come back as [`Error`], a server refusal as
//! a typed [`Problem`]. A [`Client`] logged in with a [`Session`] refreshes its access token
//! with the refresh token (once, under a lock, so a rotated token is never presented twice) and
//! hands every new pair to the [`Client::on_session`] callback to be stored.
//!
//! ```no_run
//! # async fn demo() -> Result<(), reserver_client::Error> {
//! reserver_client::install_crypto_provider();
//! let client = reserver_client::Client::new("http://127.0.0.1:8000")?;
//! let session = client.login("admin", "Str0ng-Passw0rd!").await?.into_session()?;
//! let client = client.with_session(session);
//! let page = client.resources(&Default::default()).await?;
//! println!("{} resources", page.data.len());
//! # Ok(()) }
//! ```

mod accounts;
mod admin;
mod bookings;
mod error;
mod http;
pub mod live;
mod resources;
mod wire;

pub use accounts::*;
pub use admin::*;
pub use bookings::*;
pub use error::{Error, FieldError, Problem};
pub use http::{Client, Session, SessionStore, TokenPair};
pub use resources::*;
pub use wire::*;

/// Installs the TLS crypto provider (ring) that HTTPS and WSS connections of this process use.
/// Call once before the first [`Client`] is built; later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

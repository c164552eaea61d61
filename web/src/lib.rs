//! The web app of Resource Reserver, served by the same binary at `/` (the API stays under
//! `/api/v1`). Pages are rendered on the server from askama templates; htmx swaps fragments
//! for forms, filters and the schedule grid; `assets/app.js` adds only what htmx cannot do
//! (live updates from `/ws`, the theme toggle, the service worker).
//!
//! Every page calls the same request logic as the API (`reserver-app`) and reads the same read
//! models. A browser session is an HttpOnly cookie holding the key of a refresh session in the
//! log ([`session`]), so logout and revocation behave as they do for API clients; every
//! state-changing form carries a CSRF token bound to that session.

mod assets;
mod errors;
mod format;
mod i18n;
mod page;
mod pages;
mod session;

use actix_web::web;

pub use i18n::{Lang, LOCALE_NAMES};
pub use session::WebKeys;

/// Mounts the web app's routes at the root. Needs `web::Data<Services>` and
/// `web::Data<WebKeys>` in the app data.
pub fn configure(cfg: &mut web::ServiceConfig) {
    assets::configure(cfg);
    pages::configure(cfg);
}

/// Paths the web app serves, for the server's own route table (`/` and the pages below it).
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/ws" || path == "/metrics" || path.starts_with("/health"))
}

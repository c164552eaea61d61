//! The OpenAPI 3.1 document, generated from the code: every handler carries a
//! `#[utoipa::path]` annotation, each route module lists its handlers next to its route table
//! (`routes::*::Api`), and request and response bodies derive `ToSchema`. A test requests every
//! documented operation and fails if the router does not know it, so the document and the
//! route table cannot drift apart silently.

pub mod params;
pub mod problems;
pub mod read_models;
pub mod schemas;

use std::sync::OnceLock;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use problems::{
    BookingConflict, ConflictProblem, FieldError, Forbidden, Invalid, Lagging, NotFound, PreconditionFailed, Problem,
    RateLimited, StateConflict, Unauthenticated,
};

/// The name operations use to ask for a bearer token: `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

/// Info, tags, the security scheme and the shared problem responses; the operations come from
/// the route modules ([`crate::routes::openapi`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Resource Reserver",
        version = env!("CARGO_PKG_VERSION"),
        description = "Book rooms, desks, equipment and labs without double-booking. Commands answer \
                       X-Log-Position; pass it as X-Min-Position to read your own writes.",
    ),
    modifiers(&BearerScheme),
    components(
        schemas(Problem, ConflictProblem, FieldError),
        responses(
            Unauthenticated,
            Forbidden,
            NotFound,
            StateConflict,
            BookingConflict,
            PreconditionFailed,
            Invalid,
            RateLimited,
            Lagging
        ),
    ),
    tags(
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "live", description = "Live events over a WebSocket"),
        (name = "setup", description = "The first administrator"),
        (name = "auth", description = "Accounts, tokens and sessions"),
        (name = "resources", description = "The catalog of bookable things"),
        (name = "availability", description = "Business hours, blackouts and free slots"),
        (name = "reservations", description = "Booking, cancelling and checking in"),
        (name = "waitlist", description = "Waiting for a slot and answering offers"),
        (name = "approvals", description = "Requests that wait for an approver"),
        (name = "groups", description = "The tree resources are organised in"),
        (name = "notifications", description = "Messages to the caller"),
        (name = "analytics", description = "Utilization and popularity"),
        (name = "audit", description = "The audit trail and the event log"),
        (name = "webhooks", description = "Signed outbound event deliveries"),
        (name = "calendar", description = "Reservations as iCalendar"),
        (name = "oauth", description = "OAuth2 clients for integrations (client credentials)"),
        (name = "quotas", description = "Daily API usage quotas per tier, usage and overrides"),
    )
)]
struct ApiDoc;

/// Registers the bearer scheme the operations refer to (the derive has no syntax for it).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some("An access token from POST /api/v1/token or /api/v1/token/refresh"))
            .build();
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
        }
    }
}

/// The whole document: shared parts plus every route module's operations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().merge_from(crate::routes::openapi())
}

/// The document as served, built once: it only changes with the code.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| openapi().to_json().unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#)))
}

#[cfg(test)]
mod mirror_tests;
#[cfg(test)]
mod tests;

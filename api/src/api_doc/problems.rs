//! RFC 9457 problem bodies and the error responses operations share. Each response is a
//! reusable component (`#/components/responses/...`); an operation lists the ones it can
//! answer, e.g. `responses((status = 200, ...), Unauthenticated, NotFound, RateLimited)`.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type};
use utoipa::{IntoResponses, ToResponse, ToSchema};

use super::schemas::{ConflictingInterval, OccurrenceReport, TimeRange};

const PROBLEM_JSON: &str = "application/problem+json";

/// An error (RFC 9457 problem details). `type` is a stable URI per kind of failure
/// (`https://reserver.dev/problems/<slug>`); further members depend on it.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// Stable URI naming the failure, e.g. `https://reserver.dev/problems/validation-error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this instance, for people.
    pub detail: Option<String>,
    /// Booking-rule refusals: the rule's stable code (`outside_business_hours`, …).
    pub code: Option<String>,
    /// `422 validation-error`: every invalid field.
    pub errors: Option<Vec<FieldError>>,
    /// `412 precondition-failed`: the ETag to send as `If-Match` after reloading.
    pub current_etag: Option<String>,
    /// `429 rate-limited`, `429 login-throttled` and `429 api-quota-exceeded`: seconds until a
    /// retry can succeed (also in `Retry-After`).
    pub retry_after: Option<u64>,
    /// `429 too-many-connections`: live connections one user may hold; `429 api-quota-exceeded`:
    /// requests per UTC day.
    pub limit: Option<u64>,
    /// `429 api-quota-exceeded`: the next UTC midnight, when the daily count starts again.
    pub resets_at: Option<String>,
    /// `413 payload-too-large`: the largest body accepted, in bytes.
    pub limit_bytes: Option<u64>,
    /// `415 unsupported-media-type`: the media types the route reads.
    pub accepted: Option<String>,
    /// Booking-rule refusals other than conflicts: the rule's data (limits, earliest start, …).
    pub rule: Option<serde_json::Map<String, serde_json::Value>>,
    /// `409 series-not-bookable`: the outcome of every occurrence of an all-or-nothing series.
    pub occurrences: Option<Vec<OccurrenceReport>>,
}

/// One invalid field of a request.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// `409 conflict`: the slot collides with existing reservations; `next_free_slots` suggests
/// bookable slots of the same length.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ConflictProblem {
    /// `https://reserver.dev/problems/conflict`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: Option<String>,
    /// `conflict`.
    pub code: String,
    /// The reservations in the way.
    pub conflicts: Vec<ConflictingInterval>,
    /// The next bookable slots of the requested length.
    pub next_free_slots: Vec<TimeRange>,
}

fn problem_response(description: &str, schema: RefOr<Schema>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(schema)).build())
}

/// A plain problem.
fn plain(description: &str) -> ResponseBuilder {
    problem_response(description, Ref::from_schema_name("Problem").into())
}

/// A booking conflict carries the conflicts; other 409s of a booking (maintenance, retired,
/// quota) are plain problems.
fn booking(description: &str) -> ResponseBuilder {
    let schema =
        OneOfBuilder::new().item(Ref::from_schema_name("ConflictProblem")).item(Ref::from_schema_name("Problem"));
    problem_response(description, schema.into())
}

/// A refusal by the rate limiter, with the headers that say when to retry.
fn rate_limited(description: &str) -> ResponseBuilder {
    let integer = || ObjectBuilder::new().schema_type(Type::Integer).build();
    plain(description)
        .header(
            "Retry-After",
            HeaderBuilder::new().schema(integer()).description(Some("Seconds until a retry can succeed")).build(),
        )
        .header(
            "RateLimit-Limit",
            HeaderBuilder::new()
                .schema(integer())
                .description(Some("Requests allowed in the window that ran out"))
                .build(),
        )
        .header(
            "RateLimit-Remaining",
            HeaderBuilder::new().schema(integer()).description(Some("Requests left in the window (0)")).build(),
        )
        .header(
            "RateLimit-Reset",
            HeaderBuilder::new().schema(integer()).description(Some("Seconds until the window resets")).build(),
        )
        .header(
            "RateLimit-Policy",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String).build())
                .description(Some(
                    "Every window that applies, e.g. `600;w=60, 10000;w=86400` (per minute, per UTC day)",
                ))
                .build(),
        )
}

/// A problem response: a reusable component, and the entry an operation's `responses(...)` gets.
macro_rules! problem_responses {
    ($($name:ident = $status:literal, $build:ident, $description:literal;)*) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), $build($description).build().into())
            }
        }

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([($status.to_string(), Ref::from_response_name(stringify!($name)).into())])
            }
        }
    )*};
}

problem_responses! {
    Unauthenticated = 401, plain, "Missing, invalid or expired bearer token, or an ended session";
    Forbidden = 403, plain, "The caller's role does not allow this";
    NotFound = 404, plain, "No such thing, or not the caller's to see";
    StateConflict = 409, plain, "The current state does not allow this (e.g. already taken, retired, not pending)";
    BookingConflict = 409, booking, "The slot is taken (with the conflicts and the next free slots), \
        or the resource does not accept it in its current state (`code` says which)";
    PreconditionFailed = 412, plain, "If-Match names an outdated version; reload and retry with `current_etag`";
    Invalid = 422, plain, "Malformed path, query or body, or refused by a booking rule; `errors` names the fields";
    RateLimited = 429, rate_limited, "Per-minute rate limit (`rate-limited`) or daily API quota (`api-quota-exceeded`) \
        reached; retry after `Retry-After` seconds";
    Lagging = 503, plain, "The read model did not reach X-Min-Position in time, or the database is unreachable";
}

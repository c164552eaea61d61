//! The waitlist: joining and leaving, the queues, and answering the offers made when a slot
//! frees up.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::Role;
use reserver_projections::reservations::{self as rm};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{request_info, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, written};
use reserver_app::waitlist;
use reserver_app::Services;

#[derive(OpenApi)]
#[openapi(paths(my_waitlist, join, leave, accept_offer, decline_offer, resource_waitlist))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/waitlist").route(web::get().to(my_waitlist)).route(web::post().to(join)))
        .route("/waitlist/{id}", web::delete().to(leave))
        .route("/waitlist/{id}/accept", web::post().to(accept_offer))
        .route("/waitlist/{id}/decline", web::post().to(decline_offer))
        .route("/resources/{id}/waitlist", web::get().to(resource_waitlist));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct WaitlistJoin {
    resource_id: Uuid,
    /// RFC 3339 with an offset.
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    desired_start: String,
    #[schema(value_type = chrono::DateTime<chrono::Utc>)]
    desired_end: String,
    /// How far the slot may move either way to be offered, up to a week (default 0).
    #[serde(default)]
    flexible_minutes: u32,
}

/// A waitlist entry as joined.
#[derive(Serialize, ToSchema)]
struct WaitlistJoined {
    id: Uuid,
    resource_id: Uuid,
    desired_start: chrono::DateTime<chrono::Utc>,
    desired_end: chrono::DateTime<chrono::Utc>,
    flexible_minutes: u32,
    /// The slot was free: an offer was made right away (see the notifications).
    offered: bool,
}

/// Waits for a slot.
///
/// When the slot frees up, the first in line gets an offer: a reservation in status `offered`
/// that holds the slot until it is accepted, declined or expires.
#[utoipa::path(
    post,
    path = "/api/v1/waitlist",
    tag = "waitlist",
    operation_id = "join_waitlist",
    summary = "Join a waitlist",
    params(IdempotencyKey),
    request_body = WaitlistJoin,
    responses(
        (status = 201, description = "The entry", body = WaitlistJoined),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn join(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: WaitlistJoin = json_body(&body)?;
    let desired = (instant("desired_start", &input.desired_start)?, instant("desired_end", &input.desired_end)?);
    let joined =
        waitlist::join(&state, &request_info(&req), &user, input.resource_id, desired, input.flexible_minutes, &body)
            .await?;
    Ok(written(
        StatusCode::CREATED,
        joined.position,
        WaitlistJoined {
            id: joined.entry_id,
            resource_id: joined.resource_id,
            desired_start: joined.desired.start(),
            desired_end: joined.desired.end(),
            flexible_minutes: joined.flexible_minutes,
            offered: joined.offered,
        },
    ))
}

/// One of the caller's waitlist entries and its place in line.
#[derive(Serialize, ToSchema)]
struct MyWaitlistEntry {
    #[schema(value_type = read_models::WaitlistEntry)]
    entry: rm::WaitlistView,
    /// 1 = next in line.
    position: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/v1/waitlist",
    tag = "waitlist",
    operation_id = "my_waitlist",
    summary = "The caller's waitlist entries with positions",
    params(MinPosition),
    responses(
        (status = 200, description = "The caller's entries", body = Vec<MyWaitlistEntry>),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn my_waitlist(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let out: Vec<MyWaitlistEntry> = waitlist::my_entries(&state, user.user_id)
        .await?
        .into_iter()
        .map(|(entry, position)| MyWaitlistEntry { entry, position })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/resources/{id}/waitlist",
    tag = "waitlist",
    operation_id = "resource_waitlist",
    summary = "A resource's waitlist in FIFO order",
    params(("id" = Uuid, Path, description = "The resource"), MinPosition),
    responses(
        (status = 200, description = "The queue, first in line first", body = Vec<read_models::WaitlistEntry>),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn resource_waitlist(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver, Role::Auditor])?;
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(rm::waitlist_for_resource(&state.db(), id.into_inner()).await?))
}

#[derive(Serialize, ToSchema)]
struct WaitlistLeft {
    id: Uuid,
    left: bool,
}

#[utoipa::path(
    delete,
    path = "/api/v1/waitlist/{id}",
    tag = "waitlist",
    operation_id = "leave_waitlist",
    summary = "Leave a waitlist",
    params(("id" = Uuid, Path, description = "The caller's waitlist entry")),
    responses(
        (status = 200, description = "Left", body = WaitlistLeft),
        Unauthenticated, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn leave(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let entry_id = id.into_inner();
    let position = waitlist::leave(&state, &request_info(&req), &user, entry_id).await?;
    Ok(written(StatusCode::OK, position, WaitlistLeft { id: entry_id, left: true }))
}

/// The answer to a waitlist offer.
#[derive(Serialize, ToSchema)]
struct OfferAnswered {
    reservation_id: Uuid,
    /// `confirmed`, `pending_approval` (accepted on a resource requiring approval: it awaits
    /// an approver like any booking there) or `declined`.
    status: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist/{id}/accept",
    tag = "waitlist",
    operation_id = "accept_offer",
    summary = "Accept an offer",
    params(("id" = Uuid, Path, description = "The offered reservation, or the waitlist entry it was offered to"), MinPosition),
    responses(
        (status = 200, description = "The reservation is confirmed (or, where the resource requires approval, pending approval)", body = OfferAnswered),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn accept_offer(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    answer_offer(&state, &req, &user, min, id.into_inner(), true).await
}

#[utoipa::path(
    post,
    path = "/api/v1/waitlist/{id}/decline",
    tag = "waitlist",
    operation_id = "decline_offer",
    summary = "Decline an offer",
    params(("id" = Uuid, Path, description = "The offered reservation, or the waitlist entry it was offered to"), MinPosition),
    responses(
        (status = 200, description = "The slot goes to the next in line", body = OfferAnswered),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn decline_offer(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    answer_offer(&state, &req, &user, min, id.into_inner(), false).await
}

async fn answer_offer(
    state: &Services,
    req: &HttpRequest,
    user: &CurrentUser,
    min: MinPosition,
    id: Uuid,
    accept: bool,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let answered = waitlist::answer_offer(state, &request_info(req), user, id, accept).await?;
    Ok(written(
        StatusCode::OK,
        answered.position,
        OfferAnswered { reservation_id: answered.reservation_id, status: answered.status },
    ))
}

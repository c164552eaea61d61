//! Waitlist and approvals: joining, leaving and accepting offers; the approval queue and answers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::{ResourceCommand, Role, TimeRange};
use reserver_projections::reservations::{self as rm};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::support::{instant, json_body, page_json, written, PageParams};
use crate::routes::views;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/waitlist").route(web::get().to(my_waitlist)).route(web::post().to(join)))
        .route("/waitlist/{id}", web::delete().to(leave))
        .route("/waitlist/{id}/accept", web::post().to(accept_offer))
        .route("/waitlist/{id}/decline", web::post().to(decline_offer))
        .route("/resources/{id}/waitlist", web::get().to(resource_waitlist))
        .route("/approvals/pending", web::get().to(pending))
        .route("/approvals/{id}/respond", web::post().to(respond))
        .service(
            web::resource("/approvals/resources/{id}/settings")
                .route(web::get().to(approval_settings))
                .route(web::put().to(set_approval_settings)),
        );
}

#[derive(Debug, Deserialize)]
struct JoinInput {
    resource_id: Uuid,
    desired_start: String,
    desired_end: String,
    #[serde(default)]
    flexible_minutes: u32,
}

async fn join(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: JoinInput = json_body(&body)?;
    let desired =
        TimeRange::new(instant("desired_start", &input.desired_start)?, instant("desired_end", &input.desired_end)?)
            .map_err(|_| ApiError::validation("desired_end", "must be after desired_start"))?;
    if input.flexible_minutes > 7 * 24 * 60 {
        return Err(ApiError::validation("flexible_minutes", "at most one week"));
    }
    let entry_id = Uuid::new_v4();
    let command = ResourceCommand::JoinWaitlist { entry_id, desired, flex_minutes: input.flexible_minutes };
    let decided = state
        .resources
        .execute(input.resource_id, user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    let offered = decided.events.iter().any(|e| e.event_type() == "waitlist_offer_made");
    Ok(written(
        StatusCode::CREATED,
        decided.position,
        json!({ "id": entry_id, "resource_id": input.resource_id, "desired_start": desired.start(), "desired_end": desired.end(),
                "flexible_minutes": input.flexible_minutes, "offered": offered }),
    ))
}

async fn my_waitlist(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let entries = rm::waitlist_for_user(&state.db(), user.user_id).await?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        // The entry's place in its resource's FIFO queue.
        let queue = rm::waitlist_for_resource(&state.db(), e.resource_id).await?;
        let position = queue.iter().position(|q| q.entry_id == e.entry_id).map(|p| p + 1);
        out.push(json!({ "entry": e, "position": position }));
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn resource_waitlist(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver, Role::Auditor])?;
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(rm::waitlist_for_resource(&state.db(), id.into_inner()).await?))
}

/// Finds the caller's waitlist entry to route a command to its resource.
async fn entry_resource(state: &AppState, user: &CurrentUser, entry_id: Uuid) -> Result<Uuid, ApiError> {
    let entries = rm::waitlist_for_user(&state.db(), user.user_id).await?;
    entries
        .iter()
        .find(|e| e.entry_id == entry_id)
        .map(|e| e.resource_id)
        .ok_or_else(|| ApiError::NotFound("waitlist entry".into()))
}

async fn leave(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let entry_id = id.into_inner();
    let resource = entry_resource(&state, &user, entry_id).await?;
    let decided = state
        .resources
        .execute(
            resource,
            user.actor(),
            ResourceCommand::LeaveWaitlist { entry_id },
            command_meta(&req, Some(&user), &[])?,
        )
        .await?;
    Ok(written(StatusCode::OK, decided.position, json!({ "id": entry_id, "left": true })))
}

/// The offer made to a waitlist entry: a reservation in status `offered` holding the slot.
async fn offer_for(state: &AppState, user: &CurrentUser, id: Uuid) -> Result<rm::ReservationView, ApiError> {
    // `id` may name the offered reservation or the waitlist entry it was offered to.
    if let Some(v) = rm::get_reservation(&state.db(), id).await? {
        if v.user_id == user.user_id || user.is_admin() {
            return Ok(v);
        }
    }
    let offered = reserver_domain::resource::waitlist::offer_reservation_id(id);
    match rm::get_reservation(&state.db(), offered).await? {
        Some(v) if v.user_id == user.user_id || user.is_admin() => Ok(v),
        _ => Err(ApiError::NotFound("offer".into())),
    }
}

async fn accept_offer(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    answer_offer(&state, &req, &user, min, id.into_inner(), true).await
}

async fn decline_offer(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    answer_offer(&state, &req, &user, min, id.into_inner(), false).await
}

async fn answer_offer(
    state: &AppState,
    req: &HttpRequest,
    user: &CurrentUser,
    min: MinPosition,
    id: Uuid,
    accept: bool,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let offer = offer_for(state, user, id).await?;
    let reservation_id = offer.reservation_id;
    let (command, status) = if accept {
        (ResourceCommand::AcceptOffer { reservation_id }, "confirmed")
    } else {
        (ResourceCommand::DeclineOffer { reservation_id }, "declined")
    };
    let decided =
        state.resources.execute(offer.resource_id, user.actor(), command, command_meta(req, Some(user), &[])?).await?;
    Ok(written(StatusCode::OK, decided.position, json!({ "reservation_id": reservation_id, "status": status })))
}

#[derive(Debug, Deserialize)]
struct PendingParams {
    resource_id: Option<Uuid>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn pending(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    params: web::Query<PendingParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() }.request()?;
    let result = rm::pending_approvals(&state.db(), params.resource_id, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, views::reservation)))
}

#[derive(Debug, Deserialize)]
struct RespondInput {
    approved: bool,
    #[serde(default)]
    comment: String,
}

async fn respond(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let input: RespondInput = json_body(&body)?;
    let reservation_id = id.into_inner();
    let view = rm::get_reservation(&state.db(), reservation_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("reservation".into()))?;
    let command = if input.approved {
        ResourceCommand::Approve { reservation_id, comment: input.comment }
    } else {
        ResourceCommand::Reject { reservation_id, comment: input.comment }
    };
    let decided = state
        .resources
        .execute(view.resource_id, user.actor(), command, command_meta(&req, Some(&user), &body)?)
        .await?;
    let status = if input.approved { "confirmed" } else { "rejected" };
    Ok(written(StatusCode::OK, decided.position, json!({ "id": reservation_id, "status": status })))
}

async fn approval_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let view = reserver_projections::catalog::get_resource(&state.db(), id.into_inner())
        .await?
        .ok_or_else(|| ApiError::NotFound("resource".into()))?;
    Ok(HttpResponse::Ok().json(json!({
        "requires_approval": view.policy.requires_approval,
        "approval_timeout_minutes": view.policy.approval_timeout_minutes,
    })))
}

#[derive(Debug, Deserialize)]
struct ApprovalSettings {
    requires_approval: bool,
    approval_timeout_minutes: Option<u32>,
}

async fn set_approval_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: ApprovalSettings = json_body(&body)?;
    let id = id.into_inner();
    let (version, current) = state.resources.load(id).await?;
    let resource = current.resource.ok_or_else(|| ApiError::NotFound("resource".into()))?;
    let mut policy = resource.policy.clone();
    policy.requires_approval = input.requires_approval;
    if let Some(t) = input.approval_timeout_minutes {
        policy.approval_timeout_minutes = t;
    }
    policy.validate().map_err(|m| ApiError::validation("approval_timeout_minutes", m))?;
    let command = ResourceCommand::UpdateResource {
        details: resource.details,
        capacity: resource.capacity,
        time_zone: resource.time_zone,
        policy: policy.clone(),
    };
    let mut meta = command_meta(&req, Some(&user), &body)?;
    meta.expected_version = Some(version);
    let decided = state.resources.execute(id, user.actor(), command, meta).await?;
    Ok(written(
        StatusCode::OK,
        decided.position,
        json!({ "requires_approval": policy.requires_approval, "approval_timeout_minutes": policy.approval_timeout_minutes }),
    ))
}

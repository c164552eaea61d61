//! Approvals: the queue of requests waiting for an approver, the answers, and a resource's
//! approval settings.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::{ResourceCommand, Role};
use reserver_projections::reservations::{self as rm};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{
    Forbidden, Invalid, Lagging, NotFound, PreconditionFailed, RateLimited, StateConflict, Unauthenticated,
};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{command_meta, command_meta_part, CurrentUser, MinPosition};
use crate::routes::support::{json_body, page_json, written, PageParams};
use crate::views;
use reserver_app::AppError;
use reserver_app::Services;
use reserver_app::{addressing, approvals};
use reserver_commands::addressing::Address;

#[derive(OpenApi)]
#[openapi(paths(pending, respond, approval_settings, set_approval_settings))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/approvals/pending", web::get().to(pending))
        .route("/approvals/{id}/respond", web::post().to(respond))
        .service(
            web::resource("/approvals/resources/{id}/settings")
                .route(web::get().to(approval_settings))
                .route(web::put().to(set_approval_settings)),
        );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PendingParams {
    /// Only this resource's requests.
    resource_id: Option<Uuid>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/approvals/pending",
    tag = "approvals",
    operation_id = "pending_approvals",
    summary = "Pending approval requests (approver)",
    description = "Admins see every request; an approver sees those they may answer: of resources naming \
                   them as an approver (themselves or through a group), or naming nobody.",
    params(PendingParams, MinPosition),
    responses(
        (status = 200, description = "One page of reservations in `pending_approval`", body = read_models::ReservationPage),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn pending(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    params: web::Query<PendingParams>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let page = PageParams { limit: params.limit, cursor: params.cursor.clone() }.request()?;
    // An approver sees only what they may answer: not the resources naming other approvers.
    let excluded = if user.role == Role::Admin {
        Vec::new()
    } else {
        reserver_projections::approver_routes::resources_not_answerable_by(&state.db(), user.user_id).await?
    };
    let result = rm::pending_approvals(&state.db(), params.resource_id, &excluded, &page).await?;
    Ok(HttpResponse::Ok().json(page_json(result, views::reservation)))
}

/// An approver's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApprovalAnswer {
    approved: bool,
    /// Shown to the requester.
    #[serde(default)]
    comment: String,
}

#[derive(Serialize, ToSchema)]
struct ApprovalDecided {
    id: Uuid,
    /// `confirmed` or `rejected`.
    status: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/approvals/{id}/respond",
    tag = "approvals",
    operation_id = "respond_to_approval",
    summary = "Approve or reject (approver)",
    params(("id" = Uuid, Path, description = "The pending reservation"), IdempotencyKey, MinPosition),
    request_body = ApprovalAnswer,
    responses(
        (status = 200, description = "The reservation's new status", body = ApprovalDecided),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn respond(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let input: ApprovalAnswer = json_body(&body)?;
    let reservation_id = id.into_inner();
    let resource = addressing::resource_of(&state, Address::Reservation(reservation_id), "reservation").await?;
    let meta = command_meta(&req, Some(&user), &body)?;
    let position =
        approvals::respond(&state, &user, resource, reservation_id, input.approved, input.comment, meta).await?;
    let status = if input.approved { "confirmed" } else { "rejected" };
    Ok(written(StatusCode::OK, position, ApprovalDecided { id: reservation_id, status }))
}

/// A resource's approval rules (part of its booking policy) and who answers its requests.
#[derive(Serialize, ToSchema)]
struct ApprovalSettings {
    requires_approval: bool,
    /// Minutes after which an unanswered request expires.
    approval_timeout_minutes: u32,
    /// User ids the resource names as its approvers (with admins, only they answer its
    /// requests); empty: none named here.
    approvers: Vec<Uuid>,
    /// The approvers of the nearest group above the resource naming some; in force when
    /// `approvers` is empty. Empty too: every approver answers.
    inherited_approvers: Vec<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/v1/approvals/resources/{id}/settings",
    tag = "approvals",
    operation_id = "approval_settings",
    summary = "A resource's approval settings",
    params(("id" = Uuid, Path, description = "The resource"), MinPosition),
    responses(
        (status = 200, description = "The settings", body = ApprovalSettings),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn approval_settings(
    state: web::Data<Services>,
    user: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    state.caught_up(min.0).await?;
    let id = id.into_inner();
    let view = reserver_app::catalog::get_resource(&state, id, None)
        .await?
        .ok_or_else(|| AppError::NotFound("resource".into()))?;
    // Who approves is read from the write side: in force at once, on every replica.
    let (_, current) = state.resources.load(id).await?;
    let inherited_approvers = approvals::group_approvers(&state, &current).await?;
    Ok(HttpResponse::Ok().json(ApprovalSettings {
        requires_approval: view.policy.requires_approval,
        approval_timeout_minutes: view.policy.approval_timeout_minutes,
        approvers: current.resource.map(|r| r.approvers).unwrap_or_default(),
        inherited_approvers,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ApprovalSettingsInput {
    requires_approval: bool,
    /// Left out: unchanged.
    approval_timeout_minutes: Option<u32>,
    /// User ids of existing approver or admin accounts; `[]` names none (the resource's groups'
    /// approvers, else every approver, answer). Left out: unchanged.
    approvers: Option<Vec<Uuid>>,
}

#[utoipa::path(
    put,
    path = "/api/v1/approvals/resources/{id}/settings",
    tag = "approvals",
    operation_id = "set_approval_settings",
    summary = "Change approval settings (admin)",
    params(("id" = Uuid, Path, description = "The resource"), IdempotencyKey),
    request_body = ApprovalSettingsInput,
    responses(
        (status = 200, description = "The settings now in force", body = ApprovalSettings),
        Unauthenticated, Forbidden, NotFound, StateConflict, PreconditionFailed, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_approval_settings(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: ApprovalSettingsInput = json_body(&body)?;
    let id = id.into_inner();
    if let Some(approvers) = &input.approvers {
        approvals::check_approvers(&state, approvers).await?;
    }
    let (version, current) = state.resources.load(id).await?;
    let resource = current.resource.ok_or_else(|| AppError::NotFound("resource".into()))?;
    let mut policy = resource.policy.clone();
    policy.requires_approval = input.requires_approval;
    if let Some(t) = input.approval_timeout_minutes {
        policy.approval_timeout_minutes = t;
    }
    policy.validate().map_err(|m| AppError::validation("approval_timeout_minutes", m))?;
    let command = ResourceCommand::UpdateResource {
        details: resource.details,
        capacity: resource.capacity,
        time_zone: resource.time_zone,
        policy: policy.clone(),
    };
    let mut meta = command_meta(&req, Some(&user), &body)?;
    meta.expected_version = Some(version);
    let mut position = state.resources.execute(id, user.actor(), command, meta).await?.position;
    if let Some(approvers) = input.approvers {
        let meta = command_meta_part(&req, Some(&user), &body, "approvers")?;
        let command = ResourceCommand::SetApprovers { approvers };
        position = position.max(state.resources.execute(id, user.actor(), command, meta).await?.position);
    }
    let (_, current) = state.resources.load(id).await?;
    let approvers = current.resource.as_ref().map(|r| r.approvers.clone()).unwrap_or_default();
    let inherited_approvers = approvals::group_approvers(&state, &current).await?;
    Ok(written(
        StatusCode::OK,
        position,
        ApprovalSettings {
            requires_approval: policy.requires_approval,
            approval_timeout_minutes: policy.approval_timeout_minutes,
            approvers,
            inherited_approvers,
        },
    ))
}

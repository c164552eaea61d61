//! `/api/v1/resource-groups`: the tree resources are organised in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::group::GroupCommand;
use reserver_domain::Role;
use reserver_projections::catalog;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::api_doc::params::IdempotencyKey;
use crate::api_doc::problems::{Forbidden, Invalid, Lagging, NotFound, RateLimited, StateConflict, Unauthenticated};
use crate::api_doc::read_models;
use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::resource_input::validate_name;
use crate::routes::support::json_body;
use crate::routes::support::written;
use reserver_app::Services;
use reserver_app::{approvals, AppError};

#[derive(OpenApi)]
#[openapi(paths(list, create, tree, get, update, delete, group_approvers, set_group_approvers))]
pub(super) struct Api;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/resource-groups").route(web::get().to(list)).route(web::post().to(create)))
        .route("/resource-groups/tree", web::get().to(tree))
        .service(
            web::resource("/resource-groups/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        )
        .service(
            web::resource("/resource-groups/{id}/approvers")
                .route(web::get().to(group_approvers))
                .route(web::put().to(set_group_approvers)),
        );
}

/// Who answers the approval requests of the resources in a group and its sub-groups.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupApprovers {
    /// User ids of approver or admin accounts. A resource naming its own approvers, or in a
    /// sub-group naming some, uses those instead. Empty: this group names none.
    approvers: Vec<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/v1/resource-groups/{id}/approvers",
    tag = "groups",
    operation_id = "group_approvers",
    summary = "A group's named approvers (approver)",
    params(("id" = Uuid, Path, description = "The group")),
    responses(
        (status = 200, description = "The approvers the group names", body = GroupApprovers),
        Unauthenticated, Forbidden, NotFound, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn group_approvers(
    state: web::Data<Services>,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin, Role::Approver])?;
    let (_, current) = state.groups.load(id.into_inner()).await?;
    let group = current.group.ok_or_else(|| AppError::NotFound("group".into()))?;
    Ok(HttpResponse::Ok().json(GroupApprovers { approvers: group.approvers }))
}

#[utoipa::path(
    put,
    path = "/api/v1/resource-groups/{id}/approvers",
    tag = "groups",
    operation_id = "set_group_approvers",
    summary = "Name a group's approvers (admin)",
    params(("id" = Uuid, Path, description = "The group"), IdempotencyKey),
    request_body = GroupApprovers,
    responses(
        (status = 200, description = "The approvers now named", body = GroupApprovers),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn set_group_approvers(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: GroupApprovers = json_body(&body)?;
    let group_id = id.into_inner();
    let meta = command_meta(&req, Some(&user), &body)?;
    let position = approvals::set_group_approvers(&state, &user, group_id, input.approvers, meta).await?;
    let (_, current) = state.groups.load(group_id).await?;
    let approvers = current.group.map(|g| g.approvers).unwrap_or_default();
    Ok(written(StatusCode::OK, position, GroupApprovers { approvers }))
}

#[utoipa::path(
    get,
    path = "/api/v1/resource-groups",
    tag = "groups",
    operation_id = "list_groups",
    summary = "All resource groups",
    params(MinPosition),
    responses(
        (status = 200, description = "Every group, parents before their children", body = Vec<read_models::Group>),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn list(state: web::Data<Services>, _u: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let tree = catalog::group_tree(&state.db()).await?;
    fn flatten(nodes: &[catalog::GroupNode], out: &mut Vec<catalog::GroupView>) {
        for n in nodes {
            out.push(n.group.clone());
            flatten(&n.children, out);
        }
    }
    let mut groups = Vec::new();
    flatten(&tree, &mut groups);
    Ok(HttpResponse::Ok().json(groups))
}

#[utoipa::path(
    get,
    path = "/api/v1/resource-groups/tree",
    tag = "groups",
    operation_id = "group_tree",
    summary = "Groups as a tree",
    params(MinPosition),
    responses(
        (status = 200, description = "The top-level groups with their subgroups", body = Vec<read_models::GroupNode>),
        Unauthenticated, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn tree(state: web::Data<Services>, _u: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(catalog::group_tree(&state.db()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/resource-groups/{id}",
    tag = "groups",
    operation_id = "get_group",
    summary = "One group",
    params(("id" = Uuid, Path, description = "The group"), MinPosition),
    responses(
        (status = 200, description = "The group", body = read_models::Group),
        Unauthenticated, NotFound, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn get(
    state: web::Data<Services>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let group =
        catalog::get_group(&state.db(), id.into_inner()).await?.ok_or_else(|| AppError::NotFound("group".into()))?;
    Ok(HttpResponse::Ok().json(group))
}

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupInput {
    /// 1 to 200 characters.
    name: String,
    /// The group it belongs to; none for a top-level group.
    parent_id: Option<Uuid>,
    #[serde(default)]
    description: String,
}

/// A group as created.
#[derive(Serialize, ToSchema)]
struct GroupCreated {
    id: Uuid,
    name: String,
    parent_id: Option<Uuid>,
    description: String,
}

async fn check_parent(state: &Services, group_id: Uuid, parent: Option<Uuid>) -> Result<(), AppError> {
    if let Some(p) = parent {
        // The tree is checked on the read model: let it include every write so far.
        state.caught_up(Some(state.store.head().await?.position)).await?;
        catalog::get_group(&state.db(), p).await?.ok_or_else(|| AppError::validation("parent_id", "no such group"))?;
        if catalog::would_create_cycle(&state.db(), group_id, Some(p)).await? {
            return Err(AppError::validation("parent_id", "a group cannot be inside itself or its descendants"));
        }
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/api/v1/resource-groups",
    tag = "groups",
    operation_id = "create_group",
    summary = "Create a group (admin)",
    params(IdempotencyKey),
    request_body = GroupInput,
    responses(
        (status = 201, description = "The group", body = GroupCreated),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn create(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let input: GroupInput = json_body(&body)?;
    let name = validate_name(&input.name)?;
    let group_id = Uuid::new_v4();
    check_parent(&state, group_id, input.parent_id).await?;
    let command = GroupCommand::Create {
        group_id,
        name: name.clone(),
        parent_id: input.parent_id,
        description: input.description.clone(),
    };
    let decided =
        state.groups.execute(group_id, user.actor(), command, command_meta(&req, Some(&user), &body)?).await?;
    // A retry with the same Idempotency-Key is answered with the group the first attempt made.
    let group_id = decided
        .events
        .iter()
        .find_map(|e| match e {
            reserver_domain::group::GroupEvent::GroupCreated { group_id, .. } => Some(*group_id),
            _ => None,
        })
        .unwrap_or(group_id);
    Ok(written(
        StatusCode::CREATED,
        decided.position,
        GroupCreated { id: group_id, name, parent_id: input.parent_id, description: input.description },
    ))
}

/// Fields to change; those left out stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct GroupPatch {
    name: Option<String>,
    /// Moves the group; `null` makes it top-level.
    #[serde(default, deserialize_with = "crate::routes::support::nullable")]
    #[schema(value_type = Option<Uuid>)]
    parent_id: Option<Option<Uuid>>,
}

#[derive(Serialize, ToSchema)]
struct GroupChanged {
    id: Uuid,
    /// Only after DELETE.
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/resource-groups/{id}",
    tag = "groups",
    operation_id = "update_group",
    summary = "Rename or move a group (admin)",
    params(("id" = Uuid, Path, description = "The group"), IdempotencyKey),
    request_body = GroupPatch,
    responses(
        (status = 200, description = "Changed", body = GroupChanged),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
async fn update(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let patch: GroupPatch = json_body(&body)?;
    let group_id = id.into_inner();
    // Everything is checked before anything is written, and both changes are one command, so
    // a refused move never leaves a rename behind.
    let name = patch.name.as_deref().map(validate_name).transpose()?;
    if let Some(parent_id) = patch.parent_id {
        check_parent(&state, group_id, parent_id).await?;
    }
    let command = GroupCommand::Update { name, parent_id: patch.parent_id };
    let position =
        state.groups.execute(group_id, user.actor(), command, command_meta(&req, Some(&user), &body)?).await?.position;
    Ok(written(StatusCode::OK, position, GroupChanged { id: group_id, deleted: None }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/resource-groups/{id}",
    tag = "groups",
    operation_id = "delete_group",
    summary = "Delete a group (admin)",
    params(("id" = Uuid, Path, description = "The group")),
    responses(
        (status = 200, description = "Deleted", body = GroupChanged),
        Unauthenticated, Forbidden, NotFound, StateConflict, Invalid, RateLimited
    ),
    security(("bearer" = []))
)]
async fn delete(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let group_id = id.into_inner();
    let decided = state
        .groups
        .execute(group_id, user.actor(), GroupCommand::Delete, command_meta(&req, Some(&user), &[])?)
        .await?;
    Ok(written(StatusCode::OK, decided.position, GroupChanged { id: group_id, deleted: Some(true) }))
}

//! `/api/v1/resource-groups`: the tree resources are organised in.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use reserver_domain::group::GroupCommand;
use reserver_domain::Role;
use reserver_projections::catalog;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::{command_meta, CurrentUser, MinPosition};
use crate::routes::resources::validate_name;
use crate::routes::support::json_body;
use crate::routes::support::written;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/resource-groups").route(web::get().to(list)).route(web::post().to(create)))
        .route("/resource-groups/tree", web::get().to(tree))
        .service(
            web::resource("/resource-groups/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        );
}

async fn list(state: web::Data<AppState>, _u: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
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

async fn tree(state: web::Data<AppState>, _u: CurrentUser, min: MinPosition) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    Ok(HttpResponse::Ok().json(catalog::group_tree(&state.db()).await?))
}

async fn get(
    state: web::Data<AppState>,
    _u: CurrentUser,
    min: MinPosition,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.caught_up(min.0).await?;
    let group =
        catalog::get_group(&state.db(), id.into_inner()).await?.ok_or_else(|| ApiError::NotFound("group".into()))?;
    Ok(HttpResponse::Ok().json(group))
}

#[derive(Debug, Deserialize)]
struct GroupInput {
    name: String,
    parent_id: Option<Uuid>,
    #[serde(default)]
    description: String,
}

async fn check_parent(state: &AppState, group_id: Uuid, parent: Option<Uuid>) -> Result<(), ApiError> {
    if let Some(p) = parent {
        // The tree is checked on the read model: let it include every write so far.
        state.caught_up(Some(state.store.head().await?.position)).await?;
        catalog::get_group(&state.db(), p).await?.ok_or_else(|| ApiError::validation("parent_id", "no such group"))?;
        if catalog::would_create_cycle(&state.db(), group_id, Some(p)).await? {
            return Err(ApiError::validation("parent_id", "a group cannot be inside itself or its descendants"));
        }
    }
    Ok(())
}

async fn create(
    state: web::Data<AppState>,
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
    Ok(written(
        StatusCode::CREATED,
        decided.position,
        json!({ "id": group_id, "name": name, "parent_id": input.parent_id, "description": input.description }),
    ))
}

#[derive(Debug, Deserialize)]
struct GroupPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::routes::support::nullable")]
    parent_id: Option<Option<Uuid>>,
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Admin])?;
    let patch: GroupPatch = json_body(&body)?;
    let group_id = id.into_inner();
    let mut position = 0;
    if let Some(name) = patch.name {
        let command = GroupCommand::Rename { name: validate_name(&name)? };
        position = state
            .groups
            .execute(group_id, user.actor(), command, command_meta(&req, Some(&user), &body)?)
            .await?
            .position;
    }
    if let Some(parent_id) = patch.parent_id {
        check_parent(&state, group_id, parent_id).await?;
        position = state
            .groups
            .execute(group_id, user.actor(), GroupCommand::Move { parent_id }, command_meta(&req, Some(&user), &[])?)
            .await?
            .position;
    }
    Ok(written(StatusCode::OK, position, json!({ "id": group_id })))
}

async fn delete(
    state: web::Data<AppState>,
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
    Ok(written(StatusCode::OK, decided.position, json!({ "id": group_id, "deleted": true })))
}

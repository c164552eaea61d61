//! Named approvers: who answers a resource's approval requests. A resource names its own
//! approvers, or inherits those of its nearest group (walking up the tree) that names some;
//! where none are named, every approver answers. Everything here reads the write side (the
//! resource, group and user streams), so a change is in force at once on every replica.

use std::collections::HashSet;

use reserver_commands::CommandMeta;
use reserver_domain::group::GroupCommand;
use reserver_domain::{ResourceCommand, ResourceState};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::services::Services;

/// Deepest group tree walked when resolving inherited approvers (a guard, not a limit in use:
/// the group tree is checked for cycles before any move).
const MAX_GROUP_DEPTH: usize = 64;

/// The approvers `state`'s resource inherits: those of the nearest group above it that names
/// some (its own group first). Empty when none does. Errors: store failures only.
pub async fn group_approvers(services: &Services, state: &ResourceState) -> AppResult<Vec<Uuid>> {
    let Some(resource) = state.resource.as_ref() else { return Ok(Vec::new()) };
    let mut next = resource.details.group_id;
    let mut seen = HashSet::new();
    while let Some(group_id) = next {
        if !seen.insert(group_id) || seen.len() > MAX_GROUP_DEPTH {
            break;
        }
        let (_, group) = services.groups.load(group_id).await?;
        let Some(group) = group.group else { break };
        if !group.approvers.is_empty() {
            return Ok(group.approvers);
        }
        next = group.parent_id;
    }
    Ok(Vec::new())
}

/// The approvers named for a resource (its own, else inherited); empty: every approver.
pub async fn named_approvers(services: &Services, state: &ResourceState) -> AppResult<Vec<Uuid>> {
    let inherited = group_approvers(services, state).await?;
    Ok(reserver_domain::resource::named_approvers(state, &inherited).to_vec())
}

/// Checks that every id names an existing account holding the approver or admin role.
/// Errors: `Validation` on field `approvers` naming the first id that does not.
pub async fn check_approvers(services: &Services, approvers: &[Uuid]) -> AppResult<()> {
    for id in approvers {
        let (_, user) = services.users.load(*id).await?;
        match user.user {
            Some(u) if u.role.may_approve() => {}
            Some(_) => {
                return Err(AppError::validation("approvers", format!("{id} is not an approver or admin")));
            }
            None => return Err(AppError::validation("approvers", format!("no account {id}"))),
        }
    }
    Ok(())
}

/// Replaces a group's named approvers (admins). Returns the log position of the change.
/// Errors: `Validation` (`approvers`), `NotFound` (group), rejections.
pub async fn set_group_approvers(
    services: &Services,
    caller: &Caller,
    group_id: Uuid,
    approvers: Vec<Uuid>,
    meta: CommandMeta,
) -> AppResult<u64> {
    check_approvers(services, &approvers).await?;
    let command = GroupCommand::SetApprovers { approvers };
    Ok(services.groups.execute(group_id, caller.actor(), command, meta).await?.position)
}

/// Approves (`approved`) or rejects a pending request on `resource_id`; the domain refuses
/// (403) an approver who is not among the resource's named approvers. Returns the position.
pub async fn respond(
    services: &Services,
    caller: &Caller,
    resource_id: Uuid,
    reservation_id: Uuid,
    approved: bool,
    comment: String,
    meta: CommandMeta,
) -> AppResult<u64> {
    let (_, state) = services.resources.load(resource_id).await?;
    let group_approvers = group_approvers(services, &state).await?;
    let command = if approved {
        ResourceCommand::Approve { reservation_id, comment, group_approvers }
    } else {
        ResourceCommand::Reject { reservation_id, comment, group_approvers }
    };
    Ok(services.resources.execute(resource_id, caller.actor(), command, meta).await?.position)
}

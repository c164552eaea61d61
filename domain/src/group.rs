//! Resource groups (buildings, floors, pools) forming a tree: one stream per group
//! (`group-{uuid}`). The aggregate checks what one group can know about itself; whether a
//! move would make a group its own ancestor needs the whole tree, so that check belongs to
//! whoever holds the tree (the catalog read model) before the command is sent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::context::{DecisionContext, Role};
use crate::rejection::Rejection;
use crate::text::{TextRule, MAX_DESCRIPTION_CHARS};

/// Longest group name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = crate::text::MAX_NAME_CHARS;

/// Folded state of one group stream; `Default` = not created (or deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// `None` until created and again after deletion.
    pub group: Option<Group>,
    /// True once deleted: a deleted group id is never reused.
    #[serde(default)]
    pub deleted: bool,
}

/// A node of the group tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Identity.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Parent group; `None` for a root.
    pub parent_id: Option<Uuid>,
    /// Longer description.
    pub description: String,
    /// Users who answer approval requests for the resources in this group and its sub-groups
    /// (those naming none themselves, down to the nearest sub-group naming some).
    #[serde(default)]
    pub approvers: Vec<Uuid>,
}

/// What can be asked of a group stream (admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GroupCommand {
    /// Create the group.
    Create {
        /// Identity chosen by the caller.
        group_id: Uuid,
        /// Display name (1..=200 characters).
        name: String,
        /// Parent group, if any.
        parent_id: Option<Uuid>,
        /// Longer description.
        description: String,
    },
    /// Change the display name.
    Rename {
        /// New name.
        name: String,
    },
    /// Attach to another parent (or make it a root). Cycle checks happen outside.
    Move {
        /// New parent.
        parent_id: Option<Uuid>,
    },
    /// Rename and move in one decision: both happen or neither.
    Update {
        /// New name, if it changes.
        name: Option<String>,
        /// New parent (`Some(None)`: make it a root), if it changes.
        parent_id: Option<Option<Uuid>>,
    },
    /// Name who approves the resources in this group and its sub-groups (empty: nobody named).
    SetApprovers {
        /// User ids of approvers or admins (duplicates dropped).
        approvers: Vec<Uuid>,
    },
    /// Remove the group.
    Delete,
}

/// Facts in a group stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // field names match the commands
pub enum GroupEvent {
    /// The stream's first event.
    GroupCreated {
        group_id: Uuid,
        name: String,
        parent_id: Option<Uuid>,
        description: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    /// Renamed.
    GroupRenamed { group_id: Uuid, name: String, by: Uuid, at: DateTime<Utc> },
    /// Re-parented.
    GroupMoved { group_id: Uuid, parent_id: Option<Uuid>, by: Uuid, at: DateTime<Utc> },
    /// Named approvers replaced.
    GroupApproversSet { group_id: Uuid, approvers: Vec<Uuid>, by: Uuid, at: DateTime<Utc> },
    /// Removed.
    GroupDeleted { group_id: Uuid, by: Uuid, at: DateTime<Utc> },
}

impl GroupEvent {
    /// Stable storage name, identical to the serialized `type` tag.
    pub fn event_type(&self) -> &'static str {
        match self {
            GroupEvent::GroupCreated { .. } => "group_created",
            GroupEvent::GroupRenamed { .. } => "group_renamed",
            GroupEvent::GroupMoved { .. } => "group_moved",
            GroupEvent::GroupApproversSet { .. } => "group_approvers_set",
            GroupEvent::GroupDeleted { .. } => "group_deleted",
        }
    }

    /// When the fact happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            GroupEvent::GroupCreated { at, .. }
            | GroupEvent::GroupRenamed { at, .. }
            | GroupEvent::GroupMoved { at, .. }
            | GroupEvent::GroupApproversSet { at, .. }
            | GroupEvent::GroupDeleted { at, .. } => *at,
        }
    }
}

/// Event-store stream name of a group.
pub fn group_stream_id(group_id: Uuid) -> String {
    format!("group-{group_id}")
}

/// `name`: required, one line.
const NAME: TextRule = TextRule::name("name", MAX_GROUP_NAME_CHARS);
/// `description`: free text.
const DESCRIPTION: TextRule = TextRule::free_text("description", MAX_DESCRIPTION_CHARS);

fn valid_name(name: &str) -> Result<String, Rejection> {
    NAME.check(name)
}

/// Decides a group command.
pub fn decide_group(
    state: &GroupState,
    command: &GroupCommand,
    ctx: &DecisionContext,
) -> Result<Vec<GroupEvent>, Rejection> {
    if ctx.actor.role != Role::Admin {
        return Err(Rejection::forbidden("only admins manage resource groups"));
    }
    let by = ctx.actor.user_id;
    let at = ctx.now;
    if let GroupCommand::Create { group_id, name, parent_id, description } = command {
        if state.group.is_some() || state.deleted {
            return Err(Rejection::invalid_state("group already exists"));
        }
        if *parent_id == Some(*group_id) {
            return Err(Rejection::invalid_input("a group cannot be its own parent"));
        }
        return Ok(vec![GroupEvent::GroupCreated {
            group_id: *group_id,
            name: valid_name(name)?,
            parent_id: *parent_id,
            description: DESCRIPTION.check(description)?,
            by,
            at,
        }]);
    }
    let group = state.group.as_ref().ok_or_else(|| Rejection::not_found("group"))?;
    match command {
        GroupCommand::Create { .. } => Err(Rejection::invalid_state("group already exists")),
        GroupCommand::Rename { name } => {
            let name = valid_name(name)?;
            if name == group.name {
                return Ok(Vec::new());
            }
            Ok(vec![GroupEvent::GroupRenamed { group_id: group.id, name, by, at }])
        }
        GroupCommand::Move { parent_id } => {
            if *parent_id == Some(group.id) {
                return Err(Rejection::invalid_input("a group cannot be its own parent"));
            }
            if *parent_id == group.parent_id {
                return Ok(Vec::new());
            }
            Ok(vec![GroupEvent::GroupMoved { group_id: group.id, parent_id: *parent_id, by, at }])
        }
        GroupCommand::Update { name, parent_id } => {
            // Each part is decided against the same state; any refusal refuses the whole.
            let mut events = Vec::new();
            if let Some(name) = name {
                events.extend(decide_group(state, &GroupCommand::Rename { name: name.clone() }, ctx)?);
            }
            if let Some(parent_id) = parent_id {
                events.extend(decide_group(state, &GroupCommand::Move { parent_id: *parent_id }, ctx)?);
            }
            Ok(events)
        }
        GroupCommand::SetApprovers { approvers } => {
            let mut named: Vec<Uuid> = Vec::with_capacity(approvers.len());
            for id in approvers {
                if !named.contains(id) {
                    named.push(*id);
                }
            }
            if named.len() > crate::resource::MAX_NAMED_APPROVERS {
                let most = crate::resource::MAX_NAMED_APPROVERS;
                return Err(Rejection::invalid_field("approvers", format!("at most {most} approvers")));
            }
            if named == group.approvers {
                return Ok(Vec::new());
            }
            Ok(vec![GroupEvent::GroupApproversSet { group_id: group.id, approvers: named, by, at }])
        }
        GroupCommand::Delete => Ok(vec![GroupEvent::GroupDeleted { group_id: group.id, by, at }]),
    }
}

/// Returns the group state after `event`.
pub fn evolve_group(mut state: GroupState, event: &GroupEvent) -> GroupState {
    match event {
        GroupEvent::GroupCreated { group_id, name, parent_id, description, .. } => {
            state.group = Some(Group {
                id: *group_id,
                name: name.clone(),
                parent_id: *parent_id,
                description: description.clone(),
                approvers: Vec::new(),
            });
        }
        GroupEvent::GroupRenamed { name, .. } => {
            if let Some(group) = state.group.as_mut() {
                group.name = name.clone();
            }
        }
        GroupEvent::GroupMoved { parent_id, .. } => {
            if let Some(group) = state.group.as_mut() {
                group.parent_id = *parent_id;
            }
        }
        GroupEvent::GroupApproversSet { approvers, .. } => {
            if let Some(group) = state.group.as_mut() {
                group.approvers = approvers.clone();
            }
        }
        GroupEvent::GroupDeleted { .. } => {
            state.group = None;
            state.deleted = true;
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Actor;

    fn ctx(role: Role) -> DecisionContext {
        DecisionContext { now: DateTime::UNIX_EPOCH, actor: Actor { user_id: Uuid::from_u128(1), role } }
    }

    fn create(name: &str) -> GroupCommand {
        GroupCommand::Create {
            group_id: Uuid::from_u128(7),
            name: name.into(),
            parent_id: None,
            description: "".into(),
        }
    }

    #[test]
    fn lifecycle_and_rules() {
        let admin = ctx(Role::Admin);
        assert_eq!(
            decide_group(&GroupState::default(), &create("B"), &ctx(Role::User)).unwrap_err().code(),
            "forbidden"
        );
        assert_eq!(decide_group(&GroupState::default(), &create("  "), &admin).unwrap_err().code(), "invalid_field");
        let long = "x".repeat(MAX_GROUP_NAME_CHARS + 1);
        assert_eq!(decide_group(&GroupState::default(), &create(&long), &admin).unwrap_err().code(), "invalid_field");
        let mut state = GroupState::default();
        for command in [create("Building A"), GroupCommand::Rename { name: "HQ".into() }] {
            for event in decide_group(&state, &command, &admin).unwrap() {
                state = evolve_group(state, &event);
            }
        }
        assert_eq!(state.group.as_ref().map(|g| g.name.as_str()), Some("HQ"));
        let own = GroupCommand::Move { parent_id: Some(Uuid::from_u128(7)) };
        assert_eq!(decide_group(&state, &own, &admin).unwrap_err().code(), "invalid_input");
        let events = decide_group(&state, &GroupCommand::Delete, &admin).unwrap();
        assert_eq!(events[0].event_type(), "group_deleted");
        let state = evolve_group(state, &events[0]);
        assert_eq!(decide_group(&state, &create("again"), &admin).unwrap_err().code(), "invalid_state");
    }

    #[test]
    fn control_characters_in_names_and_descriptions_are_refused_naming_the_field() {
        let admin = ctx(Role::Admin);
        let field = |command: &GroupCommand, state: &GroupState| match decide_group(state, command, &admin) {
            Err(Rejection::InvalidField { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(&create("a\u{0}b"), &GroupState::default()), "name");
        let described = GroupCommand::Create {
            group_id: Uuid::from_u128(7),
            name: "B".into(),
            parent_id: None,
            description: "x\u{0}".into(),
        };
        assert_eq!(field(&described, &GroupState::default()), "description");
        let mut state = GroupState::default();
        for event in decide_group(&state, &create(" HQ "), &admin).unwrap() {
            assert!(matches!(&event, GroupEvent::GroupCreated { name, .. } if name == "HQ"));
            state = evolve_group(state, &event);
        }
        assert_eq!(field(&GroupCommand::Rename { name: "a\u{1b}b".into() }, &state), "name");
        let update = GroupCommand::Update { name: Some("\u{0}".into()), parent_id: None };
        assert_eq!(field(&update, &state), "name");
    }
}

//! What the pipeline needs to know of an aggregate: its stream, how it decides and evolves.
//! The domain's functions are plugged in unchanged.

use reserver_domain::group::{self, GroupCommand, GroupEvent, GroupState};
use reserver_domain::resource::{self, ResourceCommand, ResourceEvent, ResourceState};
use reserver_domain::user::{self, UserCommand, UserEvent, UserState};
use reserver_domain::{DecisionContext, Rejection};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// An event-sourced aggregate, as the pipeline runs it.
pub trait Aggregate: Send + Sync + 'static {
    type State: Clone + Default + Serialize + DeserializeOwned + Send + Sync + 'static;
    type Command: Send + Sync + 'static;
    type Event: Clone + Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Bump when the serialized state changes shape: older snapshots are then ignored.
    const STATE_SCHEMA_VERSION: i32;

    fn stream_id(id: Uuid) -> String;
    fn decide(
        state: &Self::State,
        command: &Self::Command,
        ctx: &DecisionContext,
    ) -> Result<Vec<Self::Event>, Rejection>;
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    fn event_type(event: &Self::Event) -> &'static str;
}

/// A bookable resource: the consistency boundary for "no overlap".
#[derive(Debug, Clone, Copy)]
pub struct ResourceAggregate;

impl Aggregate for ResourceAggregate {
    type State = ResourceState;
    type Command = ResourceCommand;
    type Event = ResourceEvent;
    const STATE_SCHEMA_VERSION: i32 = 1;

    fn stream_id(id: Uuid) -> String {
        resource::stream_id(id)
    }

    fn decide(
        state: &ResourceState,
        command: &ResourceCommand,
        ctx: &DecisionContext,
    ) -> Result<Vec<ResourceEvent>, Rejection> {
        resource::decide(state, command, ctx)
    }

    fn evolve(state: ResourceState, event: &ResourceEvent) -> ResourceState {
        resource::evolve(state, event)
    }

    fn event_type(event: &ResourceEvent) -> &'static str {
        event.event_type()
    }
}

/// A user account: registration, role, password, login lockout.
#[derive(Debug, Clone, Copy)]
pub struct UserAggregate;

impl Aggregate for UserAggregate {
    type State = UserState;
    type Command = UserCommand;
    type Event = UserEvent;
    const STATE_SCHEMA_VERSION: i32 = 1;

    fn stream_id(id: Uuid) -> String {
        user::user_stream_id(id)
    }

    fn decide(state: &UserState, command: &UserCommand, ctx: &DecisionContext) -> Result<Vec<UserEvent>, Rejection> {
        user::decide_user(state, command, ctx)
    }

    fn evolve(state: UserState, event: &UserEvent) -> UserState {
        user::evolve_user(state, event)
    }

    fn event_type(event: &UserEvent) -> &'static str {
        event.event_type()
    }
}

/// A resource group: a node of the tree resources are organised in.
#[derive(Debug, Clone, Copy)]
pub struct GroupAggregate;

impl Aggregate for GroupAggregate {
    type State = GroupState;
    type Command = GroupCommand;
    type Event = GroupEvent;
    const STATE_SCHEMA_VERSION: i32 = 1;

    fn stream_id(id: Uuid) -> String {
        group::group_stream_id(id)
    }

    fn decide(state: &GroupState, command: &GroupCommand, ctx: &DecisionContext) -> Result<Vec<GroupEvent>, Rejection> {
        group::decide_group(state, command, ctx)
    }

    fn evolve(state: GroupState, event: &GroupEvent) -> GroupState {
        group::evolve_group(state, event)
    }

    fn event_type(event: &GroupEvent) -> &'static str {
        event.event_type()
    }
}

//! `users list|set-role|unlock`, `roles list`, `quotas show`, `oauth clients …`.

use serde_json::Value;

use super::Ctx;
use crate::cli::args::{OauthClientsCommand, OauthCommand, QuotasCommand, RolesCommand, UsersCommand};
use crate::cli::exit::Failure;
use crate::cli::output::{Cell, Table};

pub async fn users(ctx: &Ctx, command: UsersCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        UsersCommand::List => {
            let users = client.users().await?;
            let mut table = Table::new(&["id", "username", "role", "registered", "locked_until"]);
            for u in &users {
                table.row(vec![
                    u.user_id.to_string().into(),
                    u.username.clone().into(),
                    Cell::Status(u.role.clone()),
                    u.registered_at.into(),
                    u.locked_until.into(),
                ]);
            }
            ctx.out.list(&users, table)
        }
        UsersCommand::SetRole { user, role } => {
            let id = ctx.user_id(&client, &user).await?;
            let answer = client.set_role(id, &role).await?;
            ctx.out.note(&format!("{user} is now {role} (from their next login or token refresh)."));
            ctx.out.value(&answer)
        }
        UsersCommand::Unlock { user } => {
            let id = ctx.user_id(&client, &user).await?;
            let answer = client.unlock_user(id).await?;
            ctx.out.note(&format!("{user} unlocked."));
            ctx.out.value(&answer)
        }
    }
}

pub async fn roles(ctx: &Ctx, command: RolesCommand) -> Result<(), Failure> {
    let RolesCommand::List = command;
    let roles = ctx.client()?.roles().await?;
    ctx.out.value(&Value::Array(roles))
}

pub async fn quotas(ctx: &Ctx, command: QuotasCommand) -> Result<(), Failure> {
    let QuotasCommand::Show { user } = command;
    let client = ctx.client()?;
    let id = match user {
        Some(name) => Some(ctx.user_id(&client, &name).await?),
        None => None,
    };
    ctx.out.value(&client.quota(id).await?)
}

pub async fn oauth(ctx: &Ctx, command: OauthCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let command = match command {
        OauthCommand::List => OauthClientsCommand::List,
        OauthCommand::Clients(command) => command,
    };
    match command {
        OauthClientsCommand::List => ctx.out.value(&Value::Array(client.oauth_clients().await?)),
        OauthClientsCommand::Create { name, scopes } => {
            let created = client.create_oauth_client(&name, &scopes).await?;
            ctx.out.note("Client registered. Its secret is shown this once: store it with the integration.");
            ctx.out.value(&created)
        }
        OauthClientsCommand::Rotate { id } => {
            let rotated = client.rotate_oauth_client(&id).await?;
            ctx.out.note("New secret (shown once); the old one no longer works.");
            ctx.out.value(&rotated)
        }
        OauthClientsCommand::Disable { id } => {
            client.disable_oauth_client(&id).await?;
            ctx.out.note(&format!("Client {id} disabled."));
            Ok(())
        }
    }
}

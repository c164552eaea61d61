//! `users list|set-role|unlock`, `roles list`, `quotas show|set`, `oauth clients …`.

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
    let client = ctx.client()?;
    match command {
        QuotasCommand::Show { user } => {
            let id = match user {
                Some(name) => Some(ctx.user_id(&client, &name).await?),
                None => None,
            };
            usage_record(ctx, &client.quota(id).await?)
        }
        QuotasCommand::Set { user, daily, default: _ } => {
            let id = ctx.user_id(&client, &user).await?;
            let usage = client.set_quota(id, daily).await?;
            ctx.out.note(&match daily {
                Some(0) => format!("{user} now has no daily limit."),
                Some(n) => format!("{user} may now make {n} requests per UTC day."),
                None => format!("{user} is back on the default of their tier."),
            });
            usage_record(ctx, &usage)
        }
    }
}

/// A usage answer as `field  value` lines: limits in words when unlimited.
fn usage_record(ctx: &Ctx, usage: &Value) -> Result<(), Failure> {
    let count = |key: &str| match usage[key].as_u64() {
        Some(0) | None => "unlimited".to_string(),
        Some(n) => n.to_string(),
    };
    let remaining = usage["remaining"].as_u64().map_or_else(|| "unlimited".to_string(), |n| n.to_string());
    let override_limit = match usage["override"].as_u64() {
        None => "none (the tier's default)".to_string(),
        Some(0) => "unlimited".to_string(),
        Some(n) => n.to_string(),
    };
    let resets_at = usage["resets_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let text = |key: &str| usage[key].as_str().unwrap_or_default().to_string();
    ctx.out.record(
        usage,
        vec![
            ("account", text("name").into()),
            ("tier", Cell::Status(text("tier"))),
            ("daily limit", count("daily_limit").into()),
            ("used today", usage["used_today"].as_u64().unwrap_or(0).to_string().into()),
            ("remaining", remaining.into()),
            ("resets at", resets_at.into()),
            ("per minute", count("per_minute_limit").into()),
            ("override", override_limit.into()),
        ],
        None,
    )
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

//! `setup`, `login`, `logout`, `whoami`, `register`, `password change`, `mfa …`, `sessions …`.

use reserver_client::{Login, Session};

use super::Ctx;
use crate::cli::args::{CredentialArgs, LoginArgs, MfaCommand, PasswordCommand, SessionsCommand};
use crate::cli::exit::Failure;
use crate::cli::output::{Cell, Table};
use crate::cli::profile::Stored;
use crate::cli::terminal;

/// The username and password of `args`: flags, standard input, or prompts.
fn credentials(args: &CredentialArgs) -> Result<(String, String), Failure> {
    let username = match &args.username {
        Some(u) => u.clone(),
        None => terminal::ask("Username", "--username")?,
    };
    let password = if args.password_stdin {
        terminal::stdin_lines(1, "password")?.remove(0)
    } else {
        terminal::ask_secret("Password", "--password-stdin")?
    };
    if username.is_empty() || password.is_empty() {
        return Err(Failure::Usage("a username and a password are needed".into()));
    }
    Ok((username, password))
}

pub async fn setup(ctx: &Ctx, args: CredentialArgs) -> Result<(), Failure> {
    let (username, password) = credentials(&args)?;
    let created = ctx.anonymous()?.setup(&username, &password).await?;
    ctx.out.note(&format!(
        "First admin {} created on {}; now run `reserver login -u {}`.",
        created.username, ctx.url, created.username
    ));
    ctx.out.record(
        &created,
        vec![
            ("id", created.id.to_string().into()),
            ("username", created.username.clone().into()),
            ("role", created.role.clone().into()),
        ],
        None,
    )
}

pub async fn register(ctx: &Ctx, args: CredentialArgs) -> Result<(), Failure> {
    let (username, password) = credentials(&args)?;
    let created = ctx.anonymous()?.register(&username, &password).await?;
    ctx.out.note(&format!("Account {} created; now run `reserver login -u {}`.", created.username, created.username));
    ctx.out.record(
        &created,
        vec![
            ("id", created.id.to_string().into()),
            ("username", created.username.clone().into()),
            ("role", created.role.clone().into()),
        ],
        None,
    )
}

pub async fn login(ctx: &Ctx, args: LoginArgs) -> Result<(), Failure> {
    let (username, password) = credentials(&args.credentials)?;
    let client = ctx.anonymous()?;
    let pair = match client.login(&username, &password).await? {
        Login::Tokens(pair) => pair,
        Login::MfaRequired { mfa_token } => {
            let code = match args.code {
                Some(code) => code,
                None => terminal::ask("One-time code (authenticator app or backup code)", "--code")?,
            };
            client.login_mfa(&mfa_token, code.trim()).await?
        }
    };
    let session: Session = pair.session();
    ctx.store
        .save_credentials(&ctx.profile, Some(Stored { url: ctx.url.clone(), username: username.clone(), session }))?;
    // Remember the server for the profile, so later commands need no --url.
    let mut config = ctx.store.config()?;
    let entry = config.profiles.entry(ctx.profile.clone()).or_default();
    if entry.url.as_deref() != Some(&ctx.url) {
        entry.url = Some(ctx.url.clone());
        ctx.store.save_config(&config)?;
    }
    let me = ctx.client()?.me().await?;
    ctx.out.note(&format!("Logged in to {} as {} (role {}).", ctx.url, me.username, me.role));
    Ok(())
}

pub async fn logout(ctx: &Ctx) -> Result<(), Failure> {
    let result = match ctx.client() {
        Ok(client) => client.logout().await.map_err(Failure::from),
        Err(_) => {
            ctx.out.note("Not logged in.");
            return Ok(());
        }
    };
    // The local tokens go whatever the server says: a dead session is no use either.
    ctx.store.save_credentials(&ctx.profile, None)?;
    match result {
        Ok(()) => {
            ctx.out.note(&format!("Logged out of {}.", ctx.url));
            Ok(())
        }
        Err(Failure::Api(e)) if e.status() == Some(401) => {
            ctx.out.note("The session had already ended; local tokens removed.");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

pub async fn whoami(ctx: &Ctx) -> Result<(), Failure> {
    let me = ctx.client()?.me().await?;
    let mut fields = vec![
        ("id", me.id.to_string().into()),
        ("username", me.username.clone().into()),
        ("role", me.role.clone().into()),
        ("server", ctx.url.clone().into()),
        ("profile", ctx.profile.clone().into()),
    ];
    if let Some(until) = me.locked_until {
        fields.push(("locked_until", until.into()));
    }
    ctx.out.record(&me, fields, None)
}

pub async fn password(ctx: &Ctx, command: PasswordCommand) -> Result<(), Failure> {
    let PasswordCommand::Change { password_stdin } = command;
    let (current, new) = if password_stdin {
        let mut lines = terminal::stdin_lines(2, "current and new passwords")?;
        let new = lines.remove(1);
        (lines.remove(0), new)
    } else {
        let current = terminal::ask_secret("Current password", "--password-stdin")?;
        let new = terminal::ask_secret("New password", "--password-stdin")?;
        if terminal::ask_secret("New password again", "--password-stdin")? != new {
            return Err(Failure::Usage("the new passwords differ".into()));
        }
        (current, new)
    };
    ctx.client()?.change_password(&current, &new).await?;
    ctx.out.note("Password changed.");
    Ok(())
}

pub async fn mfa(ctx: &Ctx, command: MfaCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        MfaCommand::Setup { qr } => {
            let setup = client.mfa_setup().await?;
            if let (Some(path), Some(svg)) = (&qr, &setup.qr_svg) {
                std::fs::write(path, svg)
                    .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
                ctx.out.note(&format!("QR code written to {}.", path.display()));
            }
            ctx.out.note("Add the secret to an authenticator app, then run `reserver mfa enable CODE`.");
            let fields =
                vec![("secret", setup.secret.clone().into()), ("otpauth_uri", setup.otpauth_uri.clone().into())];
            ctx.out.record(&setup, fields, None)
        }
        MfaCommand::Enable { code } => {
            let codes = client.mfa_enable(code.trim()).await?;
            ctx.out.note("MFA is on. Keep these backup codes somewhere safe; each works once:");
            backup_codes(ctx, &codes)
        }
        MfaCommand::Disable { code, password_stdin } => {
            let password = match (&code, password_stdin) {
                (Some(_), _) => None,
                (None, true) => Some(terminal::stdin_lines(1, "password")?.remove(0)),
                (None, false) => Some(terminal::ask_secret("Password", "--code or --password-stdin")?),
            };
            client.mfa_disable(code.as_deref(), password.as_deref()).await?;
            ctx.out.note("MFA is off.");
            Ok(())
        }
        MfaCommand::BackupCodes => {
            let codes = client.mfa_backup_codes().await?;
            ctx.out.note("New backup codes (the old ones no longer work):");
            backup_codes(ctx, &codes)
        }
    }
}

fn backup_codes(ctx: &Ctx, codes: &reserver_client::BackupCodes) -> Result<(), Failure> {
    let mut table = Table::new(&["code"]);
    for code in &codes.backup_codes {
        table.row(vec![code.clone().into()]);
    }
    ctx.out.list(codes, table)
}

pub async fn sessions(ctx: &Ctx, command: SessionsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        SessionsCommand::List => {
            let sessions = client.sessions().await?;
            let mut table = Table::new(&["id", "created", "last_used", "ip", "current", "user_agent"]);
            for s in &sessions {
                table.row(vec![
                    s.id.clone().into(),
                    s.created_at.into(),
                    s.last_used_at.into(),
                    s.ip_address.clone().unwrap_or_default().into(),
                    Cell::Text(if s.current { "yes".into() } else { String::new() }),
                    s.user_agent.clone().unwrap_or_default().into(),
                ]);
            }
            ctx.out.list(&sessions, table)
        }
        SessionsCommand::Revoke { id: Some(id), .. } => {
            client.revoke_session(&id).await?;
            ctx.out.note(&format!("Session {id} revoked."));
            Ok(())
        }
        SessionsCommand::Revoke { id: None, .. } => {
            let others: Vec<_> = client.sessions().await?.into_iter().filter(|s| !s.current).collect();
            for s in &others {
                client.revoke_session(&s.id).await?;
            }
            ctx.out.note(&format!("{} other session(s) revoked.", others.len()));
            Ok(())
        }
    }
}

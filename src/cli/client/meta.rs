//! `profile …`, `status`, `completions`, `man`.

use clap::CommandFactory;

use super::Ctx;
use crate::cli::args::{Cli, CompletionsArgs, ManArgs, ProfileCommand};
use crate::cli::exit::Failure;
use crate::cli::output::{Cell, Table};
use crate::cli::profile::{DEFAULT_PROFILE, DEFAULT_URL};
use crate::cli::when;

pub fn profile(ctx: &Ctx, command: ProfileCommand) -> Result<(), Failure> {
    let mut config = ctx.store.config()?;
    match command {
        ProfileCommand::List => {
            let current = config.current.clone().unwrap_or_else(|| DEFAULT_PROFILE.into());
            let credentials = ctx.store.credentials().unwrap_or_default();
            let mut names: Vec<String> = config.profiles.keys().cloned().collect();
            if !names.contains(&current) {
                names.push(current.clone());
            }
            names.sort();
            let mut table = Table::new(&["profile", "current", "url", "zone", "logged_in_as"]);
            for name in &names {
                let p = config.profiles.get(name).cloned().unwrap_or_default();
                table.row(vec![
                    name.clone().into(),
                    Cell::Text(if *name == current { "*".into() } else { String::new() }),
                    p.url.unwrap_or_else(|| DEFAULT_URL.into()).into(),
                    p.time_zone.unwrap_or_default().into(),
                    credentials.get(name).map(|c| c.username.clone()).unwrap_or_default().into(),
                ]);
            }
            ctx.out.list(&config, table)
        }
        ProfileCommand::Use { name } => {
            config.profiles.entry(name.clone()).or_default();
            config.current = Some(name.clone());
            ctx.store.save_config(&config)?;
            ctx.out.note(&format!("Profile {name} is now the current one."));
            Ok(())
        }
        ProfileCommand::Set { name, server, zone } => {
            if let Some(zone) = &zone {
                when::zone(Some(zone), None).map_err(Failure::Usage)?;
            }
            if let Some(url) = &server {
                reserver_client::Client::new(url)?;
            }
            let entry = config.profiles.entry(name.clone()).or_default();
            if server.is_some() {
                entry.url = server.map(|u| u.trim_end_matches('/').to_string());
            }
            if zone.is_some() {
                entry.time_zone = zone;
            }
            ctx.store.save_config(&config)?;
            ctx.out.note(&format!("Profile {name} saved in {}.", ctx.store.dir().display()));
            Ok(())
        }
        ProfileCommand::Remove { name } => {
            config.profiles.remove(&name);
            if config.current.as_deref() == Some(&name) {
                config.current = None;
            }
            ctx.store.save_config(&config)?;
            ctx.store.save_credentials(&name, None)?;
            ctx.out.note(&format!("Profile {name} removed."));
            Ok(())
        }
    }
}

pub async fn status(ctx: &Ctx) -> Result<(), Failure> {
    let status = ctx.anonymous()?.status().await?;
    let ready = status.get("ready").and_then(|v| v.as_bool()).unwrap_or(false);
    let mut value = serde_json::Value::Object(status);
    value["url"] = serde_json::Value::String(ctx.url.clone());
    ctx.out.value(&value)?;
    // Usable as a health check: exit 1 unless the server is ready.
    if ready {
        Ok(())
    } else {
        Err(Failure::Reported(crate::cli::exit::Exit::Error))
    }
}

pub fn completions(args: CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "reserver", &mut out);
    Ok(())
}

pub fn man(args: ManArgs) -> Result<(), Failure> {
    let command = Cli::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(command, &dir)?;
            eprintln!("Manual pages written to {} (try: man -l {}/reserver.1).", dir.display(), dir.display());
            Ok(())
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            Ok(())
        }
    }
}

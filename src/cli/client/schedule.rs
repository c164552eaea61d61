//! `hours show|set`, `blackouts list|add|remove`, `groups tree`.

use chrono::NaiveTime;
use reserver_client::GroupNode;
use serde_json::{json, Value};

use super::Ctx;
use crate::cli::args::{BlackoutsCommand, GroupsCommand, HoursCommand};
use crate::cli::exit::Failure;
use crate::cli::output::Table;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub async fn hours(ctx: &Ctx, command: HoursCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        HoursCommand::Show { resource } => {
            let r = ctx.resource(&client, &resource).await?;
            let body = client.business_hours(r.id).await?;
            print_hours(ctx, &body, &r.time_zone)
        }
        HoursCommand::Set { resource, spec, always } => {
            let r = ctx.resource(&client, &resource).await?;
            let hours = if always { None } else { Some(parse_week(&spec).map_err(Failure::Usage)?) };
            let body = client.set_business_hours(r.id, hours).await?;
            ctx.out.note(&format!("Business hours of {} set (times in {}).", r.name, r.time_zone));
            print_hours(ctx, &body, &r.time_zone)
        }
    }
}

fn print_hours(ctx: &Ctx, body: &Value, zone: &str) -> Result<(), Failure> {
    let days = body["business_hours"]["days"].as_array().cloned();
    let mut table = Table::new(&["day", "hours"]);
    match days {
        None => table.row(vec!["all".into(), format!("open around the clock ({zone})").into()]),
        Some(days) => {
            for (name, ranges) in DAYS.iter().zip(days) {
                let text: Vec<String> = ranges
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| format!("{}-{}", short(&r["start"]), short(&r["end"])))
                    .collect();
                let text = if text.is_empty() { "closed".to_string() } else { text.join(",") };
                table.row(vec![(*name).into(), text.into()]);
            }
        }
    }
    ctx.out.list(body, table)
}

fn short(v: &Value) -> String {
    v.as_str().map(|s| s.get(..5).unwrap_or(s).to_string()).unwrap_or_default()
}

/// `mon-fri=08:00-18:00 sat=10:00-14:00` as `{"days": [[{start, end}], …]}` (Monday first).
fn parse_week(specs: &[String]) -> Result<Value, String> {
    let mut week: Vec<Vec<Value>> = vec![Vec::new(); 7];
    for spec in specs {
        let (days, ranges) = spec.split_once('=').ok_or_else(|| format!("{spec:?}: expected DAYS=HH:MM-HH:MM"))?;
        let days = parse_days(days)?;
        for range in ranges.split(',') {
            let (start, end) = range.split_once('-').ok_or_else(|| format!("{range:?}: expected HH:MM-HH:MM"))?;
            let time = |t: &str| {
                NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .map_err(|_| format!("{t:?} is not a time like 08:00"))
            };
            let (start, end) = (time(start)?, time(end)?);
            for &day in &days {
                week[day].push(json!({ "start": start, "end": end }));
            }
        }
    }
    Ok(json!({ "days": week }))
}

/// `mon`, `mon-fri`, `sat,sun` as day indexes, Monday 0.
fn parse_days(text: &str) -> Result<Vec<usize>, String> {
    let index = |d: &str| {
        let d = d.trim().to_ascii_lowercase();
        DAYS.iter().position(|name| d.starts_with(name)).ok_or_else(|| format!("{d:?} is not a day (mon … sun)"))
    };
    let mut days = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (index(from)?, index(to)?);
                if from > to {
                    return Err(format!("{part:?}: the week starts on Monday"));
                }
                days.extend(from..=to);
            }
            None => days.push(index(part)?),
        }
    }
    Ok(days)
}

pub async fn blackouts(ctx: &Ctx, command: BlackoutsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        BlackoutsCommand::List { resource } => {
            let r = ctx.resource(&client, &resource).await?;
            let list = client.blackouts(r.id).await?;
            let mut table = Table::new(&["id", "start", "end", "reason"]).in_zone(ctx.zone_of(&r));
            for b in &list {
                table.row(vec![
                    b.id.to_string().into(),
                    b.range.start.into(),
                    b.range.end.into(),
                    b.reason.clone().into(),
                ]);
            }
            ctx.out.list(&list, table)
        }
        BlackoutsCommand::Add { resource, start, end, reason } => {
            let r = ctx.resource(&client, &resource).await?;
            let zone = ctx.zone_of(&r);
            let (start, end) = (ctx.instant_in(&start, zone)?, ctx.instant_in(&end, zone)?);
            let added = client.add_blackout(r.id, start, end, &reason).await?;
            ctx.out.note(&format!("Blackout added to {}.", r.name));
            let fields = vec![
                ("id", added.id.to_string().into()),
                ("start", start.into()),
                ("end", end.into()),
                ("reason", reason.into()),
            ];
            ctx.out.record(&added, fields, Some(zone))
        }
        BlackoutsCommand::Remove { resource, id } => {
            let r = ctx.resource(&client, &resource).await?;
            client.remove_blackout(r.id, id).await?;
            ctx.out.note(&format!("Blackout {id} removed from {}.", r.name));
            Ok(())
        }
    }
}

pub async fn groups(ctx: &Ctx, command: GroupsCommand) -> Result<(), Failure> {
    let GroupsCommand::Tree = command;
    let tree = ctx.client()?.group_tree().await?;
    let mut table = Table::new(&["group", "id", "description"]);
    fn walk(nodes: &[GroupNode], depth: usize, table: &mut Table) {
        for node in nodes {
            let name = format!("{}{}", "  ".repeat(depth), node.name);
            table.row(vec![name.into(), node.group_id.to_string().into(), node.description.clone().into()]);
            walk(&node.children, depth + 1, table);
        }
    }
    walk(&tree, 0, &mut table);
    ctx.out.list(&tree, table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_read_monday_first() {
        let week = parse_week(&["mon-fri=08:00-12:00,13:00-17:00".into(), "sat=10:00-14:00".into()]).unwrap();
        assert_eq!(week["days"][0][1], json!({"start": "13:00:00", "end": "17:00:00"}));
        assert_eq!(week["days"][4].as_array().unwrap().len(), 2);
        assert_eq!(week["days"][5][0]["start"], "10:00:00");
        assert_eq!(week["days"][6], json!([]));
        assert!(parse_week(&["fri-mon=08:00-09:00".into()]).is_err());
        assert!(parse_week(&["mon=8am-9am".into()]).is_err());
    }
}

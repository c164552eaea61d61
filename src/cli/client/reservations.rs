//! `reservations list|show|cancel|history|ics`, `check-in`, `waitlist …`, `approvals …`.

use std::collections::HashMap;

use reserver_client::{Client, Reservation};
use uuid::Uuid;

use super::Ctx;
use crate::cli::args::{ApprovalsCommand, ReservationsCommand, WaitlistCommand};
use crate::cli::exit::Failure;
use crate::cli::output::{Cell, Table};
use crate::cli::when;

pub async fn run(ctx: &Ctx, command: ReservationsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        ReservationsCommand::List { upcoming, past, page } => {
            let scope = if upcoming {
                "upcoming"
            } else if past {
                "past"
            } else {
                "all"
            };
            let list = ctx
                .pages(&page, |p| {
                    let client = client.clone();
                    async move { client.my_reservations(scope, &p).await }
                })
                .await?;
            table(ctx, &client, &list).await
        }
        ReservationsCommand::Show { id } => {
            let r = client.reservation(id).await?;
            let names = names(&client, [r.resource_id]).await;
            let mut fields = vec![
                ("id", r.id.to_string().into()),
                ("resource", names.get(&r.resource_id).cloned().unwrap_or_else(|| r.resource_id.to_string()).into()),
                ("start", r.start_time.into()),
                ("end", r.end_time.into()),
                ("status", Cell::Status(r.status.clone())),
            ];
            if let Some(series) = r.series_id {
                fields.push(("series", series.to_string().into()));
            }
            for (name, at) in [
                ("approval_deadline", r.approval_deadline),
                ("offer_expires_at", r.offer_expires_at),
                ("checked_in_at", r.checked_in_at),
            ] {
                if at.is_some() {
                    fields.push((name, at.into()));
                }
            }
            if let Some(comment) = &r.comment {
                fields.push(("comment", comment.clone().into()));
            }
            ctx.out.record(&r, fields, None)
        }
        ReservationsCommand::Cancel { id, reason, this_and_following, series } => {
            if this_and_following || series {
                let r = client.reservation(id).await?;
                let series_id =
                    r.series_id.ok_or_else(|| Failure::Usage(format!("reservation {id} is not part of a series")))?;
                let answer = client.cancel_series(series_id, this_and_following.then_some(id)).await?;
                let count = answer["cancelled"].as_u64().unwrap_or_default();
                ctx.out.note(&format!("{count} reservation(s) of series {series_id} cancelled."));
                ctx.out.record(
                    &answer,
                    vec![("series", series_id.to_string().into()), ("cancelled", count.to_string().into())],
                    None,
                )
            } else {
                let answer = client.cancel(id, reason.as_deref()).await?;
                ctx.out.note(&format!("Reservation {id} cancelled."));
                ctx.out.record(
                    &answer,
                    vec![("id", id.to_string().into()), ("result", text(&answer["result"]).into())],
                    None,
                )
            }
        }
        ReservationsCommand::History { id } => {
            let history = client.history(id).await?;
            let mut table = Table::new(&["position", "at", "event"]);
            for h in &history {
                table.row(vec![h.position.to_string().into(), h.at.into(), h.event_type.clone().into()]);
            }
            ctx.out.list(&history, table)
        }
        ReservationsCommand::Create(args) => super::booking::book(ctx, args).await,
        ReservationsCommand::Ics { id, file } => {
            let ics = client.reservation_ics(id).await?;
            match file {
                Some(path) => {
                    std::fs::write(&path, ics)
                        .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
                    ctx.out.note(&format!("Written to {}; open it with your calendar.", path.display()));
                    Ok(())
                }
                None => ctx.out.raw(&ics),
            }
        }
    }
}

/// Reservations with their resources' names.
async fn table(ctx: &Ctx, client: &Client, list: &[Reservation]) -> Result<(), Failure> {
    let names = names(client, list.iter().map(|r| r.resource_id)).await;
    let mut table = Table::new(&["id", "resource", "start", "end", "status"]);
    for r in list {
        table.row(vec![
            r.id.to_string().into(),
            names.get(&r.resource_id).cloned().unwrap_or_else(|| r.resource_id.to_string()).into(),
            r.start_time.into(),
            r.end_time.into(),
            Cell::Status(r.status.clone()),
        ]);
    }
    ctx.out.list(list, table)
}

/// Names of resources by id (at most 50 looked up; others are shown by id).
async fn names(client: &Client, ids: impl IntoIterator<Item = Uuid>) -> HashMap<Uuid, String> {
    let mut unique: Vec<Uuid> = ids.into_iter().collect();
    unique.sort();
    unique.dedup();
    unique.truncate(50);
    let lookups = unique.into_iter().map(|id| async move { client.resource(id).await.ok().map(|(r, _)| (id, r.name)) });
    futures::future::join_all(lookups).await.into_iter().flatten().collect()
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

pub async fn check_in(ctx: &Ctx, id: Uuid) -> Result<(), Failure> {
    let answer = ctx.client()?.check_in(id).await?;
    ctx.out.note(&format!("Checked in to {id}."));
    ctx.out.record(&answer, vec![("id", id.to_string().into()), ("result", text(&answer["result"]).into())], None)
}

pub async fn waitlist(ctx: &Ctx, command: WaitlistCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        WaitlistCommand::Join { resource, start, end, duration, flexible } => {
            let r = ctx.resource(&client, &resource).await?;
            let zone = ctx.zone_of(&r);
            let start = ctx.instant_in(&start, zone)?;
            let end = match (end, duration) {
                (Some(end), _) => ctx.instant_in(&end, zone)?,
                (None, Some(d)) => start + when::duration(&d).map_err(Failure::Usage)?,
                (None, None) => return Err(Failure::Usage("give an END or --for DURATION".into())),
            };
            let flexible = when::minutes(&flexible).map_err(Failure::Usage)?;
            let joined = client.join_waitlist(r.id, start, end, flexible).await?;
            let offered = joined.get("offered").and_then(|v| v.as_bool()).unwrap_or(false);
            ctx.out.note(if offered {
                "The slot is free now: you have an offer; accept it with `reserver waitlist accept ID`."
            } else {
                "On the waitlist; you get an offer when the slot frees up."
            });
            let id = joined.get("id").map(text).unwrap_or_default();
            ctx.out.record(
                &joined,
                vec![
                    ("id", id.into()),
                    ("resource", r.name.clone().into()),
                    ("start", start.into()),
                    ("end", end.into()),
                ],
                Some(zone),
            )
        }
        WaitlistCommand::List => {
            let entries = client.my_waitlist().await?;
            let names = names(&client, entries.iter().map(|e| e.entry.resource_id)).await;
            let mut table = Table::new(&["id", "resource", "start", "end", "position", "flex_minutes"]);
            for e in &entries {
                table.row(vec![
                    e.entry.entry_id.to_string().into(),
                    names.get(&e.entry.resource_id).cloned().unwrap_or_else(|| e.entry.resource_id.to_string()).into(),
                    e.entry.desired.start.into(),
                    e.entry.desired.end.into(),
                    e.position.map(|p| p.to_string()).unwrap_or_else(|| "offered".into()).into(),
                    e.entry.flex_minutes.to_string().into(),
                ]);
            }
            ctx.out.list(&entries, table)
        }
        WaitlistCommand::Accept { id } => answer(ctx, client.answer_offer(id, true).await?, "Offer accepted."),
        WaitlistCommand::Decline { id } => answer(ctx, client.answer_offer(id, false).await?, "Offer declined."),
        WaitlistCommand::Leave { id } => answer(ctx, client.leave_waitlist(id).await?, "Left the waitlist."),
    }
}

fn answer(ctx: &Ctx, answer: serde_json::Value, note: &str) -> Result<(), Failure> {
    ctx.out.note(note);
    ctx.out.value(&answer)
}

pub async fn approvals(ctx: &Ctx, command: ApprovalsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        ApprovalsCommand::List { resource, page } => {
            let resource = match resource {
                Some(name) => Some(ctx.resource(&client, &name).await?.id),
                None => None,
            };
            let list = ctx
                .pages(&page, |p| {
                    let client = client.clone();
                    async move { client.pending_approvals(resource, &p).await }
                })
                .await?;
            table(ctx, &client, &list).await
        }
        ApprovalsCommand::Approve { id, comment } => {
            answer(ctx, client.respond(id, true, comment.as_deref()).await?, "Approved.")
        }
        ApprovalsCommand::Reject { id, reason } => {
            answer(ctx, client.respond(id, false, Some(&reason)).await?, "Rejected.")
        }
    }
}

//! `find`, `availability`, `book` (once or recurring, with a preview).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use reserver_client::{Error as ApiError, Problem, Resource, SeriesRequest, SeriesResult, SlotSearch};

use super::Ctx;
use crate::cli::args::{AvailabilityArgs, BookArgs, FindArgs};
use crate::cli::exit::{Exit, Failure};
use crate::cli::output::{Cell, Table};
use crate::cli::when;

pub async fn find(ctx: &Ctx, args: FindArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let zone = ctx.out.zone;
    let minutes = when::minutes(&args.duration).map_err(Failure::Usage)?;
    let (start, end) = match args.between.as_slice() {
        [from, to] => (ctx.instant_in(from, zone)?, ctx.instant_in(to, zone)?),
        _ => (ctx.now, ctx.now + Duration::hours(24)),
    };
    if end <= start {
        return Err(Failure::Usage("the window's end must be after its start".into()));
    }
    let search = SlotSearch {
        tags: args.tags,
        min_capacity: args.capacity,
        kind: args.kind,
        start: Some(start),
        end: Some(end),
        duration_minutes: minutes,
        limit: args.limit,
        ..SlotSearch::default()
    };
    let hits = client.search_slots(&search).await?;
    let mut table = Table::new(&["resource", "start", "end", "capacity", "id"]).in_zone(zone);
    for hit in &hits {
        for slot in &hit.slots {
            table.row(vec![
                hit.name.clone().into(),
                slot.start.into(),
                slot.end.into(),
                hit.capacity.to_string().into(),
                hit.resource_id.to_string().into(),
            ]);
        }
    }
    if hits.is_empty() {
        ctx.out.note("No free slot matches.");
    }
    ctx.out.list(&hits, table)
}

pub async fn availability(ctx: &Ctx, args: AvailabilityArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let r = ctx.resource(&client, &args.resource).await?;
    let zone = ctx.zone_of(&r);
    let minutes = when::minutes(&args.duration).map_err(Failure::Usage)?;
    match args.date {
        Some(text) => {
            let date = when::date(&text, zone, ctx.now).map_err(Failure::Usage)?;
            let slots = client.free_slots(r.id, date, minutes).await?;
            let mut table = Table::new(&["start", "end"]).in_zone(zone);
            for s in &slots {
                table.row(vec![s.start_time.into(), s.end_time.into()]);
            }
            if slots.is_empty() {
                ctx.out.note(&format!("No free {minutes}-minute slot for {} on {date}.", r.name));
            }
            ctx.out.list(&slots, table)
        }
        None => {
            let summary = client.availability(r.id, args.days.clamp(1, 365), Some(minutes)).await?;
            let mut table = Table::new(&["date", "open_minutes", "free_slots", "first_free"]).in_zone(zone);
            for day in &summary.days {
                table.row(vec![
                    day.date.to_string().into(),
                    day.open_minutes.to_string().into(),
                    day.free_slots.to_string().into(),
                    day.first_free.map(|r| r.start).into(),
                ]);
            }
            ctx.out.list(&summary, table)
        }
    }
}

pub async fn book(ctx: &Ctx, args: BookArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let r = ctx.resource(&client, &args.resource).await?;
    let zone = ctx.zone_of(&r);
    let start = ctx.instant_in(&args.start, zone)?;
    let end = match (&args.end, &args.duration) {
        (Some(end), _) => ctx.instant_in(end, zone)?,
        (None, Some(length)) => start + when::duration(length).map_err(Failure::Usage)?,
        (None, None) => return Err(Failure::Usage("give an END or --for DURATION".into())),
    };
    if end <= start {
        return Err(Failure::Usage("the end must be after the start".into()));
    }
    let Some(rrule) = args.repeat else {
        return match client.book(r.id, start, end).await {
            Ok(reservation) => {
                ctx.out.note(&format!("Booked {} ({}).", r.name, reservation.status));
                let fields = vec![
                    ("id", reservation.id.to_string().into()),
                    ("resource", r.name.clone().into()),
                    ("start", reservation.start_time.into()),
                    ("end", reservation.end_time.into()),
                    ("status", Cell::Status(reservation.status.clone())),
                ];
                ctx.out.record(&reservation, fields, Some(zone))
            }
            Err(ApiError::Problem(p)) if p.is_refusal() => refused(ctx, &r, zone, &p),
            Err(e) => Err(e.into()),
        };
    };
    if args.preview && !client.documents("/components/schemas/SeriesInput", "dry_run").await {
        ctx.out.note(
            "This server cannot preview a series without booking it (it needs a newer release); nothing was sent.",
        );
        return Err(Failure::Reported(Exit::NotFound));
    }
    // The server expands the rule on the resource's wall clock.
    let resource_zone: Tz = r.time_zone.parse().unwrap_or(Tz::UTC);
    let exdates = args
        .except
        .iter()
        .map(|t| ctx.instant_in(t, zone).map(|i| i.with_timezone(&resource_zone).naive_local()))
        .collect::<Result<Vec<_>, _>>()?;
    let request = SeriesRequest {
        resource_id: r.id,
        rrule,
        start_local: start.with_timezone(&resource_zone).naive_local(),
        duration_minutes: u32::try_from((end - start).num_minutes()).unwrap_or(0),
        exdates,
        skip_conflicts: args.skip_conflicts,
    };
    match client.book_series(&request, args.preview).await {
        Ok(result) => {
            let note = if args.preview {
                let bookable = result.bookable.map(|b| {
                    if b {
                        " — it can be booked as asked"
                    } else {
                        " — it cannot be booked as asked"
                    }
                });
                format!(
                    "Preview of {} occurrence(s), nothing booked{}.",
                    result.occurrences.len(),
                    bookable.unwrap_or_default()
                )
            } else {
                let booked = result.occurrences.iter().filter(|o| o.outcome.reservation_id().is_some()).count();
                format!(
                    "Series {} booked: {booked} of {} occurrence(s).",
                    result.series_id.map(|s| s.to_string()).unwrap_or_default(),
                    result.occurrences.len()
                )
            };
            ctx.out.note(&note);
            occurrences(ctx, &result, zone)
        }
        Err(ApiError::Problem(p)) if p.is_refusal() && !p.occurrences.is_empty() => {
            ctx.out.note(&format!("Refused: {} Nothing was booked; each occurrence:", p.sentence()));
            let result = SeriesResult {
                series_id: None,
                dry_run: false,
                bookable: Some(false),
                occurrences: p.occurrences.clone(),
            };
            occurrences(ctx, &result, zone)?;
            Err(Failure::Reported(Exit::Refused))
        }
        Err(ApiError::Problem(p)) if p.is_refusal() => refused(ctx, &r, zone, &p),
        Err(e) => Err(e.into()),
    }
}

fn occurrences(ctx: &Ctx, result: &SeriesResult, zone: Tz) -> Result<(), Failure> {
    let mut table = Table::new(&["start", "end", "outcome", "reservation", "reason"]).in_zone(zone);
    for o in &result.occurrences {
        table.row(vec![
            o.range.start.into(),
            o.range.end.into(),
            Cell::Status(o.outcome.label().into()),
            o.outcome.reservation_id().map(|id| id.to_string()).unwrap_or_default().into(),
            o.outcome.reason().into(),
        ]);
    }
    ctx.out.list(result, table)
}

/// A refused booking: the reason and the conflicts on stderr, the next free slots as data on
/// stdout (so a script can take the first), exit 4.
fn refused(ctx: &Ctx, r: &Resource, zone: Tz, p: &Problem) -> Result<(), Failure> {
    let human = |t: DateTime<Utc>| ctx.out.human(&Cell::Time(Some(t)), zone);
    ctx.out.note(&format!("Refused: {}", p.sentence()));
    for field in &p.errors {
        ctx.out.note(&format!("  {}: {}", field.field, field.message));
    }
    for c in &p.conflicts {
        ctx.out.note(&format!(
            "  conflicts with {} ({} – {})",
            c.reservation_id,
            human(c.range.start),
            human(c.range.end)
        ));
    }
    if p.next_free_slots.is_empty() {
        ctx.out.note(&format!("No free slot of that length soon; try `reserver availability {:?}`.", r.name));
    } else {
        ctx.out.note("Next free slots:");
        let mut table = Table::new(&["start", "end"]).in_zone(zone);
        for s in &p.next_free_slots {
            table.row(vec![s.start.into(), s.end.into()]);
        }
        ctx.out.list(p, table)?;
    }
    Err(Failure::Reported(Exit::Refused))
}

//! `webhooks …`, `audit list|export`, `analytics utilization|peaks`.

use std::io::Write;

use reserver_client::{AnalyticsWindow, AuditFilter};
use serde_json::Value;

use super::Ctx;
use crate::cli::args::{AnalyticsCommand, AuditCommand, AuditFilterArgs, WebhooksCommand, WindowArgs};
use crate::cli::exit::Failure;
use crate::cli::output::{Cell, Table};
use crate::cli::terminal;

pub async fn webhooks(ctx: &Ctx, command: WebhooksCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        WebhooksCommand::List => {
            let hooks = client.webhooks().await?;
            let mut table = Table::new(&["id", "url", "events", "active", "description"]);
            for h in &hooks {
                let active = if h.active {
                    "active".to_string()
                } else {
                    h.disabled_reason.clone().unwrap_or_else(|| "disabled".into())
                };
                table.row(vec![
                    h.id.to_string().into(),
                    h.url.clone().into(),
                    h.event_types.join(",").into(),
                    Cell::Status(active),
                    h.description.clone().into(),
                ]);
            }
            ctx.out.list(&hooks, table)
        }
        WebhooksCommand::Create { url, events, description } => {
            let hook = client.create_webhook(&url, &events, description.as_deref()).await?;
            ctx.out.note("Webhook created. Its signing secret is shown this once: keep it with the receiver.");
            let fields = vec![
                ("id", hook.id.to_string().into()),
                ("url", hook.url.clone().into()),
                ("events", hook.event_types.join(",").into()),
                ("secret", hook.secret.clone().unwrap_or_default().into()),
            ];
            ctx.out.record(&hook, fields, None)
        }
        WebhooksCommand::Test { id } => {
            let queued = client.test_webhook(id).await?;
            ctx.out.note("Ping queued; `reserver webhooks deliveries ID` shows how it went.");
            ctx.out.value(&queued)
        }
        WebhooksCommand::Deliveries { id, status, page } => {
            let list = ctx
                .pages(&page, |p| {
                    let (client, status) = (client.clone(), status.clone());
                    async move { client.deliveries(id, status.as_deref(), &p).await }
                })
                .await?;
            let mut table = Table::new(&["id", "event", "status", "attempts", "created", "next_attempt"]);
            for d in &list {
                table.row(vec![
                    d.id.to_string().into(),
                    d.event_type.clone().into(),
                    Cell::Status(d.status.clone()),
                    d.attempt_count.to_string().into(),
                    d.created_at.into(),
                    d.next_attempt_at.into(),
                ]);
            }
            ctx.out.list(&list, table)
        }
        WebhooksCommand::Redeliver { id, delivery } => {
            let queued = client.redeliver(id, delivery).await?;
            ctx.out.note("Delivery queued again.");
            ctx.out.value(&queued)
        }
        WebhooksCommand::RotateSecret { id } => {
            let rotated = client.rotate_webhook_secret(id).await?;
            ctx.out.note("New secret (shown once); the previous one keeps signing until previous_valid_until.");
            ctx.out.value(&rotated)
        }
    }
}

async fn filter(ctx: &Ctx, client: &reserver_client::Client, args: &AuditFilterArgs) -> Result<AuditFilter, Failure> {
    let zone = ctx.out.zone;
    Ok(AuditFilter {
        actor: args.actor.clone(),
        action: args.action.clone(),
        resource_id: match &args.resource {
            Some(name) => Some(ctx.resource(client, name).await?.id),
            None => None,
        },
        from: args.from.as_deref().map(|t| ctx.instant_in(t, zone)).transpose()?,
        to: args.to.as_deref().map(|t| ctx.instant_in(t, zone)).transpose()?,
        page: Default::default(),
    })
}

pub async fn audit(ctx: &Ctx, command: AuditCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        AuditCommand::List { filter: args, page } => {
            let base = filter(ctx, &client, &args).await?;
            let entries = ctx
                .pages(&page, |p| {
                    let (client, f) = (client.clone(), AuditFilter { page: p, ..base.clone() });
                    async move { client.audit(&f).await }
                })
                .await?;
            let mut table = Table::new(&["position", "at", "action", "actor", "target", "ip"]);
            for e in &entries {
                table.row(vec![
                    e.position.to_string().into(),
                    e.recorded_at.into(),
                    e.action.clone().into(),
                    e.actor.clone().unwrap_or_default().into(),
                    e.target.clone().into(),
                    e.client_ip.clone().unwrap_or_default().into(),
                ]);
            }
            ctx.out.list(&entries, table)
        }
        AuditCommand::Export { filter: args, json, file } => {
            let f = filter(ctx, &client, &args).await?;
            let response = client.audit_export(&f, json).await?;
            download(ctx, response, file.as_deref(), "audit trail").await
        }
    }
}

/// Streams a download to a file or stdout, with a byte progress bar on a terminal.
async fn download(
    ctx: &Ctx,
    mut response: reqwest::Response,
    file: Option<&std::path::Path>,
    what: &str,
) -> Result<(), Failure> {
    let bar = terminal::download(response.content_length(), &format!("downloading the {what}"));
    let mut sink: Box<dyn Write> = match file {
        Some(path) => Box::new(
            std::fs::File::create(path).map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut total = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| Failure::Other(format!("download interrupted: {e}")))? {
        sink.write_all(&chunk)?;
        total += chunk.len() as u64;
        bar.set_position(total);
    }
    sink.flush()?;
    bar.finish_and_clear();
    if let Some(path) = file {
        ctx.out.note(&format!("The {what} ({total} bytes) written to {}.", path.display()));
    }
    Ok(())
}

pub async fn analytics(ctx: &Ctx, command: AnalyticsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let (args, peaks) = match command {
        AnalyticsCommand::Utilization(args) => (args, false),
        AnalyticsCommand::Peaks(args) => (args, true),
    };
    let window = window(ctx, &client, &args).await?;
    if !peaks {
        if args.csv {
            let response = client.utilization_csv(&window).await?;
            return download(ctx, response, None, "utilization").await;
        }
        let data = client.utilization(&window).await?;
        let mut table = Table::new(&["date", "resource", "booked_minutes", "open_minutes", "utilization"]);
        for day in data["by_day"].as_array().into_iter().flatten() {
            table.row(vec![
                text(&day["date"]).into(),
                text(&day["resource_id"]).into(),
                text(&day["booked_minutes"]).into(),
                text(&day["open_minutes"]).into(),
                percent(&day["utilization"]).into(),
            ]);
        }
        return ctx.out.list(&data, table);
    }
    let data = client.dashboard(&window).await?;
    let mut peaks: Vec<Value> = data["peak_times"].as_array().cloned().unwrap_or_default();
    peaks.sort_by(|a, b| b["utilization"].as_f64().unwrap_or(0.0).total_cmp(&a["utilization"].as_f64().unwrap_or(0.0)));
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut table = Table::new(&["weekday", "hour", "booked_minutes", "utilization"]);
    for p in &peaks {
        let day = p["weekday"].as_u64().and_then(|d| DAYS.get(d as usize)).copied().unwrap_or("?");
        table.row(vec![
            day.into(),
            format!("{:02}:00", p["hour"].as_u64().unwrap_or(0)).into(),
            text(&p["booked_minutes"]).into(),
            percent(&p["utilization"]).into(),
        ]);
    }
    if args.csv {
        let csv = crate::cli::output::Output { format: crate::cli::args::Format::Csv, ..ctx.out.clone() };
        return csv.list(&peaks, table);
    }
    ctx.out.list(&peaks, table)
}

async fn window(ctx: &Ctx, client: &reserver_client::Client, args: &WindowArgs) -> Result<AnalyticsWindow, Failure> {
    let resource_id = match &args.resource {
        Some(name) => Some(ctx.resource(client, name).await?.id),
        None => None,
    };
    Ok(AnalyticsWindow { days: Some(args.days.clamp(1, 366)), resource_id, ..AnalyticsWindow::default() })
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| if v.is_null() { String::new() } else { v.to_string() })
}

fn percent(v: &Value) -> String {
    v.as_f64().map(|f| format!("{:.1}%", f * 100.0)).unwrap_or_default()
}

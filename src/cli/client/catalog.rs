//! `resources list|show|create|update|import|export`.

use std::io::Read;

use reserver_client::{Resource, ResourceFields, ResourceFilter};
use serde_json::{json, Value};

use super::Ctx;
use crate::cli::args::{ResourceFieldArgs, ResourceListArgs, ResourcesCommand};
use crate::cli::exit::{Exit, Failure};
use crate::cli::output::{Cell, Table};
use crate::cli::{terminal, when};

pub async fn run(ctx: &Ctx, command: ResourcesCommand) -> Result<(), Failure> {
    match command {
        ResourcesCommand::List(args) => list(ctx, args).await,
        ResourcesCommand::Show { resource } => {
            let client = ctx.client()?;
            let r = ctx.resource(&client, &resource).await?;
            show(ctx, &r)
        }
        ResourcesCommand::Create(args) => {
            let mut fields = fields(&args.fields, None)?;
            fields.insert("name".into(), json!(args.name));
            if args.unavailable {
                fields.insert("available".into(), json!(false));
            }
            let created = ctx.client()?.create_resource(&fields).await?;
            ctx.out.note(&format!("Resource {} created.", created.name));
            show(ctx, &created)
        }
        ResourcesCommand::Update(args) => {
            let client = ctx.client()?;
            let found = ctx.resource(&client, &args.resource).await?;
            let (current, etag) = client.resource(found.id).await?;
            let mut fields = fields(&args.fields, Some(&current))?;
            if let Some(name) = args.name {
                fields.insert("name".into(), json!(name));
            }
            let mut updated = current.clone();
            if !fields.is_empty() {
                updated = client.update_resource(current.id, etag.as_deref(), &fields).await?;
            }
            if let Some(status) = args.status {
                client.set_resource_status(current.id, &status).await?;
                updated = client.resource(current.id).await?.0;
            }
            if fields.is_empty() && updated.status == current.status {
                return Err(Failure::Usage("nothing to change: give at least one field".into()));
            }
            ctx.out.note(&format!("Resource {} updated.", updated.name));
            show(ctx, &updated)
        }
        ResourcesCommand::Import { file, dry_run } => import(ctx, &file, dry_run).await,
        ResourcesCommand::Export { file } => export(ctx, file.as_deref()).await,
    }
}

async fn list(ctx: &Ctx, args: ResourceListArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let base = ResourceFilter {
        tags: args.tags,
        status: args.status,
        kind: args.kind,
        q: args.query,
        ..ResourceFilter::default()
    };
    let resources = ctx
        .pages(&args.page, |page| {
            let filter = ResourceFilter { page, ..base.clone() };
            let client = client.clone();
            async move { client.resources(&filter).await }
        })
        .await?;
    let mut headers = vec!["id", "name", "kind", "capacity", "status", "tags"];
    if args.details {
        headers.extend(["zone", "location", "description"]);
    }
    let mut table = Table::new(&headers);
    for r in &resources {
        let mut row: Vec<Cell> = vec![
            r.id.to_string().into(),
            r.name.clone().into(),
            r.kind.clone().into(),
            r.capacity.to_string().into(),
            Cell::Status(r.status.clone()),
            r.tags.join(",").into(),
        ];
        if args.details {
            row.extend([r.time_zone.clone().into(), r.location.clone().into(), r.description.clone().into()]);
        }
        table.row(row);
    }
    ctx.out.list(&resources, table)
}

fn show(ctx: &Ctx, r: &Resource) -> Result<(), Failure> {
    let policy = |key: &str| r.policy.get(key).map(|v| v.to_string()).unwrap_or_default();
    let fields = vec![
        ("id", r.id.to_string().into()),
        ("name", r.name.clone().into()),
        ("kind", r.kind.clone().into()),
        ("status", Cell::Status(r.status.clone())),
        ("capacity", r.capacity.to_string().into()),
        ("tags", r.tags.join(",").into()),
        ("zone", r.time_zone.clone().into()),
        ("location", r.location.clone().into()),
        ("description", r.description.clone().into()),
        ("min_duration_minutes", policy("min_duration_minutes").into()),
        ("max_duration_minutes", policy("max_duration_minutes").into()),
        ("requires_approval", policy("requires_approval").into()),
        (
            "business_hours",
            if r.business_hours.is_some() { "set (reserver hours show)" } else { "open around the clock" }.into(),
        ),
    ];
    ctx.out.record(r, fields, None)
}

/// The JSON members the flags set; a changed policy is merged into `current`'s (PATCH
/// replaces the whole policy).
fn fields(args: &ResourceFieldArgs, current: Option<&Resource>) -> Result<ResourceFields, Failure> {
    let mut fields = ResourceFields::new();
    if let Some(tags) = &args.tags {
        fields.insert("tags".into(), json!(tags));
    }
    for (key, value) in [
        ("kind", &args.kind),
        ("time_zone", &args.zone),
        ("location", &args.location),
        ("description", &args.description),
    ] {
        if let Some(v) = value {
            fields.insert(key.into(), json!(v));
        }
    }
    if let Some(capacity) = args.capacity {
        fields.insert("capacity".into(), json!(capacity));
    }
    let mut policy = current.map(|r| r.policy.clone()).unwrap_or_default();
    let mut changed = false;
    for (key, value) in [("min_duration_minutes", &args.min_duration), ("max_duration_minutes", &args.max_duration)] {
        if let Some(text) = value {
            policy.insert(key.into(), json!(when::minutes(text).map_err(Failure::Usage)?));
            changed = true;
        }
    }
    if let Some(required) = args.requires_approval {
        policy.insert("requires_approval".into(), json!(required));
        changed = true;
    }
    if changed {
        fields.insert("policy".into(), Value::Object(policy));
    }
    Ok(fields)
}

async fn import(ctx: &Ctx, path: &std::path::Path, dry_run: bool) -> Result<(), Failure> {
    let text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| Failure::Other(format!("cannot read {}: {e}", path.display())))?
    };
    let rows = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes()).records().count();
    let client = ctx.client()?;
    // An older server ignores `dry_run` and would create the rows: ask its API document first.
    if dry_run && !client.documents("/paths/~1api~1v1~1resources~1upload/post", "dry_run").await {
        ctx.out.note(
            "This server cannot validate a CSV without importing it (it needs a newer release); nothing was sent.",
        );
        return Err(Failure::Reported(Exit::NotFound));
    }
    let bar = terminal::progress(None, &format!("{} {rows} row(s)", if dry_run { "validating" } else { "importing" }));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = client.import_resources(text, dry_run).await;
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(reserver_client::Error::Problem(p)) if !p.errors.is_empty() => {
            ctx.out.note(&format!("{} Nothing was imported.", p.sentence()));
            let mut table = Table::new(&["field", "message"]);
            for e in &p.errors {
                table.row(vec![e.field.clone().into(), e.message.clone().into()]);
            }
            ctx.out.list(&p.errors, table)?;
            return Err(Failure::Reported(Exit::Error));
        }
        Err(e) => return Err(e.into()),
    };
    if !report.errors.is_empty() {
        let mut table = Table::new(&["row", "field", "message"]);
        for e in &report.errors {
            let text = |k: &str| {
                e.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default()
            };
            let row = if e.get("row").is_some() { text("row") } else { text("line") };
            table.row(vec![row.into(), text("field").into(), text("message").into()]);
        }
        ctx.out.note(&format!("{} of {rows} row(s) are invalid; nothing was imported.", report.errors.len()));
        ctx.out.list(&report.errors, table)?;
        return Err(Failure::Reported(Exit::Error));
    }
    if dry_run {
        ctx.out.note(&format!("{rows} row(s) valid; nothing was imported (dry run)."));
        return ctx.out.record(&report, vec![("valid_rows", rows.to_string().into())], None);
    }
    ctx.out.note(&format!("{} resource(s) created.", report.count));
    let mut table = Table::new(&["id", "name", "status", "tags"]);
    for r in &report.created {
        table.row(vec![
            r.id.to_string().into(),
            r.name.clone().into(),
            Cell::Status(r.status.clone()),
            r.tags.join(",").into(),
        ]);
    }
    ctx.out.list(&report, table)
}

/// The columns `POST /resources/upload` reads, so an export imports again.
const EXPORT_COLUMNS: [&str; 8] =
    ["name", "tags", "available", "capacity", "kind", "time_zone", "description", "location"];

async fn export(ctx: &Ctx, file: Option<&std::path::Path>) -> Result<(), Failure> {
    let client = ctx.client()?;
    let all = crate::cli::args::PageArgs { limit: 500, cursor: None, all: true };
    let resources = ctx
        .pages(&all, |page| {
            let client = client.clone();
            async move { client.resources(&ResourceFilter { page, ..ResourceFilter::default() }).await }
        })
        .await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Failure::Other(format!("cannot write CSV: {e}"));
    writer.write_record(EXPORT_COLUMNS).map_err(fail)?;
    for r in resources.iter().filter(|r| r.status != "retired") {
        let available = if r.status == "available" { "true" } else { "false" };
        let capacity = r.capacity.to_string();
        let row = [
            r.name.as_str(),
            &r.tags.join(";"),
            available,
            &capacity,
            &r.kind,
            &r.time_zone,
            &r.description,
            &r.location,
        ];
        writer.write_record(row).map_err(fail)?;
    }
    let bytes = writer.into_inner().map_err(|e| Failure::Other(e.to_string()))?;
    match file {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| Failure::Other(format!("cannot write {}: {e}", path.display())))?;
            ctx.out.note(&format!("{} resource(s) written to {}.", resources.len(), path.display()));
            Ok(())
        }
        None => ctx.out.raw(&String::from_utf8_lossy(&bytes)),
    }
}

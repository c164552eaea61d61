//! `POST /api/v1/resources/upload`: bulk creation from CSV, sent as the body (`text/csv`) or as
//! the `file` part of a `multipart/form-data` upload (what a browser form sends). The file is
//! read under the service's CSV rules (`reserver_app::csv_table`): a header naming the columns
//! `name` (required), `tags` (separated by `,`, `;` or `|` inside the field), `available`,
//! `capacity`, `kind`, `time_zone`, `description`, `location`. Every row is checked first: if any
//! is invalid, every invalid row is reported with its line and field, and nothing is created.
//! `?dry_run=true` only checks and reports.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use reserver_app::csv_table::{split_list, CsvRow, CsvTable};
use reserver_app::{AppError, Services};
use reserver_domain::resource::{ResourceDetails, ResourceKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, RateLimited, Unauthenticated};
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::routes::resource_input::{create_command, create_resource, ResourceInput};
use crate::routes::support::written;
use crate::views::ResourceBody;

const MAX_ROWS: usize = 5_000;
const COLUMNS: [&str; 8] = ["name", "tags", "available", "capacity", "kind", "time_zone", "description", "location"];

/// What was wrong with one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowError {
    /// The line the row starts on (the header is line 1).
    line: u64,
    /// The column at fault.
    field: String,
    message: String,
}

/// The resources an upload created, or (dry run) would create.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    /// True when nothing was written (`?dry_run=true`).
    dry_run: bool,
    /// Rows that are (or would be) created.
    created_count: usize,
    /// The created resources (empty on a dry run).
    created: Vec<ResourceBody>,
    /// Every invalid row; on a real upload with errors nothing is created and the answer is 422.
    errors: Vec<RowError>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Only check the file and report every row's errors; create nothing.
    #[serde(default)]
    dry_run: bool,
}

fn boolean(field: &str) -> Option<bool> {
    match field.to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

fn kind(field: &str) -> Option<ResourceKind> {
    if field.is_empty() {
        return Some(ResourceKind::Other);
    }
    serde_json::from_value(serde_json::Value::String(field.to_ascii_lowercase())).ok()
}

/// One row as a resource to create, or the first of its fields at fault.
fn row_input(row: &CsvRow) -> Result<ResourceInput, (String, String)> {
    let bad = |field: &str, message: &str| (field.to_string(), message.to_string());
    let available = boolean(row.get("available")).ok_or_else(|| bad("available", "must be true or false"))?;
    let capacity = match row.get("capacity") {
        "" => 1,
        text => text.parse::<u32>().map_err(|_| bad("capacity", "must be a whole number from 1 to 10000"))?,
    };
    let kind = kind(row.get("kind")).ok_or_else(|| bad("kind", "must be room, desk, equipment, lab or other"))?;
    let details = ResourceDetails {
        name: row.get("name").to_string(),
        kind,
        tags: split_list(row.get("tags")),
        description: row.get("description").to_string(),
        location: row.get("location").to_string(),
        group_id: None,
    };
    // The same rules creation applies, so a bad row is refused before any row is created.
    let details = details.normalised().map_err(|r| match r {
        reserver_domain::Rejection::InvalidField { field, reason } => (field.to_string(), reason.to_string()),
        other => ("name".into(), other.to_string()),
    })?;
    let input = ResourceInput {
        name: details.name,
        tags: details.tags,
        available,
        kind: Some(details.kind),
        description: details.description,
        location: details.location,
        group_id: None,
        capacity,
        time_zone: Some(row.get("time_zone")).filter(|z| !z.is_empty()).map(str::to_string),
        policy: None,
        business_hours: None,
    };
    create_command(uuid::Uuid::nil(), input.clone()).map_err(|e| match e {
        AppError::Validation { field, message } => (field, message),
        other => ("file".into(), other.to_string()),
    })?;
    Ok(input)
}

/// The CSV bytes of the request: the body, or the `file` part of a multipart form.
async fn csv_bytes(req: &HttpRequest, body: web::Bytes) -> Result<web::Bytes, AppError> {
    let multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Ok(body);
    }
    let stream = futures::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(body) });
    let mut form = actix_multipart::Multipart::new(req.headers(), stream);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| AppError::validation("file", format!("not a valid multipart form: {e}")))?;
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = field.next().await {
            bytes.extend_from_slice(&chunk.map_err(|e| AppError::validation("file", e.to_string()))?);
        }
        return Ok(bytes.freeze());
    }
    Err(AppError::validation("file", "the form has no part named file"))
}

/// Creates a resource per CSV row (or, with `dry_run`, checks every row).
///
/// Every row is checked before any is created; if any is invalid, nothing is created and the
/// 422 lists the invalid rows by line and field.
#[utoipa::path(
    post,
    path = "/api/v1/resources/upload",
    tag = "resources",
    operation_id = "upload_resources",
    summary = "Create resources from CSV (admin); dry_run checks only",
    params(UploadParams),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "A header naming columns among name (required), tags, available, capacity, kind, time_zone, \
                       description, location; then one resource per row. Tags are separated by `,`, `;` or `|` \
                       inside their (quoted) field. Also accepted as the `file` part of multipart/form-data.",
        example = "name,tags,available,capacity\n\"Room B\",\"meeting,projector\",true,8\nDesk 7,desk,false,1\n"
    ),
    responses(
        (status = 201, description = "The created resources", body = Uploaded),
        (status = 200, description = "Dry run: what would be created, and every row's errors", body = Uploaded),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    params: web::Query<UploadParams>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[reserver_domain::Role::Admin])?;
    let bytes = csv_bytes(&req, body).await?;
    let table = CsvTable::read(&bytes, &COLUMNS, &["name"])?;
    if table.rows.len() > MAX_ROWS {
        return Err(AppError::validation("file", format!("at most {MAX_ROWS} rows per upload")).into());
    }
    let mut inputs = Vec::with_capacity(table.rows.len());
    let mut errors = Vec::new();
    for row in &table.rows {
        match row_input(row) {
            Ok(input) => inputs.push(input),
            Err((field, message)) => errors.push(RowError { line: row.line, field, message }),
        }
    }
    if params.dry_run {
        let report = Uploaded { dry_run: true, created_count: inputs.len(), created: Vec::new(), errors };
        return Ok(HttpResponse::Ok().json(report));
    }
    if !errors.is_empty() {
        let rows = errors.into_iter().map(|e| (e.line, e.field, e.message)).collect();
        return Err(AppError::InvalidRows { rows }.into());
    }
    let (mut created, mut position) = (Vec::with_capacity(inputs.len()), 0);
    // One idempotency record per row, each fingerprinted by the whole file: a retried upload
    // replays every row, and the key never answers for a different file.
    for (row, input) in inputs.into_iter().enumerate() {
        let (at, view) = create_resource(&state, &req, &user, input, &bytes, &format!("row-{row}")).await?;
        created.push(view);
        position = at;
    }
    let body = Uploaded { dry_run: false, created_count: created.len(), created, errors: Vec::new() };
    Ok(written(StatusCode::CREATED, position, body))
}

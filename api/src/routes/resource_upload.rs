//! `POST /api/v1/resources/upload`: bulk creation from CSV (`name,tags,available`; tags
//! separated by `;` or `|`). Every row is validated first: if any is invalid, all invalid rows
//! are reported by line and nothing is created.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::api_doc::problems::{Forbidden, Invalid, Lagging, RateLimited, Unauthenticated};
use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::routes::resource_input::{create_resource, validate_name, validate_tags, ResourceInput};
use crate::routes::support::written;
use crate::views::ResourceBody;
use reserver_app::AppError;
use reserver_app::Services;

const MAX_ROWS: usize = 5_000;

fn parse_bool(field: &str) -> Option<bool> {
    match field.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Splits one CSV line, honouring double quotes.
fn split_csv_line(line: &str) -> Vec<String> {
    let (mut fields, mut current, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}

/// The resources an upload created.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    created_count: usize,
    created: Vec<ResourceBody>,
    /// Always empty: an upload with an invalid row creates nothing and answers 422.
    errors: Vec<serde_json::Value>,
}

/// Creates a resource per CSV row.
///
/// Every row is checked before any is created; if any is invalid, nothing is created and the
/// 422 lists the invalid rows by line.
#[utoipa::path(
    post,
    path = "/api/v1/resources/upload",
    tag = "resources",
    operation_id = "upload_resources",
    summary = "Create resources from CSV name,tags,available (admin)",
    request_body(
        content = String,
        content_type = "text/csv",
        description = "A header `name,tags,available` (only `name` is required), then one resource per line; \
                       tags separated by `;` or `|`",
        example = "name,tags,available\nLab 1,lab;gpu,true\nDesk 7,desk,false\n"
    ),
    responses(
        (status = 201, description = "The created resources", body = Uploaded),
        Unauthenticated, Forbidden, Invalid, RateLimited, Lagging
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    state: web::Data<Services>,
    req: HttpRequest,
    user: CurrentUser,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| AppError::validation("file", "CSV must be UTF-8"))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> = match lines.next() {
        Some((_, h)) => split_csv_line(h).iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        None => return Err(AppError::validation("file", "empty CSV; expected a header name,tags,available").into()),
    };
    let col = |name: &str| header.iter().position(|h| h == name);
    let name_col = col("name").ok_or_else(|| AppError::validation("file", "the header needs a name column"))?;
    let (tags_col, available_col) = (col("tags"), col("available"));
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let fields = split_csv_line(line);
        let field = |c: Option<usize>| c.and_then(|c| fields.get(c)).map(|s| s.trim().to_string()).unwrap_or_default();
        let name = field(Some(name_col));
        let tags: Vec<String> =
            field(tags_col).split([';', '|']).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
        // The same checks creation makes, so that a bad row is refused before any row is created.
        let checked = validate_name(&name).and_then(|_| validate_tags(&tags));
        match parse_bool(&field(available_col)) {
            Some(_) if name.is_empty() => errors.push(json!({ "line": index + 1, "error": "name is empty" })),
            Some(_) if checked.is_err() => {
                let message = checked.err().map(|e| e.to_string()).unwrap_or_default();
                errors.push(json!({ "line": index + 1, "error": message }));
            }
            Some(available) => inputs.push(ResourceInput {
                name,
                tags,
                available,
                kind: None,
                description: String::new(),
                location: String::new(),
                group_id: None,
                capacity: 1,
                time_zone: None,
                policy: None,
                business_hours: None,
            }),
            None => errors.push(json!({ "line": index + 1, "error": "available must be true or false" })),
        }
    }
    if inputs.len() > MAX_ROWS {
        return Err(AppError::validation("file", format!("at most {MAX_ROWS} rows per upload")).into());
    }
    if !errors.is_empty() {
        return Err(AppError::Validation {
            field: "file".into(),
            message: format!("invalid rows: {}", serde_json::Value::from(errors)),
        }
        .into());
    }
    let (mut created, mut position) = (Vec::with_capacity(inputs.len()), 0);
    for input in inputs {
        let (at, view) = create_resource(&state, &req, &user, input, &[]).await?;
        created.push(view);
        position = at;
    }
    let body = Uploaded { created_count: created.len(), created, errors: Vec::new() };
    Ok(written(StatusCode::CREATED, position, body))
}

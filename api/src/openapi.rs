//! The OpenAPI 3 document at `/openapi.json` and two viewers of it, Swagger UI at `/docs` and
//! Redoc at `/redoc`, served from files embedded in the binary (`api/assets/viewer/`, with their
//! licences): the service documents itself on a network with no internet access.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(crate::api_doc::json())
}

/// The viewers' files, by name under `/docs/assets/`: (name, media type, bytes). The version
/// is in the path, so the files are cached for good.
const ASSETS: [(&str, &str, &[u8]); 4] = [
    ("swagger-ui-bundle.js", "text/javascript", include_bytes!("../assets/viewer/swagger-ui-bundle.js")),
    ("swagger-ui.css", "text/css", include_bytes!("../assets/viewer/swagger-ui.css")),
    ("swagger-init.js", "text/javascript", include_bytes!("../assets/viewer/swagger-init.js")),
    ("redoc.standalone.js", "text/javascript", include_bytes!("../assets/viewer/redoc.standalone.js")),
];

/// Where the assets are served: bump with the vendored versions.
const ASSET_BASE: &str = "/docs/assets/v5.35.0-2.5.4";

pub async fn asset(path: web::Path<(String, String)>) -> HttpResponse {
    let (_, name) = path.into_inner();
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media, bytes)) => HttpResponse::Ok()
            .content_type(format!("{media}; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(*bytes),
        None => HttpResponse::NotFound().finish(),
    }
}

fn page(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body)
}

/// Swagger UI, pointed at our document.
pub async fn swagger_ui() -> HttpResponse {
    page(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Resource Reserver API</title><link rel="stylesheet" href="{ASSET_BASE}/swagger-ui.css"></head>
<body><main id="ui"></main><script src="{ASSET_BASE}/swagger-ui-bundle.js"></script>
<script src="{ASSET_BASE}/swagger-init.js"></script></body></html>"#
    ))
}

/// Redoc, pointed at our document.
pub async fn redoc() -> HttpResponse {
    page(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Resource Reserver API</title></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="{ASSET_BASE}/redoc.standalone.js"></script></body></html>"#
    ))
}

//! Static assets (`web/assets/`), embedded in the binary. Each is served under a name carrying
//! a hash of its content (`/assets/app.1a2b3c4d5e.css`) with a one-year immutable cache, gzip
//! when the client accepts it; a new build changes the name, so no cache ever serves a stale
//! file. The service worker and the web manifest keep fixed names at the root, as browsers
//! require.

use std::collections::HashMap;
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::middleware::Compress;
use actix_web::{web, HttpResponse};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Embedded;

/// Logical name → hashed name, computed once.
static HASHED: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    Embedded::iter()
        .filter_map(|name| {
            let file = Embedded::get(&name)?;
            let hash = hex::encode(&Sha256::digest(&file.data)[..5]);
            let hashed = match name.rsplit_once('.') {
                Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                None => format!("{name}.{hash}"),
            };
            Some((name.to_string(), hashed))
        })
        .collect()
});

/// Hashed name → logical name.
static LOGICAL: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| HASHED.iter().map(|(logical, hashed)| (hashed.clone(), logical.clone())).collect());

/// The URL of an asset by its logical name (`app.css` → `/assets/app.<hash>.css`).
pub fn url(name: &str) -> String {
    match HASHED.get(name) {
        Some(hashed) => format!("/assets/{hashed}"),
        None => format!("/assets/{name}"),
    }
}

/// Every hashed asset URL, for the service worker's pre-cache list.
pub fn all_urls() -> Vec<String> {
    let mut urls: Vec<String> = HASHED.values().map(|h| format!("/assets/{h}")).collect();
    urls.sort();
    urls
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("webmanifest") => "application/manifest+json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    let requested = name.into_inner();
    let (logical, immutable) = match LOGICAL.get(&requested) {
        Some(logical) => (logical.clone(), true),
        None => (requested, false),
    };
    match Embedded::get(&logical) {
        Some(file) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type(&logical)))
            .insert_header((
                header::CACHE_CONTROL,
                if immutable { "public, max-age=31536000, immutable" } else { "no-cache" },
            ))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("no such asset"),
    }
}

/// The service worker, at the root so that it may control every page. It names the current
/// hashed assets, so a new build installs a new worker.
async fn service_worker() -> HttpResponse {
    let script = Embedded::get("sw.js").map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
    let precache = serde_json::to_string(&all_urls()).unwrap_or_else(|_| "[]".into());
    let version = hex::encode(&Sha256::digest(precache.as_bytes())[..5]);
    let body = script.replace("__PRECACHE__", &precache).replace("__VERSION__", &version);
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

async fn manifest() -> HttpResponse {
    let manifest = serde_json::json!({
        "name": "Resource Reserver",
        "short_name": "Reserver",
        "description": "Book rooms, desks, equipment and labs without double-booking.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1d4ed8",
        "icons": [
            { "src": url("icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any" },
            { "src": url("icon-192.png"), "sizes": "192x192", "type": "image/png" },
            { "src": url("icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable" }
        ]
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/manifest+json"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(manifest.to_string())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/assets/{name}").wrap(Compress::default()).route(web::get().to(asset)))
        .service(web::resource("/sw.js").wrap(Compress::default()).route(web::get().to(service_worker)))
        .route("/manifest.webmanifest", web::get().to(manifest));
}

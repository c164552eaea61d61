//! The OpenAPI 3 document at `/openapi.json` and an interactive viewer at `/docs`.

use actix_web::HttpResponse;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(crate::api_doc::json())
}

/// Swagger UI, loaded by the browser from a CDN and pointed at our document.
pub async fn swagger_ui() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(
        r##"<!doctype html><html><head><meta charset="utf-8"><title>Resource Reserver API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div><script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script></body></html>"##,
    )
}

//! Request ids: every request gets one, carried in logs, events (as correlation id) and the
//! response.

/// Header naming a request in logs, events (as correlation id) and the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Gives every request an id: the caller's `X-Request-Id` when it is a sane token, else a new
/// UUID. Runs outside the access log so the log line carries it, and echoes it on the response.
pub async fn request_id(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let name = HeaderName::from_static(REQUEST_ID);
    let given = req.headers().get(&name).filter(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty() && bytes.len() <= 128 && bytes.iter().all(|b| b.is_ascii_graphic())
    });
    let id = match given {
        Some(value) => value.clone(),
        None => {
            let fresh = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
            req.headers_mut().insert(name.clone(), fresh.clone());
            fresh
        }
    };
    let mut response = next.call(req).await?;
    response.headers_mut().insert(name, id);
    Ok(response)
}

//! The access log: one line per request, with secrets taken out. A URL may carry a bearer
//! secret — a calendar feed token in the path, `?token=` of a WebSocket client that cannot set
//! headers — and log files travel further than the service (to aggregators, tickets, backups).

use actix_web::dev::ServiceRequest;
use actix_web::middleware::Logger;

use crate::extract::client_ip;

/// Query parameters whose values are never logged.
const SECRET_PARAMETERS: [&str; 9] =
    ["token", "access_token", "refresh_token", "id_token", "code", "password", "secret", "client_secret", "mfa_token"];

/// Path prefixes whose next segment is a secret.
const SECRET_SEGMENTS: [&str; 1] = ["/api/v1/calendar/feed/"];

const REDACTED: &str = "[redacted]";

/// Where the access log's lines go (the `log` target of actix's logger): `RUST_LOG` names it.
pub const TARGET: &str = "actix_web::middleware::logger";

/// Whether the access log's lines are written at all (`info` for [`TARGET`] enabled by the
/// log filter). When they are not, the middleware is left out: it would otherwise still
/// render every request's line (address, redacted target) only for it to be dropped.
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// The access-log middleware: client address (through trusted proxies only), the request line
/// with secrets redacted, status, size, time and request id.
pub fn logger() -> Logger {
    Logger::new(r#"%{client}xi "%{request}xi" %s %b %Dms req=%{x-request-id}i"#)
        .custom_request_replace("client", |req: &ServiceRequest| {
            client_ip(req.request()).map(|ip| ip.to_string()).unwrap_or_else(|| "-".into())
        })
        .custom_request_replace("request", |req: &ServiceRequest| {
            format!("{} {} {:?}", req.method(), redacted_target(req.path(), req.query_string()), req.version())
        })
}

/// `path?query` with secret path segments and secret query values replaced.
pub fn redacted_target(path: &str, query: &str) -> String {
    let mut target = path.to_string();
    for prefix in SECRET_SEGMENTS {
        if let Some(rest) = path.strip_prefix(prefix) {
            let end = rest.find(['/', '.']).unwrap_or(rest.len());
            target = format!("{prefix}{REDACTED}{}", &rest[end..]);
        }
    }
    if query.is_empty() {
        return target;
    }
    let parameters: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            let decoded = percent_encoding::percent_decode_str(name).decode_utf8_lossy().to_ascii_lowercase();
            if SECRET_PARAMETERS.contains(&decoded.as_str()) {
                format!("{name}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{target}?{}", parameters.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_and_queries_are_redacted() {
        assert_eq!(redacted_target("/api/v1/calendar/feed/abcDEF123.ics", ""), "/api/v1/calendar/feed/[redacted].ics");
        assert_eq!(
            redacted_target("/api/v1/calendar/feed/abc/resources/42.ics", "x=1"),
            "/api/v1/calendar/feed/[redacted]/resources/42.ics?x=1"
        );
        assert_eq!(redacted_target("/ws", "token=eyJ.a.b&from_position=3"), "/ws?token=[redacted]&from_position=3");
        assert_eq!(redacted_target("/ws", "TOKEN=x"), "/ws?TOKEN=[redacted]");
        assert_eq!(redacted_target("/api/v1/resources", "q=lab"), "/api/v1/resources?q=lab");
    }
}

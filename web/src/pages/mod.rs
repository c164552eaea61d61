//! The pages, one module per screen.

mod admin_users;
mod auth;
mod dashboard;
mod live;
mod mfa;
mod notifications;
mod preferences;
mod recurring;
mod reservations;
mod resources;
mod sessions;
mod waitlist;

use std::net::IpAddr;

use actix_web::{web, HttpRequest};
use reserver_app::client_ip::ForwardingHeaders;
use reserver_app::{RequestInfo, Services};

pub fn configure(cfg: &mut web::ServiceConfig) {
    admin_users::configure(cfg);
    auth::configure(cfg);
    dashboard::configure(cfg);
    live::configure(cfg);
    sessions::configure(cfg);
    resources::configure(cfg);
    notifications::configure(cfg);
    preferences::configure(cfg);
    waitlist::configure(cfg);
    recurring::configure(cfg);
    reservations::configure(cfg);
    mfa::configure(cfg);
}

/// A form that carries nothing but its CSRF token (a button that changes something).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// The client's address, through trusted proxies as for the API.
pub fn client_ip(req: &HttpRequest, services: &Services) -> Option<IpAddr> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let headers = ForwardingHeaders {
        forwarded: header("forwarded"),
        x_forwarded_for: header("x-forwarded-for"),
        x_forwarded_host: header("x-forwarded-host"),
        x_forwarded_proto: header("x-forwarded-proto"),
    };
    services.trusted_proxies.client_ip(req.peer_addr().map(|a| a.ip()), &headers)
}

/// What a command records of a page request.
pub fn request_info<'a>(req: &'a HttpRequest, services: &Services) -> RequestInfo<'a> {
    RequestInfo {
        client_ip: client_ip(req, services).map(|ip| ip.to_string()),
        correlation_id: None,
        idempotency_key: None,
        method: req.method().as_str(),
        path: req.path(),
        user_agent: req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A local path to return to after login: only paths on this site (never `//host` or a URL).
pub fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.starts_with("/login") {
        next.to_string()
    } else {
        "/".to_string()
    }
}

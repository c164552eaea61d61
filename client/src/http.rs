//! The request plumbing: base URL, bearer token, refresh on expiry, problem+json errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::{Error, Problem};

const AGENT: &str = concat!("reserver-cli/", env!("CARGO_PKG_VERSION"));

/// A logged-in session: the access token (JWT) with its expiry, and the refresh token that
/// buys the next pair (`POST /api/v1/token/refresh`; each refresh token works once).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    /// `None` for a token given from outside (e.g. `RESERVER_TOKEN`): never refreshed.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Session {
    /// A bare access token (CI's `RESERVER_TOKEN`): used as is, never refreshed.
    pub fn bearer(token: impl Into<String>) -> Self {
        Session { access_token: token.into(), refresh_token: None, expires_at: None }
    }

    fn expires_soon(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at - now < Duration::seconds(30))
    }
}

/// Where a session lives between runs, shared by every process of the same user: consulted
/// before a refresh (another process may have refreshed already, and a refresh token works
/// once: presenting a spent one ends the session) and told of every new session.
pub trait SessionStore: Send + Sync {
    /// Takes the store's lock against other refreshers (held until the returned guard drops)
    /// and returns the session stored now.
    fn begin_refresh(&self) -> (Box<dyn Send>, Option<Session>);
    /// The new session after a refresh, or `None` when the server ended it.
    fn save(&self, session: Option<&Session>);
}

/// A [`SessionStore`] that only hears of new sessions.
struct Hook<F>(F);

impl<F: Fn(Option<&Session>) + Send + Sync> SessionStore for Hook<F> {
    fn begin_refresh(&self) -> (Box<dyn Send>, Option<Session>) {
        (Box::new(()), None)
    }
    fn save(&self, session: Option<&Session>) {
        (self.0)(session)
    }
}

/// The API client. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    session: Arc<Mutex<Option<Session>>>,
    store: Option<Arc<dyn SessionStore>>,
    /// The highest log position a command answered (`X-Log-Position`): sent as
    /// `X-Min-Position` on reads, so they include this client's own writes.
    position: Arc<AtomicU64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish_non_exhaustive()
    }
}

/// A request body.
pub(crate) enum Body {
    None,
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
    Text { content_type: &'static str, text: String },
}

/// One call, kept so it can be sent again after a token refresh.
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Body,
    pub headers: Vec<(&'static str, String)>,
    /// Send the bearer token (and refresh it) — false for login and registration.
    pub authenticated: bool,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Body::None,
            headers: Vec::new(),
            authenticated: true,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn json(mut self, body: impl Serialize) -> Self {
        self.body = Body::Json(serde_json::to_value(body).unwrap_or_default());
        self
    }
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }
    pub fn query_opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// A fresh `Idempotency-Key`, so a retried POST is applied once.
    pub fn idempotent(self) -> Self {
        self.header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
    }
    pub fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }
}

/// The token pair of a login or refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    #[serde(default)]
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
}

impl TokenPair {
    /// The session this pair starts, its expiry counted from now.
    pub fn session(&self) -> Session {
        Session {
            access_token: self.access_token.clone(),
            refresh_token: Some(self.refresh_token.clone()),
            expires_at: Some(Utc::now() + Duration::seconds(self.expires_in)),
        }
    }
}

impl Client {
    /// A client of the service at `base_url` (`http://127.0.0.1:8000`; a trailing `/api/v1` is
    /// accepted). Needs [`crate::install_crypto_provider`] for `https://`.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        let base = normalize_base(base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(AGENT)
            .connect_timeout(std::time::Duration::from_secs(10))
            // A server that stops answering must not hang a script; a large CSV import can
            // take minutes, so the bound is generous.
            .read_timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| Error::Invalid(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            session: Arc::new(Mutex::new(None)),
            store: None,
            position: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The same client with a session (login or stored tokens).
    pub fn with_session(mut self, session: Session) -> Self {
        self.session = Arc::new(Mutex::new(Some(session)));
        self
    }

    /// Called with every new session after a refresh, and with `None` when the server
    /// refused the refresh token (the session is over): store or forget it there.
    pub fn on_session(mut self, hook: impl Fn(Option<&Session>) + Send + Sync + 'static) -> Self {
        self.store = Some(Arc::new(Hook(hook)));
        self
    }

    /// Keeps the session in `store`, shared with other processes (see [`SessionStore`]).
    pub fn with_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Reads wait until the read models include this log position (e.g. the last write of
    /// an earlier run), as if this client had made that write.
    pub fn with_min_position(self, position: u64) -> Self {
        self.position.fetch_max(position, Ordering::Relaxed);
        self
    }

    /// The highest log position seen: this client's writes and any given with
    /// [`Client::with_min_position`].
    pub fn log_position(&self) -> u64 {
        self.position.load(Ordering::Relaxed)
    }

    /// The service's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The current session, if any.
    pub async fn session(&self) -> Option<Session> {
        self.session.lock().await.clone()
    }

    /// A valid access token: refreshed first when it expires within 30 s.
    pub async fn access_token(&self) -> Result<String, Error> {
        let current = self.session.lock().await.clone().ok_or(Error::NotLoggedIn)?;
        if current.expires_soon(Utc::now()) && current.refresh_token.is_some() {
            return Ok(self.refresh_after(&current.access_token).await?.access_token);
        }
        Ok(current.access_token)
    }

    /// Sends a call: with the bearer token, refreshed and sent once more on a `401`.
    pub(crate) async fn send(&self, call: &Call) -> Result<Response, Error> {
        let token = if call.authenticated { Some(self.access_token().await?) } else { None };
        let mut response = self.send_once(call, token.as_deref()).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            if let Some(used) = token {
                let can_refresh = self.session.lock().await.as_ref().is_some_and(|s| s.refresh_token.is_some());
                if can_refresh {
                    let fresh = self.refresh_after(&used).await?;
                    response = self.send_once(call, Some(&fresh.access_token)).await?;
                }
            }
        }
        let position =
            response.headers().get("x-log-position").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        if let Some(position) = position {
            self.position.fetch_max(position, Ordering::Relaxed);
        }
        check(response).await
    }

    async fn send_once(&self, call: &Call, token: Option<&str>) -> Result<Response, Error> {
        let url = self.url(&call.path);
        let mut request = self.http.request(call.method.clone(), &url).query(&call.query);
        let mut headers = HeaderMap::new();
        for (name, value) in &call.headers {
            let value = HeaderValue::from_str(value).map_err(|_| Error::Invalid(format!("bad {name} header")))?;
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| Error::Invalid(format!("bad header {name}")))?;
            headers.insert(name, value);
        }
        request = request.headers(headers);
        if let Some(token) = token {
            request = request.bearer_auth(token);
            let position = self.log_position();
            if call.method == Method::GET && position > 0 {
                request = request.header("x-min-position", position.to_string());
            }
        }
        request = match &call.body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Form(fields) => request.form(fields),
            Body::Text { content_type, text } => request.header(CONTENT_TYPE, *content_type).body(text.clone()),
        };
        request.send().await.map_err(|source| Error::Transport { url, source })
    }

    /// Refreshes the session unless another task, or another process sharing the store,
    /// already replaced the token that failed.
    async fn refresh_after(&self, failed_token: &str) -> Result<Session, Error> {
        let mut guard = self.session.lock().await;
        let current = guard.clone().ok_or(Error::NotLoggedIn)?;
        let usable = |s: &Session| s.access_token != failed_token && !s.expires_soon(Utc::now());
        if usable(&current) {
            return Ok(current);
        }
        let (_lock, stored) = match &self.store {
            Some(store) => store.begin_refresh(),
            None => (Box::new(()) as Box<dyn Send>, None),
        };
        let stored = stored.filter(|s| s.refresh_token.is_some());
        if let Some(stored) = stored.as_ref().filter(|s| usable(s)) {
            *guard = Some(stored.clone());
            return Ok(stored.clone());
        }
        // The stored refresh token is the newest: another process may have rotated ours.
        let Some(refresh_token) = stored.and_then(|s| s.refresh_token).or(current.refresh_token.clone()) else {
            return Ok(current);
        };
        let call =
            Call::post("/api/v1/token/refresh").anonymous().json(serde_json::json!({ "refresh_token": refresh_token }));
        match check(self.send_once(&call, None).await?).await {
            Ok(response) => {
                let pair: TokenPair = decode(response, &call.path).await?;
                let session = pair.session();
                *guard = Some(session.clone());
                if let Some(store) = &self.store {
                    store.save(Some(&session));
                }
                Ok(session)
            }
            Err(Error::Problem(p)) if p.status == 401 => {
                *guard = None;
                if let Some(store) = &self.store {
                    store.save(None);
                }
                Err(Error::Problem(p))
            }
            Err(other) => Err(other),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a call and decodes its JSON answer.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let response = self.send(&call).await?;
        decode(response, &call.path).await
    }

    /// Sends a call and returns its body as text (CSV, iCalendar, NDJSON).
    pub(crate) async fn fetch_text(&self, call: Call) -> Result<String, Error> {
        let response = self.send(&call).await?;
        let url = self.url(&call.path);
        response.text().await.map_err(|source| Error::Transport { url, source })
    }

    /// Sends a call and returns the response to stream its body (large downloads).
    pub(crate) async fn fetch_response(&self, call: Call) -> Result<Response, Error> {
        self.send(&call).await
    }
}

/// The answer if it is a success, else its problem as an error.
async fn check(response: Response) -> Result<Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let reason = status.canonical_reason().unwrap_or_default().to_string();
    let text = response.text().await.unwrap_or_default();
    let problem = serde_json::from_str::<Problem>(&text)
        .ok()
        .filter(|p| p.status != 0 || !p.title.is_empty())
        .map(|mut p| {
            if p.status == 0 {
                p.status = status.as_u16();
            }
            p
        })
        .unwrap_or_else(|| Problem::from_status(status.as_u16(), &reason, &text));
    Err(Error::Problem(Box::new(problem)))
}

pub(crate) async fn decode<T: DeserializeOwned>(response: Response, path: &str) -> Result<T, Error> {
    let bytes = response.bytes().await.map_err(|source| Error::Transport { url: path.to_string(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Decode { url: path.to_string(), message: e.to_string() })
}

fn normalize_base(url: &str) -> Result<String, Error> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| Error::Invalid(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Invalid(format!("{url:?} is not an http:// or https:// URL")));
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        assert_eq!(normalize_base("http://h:8000/").unwrap(), "http://h:8000");
        assert_eq!(normalize_base("https://h/api/v1/").unwrap(), "https://h");
        assert!(normalize_base("h:8000").is_err());
        assert!(normalize_base("ftp://h").is_err());
    }

    #[test]
    fn a_session_about_to_expire_is_refreshed_first() {
        let now = Utc::now();
        let s =
            Session { access_token: "a".into(), refresh_token: None, expires_at: Some(now + Duration::seconds(10)) };
        assert!(s.expires_soon(now));
        assert!(!Session::bearer("t").expires_soon(now));
    }
}

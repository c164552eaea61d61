//! A cookie-keeping HTTP client that uses the web app as a browser would: it reads the CSRF
//! token from each form's page and posts forms, without following redirects.

use reqwest::StatusCode;

use crate::common::{Server, PASSWORD};

pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).expect("the page has a CSRF field");
    html[start..].split('"').next().unwrap_or_default().to_string()
}

impl Browser {
    pub fn new(server: &Server) -> Browser {
        Browser::with_language(server, "en")
    }

    pub fn with_language(server: &Server, accept_language: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, accept_language.parse().expect("header"));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Browser { client, base: server.base_url.clone() }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.client.get(format!("{}{path}", self.base)).send().await.expect("GET");
        let status = r.status();
        (status, r.text().await.unwrap_or_default())
    }

    /// The `Location` of a redirect answer.
    pub fn location(r: &reqwest::Response) -> String {
        r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }

    /// Opens `page`, then posts `fields` with its CSRF token to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let (_, html) = self.get(page).await;
        let token = csrf_of(&html);
        let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        self.client.post(format!("{}{action}", self.base)).form(&form).send().await.expect("POST")
    }

    /// Posts without a CSRF token (or with a wrong one).
    pub async fn post_raw(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(format!("{}{action}", self.base)).form(fields).send().await.expect("POST")
    }

    /// Creates the first admin through `/setup` (which logs in).
    pub async fn setup_admin(&self) {
        let r = self.submit("/setup", "/setup", &[("username", "admin"), ("password", PASSWORD)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap_or_default());
    }

    /// Logs in through the login form.
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.submit("/login", "/login", &[("username", username), ("password", password)]).await
    }
}

//! What every page knows about its reader ([`Ctx`]: who, which language and theme, the CSRF
//! token, the unread count) and how a page becomes a response.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use reserver_app::{accounts, preferences, AppError, Caller, Services};

use crate::errors::Problem;
use crate::i18n::Lang;
use crate::session::{self, CsrfSubject, WebKeys};

/// The signed-in reader.
#[derive(Debug, Clone)]
pub struct Reader {
    pub caller: Caller,
    pub username: String,
    /// Preferred IANA zone for times shown outside a resource's own schedule.
    pub time_zone: Option<chrono_tz::Tz>,
    pub email: String,
    pub email_notifications: bool,
    pub reminder_minutes: i64,
    pub time_zone_display: String,
}

/// Everything the layout needs, and the cookies to set with the response.
pub struct Ctx {
    pub lang: Lang,
    /// `system`, `light` or `dark`.
    pub theme: String,
    pub csrf: String,
    pub reader: Option<Reader>,
    pub unread: u64,
    /// The path of this page, for the navigation's `aria-current`.
    pub path: String,
    subject: CsrfSubject,
    cookies: Vec<Cookie<'static>>,
}

impl Ctx {
    /// The context of any page: the reader when the session cookie is live, else anonymous.
    pub async fn load(req: &HttpRequest, services: &Services, keys: &WebKeys) -> Result<Ctx, AppError> {
        // Read-your-writes after a live event: the page waits (bounded) for the read models.
        let min_position = web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("min_position").and_then(|p| p.parse::<u64>().ok()));
        services.caught_up(min_position).await?;
        reserver_app::availability::index_caught_up(services, min_position).await?;
        let mut cookies = Vec::new();
        let mut reader = None;
        let mut preferences = serde_json::Map::new();
        if let Some(cookie) = req.cookie(session::SESSION_COOKIE).filter(|c| !c.value().is_empty()) {
            match accounts::session_caller(services, cookie.value()).await {
                Ok(caller) => {
                    preferences = preferences::get(services, caller.user_id).await?;
                    let text =
                        |key: &str| preferences.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                    reader = Some(Reader {
                        username: accounts::username(services, caller.user_id).await?,
                        time_zone: text("time_zone").parse().ok(),
                        email: text("email"),
                        email_notifications: preferences
                            .get("email_notifications")
                            .and_then(|v| v.as_bool())
                            .unwrap_or(true),
                        reminder_minutes: preferences.get("reminder_minutes").and_then(|v| v.as_i64()).unwrap_or(60),
                        time_zone_display: Some(text("time_zone_display"))
                            .filter(|s| !s.is_empty())
                            .unwrap_or("resource".into()),
                        caller,
                    });
                }
                Err(AppError::Unauthorized(_)) => cookies.push(keys.ended_session_cookie(req)),
                Err(other) => return Err(other),
            }
        }
        let chosen = |key: &str, cookie: &str| {
            preferences
                .get(key)
                .and_then(|v| v.as_str().map(str::to_string))
                .or_else(|| req.cookie(cookie).map(|c| c.value().to_string()))
        };
        let lang = chosen("language", session::LANG_COOKIE)
            .and_then(|code| Lang::from_code(&code))
            .or_else(|| {
                req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::negotiate)
            })
            .unwrap_or_default();
        let theme = chosen("theme", session::THEME_COOKIE)
            .filter(|t| ["light", "dark", "system"].contains(&t.as_str()))
            .unwrap_or_else(|| "system".into());
        let subject = match &reader {
            Some(r) => CsrfSubject::Session(r.caller.session_id),
            None => {
                let nonce = match req.cookie(session::ANON_COOKIE).filter(|c| c.value().len() >= 16) {
                    Some(c) => c.value().to_string(),
                    None => {
                        let nonce = session::new_nonce();
                        cookies.push(keys.anon_cookie(req, nonce.clone()));
                        nonce
                    }
                };
                CsrfSubject::Anonymous(nonce)
            }
        };
        let unread = match &reader {
            Some(r) => reserver_projections::notifications::unread_count(&services.db(), r.caller.user_id).await?,
            None => 0,
        };
        Ok(Ctx {
            lang,
            theme,
            csrf: keys.csrf_token(&subject),
            reader,
            unread,
            path: req.path().to_string(),
            subject,
            cookies,
        })
    }

    /// The context of a page for signed-in readers; anyone else is sent to the login page.
    pub async fn signed_in(req: &HttpRequest, services: &Services, keys: &WebKeys) -> Result<Ctx, PageError> {
        let ctx = Ctx::load(req, services, keys).await.map_err(|e| PageError::plain(req, e))?;
        let Some(reader) = ctx.reader.as_ref() else {
            return Err(PageError::Login { next: login_return_path(req) });
        };
        // After an admin reset, only the password page until a new password is chosen.
        if services.revocations.must_change_password(reader.caller.user_id) && req.path() != "/password" {
            return Err(PageError::of(&ctx, AppError::PasswordChangeRequired));
        }
        // Where the MFA policy requires it, only the MFA page (which says why) until it is on.
        if reserver_app::mfa_policy::setup_required(services, &reader.caller) && !req.path().starts_with("/mfa") {
            return Err(PageError::MfaSetup);
        }
        Ok(ctx)
    }

    /// Checks a state-changing request: same origin and the CSRF token of this reader.
    pub fn check_csrf(&self, req: &HttpRequest, keys: &WebKeys, form_token: Option<&str>) -> Result<(), PageError> {
        let header = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok());
        let presented = form_token.or(header).unwrap_or_default();
        if session::same_origin(req) && keys.csrf_valid(&self.subject, presented) {
            Ok(())
        } else {
            Err(PageError::Csrf { lang: self.lang })
        }
    }

    /// Whether the reader is an admin (the account screens are in the menu).
    pub fn is_admin(&self) -> bool {
        self.reader.as_ref().is_some_and(|r| r.caller.role == reserver_domain::Role::Admin)
    }

    pub fn caller(&self) -> &Caller {
        // Pages that use it load the context with `signed_in`.
        &self.reader.as_ref().expect("a signed-in page").caller
    }

    pub fn add_cookie(&mut self, cookie: Cookie<'static>) {
        self.cookies.push(cookie);
    }

    /// A message of the reader's language.
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }

    /// A message with one argument.
    pub fn t1(&self, key: &str, name: &'static str, value: impl ToString) -> String {
        self.lang.t_with(key, &[(name, value.to_string().into())])
    }

    /// The URL of an embedded asset.
    pub fn asset(&self, name: &str) -> String {
        crate::assets::url(name)
    }

    /// `page` when this is the current page, for `aria-current`.
    pub fn current(&self, prefix: &str) -> &'static str {
        let here = if prefix == "/" { self.path == "/" } else { self.path.starts_with(prefix) };
        if here {
            "page"
        } else {
            "false"
        }
    }

    /// Whether the page speaks the language `code`, for the language picker.
    pub fn lang_is(&self, code: &str) -> bool {
        self.lang.code() == code
    }

    pub fn username(&self) -> &str {
        self.reader.as_ref().map(|r| r.username.as_str()).unwrap_or_default()
    }

    pub fn signed_in_now(&self) -> bool {
        self.reader.is_some()
    }

    /// The response for a rendered page, with the context's cookies.
    pub fn respond(self, status: StatusCode, html: String) -> HttpResponse {
        let mut response = HttpResponse::build(status);
        page_headers(&mut response);
        for cookie in self.cookies {
            response.cookie(cookie);
        }
        response.body(html)
    }

    /// A redirect after a successful form (303 See Other), or for htmx a client-side one.
    pub fn redirect(self, req: &HttpRequest, to: &str) -> HttpResponse {
        let mut response = if req.headers().contains_key("hx-request") {
            let mut r = HttpResponse::Ok();
            r.insert_header(("HX-Redirect", to.to_string()));
            r
        } else {
            let mut r = HttpResponse::SeeOther();
            r.insert_header((header::LOCATION, to.to_string()));
            r
        };
        for cookie in self.cookies {
            response.cookie(cookie);
        }
        response.finish()
    }
}

fn page_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

/// A page template that carries its [`Ctx`] in a field named `ctx`.
pub trait WithCtx: Template {
    fn into_ctx(self) -> Ctx;
}

/// Implements [`WithCtx`] for page structs with a `ctx` field.
macro_rules! pages {
    ($($page:ty),* $(,)?) => {
        $(impl $crate::page::WithCtx for $page {
            fn into_ctx(self) -> $crate::page::Ctx {
                self.ctx
            }
        })*
    };
}
pub(crate) use pages;

/// Renders a page with `status`, or a plain 500 when rendering fails (a bug, logged).
pub fn respond<T: WithCtx>(page: T, status: StatusCode) -> HttpResponse {
    let html = page.render();
    let ctx = page.into_ctx();
    match html {
        Ok(html) => ctx.respond(status, html),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("internal error")
        }
    }
}

/// Renders a page again after `error`, with the error's status.
pub fn respond_failed<T: WithCtx>(page: T, error: &AppError) -> HttpResponse {
    respond(page, Problem::of(error).status)
}

fn login_return_path(req: &HttpRequest) -> String {
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    // Only the page of a navigation is worth returning to; a fragment or a form post is not.
    if req.method() == actix_web::http::Method::GET && !req.headers().contains_key("hx-request") {
        path.to_string()
    } else {
        "/".to_string()
    }
}

/// A page that could not be shown: a redirect to login, or an error page in the reader's
/// language.
#[derive(Debug)]
pub enum PageError {
    Login {
        next: String,
    },
    /// The MFA policy requires the reader to set up MFA: to `/mfa`.
    MfaSetup,
    Csrf {
        lang: Lang,
    },
    Failed {
        lang: Lang,
        error: AppError,
    },
}

impl PageError {
    pub fn plain(req: &HttpRequest, error: AppError) -> PageError {
        let lang = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::negotiate)
            .unwrap_or_default();
        PageError::Failed { lang, error }
    }

    pub fn of(ctx: &Ctx, error: AppError) -> PageError {
        PageError::Failed { lang: ctx.lang, error }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login { .. } => write!(f, "not signed in"),
            PageError::MfaSetup => write!(f, "two-step verification must be set up first"),
            PageError::Csrf { .. } => write!(f, "CSRF token missing or invalid"),
            PageError::Failed { error, .. } => write!(f, "{error}"),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    title: String,
    message: String,
    stylesheet: String,
    _marker: std::marker::PhantomData<&'a ()>,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login { .. } | PageError::MfaSetup => StatusCode::SEE_OTHER,
            PageError::Csrf { .. } => StatusCode::FORBIDDEN,
            PageError::Failed { error, .. } => Problem::of(error).status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (lang, message) = match self {
            PageError::Login { next } => {
                let location = format!("/login?next={}", crate::pages::url_encode(next));
                return HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish();
            }
            PageError::MfaSetup => {
                return HttpResponse::SeeOther().insert_header((header::LOCATION, "/mfa")).finish();
            }
            PageError::Csrf { lang } => (*lang, lang.t("error-csrf")),
            PageError::Failed { lang, error } => (*lang, Problem::of(error).sentence(*lang)),
        };
        if let PageError::Failed { error: AppError::Storage(detail) | AppError::Internal(detail), .. } = self {
            tracing::error!(%detail, "a page failed");
        }
        let page = ErrorPage {
            lang,
            title: lang.t("error-title"),
            message,
            stylesheet: crate::assets::url("app.css"),
            _marker: std::marker::PhantomData,
        };
        let mut response = HttpResponse::build(self.status_code());
        page_headers(&mut response);
        response.body(page.render().unwrap_or_default())
    }
}

//! Every error the API answers as problem+json, as a sentence in the reader's language and the
//! form field it concerns — the one place application errors become words for people.

use actix_web::http::StatusCode;
use reserver_app::AppError;
use reserver_domain::Rejection;

use crate::i18n::Lang;

/// An application error, ready to show.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// The form field it concerns (the API's field name), if any.
    pub field: Option<String>,
    key: String,
    args: Vec<(&'static str, String)>,
    /// For password policy errors: the rules broken.
    rules: Vec<String>,
}

impl Problem {
    pub fn of(error: &AppError) -> Problem {
        let p = |status: StatusCode, key: &str| Problem {
            status,
            field: None,
            key: key.to_string(),
            args: Vec::new(),
            rules: Vec::new(),
        };
        match error {
            AppError::Validation { field, message } => {
                let mut problem = p(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid-field");
                problem.field = Some(field.clone());
                problem.args.push(("field", field.clone()));
                match field.as_str() {
                    "username" => problem.key = "error-username-format".into(),
                    "confirm" => problem.key = "error-confirm-required".into(),
                    "code" if message.contains("already used") => problem.key = "error-mfa-code-used".into(),
                    "code" => problem.key = "error-mfa-code".into(),
                    "current_password" => problem.key = "error-current-password".into(),
                    "password" | "new_password" if message.contains(':') => {
                        problem.key = "error-password-policy".into();
                        problem.rules = message
                            .split("; ")
                            .filter_map(|part| part.split_once(':').map(|(rule, _)| rule.trim().to_string()))
                            .collect();
                    }
                    "password" | "new_password" => problem.key = "error-password-same".into(),
                    "end" | "end_time" | "until" => problem.key = "error-end-before-start".into(),
                    "start" | "start_time" | "end_at" | "start_at" => problem.key = "error-invalid-time".into(),
                    _ => {}
                }
                problem
            }
            AppError::InvalidRows { .. } => p(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid-rows"),
            AppError::Rejected(rejection) => {
                let mut problem = p(StatusCode::CONFLICT, &format!("error-{}", rejection.code().replace('_', "-")));
                match rejection {
                    Rejection::QuotaExceeded { limit } => problem.args.push(("limit", limit.to_string())),
                    Rejection::TooShort { .. } | Rejection::TooLong { .. } | Rejection::NoticeTooShort { .. } => {
                        problem.field = Some("end_time".into())
                    }
                    Rejection::Conflict { .. } | Rejection::Blackout { .. } | Rejection::OutsideBusinessHours => {
                        problem.field = Some("start_time".into())
                    }
                    _ => {}
                }
                problem
            }
            AppError::Unauthorized(message) if message.contains("username or password") => {
                p(StatusCode::UNAUTHORIZED, "error-login")
            }
            AppError::Unauthorized(message)
                if message.contains("already used") || message.contains("incorrect code") =>
            {
                let key = if message.contains("already used") { "error-mfa-code-used" } else { "error-mfa-code" };
                let mut problem = p(StatusCode::UNAUTHORIZED, key);
                problem.field = Some("code".into());
                problem
            }
            AppError::Unauthorized(_) => p(StatusCode::UNAUTHORIZED, "error-unauthorized"),
            AppError::MfaRequired { .. } => p(StatusCode::UNAUTHORIZED, "error-mfa-required"),
            AppError::AccountDisabled => p(StatusCode::FORBIDDEN, "error-account-disabled"),
            AppError::PasswordChangeRequired => p(StatusCode::FORBIDDEN, "error-password-change-required"),
            AppError::MfaSetupRequired => p(StatusCode::FORBIDDEN, "error-mfa-setup-required"),
            AppError::Forbidden(_) | AppError::InsufficientScope { .. } => p(StatusCode::FORBIDDEN, "error-forbidden"),
            AppError::NotFound(_) => p(StatusCode::NOT_FOUND, "error-not-found"),
            AppError::Refused { field, .. } => {
                let mut problem = p(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid-field");
                problem.field = Some(field.clone());
                problem.args.push(("field", field.clone()));
                problem
            }
            AppError::Conflict { slug, .. } => {
                let key = match *slug {
                    "username-taken" => "error-username-taken",
                    "setup-complete" => "error-setup-complete",
                    _ => "error-changed-meanwhile",
                };
                let mut problem = p(StatusCode::CONFLICT, key);
                if *slug == "username-taken" {
                    problem.field = Some("username".into());
                }
                problem
            }
            AppError::PreconditionFailed { .. } | AppError::IdempotencyKeyReused => {
                p(StatusCode::CONFLICT, "error-changed-meanwhile")
            }
            AppError::LoginThrottled { retry_after } => {
                let mut problem = p(StatusCode::TOO_MANY_REQUESTS, "error-login-throttled");
                problem.args.push(("seconds", retry_after.to_string()));
                problem
            }
            AppError::TooManyRequests { retry_after, .. } | AppError::ApiQuotaExceeded { retry_after, .. } => {
                let mut problem = p(StatusCode::TOO_MANY_REQUESTS, "error-rate-limited");
                problem.args.push(("seconds", retry_after.to_string()));
                problem
            }
            AppError::PayloadTooLarge { .. } => p(StatusCode::PAYLOAD_TOO_LARGE, "error-too-large"),
            AppError::InvalidCursor => p(StatusCode::UNPROCESSABLE_ENTITY, "error-invalid-field"),
            AppError::NotCaughtUp { .. } | AppError::Unavailable(_) | AppError::TooManyConnections { .. } => {
                p(StatusCode::SERVICE_UNAVAILABLE, "error-unavailable")
            }
            AppError::UnsupportedMediaType { .. } => p(StatusCode::UNSUPPORTED_MEDIA_TYPE, "error-internal"),
            AppError::Storage(_) | AppError::Internal(_) => p(StatusCode::INTERNAL_SERVER_ERROR, "error-internal"),
        }
    }

    /// The sentence, in `lang`.
    pub fn sentence(&self, lang: Lang) -> String {
        let args: Vec<(&'static str, fluent_templates::fluent_bundle::FluentValue<'static>)> = self
            .args
            .iter()
            .map(|(name, value)| {
                let shown = if *name == "field" { field_label(lang, value) } else { value.clone() };
                (*name, shown.into())
            })
            .collect();
        let mut sentence = lang.t_with(&self.key, &args);
        if !self.rules.is_empty() {
            let rules: Vec<String> =
                self.rules.iter().map(|r| lang.t(&format!("rule-{}", r.replace('_', "-")))).collect();
            sentence = format!("{sentence} {}", rules.join(", "));
        }
        sentence
    }
}

/// The label of a form field, as the form shows it.
fn field_label(lang: Lang, field: &str) -> String {
    let key = format!("field-{}", field.replace('_', "-"));
    let label = lang.t(&key);
    if label == key {
        field.to_string()
    } else {
        label
    }
}

/// Errors of a form, by field, each a sentence; `general` for those that concern no field.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    pub fields: Vec<(String, String)>,
    pub general: Option<String>,
}

impl FormErrors {
    /// Places `error` next to the field it names when the form has that field, else on top.
    pub fn from_error(lang: Lang, error: &AppError, form_fields: &[&str]) -> FormErrors {
        let problem = Problem::of(error);
        let sentence = problem.sentence(lang);
        match problem.field.as_deref().map(|f| if f == "new_password" { "password" } else { f }) {
            Some(field) if form_fields.contains(&field) => {
                FormErrors { fields: vec![(field.to_string(), sentence)], general: None }
            }
            _ => FormErrors { fields: Vec::new(), general: Some(sentence) },
        }
    }

    /// The error of `field`, or an empty string.
    pub fn of(&self, field: &str) -> &str {
        self.fields.iter().find(|(f, _)| f == field).map(|(_, s)| s.as_str()).unwrap_or_default()
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|(f, _)| f == field)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }
}

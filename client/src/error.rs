//! The client's one error type, and the server's RFC 9457 problem details.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::wire::{ConflictingInterval, OccurrenceReport, TimeRange};

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error (`application/problem+json`, or a bare status).
    #[error("{}", .0.sentence())]
    Problem(Box<Problem>),
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered something that is not the documented shape.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    /// A call that needs a login was made without one.
    #[error("not logged in")]
    NotLoggedIn,
    /// The base URL or another argument is not usable.
    #[error("{0}")]
    Invalid(String),
    /// The WebSocket failed.
    #[error("live events: {0}")]
    Live(String),
}

impl Error {
    /// The problem the server answered, if it answered one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        self.problem().map(|p| p.status)
    }
}

/// One invalid field of a `422`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details as the service sends them: a stable `type` URI per failure,
/// `title`, `status`, `detail`, and the extension members the service uses (`errors` for
/// invalid fields, `conflicts` and `next_free_slots` for a refused booking, `occurrences` for a
/// refused series, `mfa_token` when a second factor is needed, …). Members this client does not
/// know are kept in `extensions`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The booking rule's code (`conflict`, `outside_business_hours`, …) for rule refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<ConflictingInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next_free_slots: Vec<TimeRange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<OccurrenceReport>,
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem for an answer without a problem body (a proxy's 502, an old server's 404).
    pub fn from_status(status: u16, reason: &str, body: &str) -> Self {
        let body = body.trim();
        let detail = (!body.is_empty() && body.len() <= 300 && !body.starts_with('<')).then(|| body.to_string());
        Problem {
            kind: "about:blank".into(),
            title: if reason.is_empty() { format!("HTTP {status}") } else { reason.to_string() },
            status,
            detail,
            ..Problem::default()
        }
    }

    /// The last segment of `type`: `conflict`, `not-found`, `validation-error`, …
    pub fn slug(&self) -> &str {
        self.kind.rsplit('/').next().unwrap_or_default()
    }

    /// Whether this is a refusal by a booking rule or a state conflict (`409`, or a `422`
    /// carrying a rule `code`).
    pub fn is_refusal(&self) -> bool {
        self.status == 409 || (self.status == 422 && self.code.is_some())
    }

    /// Whether the server has no such route at all (an older server than this client).
    pub fn is_missing_route(&self) -> bool {
        self.status == 404 && self.detail.as_deref().is_some_and(|d| d.starts_with("route "))
    }

    /// A string extension member, e.g. `mfa_token`.
    pub fn extension_str(&self, key: &str) -> Option<&str> {
        self.extensions.get(key).and_then(Value::as_str)
    }

    /// One sentence for a person: the title, then the detail when it adds something (not
    /// when it only repeats a field error, which is shown beside the sentence).
    pub fn sentence(&self) -> String {
        let title = if self.title.is_empty() { format!("HTTP {}", self.status) } else { self.title.clone() };
        let repeats_a_field = |d: &str| {
            self.errors
                .iter()
                .any(|e| d.trim_end_matches('.') == format!("{}: {}", e.field, e.message).trim_end_matches('.'))
        };
        let detail = self.detail.as_deref().map(str::trim).filter(|d| !d.is_empty() && !repeats_a_field(d));
        let mut text = match detail {
            Some(detail) if !detail.eq_ignore_ascii_case(&title) => format!("{title}: {detail}"),
            _ => title,
        };
        if !text.ends_with('.') {
            text.push('.');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_reads_as_one_sentence_with_its_extensions_kept() {
        let body = r#"{"type":"https://reserver.dev/problems/conflict","title":"Booking conflict","status":409,
            "detail":"slot conflicts with 1 existing reservation(s)","code":"conflict","conflicts":[],
            "next_free_slots":[{"start":"2030-03-04T10:00:00Z","end":"2030-03-04T11:00:00Z"}],"hint":"x"}"#;
        let p: Problem = serde_json::from_str(body).unwrap();
        assert_eq!(p.slug(), "conflict");
        assert!(p.is_refusal());
        assert_eq!(p.sentence(), "Booking conflict: slot conflicts with 1 existing reservation(s).");
        assert_eq!(p.next_free_slots.len(), 1);
        assert_eq!(p.extension_str("hint"), Some("x"));
    }

    #[test]
    fn a_detail_that_repeats_a_field_error_is_not_said_twice() {
        let p: Problem = serde_json::from_str(
            r#"{"type":"https://reserver.dev/problems/validation-error","title":"Invalid request","status":422,
                "detail":"password: too short","errors":[{"field":"password","message":"too short"}]}"#,
        )
        .unwrap();
        assert_eq!(p.sentence(), "Invalid request.");
    }

    #[test]
    fn a_bare_status_still_reads_as_a_sentence() {
        let p = Problem::from_status(404, "Not Found", "");
        assert_eq!(p.sentence(), "Not Found.");
        let p: Problem = serde_json::from_str(
            r#"{"type":"https://reserver.dev/problems/not-found","title":"Not found","status":404,"detail":"route GET /api/v1/roles not found"}"#,
        )
        .unwrap();
        assert!(p.is_missing_route());
        assert_eq!(p.sentence(), "Not found: route GET /api/v1/roles not found.");
        let p = Problem::from_status(502, "Bad Gateway", "<html>…</html>");
        assert_eq!(p.detail, None);
    }
}

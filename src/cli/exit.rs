//! How a command ends: the [`Exit`] status (mapped to a process code in `main` only) and the
//! [`Failure`] that explains it to a person.

use std::io::Write;

use reserver_client::Error as ApiError;

/// The process's exit status, by kind of outcome (scripts branch on these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: any other failure (server unreachable, invalid input the server refused, …).
    Error,
    /// 2: the command line itself is wrong.
    Usage,
    /// 3: the thing (or, on an older server, the feature) does not exist.
    NotFound,
    /// 4: refused by a booking rule or a conflicting state (e.g. the slot is taken).
    Refused,
    /// 5: not logged in, session over, or not allowed.
    Auth,
    /// 3 (`projections status`): a read model is stuck on an event it cannot apply.
    Stuck,
}

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The server (or the way to it) said no.
    Api(ApiError),
    /// The command line or a value in it is wrong.
    Usage(String),
    /// Something named does not exist.
    NotFound(String),
    /// Not logged in.
    Auth(String),
    /// Already explained on stderr; exit with this status.
    Reported(Exit),
    /// Anything else.
    Other(String),
}

impl Failure {
    pub fn exit(&self) -> Exit {
        match self {
            Failure::Api(e) => match e {
                ApiError::Problem(p) => match p.status {
                    401 | 403 => Exit::Auth,
                    404 | 410 => Exit::NotFound,
                    _ if p.is_refusal() => Exit::Refused,
                    _ => Exit::Error,
                },
                ApiError::NotLoggedIn => Exit::Auth,
                ApiError::Invalid(_) => Exit::Usage,
                _ => Exit::Error,
            },
            Failure::Usage(_) => Exit::Usage,
            Failure::NotFound(_) => Exit::NotFound,
            Failure::Auth(_) => Exit::Auth,
            Failure::Reported(exit) => *exit,
            Failure::Other(_) => Exit::Error,
        }
    }

    /// Writes the explanation to stderr: one sentence, then the field errors, then a hint.
    pub fn report(&self, color: bool) {
        let mut err = std::io::stderr().lock();
        let label = if color { "\x1b[1;31merror:\x1b[0m" } else { "error:" };
        let _ = match self {
            Failure::Reported(_) => Ok(()),
            Failure::Api(ApiError::Problem(p)) => {
                let _ = writeln!(err, "{label} {}", p.sentence());
                for field in &p.errors {
                    let _ = writeln!(err, "  {}: {}", field.field, field.message);
                }
                match hint(p) {
                    Some(hint) => writeln!(err, "{hint}"),
                    None => Ok(()),
                }
            }
            Failure::Api(ApiError::NotLoggedIn) => {
                writeln!(err, "{label} not logged in; run `reserver login` (or set RESERVER_TOKEN)")
            }
            Failure::Api(e) => writeln!(err, "{label} {e}"),
            Failure::Usage(m) | Failure::NotFound(m) | Failure::Auth(m) | Failure::Other(m) => {
                writeln!(err, "{label} {m}")
            }
        };
    }
}

fn hint(p: &reserver_client::Problem) -> Option<&'static str> {
    if p.is_missing_route() {
        return Some("This server does not offer that yet: it needs a newer Resource Reserver release.");
    }
    match p.status {
        401 => Some("Log in again with `reserver login`."),
        403 => Some("Your role does not allow this; `reserver whoami` shows your role."),
        429 => Some("Wait a moment and try again."),
        _ => None,
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        // A reader that went away (`| head`) is a normal end, not an error.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::Reported(Exit::Ok)
        } else {
            Failure::Other(e.to_string())
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reserver_client::Problem;

    fn problem(status: u16, code: Option<&str>) -> Failure {
        let p = Problem { status, code: code.map(str::to_string), ..Problem::default() };
        Failure::Api(ApiError::Problem(Box::new(p)))
    }

    #[test]
    fn statuses_map_to_distinct_exits() {
        assert_eq!(problem(404, None).exit(), Exit::NotFound);
        assert_eq!(problem(409, Some("conflict")).exit(), Exit::Refused);
        assert_eq!(problem(422, Some("outside_business_hours")).exit(), Exit::Refused);
        assert_eq!(problem(422, None).exit(), Exit::Error);
        assert_eq!(problem(401, None).exit(), Exit::Auth);
        assert_eq!(problem(403, None).exit(), Exit::Auth);
        assert_eq!(Failure::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).exit(), Exit::Ok);
    }
}

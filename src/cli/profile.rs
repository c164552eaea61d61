//! Profiles and tokens in the user's config directory: `CLI_CONFIG_DIR` if set (the old
//! client's variable), else the platform's (`$XDG_CONFIG_HOME/reserver`, `~/.config/reserver`).
//! `config.json` names the profiles (server URL, zone) and the current one;
//! `credentials.json` holds each profile's tokens; `positions.json` the last log position
//! written per server, so a run reads what the previous one wrote. Both are written whole (temp file, then
//! rename) and readable only by the user (0600, directory 0700).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reserver_client::{Session, SessionStore};
use serde::{Deserialize, Serialize};

use super::exit::Failure;

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";
/// The server a profile without a URL talks to.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

/// One named server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// `config.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The tokens of one profile, for the server they were issued by.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    pub url: String,
    pub username: String,
    #[serde(flatten)]
    pub session: Session,
}

/// The config directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// `CLI_CONFIG_DIR`, else the platform's config directory for `reserver`.
    pub fn locate() -> Result<Store, Failure> {
        if let Some(dir) = std::env::var_os("CLI_CONFIG_DIR").filter(|d| !d.is_empty()) {
            return Ok(Store { dir: PathBuf::from(dir) });
        }
        let dirs = directories::ProjectDirs::from("", "", "reserver").ok_or_else(|| {
            Failure::Other("no home directory to keep the configuration in; set CLI_CONFIG_DIR".into())
        })?;
        Ok(Store { dir: dirs.config_dir().to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> Result<Config, Failure> {
        read_json(&self.dir.join("config.json"))
    }

    pub fn save_config(&self, config: &Config) -> Result<(), Failure> {
        write_private(&self.dir, "config.json", config)
    }

    pub fn credentials(&self) -> Result<BTreeMap<String, Stored>, Failure> {
        read_json(&self.dir.join("credentials.json"))
    }

    /// The last log position a command of this user answered on the server at `url`, so the
    /// next run's reads include it (read your writes across runs).
    pub fn position(&self, url: &str) -> u64 {
        read_json::<BTreeMap<String, u64>>(&self.dir.join("positions.json"))
            .ok()
            .and_then(|p| p.get(url).copied())
            .unwrap_or(0)
    }

    pub fn save_position(&self, url: &str, position: u64) -> Result<(), Failure> {
        let mut all: BTreeMap<String, u64> = read_json(&self.dir.join("positions.json")).unwrap_or_default();
        all.insert(url.to_string(), position);
        write_private(&self.dir, "positions.json", &all)
    }

    /// Stores (or with `None` forgets) a profile's tokens.
    pub fn save_credentials(&self, profile: &str, stored: Option<Stored>) -> Result<(), Failure> {
        let mut all = self.credentials().unwrap_or_default();
        match stored {
            Some(s) => all.insert(profile.to_string(), s),
            None => all.remove(profile),
        };
        write_private(&self.dir, "credentials.json", &all)
    }
}

/// A profile's tokens as the client's [`SessionStore`]: `reserver` processes running at once
/// take turns to refresh (an exclusive lock on `credentials.lock`), and one that finds the
/// stored session already refreshed by another uses it instead of spending the refresh token
/// a second time (which would end the session).
pub struct ProfileSessions {
    pub store: Store,
    pub profile: String,
    pub url: String,
    pub username: String,
}

impl SessionStore for ProfileSessions {
    fn begin_refresh(&self) -> (Box<dyn Send>, Option<Session>) {
        let lock = self.store.lock();
        let stored = self
            .store
            .credentials()
            .ok()
            .and_then(|mut all| all.remove(&self.profile))
            .filter(|s| s.url == self.url)
            .map(|s| s.session);
        (Box::new(lock), stored)
    }

    fn save(&self, session: Option<&Session>) {
        let stored =
            session.map(|s| Stored { url: self.url.clone(), username: self.username.clone(), session: s.clone() });
        if let Err(e) = self.store.save_credentials(&self.profile, stored) {
            e.report(false);
        }
    }
}

impl Store {
    /// The refresh lock, held until the file is dropped; `None` if it cannot be taken (the
    /// refresh then goes ahead unguarded rather than not at all).
    fn lock(&self) -> Option<std::fs::File> {
        let _ = create_private_dir(&self.dir);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(self.dir.join("credentials.lock")).ok()?;
        file.lock().ok()?;
        Some(file)
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn read_json<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Other(format!("{} is damaged ({e}); fix or delete it", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(Failure::Other(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes `name` in `dir` for the user's eyes only: the directory 0700, the file 0600 from
/// the moment it exists (a temp file renamed over the old one).
fn write_private<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::Other(format!("cannot write {}: {e}", dir.join(name).display()));
    create_private_dir(dir).map_err(fail)?;
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Failure::Other(e.to_string()))?;
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    {
        use std::io::Write;
        let mut file = options.open(&temp).map_err(fail)?;
        file.write_all(&bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&temp, dir.join(name)).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_private_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store { dir: dir.path().join("nested") };
        let stored = Stored {
            url: DEFAULT_URL.into(),
            username: "ada".into(),
            session: Session { access_token: "a".into(), refresh_token: Some("r".into()), expires_at: None },
        };
        store.save_credentials("default", Some(stored)).unwrap();
        assert_eq!(store.credentials().unwrap()["default"].session.refresh_token.as_deref(), Some("r"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.dir().join("credentials.json")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        store.save_credentials("default", None).unwrap();
        assert!(store.credentials().unwrap().is_empty());
    }
}

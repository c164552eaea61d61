//! Setup, login (with a second factor when the account has one), refresh, logout, the caller's
//! account, password, MFA (RFC 6238 TOTP) and sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::Error;
use crate::http::{Body, Call, Client, Session, TokenPair};

/// What `POST /token` answered.
#[derive(Debug, Clone)]
pub enum Login {
    /// Logged in.
    Tokens(TokenPair),
    /// The password was right and the account has MFA: send a code with [`Client::login_mfa`].
    MfaRequired { mfa_token: String },
}

impl Login {
    /// The session of a completed login; an error naming the missing second factor otherwise.
    pub fn into_session(self) -> Result<Session, Error> {
        match self {
            Login::Tokens(pair) => Ok(pair.session()),
            Login::MfaRequired { .. } => Err(Error::Invalid("this account needs a one-time code (MFA)".into())),
        }
    }
}

/// A new account (`POST /register`, `POST /setup/initialize`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Registered {
    pub id: Uuid,
    pub username: String,
    pub role: String,
}

/// The caller's account (`GET /users/me`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub role: String,
    #[serde(default)]
    pub locked_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub preferences: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /auth/mfa/setup`: the TOTP secret, its `otpauth://` URI and a QR code of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaSetup {
    pub secret: String,
    #[serde(alias = "provisioning_uri", alias = "uri")]
    pub otpauth_uri: String,
    #[serde(default, alias = "qr_code")]
    pub qr_svg: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One-time backup codes (shown once).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct BackupCodes {
    #[serde(default)]
    pub backup_codes: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One login session of the caller (`GET /users/me/sessions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionInfo {
    #[serde(alias = "session_id")]
    pub id: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, alias = "last_seen_at", alias = "last_used")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default, alias = "ip", alias = "client_ip")]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub current: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A list the server may send bare (`[…]`) or wrapped (`{"data": […]}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ListOf<T> {
    Bare(Vec<T>),
    Wrapped {
        #[serde(
            alias = "sessions",
            alias = "clients",
            alias = "roles",
            alias = "results",
            alias = "users",
            alias = "resources"
        )]
        data: Vec<T>,
    },
}

impl<T> ListOf<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            ListOf::Bare(v) | ListOf::Wrapped { data: v } => v,
        }
    }
}

impl Client {
    /// `GET /setup/status`: whether the first admin exists.
    pub async fn setup_complete(&self) -> Result<bool, Error> {
        let v: Value = self.fetch(Call::get("/api/v1/setup/status").anonymous()).await?;
        Ok(v["setup_complete"].as_bool().unwrap_or(false))
    }

    /// `POST /setup/initialize`: creates the first admin (once).
    pub async fn setup(&self, username: &str, password: &str) -> Result<Registered, Error> {
        let body = json!({ "username": username, "password": password });
        self.fetch(Call::post("/api/v1/setup/initialize").anonymous().json(body)).await
    }

    /// `POST /register`: a new account with the `user` role.
    pub async fn register(&self, username: &str, password: &str) -> Result<Registered, Error> {
        let body = json!({ "username": username, "password": password });
        self.fetch(Call::post("/api/v1/register").anonymous().json(body)).await
    }

    /// `POST /token` (OAuth2 password form).
    pub async fn login(&self, username: &str, password: &str) -> Result<Login, Error> {
        let mut call = Call::post("/api/v1/token").anonymous();
        call.body = Body::Form(vec![("username".into(), username.into()), ("password".into(), password.into())]);
        match self.fetch::<TokenPair>(call).await {
            Ok(pair) => Ok(Login::Tokens(pair)),
            Err(Error::Problem(p)) if p.slug() == "mfa-required" => match p.extension_str("mfa_token") {
                Some(token) => Ok(Login::MfaRequired { mfa_token: token.to_string() }),
                None => Err(Error::Problem(p)),
            },
            Err(e) => Err(e),
        }
    }

    /// `POST /token/mfa`: the second step of a login, with a TOTP or backup code.
    pub async fn login_mfa(&self, mfa_token: &str, code: &str) -> Result<TokenPair, Error> {
        let body = json!({ "mfa_token": mfa_token, "code": code });
        self.fetch(Call::post("/api/v1/token/mfa").anonymous().json(body)).await
    }

    /// `POST /logout`: revokes the session on the server.
    pub async fn logout(&self) -> Result<(), Error> {
        let _: Value = self.fetch(Call::post("/api/v1/logout")).await?;
        Ok(())
    }

    /// `GET /users/me`.
    pub async fn me(&self) -> Result<Me, Error> {
        self.fetch(Call::get("/api/v1/users/me")).await
    }

    /// `POST /users/me/password`.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<Value, Error> {
        let body = json!({ "current_password": current, "new_password": new });
        self.fetch(Call::post("/api/v1/users/me/password").json(body)).await
    }

    /// `POST /auth/mfa/setup`: a new TOTP secret (not active until [`Client::mfa_enable`]).
    pub async fn mfa_setup(&self) -> Result<MfaSetup, Error> {
        self.fetch(Call::post("/api/v1/auth/mfa/setup")).await
    }

    /// `POST /auth/mfa/verify`: turns MFA on with one valid code; answers the backup codes.
    pub async fn mfa_enable(&self, code: &str) -> Result<BackupCodes, Error> {
        self.fetch(Call::post("/api/v1/auth/mfa/verify").json(json!({ "code": code }))).await
    }

    /// `POST /auth/mfa/disable` with a current code or the password.
    pub async fn mfa_disable(&self, code: Option<&str>, password: Option<&str>) -> Result<Value, Error> {
        let mut body = Map::new();
        if let Some(code) = code {
            body.insert("code".into(), code.into());
        }
        if let Some(password) = password {
            body.insert("password".into(), password.into());
        }
        self.fetch(Call::post("/api/v1/auth/mfa/disable").json(body)).await
    }

    /// `POST /auth/mfa/backup-codes`: a new set; the old ones stop working.
    pub async fn mfa_backup_codes(&self) -> Result<BackupCodes, Error> {
        self.fetch(Call::post("/api/v1/auth/mfa/backup-codes")).await
    }

    /// `GET /users/me/sessions`.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, Error> {
        Ok(self.fetch::<ListOf<SessionInfo>>(Call::get("/api/v1/users/me/sessions")).await?.into_vec())
    }

    /// `DELETE /users/me/sessions/{id}`.
    pub async fn revoke_session(&self, id: &str) -> Result<(), Error> {
        let call = Call::new(reqwest::Method::DELETE, format!("/api/v1/users/me/sessions/{id}"));
        self.send(&call).await?;
        Ok(())
    }
}

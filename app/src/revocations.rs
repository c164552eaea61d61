//! What makes a valid access token stop working before it expires: its session ended (logout,
//! refresh-token reuse, revocation), or its user's role changed since it was issued (the token
//! names the old role; a refresh issues one with the new role). The state is loaded from the log
//! at start and kept current by the live hub's tail, so every replica learns of a change within
//! moments of its commit; the replica that made the change applies it at once. Entries older
//! than the access-token lifetime are dropped: every token they could refuse has expired.
//!
//! Open WebSocket connections watch [`Revocations::changes`] and check themselves again when it
//! moves, so a logout or a demotion closes them too, within a second.
//!
//! The tail also carries admin unlocks (`unlocked` in a user stream) to every replica:
//! [`Revocations::next_unlocks`] hands them to the task that clears this replica's in-memory
//! login throttle ([`crate::admin_accounts::follow_unlocks`]).

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use reserver_domain::Role;
use reserver_projections::sql::fetch_all;
use reserver_store::{EventStore, RecordedEvent};
use tokio::sync::watch;
use uuid::Uuid;

/// Session events after which the session's tokens are refused.
const ENDING_EVENTS: [&str; 2] = ["session_revoked", "refresh_token_reuse_detected"];
/// User events after which tokens naming the previous role are refused.
const ROLE_EVENTS: [&str; 1] = ["role_granted"];
/// User events that set or clear "must change the password" (an admin reset, a change).
const PASSWORD_EVENTS: [&str; 2] = ["password_reset", "password_changed"];
/// User events that turn MFA on and off (followed from the beginning: never pruned).
const MFA_EVENTS: [&str; 2] = ["mfa_enabled", "mfa_disabled"];
/// User event of an admin unlock: every replica clears its login throttle for the account.
const UNLOCK_EVENT: &str = "unlocked";
/// OAuth2 client events that end a client's tokens: all of them, those of older secrets, one.
const CLIENT_EVENTS: [&str; 3] = ["oauth_client_disabled", "oauth_client_secret_rotated", "oauth_token_revoked"];

#[derive(Default)]
struct Known {
    /// Session id → when it ended.
    ended: HashMap<Uuid, DateTime<Utc>>,
    /// User id → their role since, and when it changed.
    roles: HashMap<Uuid, (Role, DateTime<Utc>)>,
    /// Users whose password an admin reset and who have not changed it since (never pruned).
    must_change_password: std::collections::HashSet<Uuid>,
    /// OAuth2 client id → when it was disabled.
    disabled_clients: HashMap<Uuid, DateTime<Utc>>,
    /// OAuth2 client id → the generation of its current secret, and when it was rotated.
    client_generations: HashMap<Uuid, (u32, DateTime<Utc>)>,
    /// Revoked client access tokens (`jti`) → when.
    revoked_tokens: HashMap<Uuid, DateTime<Utc>>,
    /// Accounts with MFA on (never pruned).
    mfa_on: std::collections::HashSet<Uuid>,
    /// Roles whose accounts must have MFA on (the security policy; never pruned).
    mfa_required_roles: Vec<Role>,
}

pub struct Revocations {
    known: RwLock<Known>,
    token_lifetime: chrono::Duration,
    /// Moves on every change, for long-lived connections to check themselves again.
    changes: watch::Sender<u64>,
    /// Accounts an admin unlocked, seen on the tail and not yet handed out.
    unlocks: std::sync::Mutex<Vec<Uuid>>,
    unlocked: tokio::sync::Notify,
}

/// Why a token is no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Logout, revocation or refresh-token reuse.
    SessionEnded,
    /// The user's role changed after the token was issued.
    RoleChanged,
    /// The OAuth2 client was disabled.
    ClientDisabled,
    /// The OAuth2 client's secret was rotated after the token was obtained.
    SecretRotated,
    /// The token itself was revoked (RFC 7009).
    TokenRevoked,
}

impl Revocations {
    pub fn new(token_lifetime: chrono::Duration) -> Self {
        Self {
            known: RwLock::new(Known::default()),
            token_lifetime,
            changes: watch::Sender::new(0),
            unlocks: std::sync::Mutex::default(),
            unlocked: tokio::sync::Notify::new(),
        }
    }

    /// Adds what changed within the last access-token lifetime, from the log. Called after the
    /// live hub has started, so nothing falls between the two.
    pub async fn load(&self, store: &dyn EventStore) -> anyhow::Result<()> {
        let rows = fetch_all(
            &store.database(),
            "SELECT stream_id, event_type, CAST(payload AS TEXT) FROM events \
             WHERE event_type IN ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ORDER BY position",
            &[
                ENDING_EVENTS[0].into(),
                ENDING_EVENTS[1].into(),
                ROLE_EVENTS[0].into(),
                CLIENT_EVENTS[0].into(),
                CLIENT_EVENTS[1].into(),
                CLIENT_EVENTS[2].into(),
                PASSWORD_EVENTS[0].into(),
                PASSWORD_EVENTS[1].into(),
                MFA_EVENTS[0].into(),
                MFA_EVENTS[1].into(),
                crate::mfa_policy::POLICY_SET.into(),
            ],
        )
        .await?;
        for row in rows {
            self.note(&row.text(0)?, &row.text(1)?, &row.text(2)?);
        }
        Ok(())
    }

    /// Follows one event of the log (called by the live hub for every event).
    pub fn observe(&self, event: &RecordedEvent) {
        self.note(&event.stream_id, &event.event_type, &event.payload);
    }

    /// Marks a session ended now (the replica that handled the logout does not wait for its tail).
    pub fn end(&self, session_id: Uuid) {
        self.change(|known| {
            known.ended.insert(session_id, Utc::now());
        });
    }

    /// Records a role change now (the replica that made it does not wait for its tail).
    pub fn role_changed(&self, user_id: Uuid, role: Role) {
        self.change(|known| {
            known.roles.insert(user_id, (role, Utc::now()));
        });
    }

    /// Records an admin password reset now (the replica that made it does not wait for its tail).
    pub fn password_reset(&self, user_id: Uuid) {
        self.change(|known| {
            known.must_change_password.insert(user_id);
        });
    }

    /// Records that the user chose a new password now.
    pub fn password_changed(&self, user_id: Uuid) {
        self.change(|known| {
            known.must_change_password.remove(&user_id);
        });
    }

    /// Records that the user turned MFA on (`true`) or off now.
    pub fn mfa_changed(&self, user_id: Uuid, on: bool) {
        self.change(|known| {
            if on {
                known.mfa_on.insert(user_id);
            } else {
                known.mfa_on.remove(&user_id);
            }
        });
    }

    /// Records a new MFA policy now (the replica that set it does not wait for its tail).
    pub fn mfa_policy_set(&self, required_roles: Vec<Role>) {
        self.change(|known| known.mfa_required_roles = required_roles);
    }

    /// The roles whose accounts must have MFA on.
    pub fn mfa_required_roles(&self) -> Vec<Role> {
        self.known.read().map(|k| k.mfa_required_roles.clone()).unwrap_or_default()
    }

    /// Whether an account acting with `role` must set up MFA before anything else: the policy
    /// requires it for the role and the account has not turned MFA on.
    pub fn mfa_setup_required(&self, user_id: Uuid, role: Role) -> bool {
        self.known.read().map(|k| k.mfa_required_roles.contains(&role) && !k.mfa_on.contains(&user_id)).unwrap_or(false)
    }

    /// Whether an admin reset the user's password and they have not changed it since.
    pub fn must_change_password(&self, user_id: Uuid) -> bool {
        self.known.read().map(|k| k.must_change_password.contains(&user_id)).unwrap_or(false)
    }

    /// Records a disabled OAuth2 client now.
    pub fn client_disabled(&self, client_id: Uuid) {
        self.change(|known| {
            known.disabled_clients.insert(client_id, Utc::now());
        });
    }

    /// Records an OAuth2 client's new secret generation now.
    pub fn client_rotated(&self, client_id: Uuid, generation: u32) {
        self.change(|known| note_generation(known, client_id, generation, Utc::now()));
    }

    /// Records a revoked client access token now.
    pub fn revoke_token(&self, jti: Uuid) {
        self.change(|known| {
            known.revoked_tokens.insert(jti, Utc::now());
        });
    }

    pub fn is_token_revoked(&self, jti: Uuid) -> bool {
        self.known.read().map(|k| k.revoked_tokens.contains_key(&jti)).unwrap_or(false)
    }

    /// Whether a token of OAuth2 client `client_id`, obtained with its secret of `generation`,
    /// with id `jti`, is refused, and why.
    pub fn client_refusal(&self, client_id: Uuid, generation: u32, jti: Uuid) -> Option<Refusal> {
        let known = self.known.read().ok()?;
        if known.disabled_clients.contains_key(&client_id) {
            return Some(Refusal::ClientDisabled);
        }
        if known.revoked_tokens.contains_key(&jti) {
            return Some(Refusal::TokenRevoked);
        }
        match known.client_generations.get(&client_id) {
            Some((current, _)) if *current > generation => Some(Refusal::SecretRotated),
            _ => None,
        }
    }

    pub fn is_ended(&self, session_id: Uuid) -> bool {
        self.known.read().map(|k| k.ended.contains_key(&session_id)).unwrap_or(false)
    }

    /// Whether a token of `user_id` in `session_id` naming `role` is refused, and why.
    pub fn refusal(&self, user_id: Uuid, session_id: Uuid, role: Role) -> Option<Refusal> {
        let known = self.known.read().ok()?;
        if known.ended.contains_key(&session_id) {
            return Some(Refusal::SessionEnded);
        }
        match known.roles.get(&user_id) {
            Some((current, _)) if *current != role => Some(Refusal::RoleChanged),
            _ => None,
        }
    }

    /// The accounts unlocked since the last call, waiting until there is at least one. Only
    /// unlocks seen on the tail count (the throttle starts empty with the process).
    pub async fn next_unlocks(&self) -> Vec<Uuid> {
        loop {
            let taken = self.unlocks.lock().map(|mut u| std::mem::take(&mut *u)).unwrap_or_default();
            if !taken.is_empty() {
                return taken;
            }
            self.unlocked.notified().await;
        }
    }

    /// A receiver that sees every change (its value is a counter).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn change(&self, apply: impl FnOnce(&mut Known)) {
        let horizon = Utc::now() - self.token_lifetime;
        if let Ok(mut known) = self.known.write() {
            apply(&mut known);
            // Amortized pruning: only when a map has grown.
            if known.ended.len() % 1024 == 0 {
                known.ended.retain(|_, at| *at >= horizon);
            }
            if known.roles.len() % 1024 == 0 {
                known.roles.retain(|_, (_, at)| *at >= horizon);
            }
            if known.revoked_tokens.len() % 1024 == 0 {
                known.revoked_tokens.retain(|_, at| *at >= horizon);
            }
        }
        self.changes.send_modify(|generation| *generation += 1);
    }

    fn note(&self, stream_id: &str, event_type: &str, payload: &str) {
        if event_type == UNLOCK_EVENT {
            if let Some(user) = stream_id.strip_prefix("user-").and_then(|s| Uuid::parse_str(s).ok()) {
                if let Ok(mut unlocks) = self.unlocks.lock() {
                    unlocks.push(user);
                }
                self.unlocked.notify_one();
            }
            return;
        }
        if MFA_EVENTS.contains(&event_type) {
            if let Some(user) = stream_id.strip_prefix("user-").and_then(|s| Uuid::parse_str(s).ok()) {
                self.mfa_changed(user, event_type == MFA_EVENTS[0]);
            }
            return;
        }
        if event_type == crate::mfa_policy::POLICY_SET && stream_id == crate::mfa_policy::STREAM {
            if let Ok(policy) = serde_json::from_str::<crate::mfa_policy::MfaPolicySet>(payload) {
                self.mfa_policy_set(policy.required_roles);
            }
            return;
        }
        if PASSWORD_EVENTS.contains(&event_type) {
            if let Some(user) = stream_id.strip_prefix("user-").and_then(|s| Uuid::parse_str(s).ok()) {
                let reset = event_type == PASSWORD_EVENTS[0];
                self.change(|known| {
                    if reset {
                        known.must_change_password.insert(user);
                    } else {
                        known.must_change_password.remove(&user);
                    }
                });
            }
            return;
        }
        let ending = ENDING_EVENTS.contains(&event_type);
        let role_change = ROLE_EVENTS.contains(&event_type);
        let client = CLIENT_EVENTS.contains(&event_type);
        if !ending && !role_change && !client {
            return;
        }
        let Ok(payload) = serde_json::from_str::<serde_json::Value>(payload) else { return };
        let at = payload.get("at").and_then(|a| a.as_str()?.parse::<DateTime<Utc>>().ok()).unwrap_or_else(Utc::now);
        if at < Utc::now() - self.token_lifetime {
            return;
        }
        if client {
            let Some(client_id) = stream_id.strip_prefix("oauth-client-").and_then(|s| Uuid::parse_str(s).ok()) else {
                return;
            };
            match event_type {
                "oauth_client_disabled" => self.change(|known| {
                    known.disabled_clients.insert(client_id, at);
                }),
                "oauth_client_secret_rotated" => {
                    if let Some(generation) = payload.get("generation").and_then(|g| g.as_u64()) {
                        let generation = u32::try_from(generation).unwrap_or(u32::MAX);
                        self.change(|known| note_generation(known, client_id, generation, at));
                    }
                }
                _ => {
                    if let Some(jti) = payload.get("jti").and_then(|j| Uuid::parse_str(j.as_str()?).ok()) {
                        self.change(|known| {
                            known.revoked_tokens.insert(jti, at);
                        });
                    }
                }
            }
        } else if ending {
            if let Some(session) = stream_id.strip_prefix("session-").and_then(|s| Uuid::parse_str(s).ok()) {
                self.change(|known| {
                    known.ended.insert(session, at);
                });
            }
        } else if let (Some(user), Some(role)) = (
            stream_id.strip_prefix("user-").and_then(|s| Uuid::parse_str(s).ok()),
            payload.get("role").cloned().and_then(|r| serde_json::from_value::<Role>(r).ok()),
        ) {
            self.change(|known| {
                known.roles.insert(user, (role, at));
            });
        }
    }
}

/// Keeps the highest generation seen (the tail may repeat what this replica applied at once).
fn note_generation(known: &mut Known, client_id: Uuid, generation: u32, at: DateTime<Utc>) {
    let entry = known.client_generations.entry(client_id).or_insert((generation, at));
    if generation >= entry.0 {
        *entry = (generation, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_sessions_and_changed_roles_refuse_tokens_and_wake_watchers() {
        let revocations = Revocations::new(chrono::Duration::minutes(15));
        let mut changes = revocations.changes();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(revocations.refusal(user, session, Role::Admin), None);

        let at = Utc::now().to_rfc3339();
        revocations.note(&format!("user-{user}"), "role_granted", &format!(r#"{{"role":"user","at":"{at}"}}"#));
        assert!(changes.has_changed().expect("sender alive"));
        changes.mark_unchanged();
        assert_eq!(revocations.refusal(user, session, Role::Admin), Some(Refusal::RoleChanged));
        assert_eq!(revocations.refusal(user, session, Role::User), None, "a token with the new role is fine");

        revocations.note(&format!("session-{session}"), "session_revoked", &format!(r#"{{"at":"{at}"}}"#));
        assert!(changes.has_changed().expect("sender alive"));
        assert_eq!(revocations.refusal(user, session, Role::User), Some(Refusal::SessionEnded));
    }

    #[test]
    fn client_events_refuse_client_tokens() {
        let revocations = Revocations::new(chrono::Duration::minutes(15));
        let (client, jti) = (Uuid::new_v4(), Uuid::new_v4());
        let at = Utc::now().to_rfc3339();
        let stream = format!("oauth-client-{client}");
        assert_eq!(revocations.client_refusal(client, 1, jti), None);
        revocations.note(&stream, "oauth_token_revoked", &format!(r#"{{"jti":"{jti}","exp":1,"at":"{at}"}}"#));
        assert_eq!(revocations.client_refusal(client, 1, jti), Some(Refusal::TokenRevoked));
        assert_eq!(revocations.client_refusal(client, 1, Uuid::new_v4()), None);
        revocations.note(&stream, "oauth_client_secret_rotated", &format!(r#"{{"generation":2,"at":"{at}"}}"#));
        assert_eq!(revocations.client_refusal(client, 1, Uuid::new_v4()), Some(Refusal::SecretRotated));
        assert_eq!(revocations.client_refusal(client, 2, Uuid::new_v4()), None);
        revocations.note(&stream, "oauth_client_disabled", &format!(r#"{{"at":"{at}"}}"#));
        assert_eq!(revocations.client_refusal(client, 2, Uuid::new_v4()), Some(Refusal::ClientDisabled));
    }

    #[test]
    fn changes_older_than_a_token_lifetime_are_ignored() {
        let revocations = Revocations::new(chrono::Duration::minutes(15));
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let old = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        revocations.note(&format!("session-{session}"), "session_revoked", &format!(r#"{{"at":"{old}"}}"#));
        revocations.note(&format!("user-{user}"), "role_granted", &format!(r#"{{"role":"user","at":"{old}"}}"#));
        assert_eq!(revocations.refusal(user, session, Role::Admin), None);
    }

    #[tokio::test]
    async fn unlocks_on_the_tail_are_handed_out_once() {
        let revocations = Revocations::new(chrono::Duration::minutes(15));
        let (carol, dave) = (Uuid::new_v4(), Uuid::new_v4());
        let at = Utc::now().to_rfc3339();
        let unlocked = format!(r#"{{"by":"{}","at":"{at}"}}"#, Uuid::new_v4());
        revocations.note(&format!("user-{carol}"), "unlocked", &unlocked);
        revocations.note(&format!("user-{dave}"), "unlocked", &unlocked);
        revocations.note(&format!("session-{carol}"), "unlocked", &unlocked);
        assert_eq!(revocations.next_unlocks().await, vec![carol, dave]);
        revocations.note(&format!("user-{dave}"), "unlocked", &unlocked);
        assert_eq!(revocations.next_unlocks().await, vec![dave], "each unlock once");
    }
}

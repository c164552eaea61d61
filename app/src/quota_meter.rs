//! Daily API request quotas: how many requests each caller (a user, or an OAuth2 client acting
//! as itself) may make per UTC day, counted so that every replica on one database sees one
//! count without a database round trip per request.
//!
//! Each replica counts in memory. Every flush interval (1 s by default) it adds what it counted
//! since the last flush to the shared `api_usage` table and reads the day's total back in the
//! same statement (`EventStore::add_api_usage`). A request is admitted while the last total this
//! replica learned, plus what it counted and has not flushed yet, is under the caller's limit.
//! So a replica learns of the other replicas' requests at its next flush for that caller; until
//! then it may admit what arrives within one flush interval. The overshoot past a limit is at
//! most, per replica, the requests a caller gets through in one flush interval (bounded by the
//! per-minute rate limit): replicas × per-minute limit × interval / 60 s. A replica that stops
//! loses at most its last interval's count (undercount, never a refusal it did not earn).
//!
//! The limit of a caller is an admin's override for that account when there is one (an
//! `api_quota_override_set` event in the `api-quota-{id}` stream; see [`crate::quotas`]), else
//! the default of its tier. Overrides are loaded from the log at start and followed through the
//! live tail ([`QuotaMeter::observe`]), so every replica applies a change within moments.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reserver_commands::Clock;
use reserver_domain::Role;
use reserver_projections::sql::fetch_all;
use reserver_store::{EventStore, RecordedEvent, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Days of usage kept in `api_usage` (today included); older days are deleted at rollover.
pub const KEEP_DAYS: i64 = 7;

/// Which daily allowance a caller draws from: its role, or `client` for an OAuth2 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaTier {
    Guest,
    User,
    Approver,
    Auditor,
    Admin,
    Client,
}

impl QuotaTier {
    pub const ALL: [QuotaTier; 6] = [
        QuotaTier::Guest,
        QuotaTier::User,
        QuotaTier::Approver,
        QuotaTier::Auditor,
        QuotaTier::Admin,
        QuotaTier::Client,
    ];

    /// The tier of an account of `role`, or of an OAuth2 client (whatever role its scope lends).
    pub fn of(role: Role, is_client: bool) -> QuotaTier {
        if is_client {
            return QuotaTier::Client;
        }
        match role {
            Role::Guest => QuotaTier::Guest,
            Role::User => QuotaTier::User,
            Role::Approver => QuotaTier::Approver,
            Role::Auditor => QuotaTier::Auditor,
            Role::Admin => QuotaTier::Admin,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuotaTier::Guest => "guest",
            QuotaTier::User => "user",
            QuotaTier::Approver => "approver",
            QuotaTier::Auditor => "auditor",
            QuotaTier::Admin => "admin",
            QuotaTier::Client => "client",
        }
    }
}

/// Daily request limits per tier (`API_QUOTA_*`); 0 leaves a tier unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyQuotaConfig {
    pub enabled: bool,
    pub guest: u64,
    pub user: u64,
    pub approver: u64,
    pub auditor: u64,
    /// Unlimited by default: an admin who ran out could not lift their own limit.
    pub admin: u64,
    pub client: u64,
    /// How often a replica adds its counts to the shared table (and learns the others').
    pub flush_interval: Duration,
}

impl Default for DailyQuotaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            guest: 1_000,
            user: 10_000,
            approver: 20_000,
            auditor: 20_000,
            admin: 0,
            client: 50_000,
            flush_interval: Duration::from_secs(1),
        }
    }
}

impl DailyQuotaConfig {
    /// The default daily limit of `tier` (0: unlimited).
    pub fn limit(&self, tier: QuotaTier) -> u64 {
        match tier {
            QuotaTier::Guest => self.guest,
            QuotaTier::User => self.user,
            QuotaTier::Approver => self.approver,
            QuotaTier::Auditor => self.auditor,
            QuotaTier::Admin => self.admin,
            QuotaTier::Client => self.client,
        }
    }
}

/// An admitted request's standing against its daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStanding {
    /// Requests per UTC day; 0: unlimited (then `remaining` is meaningless).
    pub limit: u64,
    /// Requests left today after this one.
    pub remaining: u64,
    /// Next UTC midnight, when the count starts again.
    pub resets_at: DateTime<Utc>,
    /// Whole seconds until `resets_at` (at least 1).
    pub reset_seconds: u64,
}

impl QuotaStanding {
    pub fn is_unlimited(&self) -> bool {
        self.limit == 0
    }
}

/// A request refused because the caller used its daily limit: answer `429` with
/// `Retry-After: retry_after` (seconds until `resets_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub limit: u64,
    pub resets_at: DateTime<Utc>,
    pub retry_after: u64,
}

/// One caller's count of the current day on this replica.
#[derive(Debug, Default, Clone, Copy)]
struct Count {
    /// The day's total in the shared table when this replica last flushed or read it.
    shared: u64,
    /// Admitted here and not flushed yet.
    pending: u64,
    /// Being added to the shared table right now.
    in_flight: u64,
}

impl Count {
    fn used(&self) -> u64 {
        self.shared + self.pending + self.in_flight
    }
}

struct Counts {
    day: NaiveDate,
    callers: HashMap<Uuid, Count>,
    /// Counts of a day that ended before they were flushed: added at the next flush.
    carried: Vec<(NaiveDate, Vec<(String, u64)>)>,
}

/// The daily quota counter of one replica. Shared across request handlers (`Send + Sync`).
pub struct QuotaMeter {
    config: DailyQuotaConfig,
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    counts: Mutex<Counts>,
    /// Account or client id → its daily limit set by an admin (0: unlimited).
    overrides: RwLock<HashMap<Uuid, u64>>,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for QuotaMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaMeter").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What every override stream id starts with (`api-quota-{account or client id}`).
pub const STREAM_PREFIX: &str = "api-quota-";
/// The events of an override stream.
pub const OVERRIDE_SET: &str = "api_quota_override_set";
pub const OVERRIDE_CLEARED: &str = "api_quota_override_cleared";

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The next UTC midnight after `now`, and the whole seconds until then (at least 1).
pub fn next_reset(now: DateTime<Utc>) -> (DateTime<Utc>, u64) {
    let tomorrow = now.date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
    let resets_at = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let millis = (resets_at - now).num_milliseconds().max(0) as u64;
    (resets_at, millis.div_ceil(1000).max(1))
}

impl QuotaMeter {
    /// A meter counting days on `clock` (the system clock in service; tests may pass another).
    pub fn new(config: DailyQuotaConfig, store: Arc<dyn EventStore>, clock: Arc<dyn Clock>) -> Self {
        let day = clock.now().date_naive();
        Self {
            config,
            store,
            clock,
            counts: Mutex::new(Counts { day, callers: HashMap::new(), carried: Vec::new() }),
            overrides: RwLock::new(HashMap::new()),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> DailyQuotaConfig {
        self.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The override an admin set for `subject`, if any (0: unlimited).
    pub fn override_of(&self, subject: Uuid) -> Option<u64> {
        self.overrides.read().ok().and_then(|o| o.get(&subject).copied())
    }

    /// The daily limit of `subject` in `tier`: its override, else the tier's default.
    pub fn limit_of(&self, subject: Uuid, tier: QuotaTier) -> u64 {
        self.override_of(subject).unwrap_or_else(|| self.config.limit(tier))
    }

    /// Counts one request of `subject` (in `tier`) today, or refuses it when the day's count
    /// (as far as this replica knows it) has reached the limit. Refused requests are not
    /// counted. With quotas off, everything passes uncounted as unlimited.
    pub fn check(&self, subject: Uuid, tier: QuotaTier) -> Result<QuotaStanding, QuotaExceeded> {
        let now = self.clock.now();
        let (resets_at, reset_seconds) = next_reset(now);
        if !self.config.enabled {
            return Ok(QuotaStanding { limit: 0, remaining: 0, resets_at, reset_seconds });
        }
        let limit = self.limit_of(subject, tier);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        roll(&mut counts, now.date_naive());
        let count = counts.callers.entry(subject).or_default();
        let used = count.used();
        if limit > 0 && used >= limit {
            return Err(QuotaExceeded { limit, resets_at, retry_after: reset_seconds });
        }
        count.pending += 1;
        let remaining = limit.saturating_sub(used + 1);
        Ok(QuotaStanding { limit, remaining, resets_at, reset_seconds })
    }

    /// Adds this replica's unflushed counts to the shared table and learns the totals back.
    /// Called every flush interval by [`QuotaMeter::spawn_flusher`], and before usage is shown.
    /// On a database error the counts stay pending for the next flush.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let _one = self.flushing.lock().await;
        let today = self.clock.now().date_naive();
        let (day, batch, carried, rolled) = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let rolled = roll(&mut counts, today);
            let mut batch = Vec::new();
            for (subject, count) in counts.callers.iter_mut() {
                if count.pending > 0 {
                    count.in_flight += count.pending;
                    batch.push((*subject, count.pending));
                    count.pending = 0;
                }
            }
            (counts.day, batch, std::mem::take(&mut counts.carried), rolled)
        };
        let mut failure = None;
        for (old_day, deltas) in carried {
            if let Err(e) = self.store.add_api_usage(&day_text(old_day), &deltas).await {
                tracing::warn!(error = %e, day = %old_day, "could not add the last counts of a past day");
                failure = Some(e);
            }
        }
        if rolled {
            let horizon = today - chrono::Duration::days(KEEP_DAYS - 1);
            if let Err(e) = self.store.prune_api_usage(&day_text(horizon)).await {
                tracing::warn!(error = %e, "could not prune old API usage");
            }
        }
        if batch.is_empty() {
            return failure.map_or(Ok(()), Err);
        }
        let deltas: Vec<(String, u64)> = batch.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        let result = self.store.add_api_usage(&day_text(day), &deltas).await;
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let same_day = counts.day == day;
        match result {
            Ok(totals) => {
                if same_day {
                    for (subject, n) in &batch {
                        if let Some(count) = counts.callers.get_mut(subject) {
                            count.in_flight = count.in_flight.saturating_sub(*n);
                            if let Some(total) = totals.get(&subject.to_string()) {
                                count.shared = count.shared.max(*total);
                            }
                        }
                    }
                }
                failure.map_or(Ok(()), Err)
            }
            Err(e) => {
                if same_day {
                    for (subject, n) in &batch {
                        if let Some(count) = counts.callers.get_mut(subject) {
                            count.in_flight = count.in_flight.saturating_sub(*n);
                            count.pending += n;
                        }
                    }
                } else {
                    counts.carried.push((day, deltas));
                }
                Err(e)
            }
        }
    }

    /// Today's count of each of `subjects`, every replica's flushed requests and this one's
    /// unflushed ones included (flushes first, then reads the shared table).
    pub async fn used_today(&self, subjects: &[Uuid]) -> Result<HashMap<Uuid, u64>, StoreError> {
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, "could not flush API usage before reading it");
        }
        let day = self.clock.now().date_naive();
        let keys: Vec<String> = subjects.iter().map(Uuid::to_string).collect();
        let shared = self.store.api_usage(&day_text(day), &keys).await?;
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let same_day = counts.day == day;
        let mut out = HashMap::new();
        for (subject, key) in subjects.iter().zip(&keys) {
            let stored = shared.get(key).copied().unwrap_or(0);
            let local = match counts.callers.get_mut(subject).filter(|_| same_day) {
                Some(count) => {
                    count.shared = count.shared.max(stored);
                    count.pending + count.in_flight
                }
                None => 0,
            };
            out.insert(*subject, stored + local);
        }
        Ok(out)
    }

    /// Flushes every `flush_interval` until the task is aborted.
    pub fn spawn_flusher(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.config.flush_interval.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.flush().await {
                    tracing::warn!(error = %e, "could not flush API usage; keeping the counts for the next try");
                }
            }
        })
    }

    /// Loads every override from the log (at start, after the live tail has started).
    pub async fn load(&self, store: &dyn EventStore) -> anyhow::Result<()> {
        let rows = fetch_all(
            &store.database(),
            "SELECT stream_id, event_type, CAST(payload AS TEXT) FROM events WHERE event_type IN ($1, $2) \
             ORDER BY position",
            &[OVERRIDE_SET.into(), OVERRIDE_CLEARED.into()],
        )
        .await?;
        for row in rows {
            self.note(&row.text(0)?, &row.text(1)?, &row.text(2)?);
        }
        Ok(())
    }

    /// Follows one event of the log (called by the live tail for every event).
    pub fn observe(&self, event: &RecordedEvent) {
        if event.stream_id.starts_with(STREAM_PREFIX) {
            self.note(&event.stream_id, &event.event_type, &event.payload);
        }
    }

    /// Applies an override now (the replica that wrote it does not wait for its tail).
    pub fn set_override(&self, subject: Uuid, daily_limit: Option<u64>) {
        if let Ok(mut overrides) = self.overrides.write() {
            match daily_limit {
                Some(limit) => overrides.insert(subject, limit),
                None => overrides.remove(&subject),
            };
        }
    }

    fn note(&self, stream_id: &str, event_type: &str, payload: &str) {
        let Some(subject) = stream_id.strip_prefix(STREAM_PREFIX).and_then(|s| Uuid::parse_str(s).ok()) else {
            return;
        };
        match event_type {
            OVERRIDE_SET => {
                let limit = serde_json::from_str::<serde_json::Value>(payload)
                    .ok()
                    .and_then(|v| v.get("daily_limit").and_then(serde_json::Value::as_u64));
                if let Some(limit) = limit {
                    self.set_override(subject, Some(limit));
                }
            }
            OVERRIDE_CLEARED => self.set_override(subject, None),
            _ => {}
        }
    }
}

/// Starts a new day when `today` is past the counted one: yesterday's unflushed counts are
/// carried to the next flush. Answers whether it rolled over.
fn roll(counts: &mut Counts, today: NaiveDate) -> bool {
    if today <= counts.day {
        return false;
    }
    let leftover: Vec<(String, u64)> =
        counts.callers.iter().filter(|(_, c)| c.pending > 0).map(|(s, c)| (s.to_string(), c.pending)).collect();
    if !leftover.is_empty() {
        let day = counts.day;
        counts.carried.push((day, leftover));
    }
    counts.day = today;
    counts.callers.clear();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_at_the_next_utc_midnight() {
        let now = DateTime::parse_from_rfc3339("2030-01-10T23:59:50.5Z").unwrap().with_timezone(&Utc);
        let (at, seconds) = next_reset(now);
        assert_eq!(at.to_rfc3339(), "2030-01-11T00:00:00+00:00");
        assert_eq!(seconds, 10);
        let midnight = DateTime::parse_from_rfc3339("2030-01-11T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(next_reset(midnight).1, 86_400);
    }

    #[test]
    fn clients_have_their_own_tier() {
        assert_eq!(QuotaTier::of(Role::Admin, true), QuotaTier::Client);
        assert_eq!(QuotaTier::of(Role::Approver, false), QuotaTier::Approver);
        assert_eq!(DailyQuotaConfig::default().limit(QuotaTier::Admin), 0);
    }
}

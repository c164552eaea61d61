//! Availability, booking (single and RFC 5545 recurring), reservations, waitlist, approvals.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::Error;
use crate::http::{Call, Client};
use crate::wire::{OccurrenceReport, Page, PageRequest, Slot, TimeRange};

/// A reservation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Uuid,
    pub resource_id: Uuid,
    pub user_id: Uuid,
    #[serde(default)]
    pub series_id: Option<Uuid>,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    /// `confirmed`, `pending_approval`, `cancelled`, …
    pub status: String,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub approval_deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub offer_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub checked_in_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// One day of `GET /resources/{id}/availability`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DaySummary {
    pub date: NaiveDate,
    #[serde(default)]
    pub open_minutes: i64,
    #[serde(default)]
    pub free_slots: i64,
    #[serde(default)]
    pub first_free: Option<TimeRange>,
}

/// `GET /resources/{id}/availability`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AvailabilitySummary {
    pub resource_id: Uuid,
    pub time_zone: String,
    pub days: Vec<DaySummary>,
}

/// A cross-resource free-slot search (`GET /availability/search`).
#[derive(Debug, Clone, Default)]
pub struct SlotSearch {
    pub tags: Vec<String>,
    pub group_id: Option<Uuid>,
    pub min_capacity: Option<u32>,
    pub kind: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub duration_minutes: u32,
    /// Most resources.
    pub limit: Option<u32>,
}

/// A resource with free slots.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    pub resource_id: Uuid,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub capacity: u32,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub slots: Vec<TimeRange>,
}

/// A recurring booking (`POST /reservations/recurring`).
#[derive(Debug, Clone, Serialize)]
pub struct SeriesRequest {
    pub resource_id: Uuid,
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub rrule: String,
    /// First occurrence's wall-clock start in the resource's zone.
    pub start_local: NaiveDateTime,
    pub duration_minutes: u32,
    pub exdates: Vec<NaiveDateTime>,
    pub skip_conflicts: bool,
}

/// A booked or previewed series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesResult {
    #[serde(default)]
    pub series_id: Option<Uuid>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub bookable: Option<bool>,
    #[serde(default)]
    pub occurrences: Vec<OccurrenceReport>,
}

/// One event of a reservation's history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub position: u64,
    pub event_type: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub event: Value,
}

/// A waitlist entry of the caller, with its place in the queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitlistItem {
    pub entry: WaitlistEntry,
    #[serde(default)]
    pub position: Option<u32>,
}

/// A waitlist entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaitlistEntry {
    pub entry_id: Uuid,
    pub resource_id: Uuid,
    pub desired: TimeRange,
    #[serde(default)]
    pub flex_minutes: i64,
    #[serde(default)]
    pub joined_at: Option<DateTime<Utc>>,
}

impl Client {
    /// `GET /resources/{id}/availability`: per-day summary for `days` days.
    pub async fn availability(
        &self,
        id: Uuid,
        days: u32,
        duration_minutes: Option<u32>,
    ) -> Result<AvailabilitySummary, Error> {
        let call = Call::get(format!("/api/v1/resources/{id}/availability"))
            .query("days_ahead", days)
            .query_opt("duration_minutes", duration_minutes);
        self.fetch(call).await
    }

    /// `GET /resources/{id}/available-slots` on a local `date` of the resource.
    pub async fn free_slots(&self, id: Uuid, date: NaiveDate, duration_minutes: u32) -> Result<Vec<Slot>, Error> {
        let call = Call::get(format!("/api/v1/resources/{id}/available-slots"))
            .query("date", date)
            .query("duration_minutes", duration_minutes);
        let v: Value = self.fetch(call).await?;
        serde_json::from_value(v["slots"].clone())
            .map_err(|e| Error::Decode { url: "available-slots".into(), message: e.to_string() })
    }

    /// `GET /availability/search`: resources with free slots in a window.
    pub async fn search_slots(&self, search: &SlotSearch) -> Result<Vec<SearchHit>, Error> {
        let mut call = Call::get("/api/v1/availability/search")
            .query("duration_minutes", search.duration_minutes)
            .query_opt("group_id", search.group_id)
            .query_opt("min_capacity", search.min_capacity)
            .query_opt("kind", search.kind.as_ref())
            .query_opt("start", search.start.map(|t| t.to_rfc3339()))
            .query_opt("end", search.end.map(|t| t.to_rfc3339()))
            .query_opt("limit", search.limit);
        if !search.tags.is_empty() {
            call = call.query("tags", search.tags.join(","));
        }
        Ok(self.fetch::<crate::accounts::ListOf<SearchHit>>(call).await?.into_vec())
    }

    /// `POST /reservations`: 201 with the reservation, or a `409` problem with `conflicts`
    /// and `next_free_slots`.
    pub async fn book(
        &self,
        resource_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Reservation, Error> {
        let body = json!({ "resource_id": resource_id, "start_time": start, "end_time": end });
        self.fetch(Call::post("/api/v1/reservations").idempotent().json(body)).await
    }

    /// `POST /reservations/recurring`, or with `dry_run` its preview (nothing booked).
    pub async fn book_series(&self, request: &SeriesRequest, dry_run: bool) -> Result<SeriesResult, Error> {
        let mut body = serde_json::to_value(request).unwrap_or_default();
        if dry_run {
            body["dry_run"] = Value::Bool(true);
        }
        let mut call = Call::post("/api/v1/reservations/recurring").json(body);
        if !dry_run {
            call = call.idempotent();
        }
        self.fetch(call).await
    }

    /// `GET /reservations/my`: `scope` is `upcoming`, `past` or `all`.
    pub async fn my_reservations(&self, scope: &str, page: &PageRequest) -> Result<Page<Reservation>, Error> {
        let mut call = Call::get("/api/v1/reservations/my").query("scope", scope);
        call.query.extend(page.query());
        self.fetch(call).await
    }

    /// `GET /reservations/{id}`.
    pub async fn reservation(&self, id: Uuid) -> Result<Reservation, Error> {
        self.fetch(Call::get(format!("/api/v1/reservations/{id}"))).await
    }

    /// `POST /reservations/{id}/cancel`.
    pub async fn cancel(&self, id: Uuid, reason: Option<&str>) -> Result<Value, Error> {
        let call = Call::post(format!("/api/v1/reservations/{id}/cancel")).idempotent();
        self.fetch(call.json(json!({ "reason": reason }))).await
    }

    /// `POST /reservations/series/{series}/cancel`: from one occurrence on, or the whole series.
    pub async fn cancel_series(&self, series: Uuid, from_reservation: Option<Uuid>) -> Result<Value, Error> {
        let call = Call::post(format!("/api/v1/reservations/series/{series}/cancel")).idempotent();
        self.fetch(call.json(json!({ "from_reservation_id": from_reservation }))).await
    }

    /// `POST /reservations/{id}/check-in`.
    pub async fn check_in(&self, id: Uuid) -> Result<Value, Error> {
        self.fetch(Call::post(format!("/api/v1/reservations/{id}/check-in"))).await
    }

    /// `GET /reservations/{id}/history`.
    pub async fn history(&self, id: Uuid) -> Result<Vec<HistoryEntry>, Error> {
        self.fetch(Call::get(format!("/api/v1/reservations/{id}/history"))).await
    }

    /// `GET /calendar/export/{id}.ics`: RFC 5545 text.
    pub async fn reservation_ics(&self, id: Uuid) -> Result<String, Error> {
        self.fetch_text(Call::get(format!("/api/v1/calendar/export/{id}.ics"))).await
    }

    /// `POST /waitlist`.
    pub async fn join_waitlist(
        &self,
        resource_id: Uuid,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        flexible_minutes: u32,
    ) -> Result<Map<String, Value>, Error> {
        let body = json!({ "resource_id": resource_id, "desired_start": start, "desired_end": end,
                           "flexible_minutes": flexible_minutes });
        self.fetch(Call::post("/api/v1/waitlist").idempotent().json(body)).await
    }

    /// `GET /waitlist`: the caller's entries with their queue positions.
    pub async fn my_waitlist(&self) -> Result<Vec<WaitlistItem>, Error> {
        self.fetch(Call::get("/api/v1/waitlist")).await
    }

    /// `POST /waitlist/{id}/accept` or `/decline`.
    pub async fn answer_offer(&self, entry: Uuid, accept: bool) -> Result<Value, Error> {
        let verb = if accept { "accept" } else { "decline" };
        self.fetch(Call::post(format!("/api/v1/waitlist/{entry}/{verb}"))).await
    }

    /// `DELETE /waitlist/{id}`.
    pub async fn leave_waitlist(&self, entry: Uuid) -> Result<Value, Error> {
        self.fetch(Call::new(reqwest::Method::DELETE, format!("/api/v1/waitlist/{entry}"))).await
    }

    /// `GET /approvals/pending` (approvers).
    pub async fn pending_approvals(
        &self,
        resource: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<Page<Reservation>, Error> {
        let mut call = Call::get("/api/v1/approvals/pending").query_opt("resource_id", resource);
        call.query.extend(page.query());
        self.fetch(call).await
    }

    /// `POST /approvals/{id}/respond`.
    pub async fn respond(&self, reservation: Uuid, approved: bool, comment: Option<&str>) -> Result<Value, Error> {
        let body = json!({ "approved": approved, "comment": comment.unwrap_or_default() });
        self.fetch(Call::post(format!("/api/v1/approvals/{reservation}/respond")).idempotent().json(body)).await
    }
}

//! A user's notifications: a page at a time with the unread count, and read marks.

use chrono::Utc;
use reserver_projections::notifications::{self, NotificationView};
use reserver_projections::page::{Page, PageRequest};
use uuid::Uuid;

use crate::error::AppResult;
use crate::services::Services;

/// One page of the user's notifications, newest first (only unread ones when `unread_only`),
/// with how many are unread in all.
pub async fn list(
    services: &Services,
    user_id: Uuid,
    unread_only: bool,
    page: &PageRequest,
) -> AppResult<(Page<NotificationView>, u64)> {
    let db = services.db();
    let result = notifications::notifications_for_user(&db, user_id, unread_only, page).await?;
    let unread = notifications::unread_count(&db, user_id).await?;
    Ok((result, unread))
}

/// Marks one of the user's notifications read; how many changed (0 if it was read already or
/// is not theirs).
pub async fn mark_read(services: &Services, user_id: Uuid, notification_id: Uuid) -> AppResult<u64> {
    Ok(notifications::mark_read(&services.db(), user_id, &[notification_id], Utc::now()).await?)
}

/// Marks all of the user's notifications read; how many were unread.
pub async fn mark_all_read(services: &Services, user_id: Uuid) -> AppResult<u64> {
    Ok(notifications::mark_all_read(&services.db(), user_id, Utc::now()).await?)
}

//! Daily API request counts (`api_usage`), shared by every replica on one database. A replica
//! counts requests in memory and adds what it counted every short interval with one upsert per
//! subject that returns the new total, so the count of a day is the sum of every replica's
//! additions and each replica learns the others' share at its next flush. Operational data,
//! not history: never in the event log.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{sqlite_write_turn, Database, StoreError};

/// Longest subject accepted (an id as text).
const MAX_SUBJECT_LEN: usize = 128;

/// A day is `YYYY-MM-DD` (the UTC date).
fn check_day(day: &str) -> Result<(), StoreError> {
    match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(_) if day.len() == 10 => Ok(()),
        _ => Err(StoreError::Invalid(format!("a usage day is YYYY-MM-DD, not {day:?}"))),
    }
}

fn check_subject(subject: &str) -> Result<(), StoreError> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN || subject.contains('\0') {
        return Err(StoreError::Invalid(format!("a usage subject must be 1..={MAX_SUBJECT_LEN} bytes without NUL")));
    }
    Ok(())
}

fn to_db(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Invalid(format!("{n} requests do not fit a counter")))
}

fn from_db(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Adds each `(subject, requests)` to the subject's count of `day` and answers every listed
/// subject's total after the addition (duplicates are summed; zero additions still answer).
pub(crate) async fn add(
    db: &Database,
    day: &str,
    deltas: &[(String, u64)],
) -> Result<BTreeMap<String, u64>, StoreError> {
    check_day(day)?;
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for (subject, requests) in deltas {
        check_subject(subject)?;
        let entry = merged.entry(subject.clone()).or_default();
        *entry = entry.saturating_add(*requests);
    }
    let mut totals = BTreeMap::new();
    if merged.is_empty() {
        return Ok(totals);
    }
    match db {
        Database::Postgres(pool) => {
            let subjects: Vec<String> = merged.keys().cloned().collect();
            let requests = merged.values().map(|n| to_db(*n)).collect::<Result<Vec<i64>, _>>()?;
            let rows = sqlx::query(
                "INSERT INTO api_usage (subject, day, requests) \
                 SELECT s, $2::text, n FROM UNNEST($1::text[], $3::bigint[]) AS t(s, n) \
                 ON CONFLICT (subject, day) DO UPDATE SET requests = api_usage.requests + EXCLUDED.requests \
                 RETURNING subject, requests",
            )
            .bind(&subjects)
            .bind(day)
            .bind(&requests)
            .fetch_all(pool)
            .await?;
            for row in rows {
                totals.insert(row.try_get::<String, _>("subject")?, from_db(row.try_get("requests")?));
            }
        }
        Database::Sqlite(pool) => {
            let _turn = sqlite_write_turn(pool).await;
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            for (subject, requests) in &merged {
                let total: i64 = sqlx::query(
                    "INSERT INTO api_usage (subject, day, requests) VALUES (?, ?, ?) \
                     ON CONFLICT (subject, day) DO UPDATE SET requests = requests + excluded.requests \
                     RETURNING requests",
                )
                .bind(subject)
                .bind(day)
                .bind(to_db(*requests)?)
                .fetch_one(&mut *tx)
                .await?
                .try_get("requests")?;
                totals.insert(subject.clone(), from_db(total));
            }
            tx.commit().await?;
        }
    }
    Ok(totals)
}

/// The counts of `day` of those `subjects` that have one (absent subjects made no request).
pub(crate) async fn read(db: &Database, day: &str, subjects: &[String]) -> Result<BTreeMap<String, u64>, StoreError> {
    check_day(day)?;
    let mut totals = BTreeMap::new();
    if subjects.is_empty() {
        return Ok(totals);
    }
    let rows = match db {
        Database::Postgres(pool) => {
            sqlx::query("SELECT subject, requests FROM api_usage WHERE day = $1 AND subject = ANY($2)")
                .bind(day)
                .bind(subjects)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(|row| Ok((row.try_get::<String, _>("subject")?, row.try_get::<i64, _>("requests")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        }
        Database::Sqlite(pool) => {
            let mut out = Vec::new();
            // One statement per chunk stays under SQLite's bound-parameter limit.
            for chunk in subjects.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!("SELECT subject, requests FROM api_usage WHERE day = ? AND subject IN ({marks})");
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(day);
                for subject in chunk {
                    query = query.bind(subject);
                }
                for row in query.fetch_all(pool).await? {
                    out.push((row.try_get::<String, _>("subject")?, row.try_get::<i64, _>("requests")?));
                }
            }
            out
        }
    };
    for (subject, requests) in rows {
        totals.insert(subject, from_db(requests));
    }
    Ok(totals)
}

/// Deletes the counts of days before `day`; answers how many rows went.
pub(crate) async fn prune(db: &Database, before_day: &str) -> Result<u64, StoreError> {
    check_day(before_day)?;
    let removed = match db {
        Database::Postgres(pool) => {
            sqlx::query("DELETE FROM api_usage WHERE day < $1").bind(before_day).execute(pool).await?.rows_affected()
        }
        Database::Sqlite(pool) => {
            let _turn = sqlite_write_turn(pool).await;
            sqlx::query("DELETE FROM api_usage WHERE day < ?").bind(before_day).execute(pool).await?.rows_affected()
        }
    };
    Ok(removed)
}

//! Secondary indexes set aside while a rebuild fills emptied read-model tables.
//!
//! Keeping every non-unique index current row by row costs a rebuild several times what
//! filling the table does; building each index once over the filled table is far cheaper.
//! [`set_aside`] drops the non-unique indexes of the given tables and records each definition
//! in `projection_set_aside_indexes` in the same transaction; [`restore`] recreates every
//! recorded index and deletes its record in one transaction per index. Unique indexes and
//! primary keys stay: the projectors' `ON CONFLICT` upserts and the tables' invariants need
//! them.
//!
//! A rebuild restores its indexes whether or not it succeeded. If the process dies in
//! between, the records outlive it and the next [`restore`] — every projection runtime runs
//! one when it starts — recreates them. Queries stay correct without the indexes, only slower.

use crate::error::ProjectionError;
use crate::sql::{placeholders, DbTx, Value};
use reserver_store::{Backend, Database};

/// Drops the non-unique secondary indexes of `tables` and records their definitions.
pub async fn set_aside(db: &Database, tables: &[&str]) -> Result<(), ProjectionError> {
    if tables.is_empty() {
        return Ok(());
    }
    let mut tx = DbTx::begin(db).await?;
    let args: Vec<Value> = tables.iter().map(|t| Value::from(*t)).collect();
    let list = placeholders(1, tables.len());
    let sql = match tx.backend() {
        // pg_get_indexdef names the index's schema, so the definition recreates it in place.
        Backend::Postgres => format!(
            "SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             WHERE t.relname IN ({list}) AND NOT x.indisunique AND pg_table_is_visible(t.oid)"
        ),
        // Indexes SQLite makes for constraints have no SQL of their own.
        Backend::Sqlite => format!(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({list})"
        ),
    };
    let mut found = Vec::new();
    for row in tx.fetch_all(&sql, &args).await? {
        let (name, definition) = (row.text(0)?, row.text(1)?);
        if !is_unique(&definition) {
            found.push((name, definition));
        }
    }
    for (name, definition) in found {
        tx.execute(
            "INSERT INTO projection_set_aside_indexes (name, definition) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[Value::Text(name.clone()), Value::Text(definition)],
        )
        .await?;
        tx.execute(&format!("DROP INDEX IF EXISTS {}", quoted(&name)), &[]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Recreates every index a rebuild set aside, one transaction each. Safe to run from several
/// replicas at once: deleting the record first makes the others skip that index.
pub async fn restore(db: &Database) -> Result<(), ProjectionError> {
    restore_where(db, |_| true).await
}

/// [`restore`] for the indexes of `tables` only: a rebuild gives each read model its indexes
/// back as soon as that read model is filled, while slower ones are still replaying.
pub async fn restore_tables(db: &Database, tables: &[&str]) -> Result<(), ProjectionError> {
    restore_where(db, |definition| table_of(definition).is_some_and(|t| tables.contains(&t))).await
}

async fn restore_where(db: &Database, wanted: impl Fn(&str) -> bool) -> Result<(), ProjectionError> {
    let recorded =
        crate::sql::fetch_all(db, "SELECT name, definition FROM projection_set_aside_indexes ORDER BY name", &[])
            .await?;
    for row in recorded {
        if !wanted(&row.text(1)?) {
            continue;
        }
        let name = row.text(0)?;
        let mut tx = DbTx::begin(db).await?;
        let rows = tx
            .fetch_all(
                "DELETE FROM projection_set_aside_indexes WHERE name = $1 RETURNING definition",
                &[Value::Text(name.clone())],
            )
            .await?;
        if let Some(row) = rows.first() {
            tx.execute(&if_not_exists(&row.text(0)?), &[]).await?;
            tracing::info!(index = %name, "secondary index restored after a rebuild");
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The table a `CREATE INDEX … ON [ONLY] [schema.]table …` definition indexes, as
/// `pg_get_indexdef` and SQLite's stored SQL write it.
fn table_of(definition: &str) -> Option<&str> {
    let upper = definition.to_ascii_uppercase();
    let at = upper.find(" ON ")? + " ON ".len();
    let rest = definition[at..].trim_start();
    let rest = match rest.get(..5) {
        Some(only) if only.eq_ignore_ascii_case("ONLY ") => rest[5..].trim_start(),
        _ => rest,
    };
    let name = rest.split(|c: char| c.is_whitespace() || c == '(').next()?;
    let name = name.rsplit('.').next()?.trim_matches('"');
    (!name.is_empty()).then_some(name)
}

fn is_unique(definition: &str) -> bool {
    definition.trim_start().to_ascii_uppercase().starts_with("CREATE UNIQUE")
}

/// `CREATE INDEX name …` as `CREATE INDEX IF NOT EXISTS name …`: an index that exists already
/// (created by hand, or restored by another replica) is not an error.
fn if_not_exists(definition: &str) -> String {
    let trimmed = definition.trim_start();
    let keyword = "CREATE INDEX ";
    match trimmed.get(..keyword.len()) {
        Some(head)
            if head.eq_ignore_ascii_case(keyword) && !trimmed.to_ascii_uppercase().contains(" IF NOT EXISTS ") =>
        {
            format!("CREATE INDEX IF NOT EXISTS {}", &trimmed[keyword.len()..])
        }
        _ => trimmed.to_string(),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_become_idempotent() {
        assert_eq!(
            if_not_exists("CREATE INDEX rm_a_idx ON public.rm_a USING btree (x)"),
            "CREATE INDEX IF NOT EXISTS rm_a_idx ON public.rm_a USING btree (x)"
        );
        assert_eq!(
            if_not_exists("create index rm_b ON rm_b (s) WHERE s = 'x'"),
            "CREATE INDEX IF NOT EXISTS rm_b ON rm_b (s) WHERE s = 'x'"
        );
        assert_eq!(if_not_exists("CREATE INDEX IF NOT EXISTS c ON t (x)"), "CREATE INDEX IF NOT EXISTS c ON t (x)");
        assert!(is_unique("CREATE UNIQUE INDEX u ON t (x)"));
        assert!(!is_unique("CREATE INDEX u ON t (x)"));
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn the_indexed_table_is_read_from_the_definition() {
        assert_eq!(table_of("CREATE INDEX a ON public.rm_audit USING btree (actor)"), Some("rm_audit"));
        assert_eq!(table_of("CREATE INDEX a ON ONLY public.rm_audit USING btree (x)"), Some("rm_audit"));
        assert_eq!(table_of("CREATE INDEX rm_w ON rm_waitlist(resource_id, seq)"), Some("rm_waitlist"));
        assert_eq!(table_of("create index x on \"rm_x\" (a) WHERE s = 'x'"), Some("rm_x"));
        assert_eq!(table_of("CREATE INDEX broken"), None);
    }
}

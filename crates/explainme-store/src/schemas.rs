//! Named feature schemas, stored as the JSON their owner (explainme-cohort) writes.

use rusqlite::{OptionalExtension, Row, params};

use crate::{NOW, Page, Result, Store};

/// A stored feature schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRecord {
    /// The name cases refer to.
    pub name: String,
    /// The schema as JSON.
    pub schema_json: String,
    /// When it was last stored, RFC 3339 UTC.
    pub updated_at: String,
}

impl SchemaRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<SchemaRecord> {
        Ok(SchemaRecord {
            name: row.get("name")?,
            schema_json: row.get("schema_json")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

impl Store {
    /// Stores a schema under `name`, replacing one of that name; `true` when it is new.
    pub fn put_feature_schema(
        &mut self,
        name: &str,
        schema_json: &str,
    ) -> Result<(SchemaRecord, bool)> {
        let tx = self.conn.transaction()?;
        let existed: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM feature_schemas WHERE name = ?1)",
            [name],
            |row| row.get(0),
        )?;
        tx.execute(
            &format!(
                "INSERT INTO feature_schemas (name, schema_json, updated_at)
                 VALUES (?1, ?2, {NOW})
                 ON CONFLICT (name) DO UPDATE
                 SET schema_json = excluded.schema_json, updated_at = excluded.updated_at"
            ),
            params![name, schema_json],
        )?;
        tx.commit()?;
        let stored = self
            .feature_schema(name)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((stored, !existed))
    }

    /// The schema stored under `name`, if any.
    pub fn feature_schema(&self, name: &str) -> Result<Option<SchemaRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM feature_schemas WHERE name = ?1",
                [name],
                SchemaRecord::from_row,
            )
            .optional()?)
    }

    /// Up to `limit` schemas with names after `after`, ordered by name.
    pub fn feature_schemas_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<SchemaRecord>> {
        let mut statement = self
            .conn
            .prepare("SELECT * FROM feature_schemas WHERE name > ?1 ORDER BY name LIMIT ?2")?;
        let rows = statement
            .query_map(
                params![after.unwrap_or(""), Page::<()>::fetch(limit)],
                SchemaRecord::from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Page::of(rows, limit, |s| s.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_replaces_and_lists_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let (_, created) = store.put_feature_schema("renal", r#"{"a":1}"#).unwrap();
        assert!(created);
        store.put_feature_schema("adrenal", "{}").unwrap();
        let (replaced, created) = store.put_feature_schema("renal", r#"{"a":2}"#).unwrap();
        assert!(!created);
        assert_eq!(replaced.schema_json, r#"{"a":2}"#);
        let names = |page: Page<SchemaRecord>| -> Vec<String> {
            page.items.into_iter().map(|s| s.name).collect()
        };
        assert_eq!(
            names(store.feature_schemas_page(None, 10).unwrap()),
            ["adrenal", "renal"]
        );
        let first = store.feature_schemas_page(None, 1).unwrap();
        assert_eq!(first.next_after.as_deref(), Some("adrenal"));
        let second = store.feature_schemas_page(first.next_after.as_deref(), 1);
        let second = second.unwrap();
        assert_eq!(second.next_after, None);
        assert_eq!(names(second), ["renal"]);
        assert_eq!(store.feature_schema("liver").unwrap(), None);
    }
}

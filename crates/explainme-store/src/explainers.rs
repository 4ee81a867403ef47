//! Fitted explainers: one row per (model, cohort, version), the artefact as a blob named by
//! its SHA-256. The id is derived from the artefact, so storing the same fit twice (same
//! inputs, same seed: byte-identical artefacts) returns the first record.

use rusqlite::{OptionalExtension, Row, params};

use crate::{NOW, Result, Store};

/// An explainer to store.
#[derive(Debug, Clone, Copy)]
pub struct NewExplainer<'a> {
    pub model_id: &'a str,
    pub cohort: &'a str,
    /// The artefact (explainme-explain's `Explainer::to_bytes`).
    pub artefact: &'a [u8],
    /// The parameters as JSON, defaults filled in.
    pub params_json: &'a str,
    /// The probed layers as a JSON array.
    pub layers_json: &'a str,
    pub fit_cases: u32,
    pub held_out_cases: u32,
}

/// A stored explainer's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainerRecord {
    /// `x` + the first 16 hex digits of the artefact's SHA-256 and the model id.
    pub id: String,
    pub model_id: String,
    pub cohort: String,
    /// 1 for the first explainer of this (model, cohort), then increasing.
    pub version: u32,
    pub artefact_sha256: String,
    pub artefact_bytes: u64,
    pub params_json: String,
    pub layers_json: String,
    pub fit_cases: u32,
    pub held_out_cases: u32,
    /// RFC 3339 UTC.
    pub created_at: String,
}

impl ExplainerRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ExplainerRecord> {
        Ok(ExplainerRecord {
            id: row.get("id")?,
            model_id: row.get("model_id")?,
            cohort: row.get("cohort")?,
            version: row.get("version")?,
            artefact_sha256: row.get("artefact_sha256")?,
            artefact_bytes: row.get("artefact_bytes")?,
            params_json: row.get("params_json")?,
            layers_json: row.get("layers_json")?,
            fit_cases: row.get("fit_cases")?,
            held_out_cases: row.get("held_out_cases")?,
            created_at: row.get("created_at")?,
        })
    }
}

impl Store {
    /// Stores an explainer and returns it with `true`, or the identical one stored before
    /// (same artefact for the same model and cohort) with `false`.
    pub fn insert_explainer(&mut self, new: &NewExplainer<'_>) -> Result<(ExplainerRecord, bool)> {
        let sha = self.blobs.put(new.artefact)?;
        let digest =
            crate::sha256_hex(format!("{sha}\n{}\n{}", new.model_id, new.cohort).as_bytes());
        let id = format!("x{}", &digest[..16]);
        if let Some(existing) = self.explainer(&id)? {
            return Ok((existing, false));
        }
        let tx = self.conn.transaction()?;
        let version: u32 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM explainers WHERE model_id = ?1 AND cohort = ?2",
            params![new.model_id, new.cohort],
            |row| row.get(0),
        )?;
        tx.execute(
            &format!(
                "INSERT INTO explainers (id, model_id, cohort, version, artefact_sha256,
                     artefact_bytes, params_json, layers_json, fit_cases, held_out_cases, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, {NOW})"
            ),
            params![
                id,
                new.model_id,
                new.cohort,
                version,
                sha,
                new.artefact.len() as u64,
                new.params_json,
                new.layers_json,
                new.fit_cases,
                new.held_out_cases
            ],
        )?;
        tx.commit()?;
        let stored = self
            .explainer(&id)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((stored, true))
    }

    /// The explainer with this id.
    pub fn explainer(&self, id: &str) -> Result<Option<ExplainerRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM explainers WHERE id = ?1",
                [id],
                ExplainerRecord::from_row,
            )
            .optional()?)
    }

    /// Explainers, newest first, optionally of one model and/or one cohort.
    pub fn explainers(
        &self,
        model_id: Option<&str>,
        cohort: Option<&str>,
    ) -> Result<Vec<ExplainerRecord>> {
        let mut statement = self.conn.prepare(
            "SELECT * FROM explainers
             WHERE (?1 IS NULL OR model_id = ?1) AND (?2 IS NULL OR cohort = ?2)
             ORDER BY created_at DESC, rowid DESC",
        )?;
        let rows = statement.query_map(params![model_id, cohort], ExplainerRecord::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The artefact's bytes, checked against their SHA-256.
    pub fn explainer_artefact(&self, record: &ExplainerRecord) -> Result<Vec<u8>> {
        self.blobs.get(&record.artefact_sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new<'a>(artefact: &'a [u8], cohort: &'a str) -> NewExplainer<'a> {
        NewExplainer {
            model_id: "m1",
            cohort,
            artefact,
            params_json: "{}",
            layers_json: "[]",
            fit_cases: 3,
            held_out_cases: 1,
        }
    }

    #[test]
    fn versions_count_per_model_and_cohort_and_identical_fits_are_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let (a, fresh) = store.insert_explainer(&new(b"one", "c")).unwrap();
        assert!(fresh);
        assert_eq!(a.version, 1);
        let (same, fresh) = store.insert_explainer(&new(b"one", "c")).unwrap();
        assert!(!fresh);
        assert_eq!(same, a);
        let (b, _) = store.insert_explainer(&new(b"two", "c")).unwrap();
        assert_eq!(b.version, 2);
        let (other, _) = store.insert_explainer(&new(b"one", "d")).unwrap();
        assert_eq!(other.version, 1);
        assert_ne!(other.id, a.id);
        let listed = store.explainers(Some("m1"), Some("c")).unwrap();
        assert_eq!(listed.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(store.explainers(None, None).unwrap().len(), 3);
        assert_eq!(store.explainer_artefact(&b).unwrap(), b"two");
        drop(store);
        // After a restart the explainer and its artefact are still there.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.explainer(&a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.explainer_artefact(&a).unwrap(), b"one");
    }
}

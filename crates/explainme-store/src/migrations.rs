//! Ordered schema migrations, tracked by SQLite's `PRAGMA user_version`.
//!
//! Migration `i` (0-based) brings the database from version `i` to `i + 1`. Pending
//! migrations run in one transaction together with the version bump, so a database is never
//! left half-migrated. Released migrations are never edited; changes append a new one.

use rusqlite::Connection;

use crate::{Error, Result};

/// Every migration, oldest first.
const MIGRATIONS: &[&str] = &[
    // 1: models, feature schemas, cases and their masks.
    "CREATE TABLE models (
         id          TEXT PRIMARY KEY,
         name        TEXT NOT NULL,
         onnx_sha256 TEXT NOT NULL,
         onnx_bytes  INTEGER NOT NULL,
         card_json   TEXT NOT NULL,
         created_at  TEXT NOT NULL
     );
     CREATE TABLE feature_schemas (
         name        TEXT PRIMARY KEY,
         schema_json TEXT NOT NULL,
         updated_at  TEXT NOT NULL
     );
     CREATE TABLE cases (
         cohort       TEXT NOT NULL,
         case_id      TEXT NOT NULL,
         schema_name  TEXT NOT NULL REFERENCES feature_schemas (name),
         image_sha256 TEXT NOT NULL,
         image_format TEXT NOT NULL,
         labels_json  TEXT NOT NULL,
         updated_at   TEXT NOT NULL,
         PRIMARY KEY (cohort, case_id)
     );
     CREATE TABLE case_masks (
         cohort  TEXT NOT NULL,
         case_id TEXT NOT NULL,
         concept TEXT NOT NULL,
         sha256  TEXT NOT NULL,
         format  TEXT NOT NULL,
         PRIMARY KEY (cohort, case_id, concept),
         FOREIGN KEY (cohort, case_id) REFERENCES cases (cohort, case_id) ON DELETE CASCADE
     );",
    // 2: fitted explainers; the artefact is a blob named by its SHA-256.
    "CREATE TABLE explainers (
         id              TEXT PRIMARY KEY,
         model_id        TEXT NOT NULL,
         cohort          TEXT NOT NULL,
         version         INTEGER NOT NULL,
         artefact_sha256 TEXT NOT NULL,
         artefact_bytes  INTEGER NOT NULL,
         params_json     TEXT NOT NULL,
         layers_json     TEXT NOT NULL,
         fit_cases       INTEGER NOT NULL,
         held_out_cases  INTEGER NOT NULL,
         created_at      TEXT NOT NULL,
         UNIQUE (model_id, cohort, version)
     );
     CREATE INDEX explainers_by_model ON explainers (model_id, cohort);",
    // 3: clinicians' work: every version of a case's labels (who, when), feedback on
    // explanations, and judged candidate knowledge. No foreign keys to `cases`: replacing a
    // case (delete + insert) must not erase its history.
    "CREATE TABLE label_versions (
         cohort      TEXT NOT NULL,
         case_id     TEXT NOT NULL,
         version     INTEGER NOT NULL,
         labels_json TEXT NOT NULL,
         author      TEXT NOT NULL,
         note        TEXT NOT NULL,
         created_at  TEXT NOT NULL,
         PRIMARY KEY (cohort, case_id, version)
     );
     CREATE TABLE feedback (
         id               INTEGER PRIMARY KEY AUTOINCREMENT,
         explainer_id     TEXT NOT NULL,
         case_id          TEXT NOT NULL,
         part             TEXT NOT NULL,
         judgement        TEXT NOT NULL,
         comment          TEXT NOT NULL,
         determining_json TEXT NOT NULL,
         author           TEXT NOT NULL,
         created_at       TEXT NOT NULL
     );
     CREATE INDEX feedback_by_explainer ON feedback (explainer_id, id);
     CREATE TABLE known_associations (
         id           INTEGER PRIMARY KEY AUTOINCREMENT,
         line         TEXT NOT NULL,
         accepted     INTEGER NOT NULL,
         explainer_id TEXT NOT NULL,
         author       TEXT NOT NULL,
         created_at   TEXT NOT NULL
     );",
    // 4: the audit trail: who asked what of which model, explainer or cases, when, from
    // where, and how it ended. Append-only; empty text where a call has no such subject.
    "CREATE TABLE audit (
         id           INTEGER PRIMARY KEY AUTOINCREMENT,
         at           TEXT NOT NULL,
         who          TEXT NOT NULL,
         role         TEXT NOT NULL,
         via          TEXT NOT NULL,
         peer         TEXT NOT NULL,
         rpc          TEXT NOT NULL,
         model_id     TEXT NOT NULL,
         explainer_id TEXT NOT NULL,
         cohort       TEXT NOT NULL,
         cases        TEXT NOT NULL,
         code         TEXT NOT NULL,
         millis       INTEGER NOT NULL
     );
     CREATE INDEX audit_by_time ON audit (at);",
];

/// The schema version this build writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies every migration the database has not seen yet.
pub fn apply(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction()?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > LATEST {
        return Err(Error::NewerSchema {
            found,
            supported: LATEST,
        });
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", LATEST)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_fresh_database_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        // A second run finds nothing pending (re-running CREATE TABLE would fail).
        apply(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let error = apply(&mut conn).unwrap_err();
        assert!(matches!(error, Error::NewerSchema { found, .. } if found == LATEST + 1));
    }
}

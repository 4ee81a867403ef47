//! Persistence for explainme: one SQLite database plus a directory of content-addressed blobs.
//!
//! The server must remember registered models, feature schemas and cases across restarts,
//! and must never hand ONNX Runtime a half-written or damaged model. So metadata lives in
//! SQLite (bundled, so there is no system library to match) with ordered schema migrations
//! applied at open, and large byte payloads (ONNX files, images, masks) live as files named by
//! their SHA-256 under `DIR/blobs/ab/abcdef…`, written atomically.
//!
//! This crate deliberately knows nothing about gRPC, ONNX or images: it stores records whose
//! payloads (a model card, a feature schema) arrive as JSON text that the caller produced from
//! its own domain types and validated beforehand.
//!
//! ```
//! use explainme_store::{NewModel, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let (model, created) = Store::open(dir.path())?.register_model(&NewModel {
//!     name: "renal-cnn",
//!     onnx: b"not really onnx, the store does not care",
//!     card_json: r#"{"input_name":"image"}"#,
//! })?;
//! assert!(created);
//!
//! // Reopening the same directory (a server restart) finds the model and its bytes again.
//! let store = Store::open(dir.path())?;
//! assert_eq!(store.models()?, vec![model.clone()]);
//! assert_eq!(store.model_onnx(&model)?, b"not really onnx, the store does not care");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod audit;
mod blobs;
mod cases;
mod explainers;
mod judgements;
mod migrations;
mod models;
mod private;
mod schemas;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use audit::{AuditEntry, AuditRecord};
pub use blobs::{BlobStore, StagedBlob, sha256_hex};
pub use cases::{CaseRecord, NewCase, NewImage, StoredImage};
pub use explainers::{ExplainerRecord, NewExplainer};
pub use judgements::{FeedbackRecord, KnownRecord, LabelVersion, NewFeedback};
pub use models::{ModelRecord, NewModel};
pub use schemas::SchemaRecord;

/// How long a write waits for another connection's lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// File name of the SQLite database inside the data directory.
pub const DATABASE_FILE: &str = "explainme.sqlite3";
/// Directory of the content-addressed blobs inside the data directory.
pub const BLOB_DIR: &str = "blobs";

/// What can go wrong while storing or loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory of the data directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// SQLite refused an operation.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer explainme with migrations this build lacks.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade explainme"
    )]
    NewerSchema { found: i64, supported: i64 },
    /// A blob's content no longer matches its name: the file was damaged or edited.
    #[error("blob {} is damaged: expected SHA-256 {expected}, found {actual}", path.display())]
    CorruptBlob {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A blob name that is not a lowercase SHA-256 hex digest.
    #[error("not a SHA-256 hex digest: {0:?}")]
    BadDigest(String),
    /// A stored JSON column could not be read back.
    #[error("stored {what} is not valid JSON: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One page of an ordered listing (cases of a cohort, feature schemas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// The last key of this page when more items follow it.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Rows to fetch for a page of `limit`: one extra tells whether another page follows.
    fn fetch(limit: usize) -> i64 {
        i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
    }

    /// The page of the first `limit` of `rows` (fetched with [`Page::fetch`]).
    fn of(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(key) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }
}

/// The data directory: the SQLite database and the blob files.
///
/// One `Store` owns one connection; callers that share it across threads wrap it in a mutex
/// (SQLite serialises writers anyway).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    blobs: BlobStore,
    /// Orphan files removed at open.
    collected: usize,
}

/// Writes, the migrations and orphan collection go through the one [`Store::open`]ed
/// connection; reads may use any number of [`Store::open_reader`] connections beside it,
/// which WAL lets read while the writer writes (each sees what was committed when its read
/// began).
impl Store {
    /// Another connection to the store in `dir` (already [`Store::open`]ed), for reading only:
    /// `PRAGMA query_only` refuses any write, and `&Store` offers none.
    pub fn open_reader(dir: impl AsRef<Path>) -> Result<Store> {
        let store = Store::open_beside(dir)?;
        store.conn.pragma_update(None, "query_only", true)?;
        Ok(store)
    }

    /// Another connection to the store in `dir` (already [`Store::open`]ed) that may write,
    /// for work that must not queue behind the main writer's callers (the audit trail);
    /// SQLite serialises its commits with the writer's (waiting up to the busy timeout).
    pub fn open_beside(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        let database = dir.join(DATABASE_FILE);
        if !database.is_file() {
            return Err(Error::Io {
                path: database,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "open the store for writing first",
                ),
            });
        }
        let mut conn = Connection::open(&database)?;
        immediate(&mut conn);
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(Store {
            conn,
            blobs: BlobStore::open(dir.join(BLOB_DIR))?,
            collected: 0,
        })
    }
}

impl Store {
    /// Opens the data directory `dir`, creating it and the database if needed and applying
    /// every pending migration.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        private::create_dir(dir)?;
        // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
        // database file's permissions.
        let database = dir.join(DATABASE_FILE);
        if !database.exists() {
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&database);
            if let Err(source) = created
                && source.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(Error::Io {
                    path: database,
                    source,
                });
            }
        }
        private::restrict(&database, 0o600)?;
        let mut conn = Connection::open(&database)?;
        immediate(&mut conn);
        // Another process holding the write lock (a backup, a second server by mistake) makes
        // a write wait, not fail at once.
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: every commit syncs the write-ahead log, so what a call acknowledged survives a
        // power cut too (NORMAL would lose the last commits then, though not on a crash).
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrations::apply(&mut conn)?;
        let blobs = BlobStore::open(dir.join(BLOB_DIR))?;
        let mut store = Store {
            conn,
            blobs,
            collected: 0,
        };
        store.collected = store.collect_orphans()?;
        Ok(store)
    }

    /// Files removed by [`Store::collect_orphans`] when the store was opened.
    pub fn collected_at_open(&self) -> usize {
        self.collected
    }

    /// Removes what an interrupted write left in the blob directory: temporary files, and
    /// blobs no row refers to (written before a crash, or before the commit that would have
    /// named them failed). Returns how many files it removed. Run at open, when no write of
    /// this store is under way.
    pub fn collect_orphans(&self) -> Result<usize> {
        // One query for the whole set, not one per file: the blob columns carry no index,
        // and a store of many cases would scan them once per blob at every start.
        let named = self.named_blobs()?;
        let mut removed = 0;
        for (name, path) in self.blobs.files()? {
            if name.starts_with(blobs::TEMP_PREFIX) || !named.contains(&name) {
                std::fs::remove_file(&path).map_err(|source| Error::Io { path, source })?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Checks the store end to end: SQLite's `integrity_check`, and every blob a row names
    /// present with its content intact. Returns the problems found (empty: consistent).
    pub fn check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let integrity: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        if integrity != "ok" {
            problems.push(format!("database: {integrity}"));
        }
        for sha in self.named_blobs()? {
            if let Err(error) = self.blobs.get(&sha) {
                problems.push(error.to_string());
            }
        }
        Ok(problems)
    }

    /// The database schema version after migrations.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Every blob a model, case, mask or explainer names.
    fn named_blobs(&self) -> Result<std::collections::HashSet<String>> {
        let mut statement = self.conn.prepare(
            "SELECT onnx_sha256 FROM models UNION SELECT image_sha256 FROM cases
             UNION SELECT sha256 FROM case_masks UNION SELECT artefact_sha256 FROM explainers",
        )?;
        let named = statement
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(named)
    }

    /// Whether a model, case, mask or explainer names blob `sha`.
    fn is_referenced(&self, sha: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM models WHERE onnx_sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM cases WHERE image_sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM case_masks WHERE sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM explainers WHERE artefact_sha256 = ?1)",
            [sha],
            |row| row.get(0),
        )?)
    }

    /// The blob directory, for [`BlobStore::stage`] off the writer: stage through this value
    /// (or a clone), whose pins this store's deletions respect.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Gives up a staged blob whose row will not be written (the case was refused, or its
    /// write failed): unpins it and deletes it unless a row names it or another stage still
    /// pins it.
    pub fn discard(&mut self, staged: StagedBlob) -> Result<()> {
        let sha = staged.sha256().to_owned();
        drop(staged);
        self.release_blob(&sha)
    }

    /// Deletes a blob once no model, case or mask refers to it any more.
    fn release_blob(&self, sha: &str) -> Result<()> {
        if self.is_referenced(sha)? {
            Ok(())
        } else {
            self.blobs.remove(sha)
        }
    }
}

/// SQL for "now" as RFC 3339 UTC with seconds, so every timestamp has one format.
/// Transactions take the write lock when they begin (`BEGIN IMMEDIATE`). A deferred one
/// that reads first and then writes fails at once with `SQLITE_BUSY` when another connection
/// (the audit writer, a second process) committed in between, since its snapshot is stale;
/// an immediate one waits for the lock under the busy timeout instead.
fn immediate(conn: &mut Connection) {
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
}

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

#[cfg(test)]
mod tests {
    use super::*;

    fn model(store: &mut Store, onnx: &[u8]) -> ModelRecord {
        store
            .register_model(&NewModel {
                name: "m",
                onnx,
                card_json: "{}",
            })
            .unwrap()
            .0
    }

    #[test]
    fn open_collects_what_interrupted_writes_left() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let kept = model(&mut store, b"registered model");
        // A blob written before a crash, whose row never committed, and a temporary file.
        let orphan = store.blobs.put(b"never committed").unwrap();
        let shard = dir.path().join(BLOB_DIR).join(&orphan[..2]);
        std::fs::write(shard.join(".tmp-deadbeef-1-0"), b"half").unwrap();
        drop(store);

        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.collected_at_open(), 2);
        assert!(store.blobs.get(&orphan).is_err(), "the orphan is gone");
        assert_eq!(store.model_onnx(&kept).unwrap(), b"registered model");
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn check_names_a_damaged_or_missing_blob() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let record = model(&mut store, b"weights");
        let path = dir
            .path()
            .join(BLOB_DIR)
            .join(&record.onnx_sha256[..2])
            .join(&record.onnx_sha256);
        std::fs::write(&path, b"damaged").unwrap();
        let problems = store.check().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("damaged"), "{problems:?}");
        // Registering the same model again repairs the file.
        model(&mut store, b"weights");
        assert_eq!(store.check().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn readers_see_committed_writes_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = Store::open(dir.path()).unwrap();
        let reader = Store::open_reader(dir.path()).unwrap();
        assert!(reader.models().unwrap().is_empty());
        let record = model(&mut writer, b"weights");
        assert_eq!(reader.model(&record.id).unwrap(), Some(record.clone()));
        assert_eq!(reader.model_onnx(&record).unwrap(), b"weights");
        let refused = reader.conn.execute("DELETE FROM models", []);
        assert!(refused.is_err(), "query_only refuses writes");
        let missing = Store::open_reader(dir.path().join("elsewhere"));
        assert!(missing.is_err());
    }

    #[test]
    fn durability_settings_are_explicit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let get = |pragma: &str| -> String {
            store
                .conn
                .query_row(&format!("PRAGMA {pragma}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(get("journal_mode"), r#"Text("wal")"#);
        assert_eq!(get("synchronous"), "Integer(2)", "FULL");
        assert_eq!(get("busy_timeout"), "Integer(5000)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(dir.path()), 0o700);
            assert_eq!(mode(&dir.path().join(DATABASE_FILE)), 0o600);
        }
    }
}

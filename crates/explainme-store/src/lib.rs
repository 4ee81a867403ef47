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

mod blobs;
mod cases;
mod explainers;
mod judgements;
mod migrations;
mod models;
mod schemas;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use blobs::{BlobStore, sha256_hex};
pub use cases::{CaseRecord, NewCase, StoredImage};
pub use explainers::{ExplainerRecord, NewExplainer};
pub use judgements::{FeedbackRecord, KnownRecord, LabelVersion, NewFeedback};
pub use models::{ModelRecord, NewModel};
pub use schemas::SchemaRecord;

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
}

impl Store {
    /// Opens the data directory `dir`, creating it and the database if needed and applying
    /// every pending migration.
    pub fn open(dir: impl AsRef<Path>) -> Result<Store> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut conn = Connection::open(dir.join(DATABASE_FILE))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrations::apply(&mut conn)?;
        let blobs = BlobStore::open(dir.join(BLOB_DIR))?;
        Ok(Store { conn, blobs })
    }

    /// The database schema version after migrations.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// Deletes a blob once no model, case or mask refers to it any more.
    fn release_blob(&self, sha: &str) -> Result<()> {
        let referenced: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM models WHERE onnx_sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM cases WHERE image_sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM case_masks WHERE sha256 = ?1)
                 OR EXISTS (SELECT 1 FROM explainers WHERE artefact_sha256 = ?1)",
            [sha],
            |row| row.get(0),
        )?;
        if referenced {
            Ok(())
        } else {
            self.blobs.remove(sha)
        }
    }
}

/// SQL for "now" as RFC 3339 UTC with seconds, so every timestamp has one format.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

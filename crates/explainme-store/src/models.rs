//! Registered models: metadata rows in `models`, ONNX bytes as blobs.

use rusqlite::{OptionalExtension, Row, params};

use crate::{NOW, Result, Store, sha256_hex};

/// A model to register. The caller has already checked that the bytes load and that the card
/// matches the graph; the store only persists them.
#[derive(Debug, Clone, Copy)]
pub struct NewModel<'a> {
    /// A human name; need not be unique.
    pub name: &'a str,
    /// The serialised ONNX model.
    pub onnx: &'a [u8],
    /// The model card as JSON, ideally in a canonical form: the id depends on its text.
    pub card_json: &'a str,
}

/// A registered model's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRecord {
    /// Stable id derived from the ONNX bytes and the card text (`m` + 16 hex digits).
    pub id: String,
    /// The name given at registration.
    pub name: String,
    /// SHA-256 of the ONNX bytes, lowercase hex; also the blob's name.
    pub onnx_sha256: String,
    /// Size of the ONNX bytes.
    pub onnx_bytes: u64,
    /// The model card as JSON.
    pub card_json: String,
    /// Registration time, RFC 3339 UTC.
    pub created_at: String,
}

impl ModelRecord {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<ModelRecord> {
        Ok(ModelRecord {
            id: row.get("id")?,
            name: row.get("name")?,
            onnx_sha256: row.get("onnx_sha256")?,
            onnx_bytes: row.get("onnx_bytes")?,
            card_json: row.get("card_json")?,
            created_at: row.get("created_at")?,
        })
    }
}

/// The id of a model: the same bytes with the same card are the same model.
fn model_id(onnx_sha256: &str, card_json: &str) -> String {
    let digest = sha256_hex(format!("{onnx_sha256}\n{card_json}").as_bytes());
    format!("m{}", &digest[..16])
}

impl Store {
    /// Stores a model and returns it with `true`, or returns the existing identical model
    /// (same bytes, same card) with `false`.
    pub fn register_model(&mut self, model: &NewModel<'_>) -> Result<(ModelRecord, bool)> {
        let sha = self.blobs.put(model.onnx)?;
        let id = model_id(&sha, model.card_json);
        if let Some(existing) = self.model(&id)? {
            return Ok((existing, false));
        }
        self.conn.execute(
            &format!(
                "INSERT INTO models (id, name, onnx_sha256, onnx_bytes, card_json, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, {NOW})"
            ),
            params![
                id,
                model.name,
                sha,
                model.onnx.len() as u64,
                model.card_json
            ],
        )?;
        let stored = self
            .model(&id)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((stored, true))
    }

    /// Every registered model, oldest first.
    pub fn models(&self) -> Result<Vec<ModelRecord>> {
        let mut statement = self
            .conn
            .prepare("SELECT * FROM models ORDER BY created_at, rowid")?;
        let rows = statement.query_map([], ModelRecord::from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The model with this id, if registered.
    pub fn model(&self, id: &str) -> Result<Option<ModelRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT * FROM models WHERE id = ?1",
                [id],
                ModelRecord::from_row,
            )
            .optional()?)
    }

    /// The model's ONNX bytes, checked against their SHA-256.
    pub fn model_onnx(&self, model: &ModelRecord) -> Result<Vec<u8>> {
        self.blobs.get(&model.onnx_sha256)
    }

    /// Removes a model; returns `false` when no such model was registered. Its ONNX blob goes
    /// too unless another model shares the bytes.
    pub fn delete_model(&mut self, id: &str) -> Result<bool> {
        let Some(model) = self.model(id)? else {
            return Ok(false);
        };
        self.conn
            .execute("DELETE FROM models WHERE id = ?1", [id])?;
        self.release_blob(&model.onnx_sha256)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_model<'a>(onnx: &'a [u8], card_json: &'a str) -> NewModel<'a> {
        NewModel {
            name: "cnn",
            onnx,
            card_json,
        }
    }

    #[test]
    fn models_survive_a_restart_with_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let first = {
            let mut store = Store::open(dir.path()).unwrap();
            let (first, created) = store.register_model(&new_model(b"one", "{}")).unwrap();
            assert!(created);
            store.register_model(&new_model(b"two", "{}")).unwrap();
            first
        };
        let store = Store::open(dir.path()).unwrap();
        let models = store.models().unwrap();
        assert_eq!(models.len(), 2);
        assert_eq!(models[0], first);
        assert_eq!(first.onnx_sha256, sha256_hex(b"one"));
        assert_eq!(first.onnx_bytes, 3);
        assert_eq!(store.model_onnx(&models[1]).unwrap(), b"two");
        assert_eq!(store.schema_version().unwrap(), crate::migrations::LATEST);
    }

    #[test]
    fn same_bytes_and_card_is_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let (a, _) = store.register_model(&new_model(b"onnx", "{}")).unwrap();
        let (again, created) = store.register_model(&new_model(b"onnx", "{}")).unwrap();
        assert!(!created);
        assert_eq!(again, a);
        let (other_card, created) = store
            .register_model(&new_model(b"onnx", r#"{"layout":"nhwc"}"#))
            .unwrap();
        assert!(created);
        assert_ne!(other_card.id, a.id);
        assert_eq!(other_card.onnx_sha256, a.onnx_sha256);
    }

    #[test]
    fn deleting_keeps_shared_blobs_and_drops_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let (a, _) = store.register_model(&new_model(b"onnx", "{}")).unwrap();
        let (b, _) = store.register_model(&new_model(b"onnx", "[]")).unwrap();
        assert!(store.delete_model(&a.id).unwrap());
        assert!(!store.delete_model(&a.id).unwrap());
        assert_eq!(store.model_onnx(&b).unwrap(), b"onnx");
        assert!(store.delete_model(&b.id).unwrap());
        assert!(store.model_onnx(&b).is_err(), "orphaned blob is removed");
        assert!(store.models().unwrap().is_empty());
    }
}

//! Cases of cohorts: labels and metadata in `cases`, images and masks as blobs.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Row, params};

use crate::{Error, NOW, Page, Result, Store};

/// A case to insert or replace.
#[derive(Debug, Clone, Copy)]
pub struct NewCase<'a> {
    /// The cohort's name.
    pub cohort: &'a str,
    /// The case's id within the cohort.
    pub case_id: &'a str,
    /// The name of the stored feature schema its labels follow.
    pub schema: &'a str,
    /// The image.
    pub image: NewImage<'a>,
    /// The caller's name for the image's format.
    pub image_format: &'a str,
    /// Feature name → raw value (a state, or a number as text).
    pub labels: &'a BTreeMap<String, String>,
    /// Concept → mask bytes and their format.
    pub masks: &'a [(&'a str, &'a [u8], &'a str)],
}

/// A new case's image: bytes for [`Store::upsert_case`] to write, or a blob the caller
/// wrote already.
#[derive(Debug, Clone, Copy)]
pub enum NewImage<'a> {
    /// Written by `upsert_case`, on the writer.
    Bytes(&'a [u8]),
    /// Written with [`BlobStore::stage`](crate::BlobStore::stage) on [`Store::blobs`] (the
    /// server does so off the writer). A staged image of a case that fails to store is the
    /// caller's to [`Store::discard`].
    Staged(&'a crate::StagedBlob),
}

/// Where a stored image's bytes are and how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// The blob's SHA-256 hex.
    pub sha256: String,
    /// The format name given when it was stored.
    pub format: String,
}

/// A stored case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// The cohort's name.
    pub cohort: String,
    /// The case's id.
    pub case_id: String,
    /// The feature schema its labels follow.
    pub schema: String,
    /// Its image.
    pub image: StoredImage,
    /// Feature name → raw value.
    pub labels: BTreeMap<String, String>,
    /// Concept → mask, ordered by concept.
    pub masks: BTreeMap<String, StoredImage>,
    /// When it was last stored, RFC 3339 UTC.
    pub updated_at: String,
}

impl Store {
    /// Inserts a case or replaces the one with the same (cohort, case id); `true` when new.
    /// Blobs the replaced case no longer needs are deleted.
    pub fn upsert_case(&mut self, case: &NewCase<'_>) -> Result<bool> {
        let image_sha = match case.image {
            NewImage::Staged(staged) => staged.sha256().to_owned(),
            NewImage::Bytes(bytes) => self.blobs.put(bytes)?,
        };
        let mut masks = Vec::with_capacity(case.masks.len());
        for (concept, bytes, format) in case.masks {
            masks.push((*concept, self.blobs.put(bytes)?, *format));
        }
        let labels = serde_json::to_string(case.labels).map_err(|source| Error::Json {
            what: "labels",
            source,
        })?;
        let previous = self.case(case.cohort, case.case_id)?;

        if let Err(error) = self.replace_case_rows(case, &image_sha, &labels, &masks) {
            // The rows were rolled back; drop blobs that only this failed write introduced.
            self.release_blob(&image_sha)?;
            for (_, sha, _) in &masks {
                self.release_blob(sha)?;
            }
            return Err(error);
        }
        if let Some(previous) = &previous {
            self.release_case_blobs(previous)?;
        }
        Ok(previous.is_none())
    }

    /// Replaces the case's rows in one transaction.
    fn replace_case_rows(
        &mut self,
        case: &NewCase<'_>,
        image_sha: &str,
        labels: &str,
        masks: &[(&str, String, &str)],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM cases WHERE cohort = ?1 AND case_id = ?2",
            params![case.cohort, case.case_id],
        )?;
        tx.execute(
            &format!(
                "INSERT INTO cases
                 (cohort, case_id, schema_name, image_sha256, image_format, labels_json, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, {NOW})"
            ),
            params![
                case.cohort,
                case.case_id,
                case.schema,
                image_sha,
                case.image_format,
                labels
            ],
        )?;
        for (concept, sha, format) in masks {
            tx.execute(
                "INSERT INTO case_masks (cohort, case_id, concept, sha256, format)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![case.cohort, case.case_id, concept, sha, format],
            )?;
        }
        // A case whose labels were corrected keeps its history: the re-uploaded labels are
        // one more version (a case never corrected has no recorded versions yet).
        tx.execute(
            &format!(
                "INSERT INTO label_versions
                 SELECT cohort, case_id, MAX(version) + 1, ?3, 'upload', '', {NOW}
                 FROM label_versions WHERE cohort = ?1 AND case_id = ?2
                 GROUP BY cohort, case_id"
            ),
            params![case.cohort, case.case_id, labels],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The case with this id in this cohort, if stored.
    pub fn case(&self, cohort: &str, case_id: &str) -> Result<Option<CaseRecord>> {
        let row = self
            .conn
            .query_row(
                "SELECT * FROM cases WHERE cohort = ?1 AND case_id = ?2",
                [cohort, case_id],
                CaseRow::from_row,
            )
            .optional()?;
        row.map(|row| self.complete(row)).transpose()
    }

    /// Up to `limit` cases of `cohort` with ids after `after`, ordered by id.
    pub fn cases_page(
        &self,
        cohort: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<CaseRecord>> {
        let mut statement = self.conn.prepare(
            "SELECT * FROM cases WHERE cohort = ?1 AND case_id > ?2 ORDER BY case_id LIMIT ?3",
        )?;
        let rows = statement
            .query_map(
                params![cohort, after.unwrap_or(""), Page::<()>::fetch(limit)],
                CaseRow::from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let rows = Page::of(rows, limit, |row| row.case_id.clone());
        Ok(Page {
            items: rows
                .items
                .into_iter()
                .map(|row| self.complete(row))
                .collect::<Result<Vec<_>>>()?,
            next_after: rows.next_after,
        })
    }

    /// The feature schema the cohort's cases follow, if the cohort has any case.
    pub fn cohort_schema(&self, cohort: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT schema_name FROM cases WHERE cohort = ?1 LIMIT 1",
                [cohort],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Removes a case and the blobs only it used; `false` when no such case was stored.
    pub fn delete_case(&mut self, cohort: &str, case_id: &str) -> Result<bool> {
        let Some(case) = self.case(cohort, case_id)? else {
            return Ok(false);
        };
        self.conn.execute(
            "DELETE FROM cases WHERE cohort = ?1 AND case_id = ?2",
            [cohort, case_id],
        )?;
        self.release_case_blobs(&case)?;
        Ok(true)
    }

    /// The bytes of a stored image or mask, checked against their SHA-256.
    pub fn image_bytes(&self, image: &StoredImage) -> Result<Vec<u8>> {
        self.blobs.get(&image.sha256)
    }

    fn release_case_blobs(&self, case: &CaseRecord) -> Result<()> {
        self.release_blob(&case.image.sha256)?;
        for mask in case.masks.values() {
            self.release_blob(&mask.sha256)?;
        }
        Ok(())
    }

    fn complete(&self, row: CaseRow) -> Result<CaseRecord> {
        let labels = serde_json::from_str(&row.labels_json).map_err(|source| Error::Json {
            what: "labels",
            source,
        })?;
        let mut statement = self.conn.prepare(
            "SELECT concept, sha256, format FROM case_masks WHERE cohort = ?1 AND case_id = ?2",
        )?;
        let masks = statement
            .query_map([&row.cohort, &row.case_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    StoredImage {
                        sha256: r.get(1)?,
                        format: r.get(2)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
        Ok(CaseRecord {
            cohort: row.cohort,
            case_id: row.case_id,
            schema: row.schema,
            image: row.image,
            labels,
            masks,
            updated_at: row.updated_at,
        })
    }
}

/// A `cases` row before its labels are parsed and its masks joined.
struct CaseRow {
    cohort: String,
    case_id: String,
    schema: String,
    image: StoredImage,
    labels_json: String,
    updated_at: String,
}

impl CaseRow {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<CaseRow> {
        Ok(CaseRow {
            cohort: row.get("cohort")?,
            case_id: row.get("case_id")?,
            schema: row.get("schema_name")?,
            image: StoredImage {
                sha256: row.get("image_sha256")?,
                format: row.get("image_format")?,
            },
            labels_json: row.get("labels_json")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn store_with_schema() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.put_feature_schema("renal", "{}").unwrap();
        (dir, store)
    }

    #[test]
    fn upsert_get_replace_delete() {
        let (_dir, mut store) = store_with_schema();
        let fat = labels(&[("macroscopic_fat", "present"), ("size_cm", "1.8")]);
        let case = NewCase {
            cohort: "demo",
            case_id: "c001",
            schema: "renal",
            image: NewImage::Bytes(b"image-1"),
            image_format: "npy",
            labels: &fat,
            masks: &[("lesion", b"mask-1", "png16")],
        };
        assert!(store.upsert_case(&case).unwrap());
        let stored = store.case("demo", "c001").unwrap().unwrap();
        assert_eq!(stored.labels, fat);
        assert_eq!(stored.image.format, "npy");
        assert_eq!(
            store.image_bytes(&stored.masks["lesion"]).unwrap(),
            b"mask-1"
        );
        assert_eq!(
            store.cohort_schema("demo").unwrap().as_deref(),
            Some("renal")
        );

        let replaced = NewCase {
            image: NewImage::Bytes(b"image-2"),
            masks: &[],
            ..case
        };
        assert!(!store.upsert_case(&replaced).unwrap());
        let stored = store.case("demo", "c001").unwrap().unwrap();
        assert!(stored.masks.is_empty());
        assert_eq!(store.image_bytes(&stored.image).unwrap(), b"image-2");
        let old_mask = StoredImage {
            sha256: crate::sha256_hex(b"mask-1"),
            format: "png16".into(),
        };
        assert!(
            store.image_bytes(&old_mask).is_err(),
            "orphaned mask removed"
        );

        assert!(store.delete_case("demo", "c001").unwrap());
        assert!(!store.delete_case("demo", "c001").unwrap());
        assert_eq!(store.case("demo", "c001").unwrap(), None);
    }

    #[test]
    fn a_staged_image_survives_the_release_of_the_same_content_and_a_discard_removes_it() {
        let (_dir, mut store) = store_with_schema();
        let none = BTreeMap::new();
        fn case<'a>(
            id: &'a str,
            image: NewImage<'a>,
            none: &'a BTreeMap<String, String>,
        ) -> NewCase<'a> {
            NewCase {
                cohort: "demo",
                case_id: id,
                schema: "renal",
                image,
                image_format: "npy",
                labels: none,
                masks: &[],
            }
        }
        store
            .upsert_case(&case("a", NewImage::Bytes(b"scan"), &none))
            .unwrap();
        // Case b's upload staged the same image off the writer; case a is then replaced,
        // which releases that image while b's row is not yet written.
        let staged = store
            .blobs()
            .stage(b"scan", crate::sha256_hex(b"scan"))
            .unwrap();
        store
            .upsert_case(&case("a", NewImage::Bytes(b"other"), &none))
            .unwrap();
        store
            .upsert_case(&case("b", NewImage::Staged(&staged), &none))
            .unwrap();
        drop(staged);
        let b = store.case("demo", "b").unwrap().unwrap();
        assert_eq!(store.image_bytes(&b.image).unwrap(), b"scan");
        assert_eq!(store.check().unwrap(), Vec::<String>::new());

        // A refused upload's staged image goes; one a stored case names stays.
        let refused = store
            .blobs()
            .stage(b"refused", crate::sha256_hex(b"refused"))
            .unwrap();
        let sha = refused.sha256().to_owned();
        store.discard(refused).unwrap();
        assert!(store.blobs().get(&sha).is_err());
        let again = store
            .blobs()
            .stage(b"scan", crate::sha256_hex(b"scan"))
            .unwrap();
        store.discard(again).unwrap();
        assert_eq!(store.image_bytes(&b.image).unwrap(), b"scan");
    }

    #[test]
    fn pages_follow_case_ids() {
        let (_dir, mut store) = store_with_schema();
        let none = BTreeMap::new();
        for id in ["c3", "c1", "c2", "c4", "c5"] {
            // Hashed and staged by the caller, as the server does: stored under that name.
            let sha = crate::sha256_hex(id.as_bytes());
            let staged = store.blobs().stage(id.as_bytes(), sha).unwrap();
            let case = NewCase {
                cohort: "demo",
                case_id: id,
                schema: "renal",
                image: NewImage::Staged(&staged),
                image_format: "npy",
                labels: &none,
                masks: &[],
            };
            store.upsert_case(&case).unwrap();
        }
        let ids = |page: &Page<CaseRecord>| {
            page.items
                .iter()
                .map(|c| c.case_id.clone())
                .collect::<Vec<_>>()
        };
        let first = store.cases_page("demo", None, 2).unwrap();
        assert_eq!(ids(&first), ["c1", "c2"]);
        let second = store
            .cases_page("demo", first.next_after.as_deref(), 2)
            .unwrap();
        assert_eq!(ids(&second), ["c3", "c4"]);
        let last = store
            .cases_page("demo", second.next_after.as_deref(), 2)
            .unwrap();
        assert_eq!(ids(&last), ["c5"]);
        assert_eq!(last.next_after, None);
        assert!(store.cases_page("other", None, 2).unwrap().items.is_empty());
    }

    #[test]
    fn a_case_needs_a_stored_schema() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let none = BTreeMap::new();
        let case = NewCase {
            cohort: "demo",
            case_id: "c1",
            schema: "missing",
            image: NewImage::Bytes(b"x"),
            image_format: "npy",
            labels: &none,
            masks: &[],
        };
        assert!(matches!(store.upsert_case(&case), Err(Error::Sqlite(_))));
        let blobs_left = std::fs::read_dir(dir.path().join(crate::BLOB_DIR))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .count();
        assert_eq!(blobs_left, 0, "a failed upsert leaves no blob behind");
    }
}

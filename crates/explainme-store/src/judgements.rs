//! What clinicians add to a cohort: corrected labels (every version kept, with who and
//! when), feedback on explanations, and candidate knowledge they accepted or rejected.
//!
//! The store keeps these as given; checking labels against a schema, feedback against an
//! explainer and lines against the known-associations format is the caller's (the service
//! checks them as it checks uploads).

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use crate::{Error, NOW, Result, Store};

/// One version of a case's labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelVersion {
    /// 1 for the labels the case was first stored with, then increasing.
    pub version: u32,
    /// Feature name → raw value, the whole set as of this version.
    pub labels: BTreeMap<String, String>,
    /// Who: the label author, or `upload` for labels that came with the case's image.
    pub author: String,
    pub note: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// Feedback to store.
#[derive(Debug, Clone, Copy)]
pub struct NewFeedback<'a> {
    pub explainer_id: &'a str,
    pub case_id: &'a str,
    /// Which part of the explanation: `verdict`, `heatmap`, `concepts`, `rule`, `network`,
    /// `counterfactual`, `similar_cases`, `narrative`.
    pub part: &'a str,
    /// `agree`, `disagree` or `unclear`.
    pub judgement: &'a str,
    pub comment: &'a str,
    /// The features that determined the clinician's own reading.
    pub determining: &'a [String],
    pub author: &'a str,
}

/// Stored feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    pub id: i64,
    pub explainer_id: String,
    pub case_id: String,
    pub part: String,
    pub judgement: String,
    pub comment: String,
    pub determining: Vec<String>,
    pub author: String,
    pub created_at: String,
}

/// A judged candidate association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownRecord {
    pub id: i64,
    /// One line of the known-associations format.
    pub line: String,
    pub accepted: bool,
    /// The explainer whose summary proposed it.
    pub explainer_id: String,
    pub author: String,
    pub created_at: String,
}

fn json<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| Error::Json { what, source })
}

fn parse<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|source| Error::Json { what, source })
}

impl Store {
    /// Records a version of a case's labels (the whole set) and makes it the case's labels;
    /// returns its version number, or `None` when the case is not stored. The first
    /// correction of a case also records the labels it was uploaded with, as version 1.
    pub fn set_labels(
        &mut self,
        cohort: &str,
        case_id: &str,
        labels: &BTreeMap<String, String>,
        author: &str,
        note: &str,
    ) -> Result<Option<u32>> {
        let tx = self.conn.transaction()?;
        let current: Option<String> = tx
            .query_row(
                "SELECT labels_json FROM cases WHERE cohort = ?1 AND case_id = ?2",
                [cohort, case_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(current) = current else {
            return Ok(None);
        };
        let last: Option<u32> = tx.query_row(
            "SELECT MAX(version) FROM label_versions WHERE cohort = ?1 AND case_id = ?2",
            [cohort, case_id],
            |row| row.get(0),
        )?;
        let mut version = last.unwrap_or(0);
        if last.is_none() {
            version += 1;
            tx.execute(
                &format!("INSERT INTO label_versions VALUES (?1, ?2, ?3, ?4, 'upload', '', {NOW})"),
                params![cohort, case_id, version, current],
            )?;
        }
        version += 1;
        let labels_json = json("labels", labels)?;
        tx.execute(
            &format!("INSERT INTO label_versions VALUES (?1, ?2, ?3, ?4, ?5, ?6, {NOW})"),
            params![cohort, case_id, version, labels_json, author, note],
        )?;
        tx.execute(
            &format!(
                "UPDATE cases SET labels_json = ?3, updated_at = {NOW}
                 WHERE cohort = ?1 AND case_id = ?2"
            ),
            params![cohort, case_id, labels_json],
        )?;
        tx.commit()?;
        Ok(Some(version))
    }

    /// Every recorded version of a case's labels, oldest first; just the current labels as
    /// version 1 (by `upload`) when none was corrected; `None` when the case is not stored.
    pub fn label_history(&self, cohort: &str, case_id: &str) -> Result<Option<Vec<LabelVersion>>> {
        let Some(case) = self.case(cohort, case_id)? else {
            return Ok(None);
        };
        let mut statement = self.conn.prepare(
            "SELECT version, labels_json, author, note, created_at FROM label_versions
             WHERE cohort = ?1 AND case_id = ?2 ORDER BY version",
        )?;
        let rows = statement
            .query_map([cohort, case_id], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(Some(vec![LabelVersion {
                version: 1,
                labels: case.labels,
                author: "upload".into(),
                note: String::new(),
                created_at: case.updated_at,
            }]));
        }
        rows.into_iter()
            .map(|(version, labels, author, note, created_at)| {
                Ok(LabelVersion {
                    version,
                    labels: parse("labels", &labels)?,
                    author,
                    note,
                    created_at,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Stores feedback; returns its id.
    pub fn add_feedback(&mut self, feedback: &NewFeedback<'_>) -> Result<i64> {
        self.conn.execute(
            &format!(
                "INSERT INTO feedback
                 (explainer_id, case_id, part, judgement, comment, determining_json, author,
                  created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, {NOW})"
            ),
            params![
                feedback.explainer_id,
                feedback.case_id,
                feedback.part,
                feedback.judgement,
                feedback.comment,
                json("determining features", &feedback.determining)?,
                feedback.author
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every feedback on one explainer's explanations, oldest first.
    pub fn feedback(&self, explainer_id: &str) -> Result<Vec<FeedbackRecord>> {
        let mut statement = self.conn.prepare(
            "SELECT id, explainer_id, case_id, part, judgement, comment, determining_json,
                    author, created_at
             FROM feedback WHERE explainer_id = ?1 ORDER BY id",
        )?;
        let rows = statement
            .query_map([explainer_id], |row| {
                Ok((
                    FeedbackRecord {
                        id: row.get(0)?,
                        explainer_id: row.get(1)?,
                        case_id: row.get(2)?,
                        part: row.get(3)?,
                        judgement: row.get(4)?,
                        comment: row.get(5)?,
                        determining: Vec::new(),
                        author: row.get(7)?,
                        created_at: row.get(8)?,
                    },
                    row.get::<_, String>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(mut record, determining)| {
                record.determining = parse("determining features", &determining)?;
                Ok(record)
            })
            .collect()
    }

    /// Records a clinician's decision on a candidate association (a known-associations
    /// line); the latest decision on a line is the one that counts.
    pub fn judge_association(
        &mut self,
        line: &str,
        accepted: bool,
        explainer_id: &str,
        author: &str,
    ) -> Result<i64> {
        self.conn.execute(
            &format!(
                "INSERT INTO known_associations (line, accepted, explainer_id, author, created_at)
                 VALUES (?1, ?2, ?3, ?4, {NOW})"
            ),
            params![line, accepted, explainer_id, author],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every decision on candidate associations, oldest first.
    pub fn association_decisions(&self) -> Result<Vec<KnownRecord>> {
        let mut statement = self.conn.prepare(
            "SELECT id, line, accepted, explainer_id, author, created_at
             FROM known_associations ORDER BY id",
        )?;
        let rows = statement
            .query_map([], |row| {
                Ok(KnownRecord {
                    id: row.get(0)?,
                    line: row.get(1)?,
                    accepted: row.get(2)?,
                    explainer_id: row.get(3)?,
                    author: row.get(4)?,
                    created_at: row.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The lines clinicians accepted (the latest decision on each line), in acceptance order:
    /// the stored known-associations list.
    pub fn accepted_associations(&self) -> Result<Vec<String>> {
        let mut latest: Vec<(String, bool)> = Vec::new();
        for record in self.association_decisions()? {
            latest.retain(|(line, _)| *line != record.line);
            latest.push((record.line, record.accepted));
        }
        Ok(latest
            .into_iter()
            .filter(|(_, accepted)| *accepted)
            .map(|(line, _)| line)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewCase;

    fn store_with_case() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .put_feature_schema("renal", r#"{"features": []}"#)
            .unwrap();
        let labels = BTreeMap::from([("margin".to_owned(), "well_defined".to_owned())]);
        store
            .upsert_case(&NewCase {
                cohort: "c",
                case_id: "case_1",
                schema: "renal",
                image: crate::NewImage::Bytes(b"image"),
                image_format: "png16",
                labels: &labels,
                masks: &[],
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn label_versions_keep_the_upload_and_every_correction() {
        let (_dir, mut store) = store_with_case();
        assert_eq!(
            store.label_history("c", "case_1").unwrap().unwrap().len(),
            1
        );
        let corrected = BTreeMap::from([("margin".to_owned(), "infiltrative".to_owned())]);
        assert_eq!(
            store
                .set_labels("c", "case_1", &corrected, "dr_a", "re-read")
                .unwrap(),
            Some(2)
        );
        let again = BTreeMap::new();
        assert_eq!(
            store.set_labels("c", "case_1", &again, "dr_b", "").unwrap(),
            Some(3)
        );
        let history = store.label_history("c", "case_1").unwrap().unwrap();
        let authors: Vec<&str> = history.iter().map(|v| v.author.as_str()).collect();
        assert_eq!(authors, ["upload", "dr_a", "dr_b"]);
        assert_eq!(history[0].labels["margin"], "well_defined");
        assert_eq!(history[1].labels["margin"], "infiltrative");
        assert!(
            store
                .case("c", "case_1")
                .unwrap()
                .unwrap()
                .labels
                .is_empty()
        );
        assert_eq!(
            store.set_labels("c", "nope", &again, "dr_b", "").unwrap(),
            None
        );
        // A re-upload of a corrected case is one more version, by `upload`.
        let uploaded = BTreeMap::from([("margin".to_owned(), "well_defined".to_owned())]);
        store
            .upsert_case(&NewCase {
                cohort: "c",
                case_id: "case_1",
                schema: "renal",
                image: crate::NewImage::Bytes(b"image"),
                image_format: "png16",
                labels: &uploaded,
                masks: &[],
            })
            .unwrap();
        let history = store.label_history("c", "case_1").unwrap().unwrap();
        assert_eq!(history.len(), 4);
        assert_eq!(
            (
                history[3].author.as_str(),
                history[3].labels["margin"].as_str()
            ),
            ("upload", "well_defined")
        );
        // Re-opening keeps it.
        drop(store);
        let store = Store::open(_dir.path()).unwrap();
        assert_eq!(
            store.label_history("c", "case_1").unwrap().unwrap().len(),
            4
        );
    }

    #[test]
    fn feedback_and_decisions_are_kept_in_order() {
        let (_dir, mut store) = store_with_case();
        let determining = vec!["margin".to_owned()];
        for judgement in ["agree", "disagree"] {
            store
                .add_feedback(&NewFeedback {
                    explainer_id: "x1",
                    case_id: "case_1",
                    part: "rule",
                    judgement,
                    comment: "",
                    determining: &determining,
                    author: "dr_a",
                })
                .unwrap();
        }
        let stored = store.feedback("x1").unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[1].judgement, "disagree");
        assert_eq!(stored[0].determining, determining);
        assert!(store.feedback("x2").unwrap().is_empty());

        store
            .judge_association("fat -> benign", true, "x1", "dr_a")
            .unwrap();
        store
            .judge_association("scar -> benign", true, "x1", "dr_a")
            .unwrap();
        store
            .judge_association("fat -> benign", false, "x1", "dr_b")
            .unwrap();
        assert_eq!(store.accepted_associations().unwrap(), ["scar -> benign"]);
        assert_eq!(store.association_decisions().unwrap().len(), 3);
    }
}

//! The cohort folder of DESIGN.md: `cases.csv`, `schema.json`, `images/`, `masks/`.
//!
//! Phantom generators write it, importers read it, and every command that takes `--cohort`
//! goes through here, so a cohort made by one command is accepted by all the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Error, FeatureSchema, Result, Table};

/// One case: an image and what clinicians (and pathology, for truth columns) said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    /// Image path relative to the cohort folder, e.g. `images/case_00001.png`.
    pub image: PathBuf,
    /// Raw label per feature name; a feature that was not labelled is absent.
    pub labels: BTreeMap<String, String>,
}

/// A folder of cases sharing one feature schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    pub root: PathBuf,
    pub schema: FeatureSchema,
    pub cases: Vec<Case>,
}

pub(crate) const CASE_ID: &str = "case_id";
pub(crate) const IMAGE: &str = "image";

impl Cohort {
    /// Reads `schema.json` and `cases.csv` from `root`, checking every label against the
    /// schema so that an unknown value is reported with its line, not discovered later.
    pub fn open(root: impl AsRef<Path>) -> Result<Cohort> {
        let root = root.as_ref().to_owned();
        let schema = FeatureSchema::from_json_path(root.join("schema.json"))?;
        let table = Table::from_csv_path(root.join("cases.csv"))?;
        let id_column = table.column_index(CASE_ID)?;
        let image_column = table.column_index(IMAGE)?;
        // Validates every known column (numeric cells must parse, states must exist).
        schema.discretise(&table)?;
        let mut cases = Vec::with_capacity(table.len());
        for (i, row) in table.rows().iter().enumerate() {
            let line = i as u64 + 2;
            let missing = |what: &str| Error::InvalidCase {
                line,
                message: format!("no {what}"),
            };
            let id = row[id_column].clone().ok_or_else(|| missing(CASE_ID))?;
            let image = row[image_column].clone().ok_or_else(|| missing(IMAGE))?;
            if cases.iter().any(|c: &Case| c.id == id) {
                return Err(Error::InvalidCase {
                    line,
                    message: format!("case `{id}` appears twice"),
                });
            }
            let labels = table
                .columns()
                .iter()
                .zip(row)
                .filter(|(name, _)| schema.feature(name).is_ok())
                .filter_map(|(name, cell)| Some((name.clone(), cell.clone()?)))
                .collect();
            cases.push(Case {
                id,
                image: PathBuf::from(image),
                labels,
            });
        }
        Ok(Cohort {
            root,
            schema,
            cases,
        })
    }

    /// Writes `schema.json` and `cases.csv` into `self.root` (images and masks are written by
    /// whoever produced them).
    pub fn write(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|source| Error::Write {
            path: self.root.clone(),
            source,
        })?;
        let schema_path = self.root.join("schema.json");
        std::fs::write(&schema_path, self.schema.to_json()).map_err(|source| Error::Write {
            path: schema_path,
            source,
        })?;
        let cases_path = self.root.join("cases.csv");
        let file = std::fs::File::create(&cases_path).map_err(|source| Error::Write {
            path: cases_path.clone(),
            source,
        })?;
        self.table()?.write_csv(std::io::BufWriter::new(file))
    }

    /// The raw labels as a table: `case_id`, `image`, then every schema feature in order.
    pub fn table(&self) -> Result<Table> {
        let mut columns = vec![CASE_ID.to_owned(), IMAGE.to_owned()];
        columns.extend(self.schema.features.iter().map(|f| f.name.clone()));
        let rows = self
            .cases
            .iter()
            .map(|case| {
                let mut row = vec![
                    Some(case.id.clone()),
                    Some(case.image.to_string_lossy().into_owned()),
                ];
                row.extend(
                    self.schema
                        .features
                        .iter()
                        .map(|f| case.labels.get(&f.name).cloned()),
                );
                row
            })
            .collect();
        // Fails only if a feature is itself called `case_id` or `image`.
        Table::new(columns, rows)
    }

    /// Absolute path of a case's image.
    pub fn image_path(&self, case: &Case) -> PathBuf {
        self.root.join(&case.image)
    }

    /// Absolute path of a case's mask for a concept (`lesion`, `macroscopic_fat`, `necrosis`, …).
    /// Masks share the image's grid and so its format: `.png` beside a 2D PNG image,
    /// `.nii.gz` / `.nii` beside a 3D NIfTI one.
    pub fn mask_path(&self, case: &Case, concept: &str) -> PathBuf {
        let image = case.image.to_string_lossy();
        let extension = [".nii.gz", ".nii"]
            .into_iter()
            .find(|ext| image.ends_with(ext))
            .unwrap_or(".png");
        self.root
            .join("masks")
            .join(&case.id)
            .join(format!("{concept}{extension}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_cohort(root: &Path) -> Cohort {
        let case = |id: &str, size: &str, fat: Option<&str>| Case {
            id: id.to_owned(),
            image: PathBuf::from(format!("images/{id}.png")),
            labels: [
                ("size_cm", Some(size)),
                ("macroscopic_fat", fat),
                ("malignant", Some("no")),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .collect(),
        };
        Cohort {
            root: root.to_owned(),
            schema: FeatureSchema::renal_demo(),
            cases: vec![case("c1", "1.8", Some("present")), case("c2", "4.1", None)],
        }
    }

    #[test]
    fn a_written_cohort_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let cohort = demo_cohort(dir.path());
        cohort.write().unwrap();
        assert_eq!(Cohort::open(dir.path()).unwrap(), cohort);
        assert_eq!(
            cohort.mask_path(&cohort.cases[0], "macroscopic_fat"),
            dir.path().join("masks/c1/macroscopic_fat.png")
        );
        let volume = Case {
            image: PathBuf::from("images/c3.nii.gz"),
            ..cohort.cases[0].clone()
        };
        assert_eq!(
            cohort.mask_path(&volume, "lesion"),
            dir.path().join("masks/c1/lesion.nii.gz")
        );
    }

    #[test]
    fn unknown_labels_and_duplicate_cases_name_their_line() {
        let dir = tempfile::tempdir().unwrap();
        demo_cohort(dir.path()).write().unwrap();
        let cases = dir.path().join("cases.csv");
        let text = std::fs::read_to_string(&cases).unwrap();
        std::fs::write(&cases, text.replace("present", "maybe")).unwrap();
        let err = Cohort::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with("cases.csv, line 2: feature `macroscopic_fat`"),
            "{err}"
        );
        std::fs::write(&cases, text.replace("c2,", "c1,")).unwrap();
        let err = Cohort::open(dir.path()).unwrap_err().to_string();
        assert_eq!(err, "cases.csv, line 3: case `c1` appears twice");
    }
}

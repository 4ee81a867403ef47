//! Writing a phantom cohort as DESIGN.md's folder layout.
//!
//! Cases are rendered and written in parallel, each to its own files, so the folder's bytes
//! do not depend on thread timing; `cases.csv`, `schema.json` and `ground_truth.json` are
//! written afterwards in case order through explainme-cohort.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use explainme_cohort::{Case, Cohort, FeatureSchema};
use explainme_imaging::{Grid, Shape, Spacing};
use rayon::prelude::*;
use serde::Serialize;

use crate::{
    Dims, Error, FIELD_OF_VIEW_MM, LabelNoise, PhantomCase, PhantomParams, RenderParams, Result,
    Subtype, Truth,
};

/// Name of the phantom-only ground-truth file in the cohort folder.
pub const GROUND_TRUTH_FILE: &str = "ground_truth.json";

/// What [`PhantomParams::write`] produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortSummary {
    pub out: PathBuf,
    pub cases: usize,
    pub malignant: usize,
    pub by_subtype: BTreeMap<String, usize>,
    pub dims: usize,
    pub size: usize,
    pub spacing_mm: f64,
}

#[derive(Serialize)]
struct GroundTruth<'a> {
    generator: &'static str,
    seed: u64,
    cases: usize,
    dims: usize,
    size: usize,
    spacing_mm: f64,
    field_of_view_mm: f64,
    hu_offset_in_png: i32,
    subtype_shares: BTreeMap<&'static str, f64>,
    label_noise: &'a LabelNoise,
    records: Vec<Record>,
}

#[derive(Serialize)]
struct Record {
    case_id: String,
    image: String,
    #[serde(flatten)]
    truth: Truth,
    masks: Vec<&'static str>,
    render: RenderParams,
}

impl PhantomParams {
    /// Generates every case and writes the cohort folder `out` (created if missing; it must
    /// be empty so no stale case survives). `on_case` is called once per written case, from
    /// any thread, e.g. to advance a progress bar.
    pub fn write(&self, out: &Path, on_case: impl Fn() + Sync) -> Result<CohortSummary> {
        self.check()?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        if out.exists() {
            let mut entries = std::fs::read_dir(out).map_err(io(out))?;
            if entries.next().is_some() {
                return Err(Error::OutputNotEmpty(out.to_owned()));
            }
        }
        let images = out.join("images");
        std::fs::create_dir_all(&images).map_err(io(&images))?;
        let extension = match self.dims {
            Dims::Two => "png",
            Dims::Three => "nii.gz",
        };
        let records: Vec<(Case, Record)> = (0..self.cases)
            .into_par_iter()
            .map(|i| {
                let case = self.make_case(i);
                let written = write_case(out, &case, extension);
                on_case();
                written
            })
            .collect::<Result<_>>()?;

        let mut by_subtype: BTreeMap<String, usize> = Subtype::SHARES
            .iter()
            .map(|(s, _)| (s.name().to_owned(), 0))
            .collect();
        for (_, record) in &records {
            *by_subtype
                .entry(record.truth.subtype.name().to_owned())
                .or_default() += 1;
        }
        let malignant = records.iter().filter(|(_, r)| r.truth.malignant).count();
        let (cases, records): (Vec<Case>, Vec<Record>) = records.into_iter().unzip();
        Cohort {
            root: out.to_owned(),
            schema: FeatureSchema::renal_demo(),
            cases,
        }
        .write()?;

        let spacing_mm = FIELD_OF_VIEW_MM / self.size as f64;
        let ground_truth = GroundTruth {
            generator: concat!("explainme-phantom ", env!("CARGO_PKG_VERSION")),
            seed: self.seed,
            cases: self.cases,
            dims: self.dims.count(),
            size: self.size,
            spacing_mm,
            field_of_view_mm: FIELD_OF_VIEW_MM,
            hu_offset_in_png: 1024,
            subtype_shares: Subtype::SHARES
                .iter()
                .map(|(s, p)| (s.name(), *p))
                .collect(),
            label_noise: &self.label_noise,
            records,
        };
        let path = out.join(GROUND_TRUTH_FILE);
        let file = std::fs::File::create(&path).map_err(io(&path))?;
        serde_json::to_writer(std::io::BufWriter::new(file), &ground_truth)?;
        Ok(CohortSummary {
            out: out.to_owned(),
            cases: self.cases,
            malignant,
            by_subtype,
            dims: self.dims.count(),
            size: self.size,
            spacing_mm,
        })
    }
}

/// Writes one case's image and masks; returns its `cases.csv` row and ground-truth record.
fn write_case(out: &Path, case: &PhantomCase, extension: &str) -> Result<(Case, Record)> {
    let r = &case.rendering;
    let [z, y, x] = r.shape;
    let shape = if z == 1 {
        Shape::d2(y, x)
    } else {
        Shape::d3(z, y, x)
    };
    let spacing = Spacing::isotropic(r.spacing_mm as f32);
    let image_rel = format!("images/{}.{extension}", case.id);
    let image = Grid::new(shape, r.image.clone())?.with_spacing(spacing);
    let path = out.join(&image_rel);
    explainme_imaging::write_image(&path, &image)
        .map_err(|source| Error::Image { path, source })?;

    let mask_dir = out.join("masks").join(&case.id);
    std::fs::create_dir_all(&mask_dir).map_err(|source| Error::Io {
        path: mask_dir.clone(),
        source,
    })?;
    for (concept, voxels) in &r.masks {
        let mask = Grid::new(shape, voxels.clone())?.with_spacing(spacing);
        let path = mask_dir.join(format!("{}.{extension}", concept.name()));
        explainme_imaging::write_mask(&path, &mask)
            .map_err(|source| Error::Image { path, source })?;
    }

    let mut labels = case.labels.cells();
    labels.insert(
        "malignant".into(),
        if case.truth.malignant { "yes" } else { "no" }.into(),
    );
    labels.insert("subtype".into(), case.truth.subtype.name().into());
    let row = Case {
        id: case.id.clone(),
        image: PathBuf::from(&image_rel),
        labels,
    };
    let record = Record {
        case_id: case.id.clone(),
        image: image_rel,
        truth: case.truth.clone(),
        masks: r.masks.iter().map(|(c, _)| c.name()).collect(),
        render: r.params.clone(),
    };
    Ok((row, record))
}

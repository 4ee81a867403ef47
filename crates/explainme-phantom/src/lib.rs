//! Synthetic renal-mass CT cohorts with planted ground truth.
//!
//! No real kidney CT can be downloaded where explainme is built and tested, yet the demo CNN,
//! the explanation pipeline and its tests all need images whose truth is known. This crate
//! makes them: for every case it draws a histological subtype first (DESIGN.md's mix: 60%
//! clear-cell RCC, 12% papillary, 6% chromophobe, 8% oncocytoma, 6% fat-rich AML, 2%
//! fat-poor AML, 6% Bosniak II–IV complex cysts), then the imaging findings that follow from
//! it ([`clinical`]), renders them into a CT patch in Hounsfield units with blur and noise
//! ([`render`]), and records what a clinician would have labelled, errors included
//! ([`labels`]). Subtypes overlap on purpose, so a CNN trained on these phantoms lands at a
//! realistic AUC rather than 1.0.
//!
//! Generation is deterministic: case *i* of seed *s* draws from its own ChaCha8 streams, so
//! cases are generated in parallel (rayon) and the same seed gives byte-identical files.
//! [`PhantomParams::write`] produces DESIGN.md's cohort folder: `cases.csv`, `schema.json`,
//! `images/` (16-bit PNG, HU + 1024, or NIfTI for 3D), `masks/<case_id>/<concept>.png` and
//! `ground_truth.json` (noise-free findings and every generating parameter).
//!
//! ```
//! use explainme_phantom::{Concept, Dims, Phantom};
//!
//! let params = Phantom::params().cases(3).seed(42).dims(Dims::Two).size(64);
//! let cases = params.generate()?;
//! assert_eq!(cases.len(), 3);
//! let case = &cases[0];
//! assert_eq!(case.rendering.shape, [1, 64, 64]);
//! assert_eq!(case.rendering.spacing_mm, 2.0);
//! assert_eq!(case.rendering.masks[0].0, Concept::Lesion);
//! // The same seed gives the same case, in any order.
//! assert_eq!(params.case(0)?, cases[0]);
//! # Ok::<(), explainme_phantom::Error>(())
//! ```

pub mod clinical;
mod cohort;
mod error;
pub mod labels;
mod random;
pub mod render;

pub use clinical::{Bosniak, Cystic, Enhancement, Findings, Subtype, Truth};
pub use cohort::{CohortSummary, GROUND_TRUTH_FILE};
pub use error::{Error, Result};
pub use labels::{FlipRates, LabelNoise};
pub use render::{Concept, FIELD_OF_VIEW_MM, RenderParams, Rendering};

use rayon::prelude::*;

use random::{Purpose, Random};

/// Entry point for the builder: `Phantom::params()…generate()`.
#[derive(Debug, Clone, Copy)]
pub struct Phantom;

impl Phantom {
    /// Default parameters: 100 cases, seed 0, 2D, 64 pixels, [`LabelNoise::DEFAULT`].
    pub fn params() -> PhantomParams {
        PhantomParams {
            cases: 100,
            seed: 0,
            dims: Dims::Two,
            size: 64,
            label_noise: LabelNoise::DEFAULT,
        }
    }
}

/// 2D patches (`size`×`size`) or 3D volumes (`size`³).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Dims {
    Two,
    Three,
}

impl Dims {
    /// `2` or `3`.
    pub fn count(self) -> usize {
        match self {
            Dims::Two => 2,
            Dims::Three => 3,
        }
    }
}

/// Hyperparameters of a phantom cohort (see [`Phantom::params`] for the defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomParams {
    cases: usize,
    seed: u64,
    dims: Dims,
    size: usize,
    label_noise: LabelNoise,
}

/// One generated case: truth, clinician labels and the rendered image with its masks.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomCase {
    /// 0-based position in the cohort.
    pub index: usize,
    /// `case_00001`, … (1-based, at least five digits).
    pub id: String,
    pub truth: Truth,
    /// The findings as a clinician labelled them (truth after [`LabelNoise`]).
    pub labels: Findings,
    pub rendering: Rendering,
}

/// Smallest and largest patch side accepted (voxels); 3D volumes are capped lower to keep a
/// case in memory small.
pub const SIZE_RANGE: (usize, usize) = (16, 512);
pub const MAX_SIZE_3D: usize = 128;

impl PhantomParams {
    pub fn cases(mut self, cases: usize) -> Self {
        self.cases = cases;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn dims(mut self, dims: Dims) -> Self {
        self.dims = dims;
        self
    }

    /// Voxels per side; the field of view stays [`FIELD_OF_VIEW_MM`], so the spacing is
    /// `128 mm / size`.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    pub fn label_noise(mut self, label_noise: LabelNoise) -> Self {
        self.label_noise = label_noise;
        self
    }

    pub fn number_of_cases(&self) -> usize {
        self.cases
    }

    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    pub fn dims_value(&self) -> Dims {
        self.dims
    }

    pub fn size_value(&self) -> usize {
        self.size
    }

    /// Rejects an empty cohort and patch sizes outside [`SIZE_RANGE`] (3D: ≤ [`MAX_SIZE_3D`]).
    pub fn check(&self) -> Result<()> {
        if self.cases == 0 {
            return Err(Error::InvalidParams(
                "a cohort needs at least one case".into(),
            ));
        }
        let max = match self.dims {
            Dims::Two => SIZE_RANGE.1,
            Dims::Three => MAX_SIZE_3D,
        };
        if self.size < SIZE_RANGE.0 || self.size > max {
            return Err(Error::InvalidParams(format!(
                "size {} is outside {}..={max} for {}D",
                self.size,
                SIZE_RANGE.0,
                self.dims.count()
            )));
        }
        Ok(())
    }

    /// Case `index` of this cohort (it need not be below [`Self::number_of_cases`]).
    pub fn case(&self, index: usize) -> Result<PhantomCase> {
        self.check()?;
        Ok(self.make_case(index))
    }

    /// Case `index`'s truth and clinician labels without rendering its image: cheap, for
    /// tabular uses (rules, networks, frequency checks). Equal to the same fields of
    /// [`Self::case`].
    pub fn truth(&self, index: usize) -> (Truth, Findings) {
        let truth = clinical::draw_truth(&mut self.stream(index, Purpose::Truth));
        let labels = self
            .label_noise
            .label(&truth, &mut self.stream(index, Purpose::Labels));
        (truth, labels)
    }

    fn stream(&self, index: usize, purpose: Purpose) -> Random {
        Random::for_case(self.seed, index as u64, purpose)
    }

    fn make_case(&self, index: usize) -> PhantomCase {
        let (truth, labels) = self.truth(index);
        let depth = match self.dims {
            Dims::Two => 1,
            Dims::Three => self.size,
        };
        let rendering = render::render(
            &truth,
            self.size,
            depth,
            &mut self.stream(index, Purpose::Render),
        );
        PhantomCase {
            index,
            id: case_id(index),
            truth,
            labels,
            rendering,
        }
    }

    /// Every case, in memory (in parallel). For large cohorts prefer [`Self::write`], which
    /// keeps only one case per thread in memory.
    pub fn generate(&self) -> Result<Vec<PhantomCase>> {
        self.check()?;
        Ok((0..self.cases)
            .into_par_iter()
            .map(|i| self.make_case(i))
            .collect())
    }
}

/// The id of the case at 0-based `index`.
pub fn case_id(index: usize) -> String {
    format!("case_{:05}", index + 1)
}

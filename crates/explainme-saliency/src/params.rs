//! Hyperparameters, the linfa way: [`Saliency::params`] gives defaults, setters change
//! them, [`SaliencyParams::check`] validates once and returns [`CheckedSaliency`], the only
//! thing that can run.

use explainme_imaging::Image;

use crate::methods::{self, Job, Method};
use crate::{Error, Heatmap, Result, Subject};

/// Entry point: `Saliency::params().method("rise").fast(true).explain(&subject, &image)`.
#[derive(Debug, Clone, Copy)]
pub struct Saliency;

impl Saliency {
    /// The defaults:
    ///
    /// | parameter | default | used by |
    /// |---|---|---|
    /// | `method` | `occlusion` | |
    /// | `fast` | `false` | |
    /// | `class` | the predicted class | all |
    /// | `seed` | `0` | RISE, random baselines |
    /// | `patch` / `stride` | shortest side / 8 (fast: at least 2), patch / 2 | occlusion |
    /// | `fill` | [`Fill::Median`] | occlusion |
    /// | `refine_fraction` | `0.2` | fast occlusion |
    /// | `masks` | `4000` | RISE |
    /// | `grid` / `keep_probability` | `8` / `0.5` | RISE |
    /// | `min_masks` / `convergence` | `500` / `0.9` | fast RISE |
    /// | `layer` | the card's last feature layer | Score-CAM |
    /// | `top_k` | `16` | fast Score-CAM |
    pub fn params() -> SaliencyParams {
        SaliencyParams {
            method: "occlusion".into(),
            fast: false,
            class: None,
            seed: 0,
            patch: None,
            stride: None,
            fill: Fill::Median,
            refine_fraction: 0.2,
            masks: 4000,
            grid: 8,
            keep_probability: 0.5,
            min_masks: 500,
            convergence: 0.9,
            layer: None,
            top_k: 16,
        }
    }
}

/// Unchecked hyperparameters of a heatmap (see [`Saliency::params`] for the defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct SaliencyParams {
    pub(crate) method: String,
    pub(crate) fast: bool,
    pub(crate) class: Option<usize>,
    pub(crate) seed: u64,
    pub(crate) patch: Option<usize>,
    pub(crate) stride: Option<usize>,
    pub(crate) fill: Fill,
    pub(crate) refine_fraction: f64,
    pub(crate) masks: usize,
    pub(crate) grid: usize,
    pub(crate) keep_probability: f64,
    pub(crate) min_masks: usize,
    pub(crate) convergence: f64,
    pub(crate) layer: Option<String>,
    pub(crate) top_k: usize,
}

/// What an occlusion patch is filled with: the question the map answers.
///
/// Every fill stays in the image's own tissue (a zero fill would paint the window's lower
/// bound, fat, into every patch and measure the reaction to planted fat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The image's median, in Hounsfield units: the tissue that dominates the field of view
    /// (kidney or perirenal fat on a lesion-centred crop). Asks "what if this patch were
    /// ordinary tissue?", so the inside of a homogeneous lesion counts as much as its edge.
    /// Wrong where the dominant tissue is itself the evidence (a fat detector on a volume
    /// that is mostly perirenal fat): there use [`Fill::Soft`] or [`Fill::Ring`].
    Median,
    /// The mean of a ring around the patch (the patch grown by half its side): removes the
    /// patch's structure but keeps the local tissue level. Asks "what if this patch had no
    /// detail?", so a homogeneous region larger than the ring shows only at its border.
    Ring,
    /// The median of the image's soft tissue, the voxels from −10 to 300 HU
    /// ([`SOFT_TISSUE_HU`]: neither fat nor air, bone or dense contrast), else the image's
    /// median. Asks "what if this patch were parenchyma?": the question for a model whose
    /// evidence is fat or air, on a crop where fat dominates so the median fill is fat itself.
    Soft,
}

/// The Hounsfield range [`Fill::Soft`] takes its median over.
pub const SOFT_TISSUE_HU: (f32, f32) = (-10.0, 300.0);

impl Fill {
    /// Every fill with its name, for command lines and configuration.
    pub const ALL: [(&'static str, Fill); 3] = [
        ("median", Fill::Median),
        ("ring", Fill::Ring),
        ("soft", Fill::Soft),
    ];

    /// The fill called `name` (`median`, `ring` or `soft`).
    pub fn from_name(name: &str) -> Result<Fill> {
        Fill::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, fill)| fill)
            .ok_or_else(|| Error::InvalidParameter {
                name: "fill",
                problem: format!(
                    "unknown fill `{name}`; known: {}",
                    Fill::ALL.map(|(n, _)| n).join(", ")
                ),
            })
    }

    /// What a patch is filled with, in words for a report ("patches filled with …").
    pub fn words(self) -> &'static str {
        match self {
            Fill::Median => "the image's median tissue",
            Fill::Ring => "the mean of the tissue around them",
            Fill::Soft => "the image's median soft tissue",
        }
    }

    /// The fill's name, as [`Fill::ALL`] spells it.
    pub fn name(self) -> &'static str {
        Fill::ALL
            .iter()
            .find(|(_, fill)| *fill == self)
            .map_or("", |(n, _)| n)
    }
}

/// A fill serialises as its name, so reports that carry one need no second spelling of it.
impl serde::Serialize for Fill {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The most masks or patches a run may ask for: far beyond any published setting (RISE
/// uses 4,000–8,000), low enough that a typo cannot occupy a server for a day.
pub const MAX_PASSES: usize = 1_000_000;

impl SaliencyParams {
    /// The method, by its name in [`METHODS`](crate::METHODS).
    pub fn method(mut self, name: &str) -> Self {
        self.method = name.to_owned();
        self
    }
    /// Runs the method's fast variant.
    pub fn fast(mut self, fast: bool) -> Self {
        self.fast = fast;
        self
    }
    /// The class to explain (index into the card's `class_names`); `None` = predicted.
    pub fn class(mut self, class: Option<usize>) -> Self {
        self.class = class;
        self
    }
    /// Seed of every random draw (RISE masks).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Occlusion patch side, voxels.
    pub fn patch(mut self, patch: usize) -> Self {
        self.patch = Some(patch);
        self
    }
    /// Occlusion stride, voxels.
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = Some(stride);
        self
    }
    /// Occlusion: what a patch is filled with.
    pub fn fill(mut self, fill: Fill) -> Self {
        self.fill = fill;
        self
    }
    /// Fast occlusion: the share of the remaining patch positions, highest coarse saliency
    /// first, that is run after the coarse pass.
    pub fn refine_fraction(mut self, fraction: f64) -> Self {
        self.refine_fraction = fraction;
        self
    }
    /// RISE: number of masks (the most, for the fast variant).
    pub fn masks(mut self, masks: usize) -> Self {
        self.masks = masks;
        self
    }
    /// RISE: cells per axis of the random grid.
    pub fn grid(mut self, grid: usize) -> Self {
        self.grid = grid;
        self
    }
    /// RISE: probability that a grid cell is kept.
    pub fn keep_probability(mut self, p: f64) -> Self {
        self.keep_probability = p;
        self
    }
    /// Fast RISE: masks before the first convergence check.
    pub fn min_masks(mut self, masks: usize) -> Self {
        self.min_masks = masks;
        self
    }
    /// Fast RISE: the predicted reliability of the map, `2ρ / (1 + ρ)` with ρ the (Pearson)
    /// correlation of two successive halves, that counts as converged.
    pub fn convergence(mut self, rho: f64) -> Self {
        self.convergence = rho;
        self
    }
    /// Score-CAM: the layer whose channels become masks.
    pub fn layer(mut self, layer: Option<String>) -> Self {
        self.layer = layer;
        self
    }
    /// Fast Score-CAM: channels kept, strongest mean activation first.
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// Validates the parameters and looks the method up.
    pub fn check(self) -> Result<CheckedSaliency> {
        let method = methods::find(&self.method)?;
        let bad = |name, problem: String| Err(Error::InvalidParameter { name, problem });
        if self.patch == Some(0) {
            return bad("patch", "must be at least 1 voxel".into());
        }
        if self.stride == Some(0) {
            return bad("stride", "must be at least 1 voxel".into());
        }
        if !(self.refine_fraction > 0.0 && self.refine_fraction <= 1.0) {
            return bad(
                "refine_fraction",
                format!("must be in (0, 1], got {}", self.refine_fraction),
            );
        }
        if self.masks == 0 || self.masks > MAX_PASSES {
            return bad(
                "masks",
                format!("must be in 1..={MAX_PASSES}, got {}", self.masks),
            );
        }
        if !(2..=256).contains(&self.grid) {
            return bad("grid", format!("must be in 2..=256, got {}", self.grid));
        }
        if !(self.keep_probability > 0.0 && self.keep_probability < 1.0) {
            return bad(
                "keep_probability",
                format!("must be in (0, 1), got {}", self.keep_probability),
            );
        }
        if self.min_masks < 2 {
            return bad(
                "min_masks",
                format!("must be at least 2, got {}", self.min_masks),
            );
        }
        if !(self.convergence > 0.0 && self.convergence <= 1.0) {
            return bad(
                "convergence",
                format!("must be in (0, 1], got {}", self.convergence),
            );
        }
        if self.top_k == 0 {
            return bad("top_k", "must keep at least one channel".into());
        }
        Ok(CheckedSaliency {
            params: self,
            method,
        })
    }

    /// [`check`](Self::check), then [`CheckedSaliency::explain`] without progress reports.
    pub fn explain(&self, subject: &Subject, image: &Image) -> Result<Heatmap> {
        self.clone().check()?.explain(subject, image, &|_| {})
    }
}

/// Validated parameters bound to their method.
#[derive(Debug, Clone)]
pub struct CheckedSaliency {
    pub(crate) params: SaliencyParams,
    pub(crate) method: &'static Method,
}

impl CheckedSaliency {
    /// The parameters.
    pub fn params(&self) -> &SaliencyParams {
        &self.params
    }

    /// The registered method.
    pub fn method(&self) -> &'static Method {
        self.method
    }

    /// The same parameters explaining another class (the sanity check fixes the original's).
    pub fn with_class(&self, class: usize) -> CheckedSaliency {
        let mut same = self.clone();
        same.params.class = Some(class);
        same
    }

    /// The most forward passes a run on `subject` makes (the fast variants usually make
    /// fewer), for progress bars.
    pub fn planned_passes(&self, subject: &Subject) -> u64 {
        (self.method.planned_passes)(&self.params, subject) as u64 + 1
    }

    /// Computes the heatmap of `image` (Hounsfield units, the card's input size).
    /// `progress` hears the number of forward passes after each batch.
    pub fn explain(
        &self,
        subject: &Subject,
        image: &Image,
        progress: &dyn Fn(u64),
    ) -> Result<Heatmap> {
        let start = std::time::Instant::now();
        let input = subject.prepare(image)?;
        // One unperturbed pass: the class, its probability and, for a method that reads a
        // layer, that layer's activations.
        let (class, score, activation) = if self.method.reads_layer {
            let layer = methods::chosen_layer(&self.params, subject.card())?;
            let mut prediction = subject.layer_prediction(&layer, &input)?;
            let (class, score) = subject.pick_class(&prediction, self.params.class)?;
            (class, score, prediction.activations.pop())
        } else {
            let (class, score) = subject.resolve_class(&input, self.params.class)?;
            (class, score, None)
        };
        progress(1);
        let job = Job {
            subject,
            input: &input,
            params: &self.params,
            class,
            score,
            activation: activation.as_ref(),
            progress,
        };
        let run = if self.params.fast {
            self.method.fast
        } else {
            self.method.full
        };
        let (values, passes) = run(&job)?;
        let map = Image::new(input.shape, values)?;
        Ok(Heatmap {
            method: self.method.name,
            fast: self.params.fast,
            fill: self.method.fills.then_some(self.params.fill),
            class,
            score,
            map,
            forward_passes: passes + 1,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

//! Clinician labels: the true findings after realistic reading errors.
//!
//! DESIGN.md asks for flip rates of about 5% (fat, size), 10–15% (enhancement,
//! heterogeneity, necrosis) and 20–30% (central scar, margin). A symmetric flip at 25% would
//! make a rare finding such as a central scar mostly false positives, which is not how
//! readers err: they miss subtle findings far more often than they invent them. So each
//! binary finding has a *miss* rate (present → absent, the DESIGN.md figure) and a smaller
//! *over-call* rate (absent → present); ordinal findings move one step; size is re-measured.
//! [`LabelNoise::DEFAULT`] lists the rates; `ground_truth.json` repeats them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::clinical::{Cystic, Enhancement, Findings, Truth};
use crate::random::Random;

/// Reading-error rates for one binary finding.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FlipRates {
    /// P(labelled absent | present).
    pub miss: f64,
    /// P(labelled present | absent).
    pub over_call: f64,
}

/// The reading-error model applied to every case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelNoise {
    /// Share of sizes grossly mis-measured (by 20–35%, up or down); the rest get a 4%
    /// relative measurement error and are rounded to 0.1 cm.
    pub size_gross_error: f64,
    pub macroscopic_fat: FlipRates,
    /// Share of enhancement labels moved one level (hypo ↔ moderate ↔ avid).
    pub enhancement_step: f64,
    pub heterogeneity: FlipRates,
    pub necrosis: FlipRates,
    pub calcification: FlipRates,
    pub central_scar: FlipRates,
    /// `miss` = infiltrative read as well defined.
    pub margin: FlipRates,
    pub exophytic: FlipRates,
    /// Share of cystic labels moved one level (none ↔ partial ↔ predominant).
    pub cystic_step: f64,
}

const fn rates(miss: f64, over_call: f64) -> FlipRates {
    FlipRates { miss, over_call }
}

impl LabelNoise {
    pub const DEFAULT: LabelNoise = LabelNoise {
        size_gross_error: 0.05,
        macroscopic_fat: rates(0.05, 0.01),
        enhancement_step: 0.12,
        heterogeneity: rates(0.12, 0.12),
        necrosis: rates(0.12, 0.04),
        calcification: rates(0.08, 0.01),
        central_scar: rates(0.25, 0.03),
        margin: rates(0.25, 0.06),
        exophytic: rates(0.08, 0.08),
        cystic_step: 0.10,
    };

    /// The findings a clinician would record for this truth.
    pub(crate) fn label(&self, truth: &Truth, rng: &mut Random) -> Findings {
        let t = &truth.findings;
        let size_cm = if rng.chance(self.size_gross_error) {
            let factor = rng.range(1.20, 1.35);
            if rng.chance(0.5) {
                t.size_cm * factor
            } else {
                t.size_cm / factor
            }
        } else {
            t.size_cm * (1.0 + 0.04 * rng.normal())
        };
        let mut flip = |present: bool, rates: FlipRates| {
            let p = if present { rates.miss } else { rates.over_call };
            present ^ rng.chance(p)
        };
        let macroscopic_fat = flip(t.macroscopic_fat, self.macroscopic_fat);
        let heterogeneous = flip(t.heterogeneous, self.heterogeneity);
        let necrosis = flip(t.necrosis, self.necrosis);
        let calcification = flip(t.calcification, self.calcification);
        let central_scar = flip(t.central_scar, self.central_scar);
        let infiltrative = flip(t.infiltrative, self.margin);
        let exophytic = flip(t.exophytic, self.exophytic);
        let enhancement = step(t.enhancement as usize, self.enhancement_step, rng);
        let cystic = step(t.cystic as usize, self.cystic_step, rng);
        Findings {
            size_cm: ((size_cm * 10.0).round() / 10.0).max(0.1),
            macroscopic_fat,
            enhancement: [Enhancement::Hypo, Enhancement::Moderate, Enhancement::Avid][enhancement],
            heterogeneous,
            necrosis,
            calcification,
            central_scar,
            infiltrative,
            exophytic,
            cystic: [Cystic::None, Cystic::Partial, Cystic::Predominant][cystic],
        }
    }
}

/// Moves a three-level ordinal one step with probability `p` (towards the only neighbour
/// at the ends, either way in the middle).
fn step(level: usize, p: f64, rng: &mut Random) -> usize {
    if !rng.chance(p) {
        return level;
    }
    match level {
        0 => 1,
        2 => 1,
        _ if rng.chance(0.5) => 0,
        _ => 2,
    }
}

impl Findings {
    /// The findings as `cases.csv` cells of the demo schema (size to 0.1 cm).
    pub fn cells(&self) -> BTreeMap<String, String> {
        let yes_no = |b: bool, yes: &str, no: &str| if b { yes } else { no }.to_owned();
        let present = |b: bool| yes_no(b, "present", "absent");
        let enhancement = match self.enhancement {
            Enhancement::Hypo => "hypo",
            Enhancement::Moderate => "moderate",
            Enhancement::Avid => "avid",
        };
        let cystic = match self.cystic {
            Cystic::None => "none",
            Cystic::Partial => "partial",
            Cystic::Predominant => "predominant",
        };
        [
            ("size_cm", format!("{:.1}", self.size_cm)),
            ("macroscopic_fat", present(self.macroscopic_fat)),
            ("enhancement", enhancement.to_owned()),
            (
                "heterogeneity",
                yes_no(self.heterogeneous, "heterogeneous", "homogeneous"),
            ),
            ("necrosis", present(self.necrosis)),
            ("calcification", present(self.calcification)),
            ("central_scar", present(self.central_scar)),
            (
                "margin",
                yes_no(self.infiltrative, "infiltrative", "well_defined"),
            ),
            ("exophytic", yes_no(self.exophytic, "yes", "no")),
            ("cystic", cystic.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

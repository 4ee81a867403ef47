//! The clinical model: which subtype a case has, and which imaging findings follow from it.
//!
//! The figures are DESIGN.md's table (subtype mix, sizes, enhancement, fat, necrosis,
//! calcification, scar), filled in where the table is silent with values from the renal-mass
//! literature and chosen so that subtypes overlap the way they do in clinic: fat-poor AML
//! looks like a small papillary RCC, an oncocytoma like a homogeneous clear-cell RCC, and
//! Bosniak II–IIF cysts shade into III–IV. This module only draws *true* findings; how they
//! look is `render`'s business and how clinicians mislabel them is `labels`'.

use serde::Serialize;

use crate::random::Random;

/// Histological subtype, the first thing drawn for every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subtype {
    ClearCellRcc,
    PapillaryRcc,
    ChromophobeRcc,
    Oncocytoma,
    FatRichAml,
    FatPoorAml,
    ComplexCyst,
}

/// Bosniak class of a complex cyst; decides its septa, nodules and malignancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bosniak {
    #[serde(rename = "II")]
    II,
    #[serde(rename = "IIF")]
    IIF,
    #[serde(rename = "III")]
    III,
    #[serde(rename = "IV")]
    IV,
}

/// Corticomedullary-phase enhancement of the solid (enhancing) part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Enhancement {
    Hypo,
    Moderate,
    Avid,
}

/// Fluid fraction of the lesion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cystic {
    None,
    Partial,
    Predominant,
}

/// The imaging findings of the demo schema (DESIGN.md), either true or as labelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    pub size_cm: f64,
    pub macroscopic_fat: bool,
    pub enhancement: Enhancement,
    pub heterogeneous: bool,
    pub necrosis: bool,
    pub calcification: bool,
    pub central_scar: bool,
    pub infiltrative: bool,
    pub exophytic: bool,
    pub cystic: Cystic,
}

/// What pathology knows about a case: subtype, malignancy and the noise-free findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Truth {
    pub subtype: Subtype,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bosniak: Option<Bosniak>,
    pub malignant: bool,
    pub findings: Findings,
}

impl Subtype {
    /// Every subtype with its share of renal masses (DESIGN.md; the shares sum to 1).
    pub const SHARES: [(Subtype, f64); 7] = [
        (Subtype::ClearCellRcc, 0.60),
        (Subtype::PapillaryRcc, 0.12),
        (Subtype::ChromophobeRcc, 0.06),
        (Subtype::Oncocytoma, 0.08),
        (Subtype::FatRichAml, 0.06),
        (Subtype::FatPoorAml, 0.02),
        (Subtype::ComplexCyst, 0.06),
    ];

    /// The state name used in `cases.csv` and the demo schema.
    pub fn name(self) -> &'static str {
        match self {
            Subtype::ClearCellRcc => "clear_cell_rcc",
            Subtype::PapillaryRcc => "papillary_rcc",
            Subtype::ChromophobeRcc => "chromophobe_rcc",
            Subtype::Oncocytoma => "oncocytoma",
            Subtype::FatRichAml => "fat_rich_aml",
            Subtype::FatPoorAml => "fat_poor_aml",
            Subtype::ComplexCyst => "complex_cyst",
        }
    }

    /// The subtype with this state name.
    pub fn from_name(name: &str) -> Option<Subtype> {
        Subtype::SHARES
            .iter()
            .map(|&(s, _)| s)
            .find(|s| s.name() == name)
    }

    /// The per-subtype probabilities of each finding (see [`Profile`]).
    pub fn profile(self) -> Profile {
        let base = Profile {
            size_median_cm: 3.0,
            size_log_sd: 0.5,
            fat: 0.0,
            enhancement: [0.0, 1.0, 0.0],
            heterogeneous: 0.15,
            necrosis: Necrosis::Flat(0.0),
            calcification: 0.0,
            central_scar: 0.0,
            infiltrative: 0.02,
            exophytic: 0.45,
            cystic: [1.0, 0.0, 0.0],
        };
        match self {
            Subtype::ClearCellRcc => Profile {
                size_median_cm: 4.0,
                size_log_sd: 0.55,
                fat: 0.01,
                enhancement: [0.03, 0.12, 0.85],
                heterogeneous: 0.80,
                necrosis: Necrosis::GrowsWithSize,
                calcification: 0.10,
                central_scar: 0.03,
                infiltrative: 0.20,
                cystic: [0.85, 0.12, 0.03],
                ..base
            },
            Subtype::PapillaryRcc => Profile {
                fat: 0.005,
                enhancement: [0.80, 0.17, 0.03],
                necrosis: Necrosis::Flat(0.10),
                calcification: 0.07,
                central_scar: 0.01,
                infiltrative: 0.12,
                exophytic: 0.40,
                cystic: [0.90, 0.08, 0.02],
                ..base
            },
            Subtype::ChromophobeRcc => Profile {
                size_median_cm: 4.0,
                enhancement: [0.10, 0.70, 0.20],
                necrosis: Necrosis::Flat(0.05),
                calcification: 0.05,
                central_scar: 0.10,
                infiltrative: 0.08,
                exophytic: 0.40,
                cystic: [0.97, 0.03, 0.0],
                ..base
            },
            Subtype::Oncocytoma => Profile {
                size_log_sd: 0.45,
                enhancement: [0.0, 0.25, 0.75],
                calcification: 0.03,
                central_scar: 0.22,
                ..base
            },
            Subtype::FatRichAml => Profile {
                size_median_cm: 2.0,
                fat: 1.0,
                enhancement: [0.25, 0.40, 0.35],
                heterogeneous: 0.70,
                infiltrative: 0.03,
                exophytic: 0.75,
                ..base
            },
            Subtype::FatPoorAml => Profile {
                size_median_cm: 1.7,
                size_log_sd: 0.35,
                enhancement: [0.35, 0.45, 0.20],
                heterogeneous: 0.08,
                exophytic: 0.70,
                ..base
            },
            Subtype::ComplexCyst => Profile {
                size_log_sd: 0.55,
                exophytic: 0.50,
                ..base
            },
        }
    }
}

/// How necrosis depends on the lesion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Necrosis {
    /// The same probability at every size.
    Flat(f64),
    /// Clear-cell RCC: 3% at 1 cm, +6.5% per cm (about 25% overall, most in large tumours).
    GrowsWithSize,
}

/// Probabilities of the true findings for one subtype (Bosniak-specific for cysts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub size_median_cm: f64,
    pub size_log_sd: f64,
    pub fat: f64,
    /// Probability of hypo, moderate, avid.
    pub enhancement: [f64; 3],
    pub heterogeneous: f64,
    pub necrosis: Necrosis,
    pub calcification: f64,
    pub central_scar: f64,
    pub infiltrative: f64,
    pub exophytic: f64,
    /// Probability of none, partial, predominant.
    pub cystic: [f64; 3],
}

impl Bosniak {
    /// Share among complex cysts, and probability of malignancy (II–IIF mostly benign,
    /// III–IV mostly malignant).
    pub const CLASSES: [(Bosniak, f64, f64); 4] = [
        (Bosniak::II, 0.40, 0.02),
        (Bosniak::IIF, 0.25, 0.08),
        (Bosniak::III, 0.20, 0.55),
        (Bosniak::IV, 0.15, 0.90),
    ];

    fn refine(self, cyst: Profile) -> Profile {
        let (enhancement, heterogeneous, calcification, infiltrative, predominant) = match self {
            Bosniak::II => ([0.85, 0.15, 0.0], 0.10, 0.10, 0.02, 1.0),
            Bosniak::IIF => ([0.80, 0.20, 0.0], 0.30, 0.30, 0.05, 1.0),
            Bosniak::III => ([0.30, 0.60, 0.10], 0.60, 0.20, 0.25, 0.90),
            Bosniak::IV => ([0.10, 0.50, 0.40], 0.80, 0.15, 0.50, 0.70),
        };
        Profile {
            enhancement,
            heterogeneous,
            calcification,
            infiltrative,
            cystic: [0.0, 1.0 - predominant, predominant],
            ..cyst
        }
    }
}

/// Smallest and largest lesion diameter drawn, in cm.
pub const SIZE_RANGE_CM: (f64, f64) = (0.5, 10.0);

/// Draws subtype first, then Bosniak class (cysts), malignancy and the true findings.
pub(crate) fn draw_truth(rng: &mut Random) -> Truth {
    let subtype = rng.pick(&Subtype::SHARES);
    let (bosniak, malignant, profile) = match subtype {
        Subtype::ComplexCyst => {
            let classes: Vec<_> = Bosniak::CLASSES.iter().map(|&(b, s, _)| (b, s)).collect();
            let class = rng.pick(&classes);
            let p_malignant = Bosniak::CLASSES
                .iter()
                .find(|(b, _, _)| *b == class)
                .map_or(0.0, |c| c.2);
            let malignant = rng.chance(p_malignant);
            (Some(class), malignant, class.refine(subtype.profile()))
        }
        Subtype::ClearCellRcc | Subtype::PapillaryRcc | Subtype::ChromophobeRcc => {
            (None, true, subtype.profile())
        }
        Subtype::Oncocytoma | Subtype::FatRichAml | Subtype::FatPoorAml => {
            (None, false, subtype.profile())
        }
    };
    let size_cm = rng
        .log_normal(profile.size_median_cm, profile.size_log_sd)
        .clamp(SIZE_RANGE_CM.0, SIZE_RANGE_CM.1);
    let p_necrosis = match profile.necrosis {
        Necrosis::Flat(p) => p,
        Necrosis::GrowsWithSize => (0.03 + 0.065 * (size_cm - 1.0)).clamp(0.03, 0.60),
    };
    let [hypo, moderate, avid] = profile.enhancement;
    let [none, partial, predominant] = profile.cystic;
    Truth {
        subtype,
        bosniak,
        malignant,
        findings: Findings {
            size_cm,
            macroscopic_fat: rng.chance(profile.fat),
            enhancement: rng.pick(&[
                (Enhancement::Hypo, hypo),
                (Enhancement::Moderate, moderate),
                (Enhancement::Avid, avid),
            ]),
            heterogeneous: rng.chance(profile.heterogeneous),
            necrosis: rng.chance(p_necrosis),
            calcification: rng.chance(profile.calcification),
            central_scar: rng.chance(profile.central_scar),
            infiltrative: rng.chance(profile.infiltrative),
            exophytic: rng.chance(profile.exophytic),
            cystic: rng.pick(&[
                (Cystic::None, none),
                (Cystic::Partial, partial),
                (Cystic::Predominant, predominant),
            ]),
        },
    }
}

//! Over 10,000 cases, subtypes, findings and label noise follow DESIGN.md's clinical table.
//!
//! Tolerance: an expected probability `p` must be met within four binomial standard errors,
//! `4·sqrt(p(1−p)/n)` (a false alarm about once in 16,000 checks), computed per check from
//! the number of cases it is measured on. Figures DESIGN.md gives as ranges (benign share,
//! small-lesion benign share, oncocytoma scar) are checked against the range itself.

use explainme_phantom::{Cystic, Findings, Phantom, Subtype, Truth};

const N: usize = 10_000;

fn cohort() -> Vec<(Truth, Findings)> {
    let params = Phantom::params().cases(N).seed(2024);
    (0..N).map(|i| params.truth(i)).collect()
}

#[track_caller]
fn near(what: &str, hits: usize, n: usize, p: f64) {
    assert!(n > 0, "{what}: no cases");
    let observed = hits as f64 / n as f64;
    let tolerance = 4.0 * (p * (1.0 - p) / n as f64).sqrt();
    assert!(
        (observed - p).abs() <= tolerance.max(1e-12),
        "{what}: observed {observed:.4} over {n} cases, expected {p} ± {tolerance:.4}"
    );
}

fn of(cases: &[(Truth, Findings)], subtype: Subtype) -> Vec<&(Truth, Findings)> {
    cases.iter().filter(|(t, _)| t.subtype == subtype).collect()
}

fn share<T>(cases: &[T], pred: impl Fn(&T) -> bool) -> (usize, usize) {
    (cases.iter().filter(|c| pred(c)).count(), cases.len())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[test]
fn subtype_mix_and_malignancy_follow_design() {
    let cases = cohort();
    for (subtype, p) in Subtype::SHARES {
        let (hits, n) = share(&cases, |(t, _)| t.subtype == subtype);
        near(subtype.name(), hits, n, p);
    }
    let benign = share(&cases, |(t, _)| !t.malignant);
    let benign = benign.0 as f64 / benign.1 as f64;
    assert!((0.15..=0.21).contains(&benign), "benign share {benign}");
    // DESIGN.md: under 2 cm about 20–45% are benign.
    let small: Vec<_> = cases
        .iter()
        .filter(|(t, _)| t.findings.size_cm < 2.0)
        .collect();
    let (b, n) = share(&small, |(t, _)| !t.malignant);
    let small_benign = b as f64 / n as f64;
    assert!(
        (0.20..=0.45).contains(&small_benign),
        "benign under 2 cm {small_benign}"
    );
    for (subtype, malignant) in [
        (Subtype::ClearCellRcc, true),
        (Subtype::PapillaryRcc, true),
        (Subtype::ChromophobeRcc, true),
        (Subtype::Oncocytoma, false),
        (Subtype::FatRichAml, false),
        (Subtype::FatPoorAml, false),
    ] {
        assert!(
            of(&cases, subtype)
                .iter()
                .all(|(t, _)| t.malignant == malignant)
        );
    }
}

#[test]
fn findings_follow_each_subtype() {
    let cases = cohort();
    let cc = of(&cases, Subtype::ClearCellRcc);
    let avid =
        |c: &&(Truth, Findings)| c.0.findings.enhancement == explainme_phantom::Enhancement::Avid;
    let (h, n) = share(&cc, avid);
    near("clear cell avid", h, n, 0.85);
    let (h, n) = share(&cc, |c| c.0.findings.heterogeneous);
    near("clear cell heterogeneous", h, n, 0.80);
    let (h, n) = share(&cc, |c| c.0.findings.calcification);
    near("clear cell calcification", h, n, 0.10);
    let (h, n) = share(&cc, |c| c.0.findings.necrosis);
    let necrosis = h as f64 / n as f64;
    assert!(
        (0.20..=0.30).contains(&necrosis),
        "clear cell necrosis {necrosis}"
    );
    let cc_size = median(cc.iter().map(|c| c.0.findings.size_cm).collect());
    assert!(
        (3.8..=4.2).contains(&cc_size),
        "clear cell median size {cc_size}"
    );

    let pap = of(&cases, Subtype::PapillaryRcc);
    let (h, n) = share(&pap, |c| {
        c.0.findings.enhancement == explainme_phantom::Enhancement::Hypo
    });
    near("papillary hypo", h, n, 0.80);
    let (h, n) = share(&pap, |c| c.0.findings.calcification);
    near("papillary calcification", h, n, 0.07);
    let pap_size = median(pap.iter().map(|c| c.0.findings.size_cm).collect());
    assert!(
        (2.7..=3.3).contains(&pap_size),
        "papillary median size {pap_size}"
    );

    let onco = of(&cases, Subtype::Oncocytoma);
    let (h, n) = share(&onco, |c| c.0.findings.central_scar);
    let scar = h as f64 / n as f64;
    assert!((0.11..=0.33).contains(&scar), "oncocytoma scar {scar}");
    assert!(
        onco.iter()
            .all(|c| !c.0.findings.necrosis && !c.0.findings.macroscopic_fat)
    );

    let aml = of(&cases, Subtype::FatRichAml);
    assert!(
        aml.iter()
            .all(|c| c.0.findings.macroscopic_fat && !c.0.findings.calcification)
    );
    let (h, n) = share(&aml, |c| c.0.findings.exophytic);
    near("fat-rich AML exophytic", h, n, 0.75);
    let aml_size = median(aml.iter().map(|c| c.0.findings.size_cm).collect());
    assert!(
        (1.8..=2.2).contains(&aml_size),
        "fat-rich AML median size {aml_size}"
    );

    let fat_poor = of(&cases, Subtype::FatPoorAml);
    assert!(fat_poor.iter().all(|c| !c.0.findings.macroscopic_fat));
    let (h, n) = share(&fat_poor, |c| !c.0.findings.heterogeneous);
    near("fat-poor AML homogeneous", h, n, 0.92);

    let cysts = of(&cases, Subtype::ComplexCyst);
    assert!(
        cysts
            .iter()
            .all(|c| c.0.findings.cystic != Cystic::None && c.0.bosniak.is_some())
    );
    let fat_elsewhere = share(&cases, |(t, _)| {
        t.findings.macroscopic_fat && t.subtype != Subtype::FatRichAml
    });
    // Fat is rare outside fat-rich AML: 1% of clear cell, 0.5% of papillary.
    near(
        "fat outside AML",
        fat_elsewhere.0,
        N,
        0.60 * 0.01 + 0.12 * 0.005,
    );
}

#[test]
fn label_noise_has_the_stated_rates() {
    let cases = cohort();
    let noise = explainme_phantom::LabelNoise::DEFAULT;
    let check = |what: &str, truth: fn(&Findings) -> bool, rates: explainme_phantom::FlipRates| {
        let present: Vec<_> = cases.iter().filter(|(t, _)| truth(&t.findings)).collect();
        let absent: Vec<_> = cases.iter().filter(|(t, _)| !truth(&t.findings)).collect();
        let (missed, n) = share(&present, |(_, l)| !truth(l));
        near(&format!("{what} miss"), missed, n, rates.miss);
        let (over, n) = share(&absent, |(_, l)| truth(l));
        near(&format!("{what} over-call"), over, n, rates.over_call);
    };
    check("fat", |f| f.macroscopic_fat, noise.macroscopic_fat);
    check("heterogeneity", |f| f.heterogeneous, noise.heterogeneity);
    check("necrosis", |f| f.necrosis, noise.necrosis);
    check("calcification", |f| f.calcification, noise.calcification);
    check("scar", |f| f.central_scar, noise.central_scar);
    check("margin", |f| f.infiltrative, noise.margin);
    check("exophytic", |f| f.exophytic, noise.exophytic);
    let (moved, n) = share(&cases, |(t, l)| t.findings.enhancement != l.enhancement);
    near("enhancement step", moved, n, noise.enhancement_step);
    let (moved, n) = share(&cases, |(t, l)| t.findings.cystic != l.cystic);
    near("cystic step", moved, n, noise.cystic_step);
    // Size: 5% grossly mis-measured (20–35%), the rest within a few percent.
    let (gross, n) = share(&cases, |(t, l)| {
        (l.size_cm / t.findings.size_cm - 1.0).abs() > 0.17
    });
    near("size gross error", gross, n, noise.size_gross_error);
}

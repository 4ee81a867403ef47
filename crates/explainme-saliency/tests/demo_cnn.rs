//! The committed demo CNN (`data/models/renal_cnn.onnx`) on a phantom cohort it never saw
//! (training used seed 1), through real ONNX Runtime.
//!
//! Every map explains the positive class, `malignant`: the question the CNN answers, and the
//! one whose evidence the lesion should hold. (For a single-sigmoid model the map of `benign`
//! is the negation of the map of `malignant`, so on a case called benign the predicted class's
//! map puts its positive mass where removing tissue makes the lesion look *more* malignant:
//! outside it. Explaining the predicted class, occlusion gives mass 0.608 and pointing 0.792.)
//!
//! Occlusion reaches the issue's bar (mean lesion mass ≥ 0.6, pointing game ≥ 0.9, deletion
//! below and insertion above a random map): mass 0.692, pointing 0.917, deletion AUC 0.038
//! (random map 0.105), insertion AUC 0.844 (random 0.584) on these 24 cases (seed 20261201),
//! with the default fill, the image's median. With the ring fill it gives 0.363 and
//! 0.542: inside a homogeneous lesion the ring is lesion too, so only the edge shows.
//!
//! Score-CAM does not reach it on this CNN, and `scorecam_thresholds` is ignored: mass 0.326,
//! pointing 0.792 (deletion 0.104 against 0.105, insertion 0.837 against 0.584). Its map lives
//! at the last feature layer's 8×8 resolution, where even the lesion mask itself, averaged into
//! 8×8 cells and upsampled the same way, puts only 0.662 of its mass inside the lesion; and
//! that layer's channels are broad. Neither an earlier layer (16×16: 0.164; 32×32: 0.223; with
//! the median baseline 0.319 and 0.334), a constant baseline (the image's median: 0.355), logit
//! or positive-only weights (0.334, 0.359) changed that; nor did a CNN retrained with concept
//! heads (0.245, see `data/models/README.md`), nor a finer last layer: the recipe run short
//! with its last layer at 16×16 or 32×32 gave 0.425 and 0.387, against 0.297 for the same
//! short run of the committed 8×8 architecture (pointing 0.833 for all three); nor a CNN
//! trained to keep its last layer's activation on the lesion (0.213 at 8×8, 0.412 at 16×16:
//! trained in full, it scores the blurred baseline malignant at ≥ 0.95 and every masked
//! input the same, so no channel adds anything; `data/models/README.md`). Explaining
//! each case's predicted class instead gives 0.347 and 0.792. Weighting each channel by the
//! drop when its region is blurred away (deletion) instead of the rise when it is revealed
//! gave 0.289 / 0.542, both summed 0.319 / 0.625, and a ReLU after upsampling instead of
//! before 0.326 / 0.792. A bound on every such method: on each case, the one channel of
//! the layer with the most mass in that case's lesion, picked knowing the lesion, keeps
//! 0.637 on average (0.22 … 1.00), and no map with non-negative channel weights keeps more
//! (its mass is a ratio of two non-negative linear forms in the weights, largest at a single
//! channel). Part of the reason is in the
//! baseline Score-CAM blends towards: on 15 of these 24 cases the blurred image scores at
//! least the image's own probability of `malignant` (`Faithfulness::blurred_score`), and
//! there Score-CAM gives mass 0.259 and pointing 0.733, against 0.438 and 0.889 on the other
//! 9. The tests that run assert what its maps do show: far more mass in the lesion than its
//! area, and insertion curves better than a random map's.

mod demo_model;

use demo_model::demo;
use explainme_imaging::{Image, Mask, Shape};
use explainme_phantom::Phantom;
use explainme_saliency::{
    Faithfulness, Saliency, Subject, cascading_randomisation, faithfulness, lesion_mass, pearson,
    spearman,
};

const UNSEEN_SEED: u64 = 20261201;
const CASES: usize = 24;

fn cohort() -> Vec<(Image, Mask)> {
    Phantom::params()
        .cases(CASES)
        .seed(UNSEEN_SEED)
        .generate()
        .unwrap()
        .into_iter()
        .map(|case| {
            let r = &case.rendering;
            let shape = Shape::d2(r.shape[1], r.shape[2]);
            let image = Image::new(shape, r.image.clone()).unwrap();
            let lesion = Mask::new(shape, r.masks[0].1.clone()).unwrap();
            (image, lesion)
        })
        .collect()
}

/// Cohort means of the figures, and the mean share of the image the lesion covers.
struct Means {
    mass: f64,
    pointing: f64,
    deletion: f64,
    random_deletion: f64,
    insertion: f64,
    random_insertion: f64,
    lesion_area: f64,
    /// Cases whose blurred image scores at least the image, and the mean lesion mass on
    /// them and on the others.
    saturated: usize,
    mass_saturated: f64,
    mass_unsaturated: f64,
}

fn survey(method: &str) -> Means {
    let (model, card) = demo();
    let subject = Subject::new(&model, &card, Default::default()).unwrap();
    let params = Saliency::params()
        .method(method)
        .class(Some(card.positive_index().unwrap()));
    let cases = cohort();
    let (figures, scores): (Vec<Faithfulness>, Vec<f64>) = cases
        .iter()
        .map(|(image, lesion)| {
            let heatmap = params.explain(&subject, image).unwrap();
            let f = faithfulness(&subject, image, &heatmap, Some(lesion), 32, 1).unwrap();
            (f, f64::from(heatmap.score))
        })
        .unzip();
    // Cases whose blurred image scores at least the image itself: the baseline RISE and
    // Score-CAM blend towards already holds all the class's probability.
    let saturated: Vec<bool> = figures
        .iter()
        .zip(&scores)
        .map(|(f, &score)| f.blurred_score.unwrap() >= score)
        .collect();
    let mass_where = |wanted: bool| {
        let masses: Vec<f64> = figures
            .iter()
            .zip(&saturated)
            .filter(|&(_, &s)| s == wanted)
            .map(|(f, _)| f.lesion_mass.unwrap())
            .collect();
        masses.iter().sum::<f64>() / masses.len().max(1) as f64
    };
    let n = cases.len() as f64;
    let mean = |f: &dyn Fn(&Faithfulness) -> f64| figures.iter().map(f).sum::<f64>() / n;
    let means = Means {
        mass: mean(&|f| f.lesion_mass.unwrap()),
        pointing: mean(&|f| f64::from(u8::from(f.pointing_game.unwrap()))),
        deletion: mean(&|f| f.deletion_auc),
        random_deletion: mean(&|f| f.random_deletion_auc),
        insertion: mean(&|f| f.insertion_auc),
        random_insertion: mean(&|f| f.random_insertion_auc),
        lesion_area: cases
            .iter()
            .map(|(_, m)| m.count_inside() as f64 / m.voxels().len() as f64)
            .sum::<f64>()
            / n,
        saturated: saturated.iter().filter(|&&s| s).count(),
        mass_saturated: mass_where(true),
        mass_unsaturated: mass_where(false),
    };
    eprintln!(
        "{method}: the blurred image scores at least the image on {} of {} cases (mass there \
         {:.3}, elsewhere {:.3})",
        means.saturated,
        cases.len(),
        means.mass_saturated,
        means.mass_unsaturated
    );
    eprintln!(
        "{method}: lesion mass {:.3} (lesion area {:.3}), pointing game {:.3}, deletion AUC \
         {:.3} (random {:.3}), insertion AUC {:.3} (random {:.3})",
        means.mass,
        means.lesion_area,
        means.pointing,
        means.deletion,
        means.random_deletion,
        means.insertion,
        means.random_insertion
    );
    means
}

/// More of the map on the lesion, and more maxima in it, than its area would give by chance.
fn assert_points_at_the_lesion(m: &Means) {
    assert!(
        m.mass > 2.5 * m.lesion_area,
        "mass {:.3} vs area {:.3}",
        m.mass,
        m.lesion_area
    );
    assert!(
        m.pointing > 2.5 * m.lesion_area,
        "pointing {:.3} vs area {:.3}",
        m.pointing,
        m.lesion_area
    );
}

/// The issue's bar: mass ≥ 0.6, pointing ≥ 0.9, both curves better than a random map's.
fn assert_issue_bar(m: &Means) {
    assert!(m.mass >= 0.6, "mass {:.3}", m.mass);
    assert!(m.pointing >= 0.9, "pointing {:.3}", m.pointing);
    assert!(m.deletion < m.random_deletion, "deletion");
    assert!(m.insertion > m.random_insertion, "insertion");
}

#[test]
fn occlusion_reaches_the_issue_bar() {
    assert_issue_bar(&survey("occlusion"));
}

#[test]
fn scorecam_points_at_the_lesion_and_beats_a_random_map_on_insertion() {
    let m = survey("scorecam");
    assert_points_at_the_lesion(&m);
    assert!(m.insertion > m.random_insertion);
    // Where the blurred image already scores as high as the image, few channels raise the
    // probability over it, and Score-CAM's map keeps less of the lesion.
    assert!(m.saturated > 0 && m.saturated < CASES);
    assert!(
        m.mass_unsaturated > m.mass_saturated,
        "{:.3} vs {:.3}",
        m.mass_unsaturated,
        m.mass_saturated
    );
}

#[test]
#[ignore = "not reached by Score-CAM on the demo CNN; see the module docs for the figures"]
fn scorecam_thresholds() {
    assert_issue_bar(&survey("scorecam"));
}

#[test]
fn full_cascading_randomisation_decorrelates_the_maps() {
    let (model, card) = demo();
    let subject = Subject::new(&model, &card, Default::default()).unwrap();
    let cases = cohort();
    for method in ["occlusion", "scorecam"] {
        let params = Saliency::params().method(method).check().unwrap();
        let mut last = Vec::new();
        for (image, _) in cases.iter().take(3) {
            let original = params.explain(&subject, image, &|_| {}).unwrap();
            let steps = cascading_randomisation(&subject, image, &params, &original, 7).unwrap();
            assert_eq!(steps.len(), model.weighted_layers().len());
            let rhos: Vec<f64> = steps.iter().map(|s| s.rank_correlation).collect();
            eprintln!("{method}: rank correlation per step {rhos:.3?}");
            last.push(rhos[rhos.len() - 1]);
            // The map of the intact model correlates with itself: the check can fail.
            let again = params.explain(&subject, image, &|_| {}).unwrap();
            assert!(spearman(original.map.voxels(), again.map.voxels()) > 0.999);
        }
        let mean = last.iter().sum::<f64>() / last.len() as f64;
        assert!(
            mean < 0.3,
            "{method}: full randomisation leaves ρ = {mean:.3}"
        );
    }
}

/// Fast RISE on the demo CNN stops well before the full method's masks and gives the same
/// map: a linear correlation with the full map near 1 and the same lesion mass. (The stop
/// rule's module docs say why it is judged by Pearson's correlation and not by ranks.)
#[test]
fn fast_rise_stops_early_with_the_full_maps_values() {
    let (model, card) = demo();
    let subject = Subject::new(&model, &card, Default::default()).unwrap();
    let params = |fast| {
        Saliency::params()
            .method("rise")
            .masks(4000)
            .fast(fast)
            .class(Some(card.positive_index().unwrap()))
    };
    for (image, lesion) in cohort().iter().take(4) {
        let full = params(false).explain(&subject, image).unwrap();
        let fast = params(true).explain(&subject, image).unwrap();
        let r = pearson(fast.map.voxels(), full.map.voxels());
        let masses = [&fast, &full].map(|h| lesion_mass(&h.map, lesion).unwrap());
        let rho = spearman(fast.map.voxels(), full.map.voxels());
        eprintln!(
            "fast RISE: {} of {} passes, r with the full map {r:.3} (ρ {rho:.3}), lesion mass \
             {:.3} vs {:.3}",
            fast.forward_passes, full.forward_passes, masses[0], masses[1]
        );
        // Half the masks at most (both counts include the unperturbed pass).
        assert!(2 * fast.forward_passes <= full.forward_passes + 1);
        assert!(r >= 0.9, "r = {r:.3}");
        assert!((masses[0] - masses[1]).abs() <= 0.05);
    }
}

//! Faithfulness against an independent reference: `benches/peers/faithfulness_golden.py`
//! computes the deletion and insertion curves, their fixed ends, mass in lesion and the
//! pointing game with numpy over the official onnxruntime package, on three phantom cases the
//! demo CNN never saw (`tests/fixtures/faithfulness/`, with the very PNG files it read). The
//! two maps are built from integers on both sides: one with no ties, one of concentric rings
//! round the lesion whose ties the voxel order breaks. Regenerate with
//! `explainme phantom --cases 3 --seed 20261201 --out C` and
//! `python benches/peers/faithfulness_golden.py C crates/explainme-saliency/tests/fixtures/faithfulness`.

mod demo_model;

use std::path::{Path, PathBuf};

use demo_model::demo;
use explainme_imaging::{Image, Mask, decode_image, decode_mask};
use explainme_saliency::{Heatmap, Subject, faithfulness};
use serde::Deserialize;

/// Scores agree to float32 inference across the two builds of ONNX Runtime 1.31.1 and the
/// blur's rounding; a convention that differs (which voxels first, how many per step, what
/// fills them) moves a curve by far more.
const TOLERANCE: f64 = 1e-5;

#[derive(Deserialize)]
struct Golden {
    class: String,
    steps: usize,
    cases: Vec<GoldenCase>,
}

#[derive(Deserialize)]
struct GoldenCase {
    case_id: String,
    score: f64,
    maps: std::collections::BTreeMap<String, Figures>,
}

#[derive(Deserialize)]
struct Figures {
    deletion_auc: f64,
    insertion_auc: f64,
    blurred_score: f64,
    median_score: f64,
    lesion_mass: f64,
    pointing_game: bool,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faithfulness")
}

/// The peer's two maps (see its docs).
fn map(name: &str, lesion: &Mask) -> Vec<f32> {
    let n = lesion.voxels().len() as u64;
    match name {
        "scrambled" => (0..n).map(|v| ((v * 2_654_435_761) % n) as f32).collect(),
        "rings" => {
            let [_, h, w] = lesion.shape().zyx();
            let inside: Vec<(usize, usize)> = (0..h * w)
                .filter(|&v| lesion.voxels()[v])
                .map(|v| (v / w, v % w))
                .collect();
            let cy = inside.iter().map(|p| p.0).sum::<usize>() / inside.len();
            let cx = inside.iter().map(|p| p.1).sum::<usize>() / inside.len();
            (0..h * w)
                .map(|v| (64 - (v / w).abs_diff(cy).max((v % w).abs_diff(cx)) as i64) as f32)
                .collect()
        }
        other => panic!("unknown map {other}"),
    }
}

fn close(what: &str, ours: f64, peer: f64) {
    assert!(
        (ours - peer).abs() <= TOLERANCE,
        "{what}: ours {ours:.7}, peer {peer:.7}"
    );
}

#[test]
fn faithfulness_matches_the_numpy_peer() {
    let golden: Golden = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("faithfulness.json")).unwrap(),
    )
    .unwrap();
    let (model, card) = demo();
    let class = card
        .class_names
        .iter()
        .position(|c| *c == golden.class)
        .unwrap();
    let subject = Subject::new(&model, &card, Default::default()).unwrap();
    assert_eq!(golden.cases.len(), 3);
    for case in &golden.cases {
        let read = |suffix: &str| {
            std::fs::read(fixtures().join(format!("{}{suffix}.png", case.case_id))).unwrap()
        };
        let image: Image = decode_image(&read(""), None).unwrap();
        let lesion = decode_mask(&read("_lesion"), None).unwrap();
        let (_, score) = subject
            .resolve_class(&subject.prepare(&image).unwrap(), Some(class))
            .unwrap();
        close(
            &format!("{} score", case.case_id),
            f64::from(score),
            case.score,
        );
        assert_eq!(case.maps.len(), 2);
        for (name, peer) in &case.maps {
            let heatmap = Heatmap {
                method: "peer",
                fast: false,
                fill: None,
                class,
                score,
                map: Image::new(image.shape(), map(name, &lesion)).unwrap(),
                forward_passes: 0,
                seconds: 0.0,
            };
            let ours =
                faithfulness(&subject, &image, &heatmap, Some(&lesion), golden.steps, 1).unwrap();
            let what = |figure: &str| format!("{} {name} {figure}", case.case_id);
            close(&what("deletion AUC"), ours.deletion_auc, peer.deletion_auc);
            close(
                &what("insertion AUC"),
                ours.insertion_auc,
                peer.insertion_auc,
            );
            close(
                &what("blurred score"),
                ours.blurred_score.unwrap(),
                peer.blurred_score,
            );
            close(
                &what("median score"),
                ours.median_score.unwrap(),
                peer.median_score,
            );
            close(
                &what("lesion mass"),
                ours.lesion_mass.unwrap(),
                peer.lesion_mass,
            );
            assert_eq!(
                ours.pointing_game,
                Some(peer.pointing_game),
                "{}",
                what("pointing game")
            );
        }
    }
}

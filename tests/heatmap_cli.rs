//! `explainme heatmap` end to end: a phantom the demo CNN never saw, each method, the map
//! file in both formats, the JSON figures, and one-line errors.

use std::path::Path;
use std::process::{Command, Output};

fn explainme(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("the explainme binary runs")
}

/// The demo CNN and its card.
fn demo() -> (std::path::PathBuf, std::path::PathBuf) {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/models");
    (
        models.join("renal_cnn.onnx"),
        models.join("renal_cnn.card.json"),
    )
}

/// `explainme phantom --cases N --seed S` into `dir/cohort`.
fn phantom(dir: &Path, cases: usize, seed: u64) -> std::path::PathBuf {
    let cohort = dir.join("cohort");
    let done = explainme(&[
        "phantom",
        "--cases",
        &cases.to_string(),
        "--seed",
        &seed.to_string(),
        "--out",
        cohort.to_str().unwrap(),
    ]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    cohort
}

#[test]
fn heatmaps_of_a_phantom_with_figures() {
    let (model, card) = demo();
    let dir = tempfile::tempdir().unwrap();
    let cohort = phantom(dir.path(), 2, 424242);
    let image = cohort.join("images/case_00001.png");
    let mask = cohort.join("masks/case_00001/lesion.png");
    let base = |method: &str, out: &Path| {
        vec![
            "heatmap".to_owned(),
            "--model".into(),
            model.display().to_string(),
            "--card".into(),
            card.display().to_string(),
            "--image".into(),
            image.display().to_string(),
            "--mask".into(),
            mask.display().to_string(),
            "--method".into(),
            method.into(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    for (method, extra) in [
        ("occlusion", vec![]),
        ("occlusion", vec!["--fill", "ring", "--fast"]),
        ("occlusion", vec!["--fill", "soft"]),
        ("rise", vec!["--fast", "--masks", "1000"]),
        ("scorecam", vec!["--class", "malignant"]),
    ] {
        let out = dir.path().join(format!("{method}.npy"));
        let mut args = base(method, &out);
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.extend(["--format".into(), "json".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = explainme(&args);
        assert!(
            run.status.success(),
            "{method}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(report["method"], method);
        // Only occlusion fills what it hides; it names its fill (the default is the median).
        let fill = match (method, extra.as_slice()) {
            ("occlusion", ["--fill", fill, ..]) => serde_json::json!(fill),
            ("occlusion", _) => serde_json::json!("median"),
            _ => serde_json::Value::Null,
        };
        assert_eq!(report["fill"], fill, "{method} {extra:?}");
        assert_eq!(report["shape"], serde_json::json!([64, 64]));
        let f = &report["faithfulness"];
        for key in [
            "deletion_auc",
            "insertion_auc",
            "random_deletion_auc",
            "random_insertion_auc",
            "blurred_score",
            "median_score",
            "lesion_mass",
        ] {
            let v = f[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{method}: {key} in {report}"));
            assert!((0.0..=1.0).contains(&v), "{method}: {key} = {v}");
        }
        assert!(f["pointing_game"].is_boolean());
        // Every map of this phantom has saliency somewhere (an empty one says so).
        assert!(
            report["positive_voxels"].as_u64().unwrap() > 0,
            "{method}: {report}"
        );
        assert!(report["forward_passes"].as_u64().unwrap() > 2);
        let map = explainme_imaging::codec::npy::read_tensor(&out).unwrap();
        assert_eq!(map.shape, [64, 64]);
        if method == "scorecam" {
            assert_eq!(report["class_name"], "malignant");
        }
    }

    // A PNG overlay, and text output.
    let png = dir.path().join("map.png");
    let args = base("occlusion", &png);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = explainme(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).unwrap();
    assert!(text.contains("deletion AUC"), "{text}");
    assert!(
        text.contains("insertion starts from the blurred image (p = "),
        "{text}"
    );
    assert!(
        text.contains("patches filled with the image's median tissue"),
        "{text}"
    );
    let decoded = png::Decoder::new(std::io::Cursor::new(std::fs::read(&png).unwrap()))
        .read_info()
        .unwrap();
    // The overlay enlarges the 64×64 image and adds a title and a colour bar.
    assert!(decoded.info().width > 256 && decoded.info().height >= 256);

    // Errors: one line, non-zero exit, before any work.
    for (method, out, expected) in [
        (
            "occlusion",
            "map.txt",
            "the map is written as .npy (values) or .png (overlay)",
        ),
        ("gradcam", "map.npy", "unknown saliency method `gradcam`"),
    ] {
        let args = base(method, &dir.path().join(out));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = explainme(&args);
        assert!(!run.status.success());
        let stderr = String::from_utf8(run.stderr).unwrap();
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    let mut args = base("occlusion", &dir.path().join("map.npy"));
    args.extend(["--fill".into(), "zero".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = explainme(&args);
    assert!(!run.status.success());
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(stderr.contains("unknown fill `zero`"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// A map with no positive saliency is said to be empty, in text and JSON: case 4 of the
/// unseen seed 20261201, called benign at 0.557, whose blurred image scores 0.256 for
/// benign and whose top-16 channels each score below that when revealed (fast Score-CAM).
#[test]
fn an_empty_map_is_called_empty() {
    let (model, card) = demo();
    let dir = tempfile::tempdir().unwrap();
    let cohort = phantom(dir.path(), 4, 20261201);
    let (model, card, image, out) = (
        model.display().to_string(),
        card.display().to_string(),
        cohort.join("images/case_00004.png").display().to_string(),
        dir.path().join("map.npy").display().to_string(),
    );
    let run = |format: &str| {
        let run = explainme(&[
            "heatmap", "--model", &model, "--card", &card, "--image", &image, "--method",
            "scorecam", "--fast", "--out", &out, "--format", format,
        ]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8(run.stdout).unwrap()
    };
    let report: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(report["positive_voxels"], 0, "{report}");
    assert_eq!(report["class_name"], "benign", "{report}");
    let blurred = report["faithfulness"]["blurred_score"].as_f64().unwrap();
    assert!(
        blurred < report["probability"].as_f64().unwrap(),
        "{report}"
    );
    let text = run("text");
    assert!(
        text.contains("the map is empty: no voxel has positive saliency"),
        "{text}"
    );
    let map = explainme_imaging::codec::npy::read_tensor(Path::new(&out)).unwrap();
    assert!(map.data.iter().all(|&v| v <= 0.0));
}

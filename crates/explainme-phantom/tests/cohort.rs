//! The written cohort: byte-identical for a seed, masks that agree with the image, files
//! that read back through explainme-imaging and explainme-cohort, 3D through NIfTI.

use std::collections::BTreeMap;
use std::path::Path;

use explainme_cohort::Cohort;
use explainme_imaging::{Shape, read_image, read_mask};
use explainme_phantom::render::{CALCIFICATION_MIN_HU, FAT_MAX_HU};
use explainme_phantom::{Concept, Dims, Error, Phantom, PhantomCase};

/// Every file under `root`, relative path → bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_same_seed_writes_byte_identical_cohorts() {
    let dir = tempfile::tempdir().unwrap();
    let params = Phantom::params().cases(120).seed(99);
    params.write(&dir.path().join("a"), || {}).unwrap();
    params.write(&dir.path().join("b"), || {}).unwrap();
    Phantom::params()
        .cases(120)
        .seed(100)
        .write(&dir.path().join("c"), || {})
        .unwrap();
    let (a, b, c) = (
        files(&dir.path().join("a")),
        files(&dir.path().join("b")),
        files(&dir.path().join("c")),
    );
    // cases.csv, schema.json, ground_truth.json, 120 images, ≥ 120 lesion masks.
    assert!(a.len() >= 243, "{} files", a.len());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            bytes == &b[name],
            "{name} differs between two runs with one seed"
        );
    }
    assert_ne!(
        a["cases.csv"], c["cases.csv"],
        "another seed gave the same cases"
    );
    // A case does not depend on the cohort size or on the thread that rendered it.
    let alone = Phantom::params().cases(1).seed(99).case(57).unwrap();
    let in_memory = Phantom::params().cases(120).seed(99).generate().unwrap();
    assert_eq!(alone, in_memory[57]);
}

#[test]
fn a_written_cohort_reads_back_through_cohort_and_imaging() {
    let dir = tempfile::tempdir().unwrap();
    let params = Phantom::params().cases(40).seed(5);
    let summary = params.write(dir.path(), || {}).unwrap();
    assert_eq!(summary.cases, 40);
    let cohort = Cohort::open(dir.path()).unwrap();
    let cases = params.generate().unwrap();
    for (row, case) in cohort.cases.iter().zip(&cases) {
        assert_eq!(row.id, case.id);
        let mut labels = case.labels.cells();
        labels.insert(
            "malignant".into(),
            if case.truth.malignant { "yes" } else { "no" }.into(),
        );
        labels.insert("subtype".into(), case.truth.subtype.name().into());
        assert_eq!(row.labels, labels);
        let image = read_image(cohort.image_path(row)).unwrap();
        assert_eq!(image.shape(), Shape::d2(64, 64));
        assert_eq!(image.voxels(), case.rendering.image.as_slice());
        for (concept, mask) in &case.rendering.masks {
            let read = read_mask(cohort.mask_path(row, concept.name())).unwrap();
            assert_eq!(
                read.voxels(),
                mask.as_slice(),
                "{} {}",
                row.id,
                concept.name()
            );
        }
    }
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ground_truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth["records"].as_array().unwrap().len(), 40);
    assert_eq!(
        truth["records"][3]["subtype"],
        cases[3].truth.subtype.name()
    );
    assert_eq!(truth["spacing_mm"], 2.0);
    // Writing again into a non-empty folder is refused rather than mixing two cohorts.
    assert!(matches!(
        params.write(dir.path(), || {}),
        Err(Error::OutputNotEmpty(_))
    ));
}

fn mean(values: impl Iterator<Item = f32>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v as f64, n + 1));
    sum / n as f64
}

fn mask(case: &PhantomCase, concept: Concept) -> Option<&Vec<bool>> {
    case.rendering
        .masks
        .iter()
        .find(|(c, _)| *c == concept)
        .map(|(_, m)| m)
}

/// Masks agree with the image. Checked on the noise-free render (blurred, before noise),
/// where a threshold is exact; on the noisy image only region means are checked, since
/// single pixels carry 10–22 HU of noise.
#[test]
fn masks_agree_with_the_image() {
    let cases = Phantom::params().cases(400).seed(11).generate().unwrap();
    let mut seen: BTreeMap<Concept, usize> = BTreeMap::new();
    for case in &cases {
        let r = &case.rendering;
        let f = &case.truth.findings;
        let lesion = mask(case, Concept::Lesion).expect("every case has a lesion mask");
        assert_eq!(r.masks[0].0, Concept::Lesion);
        let area = lesion.iter().filter(|&&m| m).count() as f64 * r.spacing_mm.powi(2);
        let disc = std::f64::consts::PI * (f.size_cm * 5.0).powi(2);
        // The boundary wobbles by up to ±15% of the radius; the patch crops lesions
        // larger than the field of view.
        if f.size_cm <= 9.0 {
            assert!(
                (0.6..=1.45).contains(&(area / disc)),
                "{}: lesion mask {area:.0} mm² for a {:.1} cm lesion",
                case.id,
                f.size_cm
            );
        }
        for (concept, m) in &r.masks {
            *seen.entry(*concept).or_default() += 1;
            assert!(
                m.iter().any(|&v| v),
                "{}: empty {:?} mask",
                case.id,
                concept
            );
            assert!(
                m.iter().zip(lesion).all(|(&c, &l)| !c || l),
                "{}: {:?} mask leaves the lesion",
                case.id,
                concept
            );
            let inside = || {
                m.iter()
                    .zip(&r.noise_free)
                    .filter(|(m, _)| **m)
                    .map(|(_, v)| *v)
            };
            let noisy = || m.iter().zip(&r.image).filter(|(m, _)| **m).map(|(_, v)| *v);
            match concept {
                Concept::MacroscopicFat => {
                    assert!(
                        inside().all(|v| v <= FAT_MAX_HU),
                        "{}: fat above -10 HU",
                        case.id
                    );
                    assert!(mean(noisy()) <= FAT_MAX_HU as f64, "{}", case.id);
                }
                Concept::Calcification => {
                    assert!(inside().all(|v| v >= CALCIFICATION_MIN_HU), "{}", case.id);
                    assert!(mean(noisy()) >= CALCIFICATION_MIN_HU as f64, "{}", case.id);
                }
                Concept::Cystic | Concept::Necrosis | Concept::CentralScar => {
                    let p = &r.params;
                    let own = match concept {
                        Concept::Cystic => p.fluid_hu,
                        Concept::Necrosis => p.necrosis_hu,
                        _ => p.scar_hu,
                    };
                    assert!(own < p.lesion_hu, "{}: {concept:?} not darker", case.id);
                    let midway = (own + p.lesion_hu) / 2.0;
                    let shows = inside().all(|v| v as f64 <= midway + 1e-3);
                    assert!(
                        shows,
                        "{}: {concept:?} mask nearer the tumour's HU",
                        case.id
                    );
                }
                Concept::Lesion | Concept::Exophytic => {}
            }
        }
        // Planted fat and calcification are always visible.
        assert_eq!(
            mask(case, Concept::MacroscopicFat).is_some(),
            f.macroscopic_fat,
            "{}",
            case.id
        );
        assert_eq!(
            mask(case, Concept::Calcification).is_some(),
            f.calcification,
            "{}",
            case.id
        );
        // Low-density components may hide in partial volume, but never show unplanted.
        assert!(
            mask(case, Concept::Necrosis).is_none() || f.necrosis,
            "{}",
            case.id
        );
        assert!(
            mask(case, Concept::CentralScar).is_none() || f.central_scar,
            "{}",
            case.id
        );
    }
    for concept in [
        Concept::MacroscopicFat,
        Concept::Calcification,
        Concept::Necrosis,
        Concept::Cystic,
    ] {
        assert!(
            seen.get(&concept).copied().unwrap_or(0) >= 5,
            "{concept:?} seen {seen:?}"
        );
    }
}

#[test]
fn a_3d_cohort_round_trips_through_nifti() {
    let dir = tempfile::tempdir().unwrap();
    let params = Phantom::params()
        .cases(3)
        .seed(8)
        .dims(Dims::Three)
        .size(32);
    params.write(dir.path(), || {}).unwrap();
    let cohort = Cohort::open(dir.path()).unwrap();
    for (row, case) in cohort.cases.iter().zip(params.generate().unwrap()) {
        assert!(row.image.to_string_lossy().ends_with(".nii.gz"));
        let image = read_image(cohort.image_path(row)).unwrap();
        assert_eq!(image.shape(), Shape::d3(32, 32, 32));
        assert_eq!(image.spacing().zyx(), [4.0; 3]);
        assert_eq!(image.voxels(), case.rendering.image.as_slice());
        let lesion = dir.path().join(format!("masks/{}/lesion.nii.gz", row.id));
        let read = read_mask(&lesion).unwrap();
        assert_eq!(read.voxels(), case.rendering.masks[0].1.as_slice());
        // A lesion is a ball: it shows on several slices.
        let per_slice = 32 * 32;
        let slices = (0..32)
            .filter(|z| {
                read.voxels()[z * per_slice..(z + 1) * per_slice]
                    .iter()
                    .any(|&m| m)
            })
            .count();
        assert!(slices >= 2, "{}: lesion on {slices} slices", row.id);
    }
}

#[test]
fn bad_parameters_are_typed_errors() {
    let err = |p: explainme_phantom::PhantomParams| p.check().unwrap_err().to_string();
    assert!(err(Phantom::params().cases(0)).contains("at least one case"));
    assert!(err(Phantom::params().size(8)).contains("size 8"));
    assert!(err(Phantom::params().dims(Dims::Three).size(256)).contains("3D"));
}

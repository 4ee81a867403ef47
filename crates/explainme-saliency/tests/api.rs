//! The public API on small models built here: registry, parameter checks, typed errors,
//! chosen classes of a 3-class softmax, determinism, the fast variants' savings.

use explainme_imaging::{Image, Mask, Shape};
use explainme_onnx::builder::{GraphBuilder, int, ints};
use explainme_onnx::{
    Dim, InputChannels, Intensity, Layout, Model, ModelCard, Normalisation, OutputKind,
    Preprocessing, SpatialDims,
};
use explainme_saliency::{
    Error, METHODS, Saliency, Subject, faithfulness, lesion_mass, pearson, pointing_game, spearman,
};

const SIDE: usize = 8;

/// `[N, 1, 8, 8]` → an 8×8 valid convolution with three output channels → softmax. Class 2
/// reads only the top-left quadrant (weight ¼ per pixel); classes 0 and 1 read nothing.
fn three_classes() -> (Model, ModelCard) {
    let n = || Dim::Symbolic("N".into());
    let s = SIDE as i64;
    let mut w = vec![0.0f32; 3 * SIDE * SIDE];
    for y in 0..SIDE / 2 {
        for x in 0..SIDE / 2 {
            w[2 * SIDE * SIDE + y * SIDE + x] = 0.25;
        }
    }
    let mut g = GraphBuilder::new("three_classes");
    g.input("x", &[n(), Dim::Fixed(1), Dim::Fixed(s), Dim::Fixed(s)])
        .weight("w", &[3, 1, SIDE, SIDE], w)
        .weight("b", &[3], vec![1.0, 1.0, -1.0])
        .node(
            "Conv",
            &["x", "w", "b"],
            &["conv"],
            vec![ints("kernel_shape", &[s, s])],
        )
        .node("Flatten", &["conv"], &["logits"], vec![int("axis", 1)])
        .node("Softmax", &["logits"], &["p"], vec![int("axis", 1)])
        .output("p", &[n(), Dim::Fixed(3)]);
    let card = ModelCard {
        input: "x".into(),
        output_name: None,
        layout: Layout::Nchw,
        dims: SpatialDims::Two,
        input_size: vec![SIDE, SIDE],
        preprocessing: InputChannels::one(Preprocessing {
            intensity: Intensity::Range { min: 0.0, max: 1.0 },
            normalisation: Normalisation::None,
        }),
        output: OutputKind::Softmax,
        class_names: vec!["a".into(), "b".into(), "c".into()],
        positive_class: "c".into(),
        feature_layers: vec!["conv".into()],
    };
    (g.model().unwrap(), card)
}

/// Bright top-left quadrant on a dark image, and the quadrant as a mask.
fn quadrant() -> (Image, Mask) {
    let inside = |y: usize, x: usize| y < SIDE / 2 && x < SIDE / 2;
    let shape = Shape::d2(SIDE, SIDE);
    (
        Image::from_fn(shape, |_, y, x| if inside(y, x) { 1.0 } else { 0.0 }).unwrap(),
        Mask::from_fn(shape, |_, y, x| inside(y, x)).unwrap(),
    )
}

fn subject() -> Subject {
    let (model, card) = three_classes();
    Subject::new(&model, &card, Default::default()).unwrap()
}

#[test]
fn the_registry_names_every_method_and_refuses_others() {
    let names: Vec<&str> = METHODS.iter().map(|m| m.name).collect();
    assert_eq!(names, ["occlusion", "rise", "scorecam"]);
    let error = Saliency::params().method("gradcam").check().unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown saliency method `gradcam` (known: occlusion, rise, scorecam)"
    );
}

#[test]
fn parameters_out_of_range_name_themselves() {
    let name = |p: explainme_saliency::SaliencyParams| match p.check().unwrap_err() {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("{other}"),
    };
    assert_eq!(name(Saliency::params().masks(0)), "masks");
    assert_eq!(name(Saliency::params().masks(10_000_000)), "masks");
    assert_eq!(name(Saliency::params().patch(0)), "patch");
    assert_eq!(
        name(Saliency::params().keep_probability(1.0)),
        "keep_probability"
    );
    assert_eq!(name(Saliency::params().grid(1)), "grid");
    assert_eq!(
        name(Saliency::params().convergence(f64::NAN)),
        "convergence"
    );
    assert_eq!(name(Saliency::params().top_k(0)), "top_k");
    assert_eq!(
        name(Saliency::params().refine_fraction(0.0)),
        "refine_fraction"
    );
    // Fast occlusion's coarse pass (every other patch) must still cover the image.
    let (image, _) = quadrant();
    let fast = |patch, stride| {
        Saliency::params()
            .fast(true)
            .patch(patch)
            .stride(stride)
            .explain(&subject(), &image)
    };
    match fast(4, 3).unwrap_err() {
        Error::InvalidParameter { name, problem } => {
            assert_eq!(name, "stride");
            assert!(problem.contains("patch 4, stride 3"), "{problem}");
        }
        other => panic!("{other}"),
    }
    assert!(fast(4, 2).is_ok());
    // By default it picks a patch it can run: on this 8×8 image an eighth of the side would
    // be a 1-voxel patch, whose coarse pass leaves gaps at any stride.
    let default = Saliency::params().fast(true).explain(&subject(), &image);
    assert!(default.is_ok(), "{default:?}");
}

#[test]
fn bad_images_classes_and_layers_are_typed_errors() {
    let subject = subject();
    let wrong = Image::filled(Shape::d2(4, 8), 0.0).unwrap();
    assert!(matches!(
        Saliency::params().explain(&subject, &wrong),
        Err(Error::ShapeMismatch { what: "image", .. })
    ));
    let (image, _) = quadrant();
    assert!(matches!(
        Saliency::params().class(Some(3)).explain(&subject, &image),
        Err(Error::NoSuchClass {
            class: 3,
            classes: 3
        })
    ));
    let error = Saliency::params()
        .method("scorecam")
        .layer(Some("logits".into()))
        .explain(&subject, &image)
        .unwrap_err();
    assert!(matches!(error, Error::UnusableLayer { .. }), "{error}");
    let error = Saliency::params()
        .method("scorecam")
        .layer(Some("nope".into()))
        .explain(&subject, &image)
        .unwrap_err();
    assert!(error.to_string().contains("nope"), "{error}");
    let heatmap = Saliency::params().explain(&subject, &image).unwrap();
    let small = Mask::filled(Shape::d2(2, 2), true).unwrap();
    assert!(matches!(
        lesion_mass(&heatmap.map, &small),
        Err(Error::ShapeMismatch { what: "mask", .. })
    ));
}

#[test]
fn a_chosen_class_of_a_softmax_is_explained_where_it_looks() {
    let subject = subject();
    let (image, quadrant) = quadrant();
    // Predicted: class 2 (logit 3 against 1 and 1: p = 0.79).
    let default = Saliency::params().explain(&subject, &image).unwrap();
    assert_eq!(default.class, 2);
    for method in ["occlusion", "rise"] {
        let heatmap = Saliency::params()
            .method(method)
            .class(Some(2))
            .masks(2000)
            .grid(4)
            .explain(&subject, &image)
            .unwrap();
        assert!(pointing_game(&heatmap.map, &quadrant).unwrap(), "{method}");
        let f = faithfulness(&subject, &image, &heatmap, Some(&quadrant), 16, 0).unwrap();
        assert!(f.deletion_auc < f.random_deletion_auc, "{method}: {f:?}");
        assert!(f.insertion_auc > f.random_insertion_auc, "{method}: {f:?}");
    }
    let occlusion = Saliency::params()
        .class(Some(2))
        .explain(&subject, &image)
        .unwrap();
    assert_eq!(lesion_mass(&occlusion.map, &quadrant).unwrap(), 1.0);
    // Class 0 loses what class 2 gains: its occlusion map is the mirror image.
    let other = Saliency::params()
        .class(Some(0))
        .explain(&subject, &image)
        .unwrap();
    assert_eq!(other.class, 0);
    assert!(spearman(occlusion.map.voxels(), other.map.voxels()) < -0.9);
}

/// The curves' fixed ends against the model's closed form: class `c`'s logit is
/// `-1 + 0.25 · Σ` over the top-left quadrant, against 1 and 1.
#[test]
fn the_curves_ends_are_the_blurred_and_the_median_filled_images_scores() {
    let subject = subject();
    let (image, quadrant) = quadrant();
    let p_c = |quadrant_sum: f64| {
        let logit = -1.0 + 0.25 * quadrant_sum;
        logit.exp() / (2.0 * 1f64.exp() + logit.exp())
    };
    let baseline = subject.prepare(&image).unwrap().baseline;
    let blurred_sum: f64 = (0..SIDE / 2)
        .flat_map(|y| (0..SIDE / 2).map(move |x| y * SIDE + x))
        .map(|v| f64::from(baseline[v]))
        .sum();
    for method in ["occlusion", "rise", "scorecam"] {
        let heatmap = Saliency::params()
            .method(method)
            .class(Some(2))
            .explain(&subject, &image)
            .unwrap();
        let f = faithfulness(&subject, &image, &heatmap, Some(&quadrant), 8, 0).unwrap();
        let blurred = f.blurred_score.unwrap();
        let median = f.median_score.unwrap();
        assert!((blurred - p_c(blurred_sum)).abs() < 1e-5, "{method}: {f:?}");
        // Three quarters of the image are 0: its median is 0, and so is the quadrant's sum.
        assert!((median - p_c(0.0)).abs() < 1e-5, "{method}: {f:?}");
        assert!(blurred < f64::from(heatmap.score));
    }
}

#[test]
fn the_same_seed_gives_the_same_map_and_fast_variants_save_passes() {
    let subject = subject();
    let (image, _) = quadrant();
    let rise = |seed: u64, fast: bool| {
        Saliency::params()
            .method("rise")
            .seed(seed)
            .fast(fast)
            .grid(4)
            .masks(4000)
            .explain(&subject, &image)
            .unwrap()
    };
    let (a, b, c) = (rise(5, false), rise(5, false), rise(6, false));
    assert_eq!(a.map, b.map);
    assert_ne!(a.map, c.map);
    let fast = rise(5, true);
    let rho = spearman(fast.map.voxels(), a.map.voxels());
    eprintln!(
        "fast RISE: {} passes, ρ with the full map {rho:.3}",
        fast.forward_passes
    );
    assert!(fast.forward_passes < a.forward_passes);
    assert!(rho > 0.9);
}

#[test]
fn spearman_ranks_with_ties() {
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0);
    assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
    let rho = spearman(&[1.0, 2.0, 2.0, 4.0], &[1.0, 3.0, 2.0, 4.0]);
    assert!((rho - 0.9487).abs() < 1e-4, "{rho}");
}

#[test]
fn pearson_weighs_values_where_spearman_counts_ranks() {
    assert!((pearson(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    assert_eq!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
    assert_eq!(pearson(&[1.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
    // A flat background whose noise is reversed between the two maps, and one peak they
    // share: the ranks mostly disagree, the values mostly agree.
    let a = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 1.0];
    let b = [0.05, 0.04, 0.03, 0.02, 0.01, 0.0, 1.0];
    assert!(spearman(&a, &b) < 0.0);
    assert!(pearson(&a, &b) > 0.99, "{}", pearson(&a, &b));
}

/// `[N, 8, 8, 3]` NHWC, three windows of the same HU image; only channel 0 (window 0..1)
/// of the top-left quadrant counts, through a sigmoid.
#[test]
fn three_input_channels_get_each_its_window() {
    let n = || Dim::Symbolic("N".into());
    let s = SIDE as i64;
    let mut w = vec![0.0f32; 3 * SIDE * SIDE];
    for y in 0..SIDE / 2 {
        for x in 0..SIDE / 2 {
            w[y * SIDE + x] = 0.25;
        }
    }
    let mut g = GraphBuilder::new("three_windows");
    g.input("x", &[n(), Dim::Fixed(s), Dim::Fixed(s), Dim::Fixed(3)])
        .node(
            "Transpose",
            &["x"],
            &["nchw"],
            vec![ints("perm", &[0, 3, 1, 2])],
        )
        .weight("w", &[1, 3, SIDE, SIDE], w)
        .weight("b", &[1], vec![-2.0])
        .node(
            "Conv",
            &["nchw", "w", "b"],
            &["conv"],
            vec![ints("kernel_shape", &[s, s])],
        )
        .node("Flatten", &["conv"], &["logit"], vec![int("axis", 1)])
        .node("Sigmoid", &["logit"], &["p"], vec![])
        .output("p", &[n(), Dim::Fixed(1)]);
    let window = |min: f32, max: f32| Preprocessing {
        intensity: Intensity::Range { min, max },
        normalisation: Normalisation::Unit,
    };
    let card = ModelCard {
        input: "x".into(),
        output_name: None,
        layout: Layout::Nhwc,
        dims: SpatialDims::Two,
        input_size: vec![SIDE, SIDE],
        preprocessing: InputChannels::new(vec![
            window(0.0, 1.0),
            window(-10.0, 10.0),
            window(5.0, 6.0),
        ])
        .unwrap(),
        output: OutputKind::SigmoidProbability,
        class_names: vec!["no".into(), "yes".into()],
        positive_class: "yes".into(),
        feature_layers: vec!["conv".into()],
    };
    let subject = Subject::new(&g.model().unwrap(), &card, Default::default()).unwrap();
    let (image, quadrant) = quadrant();
    for method in ["occlusion", "rise"] {
        let heatmap = Saliency::params()
            .method(method)
            .grid(4)
            .masks(2000)
            .explain(&subject, &image)
            .unwrap();
        assert_eq!(heatmap.class, 1, "logit 4 - 2 = 2");
        assert!(pointing_game(&heatmap.map, &quadrant).unwrap(), "{method}");
    }
}

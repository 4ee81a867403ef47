//! A 48³ phantom with planted fat and a 3D CNN whose response is known.

use explainme_imaging::{Image, Mask, Shape};
use explainme_onnx::builder::{GraphBuilder, int, ints};
use explainme_onnx::{
    Dim, InputChannels, Intensity, Layout, Model, ModelCard, Normalisation, OutputKind,
    Preprocessing, SpatialDims,
};
use explainme_phantom::{Concept, Dims, Phantom};

pub const SIDE: usize = 48;

/// Case 65 of seed 9 at 48³: a fat-rich angiomyolipoma with 3,752 fat voxels, the most fat
/// among the first twelve cases of that seed with macroscopic fat. The image and its fat mask.
pub fn fat_phantom() -> (Image, Mask) {
    let params = Phantom::params()
        .cases(1)
        .seed(9)
        .dims(Dims::Three)
        .size(SIDE);
    let case = params.case(65).unwrap();
    assert!(case.truth.findings.macroscopic_fat);
    let shape = Shape::d3(SIDE, SIDE, SIDE);
    let image = Image::new(shape, case.rendering.image.clone()).unwrap();
    let fat = case
        .rendering
        .masks
        .iter()
        .find(|(c, _)| *c == Concept::MacroscopicFat)
        .map(|(_, m)| Mask::new(shape, m.clone()).unwrap())
        .unwrap();
    (image, fat)
}

/// `sigmoid(scale · (mean over voxels of clip(−x − 10, 0, 20) − centre))`: it fires on
/// voxels below −10 HU (fat) and saturates below −30 HU, so the noise of fat far below the
/// threshold does not move it; `centre` puts the unperturbed image at probability ½.
pub fn fat_detector(centre: f32, scale: f32) -> (Model, ModelCard) {
    let n = || Dim::Symbolic("N".into());
    let side = SIDE as i64;
    let mut g = GraphBuilder::new("fat_detector_3d");
    g.input(
        "volume",
        &[
            n(),
            Dim::Fixed(1),
            Dim::Fixed(side),
            Dim::Fixed(side),
            Dim::Fixed(side),
        ],
    )
    .weight("w", &[1, 1, 1, 1, 1], vec![-1.0])
    .weight("b", &[1], vec![-10.0])
    .node(
        "Conv",
        &["volume", "w", "b"],
        &["below"],
        vec![ints("kernel_shape", &[1, 1, 1])],
    )
    .weight("zero", &[], vec![0.0])
    .weight("cap", &[], vec![20.0])
    .node("Clip", &["below", "zero", "cap"], &["fat"], vec![])
    .node("GlobalAveragePool", &["fat"], &["pooled"], vec![])
    .node("Flatten", &["pooled"], &["flat"], vec![int("axis", 1)])
    .weight("centre", &[1], vec![centre])
    .weight("scale", &[1], vec![scale])
    .node("Sub", &["flat", "centre"], &["shifted"], vec![])
    .node("Mul", &["shifted", "scale"], &["logit"], vec![])
    .node("Sigmoid", &["logit"], &["probability"], vec![])
    .output("probability", &[n(), Dim::Fixed(1)]);
    let card = ModelCard {
        input: "volume".into(),
        output_name: None,
        layout: Layout::Nchw,
        dims: SpatialDims::Three,
        input_size: vec![SIDE; 3],
        preprocessing: InputChannels::one(Preprocessing {
            intensity: Intensity::Range {
                min: -1024.0,
                max: 3071.0,
            },
            normalisation: Normalisation::None,
        }),
        output: OutputKind::SigmoidProbability,
        class_names: vec!["no_fat".into(), "fat".into()],
        positive_class: "fat".into(),
        feature_layers: vec!["fat".into()],
    };
    (g.model().unwrap(), card)
}

/// The detector centred on `image`.
pub fn detector_for(image: &Image) -> (Model, ModelCard) {
    let voxels = image.voxels();
    let mean = voxels
        .iter()
        .map(|&v| (-v - 10.0).clamp(0.0, 20.0))
        .sum::<f32>()
        / voxels.len() as f32;
    fat_detector(mean, 2.0)
}

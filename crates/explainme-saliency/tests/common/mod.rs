//! A 48³ phantom with planted fat and a 3D CNN whose response is known.

use explainme_imaging::{Image, Mask, Shape};
use explainme_onnx::builder::{GraphBuilder, int, ints};
use explainme_onnx::{
    Dim, InputChannels, Intensity, Layout, Model, ModelCard, Normalisation, OutputKind,
    Preprocessing, SpatialDims,
};
use explainme_phantom::{Concept, Dims, Phantom};

pub const SIDE: usize = 48;

/// A 48³ phantom of seed 9 with macroscopic fat: the image, its fat mask and its lesion mask.
// Every test binary compiles this module; the RISE memory test reads only the image.
#[allow(dead_code)]
pub struct FatPhantom {
    pub image: Image,
    pub fat: Mask,
    pub lesion: Mask,
}

/// Case `index` of seed 9 at 48³, which must have macroscopic fat.
pub fn fat_phantom(index: usize) -> FatPhantom {
    let params = Phantom::params()
        .cases(1)
        .seed(9)
        .dims(Dims::Three)
        .size(SIDE);
    let case = params.case(index).unwrap();
    assert!(case.truth.findings.macroscopic_fat);
    let shape = Shape::d3(SIDE, SIDE, SIDE);
    let mask = |concept: Concept| {
        case.rendering
            .masks
            .iter()
            .find(|(c, _)| *c == concept)
            .map(|(_, m)| Mask::new(shape, m.clone()).unwrap())
            .unwrap()
    };
    FatPhantom {
        image: Image::new(shape, case.rendering.image.clone()).unwrap(),
        fat: mask(Concept::MacroscopicFat),
        lesion: mask(Concept::Lesion),
    }
}

/// `sigmoid(scale · (mean over voxels of clip(−x − 10, 0, 20) − centre))`: it fires on
/// voxels below −10 HU (fat) and saturates below −30 HU, so the noise of fat far below the
/// threshold does not move it; `centre` puts the unperturbed image at probability ½.
///
/// With a `region`, the detector counts only the fat inside it (a constant mask it carries
/// as an initializer): a detector of *intra-lesional* fat, the finding that makes an
/// angiomyolipoma, blind to the perirenal fat around every kidney.
pub fn fat_detector(centre: f32, scale: f32, region: Option<&Mask>) -> (Model, ModelCard) {
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
    .node("Clip", &["below", "zero", "cap"], &["fat"], vec![]);
    let counted = match region {
        None => "fat",
        Some(region) => {
            let inside = region.voxels().iter().map(|&b| f32::from(u8::from(b)));
            g.weight("region", &[1, 1, SIDE, SIDE, SIDE], inside.collect())
                .node("Mul", &["fat", "region"], &["counted"], vec![]);
            "counted"
        }
    };
    g.node("GlobalAveragePool", &[counted], &["pooled"], vec![])
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

/// The detector (counting fat inside `region` when given) centred on `image`.
pub fn detector_for(image: &Image, region: Option<&Mask>) -> (Model, ModelCard) {
    let voxels = image.voxels();
    let inside = |i: usize| region.is_none_or(|r| r.voxels()[i]);
    let mean = voxels
        .iter()
        .enumerate()
        .filter(|&(i, _)| inside(i))
        .map(|(_, &v)| (-v - 10.0).clamp(0.0, 20.0))
        .sum::<f32>()
        / voxels.len() as f32;
    fat_detector(mean, 2.0, region)
}

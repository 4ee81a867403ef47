//! `explainme heatmap`: a gradient-free saliency map of one image, with its faithfulness
//! figures. The methods and metrics live in explainme-saliency; this file reads files,
//! resizes the image to the card's input size, shows progress and writes the results.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use explainme_budget::MemoryBudget;
use explainme_imaging::{Mask, Shape, Window, resize, resize_nearest};
use explainme_report::heatmap::{Overlay, Zoom};
use explainme_saliency::{
    DEFAULT_STEPS, Faithfulness, Fill, Saliency, Subject, faithfulness, positive_voxels,
};
use serde::Serialize;

use super::models::ModelArgs;
use super::output::{Format, OutputArgs, progress};

/// Compute a heatmap of one CT image and its faithfulness figures.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The image, Hounsfield units (`.png` 16-bit, `.npy`, `.nii`, `.nii.gz`, `.dcm`);
    /// resized to the card's input size when it differs.
    #[arg(long)]
    pub image: PathBuf,
    /// The lesion mask on the image's grid: adds the mass inside it and the pointing game.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    /// The method: occlusion, rise or scorecam.
    #[arg(long, default_value = "occlusion")]
    pub method: String,
    /// Run the method's fast variant.
    #[arg(long)]
    pub fast: bool,
    #[command(flatten)]
    pub fill: FillArg,
    /// Score-CAM's layer (default: the card's last feature layer).
    #[arg(long)]
    pub layer: Option<String>,
    /// The class to explain, by index or name (default: the predicted class).
    #[arg(long)]
    pub class: Option<String>,
    /// RISE masks (the most, with `--fast`).
    #[arg(long, default_value_t = 4000)]
    pub masks: usize,
    /// Seed of the RISE masks and the random baseline map.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The map file: `.npy` (the map's values on the model's input grid) or `.png` (the map
    /// over the CT window of the image as given, with a colour bar and the lesion contour;
    /// for 3D the axial, coronal and sagittal slices through the peak).
    #[arg(long)]
    pub out: PathBuf,
    /// How the figures are printed: `text` or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// What the command prints.
#[derive(Debug, Serialize)]
struct Report {
    method: &'static str,
    fast: bool,
    /// Occlusion's fill (by name); absent for the methods that blend instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    fill: Option<Fill>,
    class: usize,
    class_name: String,
    probability: f32,
    forward_passes: usize,
    seconds: f64,
    map: String,
    shape: Vec<usize>,
    /// Voxels with positive saliency: 0 is an empty map, which points nowhere.
    positive_voxels: usize,
    faithfulness: Faithfulness,
}

/// `--fill`, occlusion's fill: the same option for `heatmap` and for `fit`'s heatmaps.
#[derive(Debug, clap::Args)]
pub struct FillArg {
    /// Occlusion's fill: `median` (the image's dominant tissue), `ring` (the mean of a ring
    /// around each patch, which keeps the local tissue level) or `soft` (the median of the
    /// image's soft tissue, −10 to 300 HU: for a model whose evidence is fat).
    #[arg(long = "fill", value_name = "FILL", default_value = "median")]
    pub name: String,
}

/// Loads, explains, writes the map, prints the figures.
pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    let Args {
        model,
        image,
        mask,
        method,
        fast,
        fill,
        layer,
        class,
        masks,
        seed,
        out,
        format,
    } = args;
    let fill = Fill::from_name(&fill.name).map_err(|e| anyhow::anyhow!("--fill: {e}"))?;
    let picture = map_format(&out)?;
    let (model, card) = model.load(budget)?;
    let class = class
        .map(|c| match c.parse::<usize>() {
            Ok(index) => Ok(index),
            Err(_) => card
                .class_names
                .iter()
                .position(|n| *n == c)
                .with_context(|| {
                    format!(
                        "--class {c}: not an index nor one of {:?}",
                        card.class_names
                    )
                }),
        })
        .transpose()?;
    let target = Shape::from_slice(&card.input_size)?;
    let original = explainme_imaging::read_image_within(&image, &budget)
        .with_context(|| format!("cannot read {}", image.display()))?;
    let source = original.shape();
    let hu = if source == target {
        original.clone()
    } else {
        resize(&original, target)?
    };
    let original_mask = mask
        .map(|path| -> anyhow::Result<Mask> {
            let mask = explainme_imaging::read_mask_within(&path, &budget)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if mask.shape() != source {
                bail!(
                    "{}: mask shape {:?} is not the image's {:?}",
                    path.display(),
                    mask.shape().as_slice(),
                    source.as_slice()
                );
            }
            Ok(mask)
        })
        .transpose()?;
    let mask = match &original_mask {
        Some(mask) if source != target => Some(resize_nearest(mask, target)?),
        other => other.clone(),
    };

    let subject = Subject::new(&model, &card, budget)?;
    let params = Saliency::params()
        .method(&method)
        .fast(fast)
        .fill(fill)
        .class(class)
        .layer(layer)
        .masks(masks)
        .seed(seed)
        .check()?;
    let bar = progress(params.planned_passes(&subject), "passes");
    let heatmap = params.explain(&subject, &hu, &|n| bar.inc(n));
    bar.finish_and_clear();
    let heatmap = heatmap?;
    let figures = faithfulness(&subject, &hu, &heatmap, mask.as_ref(), DEFAULT_STEPS, seed)?;
    let class_name = card.class_names[heatmap.class].clone();
    match picture {
        MapFormat::Npy => {
            let tensor = explainme_imaging::Tensor::from(heatmap.map.clone());
            explainme_imaging::codec::npy::write_tensor(&out, &tensor)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        MapFormat::Png => {
            // The first channel's window: the one a one-channel model sees.
            let (low, high) = card.preprocessing.channels()[0].intensity.bounds();
            let overlay = Overlay::params()
                .window(Window::new((low + high) / 2.0, high - low)?)
                // ASCII only: the overlay's bitmap font has no other glyphs. At least 384 px
                // so a 64×64 slice is drawn 6× and the title fits.
                .zoom(Zoom::AtLeast(384))
                .title(format!(
                    "{}{}: {class_name} {:.2}",
                    heatmap.method,
                    if heatmap.fast { " (fast)" } else { "" },
                    heatmap.score
                ))
                .budget(budget)
                .render(&original, &heatmap.map, original_mask.as_ref())?;
            std::fs::write(&out, overlay.png)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
    }

    let report = Report {
        method: heatmap.method,
        fast: heatmap.fast,
        fill: heatmap.fill,
        class: heatmap.class,
        class_name,
        probability: heatmap.score,
        forward_passes: heatmap.forward_passes,
        seconds: heatmap.seconds,
        map: out.display().to_string(),
        shape: heatmap.map.shape().as_slice().to_vec(),
        positive_voxels: positive_voxels(heatmap.map.voxels()),
        faithfulness: figures,
    };
    OutputArgs { format, out: None }.emit(&report, text)
}

/// What `--out` holds, by its extension, decided before any work is done.
enum MapFormat {
    Npy,
    Png,
}

fn map_format(out: &Path) -> anyhow::Result<MapFormat> {
    let extension = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "npy" => Ok(MapFormat::Npy),
        "png" => Ok(MapFormat::Png),
        _ => bail!(
            "--out {}: the map is written as .npy (values) or .png (overlay)",
            out.display()
        ),
    }
}

fn text(report: &Report) -> String {
    let f = &report.faithfulness;
    let mut out = format!(
        "{}{} heatmap of class {} ({}, p = {:.4}): {} forward passes, {:.2} s, map in {}\n",
        report.method,
        if report.fast { " (fast)" } else { "" },
        report.class,
        report.class_name,
        report.probability,
        report.forward_passes,
        report.seconds,
        report.map
    );
    if let Some(fill) = report.fill {
        out.push_str(&format!("patches filled with {}\n", fill.words()));
    }
    if report.positive_voxels == 0 {
        out.push_str("the map is empty: no voxel has positive saliency\n");
    }
    out.push_str(&format!(
        "deletion AUC {:.4} (random map {:.4}), insertion AUC {:.4} (random map {:.4})\n",
        f.deletion_auc, f.random_deletion_auc, f.insertion_auc, f.random_insertion_auc
    ));
    if let (Some(blurred), Some(median)) = (f.blurred_score, f.median_score) {
        out.push_str(&format!(
            "insertion starts from the blurred image (p = {blurred:.4}), deletion ends at the \
             median-filled image (p = {median:.4})\n"
        ));
        if blurred >= f64::from(report.probability) {
            out.push_str(
                "the blurred image scores at least as high as the image: insertion has nothing \
                 to restore, and RISE and Score-CAM, which blend towards it, nothing to weigh\n",
            );
        }
    }
    if let (Some(mass), Some(hit)) = (f.lesion_mass, f.pointing_game) {
        out.push_str(&format!(
            "mass inside the lesion {mass:.4}, pointing game {}\n",
            if hit { "hit" } else { "miss" }
        ));
    }
    out
}

//! `explainme phantom`: writes a synthetic renal-mass CT cohort (DESIGN.md's folder layout).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use explainme_phantom::{Dims, Phantom};

use super::output::{Format, progress, write_to};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of cases.
    #[arg(long, default_value_t = 1000)]
    pub cases: usize,
    /// Seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created; must be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// 2 for 2D patches (16-bit PNG), 3 for volumes (NIfTI, .nii.gz).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub dims: u8,
    /// Voxels per side; the field of view is always 128 mm (64 → 2 mm pixels).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Summary format: `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dims = if args.dims == 3 {
        Dims::Three
    } else {
        Dims::Two
    };
    let params = Phantom::params()
        .cases(args.cases)
        .seed(args.seed)
        .dims(dims)
        .size(args.size);
    params.check()?;
    let bar = progress(args.cases as u64, "phantoms");
    let started = Instant::now();
    let summary = params
        .write(&args.out, || bar.inc(1))
        .with_context(|| format!("cannot write the cohort to {}", args.out.display()))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let text = match args.format {
        Format::Json => {
            let mut value = serde_json::to_value(&summary)?;
            value["seconds"] = seconds.into();
            let mut json = serde_json::to_string_pretty(&value)?;
            json.push('\n');
            json
        }
        Format::Text => {
            let mut text = format!(
                "wrote {} {}D cases ({} malignant) to {} in {seconds:.1} s; {}px at {:.2} mm\n",
                summary.cases,
                summary.dims,
                summary.malignant,
                summary.out.display(),
                summary.size,
                summary.spacing_mm
            );
            for (subtype, count) in &summary.by_subtype {
                text.push_str(&format!("  {subtype:<16} {count}\n"));
            }
            text
        }
    };
    write_to(None, text.as_bytes())?;
    Ok(())
}

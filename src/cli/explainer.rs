//! `explainme fit`, `explainme explain` and `explainme report`: the Explainer from the
//! command line, on cohort folders, calling the same explainme-explain and explainme-report
//! functions as FitExplainer, Explain and RenderReport.
//!
//! `fit` writes the artefact (the same bytes the server stores); `explain` and `report`
//! read it back with the model it was fitted on (a different model is refused).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_explain::known::parse_known;
use explainme_explain::{
    CaseInput, ExplainOptions, Explainer, ExplainerParams, Explanation, Stage,
};
use explainme_interop::{DicomSource, Document, Subject};
use explainme_onnx::{Model, ModelCard};
use explainme_report::document::{self, CaseImages};

use super::demo::RENAL_KNOWN;
use super::heatmap::FillArg;
use super::models::ModelArgs;
use super::output::{OutputArgs, progress, write_to};

#[derive(Debug, clap::Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The cohort folder (cases.csv, schema.json, images/, masks/).
    #[arg(long)]
    pub cohort: PathBuf,
    /// Seed of every random draw (same inputs and seed: the same bytes).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Layers probed for concepts (comma-separated); the card's last two feature layers
    /// when absent.
    #[arg(long = "layer", value_delimiter = ',')]
    pub layers: Vec<String>,
    /// Saliency method of the heatmaps: occlusion, rise or scorecam.
    #[arg(long, default_value = "occlusion")]
    pub saliency: String,
    #[command(flatten)]
    pub fill: FillArg,
    /// Label permutations of each concept probe's held-out test.
    #[arg(long, default_value_t = 200)]
    pub permutations: usize,
    /// Where to write the explainer (JSON artefact).
    #[arg(long)]
    pub out: PathBuf,
}

/// Fits with one progress bar, restarted at each stage.
pub fn fit_with_progress(
    params: &ExplainerParams,
    model: &Model,
    card: &ModelCard,
    cohort: &Cohort,
    budget: MemoryBudget,
) -> anyhow::Result<Explainer> {
    let bar = progress(0, Stage::Inference.name());
    let mut current = None;
    let explainer = params.fit(model, card, cohort, &budget, &mut |p| {
        if current != Some(p.stage) {
            current = Some(p.stage);
            bar.reset();
            bar.set_message(p.stage.name());
        }
        bar.set_length(p.total.max(1));
        bar.set_position(p.done);
        true
    });
    bar.finish_and_clear();
    Ok(explainer?)
}

pub fn fit(args: FitArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let (model, card) = args.model.load(budget)?;
    let cohort = Cohort::open(&args.cohort)?;
    let params = Explainer::params()
        .seed(args.seed)
        .concept_layers(args.layers)
        .saliency(&args.saliency)
        .saliency_fill(&args.fill.name)
        .permutations(args.permutations);
    let explainer = fit_with_progress(&params, &model, &card, &cohort, budget)?;
    write_to(Some(&args.out), &explainer.to_bytes())?;
    eprintln!(
        "explainer of {} cases ({} held out) written to {}",
        explainer.cases,
        explainer.held_out_cases,
        args.out.display()
    );
    Ok(())
}

/// `--explainer`, `--model`, `--card`, `--cohort`: what explaining with a stored artefact takes.
#[derive(Debug, clap::Args)]
pub struct ExplainerArgs {
    /// The explainer written by `explainme fit` (or `demo`'s explainer.json).
    #[arg(long)]
    pub explainer: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// The cohort folder it was fitted on (for stored cases and their similar cases).
    #[arg(long)]
    pub cohort: PathBuf,
}

impl ExplainerArgs {
    fn load(&self, budget: MemoryBudget) -> anyhow::Result<(explainme_explain::Prepared, Cohort)> {
        let bytes = std::fs::read(&self.explainer)
            .with_context(|| format!("cannot read {}", self.explainer.display()))?;
        let explainer = Explainer::from_bytes(&bytes)
            .with_context(|| format!("{}", self.explainer.display()))?;
        let (model, _) = self.model.load(budget)?;
        let prepared = explainer.prepare(&model, budget)?;
        Ok((prepared, Cohort::open(&self.cohort)?))
    }
}

/// A cohort case's image alone (a thumbnail); `None` when it cannot be read.
pub fn cohort_image(
    cohort: &Cohort,
    id: &str,
    budget: &MemoryBudget,
) -> Option<explainme_imaging::Image> {
    let case = cohort.cases.iter().find(|c| c.id == id)?;
    explainme_imaging::read_image_within(cohort.image_path(case), budget).ok()
}

/// A cohort case as the Explainer's input, with its image and masks.
pub fn cohort_case(cohort: &Cohort, id: &str, budget: &MemoryBudget) -> anyhow::Result<CaseInput> {
    let case = cohort
        .cases
        .iter()
        .find(|c| c.id == id)
        .with_context(|| format!("the cohort {} has no case `{id}`", cohort.root.display()))?;
    let image = explainme_imaging::read_image_within(cohort.image_path(case), budget)
        .with_context(|| format!("case `{id}`"))?;
    let mut masks = BTreeMap::new();
    let dir = cohort.root.join("masks").join(&case.id);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
            else {
                continue;
            };
            let mask = explainme_imaging::read_mask_within(&path, budget)
                .with_context(|| format!("cannot read {}", path.display()))?;
            masks.insert(name.to_owned(), mask);
        }
    }
    Ok(CaseInput {
        reference: case.id.clone(),
        in_cohort: true,
        image,
        labels: case.labels.clone(),
        masks,
    })
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub explainer: ExplainerArgs,
    /// The cohort case to explain.
    #[arg(
        long = "case",
        required_unless_present = "dicom",
        conflicts_with = "dicom"
    )]
    pub case_id: Option<String>,
    /// Explain a DICOM series instead: a folder of slices (searched recursively). Writes the
    /// explanation (JSON), its report (HTML), a FHIR Bundle, a DICOM SR and a Parametric Map
    /// of the heatmap into the `--out` folder; the summary goes to stdout.
    #[arg(long)]
    pub dicom: Option<PathBuf>,
    /// With --dicom: the Series Instance UID to explain when the folder holds several.
    #[arg(long, requires = "dicom")]
    pub series: Option<String>,
    /// With --dicom and a 2D model: the slice to read (0-based along the slice normal);
    /// the middle slice when absent.
    #[arg(long, requires = "dicom")]
    pub slice: Option<usize>,
    /// With --dicom: clinician labels known for the case, `feature=state` (repeatable).
    #[arg(long = "label", requires = "dicom")]
    pub labels: Vec<String>,
    /// With --dicom: apply the PS3.15 Basic Application Level Confidentiality Profile to
    /// what the documents copy from the source (for research exports).
    #[arg(long, requires = "dicom")]
    pub deidentify: bool,
    /// Compute the heatmap too (the slowest part).
    #[arg(long)]
    pub heatmap: bool,
    /// Fast mode: the saliency method's fast variant, 8-step faithfulness curves.
    #[arg(long)]
    pub fast: bool,
    /// Also write the explanation as a FHIR R4 Bundle here (DiagnosticReport with the HTML
    /// report, Observations, Device); the heatmap is then computed in full.
    #[arg(long, conflicts_with = "dicom")]
    pub fhir: Option<PathBuf>,
    /// Also write the explanation as a DICOM Comprehensive 3D SR (TID 1500) here.
    #[arg(long, conflicts_with = "dicom")]
    pub sr: Option<PathBuf>,
    /// Also write the heatmap as a DICOM Parametric Map here.
    #[arg(long, conflicts_with = "dicom")]
    pub pm: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn explain(args: ExplainArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let (prepared, cohort) = args.explainer.load(budget)?;
    let summary = |e: &Explanation| format!("{}: {}\n", e.case_ref, e.narrative);
    if let Some(dir) = &args.dicom {
        let explanation = explain_dicom(&args, dir, &prepared, &cohort, &budget)?;
        let stdout = OutputArgs {
            format: args.output.format,
            out: None,
        };
        return stdout.emit(&explanation, summary);
    }
    let case_id = args.case_id.as_deref().unwrap_or_default();
    let documents = [
        (Document::FhirBundle, &args.fhir),
        (Document::DicomSr, &args.sr),
        (Document::ParametricMap, &args.pm),
    ];
    let explanation = if documents.iter().any(|(_, path)| path.is_some()) {
        let case = cohort_case(&cohort, case_id, &budget)?;
        let (e, html) = case_document(&prepared, &cohort, &case, &budget, document::Format::Html)?;
        let issued = explainme_interop::issued_now();
        let source = DicomSource::synthetic(&e.case_ref, &case.image, &issued);
        let subject = Subject {
            system: "urn:explainme:case",
            value: &e.case_ref,
        };
        for (document, path) in documents {
            if let Some(path) = path {
                let bytes = document
                    .render(&prepared.explainer, &e, &source, subject, &issued, &html)
                    .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
                write_to(Some(path), &bytes)?;
            }
        }
        e
    } else {
        let case = cohort_case(&cohort, case_id, &budget)?;
        prepared.explain(
            &case,
            ExplainOptions {
                heatmap: args.heatmap,
                fast: args.fast,
            },
        )?
    };
    args.output.emit(&explanation, summary)
}

/// `explain --dicom`: one series of the folder, explained in full, its documents written
/// into `--out`.
fn explain_dicom(
    args: &ExplainArgs,
    dir: &Path,
    prepared: &explainme_explain::Prepared,
    cohort: &Cohort,
    budget: &MemoryBudget,
) -> anyhow::Result<Explanation> {
    let out = args
        .output
        .out
        .as_deref()
        .context("--dicom writes its documents into a folder: give --out DIR")?;
    let all = explainme_imaging::codec::dicom::read_dir(dir, budget)
        .with_context(|| format!("cannot read the DICOM series under {}", dir.display()))?;
    let series = match (&args.series, all.len()) {
        (Some(uid), _) => all
            .iter()
            .find(|s| s.uid() == uid)
            .with_context(|| format!("no series {uid} under {}", dir.display()))?,
        (None, 1) => &all[0],
        (None, n) => anyhow::bail!(
            "{} holds {n} series ({}); choose one with --series UID",
            dir.display(),
            all.iter()
                .map(|s| format!("{} of {} slices", s.uid(), s.instances.len()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dims = prepared.explainer.card.input_size.len();
    let case = explainme_interop::series_case(series, dims, args.slice)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let reference = explainme_interop::series_reference(series);
    let mut labels = BTreeMap::new();
    for label in &args.labels {
        let (feature, state) = label
            .split_once('=')
            .with_context(|| format!("--label {label}: write feature=state"))?;
        labels.insert(feature.trim().to_owned(), state.trim().to_owned());
    }
    let input = CaseInput {
        reference: reference.clone(),
        in_cohort: false,
        image: case.image.clone(),
        labels,
        masks: BTreeMap::new(),
    };
    let (e, html) = case_document(prepared, cohort, &input, budget, document::Format::Html)?;
    let source = if args.deidentify {
        case.source.deidentified()
    } else {
        case.source
    };
    let issued = explainme_interop::issued_now();
    let subject = source.subject(&reference);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            format!("explanation-{reference}.json"),
            serde_json::to_vec_pretty(&e)?,
        ),
        (format!("case-{reference}.html"), html.clone().into_bytes()),
    ];
    for document in explainme_interop::Document::ALL {
        let bytes = document
            .render(&prepared.explainer, &e, &source, subject, &issued, &html)
            .map_err(|err| anyhow::anyhow!("cannot write {document:?}: {err}"))?;
        files.push((format!("case-{reference}{}", document.suffix()), bytes));
    }
    for (name, bytes) in files {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(k) = case.slice {
        eprintln!(
            "explained slice {k} of {} (0-based along the slice normal; --slice to choose)",
            case.slices
        );
    }
    Ok(e)
}

/// A case explained in full (heatmap included) and its report in `format`.
fn case_document(
    prepared: &explainme_explain::Prepared,
    cohort: &Cohort,
    case: &CaseInput,
    budget: &MemoryBudget,
    format: document::Format,
) -> anyhow::Result<(Explanation, String)> {
    let e = prepared.explain(case, ExplainOptions::FULL)?;
    let images = CaseImages::gather(case, &e, |id| cohort_image(cohort, id, budget));
    let report = document::case_report(&prepared.explainer, &e, &images, format)?;
    Ok((e, report))
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub explainer: ExplainerArgs,
    /// Report this cohort case; the cohort's knowledge summary when absent.
    #[arg(long = "case")]
    pub case_id: Option<String>,
    /// Known associations for the candidate new knowledge (DESIGN.md's renal table when
    /// absent).
    #[arg(long)]
    pub known: Option<PathBuf>,
    /// The report file: HTML for `.html`, Markdown for `.md`.
    #[arg(long)]
    pub out: PathBuf,
}

/// HTML or Markdown by the file's extension, decided before any work.
pub fn report_format(out: &Path) -> anyhow::Result<document::Format> {
    match out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => Ok(document::Format::Html),
        Some("md" | "markdown") => Ok(document::Format::Markdown),
        _ => anyhow::bail!(
            "--out {}: a report is written as .html or .md",
            out.display()
        ),
    }
}

/// The known associations of `--known`, else DESIGN.md's.
pub fn known_list(
    path: Option<&Path>,
) -> anyhow::Result<Vec<explainme_explain::known::KnownAssociation>> {
    let text = match path {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => RENAL_KNOWN.to_owned(),
    };
    Ok(parse_known(&text)?)
}

pub fn report(args: ReportArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let format = report_format(&args.out)?;
    let known = known_list(args.known.as_deref())?;
    let (prepared, cohort) = args.explainer.load(budget)?;
    let ex = &prepared.explainer;
    let content = match &args.case_id {
        None => {
            let summary = ex.summary(20, &known);
            document::cohort_report(
                ex,
                &summary,
                &format!("explainme: cohort {}", cohort.root.display()),
                format,
            )?
        }
        Some(id) => {
            let case = cohort_case(&cohort, id, &budget)?;
            case_document(&prepared, &cohort, &case, &budget, format)?.1
        }
    };
    write_to(Some(&args.out), content.as_bytes())
}

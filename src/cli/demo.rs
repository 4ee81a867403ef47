//! `explainme demo`: the main job, end to end, on a cohort the demo CNN has never seen.
//!
//! Glue only: renders a phantom cohort with planted ground truth (explainme-phantom), fits an
//! Explainer of the demo CNN on it (explainme-explain: inference, concepts, surrogate tree,
//! class rules, Bayesian network, evaluation), explains three cases — a clear malignancy, a
//! fat-rich angiomyolipoma and a case the CNN gets wrong — and writes the cohort report, the
//! case reports (explainme-report), each case as a FHIR R4 Bundle (explainme-interop) and the
//! exports researchers load elsewhere.
//!
//! The demo CNN, its card and the list of known associations are compiled into the binary,
//! so the demo runs wherever the binary is installed; `--model`/`--card`/`--known` replace
//! them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use explainme_budget::MemoryBudget;
use explainme_cohort::Cohort;
use explainme_explain::{ExplainOptions, Explainer, Explanation, KnowledgeSummary};
use explainme_interop::{DicomSource, Document, Subject, issued_now};
use explainme_onnx::{Model, ModelCard};
use explainme_phantom::{Dims, Phantom};
use explainme_report::document::{CaseImages, Format, case_report, cohort_report};
use serde::Serialize;

use super::output::{self, OutputArgs, progress};

/// The committed demo CNN (data/models), carried by the binary.
const DEMO_MODEL: &[u8] = include_bytes!("../../data/models/renal_cnn.onnx");
const DEMO_CARD: &str = include_str!("../../data/models/renal_cnn.card.json");
/// DESIGN.md's table of renal findings as known associations (data/knowledge).
pub const RENAL_KNOWN: &str = include_str!("../../data/knowledge/renal_known.txt");
/// Marks a folder as a demo's output (even a partial one), so a rerun may replace it and
/// nothing else.
const MARKER_FILE: &str = ".explainme-demo";
/// The smallest cohort the demo runs on: with about 17% benign cases, 50 phantoms hold
/// both classes for every seed but one in ten thousand, and a network over ten findings
/// learned from fewer says nothing.
const MIN_CASES: usize = 50;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cases in the phantom cohort.
    #[arg(long, default_value_t = 2000)]
    pub cases: usize,
    /// Seed of the phantom cohort and of the fit; the demo CNN's training cohort used
    /// another one.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// An ONNX model to explain instead of the built-in demo CNN.
    #[arg(long, requires = "card")]
    pub model: Option<PathBuf>,
    /// Its model card (JSON).
    #[arg(long, requires = "model")]
    pub card: Option<PathBuf>,
    /// Known associations to judge candidate knowledge against (instead of DESIGN.md's).
    #[arg(long)]
    pub known: Option<PathBuf>,
    /// Folder for the cohort, reports and exports (an earlier demo's output there is
    /// replaced; any other non-empty folder is refused).
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    /// `text` for people, `json` for scripts (the same document as `summary.json`).
    #[arg(long, value_enum, default_value_t = output::Format::Text)]
    pub format: output::Format,
}

#[derive(Debug, Serialize)]
struct Query {
    query: String,
    probability: f64,
}

#[derive(Debug, Serialize)]
struct DemoCase {
    /// Why this case was chosen.
    role: &'static str,
    explanation: Explanation,
}

#[derive(Debug, Serialize)]
struct Summary {
    cohort: explainme_phantom::CohortSummary,
    knowledge: KnowledgeSummary,
    queries: Vec<Query>,
    cases: Vec<DemoCase>,
    seconds: BTreeMap<&'static str, f64>,
    files: Vec<String>,
}

pub fn run(args: Args, budget: MemoryBudget) -> anyhow::Result<()> {
    if args.cases < MIN_CASES {
        bail!(
            "--cases {} is too few for the demo: it mines rules for benign and malignant cases \
             (about one in six is benign) and learns a network from them, which needs at least \
             {MIN_CASES} cases",
            args.cases
        );
    }
    let known = super::explainer::known_list(args.known.as_deref())?;
    prepare_output(&args.out)?;
    let (model, card) = match (&args.model, &args.card) {
        (Some(model), Some(card)) => super::models::load_model(model, card, budget)?,
        _ => {
            explainme_onnx::init_runtime_within(&budget)?;
            (
                Model::from_bytes(DEMO_MODEL)?,
                ModelCard::from_json(DEMO_CARD)?,
            )
        }
    };
    let mut seconds = BTreeMap::new();
    let clock = std::time::Instant::now();

    let cohort_dir = args.out.join("cohort");
    let params = Phantom::params()
        .cases(args.cases)
        .seed(args.seed)
        .dims(Dims::Two);
    params.check()?;
    let bar = progress(args.cases as u64, "phantoms");
    let cohort_summary = params.write(&cohort_dir, || bar.inc(1))?;
    bar.finish_and_clear();
    seconds.insert("phantoms", clock.elapsed().as_secs_f64());
    let cohort = Cohort::open(&cohort_dir)?;

    let clock = std::time::Instant::now();
    let explainer = super::explainer::fit_with_progress(
        &Explainer::params().seed(args.seed),
        &model,
        &card,
        &cohort,
        budget,
    )?;
    seconds.insert("fit", clock.elapsed().as_secs_f64());
    std::fs::write(args.out.join("explainer.json"), explainer.to_bytes())
        .context("cannot write the explainer")?;

    let clock = std::time::Instant::now();
    let knowledge = explainer.summary(10, &known);
    let mut files = vec![
        cohort_dir.display().to_string(),
        args.out.join("explainer.json").display().to_string(),
    ];
    for format in [Format::Html, Format::Markdown] {
        let path = args.out.join(format!("report.{}", format.extension()));
        let title = "explainme: what the demo CNN learnt on 2D renal phantoms";
        std::fs::write(&path, cohort_report(&explainer, &knowledge, title, format)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path.display().to_string());
    }
    for export in explainme_explain::exports::EXPORTS {
        let path = args.out.join(export.file_name);
        std::fs::write(&path, (export.render)(&explainer, &knowledge)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path.display().to_string());
    }

    let prepared = explainer.prepare(&model, budget)?;
    let issued = issued_now();
    let mut cases = Vec::new();
    for (role, id) in demo_cases(&explainer, &cohort)? {
        let input = super::explainer::cohort_case(&cohort, &id, &budget)?;
        let explanation = prepared.explain(&input, ExplainOptions::FULL)?;
        let images = CaseImages::gather(&input, &explanation, |other| {
            super::explainer::cohort_image(&cohort, other, &budget)
        });
        for format in [Format::Html, Format::Markdown] {
            let path = args.out.join(format!("case-{id}.{}", format.extension()));
            let report = case_report(&explainer, &explanation, &images, format)?;
            std::fs::write(&path, &report)
                .with_context(|| format!("cannot write {}", path.display()))?;
            files.push(path.display().to_string());
            if format == Format::Html {
                // The phantom's case id is its (synthetic) identifier, in FHIR and DICOM.
                let subject = Subject {
                    system: "urn:explainme:phantom-case",
                    value: &id,
                };
                let source = DicomSource::synthetic(&id, &input.image, &issued);
                for document in Document::ALL {
                    let bytes = document
                        .render(&explainer, &explanation, &source, subject, &issued, &report)
                        .map_err(|e| anyhow::anyhow!("cannot write {document:?} of {id}: {e}"))?;
                    let path = args.out.join(format!("case-{id}{}", document.suffix()));
                    std::fs::write(&path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    files.push(path.display().to_string());
                }
            }
        }
        let path = args.out.join(format!("explanation-{id}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&explanation)?)?;
        files.push(path.display().to_string());
        cases.push(DemoCase { role, explanation });
    }
    seconds.insert("explain and report", clock.elapsed().as_secs_f64());

    let mut queries = Vec::new();
    for (target, evidence) in [
        ("malignant", ""),
        ("malignant", "macroscopic_fat=present"),
        ("cnn_malignant", "macroscopic_fat=present"),
        (
            "malignant",
            "enhancement=avid,heterogeneity=heterogeneous,necrosis=present",
        ),
        (
            "cnn_malignant",
            "enhancement=avid,heterogeneity=heterogeneous,necrosis=present",
        ),
        ("malignant", "central_scar=present,enhancement=avid"),
    ] {
        let given = evidence.replace(',', ", ");
        queries.push(Query {
            query: if given.is_empty() {
                format!("P({target}=yes)")
            } else {
                format!("P({target}=yes | {given})")
            },
            probability: explainer.query(target, "yes", evidence)?,
        });
    }
    let summary_path = args.out.join("summary.json");
    files.push(summary_path.display().to_string());
    let summary = Summary {
        cohort: cohort_summary,
        knowledge,
        queries,
        cases,
        seconds,
        files,
    };
    std::fs::write(&summary_path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    OutputArgs {
        format: args.format,
        out: None,
    }
    .emit(&summary, text)
}

/// The three cases the demo explains: the most confident correct clear-cell RCC with the
/// classic signs, the fat-rich AML the CNN finds most benign, and the held-out case the CNN
/// gets most wrong.
fn demo_cases(ex: &Explainer, cohort: &Cohort) -> anyhow::Result<Vec<(&'static str, String)>> {
    let probability: BTreeMap<&str, f32> = ex
        .index
        .cases
        .iter()
        .map(|c| (c.case_id.as_str(), c.probability))
        .collect();
    let label = |id: &str, f: &str| {
        cohort
            .cases
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.labels.get(f).cloned())
            .unwrap_or_default()
    };
    let best = |filter: &dyn Fn(&str) -> bool, score: &dyn Fn(f32) -> f32| {
        ex.index
            .cases
            .iter()
            .filter(|c| filter(&c.case_id))
            .max_by(|a, b| {
                score(a.probability)
                    .total_cmp(&score(b.probability))
                    .then_with(|| b.case_id.cmp(&a.case_id))
            })
            .map(|c| c.case_id.clone())
    };
    let mut chosen = Vec::new();
    let classic = |id: &str| {
        label(id, "subtype") == "clear_cell_rcc"
            && label(id, "enhancement") == "avid"
            && label(id, "heterogeneity") == "heterogeneous"
            && label(id, "necrosis") == "present"
    };
    if let Some(id) =
        best(&classic, &|p| p).or_else(|| best(&|id| label(id, "malignant") == "yes", &|p| p))
    {
        chosen.push(("a clear malignancy", id));
    }
    if let Some(id) = best(&|id| label(id, "subtype") == "fat_rich_aml", &|p| -p) {
        chosen.push(("a fat-rich angiomyolipoma", id));
    }
    let error = ex
        .held_out
        .iter()
        .filter(|c| (c.probability >= explainme_explain::THRESHOLD) != c.malignant)
        .max_by(|a, b| {
            let wrong = |c: &explainme_explain::HeldOutCase| {
                (c.probability - if c.malignant { 1.0 } else { 0.0 }).abs()
            };
            wrong(a)
                .total_cmp(&wrong(b))
                .then_with(|| b.case_id.cmp(&a.case_id))
        })
        .map(|c| c.case_id.clone());
    if let Some(id) = error {
        chosen.push(("a case the CNN gets wrong", id));
    }
    let _ = probability;
    Ok(chosen)
}

/// Creates `out`, replacing an earlier demo's output but never anything else.
fn prepare_output(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("cannot read {}", out.display()))?
            .next()
            .is_none();
        if !empty {
            if !out.join(MARKER_FILE).is_file() {
                bail!(
                    "{} is not empty and holds no earlier demo output; choose another --out",
                    out.display()
                );
            }
            std::fs::remove_dir_all(out)
                .with_context(|| format!("cannot replace {}", out.display()))?;
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let marker = out.join(MARKER_FILE);
    std::fs::write(
        &marker,
        "written by `explainme demo`; a rerun replaces this folder\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))
}

fn text(summary: &Summary) -> String {
    let c = &summary.cohort;
    let k = &summary.knowledge;
    let mut out = format!(
        "Phantom cohort: {} cases ({} malignant) in {}\n\n{}\n",
        c.cases,
        c.malignant,
        c.out.display(),
        k.narrative
    );
    out.push_str("\nTop rules for malignancy:\n");
    for target in ["malignant=yes", "malignant=no"] {
        for r in k.rules.get(target).into_iter().flatten().take(5) {
            out.push_str(&format!("  {}\n", r.line()));
        }
    }
    out.push_str("\nQueries of the network:\n");
    for q in &summary.queries {
        out.push_str(&format!("  {} = {:.3}\n", q.query, q.probability));
    }
    for case in &summary.cases {
        out.push_str(&format!(
            "\n{} ({}):\n  {}\n",
            case.explanation.case_ref, case.role, case.explanation.narrative
        ));
    }
    out.push_str("\nSeconds:");
    for (part, s) in &summary.seconds {
        out.push_str(&format!(" {part} {s:.1};"));
    }
    out.push_str("\n\nFiles:\n");
    for f in &summary.files {
        out.push_str(&format!("  {f}\n"));
    }
    out
}

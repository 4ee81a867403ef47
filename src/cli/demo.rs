//! `explainme demo`: the main job, end to end, on a cohort the demo CNN has never seen.
//!
//! 1. renders a phantom cohort with planted ground truth (explainme-phantom);
//! 2. scores every case with the demo CNN through ONNX Runtime (explainme-onnx);
//! 3. joins the clinician labels, the CNN's verdict and the truth into one table;
//! 4. mines class association rules that answer three questions — what predicts malignancy,
//!    what the CNN's verdict follows, where the CNN errs (explainme-rules);
//! 5. learns a Bayesian network over the same variables under the clinical ordering
//!    truth → findings → CNN verdict, and queries it (explainme-bayes).
//!
//! Every figure it prints is computed in this run; nothing is precomputed. The per-case
//! Explainer (heatmaps, concepts, surrogate trees) joins this pipeline when its engine exists.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use explainme_bayes::learn::{Constraints, HillClimb, Parameters, Prior};
use explainme_bayes::{Dataset, Evidence, Score, VariableElimination};
use explainme_budget::MemoryBudget;
use explainme_cohort::{Cohort, Role, Table};
use explainme_phantom::{Dims, Phantom};
use explainme_rules::{AssociationRules, FpGrowth, Transactions};
use serde::Serialize;

use super::evaluate::{Evaluation, THRESHOLD, score_cohort};
use super::output::{Format, OutputArgs, progress};

const DEMO_MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/models/renal_cnn.onnx");
const DEMO_CARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/models/renal_cnn.card.json"
);
/// Marks a folder as a demo's output (even a partial one), so a rerun may replace it and
/// nothing else.
const MARKER_FILE: &str = ".explainme-demo";
const SUMMARY_FILE: &str = "summary.json";
/// Column holding the CNN's verdict at [`THRESHOLD`].
const CNN: &str = explainme_cohort::CNN_VERDICT;
/// Column saying whether that verdict matches the truth.
const CNN_CORRECT: &str = explainme_cohort::CNN_CORRECT;
const TRUTH: &str = "malignant";
/// The smallest cohort the demo runs on: with about 17% benign cases, 50 phantoms hold
/// both classes for every seed but one in ten thousand, and a network over ten findings
/// learned from fewer says nothing.
const MIN_CASES: usize = 50;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cases in the phantom cohort.
    #[arg(long, default_value_t = 2000)]
    pub cases: usize,
    /// Seed of the phantom cohort; the demo CNN's training cohort used another one.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// The ONNX model to explain.
    #[arg(long, default_value = DEMO_MODEL)]
    pub model: PathBuf,
    /// Its model card (JSON).
    #[arg(long, default_value = DEMO_CARD)]
    pub card: PathBuf,
    /// Folder for the cohort, tables, rules, network and summary (an earlier demo's output
    /// there is replaced; any other non-empty folder is refused).
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    /// Minimum support of the mined rules.
    #[arg(long, default_value_t = 0.02)]
    pub min_support: f64,
    /// `text` for people, `json` for scripts (the same document as `summary.json`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// One rule as the demo reports it.
#[derive(Debug, Serialize)]
struct RuleView {
    when: Vec<String>,
    then: String,
    support: f64,
    confidence: f64,
    lift: f64,
    fisher_p_adjusted: f64,
}

#[derive(Debug, Serialize)]
struct Question {
    question: &'static str,
    rules: Vec<RuleView>,
}

#[derive(Debug, Serialize)]
struct Query {
    query: String,
    probability: f64,
}

#[derive(Debug, Serialize)]
struct Network {
    arcs: Vec<(String, String)>,
    bic: f64,
    queries: Vec<Query>,
}

#[derive(Debug, Serialize)]
struct Summary {
    cohort: explainme_phantom::CohortSummary,
    cnn: Evaluation,
    rules: Vec<Question>,
    network: Network,
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
    prepare_output(&args.out)?;
    let (model, card) = super::models::load_model(&args.model, &args.card, budget)?;

    let cohort_dir = args.out.join("cohort");
    let params = Phantom::params()
        .cases(args.cases)
        .seed(args.seed)
        .dims(Dims::Two);
    params.check()?;
    let bar = progress(args.cases as u64, "phantoms");
    let cohort_summary = params.write(&cohort_dir, || bar.inc(1))?;
    bar.finish_and_clear();

    let cohort = Cohort::open(&cohort_dir)?;
    let scored = score_cohort(&model, &card, &cohort, 64)?;
    let cnn = Evaluation::compute(&scored.probabilities, &scored.malignant, &scored.subtypes);

    let table = findings_table(&cohort, &scored.probabilities)?;
    let findings_path = args.out.join("findings.csv");
    write_table(&table, &findings_path)?;
    let features: Vec<String> = cohort
        .schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature)
        .map(|f| f.name.clone())
        .collect();

    let rules = vec![
        Question {
            question: "what predicts malignancy (truth)",
            rules: class_rules(
                &table,
                &features,
                &[(TRUTH, "yes"), (TRUTH, "no")],
                args.min_support,
                0.5,
            )?,
        },
        Question {
            question: "what the CNN's verdict follows",
            rules: class_rules(
                &table,
                &features,
                &[(CNN, "yes"), (CNN, "no")],
                args.min_support,
                0.5,
            )?,
        },
        Question {
            question: "where the CNN errs",
            rules: class_rules(
                &table,
                &[features.clone(), vec![TRUTH.to_owned()]].concat(),
                &[(CNN_CORRECT, "no")],
                args.min_support,
                0.2,
            )?,
        },
    ];
    let rules_path = args.out.join("rules.json");
    std::fs::write(&rules_path, serde_json::to_string_pretty(&rules)?)
        .with_context(|| format!("cannot write {}", rules_path.display()))?;

    let (network, bif, dot) = learn_network(&table, &features, args.seed)?;
    let bif_path = args.out.join("network.bif");
    let dot_path = args.out.join("network.dot");
    std::fs::write(&bif_path, bif)
        .with_context(|| format!("cannot write {}", bif_path.display()))?;
    std::fs::write(&dot_path, dot)
        .with_context(|| format!("cannot write {}", dot_path.display()))?;

    let summary = Summary {
        cohort: cohort_summary,
        cnn,
        rules,
        network,
        files: [
            &cohort_dir,
            &findings_path,
            &rules_path,
            &bif_path,
            &dot_path,
        ]
        .iter()
        .map(|p| p.display().to_string())
        .collect(),
    };
    let summary_path = args.out.join(SUMMARY_FILE);
    std::fs::write(&summary_path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    OutputArgs {
        format: args.format,
        out: None,
    }
    .emit(&summary, text)
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

/// Clinician findings as states (numbers binned by the schema), the truth, the CNN's verdict
/// and whether it was right: the one table both rules and network are learned from.
fn findings_table(cohort: &Cohort, probabilities: &[f32]) -> anyhow::Result<Table> {
    let states = cohort.schema.discretise(&cohort.table()?)?;
    let keep: Vec<&str> = cohort
        .schema
        .features
        .iter()
        .filter(|f| f.role == Role::Feature || f.name == TRUTH)
        .map(|f| f.name.as_str())
        .collect();
    let selected = states.select(&keep)?;
    let truth = selected.column_index(TRUTH)?;
    let mut columns = selected.columns().to_vec();
    columns.extend([CNN.to_owned(), CNN_CORRECT.to_owned()]);
    let yes_no = |b: bool| Some(if b { "yes" } else { "no" }.to_owned());
    let rows = selected
        .rows()
        .iter()
        .zip(probabilities)
        .map(|(row, &p)| {
            let verdict = p >= THRESHOLD;
            let mut row = row.clone();
            let correct = row[truth].as_deref().map(|t| (t == "yes") == verdict);
            row.push(yes_no(verdict));
            row.push(correct.and_then(yes_no));
            row
        })
        .collect();
    Ok(Table::new(columns, rows)?)
}

fn write_table(table: &Table, path: &Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(table.write_csv(std::io::BufWriter::new(file))?)
}

/// Class rules whose consequent is one of the `outcomes` (`column`, `state`) and whose
/// antecedent uses only `antecedents`; non-redundant, significant (BH-adjusted Fisher p < 0.05) and positively
/// associated, strongest lift first, five per outcome state.
fn class_rules(
    table: &Table,
    antecedents: &[String],
    outcomes: &[(&str, &str)],
    min_support: f64,
    min_confidence: f64,
) -> anyhow::Result<Vec<RuleView>> {
    let mut names: Vec<&str> = antecedents.iter().map(String::as_str).collect();
    for &(column, _) in outcomes {
        if !names.contains(&column) {
            names.push(column);
        }
    }
    let selected = table.select(&names)?;
    let transactions =
        Transactions::from_rows(selected.columns(), selected.rows().iter().cloned())?;
    // An outcome no case has (a CNN that never errs on this cohort) has no rules to show.
    let targets: Vec<_> = outcomes
        .iter()
        .filter_map(|&(column, state)| transactions.item_id(column, state).ok())
        .collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let itemsets = FpGrowth::params()
        .min_support(min_support)
        .max_len(Some(4))
        .mine(&transactions)?;
    let mut rules = AssociationRules::params()
        .min_confidence(min_confidence)
        .targets(targets.clone())
        .prune_redundant(true)
        .generate(&itemsets, &transactions)?;
    rules.retain(|r| r.lift > 1.0 && r.fisher_p_adjusted < 0.05);
    rules.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(b.support.total_cmp(&a.support))
    });
    let mut shown = Vec::new();
    for target in targets {
        let label = |id| transactions.label(id).to_string();
        shown.extend(
            rules
                .iter()
                .filter(|r| r.consequent == [target])
                .take(5)
                .map(|r| RuleView {
                    when: r.antecedent.iter().map(|&id| label(id)).collect(),
                    then: label(target),
                    support: r.support,
                    confidence: r.confidence,
                    lift: r.lift,
                    fisher_p_adjusted: r.fisher_p_adjusted,
                }),
        );
    }
    Ok(shown)
}

/// Hill climbing with BIC under the tiers truth → findings → CNN verdict (an arc may not point
/// back in time), BDeu parameters, and a few queries a clinician would ask of it.
fn learn_network(
    table: &Table,
    features: &[String],
    seed: u64,
) -> anyhow::Result<(Network, String, String)> {
    let names: Vec<&str> = std::iter::once(TRUTH)
        .chain(features.iter().map(String::as_str))
        .chain(std::iter::once(CNN))
        .collect();
    let selected = table.select(&names)?;
    let data = Dataset::from_rows(selected.columns(), selected.rows().iter().cloned())?;
    let tiers = vec![
        vec![TRUTH.to_owned()],
        features.to_vec(),
        vec![CNN.to_owned()],
    ];
    let dag = HillClimb::params()
        .score(Score::Bic)
        .constraints(Constraints::new().tiers(tiers).max_parents(4))
        .restarts(5)
        .seed(seed)
        .fit(&data)?;
    let net = Parameters::params()
        .prior(Prior::BDeu { ess: 1.0 })
        .name("renal_demo")
        .fit(&data, &dag)?;
    let ve = VariableElimination::new(&net);
    let mut queries = Vec::new();
    for (target, evidence) in [
        (TRUTH, ""),
        (TRUTH, "macroscopic_fat=present"),
        (CNN, "macroscopic_fat=present"),
        (
            TRUTH,
            "enhancement=avid,heterogeneity=heterogeneous,necrosis=present",
        ),
        (
            CNN,
            "enhancement=avid,heterogeneity=heterogeneous,necrosis=present",
        ),
        (TRUTH, "central_scar=present,enhancement=avid"),
        (CNN, "central_scar=present,enhancement=avid"),
    ] {
        let (variable, yes) = net.resolve(target, "yes")?;
        let evidence = Evidence::parse(&net, evidence)?;
        let probability = ve.marginal(variable, &evidence)?[yes];
        let given = evidence
            .iter()
            .map(|(v, s)| format!("{}={}", net.variable(v).name, net.variable(v).states[s]))
            .collect::<Vec<_>>()
            .join(", ");
        let query = if given.is_empty() {
            format!("P({target}=yes)")
        } else {
            format!("P({target}=yes | {given})")
        };
        queries.push(Query { query, probability });
    }
    let arcs = dag
        .edges()
        .into_iter()
        .map(|(a, b)| (net.variable(a).name.clone(), net.variable(b).name.clone()))
        .collect();
    let network = Network {
        arcs,
        bic: explainme_bayes::network_score(&data, &dag, Score::Bic),
        queries,
    };
    Ok((
        network,
        explainme_bayes::write_bif(&net),
        explainme_bayes::write_dot(&net),
    ))
}

fn text(summary: &Summary) -> String {
    let c = &summary.cohort;
    let e = &summary.cnn;
    let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.3}"));
    let mut out = format!(
        "Phantom cohort: {} cases ({} malignant) in {}\n\n\
         The CNN on this unseen cohort: AUC {}, sensitivity {}, specificity {} at p >= {}\n",
        c.cases,
        c.malignant,
        c.out.display(),
        show(e.auc),
        show(e.sensitivity),
        show(e.specificity),
        e.threshold,
    );
    for (subtype, errors) in &e.by_subtype {
        out.push_str(&format!(
            "  {subtype:<16} {:>5} cases, {:>4} errors ({:.1}%)\n",
            errors.cases,
            errors.errors,
            100.0 * errors.error_rate
        ));
    }
    for question in &summary.rules {
        out.push_str(&format!("\nRules: {}\n", question.question));
        if question.rules.is_empty() {
            out.push_str("  (no significant rule at this support)\n");
        }
        for r in &question.rules {
            out.push_str(&format!(
                "  IF {} THEN {}  (support {:.1}%, confidence {:.1}%, lift {:.2})\n",
                r.when.join(" AND "),
                r.then,
                100.0 * r.support,
                100.0 * r.confidence,
                r.lift
            ));
        }
    }
    let n = &summary.network;
    out.push_str(&format!(
        "\nBayesian network (hill climbing, BIC {:.1}), {} arcs:\n",
        n.bic,
        n.arcs.len()
    ));
    for (a, b) in &n.arcs {
        out.push_str(&format!("  {a} -> {b}\n"));
    }
    out.push_str("Queries:\n");
    for q in &n.queries {
        out.push_str(&format!("  {} = {:.3}\n", q.query, q.probability));
    }
    out.push_str("\nFiles:\n");
    for f in &summary.files {
        out.push_str(&format!("  {f}\n"));
    }
    out
}

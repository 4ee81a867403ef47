//! `explainme bayes learn|sample|query|explain`: Bayesian networks over categorical records.
//!
//! Glue only: CSV files are read through `explainme-cohort`'s `Table` (sampled records are
//! streamed out with the same `csv` writer), everything else is `explainme-bayes`. Networks
//! are read as BIF; written as BIF, XMLBIF (`.xml`, `.xmlbif`) or DOT (`.dot`) by the
//! extension of `--out`. Network files, sample sizes and inference factors are all held to
//! the global `--memory-budget`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use explainme_bayes::explain::{Hypothesis, most_relevant_explanations, sensitivity};
use explainme_bayes::io::bif::{check_network_name, check_variable};
use explainme_bayes::learn::{Constraints, HillClimb, Parameters, Pc, Prior};
use explainme_bayes::{BayesNet, Dataset, Evidence, JunctionTree, Score, VariableElimination};
use explainme_budget::MemoryBudget;
use explainme_cohort::Table;
use serde::Serialize;

use crate::cli::output::{Format, OutputArgs, write_to};

/// The `bayes` command group.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Learn a network (structure and CPTs) from a CSV of states; print its arcs.
    Learn(LearnArgs),
    /// Draw records from a network into a CSV.
    Sample(SampleArgs),
    /// Posterior marginals of target variables given evidence.
    Query(QueryArgs),
    /// Explain a posterior: each finding's effect and the most relevant explanation.
    Explain(ExplainArgs),
}

/// Runs a `bayes` subcommand; `budget` bounds the tables a network file or a sample size asks for.
pub fn run(command: Command, budget: MemoryBudget) -> anyhow::Result<()> {
    match command {
        Command::Learn(args) => learn(args, &budget),
        Command::Sample(args) => sample(args, &budget),
        Command::Query(args) => query(args, &budget),
        Command::Explain(args) => explain(args, &budget),
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Method {
    /// Hill climbing with tabu list and random restarts.
    Hc,
    /// PC-stable with chi-square tests (`--alpha`); the pattern is extended to a DAG.
    Pc,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ScoreName {
    Bic,
    Bdeu,
    K2,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PriorName {
    Mle,
    Bdeu,
    K2,
}

#[derive(Debug, clap::Args)]
pub struct LearnArgs {
    /// CSV with a header of variable names; cells are state names, empty = missing. Names
    /// must be BIF words: variables ASCII letters, digits, `_` and `-`; states printable
    /// ASCII without spaces or { } ( ) [ ] , ; | ".
    #[arg(long)]
    csv: PathBuf,
    /// Learn only the CPTs of this network's structure, with its states (no search).
    #[arg(long)]
    structure: Option<PathBuf>,
    /// Structure search method.
    #[arg(long, value_enum, default_value_t = Method::Hc)]
    method: Method,
    /// Structure score.
    #[arg(long, value_enum, default_value_t = ScoreName::Bic)]
    score: ScoreName,
    /// Equivalent sample size of BDeu (score and prior).
    #[arg(long, default_value_t = 10.0)]
    ess: f64,
    /// Prior of the CPT estimates.
    #[arg(long, value_enum, default_value_t = PriorName::Bdeu)]
    prior: PriorName,
    /// Tiers file: one tier per line, earliest first, variable names separated by commas;
    /// no arc may point from a later tier to an earlier one.
    #[arg(long)]
    tiers: Option<PathBuf>,
    /// Maximum number of parents per variable.
    #[arg(long)]
    max_parents: Option<usize>,
    /// Required arc `a->b` (repeatable).
    #[arg(long = "require", value_name = "A->B")]
    required: Vec<String>,
    /// Forbidden arc `a->b` (repeatable).
    #[arg(long = "forbid", value_name = "A->B")]
    forbidden: Vec<String>,
    /// Random restarts of the hill climb (iterated local search from the best DAG).
    #[arg(long, default_value_t = 50)]
    restarts: usize,
    /// Non-improving tabu moves tried at each local optimum.
    #[arg(long, default_value_t = 10)]
    patience: usize,
    /// Significance level of PC's independence tests.
    #[arg(long, default_value_t = 0.01)]
    alpha: f64,
    /// Seed of the restarts.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the network (.bif, .xml/.xmlbif or .dot).
    #[arg(long)]
    out: PathBuf,
    /// Format of the printed summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Network to sample from (BIF).
    #[arg(long)]
    bif: PathBuf,
    /// Number of records.
    #[arg(long)]
    n: usize,
    /// Seed: the same seed gives the same records.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// CSV to write.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Engine {
    /// Variable elimination per target.
    Ve,
    /// One junction-tree calibration for all targets.
    Jt,
}

/// A network and the findings of one case: what `query` and `explain` start from.
#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    /// Network (BIF).
    #[arg(long)]
    bif: PathBuf,
    /// Findings `a=v,b=w`.
    #[arg(long, default_value = "")]
    evidence: String,
}

impl CaseArgs {
    fn load(&self, budget: &MemoryBudget) -> anyhow::Result<(BayesNet, Evidence)> {
        let net = read_network(&self.bif, budget)?;
        let evidence = Evidence::parse(&net, &self.evidence)?;
        Ok((net, evidence))
    }
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// Target variable(s), comma-separated.
    #[arg(long)]
    target: String,
    /// Inference engine.
    #[arg(long, value_enum, default_value_t = Engine::Ve)]
    engine: Engine,
    /// Also give the jointly most probable states of the targets (MAP).
    #[arg(long)]
    map: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    case: CaseArgs,
    /// The target state `X=v` whose posterior is explained.
    #[arg(long)]
    target: String,
    /// Explanatory variables of the MRE search (comma-separated); default: the target's
    /// variable and its unobserved parents and children.
    #[arg(long)]
    explanatory: Option<String>,
    /// How many ranked explanations to print.
    #[arg(long, default_value_t = 5)]
    top: usize,
    #[command(flatten)]
    output: OutputArgs,
}

fn read_network(path: &Path, budget: &MemoryBudget) -> anyhow::Result<BayesNet> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    explainme_bayes::read_bif_within(&text, budget).with_context(|| format!("{}", path.display()))
}

fn read_table(path: &Path) -> anyhow::Result<Table> {
    Ok(Table::from_csv_path(path)?)
}

fn arc(text: &str) -> anyhow::Result<(String, String)> {
    let (from, to) = text
        .split_once("->")
        .with_context(|| format!("`{text}` is not an arc `a->b`"))?;
    Ok((from.trim().to_owned(), to.trim().to_owned()))
}

fn read_tiers(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            line.split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        })
        .collect())
}

fn render(net: &BayesNet, path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("xml" | "xmlbif") => explainme_bayes::write_xmlbif(net),
        Some("dot") => explainme_bayes::write_dot(net),
        _ => explainme_bayes::write_bif(net),
    }
}

#[derive(Serialize)]
struct Learned {
    variables: usize,
    records: usize,
    score: String,
    score_value: f64,
    arcs: Vec<(String, String)>,
    out: String,
}

fn learn(args: LearnArgs, budget: &MemoryBudget) -> anyhow::Result<()> {
    let table = read_table(&args.csv)?;
    let prior = match args.prior {
        PriorName::Mle => Prior::Mle,
        PriorName::Bdeu => Prior::BDeu { ess: args.ess },
        PriorName::K2 => Prior::K2,
    };
    let score = match args.score {
        ScoreName::Bic => Score::Bic,
        ScoreName::Bdeu => Score::BDeu { ess: args.ess },
        ScoreName::K2 => Score::K2,
    };
    let (data, dag) = match &args.structure {
        Some(path) => {
            let structure = read_network(path, budget)?;
            let names: Vec<&str> = structure.variables().map(|v| v.name.as_str()).collect();
            let selected = table.select(&names)?;
            let data = Dataset::with_variables(
                structure.variables().cloned().collect(),
                selected.rows().iter().cloned(),
            )
            .with_context(|| format!("{}", args.csv.display()))?;
            (data, structure.dag())
        }
        None => {
            let data = Dataset::from_rows(table.columns(), table.rows().iter().cloned())?;
            // Refuse names the network file cannot carry now, not after the search.
            for (column, variable) in data.variables().iter().enumerate() {
                check_variable(variable)
                    .with_context(|| format!("column {} of {}", column + 1, args.csv.display()))?;
            }
            let mut constraints = Constraints::new();
            if let Some(path) = &args.tiers {
                constraints = constraints.tiers(read_tiers(path)?);
            }
            if let Some(k) = args.max_parents {
                constraints = constraints.max_parents(k);
            }
            for text in &args.required {
                let (a, b) = arc(text)?;
                constraints = constraints.require(a, b);
            }
            for text in &args.forbidden {
                let (a, b) = arc(text)?;
                constraints = constraints.forbid(a, b);
            }
            let dag = match args.method {
                Method::Hc => HillClimb::params()
                    .score(score)
                    .constraints(constraints)
                    .restarts(args.restarts)
                    .perturbation(10)
                    .patience(args.patience)
                    .seed(args.seed)
                    .fit(&data)?,
                Method::Pc => {
                    Pc::params()
                        .alpha(args.alpha)
                        .constraints(constraints)
                        .fit(&data)?
                        .dag
                }
            };
            (data, dag)
        }
    };
    // The network is named after the CSV; a stem BIF cannot carry (`my records.csv`) gives
    // the name `learned` rather than a refusal, since the name is only a label.
    let name = args
        .csv
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|stem| check_network_name(stem).is_ok())
        .unwrap_or("learned");
    let net = Parameters::params()
        .prior(prior)
        .name(name)
        .fit(&data, &dag)?;
    write_to(Some(&args.out), render(&net, &args.out).as_bytes())?;
    let arcs = dag
        .edges()
        .into_iter()
        .map(|(a, b)| (net.variable(a).name.clone(), net.variable(b).name.clone()))
        .collect();
    let summary = Learned {
        variables: net.len(),
        records: data.n_rows(),
        score: format!("{score:?}"),
        score_value: explainme_bayes::network_score(&data, &dag, score),
        arcs,
        out: args.out.display().to_string(),
    };
    let output = OutputArgs {
        format: args.format,
        out: None,
    };
    output.emit(&summary, |s| {
        let mut text = format!(
            "{} variables, {} records, {} = {:.3}, {} arcs -> {}\n",
            s.variables,
            s.records,
            s.score,
            s.score_value,
            s.arcs.len(),
            s.out
        );
        for (a, b) in &s.arcs {
            text.push_str(&format!("  {a} -> {b}\n"));
        }
        text
    })
}

/// The records are drawn into memory (2 bytes a cell, checked against the budget before
/// anything is drawn, so an absurd `--n` is one quick error) and streamed to the CSV row by
/// row, never held as text.
fn sample(args: SampleArgs, budget: &MemoryBudget) -> anyhow::Result<()> {
    let net = read_network(&args.bif, budget)?;
    let data = explainme_bayes::forward_sample_within(&net, args.n, args.seed, budget)?;
    let cannot_write = || format!("cannot write {}", args.out.display());
    let file = std::fs::File::create(&args.out).with_context(cannot_write)?;
    let mut csv = csv::Writer::from_writer(std::io::BufWriter::new(file));
    csv.write_record(net.variables().map(|v| v.name.as_str()))
        .with_context(cannot_write)?;
    for row in 0..data.n_rows() {
        csv.write_record(data.row_states(row).into_iter().map(|s| s.unwrap_or("")))
            .with_context(cannot_write)?;
    }
    csv.flush().with_context(cannot_write)
}

#[derive(Serialize)]
struct Marginal {
    target: String,
    posterior: Vec<(String, f64)>,
}

#[derive(Serialize)]
struct QueryResult {
    evidence: String,
    probability_of_evidence: f64,
    marginals: Vec<Marginal>,
    /// With `--map`: the jointly most probable states of the targets and their probability.
    map: Option<(Vec<(String, String)>, f64)>,
}

fn query(args: QueryArgs, budget: &MemoryBudget) -> anyhow::Result<()> {
    let (net, evidence) = args.case.load(budget)?;
    let targets = args
        .target
        .split(',')
        .map(|t| net.index_of(t.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let (probability_of_evidence, posteriors) = match args.engine {
        Engine::Ve => {
            let ve = VariableElimination::within(&net, budget);
            let posteriors = targets
                .iter()
                .map(|&t| ve.marginal(t, &evidence))
                .collect::<Result<Vec<_>, _>>()?;
            (ve.probability_of_evidence(&evidence)?, posteriors)
        }
        Engine::Jt => {
            let tree = JunctionTree::within(&net, budget)?;
            let calibrated = tree.calibrate(&evidence)?;
            (
                calibrated.probability_of_evidence(),
                targets.iter().map(|&t| calibrated.marginal(t)).collect(),
            )
        }
    };
    let marginals = targets
        .iter()
        .zip(posteriors)
        .map(|(&t, p)| Marginal {
            target: net.variable(t).name.clone(),
            posterior: net.variable(t).states.iter().cloned().zip(p).collect(),
        })
        .collect();
    let map = match args.map {
        false => None,
        true => {
            let ve = VariableElimination::within(&net, budget);
            let found = explainme_bayes::map(&ve, &targets, &evidence)?;
            let states = found
                .states
                .iter()
                .map(|&(v, s)| {
                    (
                        net.variable(v).name.clone(),
                        net.variable(v).states[s].clone(),
                    )
                })
                .collect();
            Some((states, found.probability))
        }
    };
    let result = QueryResult {
        evidence: args.case.evidence.clone(),
        probability_of_evidence,
        marginals,
        map,
    };
    args.output.emit(&result, |r| {
        let mut text = format!("P(evidence) = {:.6e}\n", r.probability_of_evidence);
        for m in &r.marginals {
            text.push_str(&format!("P({} | evidence)\n", m.target));
            for (state, p) in &m.posterior {
                text.push_str(&format!("  {state:<16} {p:.6}\n"));
            }
        }
        if let Some((states, p)) = &r.map {
            let joint: Vec<String> = states.iter().map(|(v, s)| format!("{v}={s}")).collect();
            text.push_str(&format!("MAP: {} (P = {p:.6})\n", joint.join(", ")));
        }
        text
    })
}

#[derive(Serialize)]
struct FindingView {
    finding: String,
    without: f64,
    change: f64,
}

#[derive(Serialize)]
struct HypothesisView {
    explanation: String,
    posterior: f64,
    prior: f64,
    gbf: f64,
}

#[derive(Serialize)]
struct Explanation {
    target: String,
    prior: f64,
    posterior: f64,
    findings: Vec<FindingView>,
    most_relevant: Vec<HypothesisView>,
}

fn explain(args: ExplainArgs, budget: &MemoryBudget) -> anyhow::Result<()> {
    let (net, evidence) = args.case.load(budget)?;
    let (variable, state) = args.target.split_once('=').with_context(|| {
        format!(
            "--target `{}` is not of the form variable=state",
            args.target
        )
    })?;
    let (target, target_state) = net.resolve(variable.trim(), state.trim())?;
    let ve = VariableElimination::within(&net, budget);
    let effect = sensitivity(&ve, target, target_state, &evidence)?;
    let explanatory: Vec<usize> = match &args.explanatory {
        Some(list) => list
            .split(',')
            .map(|v| net.index_of(v.trim()))
            .collect::<Result<_, _>>()?,
        None => {
            let mut vars = vec![target];
            vars.extend(
                net.parents(target)
                    .iter()
                    .copied()
                    .chain(net.children(target)),
            );
            vars.retain(|&v| evidence.get(v).is_none());
            vars.sort_unstable();
            vars.dedup();
            vars.truncate(explainme_bayes::explain::MAX_EXPLANATORY);
            vars
        }
    };
    let ranked = most_relevant_explanations(&ve, &explanatory, &evidence, args.top)?;
    let name =
        |v: usize, s: usize| format!("{}={}", net.variable(v).name, net.variable(v).states[s]);
    let view = |h: &Hypothesis| HypothesisView {
        explanation: h
            .states
            .iter()
            .map(|&(v, s)| name(v, s))
            .collect::<Vec<_>>()
            .join(", "),
        posterior: h.posterior,
        prior: h.prior,
        gbf: h.gbf,
    };
    let result = Explanation {
        target: name(target, target_state),
        prior: effect.prior,
        posterior: effect.posterior,
        findings: effect
            .findings
            .iter()
            .map(|f| FindingView {
                finding: name(f.variable, f.state),
                without: f.without,
                change: f.change,
            })
            .collect(),
        most_relevant: ranked.iter().map(view).collect(),
    };
    args.output.emit(&result, |r| {
        let mut text = format!(
            "P({}) = {:.4} before the findings, {:.4} after\nfinding effects (P without the finding -> change):\n",
            r.target, r.prior, r.posterior
        );
        for f in &r.findings {
            text.push_str(&format!("  {:<32} {:.4}  {:+.4}\n", f.finding, f.without, f.change));
        }
        text.push_str("most relevant explanations (generalized Bayes factor):\n");
        for h in &r.most_relevant {
            text.push_str(&format!(
                "  {:<40} GBF {:>10.3}  P(h|e) {:.4}  P(h) {:.4}\n",
                h.explanation, h.gbf, h.posterior, h.prior
            ));
        }
        text
    })
}

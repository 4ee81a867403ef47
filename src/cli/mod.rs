//! The command line: one module per command, each with a clap `Args` struct and a `run`.
//!
//! Conventions (DESIGN.md): printing commands take `--format text|json`, writing commands
//! take `--out`, errors are one line on stderr, progress bars appear only on a terminal.
//! Shared plumbing for those conventions lives in [`output`]; commands never re-implement it.

pub mod audit;
pub mod bayes;
pub mod concepts;
pub mod demo;
pub mod evaluate;
pub mod explainer;
pub mod heatmap;
pub mod import;
pub mod knowledge;
pub mod models;
pub mod output;
pub mod phantom;
pub mod predict;
pub mod rules;
pub mod serve;
pub mod surrogate;
pub mod token;

use clap::{Parser, Subcommand};
use explainme_budget::MemoryBudget;

/// Explain the decisions of medical-imaging CNNs (ONNX) with heatmaps, concepts, surrogate
/// trees, association rules and Bayesian networks.
#[derive(Debug, Parser)]
#[command(name = "explainme", version, about, propagate_version = true)]
pub struct Cli {
    /// The most memory one operation may allocate for external data (a decoded image, a
    /// probability table, an inference batch), e.g. `512MiB`, `2GiB`; over it, the command
    /// refuses before allocating.
    #[arg(long, global = true, default_value = "1GiB", value_name = "SIZE")]
    pub memory_budget: MemoryBudget,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand. Add a variant and a line in [`run`] per new command module.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: phantom cohort → CNN → rules → Bayesian network, with a summary.
    Demo(demo::Args),
    /// Fit an Explainer of a model on a cohort folder and write it (the artefact the
    /// server stores).
    Fit(explainer::FitArgs),
    /// Explain one cohort case with a fitted explainer.
    Explain(explainer::ExplainArgs),
    /// A report (HTML or Markdown) of a fitted explainer's cohort, or of one case.
    Report(explainer::ReportArgs),
    /// Rules, a Bayesian network and a tree for one target of a CSV table (no images).
    Knowledge(knowledge::Args),
    /// Serve the gRPC API (and, with --http, the clinician workbench) until SIGTERM or Ctrl-C.
    Serve(serve::Args),
    /// Bearer tokens for `serve --auth`.
    #[command(subcommand)]
    Token(token::Command),
    /// The audit trail of a data directory: who asked what of which model, and when.
    Audit(audit::Args),
    /// Inspect ONNX models (layers and shapes).
    #[command(subcommand)]
    Models(models::Command),
    /// Run an ONNX model on a `.npy` tensor and summarise chosen layers.
    Predict(predict::Args),
    /// Generate a synthetic renal-mass CT cohort with planted ground truth.
    Phantom(phantom::Args),
    /// A gradient-free heatmap of one image (occlusion, RISE, Score-CAM) with its
    /// faithfulness figures.
    Heatmap(heatmap::Args),
    /// Score an ONNX model on a cohort: AUC, sensitivity, specificity, confusion matrix.
    Evaluate(evaluate::Args),
    /// A decision tree that mimics the CNN's verdict from clinician labels, with its
    /// held-out fidelity and rules, beside the same tree fitted on the truth.
    Surrogate(surrogate::Args),
    /// Concept probes, Network Dissection and TCAV: what a CNN's layers encode.
    Concepts(concepts::Args),
    /// Bayesian networks: learn, sample, query and explain.
    #[command(subcommand)]
    Bayes(bayes::Command),
    /// Association rules of a categorical CSV table (mlxtend's metrics, Fisher's test).
    Rules(rules::RulesArgs),
    /// Frequent itemsets (FP-growth) of a categorical CSV table.
    Itemsets(rules::ItemsetsArgs),
    /// Bring data in: a KiTS19 CSV table, or a tree of DICOM studies as a cohort folder.
    #[command(subcommand)]
    Import(import::Command),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let budget = cli.memory_budget;
    match cli.command {
        Command::Demo(args) => demo::run(args, budget),
        Command::Serve(args) => serve::run(args, budget),
        Command::Token(command) => token::run(command),
        Command::Audit(args) => audit::run(args),
        Command::Fit(args) => explainer::fit(args, budget),
        Command::Explain(args) => explainer::explain(args, budget),
        Command::Report(args) => explainer::report(args, budget),
        Command::Knowledge(args) => knowledge::run(args),
        Command::Models(command) => models::run(command, budget),
        Command::Predict(args) => predict::run(args, budget),
        Command::Phantom(args) => phantom::run(args),
        Command::Evaluate(args) => evaluate::run(args, budget),
        Command::Surrogate(args) => surrogate::run(args, budget),
        Command::Concepts(args) => concepts::run(args, budget),
        Command::Heatmap(args) => heatmap::run(args, budget),
        Command::Bayes(command) => bayes::run(command, budget),
        Command::Rules(args) => rules::run_rules(args),
        Command::Itemsets(args) => rules::run_itemsets(args),
        Command::Import(command) => import::run(command, budget),
    }
}

/// Renders an error chain as the single stderr line the CLI conventions promise.
///
/// Some library errors print their cause in their own message and also return it from
/// `source()`; a cause whose text the line already holds is not repeated.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_joins_causes_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let wrapped = anyhow::Error::new(io).context("cannot read a.onnx: no such file");
        assert_eq!(one_line(&wrapped), "cannot read a.onnx: no such file");
        let chained = anyhow::anyhow!("bad header\nline two").context("case `c1`");
        assert_eq!(one_line(&chained), "case `c1`: bad header line two");
    }
}

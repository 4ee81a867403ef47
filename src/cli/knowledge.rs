//! `explainme knowledge`: the same knowledge summary for a cohort without images — class
//! rules, a Bayesian network and a decision tree over a CSV table's columns for one target
//! (`--target malignant=true`), candidate new knowledge against a known list, and the
//! report. The table is read and binned as `explainme rules` reads it.

use std::path::PathBuf;

use explainme_explain::tabular::{TableKnowledge, TableKnowledgeParams};
use explainme_report::document;

use super::explainer::{known_list, report_format};
use super::output::{OutputArgs, write_to};
use super::rules::{categorical_table, parse_bins};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV file with a header row; an empty cell is "not labelled".
    #[arg(long)]
    pub csv: PathBuf,
    /// The outcome to explain, `column=state`.
    #[arg(long)]
    pub target: String,
    /// Use only these columns (comma-separated; the target's is added).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Cut points of a numeric column, `column:2,4,7`; repeat for more columns.
    #[arg(long = "bins", value_parser = parse_bins)]
    pub bins: Vec<(String, Vec<f64>)>,
    /// Minimum support of the rules.
    #[arg(long, default_value_t = 0.05)]
    pub min_support: f64,
    /// Minimum confidence of the rules (low by default: a rare outcome, such as a benign
    /// lesion among mostly malignant ones, is rarely the majority even where it clusters).
    #[arg(long, default_value_t = 0.3)]
    pub min_confidence: f64,
    /// Seed of the tree's held-out split and the network's restarts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Known associations (DESIGN.md's renal table when absent).
    #[arg(long)]
    pub known: Option<PathBuf>,
    /// Also write the report here (.html or .md).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let format = args.report.as_deref().map(report_format).transpose()?;
    let known = known_list(args.known.as_deref())?;
    let mut columns = args.columns.clone();
    let column = args
        .target
        .split_once('=')
        .map_or(args.target.as_str(), |(c, _)| c)
        .to_owned();
    if !columns.is_empty() && !columns.contains(&column) {
        columns.push(column);
    }
    let (table, left_out) = categorical_table(&args.csv, &columns, &args.bins)?;
    if !left_out.is_empty() {
        eprintln!(
            "note: numeric columns left out (give --bins to use them): {}",
            left_out.join(", ")
        );
    }
    let mut params = TableKnowledgeParams {
        seed: args.seed,
        ..TableKnowledgeParams::default()
    };
    params.rules.min_support = args.min_support;
    params.rules.min_confidence = args.min_confidence;
    let knowledge = params.fit(&table, &args.target, &known)?;
    if let (Some(path), Some(format)) = (&args.report, format) {
        let title = format!(
            "explainme: what {} says about {}",
            args.csv.display(),
            args.target
        );
        write_to(
            Some(path),
            document::table_report(&knowledge, &title, format)?.as_bytes(),
        )?;
    }
    args.output.emit(&knowledge, text)
}

fn text(k: &TableKnowledge) -> String {
    let mut out = format!("{}\n", k.narrative);
    for (state, rules) in &k.rules {
        out.push_str(&format!("\nTop rules for {state}:\n"));
        for r in rules.iter().take(5) {
            out.push_str(&format!("  {}\n", r.line()));
        }
    }
    out.push_str("\nNetwork arcs:\n");
    for a in &k.network.arcs {
        out.push_str(&format!("  {} -> {} ({:.1})\n", a.from, a.to, a.strength));
    }
    out.push_str("\nTree:\n");
    for r in &k.tree_rules {
        out.push_str(&format!("  {}\n", r.text));
    }
    out
}

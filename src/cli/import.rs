//! `explainme import kits19`: the real KiTS19 clinical records as a CSV table.
//!
//! The records stay where they are shared (`../shared/data/kits19/kits19.json`, licensed
//! CC BY-NC-SA): this command derives the table on demand, by the recipe documented in
//! `explainme_cohort::kits19`, for `explainme rules`, `itemsets` and `bayes learn`.

use std::path::PathBuf;

use anyhow::Context;
use explainme_cohort::kits19;

use super::output::write_to;

/// Every data set `import` knows.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// KiTS19 clinical records (kits19.json) as a 16-column CSV table, one row per case.
    Kits19(Kits19Args),
}

#[derive(Debug, clap::Args)]
pub struct Kits19Args {
    /// The records, e.g. `../shared/data/kits19/kits19.json`.
    #[arg(long)]
    pub json: PathBuf,
    /// Bin age (50, 65, 75), BMI (25, 30) and radiographic size (2, 4, 7 cm) into
    /// intervals, giving the all-categorical table the rules and Bayesian-network
    /// commands mine; without it those three columns stay numbers.
    #[arg(long)]
    pub discretise: bool,
    /// Write the CSV to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `explainme import <data set>`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Kits19(args) => run_kits19(args),
    }
}

fn run_kits19(args: Kits19Args) -> anyhow::Result<()> {
    let mut table = kits19::read(&args.json)?;
    if args.discretise {
        table = kits19::schema()
            .discretise(&table)
            .with_context(|| format!("cannot discretise {}", args.json.display()))?;
    }
    let mut csv = Vec::new();
    table.write_csv(&mut csv)?;
    write_to(args.out.as_deref(), &csv)
}

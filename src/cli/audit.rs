//! `explainme audit`: the audit trail of a data directory — who asked what of which model,
//! explainer and cases, when — read beside a running server (a read-only connection).

use std::path::PathBuf;

use anyhow::Context as _;
use explainme_store::{AuditRecord, Store};

use super::output::OutputArgs;

/// Print the calls the server recorded, oldest first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data directory `serve` uses.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Only this token holder's calls (the name `token add` was given).
    #[arg(long)]
    pub who: Option<String>,
    /// Only rows after this row number (the `id` of the last row already read).
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open_reader(&args.data_dir)
        .with_context(|| format!("cannot read the store in {}", args.data_dir.display()))?;
    let rows = store.audit(args.after, args.who.as_deref(), args.limit)?;
    args.output
        .emit(&rows, |rows| rows.iter().map(line).collect())
}

/// One row as a line: id, time, who, via, RPC, code, duration, then what it named.
fn line(record: &AuditRecord) -> String {
    let e = &record.entry;
    let who = if e.who.is_empty() {
        "(no --auth)"
    } else {
        &e.who
    };
    let mut subject = Vec::new();
    for (name, value) in [
        ("model", &e.model_id),
        ("explainer", &e.explainer_id),
        ("cohort", &e.cohort),
        ("cases", &e.cases),
        ("peer", &e.peer),
    ] {
        if !value.is_empty() {
            subject.push(format!("{name}={value}"));
        }
    }
    format!(
        "{} {} {} {} {} {} {} ms {}\n",
        record.id,
        e.at,
        who,
        e.via,
        e.rpc,
        e.code,
        e.millis,
        subject.join(" ")
    )
}

//! `explainme token add`: a new bearer token for `serve --auth`.

use std::path::PathBuf;

use serde::Serialize;

use super::output::OutputArgs;
use crate::auth::{self, Role};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a new random token for a person or a tool, add its SHA-256 (never the token) to the
    /// tokens file, and print the token once: hand it over, it cannot be shown again.
    Add(AddArgs),
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The tokens file that `serve --auth` reads; created (readable by you only) if missing.
    #[arg(long, value_name = "FILE")]
    pub auth: PathBuf,
    /// Who holds it: a person (`dr-ada`) or a tool (`pacs-bridge`); shown in logs and on the
    /// workbench.
    #[arg(long)]
    pub name: String,
    /// What it may do.
    #[arg(long, value_enum)]
    pub role: Role,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Serialize)]
struct Added {
    name: String,
    role: Role,
    token: String,
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Add(args) => {
            let token = auth::add_token(&args.auth, &args.name, args.role)?;
            let added = Added {
                name: args.name.trim().to_owned(),
                role: args.role,
                token,
            };
            args.output.emit(&added, |a| format!("{}\n", a.token))
        }
    }
}

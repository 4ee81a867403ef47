//! The `explainme` binary: parses the command line and hands over to [`explainme::cli`].
//!
//! Errors are printed as one line on stderr and give a non-zero exit, as DESIGN.md's CLI
//! conventions promise, so every command composes in scripts.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = explainme::cli::Cli::parse();
    match explainme::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", explainme::cli::one_line(&error));
            ExitCode::FAILURE
        }
    }
}

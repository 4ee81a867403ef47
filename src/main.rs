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
        // A reader that stopped early (`explainme itemsets … | head`) is not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", explainme::cli::one_line(&error));
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

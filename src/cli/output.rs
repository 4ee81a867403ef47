//! Output plumbing shared by every command: `--format`, `--out`, and progress bars.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// `--format text|json`: text for people, one JSON document for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// The `--format` / `--out` pair that every printing command flattens into its args.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format: `text` for people, `json` for scripts (one JSON document).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the result to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl OutputArgs {
    /// Emits a result in the chosen format: `text` renders it for people, JSON serialises it.
    pub fn emit<T: serde::Serialize>(
        &self,
        value: &T,
        text: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        let rendered = match self.format {
            Format::Text => text(value),
            Format::Json => {
                let mut json = serde_json::to_string_pretty(value)?;
                json.push('\n');
                json
            }
        };
        write_to(self.out.as_deref(), rendered.as_bytes())
    }
}

/// Writes `bytes` to `path`, or to stdout when no path is given.
pub fn write_to(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// A progress bar on stderr when stderr is a terminal, a hidden one otherwise, so scripts
/// and CI logs stay quiet.
pub fn progress(len: u64, message: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}

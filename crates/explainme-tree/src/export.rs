//! A tree written out for people (an indented text) or for Graphviz (DOT).
//!
//! Formats are registered in [`EXPORTS`] — a new format is one entry — and chosen by a file's
//! extension with [`export_for`]. Deliberately not here: drawing (no Graphviz is run; the
//! report crate draws SVG itself).

use std::fmt::Write;

use crate::tree::Tree;
use crate::{Error, Result};

/// One export format.
#[derive(Debug, Clone, Copy)]
pub struct Export {
    pub name: &'static str,
    /// File extensions that select it, lower case, without the dot.
    pub extensions: &'static [&'static str],
    pub render: fn(&Tree) -> String,
}

/// Every export format.
pub const EXPORTS: &[Export] = &[
    Export {
        name: "dot",
        extensions: &["dot", "gv"],
        render: dot,
    },
    Export {
        name: "text",
        extensions: &["txt", "text"],
        render: text,
    },
];

/// The format for a file name, by its extension.
pub fn export_for(file_name: &str) -> Result<&'static Export> {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    EXPORTS
        .iter()
        .find(|e| e.extensions.contains(&extension.as_str()))
        .ok_or_else(|| Error::UnknownExport(file_name.to_owned()))
}

/// `.dot, .gv, .txt, .text` for error messages.
pub(crate) fn known() -> String {
    EXPORTS
        .iter()
        .flat_map(|e| e.extensions.iter().map(|x| format!(".{x}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tree indented, one branch per line; a leaf ends its line with its verdict.
///
/// ```text
/// size < 4.1 cm
///   macroscopic fat present → benign (CNN says so in 91% of 45 cases)
///   macroscopic fat absent → malignant (CNN says so in 72% of 180 cases)
/// size ≥ 4.1 cm → malignant (CNN says so in 97% of 475 cases)
/// ```
pub fn text(tree: &Tree) -> String {
    fn visit(tree: &Tree, node: usize, indent: usize, out: &mut String) {
        let Some(split) = &tree.nodes[node].split else {
            return;
        };
        for (child, above) in [(split.below, false), (split.above, true)] {
            let _ = write!(out, "{:indent$}{}", "", tree.branch_words(node, above));
            if tree.nodes[child].split.is_none() {
                let verdict = tree.classes.name(tree.nodes[child].verdict());
                let _ = write!(out, " → {verdict} ({})", tree.support(child));
            }
            out.push('\n');
            visit(tree, child, indent + 2, out);
        }
    }
    let mut out = String::new();
    if tree.root().split.is_none() {
        let verdict = tree.classes.name(tree.root().verdict());
        let _ = writeln!(out, "every case → {verdict} ({})", tree.support(0));
    }
    visit(tree, 0, 0, &mut out);
    out
}

/// Fill colours of leaves by verdict, and of inner nodes.
const POSITIVE_FILL: &str = "#f4a582";
const NEGATIVE_FILL: &str = "#92c5de";
const INNER_FILL: &str = "#f7f7f7";

fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Graphviz DOT: one box per node (`n0` is the root), edges labelled with the branch's
/// condition, leaves filled by verdict.
pub fn dot(tree: &Tree) -> String {
    let mut out = String::from(
        "digraph surrogate {\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n  \
         edge [fontname=\"Helvetica\"];\n",
    );
    for (i, node) in tree.nodes.iter().enumerate() {
        let (label, fill) = if node.split.is_some() {
            let label = format!(
                "{} cases\n{} says {} in {:.0}%",
                node.cases,
                tree.classes.source,
                tree.classes.positive,
                100.0 * node.share()
            );
            (label, INNER_FILL)
        } else {
            let verdict = node.verdict();
            let label = format!("{}\n{}", tree.classes.name(verdict), tree.support(i));
            (
                label,
                if verdict {
                    POSITIVE_FILL
                } else {
                    NEGATIVE_FILL
                },
            )
        };
        let _ = writeln!(
            out,
            "  n{i} [label={}, fillcolor=\"{fill}\"];",
            quoted(&label)
        );
    }
    for (i, node) in tree.nodes.iter().enumerate() {
        if let Some(split) = &node.split {
            for (child, above) in [(split.below, false), (split.above, true)] {
                let _ = writeln!(
                    out,
                    "  n{i} -> n{child} [label={}];",
                    quoted(&tree.branch_words(i, above))
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

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

/// Longest line of an edge label in [`dot`], in characters.
const EDGE_LABEL_WIDTH: usize = 24;

/// Longest line of a node label in [`dot`], in characters: the inner nodes' "CNN says
/// malignant in 62%" fits, a leaf's "CNN says so in 99% of 150 cases" takes two lines.
const NODE_LABEL_WIDTH: usize = 26;

/// `text` broken at spaces into as few lines of at most `width` characters as it needs (a
/// longer word keeps a line of its own), made about equally long: "CNN says so in 90% of
/// 100 cases" becomes "CNN says so in" / "90% of 100 cases", not a line with "cases" alone.
fn wrapped(text: &str, width: usize) -> String {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let greedy = |width: usize| {
        let mut lines: Vec<String> = Vec::new();
        for word in &words {
            match lines.last_mut() {
                Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                    line.push(' ');
                    line.push_str(word);
                }
                _ => lines.push((*word).to_owned()),
            }
        }
        lines
    };
    let lines = greedy(width).len();
    // The narrowest width that still needs no more lines than `width` does.
    let longest = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    let total = text.chars().count();
    let narrowest = (longest.max(total.div_ceil(lines.max(1)))..width)
        .find(|&w| greedy(w).len() <= lines)
        .unwrap_or(width);
    greedy(narrowest).join("\n")
}

/// Graphviz DOT: one box per node (`n0` is the root), edges labelled with the branch's
/// condition, leaves filled by verdict. Conditions are wrapped at 24 characters and node
/// labels at 26: a detector channel's name ("CNN's necrosis detector (conv4_1_1 channel
/// 56, IoU 0.11) < 0.1178") on one line widens every rank it sits in, and a page that
/// scales the drawing to its width then shrinks every label with it.
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
        let label: Vec<String> = label
            .lines()
            .map(|line| wrapped(line, NODE_LABEL_WIDTH))
            .collect();
        let _ = writeln!(
            out,
            "  n{i} [label={}, fillcolor=\"{fill}\"];",
            quoted(&label.join("\n"))
        );
    }
    for (i, node) in tree.nodes.iter().enumerate() {
        if let Some(split) = &node.split {
            for (child, above) in [(split.below, false), (split.above, true)] {
                let _ = writeln!(
                    out,
                    "  n{i} -> n{child} [label={}];",
                    quoted(&wrapped(&tree.branch_words(i, above), EDGE_LABEL_WIDTH))
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::wrapped;

    #[test]
    fn labels_wrap_into_few_even_lines_and_keep_long_words_whole() {
        assert_eq!(
            wrapped("CNN says so in 90% of 100 cases", 26),
            "CNN says so in\n90% of 100 cases"
        );
        assert_eq!(wrapped("size ≥ 4 cm", 24), "size ≥ 4 cm");
        assert_eq!(
            wrapped(
                "CNN's necrosis detector (conv4_1_1 channel 56, IoU 0.11) < 0.1178",
                24
            ),
            "CNN's necrosis detector\n(conv4_1_1 channel 56,\nIoU 0.11) < 0.1178"
        );
        assert_eq!(
            wrapped("a conv4_1_1/very_long_tensor_name_without_spaces", 10),
            "a\nconv4_1_1/very_long_tensor_name_without_spaces"
        );
        assert_eq!(wrapped("", 10), "");
    }
}

//! Graphviz DOT, to look at a structure (`dot -Tsvg`).

use std::fmt::Write;

use crate::network::BayesNet;

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Writes the network's arcs as a DOT digraph; every variable appears, isolated or not.
pub fn write_dot(net: &BayesNet) -> String {
    let mut out = format!("digraph {} {{\n", quote(net.name()));
    for v in net.variables() {
        let _ = writeln!(out, "  {};", quote(&v.name));
    }
    for child in 0..net.len() {
        for &p in net.parents(child) {
            let _ = writeln!(
                out,
                "  {} -> {};",
                quote(&net.variable(p).name),
                quote(&net.variable(child).name)
            );
        }
    }
    out.push_str("}\n");
    out
}

//! XMLBIF 0.3 (Cozman's format), as pgmpy's `XMLBIFReader` and Weka load it.

use std::fmt::Write;

use crate::network::BayesNet;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes a network as XMLBIF 0.3. `<TABLE>` lists one parent configuration after another
/// (last `<GIVEN>` fastest), child states fastest within each — [`crate::Cpt`]'s own order.
pub fn write_xmlbif(net: &BayesNet) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<BIF VERSION=\"0.3\">\n<NETWORK>\n",
    );
    let _ = writeln!(out, "<NAME>{}</NAME>", escape(net.name()));
    for v in net.variables() {
        let _ = writeln!(
            out,
            "<VARIABLE TYPE=\"nature\">\n  <NAME>{}</NAME>",
            escape(&v.name)
        );
        for s in &v.states {
            let _ = writeln!(out, "  <OUTCOME>{}</OUTCOME>", escape(s));
        }
        out.push_str("</VARIABLE>\n");
    }
    for i in 0..net.len() {
        let _ = writeln!(
            out,
            "<DEFINITION>\n  <FOR>{}</FOR>",
            escape(&net.variable(i).name)
        );
        for &p in net.parents(i) {
            let _ = writeln!(out, "  <GIVEN>{}</GIVEN>", escape(&net.variable(p).name));
        }
        let table: Vec<String> = net.cpt(i).values.iter().map(f64::to_string).collect();
        let _ = writeln!(out, "  <TABLE>{}</TABLE>\n</DEFINITION>", table.join(" "));
    }
    out.push_str("</NETWORK>\n</BIF>\n");
    out
}

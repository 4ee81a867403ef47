//! SVG drawings for reports: the Bayesian network and the surrogate tree from their DOT
//! text ([`dot_to_svg`]), the ROC curve ([`roc_svg`]) and the reliability diagram
//! ([`calibration_svg`]), with the exact numbers behind the plots ([`roc_curve`],
//! [`calibration_bins`]).
//!
//! Every drawing is a standalone SVG 1.1 document returned as a `String`, meant to be
//! inlined as an `<svg>` element in a self-contained HTML report: it has `width`, `height`
//! and `viewBox` (a browser gives it its natural size), no XML declaration, no external
//! font, image or stylesheet, and every label XML-escaped. Layout is not hand-written:
//! `layout-rs` lays out graphs and `plotters` draws plots; this module checks inputs, turns
//! their output into clean SVG and documents what they do not support.
//!
//! Deliberately not here: file I/O (the caller writes or embeds the text), the HTML report
//! itself, and producing the DOT (explainme-bayes' `write_dot`, explainme-tree's `dot`).

mod curves;
mod graph;
mod plot;

pub use curves::roc_curve;
/// Reliability bins are the evaluation's (explainme-explain), drawn here.
pub use explainme_explain::evaluation::{CalibrationBin, calibration_bins};
pub use graph::{MAX_GRAPH_EDGES, MAX_GRAPH_NODES, dot_to_svg};
pub use plot::{PLOT_SIZE, calibration_svg, roc_svg};

/// Text as XML character data or attribute value: `& < > " '` escaped, and the characters
/// XML 1.0 cannot carry at all (controls other than tab, newline, carriage return) dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() && c < '\u{80}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate for SVG: at most two decimals, trailing zeros dropped, never `-0`, never
/// `NaN` (a non-finite value, which layout-rs should not produce, is written as 0).
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let fixed = format!("{v:.2}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_escaped_for_xml() {
        assert_eq!(
            super::escape("a = b < c & \"d\" > 'e'\u{1}"),
            "a = b &lt; c &amp; &quot;d&quot; &gt; &apos;e&apos;"
        );
    }

    #[test]
    fn coordinates_are_short() {
        let cases = [
            (0.0, "0"),
            (-0.001, "0"),
            (1.5, "1.5"),
            (2.0, "2"),
            (-3.456, "-3.46"),
        ];
        for (v, want) in cases {
            assert_eq!(super::num(v), want);
        }
        assert_eq!(super::num(f64::NAN), "0");
    }
}

//! Writes `drawings.html`, one self-contained page with every SVG drawing inlined: the ASIA
//! and a 13-node renal-mass Bayesian network (explainme-bayes' DOT), a surrogate tree
//! (explainme-tree's DOT), a ROC curve and a reliability diagram of a synthetic model.
//! Each SVG is also written on its own, to check that it stands alone.
//!
//! `cargo run -p explainme-report --example drawings -- [OUT_DIR]` (default `/tmp`).

use std::path::PathBuf;

use explainme_bayes::{BayesNet, Cpt, Variable, write_dot};
use explainme_report::{calibration_bins, calibration_svg, dot_to_svg, roc_curve, roc_svg};
use explainme_tree::{Classes, Column, Node, Rendering, Split, Tree};

fn network() -> Result<BayesNet, Box<dyn std::error::Error>> {
    let names = [
        "subtype",
        "malignant",
        "size",
        "margin",
        "macroscopic_fat",
        "calcification",
        "necrosis",
        "cystic",
        "enhancement",
        "heterogeneity",
        "exophytic",
        "cnn_verdict",
        "cnn_correct",
    ];
    let mut arcs: Vec<(&str, &str)> = vec![("subtype", "malignant")];
    arcs.extend(names[2..10].iter().map(|f| ("subtype", *f)));
    arcs.extend([
        ("malignant", "size"),
        ("malignant", "necrosis"),
        ("size", "exophytic"),
        ("cystic", "enhancement"),
        ("size", "cnn_verdict"),
        ("macroscopic_fat", "cnn_verdict"),
        ("enhancement", "cnn_verdict"),
        ("heterogeneity", "cnn_verdict"),
        ("necrosis", "cnn_verdict"),
        ("cnn_verdict", "cnn_correct"),
        ("malignant", "cnn_correct"),
    ]);
    let index = |n: &str| names.iter().position(|m| *m == n);
    let mut variables = Vec::new();
    let mut cpts = Vec::new();
    for child in names {
        variables.push(Variable::new(child, vec!["no".into(), "yes".into()])?);
        let parents: Vec<usize> = arcs
            .iter()
            .filter(|(_, c)| *c == child)
            .filter_map(|(p, _)| index(p))
            .collect();
        let rows = 1 << parents.len();
        cpts.push(Cpt {
            parents,
            values: vec![0.5; 2 * rows],
        });
    }
    Ok(BayesNet::new("renal_mass", variables, cpts)?)
}

fn tree() -> Tree {
    let node = |cases, positive, depth, split| Node {
        cases,
        positive,
        depth,
        split,
    };
    let split = |column, threshold, below, above| {
        Some(Split {
            column,
            threshold,
            below,
            above,
        })
    };
    Tree {
        columns: vec![
            Column::number("size_cm", "size", Some("cm")),
            Column {
                name: "fat=present".into(),
                rendering: Rendering::Indicator {
                    feature: "macroscopic fat".into(),
                    state: "present".into(),
                    otherwise: Some("absent".into()),
                },
            },
            Column::number("enhancement_hu", "enhancement", Some("HU")),
        ],
        classes: Classes::new("benign", "malignant", "CNN"),
        nodes: vec![
            node(312, 150, 0, split(0, 4.05, 1, 4)),
            node(140, 22, 1, split(2, 35.0, 2, 3)),
            node(110, 8, 2, None),
            node(30, 14, 2, None),
            node(172, 128, 1, split(1, 0.5, 5, 6)),
            node(140, 121, 2, None),
            node(32, 7, 2, None),
        ],
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/tmp".into()));
    let asia = explainme_bayes::read_bif(&std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bn/asia.bif"),
    )?)?;

    // A synthetic model: scores on a grid of 0.05 (ties), over-confident at the top.
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let (mut scores, mut truth) = (Vec::new(), Vec::new());
    for _ in 0..400 {
        let p = (next() * 20.0).round() / 20.0;
        truth.push(next() < p * p.sqrt());
        scores.push(p);
    }
    let curve = roc_curve(&scores, &truth);
    let auc = explainme_tree::auc(&scores, &truth);

    let drawings = [
        ("network", dot_to_svg(&write_dot(&network()?))?),
        ("asia", dot_to_svg(&write_dot(&asia))?),
        ("tree", dot_to_svg(&explainme_tree::dot(&tree()))?),
        ("roc", roc_svg(&curve, auc, "CNN vs pathology (synthetic)")?),
        (
            "calibration",
            calibration_svg(
                &calibration_bins(&scores, &truth, 10),
                "Calibration (synthetic)",
            )?,
        ),
    ];
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>drawings</title></head><body>\n",
    );
    for (name, svg) in &drawings {
        std::fs::write(out.join(format!("drawing-{name}.svg")), svg)?;
        html += &format!("<h2>{name} ({} bytes)</h2>\n{svg}\n", svg.len());
    }
    html += "</body></html>\n";
    let page = out.join("drawings.html");
    std::fs::write(&page, html)?;
    println!("wrote {}", page.display());
    Ok(())
}

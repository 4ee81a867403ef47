//! A planted rule comes back exactly: split, thresholds, rule text, exports.
//!
//! 600 synthetic cases through the renal schema's encoding. The "CNN" calls a lesion
//! malignant exactly when it is ≥ 4 cm, has no macroscopic fat and enhances more than
//! hypo; the truth is the same rule without the enhancement clause, so the CNN misses the
//! large fat-free hypo-enhancing lesions and the two trees must part there.

use explainme_budget::MemoryBudget;
use explainme_cohort::{FeatureSchema, Table};
use explainme_tree::{FeatureMatrix, FittedSurrogate, Surrogate, SurrogateData, export_for};

const CASES: usize = 600;

fn schema() -> FeatureSchema {
    FeatureSchema::from_json(
        r#"{"features":[
        {"name":"size_cm","kind":"numeric","cut_points":[2,4,7]},
        {"name":"macroscopic_fat","kind":"categorical","states":["absent","present"]},
        {"name":"enhancement","kind":"ordinal","states":["hypo","moderate","avid"]},
        {"name":"margin","kind":"categorical","states":["well_defined","infiltrative"]},
        {"name":"malignant","kind":"categorical","states":["no","yes"],"role":"truth"}]}"#,
    )
    .unwrap()
}

/// SplitMix64: independent-looking bits per case without an RNG crate in the test.
fn mix(i: usize) -> u64 {
    let mut z = (i as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Case `i`'s size (0.5–9.4 cm in 0.1 steps), fat (one in five), enhancement and margin.
fn case(i: usize) -> (f64, bool, usize, bool) {
    let h = mix(i);
    let size = (5 + h % 90) as f64 / 10.0;
    (
        size,
        (h >> 8).is_multiple_of(5),
        ((h >> 16) % 3) as usize,
        (h >> 24).is_multiple_of(4),
    )
}

fn fitted() -> FittedSurrogate {
    fitted_with(8)
}

fn fitted_with(max_leaves: usize) -> FittedSurrogate {
    let enhancement = ["hypo", "moderate", "avid"];
    let mut csv = String::from("case_id,size_cm,macroscopic_fat,enhancement,margin,malignant\n");
    let (mut probabilities, mut truth) = (Vec::new(), Vec::new());
    for i in 0..CASES {
        let (size, fat, enh, infiltrative) = case(i);
        let malignant = size >= 4.0 && !fat;
        csv += &format!(
            "c{i},{size},{},{},{},{}\n",
            if fat { "present" } else { "absent" },
            enhancement[enh],
            if infiltrative {
                "infiltrative"
            } else {
                "well_defined"
            },
            if malignant { "yes" } else { "no" },
        );
        probabilities.push(if malignant && enh > 0 { 0.83 } else { 0.12 });
        truth.push(malignant);
    }
    let table = Table::from_csv_reader(csv.as_bytes()).unwrap();
    let features = FeatureMatrix::from_table(&schema(), &table, MemoryBudget::default()).unwrap();
    Surrogate::params()
        .max_depth(4)
        .max_leaves(max_leaves)
        .min_leaf(5)
        .seed(11)
        .fit(&SurrogateData {
            features,
            probabilities,
            truth: Some(truth),
        })
        .unwrap()
}

/// `n12 [label=…]`: a statement that starts with a node id.
fn is_node_id(line: &str) -> bool {
    line.strip_prefix('n')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

fn check(actual: &str, expect: &str) {
    assert_eq!(actual, expect, "\nactual:\n{actual}");
}

#[test]
fn the_planted_rule_is_recovered_exactly() {
    let fitted = fitted();
    assert_eq!(fitted.fidelity.agreement, 1.0);
    assert_eq!(fitted.fidelity.auc, Some(1.0));
    assert_eq!(fitted.cnn.leaves, 4);
    let root = fitted.cnn.tree.root().split.as_ref().unwrap();
    assert_eq!(fitted.cnn.tree.columns[root.column].name, "size_cm");
    assert_eq!(root.threshold, 4.0);
    let rules: Vec<&str> = fitted.cnn.rules.iter().map(|r| r.text.as_str()).collect();
    check(
        &rules.join("\n"),
        "size < 4 cm → benign (CNN says so in 100% of 161 cases)
size ≥ 4 cm AND enhancement is hypo → benign (CNN says so in 100% of 93 cases)
size ≥ 4 cm AND enhancement is moderate or avid AND macroscopic fat absent → malignant (CNN says so in 100% of 129 cases)
size ≥ 4 cm AND enhancement is moderate or avid AND macroscopic fat present → benign (CNN says so in 100% of 38 cases)",
    );
    check(
        &(export_for("tree.txt").unwrap().render)(&fitted.cnn.tree),
        "size < 4 cm → benign (CNN says so in 100% of 161 cases)
size ≥ 4 cm
  enhancement is hypo → benign (CNN says so in 100% of 93 cases)
  enhancement is moderate or avid
    macroscopic fat absent → malignant (CNN says so in 100% of 129 cases)
    macroscopic fat present → benign (CNN says so in 100% of 38 cases)
",
    );
}

#[test]
fn the_truth_tree_parts_from_the_cnn_tree_where_the_cnn_errs() {
    let fitted = fitted();
    let truth = fitted.truth.as_ref().unwrap();
    let rules: Vec<&str> = truth.tree.rules.iter().map(|r| r.text.as_str()).collect();
    check(
        &rules.join("\n"),
        "size < 4 cm → benign (pathology says so in 100% of 161 cases)
size ≥ 4 cm AND macroscopic fat absent → malignant (pathology says so in 100% of 205 cases)
size ≥ 4 cm AND macroscopic fat present → benign (pathology says so in 100% of 55 cases)",
    );
    assert_eq!(truth.truth_tree_accuracy, 1.0);
    // Both trees are exact, so they disagree precisely on the CNN's errors.
    assert_eq!(truth.cnn_tree_accuracy, truth.cnn_accuracy);
    assert_eq!(truth.trees_agree, truth.cnn_accuracy);
    assert!(truth.cnn_accuracy < 0.9, "{}", truth.cnn_accuracy);
}

#[test]
fn the_dot_export_is_one_node_per_tree_node_and_one_edge_less() {
    let fitted = fitted();
    let tree = &fitted.cnn.tree;
    let dot = (export_for("tree.DOT").unwrap().render)(tree);
    assert!(dot.starts_with("digraph surrogate {\n") && dot.ends_with("}\n"));
    let opened = dot.matches('{').count();
    assert_eq!(opened, dot.matches('}').count());
    assert_eq!(opened, 1, "one graph, no subgraphs");
    let lines: Vec<&str> = dot.lines().map(str::trim).collect();
    let nodes = lines
        .iter()
        .filter(|l| is_node_id(l) && !l.contains("->"))
        .count();
    let edges: Vec<&&str> = lines.iter().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(nodes, tree.nodes.len());
    assert_eq!(edges.len(), tree.nodes.len() - 1);
    // Every line is a statement; quotes are balanced on each.
    for line in &lines[1..lines.len() - 1] {
        assert!(line.ends_with(';'), "{line}");
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
    }
    // Leaves are filled by verdict.
    let leaf_fills: Vec<bool> = tree
        .leaves()
        .iter()
        .map(|&leaf| {
            let line = lines
                .iter()
                .find(|l| l.starts_with(&format!("n{leaf} [")))
                .unwrap();
            line.contains("#f4a582")
        })
        .collect();
    let verdicts: Vec<bool> = tree
        .leaves()
        .iter()
        .map(|&l| tree.nodes[l].verdict())
        .collect();
    assert_eq!(leaf_fills, verdicts);
    assert!(export_for("tree.svg").is_err());
}

#[test]
fn fewer_leaves_keep_the_splits_that_gain_most_and_the_same_seed_gives_the_same_tree() {
    assert_eq!(fitted(), fitted());
    // Best first: the size split, then enhancement (it removes more impurity than fat).
    let three = fitted_with(3);
    let rules: Vec<&str> = three.cnn.rules.iter().map(|r| r.text.as_str()).collect();
    check(
        &rules.join("\n"),
        "size < 4 cm → benign (CNN says so in 100% of 161 cases)
size ≥ 4 cm AND enhancement is hypo → benign (CNN says so in 100% of 93 cases)
size ≥ 4 cm AND enhancement is moderate or avid → malignant (CNN says so in 77% of 167 cases)",
    );
    assert_eq!(three.cnn.depth, 2);
    // Two leaves would both say benign (129 of 260 large lesions are malignant): merged.
    for max_leaves in [1, 2] {
        let single = fitted_with(max_leaves);
        assert_eq!(single.cnn.nodes, 1);
        check(
            &single.cnn.rules[0].text,
            "every case → benign (CNN says so in 69% of 421 cases)",
        );
    }
}

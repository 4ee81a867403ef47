//! `explainme rules` and `explainme itemsets` run as a user would run them: the built
//! binary, real files, exit codes and stderr. The KiTS19 tables are made by
//! `explainme import kits19` from the shared records, never read from a committed copy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("crates/explainme-rules/tests/fixtures")
        .join(name)
}

fn kits19_json() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/kits19/kits19.json")
}

/// `explainme import kits19 [--discretise] --out <dir>/<name>`: the numeric table, or the
/// binned one the peers mined.
fn import_kits19(dir: &std::path::Path, discretise: bool) -> PathBuf {
    let out = dir.join(if discretise {
        "kits19_items.csv"
    } else {
        "kits19_numeric.csv"
    });
    let json = kits19_json();
    let mut args = vec!["import", "kits19", "--json", json.to_str().unwrap()];
    if discretise {
        args.push("--discretise");
    }
    args.extend(["--out", out.to_str().unwrap()]);
    let output = explainme(&args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

fn explainme(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("the explainme binary runs")
}

/// Rules CSV as `(antecedents, consequents) -> metric columns`.
fn read_rules(bytes: &[u8]) -> BTreeMap<(String, String), Vec<f64>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().unwrap().clone();
    assert_eq!(&header[0], "antecedents");
    assert_eq!(&header[9], "conviction");
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            let metrics = (2..record.len())
                .map(|i| record[i].parse().unwrap())
                .collect();
            ((record[0].to_owned(), record[1].to_owned()), metrics)
        })
        .collect()
}

/// The numeric KiTS19 table binned on the command line gives the peers' class rules:
/// `--bins` reproduces the recipe of `benches/peers/rules_data.py`.
#[test]
fn rules_from_binned_kits19_match_mlxtend() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.csv");
    let numeric = import_kits19(dir.path(), false);
    let output = explainme(&[
        "rules",
        "--csv",
        numeric.to_str().unwrap(),
        "--bins",
        "age_at_nephrectomy:50,65,75",
        "--bins",
        "body_mass_index:25,30",
        "--bins",
        "radiographic_size:2,4,7",
        "--min-support",
        "0.2",
        "--min-confidence",
        "0.85",
        "--target",
        "malignant=true",
        "tumor_histologic_subtype=clear_cell_rcc",
        "--prune",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ours = read_rules(&std::fs::read(&out).unwrap());
    let golden =
        read_rules(&std::fs::read(fixture("golden/kits19_class_rules_pruned.csv")).unwrap());
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        golden.keys().collect::<Vec<_>>()
    );
    for (rule, theirs) in &golden {
        for (a, b) in ours[rule].iter().zip(theirs) {
            let close = if a.is_infinite() || b.is_infinite() {
                a == b
            } else {
                (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
            };
            assert!(close, "{rule:?}: {a} vs {b}");
        }
    }
}

#[test]
fn itemsets_json_lists_items_as_column_value() {
    let dir = tempfile::tempdir().unwrap();
    let items = import_kits19(dir.path(), true);
    let output = explainme(&[
        "itemsets",
        "--csv",
        items.to_str().unwrap(),
        "--min-support",
        "0.15",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["truncated"], false);
    let golden = std::fs::read(fixture("golden/kits19_itemsets.csv")).unwrap();
    let mut expected: Vec<(String, u64)> = csv::Reader::from_reader(golden.as_slice())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].parse().unwrap())
        })
        .collect();
    let mut ours: Vec<(String, u64)> = report["itemsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let items: Vec<&str> = s["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_str().unwrap())
                .collect();
            assert!(items.iter().all(|i| i.contains('=')));
            (items.join(" & "), s["count"].as_u64().unwrap())
        })
        .collect();
    expected.sort();
    ours.sort();
    assert_eq!(ours, expected);
}

#[test]
fn binned_columns_join_the_selected_ones() {
    let dir = tempfile::tempdir().unwrap();
    let numeric = import_kits19(dir.path(), false);
    let output = explainme(&[
        "itemsets",
        "--csv",
        numeric.to_str().unwrap(),
        "--columns",
        "gender,malignant",
        "--bins",
        "radiographic_size:2,4,7",
        "--min-support",
        "0.3",
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let columns: std::collections::BTreeSet<String> = report["itemsets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap().clone())
        .map(|i| i.as_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    let expected = ["gender", "malignant", "radiographic_size"].map(String::from);
    assert_eq!(columns, expected.into_iter().collect());
}

#[test]
fn the_cap_is_reported_not_hit() {
    let dir = tempfile::tempdir().unwrap();
    let items = import_kits19(dir.path(), true);
    let csv = items.to_str().unwrap();
    let output = explainme(&[
        "itemsets",
        "--csv",
        csv,
        "--min-support",
        "0.01",
        "--max-itemsets",
        "100",
        "--format",
        "json",
    ]);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["truncated"], true);
    assert_eq!(report["itemsets"].as_array().unwrap().len(), 100);
    let output = explainme(&[
        "rules",
        "--csv",
        csv,
        "--min-support",
        "0.01",
        "--min-confidence",
        "0.9",
        "--max-itemsets",
        "100",
    ]);
    assert_one_line_error(&output, "more than 100 frequent itemsets");
}

fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        stderr
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("error: "),
        "{stderr}"
    );
    assert!(lines[0].contains(needle), "`{needle}` not in {stderr}");
}

#[test]
fn bad_arguments_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "fat,malignant\npresent,false\nabsent\n").unwrap();
    let items = import_kits19(dir.path(), true);
    let numeric = import_kits19(dir.path(), false);
    let (items, numeric, ragged) = (
        items.to_str().unwrap(),
        numeric.to_str().unwrap(),
        ragged.to_str().unwrap(),
    );
    for support in ["0", "-0.1", "1.5", "NaN"] {
        let output = explainme(&["itemsets", "--csv", items, "--min-support", support]);
        assert_one_line_error(&output, "min_support must be in (0, 1]");
    }
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "itemsets",
                "--csv",
                items,
                "--min-support",
                "0.1",
                "--columns",
                "gender,size",
            ],
            "unknown column `size`",
        ),
        (
            &[
                "itemsets",
                "--csv",
                numeric,
                "--min-support",
                "0.1",
                "--bins",
                "weight:50,80",
            ],
            "unknown column `weight`",
        ),
        (
            &[
                "itemsets",
                "--csv",
                items,
                "--min-support",
                "0.1",
                "--bins",
                "gender:1,2",
            ],
            "not a number",
        ),
        (
            &[
                "itemsets",
                "--csv",
                "/nonexistent/cases.csv",
                "--min-support",
                "0.1",
            ],
            "cannot read /nonexistent/cases.csv",
        ),
        (
            &["itemsets", "--csv", ragged, "--min-support", "0.1"],
            "ragged CSV: line 3",
        ),
        (
            &[
                "rules",
                "--csv",
                items,
                "--min-support",
                "0.1",
                "--min-confidence",
                "1.2",
            ],
            "min_confidence",
        ),
        (
            &[
                "rules",
                "--csv",
                items,
                "--min-support",
                "0.1",
                "--min-confidence",
                "0.8",
                "--target",
                "malignant=maybe",
            ],
            "no item `malignant=maybe`",
        ),
        (
            &[
                "itemsets",
                "--csv",
                numeric,
                "--min-support",
                "0.1",
                "--columns",
                "radiographic_size,gender",
            ],
            "is numeric",
        ),
    ];
    for (args, needle) in cases {
        assert_one_line_error(&explainme(args), needle);
    }
}

/// `--cv-folds` is bounded by the labelled rows of the class column, and the error says
/// so: 37 labelled rows (and 3 unlabelled, which do not count) allow 2 to 37 folds.
#[test]
fn cv_folds_are_bounded_by_the_labelled_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cases.csv");
    let mut text = String::from("fat,malignant\n");
    for i in 0..40 {
        let fat = if i % 2 == 0 { "present" } else { "absent" };
        let malignant = match i {
            37.. => "",
            _ if fat == "present" => "no",
            _ => "yes",
        };
        text.push_str(&format!("{fat},{malignant}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let run = |folds: &str| {
        explainme(&[
            "rules",
            "--csv",
            csv.to_str().unwrap(),
            "--min-support",
            "0.1",
            "--min-confidence",
            "0.5",
            "--target",
            "malignant=yes",
            "--target",
            "malignant=no",
            "--cv-folds",
            folds,
        ])
    };
    assert_one_line_error(
        &run("1000"),
        "--cv-folds 1000 exceeds the 37 rows labelled in `malignant`",
    );
    assert_one_line_error(&run("38"), "--cv-folds 38 exceeds the 37 rows labelled");
    assert_one_line_error(&run("1"), "--cv-folds must be at least 2, got 1");
    let output = run("37");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("37-fold accuracy 1.000"), "{stderr}");
}

/// stdout and `--out` carry the same CSV, which is the importer's table; the binned one is
/// the numeric one run through the recipe's schema.
#[test]
fn import_kits19_writes_the_importers_table() {
    let dir = tempfile::tempdir().unwrap();
    let items = import_kits19(dir.path(), true);
    let numeric = import_kits19(dir.path(), false);
    let table = explainme_cohort::kits19::read(kits19_json()).unwrap();
    assert_eq!(
        explainme_cohort::Table::from_csv_path(&numeric).unwrap(),
        table
    );
    let binned = explainme_cohort::kits19::schema()
        .discretise(&table)
        .unwrap();
    assert_eq!(
        explainme_cohort::Table::from_csv_path(&items).unwrap(),
        binned
    );
    let json = kits19_json();
    let stdout = explainme(&[
        "import",
        "kits19",
        "--json",
        json.to_str().unwrap(),
        "--discretise",
    ]);
    assert!(stdout.status.success());
    assert_eq!(stdout.stdout, std::fs::read(&items).unwrap());
}

/// A missing or malformed input names the file and gives its cause exactly once.
#[test]
fn missing_and_malformed_inputs_give_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("kits19.json");
    std::fs::write(&broken, "[{\"case_id\": ").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "rules",
                "--csv",
                "/nonexistent.csv",
                "--min-support",
                "0.1",
                "--min-confidence",
                "0.8",
            ],
            "cannot read /nonexistent.csv: No such file or directory",
        ),
        (
            &["import", "kits19", "--json", "/nonexistent/kits19.json"],
            "cannot read /nonexistent/kits19.json: No such file or directory",
        ),
        (
            &["import", "kits19", "--json", broken.to_str().unwrap()],
            "malformed JSON in",
        ),
    ];
    for (args, needle) in cases {
        let output = explainme(args);
        assert_one_line_error(&output, needle);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            stderr.matches("No such file").count(),
            usize::from(needle.contains("No such")),
            "{stderr}"
        );
        assert_eq!(
            stderr.matches("EOF while parsing").count(),
            usize::from(needle.contains("malformed")),
            "{stderr}"
        );
    }
}

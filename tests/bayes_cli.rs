//! `explainme bayes …` end to end through the real binary: a sample → learn → query →
//! explain round trip, and one clear one-line error for each kind of bad input.

use std::path::PathBuf;
use std::process::Command;

fn explainme(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_explainme"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn asia() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/bn/asia.bif")
        .display()
        .to_string()
}

/// `bayes query` on asia with `--format json`, parsed.
fn query(extra: &[&str]) -> serde_json::Value {
    let bif = asia();
    let mut args = vec!["bayes", "query", "--bif", &bif, "--format", "json"];
    args.extend_from_slice(extra);
    let (ok, stdout, stderr) = explainme(&args);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).expect("one JSON document")
}

/// P(first state) of the first target in a query result.
fn first_probability(result: &serde_json::Value) -> f64 {
    result["marginals"][0]["posterior"][0][1]
        .as_f64()
        .expect("number")
}

fn one_line_error(args: &[&str], expected: &str) {
    let (ok, _, stderr) = explainme(args);
    assert!(!ok, "{args:?} should fail");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn sample_learn_query_explain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("asia.csv");
    let net = dir.path().join("learned.bif");
    let (ok, _, stderr) = explainme(&[
        "bayes",
        "sample",
        "--bif",
        &asia(),
        "--n",
        "5000",
        "--seed",
        "3",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = explainme(&[
        "bayes",
        "learn",
        "--csv",
        csv.to_str().unwrap(),
        "--out",
        net.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(summary["variables"], 8);
    assert_eq!(summary["records"], 5000);
    let arcs: Vec<(String, String)> =
        serde_json::from_value(summary["arcs"].clone()).expect("arcs");
    let linked = |a: &str, b: &str| {
        arcs.iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    };
    assert!(
        linked("smoke", "lung") && linked("smoke", "bronc") && linked("either", "xray"),
        "{arcs:?}"
    );

    let evidence = ["--target", "lung,bronc", "--evidence", "xray=yes,smoke=yes"];
    let p_lung = first_probability(&query(&evidence));
    let by_tree = first_probability(&query(&[&evidence[..], &["--engine", "jt"]].concat()));
    assert!((by_tree - p_lung).abs() < 1e-12);
    let with_map = query(&[&evidence[..], &["--map"]].concat());
    let map_probability = with_map["map"][1].as_f64().expect("MAP probability");
    assert!(map_probability > 0.0 && map_probability <= p_lung.max(1.0 - p_lung));
    // A positive x-ray in a smoker must raise lung cancer above its prior.
    let prior = first_probability(&query(&["--target", "lung"]));
    assert!(p_lung > 5.0 * prior, "{p_lung} vs prior {prior}");

    let (ok, stdout, stderr) = explainme(&[
        "bayes",
        "explain",
        "--bif",
        &asia(),
        "--target",
        "lung=yes",
        "--evidence",
        "xray=yes,dysp=yes,smoke=yes",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("finding effects"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("xray=yes")),
        "{stdout}"
    );
    assert!(stdout.contains("GBF"), "{stdout}");
}

#[test]
fn a_cyclic_bif_is_one_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bif = dir.path().join("cyclic.bif");
    std::fs::write(
        &bif,
        "network c { }
         variable a { type discrete [ 2 ] { x, y }; }
         variable b { type discrete [ 2 ] { x, y }; }
         probability ( a | b ) { (x) 0.5, 0.5; (y) 0.5, 0.5; }
         probability ( b | a ) { (x) 0.5, 0.5; (y) 0.5, 0.5; }",
    )
    .expect("write");
    one_line_error(
        &[
            "bayes",
            "query",
            "--bif",
            bif.to_str().unwrap(),
            "--target",
            "a",
        ],
        "the network has a directed cycle through variable",
    );
}

#[test]
fn an_unknown_evidence_state_is_one_clear_error() {
    one_line_error(
        &[
            "bayes",
            "query",
            "--bif",
            &asia(),
            "--target",
            "lung",
            "--evidence",
            "xray=maybe",
        ],
        "variable `xray` has no state `maybe` (states: yes, no)",
    );
    one_line_error(
        &[
            "bayes",
            "explain",
            "--bif",
            &asia(),
            "--target",
            "lung=perhaps",
        ],
        "variable `lung` has no state `perhaps`",
    );
}

#[test]
fn a_csv_with_a_state_the_network_lacks_is_one_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("records.csv");
    std::fs::write(
        &csv,
        "asia,tub,smoke,lung,bronc,either,xray,dysp\nno,no,yes,no,yes,no,no,yes\nno,no,sometimes,no,no,no,no,no\n",
    )
    .expect("write");
    let out = dir.path().join("fitted.bif");
    one_line_error(
        &[
            "bayes",
            "learn",
            "--csv",
            csv.to_str().unwrap(),
            "--structure",
            &asia(),
            "--out",
            out.to_str().unwrap(),
        ],
        "variable `smoke` has no state `sometimes` (states: yes, no)",
    );
}

#[test]
fn kits19_learns_the_clinical_backbone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("kits19.csv");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let json = root.join("../shared/data/kits19/kits19.json");
    let (ok, _, stderr) = explainme(&[
        "import",
        "kits19",
        "--json",
        json.to_str().unwrap(),
        "--discretise",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let tiers = root.join("tests/fixtures/bayes/kits19_tiers.txt");
    let net = dir.path().join("kits19.bif");
    let (ok, stdout, stderr) = explainme(&[
        "bayes",
        "learn",
        "--csv",
        csv.to_str().unwrap(),
        "--tiers",
        tiers.to_str().unwrap(),
        "--out",
        net.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(summary["records"], 210);
    let arcs: Vec<(String, String)> =
        serde_json::from_value(summary["arcs"].clone()).expect("arcs");
    // Subtype decides malignancy, and the T stage is defined by tumour size: both must appear.
    assert!(
        arcs.contains(&("malignant".into(), "tumor_histologic_subtype".into())),
        "{arcs:?}"
    );
    assert!(
        arcs.iter().any(|(a, b)| [a.as_str(), b.as_str()]
            == ["pathology_t_stage", "radiographic_size"]
            || [a.as_str(), b.as_str()] == ["radiographic_size", "pathology_t_stage"]),
        "{arcs:?}"
    );
    // The tiers hold: nothing points back at the patient's own characteristics from the tumour.
    let patient = [
        "age_at_nephrectomy",
        "gender",
        "body_mass_index",
        "smoking_history",
        "alcohol_use",
    ];
    assert!(
        arcs.iter().all(|(a, b)| !patient.contains(&b.as_str())
            || patient.contains(&a.as_str())
            || ["diabetes", "chronic_kidney_disease"].contains(&a.as_str())),
        "{arcs:?}"
    );
}

/// `bayes learn` on `csv` (written to a temp dir as `name`) must fail with one line on
/// stderr holding `column N of …/name: <reason>`, before writing anything.
fn learn_refuses(name: &str, csv: &str, column: usize, reason: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, csv).expect("write");
    let out = dir.path().join("learned.bif");
    one_line_error(
        &[
            "bayes",
            "learn",
            "--csv",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &format!("column {column} of {}: {reason}", path.display()),
    );
    assert!(!out.exists(), "no network file may be written");
}

/// A name BIF cannot carry is refused before learning, naming the column or state; before
/// the fix these exited 0 with a BIF that `bayes query` could not read.
#[test]
fn learn_refuses_names_bif_cannot_carry() {
    learn_refuses(
        "spaced.csv",
        "a b,c\nx,y\ny,x\n",
        1,
        "variable name `a b` cannot be written as BIF: it contains a space",
    );
    learn_refuses(
        "comma.csv",
        "a,c\n\"x,y\",y\nz,x\n",
        1,
        "state `x,y` of variable `a` cannot be written as BIF: it contains `,`",
    );
    learn_refuses(
        "unnamed.csv",
        "a,,c\nx,y,z\ny,x,z\n",
        2,
        "variable name `` cannot be written as BIF: it is empty",
    );
}

/// A CSV whose file name BIF cannot carry still learns: the network is named `learned`, and
/// the file it writes reads back.
#[test]
fn learn_from_a_spaced_file_name_writes_a_readable_network() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("my records.csv");
    std::fs::write(&csv, "a,b\nx,u\ny,v\nx,u\ny,v\n").expect("write");
    let out = dir.path().join("learned.bif");
    let (ok, _, stderr) = explainme(&[
        "bayes",
        "learn",
        "--csv",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let bif = std::fs::read_to_string(&out).expect("written");
    assert!(bif.starts_with("network learned {"), "{bif}");
    let (ok, _, stderr) = explainme(&[
        "bayes",
        "query",
        "--bif",
        out.to_str().unwrap(),
        "--target",
        "a",
    ]);
    assert!(ok, "{stderr}");
}

/// A few KB of BIF whose child has eight parents of 100 states: its table would take
/// 8 × 10^18 bytes. Before the fix the process aborted on the allocation.
fn huge_table_bif(dir: &std::path::Path) -> PathBuf {
    let variable = |name: &str| {
        let states: Vec<String> = (0..100).map(|s| format!("s{s}")).collect();
        format!(
            "variable {name} {{ type discrete [ 100 ] {{ {} }}; }}\n",
            states.join(",")
        )
    };
    let parents: Vec<String> = (0..8).map(|p| format!("p{p}")).collect();
    let mut text = String::from("network huge { }\n");
    for p in &parents {
        text.push_str(&variable(p));
    }
    text.push_str(&variable("child"));
    text.push_str(&format!(
        "probability ( child | {} ) {{ table 0.01; }}\n",
        parents.join(", ")
    ));
    let path = dir.join("huge.bif");
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn a_bif_declaring_a_huge_table_is_one_line_naming_variable_and_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bif = huge_table_bif(dir.path());
    let bif = bif.to_str().unwrap();
    for command in [
        &["bayes", "query", "--bif", bif, "--target", "child"][..],
        &[
            "bayes",
            "sample",
            "--bif",
            bif,
            "--n",
            "10",
            "--out",
            "/dev/null",
        ],
    ] {
        one_line_error(
            command,
            "the probability table of `child` (line 11, 8 parents) would need 6.9 EiB, \
             over the memory budget of 1 GiB",
        );
    }
    one_line_error(
        &[
            "--memory-budget",
            "64MiB",
            "bayes",
            "query",
            "--bif",
            bif,
            "--target",
            "child",
        ],
        "over the memory budget of 64 MiB",
    );
}

#[test]
fn sampling_an_absurd_n_is_one_quick_line_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("records.csv");
    let started = std::time::Instant::now();
    one_line_error(
        &[
            "bayes",
            "sample",
            "--bif",
            &asia(),
            "--n",
            "100000000000",
            "--out",
            out.to_str().unwrap(),
        ],
        "100000000000 sampled records of 8 variables would need 1.5 TiB, \
         over the memory budget of 1 GiB",
    );
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    assert!(!out.exists());
}

/// Small tables whose moral graph is one clique of ten 10-state roots: the junction tree
/// (and elimination with every child observed) would need 74.5 GiB.
#[test]
fn inference_beyond_the_budget_is_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::from("network crown { }\n");
    let mut probabilities = String::new();
    let states = |k: usize| {
        (0..k)
            .map(|s| format!("s{s}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    for r in 0..10 {
        text.push_str(&format!(
            "variable r{r} {{ type discrete [ 10 ] {{ {} }}; }}\n",
            states(10)
        ));
        probabilities.push_str(&format!(
            "probability ( r{r} ) {{ table {}; }}\n",
            ["0.1"; 10].join(",")
        ));
    }
    let mut evidence = Vec::new();
    for a in 0..10 {
        for b in a + 1..10 {
            text.push_str(&format!(
                "variable c{a}_{b} {{ type discrete [ 2 ] {{ {} }}; }}\n",
                states(2)
            ));
            probabilities.push_str(&format!(
                "probability ( c{a}_{b} | r{a}, r{b} ) {{ table {}; }}\n",
                ["0.5"; 200].join(",")
            ));
            evidence.push(format!("c{a}_{b}=s0"));
        }
    }
    let bif = dir.path().join("crown.bif");
    std::fs::write(&bif, text + &probabilities).expect("write");
    let bif = bif.to_str().unwrap();
    one_line_error(
        &[
            "bayes", "query", "--bif", bif, "--target", "r0", "--engine", "jt",
        ],
        "the junction tree's 46 clique tables (the largest over 10 variables) would need \
         74.5 GiB, over the memory budget of 1 GiB",
    );
    let evidence = evidence.join(",");
    one_line_error(
        &[
            "bayes",
            "query",
            "--bif",
            bif,
            "--target",
            "r0",
            "--evidence",
            &evidence,
        ],
        "variable elimination: the factor over 10 variables formed by eliminating `r",
    );
}

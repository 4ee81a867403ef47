//! ALARM side by side with pgmpy, in one run, one table: hill climbing + BIC on 5000
//! records (sampled by pgmpy and by us) with CPDAG SHD against the true network, a
//! variable-elimination marginal, and junction-tree calibration.
//!
//! `cargo bench --bench bayes`. pgmpy runs through `benches/peers/bayes_bench.py`
//! (pinned in `benches/peers/requirements-bayes.txt`). pgmpy's junction-tree calibration
//! takes over a minute; set `BAYES_BENCH_PGMPY_JT=1` to include it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use explainme_bayes::cpdag::{Cpdag, cpdag, shd};
use explainme_bayes::learn::{CiTest, HillClimb, Pc};
use explainme_bayes::{BayesNet, Dag, Dataset, Evidence, JunctionTree, Score, VariableElimination};
use explainme_cohort::Table;

const QUERY_TARGET: &str = "HYPOVOLEMIA";
const QUERY_EVIDENCE: &str = "HRBP=HIGH,BP=LOW,CVP=LOW";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pgmpy(args: &[&str]) -> serde_json::Value {
    let output = Command::new("python3")
        .arg(root().join("benches/peers/bayes_bench.py"))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "pgmpy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("pgmpy prints one JSON document")
}

fn read_csv(path: &Path) -> Dataset {
    let table = Table::from_csv_path(path).expect("CSV reads");
    Dataset::from_rows(table.columns(), table.rows().iter().cloned()).expect("CSV codes")
}

fn write_csv(data: &Dataset, path: &Path) {
    let (columns, rows) = data.to_records();
    let mut file = std::fs::File::create(path).expect("create CSV");
    Table::new(columns, rows)
        .expect("table")
        .write_csv(&mut file)
        .expect("write CSV");
}

/// A DAG given by variable names, re-indexed to the network's variables.
fn dag_by_names(net: &BayesNet, edges: impl IntoIterator<Item = (String, String)>) -> Dag {
    let mut parents = vec![Vec::new(); net.len()];
    for (from, to) in edges {
        parents[net.index_of(&to).expect("known")].push(net.index_of(&from).expect("known"));
    }
    Dag::from_parents(parents).expect("learned DAG is acyclic")
}

fn learned_edges(data: &Dataset, dag: &Dag) -> Vec<(String, String)> {
    let name = |v: usize| data.variables()[v].name.clone();
    dag.edges()
        .into_iter()
        .map(|(a, b)| (name(a), name(b)))
        .collect()
}

/// SHD of a DAG over the data's columns against the true CPDAG, with its arcs and BIC.
fn summary(net: &BayesNet, data: &Dataset, dag: &Dag, truth: &Cpdag) -> String {
    let in_net = dag_by_names(net, learned_edges(data, dag));
    format!(
        "SHD {:>2} ({} arcs, BIC {:.1})",
        shd(&cpdag(&in_net), truth),
        dag.edges().len(),
        explainme_bayes::network_score(data, dag, Score::Bic)
    )
}

/// A pattern over the data's columns re-indexed to the network's variables.
fn pattern_in(net: &BayesNet, data: &Dataset, pattern: &Cpdag) -> Cpdag {
    let index = |v: usize| {
        net.index_of(&data.variables()[v].name)
            .expect("same variables")
    };
    Cpdag {
        directed: pattern
            .directed
            .iter()
            .map(|&(a, b)| (index(a), index(b)))
            .collect(),
        undirected: pattern
            .undirected
            .iter()
            .map(|&(a, b)| (index(a).min(index(b)), index(a).max(index(b))))
            .collect(),
    }
}

/// Median seconds of `runs` calls, and the last result.
fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], last.expect("at least one run"))
}

fn main() {
    let alarm_path = root().join("../shared/data/bn/alarm.bif");
    let alarm =
        explainme_bayes::read_bif(&std::fs::read_to_string(&alarm_path).expect("alarm.bif"))
            .expect("parses");
    let truth = cpdag(&alarm.dag());
    let work = root().join("target/bayes-bench");
    std::fs::create_dir_all(&work).expect("bench dir");

    let pgmpy_csv = work.join("alarm_5000_pgmpy.csv");
    pgmpy(&["sample", pgmpy_csv.to_str().expect("utf-8 path")]);
    let ours_csv = work.join("alarm_5000_ours.csv");
    write_csv(
        &explainme_bayes::forward_sample(&alarm, 5000, 42),
        &ours_csv,
    );

    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for (label, csv) in [("pgmpy", &pgmpy_csv), ("ours", &ours_csv)] {
        let data = read_csv(csv);
        let defaults = HillClimb::params().score(Score::Bic);
        let (seconds, dag) = timed(5, || defaults.fit(&data).expect("learns"));
        rows.push((
            "explainme HC + BIC (pgmpy's defaults)".into(),
            format!("{label}-sampled"),
            format!("{:.1} ms", seconds * 1e3),
            summary(&alarm, &data, &dag, &truth),
        ));
        for seed in 1..=5 {
            let params = HillClimb::params()
                .score(Score::Bic)
                .patience(10)
                .restarts(50)
                .perturbation(10)
                .seed(seed);
            let (seconds, dag) = timed(3, || params.fit(&data).expect("learns"));
            rows.push((
                format!("explainme HC + BIC, tabu + 50 restarts, seed {seed}"),
                format!("{label}-sampled"),
                format!("{:.1} ms", seconds * 1e3),
                summary(&alarm, &data, &dag, &truth),
            ));
        }
        let pc = Pc::params()
            .test(CiTest::ChiSquare)
            .alpha(0.01)
            .max_condition(3);
        let (seconds, learned) = timed(3, || pc.fit(&data).expect("learns"));
        rows.push((
            "explainme PC-stable, chi-square, alpha 0.01".into(),
            format!("{label}-sampled"),
            format!("{:.1} ms", seconds * 1e3),
            format!(
                "SHD {:>2} (pattern)",
                shd(&pattern_in(&alarm, &data, &learned.cpdag), &truth)
            ),
        ));
        let peer_pc = pgmpy(&["pc", csv.to_str().expect("utf-8 path")]);
        let mut directed = Vec::new();
        let mut undirected = Vec::new();
        let pairs: Vec<(usize, usize)> = peer_pc["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| {
                (
                    alarm.index_of(e[0].as_str().expect("name")).expect("known"),
                    alarm.index_of(e[1].as_str().expect("name")).expect("known"),
                )
            })
            .collect();
        for &(a, b) in &pairs {
            if pairs.contains(&(b, a)) {
                if a < b {
                    undirected.push((a, b));
                }
            } else {
                directed.push((a, b));
            }
        }
        rows.push((
            "pgmpy PC-stable, chi-square, alpha 0.01".into(),
            format!("{label}-sampled"),
            format!(
                "{:.1} ms",
                peer_pc["seconds"].as_f64().expect("seconds") * 1e3
            ),
            format!(
                "SHD {:>2} (pattern)",
                shd(
                    &Cpdag {
                        directed,
                        undirected
                    },
                    &truth
                )
            ),
        ));
        let peer = pgmpy(&["learn", csv.to_str().expect("utf-8 path")]);
        let edges = peer["edges"].as_array().expect("edges").iter().map(|e| {
            (
                e[0].as_str().expect("name").to_owned(),
                e[1].as_str().expect("name").to_owned(),
            )
        });
        let learned = dag_by_names_in(&data, &dag_by_names(&alarm, edges), &alarm);
        rows.push((
            "pgmpy HC + BIC".into(),
            format!("{label}-sampled"),
            format!("{:.1} ms", peer["seconds"].as_f64().expect("seconds") * 1e3),
            summary(&alarm, &data, &learned, &truth),
        ));
    }

    let ve = VariableElimination::new(&alarm);
    let target = alarm.index_of(QUERY_TARGET).expect("known");
    let evidence = Evidence::parse(&alarm, QUERY_EVIDENCE).expect("evidence");
    let runs = 20_000;
    let start = Instant::now();
    let mut posterior = Vec::new();
    for _ in 0..runs {
        posterior = ve.marginal(target, &evidence).expect("query");
    }
    let ours_ve = start.elapsed().as_secs_f64() / runs as f64;
    let peer_ve = pgmpy(&["query"]);
    let peer_posterior: Vec<f64> =
        serde_json::from_value(peer_ve["posterior"].clone()).expect("posterior");
    let deviation = posterior
        .iter()
        .zip(&peer_posterior)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let query = format!("P({QUERY_TARGET} | {QUERY_EVIDENCE})");
    rows.push((
        "explainme VE marginal".into(),
        query.clone(),
        format!("{:.1} µs", ours_ve * 1e6),
        format!("max |Δ| vs pgmpy {deviation:.1e}"),
    ));
    rows.push((
        "pgmpy VE marginal".into(),
        query,
        format!(
            "{:.1} µs",
            peer_ve["seconds"].as_f64().expect("seconds") * 1e6
        ),
        String::new(),
    ));

    let (compile, tree) = timed(21, || JunctionTree::new(&alarm).expect("ALARM compiles"));
    let (calibrate, _) = timed(201, || {
        tree.calibrate(&evidence)
            .expect("calibrates")
            .probability_of_evidence()
    });
    let calibrated = tree.calibrate(&evidence).expect("calibrates");
    let (all_marginals, _) = timed(201, || {
        (0..alarm.len())
            .map(|v| calibrated.marginal(v)[0])
            .sum::<f64>()
    });
    let biggest = tree.cliques().iter().map(Vec::len).max().unwrap_or(0);
    rows.push((
        "explainme JT compile".into(),
        format!("{} cliques, largest {biggest}", tree.cliques().len()),
        format!("{:.1} µs", compile * 1e6),
        String::new(),
    ));
    rows.push((
        "explainme JT calibrate (with evidence)".into(),
        "ALARM".into(),
        format!("{:.1} µs", calibrate * 1e6),
        String::new(),
    ));
    rows.push((
        "explainme JT all 37 marginals".into(),
        "after calibration".into(),
        format!("{:.1} µs", all_marginals * 1e6),
        String::new(),
    ));
    if std::env::var_os("BAYES_BENCH_PGMPY_JT").is_some() {
        let peer = pgmpy(&["calibrate"]);
        rows.push((
            "pgmpy BeliefPropagation calibrate".into(),
            "ALARM".into(),
            format!("{:.1} ms", peer["seconds"].as_f64().expect("seconds") * 1e3),
            String::new(),
        ));
    } else {
        rows.push((
            "pgmpy BeliefPropagation calibrate".into(),
            "ALARM".into(),
            "not run".into(),
            "set BAYES_BENCH_PGMPY_JT=1".into(),
        ));
    }

    println!("\n{:<48} {:<42} {:>11}  result", "what", "data", "time");
    for (what, data, time, result) in rows {
        println!("{what:<48} {data:<42} {time:>11}  {result}");
    }
}

/// The DAG `learned` (indexed like `net`) re-indexed to the data's columns.
fn dag_by_names_in(data: &Dataset, learned: &Dag, net: &BayesNet) -> Dag {
    let mut parents = vec![Vec::new(); data.variables().len()];
    for (from, to) in learned.edges() {
        let index = |v: usize| {
            data.index_of(&net.variable(v).name)
                .expect("same variables")
        };
        parents[index(to)].push(index(from));
    }
    Dag::from_parents(parents).expect("acyclic")
}

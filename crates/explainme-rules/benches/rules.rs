//! FP-growth and rule generation side by side with pyfim and mlxtend, in one run.
//!
//! `cargo bench -p explainme-rules --bench rules` times explainme-rules on the two 20,000-row benchmark tables
//! (`crates/explainme-rules/tests/fixtures/synthetic_{levels,binary}.csv`, written by
//! `benches/peers/rules_data.py`), then runs `benches/peers/rules_bench.py` on the same files
//! and prints one table with the ratios (ours / theirs: below 1 means we are faster).
//! Best of repeated runs in thread CPU time on both sides; mlxtend runs once (it takes seconds). Set
//! `EXPLAINME_BENCH_SKIP_MLXTEND=1` to leave mlxtend out.
//!
//! Last, ours alone on tables with a case-id column (50,000 to 400,000 distinct items, every
//! one frequent): the time per item must stay flat, where it once grew with the item count.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use explainme_cohort::Table;
use explainme_rules::{AssociationRules, FpGrowth, Transactions};

const MIN_SUPPORT: f64 = 0.01;
const MIN_CONFIDENCE: f64 = 0.8;
const REPEAT: usize = 21;

/// CPU time of the calling thread: unlike wall time it does not count the time other
/// processes held the core, which on a shared 2-core machine is most of the noise. The
/// peer script measures `time.thread_time()`, the same clock.
fn thread_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec and the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is available on Linux");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// The fastest of `REPEAT` runs in thread CPU time (the minimum is the least disturbed
/// estimate; the peer script reports the same statistic on the same clock).
fn best_seconds<T>(mut run: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..REPEAT {
        let start = thread_seconds();
        let value = black_box(run());
        best = best.min(thread_seconds() - start);
        last = Some(value);
    }
    (best, last.expect("REPEAT > 0"))
}

fn encode(table: &Table) -> Transactions {
    let rows = table
        .rows()
        .iter()
        .map(|row| row.iter().map(|cell| cell.as_deref()));
    Transactions::from_rows(table.columns(), rows).expect("rectangular table")
}

struct Ours {
    encode_and_mine: f64,
    mine: f64,
    itemsets: usize,
    rules_single_head: f64,
    n_rules_single_head: usize,
    rules_all: f64,
    n_rules_all: usize,
}

fn time_ours(path: &Path) -> Ours {
    let table = Table::from_csv_path(path).expect("benchmark table");
    let params = FpGrowth::params().min_support(MIN_SUPPORT);
    let (encode_and_mine, found) = best_seconds(|| params.mine(&encode(&table)).expect("mining"));
    let transactions = encode(&table);
    let (mine, _) = best_seconds(|| params.mine(&transactions).expect("mining"));
    let rules = |max_consequent_len| {
        let itemsets = params.mine(&transactions).expect("mining");
        AssociationRules::params()
            .min_confidence(MIN_CONFIDENCE)
            .max_consequent_len(max_consequent_len)
            .generate(&itemsets, &transactions)
            .expect("rules")
    };
    let (rules_single_head, single) = best_seconds(|| rules(Some(1)));
    let (rules_all, all) = best_seconds(|| rules(None));
    Ours {
        encode_and_mine,
        mine,
        itemsets: found.itemsets.len(),
        rules_single_head,
        n_rules_single_head: single.len(),
        rules_all,
        n_rules_all: all.len(),
    }
}

/// `n` rows of a unique case id, one of four grades and one of two sides.
fn case_ids(n: usize) -> Transactions {
    let columns = ["case", "grade", "side"].map(String::from);
    let rows: Vec<[Option<String>; 3]> = (0..n)
        .map(|i| {
            [
                Some(format!("c{i}")),
                Some(format!("g{}", i % 4)),
                Some(format!("s{}", i % 2)),
            ]
        })
        .collect();
    Transactions::from_rows(
        &columns,
        rows.iter().map(|r| r.iter().map(|c| c.as_deref())),
    )
    .expect("rectangular rows")
}

/// Mining time per distinct item on case-id tables of growing size, at a support that keeps
/// every item; flat when mining is linear in the items.
fn many_distinct_items() {
    println!("case-id tables, min support 1e-6 (every item frequent); best of 5 runs");
    println!(
        "{:>9} {:>11} {:>11} {:>14}",
        "items", "mine", "itemsets", "ns per item"
    );
    for n in [50_000, 100_000, 200_000, 400_000] {
        let transactions = case_ids(n);
        let params = FpGrowth::params()
            .min_support(1e-6)
            .max_itemsets(usize::MAX);
        let mut best = f64::INFINITY;
        let mut itemsets = 0;
        for _ in 0..5 {
            let start = thread_seconds();
            let found = black_box(params.mine(&transactions).expect("mining"));
            best = best.min(thread_seconds() - start);
            itemsets = found.itemsets.len();
        }
        let items = transactions.items().len();
        println!(
            "{items:>9} {best:>9.4} s {itemsets:>11} {:>14.1}",
            best * 1e9 / items as f64
        );
    }
}

fn main() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = crate_dir.join("../..");
    let fixtures = crate_dir.join("tests/fixtures");
    let tables = ["synthetic_levels.csv", "synthetic_binary.csv"];
    let ours: Vec<Ours> = tables
        .iter()
        .map(|t| time_ours(&fixtures.join(t)))
        .collect();

    let mut peer = Command::new("python3");
    peer.arg(root.join("benches/peers/rules_bench.py"))
        .arg("--min-support")
        .arg(MIN_SUPPORT.to_string())
        .arg("--min-confidence")
        .arg(MIN_CONFIDENCE.to_string());
    if std::env::var_os("EXPLAINME_BENCH_SKIP_MLXTEND").is_some() {
        peer.arg("--skip-mlxtend");
    }
    peer.args(tables.iter().map(|t| fixtures.join(t)));
    let peers: serde_json::Value = match peer.output() {
        Ok(out) if out.status.success() => {
            serde_json::from_slice(&out.stdout).expect("rules_bench.py prints JSON")
        }
        Ok(out) => {
            eprintln!(
                "peers failed (pip install -r benches/peers/requirements-rules.txt): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::Value::Null
        }
        Err(e) => {
            eprintln!("cannot run python3: {e}");
            serde_json::Value::Null
        }
    };

    println!(
        "min support {MIN_SUPPORT}, min confidence {MIN_CONFIDENCE}; best of {REPEAT} runs, thread CPU time (mlxtend: 1 run)"
    );
    println!(
        "{:<22} {:<34} {:>11} {:>9}   {:<22} {:>11} {:>9}",
        "table", "task", "explainme", "count", "peer", "peer time", "ratio"
    );
    for (table, ours) in tables.iter().zip(&ours) {
        let p = &peers[*table];
        let rows: [(&str, f64, usize, &str, &str, &str); 6] = [
            (
                "fpgrowth (encode + mine)",
                ours.encode_and_mine,
                ours.itemsets,
                "pyfim fpgrowth",
                "pyfim_fpgrowth",
                "pyfim_itemsets",
            ),
            (
                "fpgrowth (mine)",
                ours.mine,
                ours.itemsets,
                "pyfim fpgrowth",
                "pyfim_fpgrowth",
                "pyfim_itemsets",
            ),
            (
                "fpgrowth (encode + mine)",
                ours.encode_and_mine,
                ours.itemsets,
                "mlxtend fpgrowth",
                "mlxtend_fpgrowth",
                "mlxtend_itemsets",
            ),
            (
                "rules 1-item heads, all metrics",
                ours.rules_single_head,
                ours.n_rules_single_head,
                "pyfim arules",
                "pyfim_arules",
                "pyfim_rules",
            ),
            (
                "rules all heads, all metrics",
                ours.rules_all,
                ours.n_rules_all,
                "pyfim arules",
                "pyfim_arules",
                "pyfim_rules",
            ),
            (
                "rules all heads, all metrics",
                ours.rules_all,
                ours.n_rules_all,
                "mlxtend fpgrowth+rules",
                "mlxtend_rules",
                "mlxtend_rule_count",
            ),
        ];
        for (task, seconds, count, peer_name, peer_key, peer_count) in rows {
            let mut peer_time = p[peer_key].as_f64();
            if peer_key == "mlxtend_rules" {
                peer_time = peer_time
                    .zip(p["mlxtend_fpgrowth"].as_f64())
                    .map(|(a, b)| a + b);
            }
            let (peer_text, ratio) = match peer_time {
                Some(t) => (format!("{:.4} s", t), format!("{:.3}", seconds / t)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            let peer_count = p[peer_count]
                .as_u64()
                .map_or("-".to_owned(), |c| c.to_string());
            println!(
                "{:<22} {:<34} {:>9.4} s {:>9}   {:<22} {:>11} {:>9}   (peer count {peer_count})",
                table, task, seconds, count, peer_name, peer_text, ratio
            );
        }
    }
    println!();
    many_distinct_items();
}

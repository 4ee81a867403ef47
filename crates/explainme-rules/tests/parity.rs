//! Parity with mlxtend 0.25 and pyfim 6.28 on the real KiTS19 records and two synthetic
//! 20,000-row tables. The golden files and the script that made them:
//! `benches/peers/rules_golden.py` (inputs from `benches/peers/rules_data.py`).
//!
//! The KiTS19 table is never a fixture: it is derived from the shared records
//! (`../shared/data/kits19/kits19.json`) by explainme-cohort's importer, and the golden
//! SHA-256 of the table the peers mined proves it is the same table.
//!
//! Itemsets and counts must be identical; every rule metric must agree to 1e-12 relative
//! (infinite conviction must be infinite on both sides), and so must Fisher's p-values
//! (scipy.stats.fisher_exact) and their Benjamini–Hochberg adjustment
//! (scipy.stats.false_discovery_control).

use std::collections::BTreeMap;
use std::path::PathBuf;

use explainme_cohort::{Table, kits19};
use explainme_rules::{AssociationRules, FpGrowth, ItemId, ItemsetKind, Rule, Transactions};
use sha2::{Digest, Sha256};

const SEP: &str = " & ";
const METRICS: [&str; 14] = Rule::METRIC_NAMES;

struct Case {
    name: &'static str,
    table: Source,
    item_support: f64,
    rule_support: f64,
    min_confidence: f64,
    targets: &'static [(&'static str, &'static str)],
}

const KITS19: Case = Case {
    name: "kits19",
    table: Source::Kits19,
    item_support: 0.15,
    rule_support: 0.2,
    min_confidence: 0.85,
    targets: &[
        ("malignant", "true"),
        ("tumor_histologic_subtype", "clear_cell_rcc"),
    ],
};
const LEVELS: Case = Case {
    name: "levels",
    table: Source::Fixture("synthetic_levels.csv"),
    item_support: 0.01,
    rule_support: 0.05,
    min_confidence: 0.6,
    targets: &[("f0", "L3"), ("f3", "L1")],
};
const BINARY: Case = Case {
    name: "binary",
    table: Source::Fixture("synthetic_binary.csv"),
    item_support: 0.02,
    rule_support: 0.1,
    min_confidence: 0.7,
    targets: &[("b00", "1")],
};

/// Where a case's table comes from.
enum Source {
    /// The discretised KiTS19 records, read through the importer.
    Kits19,
    /// A synthetic CSV table under `tests/fixtures/`.
    Fixture(&'static str),
}

impl Source {
    fn table(&self) -> Table {
        match self {
            Source::Kits19 => kits19::schema().discretise(&kits19_numeric()).unwrap(),
            Source::Fixture(name) => Table::from_csv_path(fixture(name)).unwrap(),
        }
    }
}

/// The KiTS19 records, imported with the numbers still numbers.
fn kits19_numeric() -> Table {
    let json =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/kits19/kits19.json");
    kits19::read(json).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn transactions(table: &Table) -> Transactions {
    let rows = table
        .rows()
        .iter()
        .map(|row| row.iter().map(|cell| cell.as_deref()));
    Transactions::from_rows(table.columns(), rows).unwrap()
}

fn key(t: &Transactions, items: &[ItemId]) -> String {
    let mut labels: Vec<String> = items.iter().map(|&i| t.label(i).to_string()).collect();
    labels.sort();
    labels.join(SEP)
}

fn golden(path: &str) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(fixture(&format!("golden/{path}"))).unwrap()
}

fn check_itemsets(case: &Case, t: &Transactions, kind: ItemsetKind, file: &str) {
    let found = FpGrowth::params()
        .min_support(case.item_support)
        .kind(kind)
        .mine(t)
        .unwrap();
    assert!(!found.truncated);
    let ours: BTreeMap<String, (u32, f64)> = found
        .itemsets
        .iter()
        .map(|s| (key(t, &s.items), (s.count, found.support(s))))
        .collect();
    assert_eq!(ours.len(), found.itemsets.len(), "duplicate itemsets");
    let mut expected = BTreeMap::new();
    for record in golden(file).records() {
        let record = record.unwrap();
        let count: u32 = record[1].parse().unwrap();
        let support: f64 = record[2].parse().unwrap();
        expected.insert(record[0].to_owned(), (count, support));
    }
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !ours.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = ours
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{file}: missing {missing:?}, extra {extra:?}"
    );
    // Supports are count / n on both sides: identical, not merely close.
    assert_eq!(ours, expected, "{file}");
}

/// Equal to 1e-12 relative; values within 1e-300 of zero count as zero (a p-value that
/// underflows on one side), infinities must match exactly.
fn agree(ours: f64, theirs: f64) -> bool {
    if ours.is_infinite() || theirs.is_infinite() {
        return ours == theirs;
    }
    (ours - theirs).abs() <= 1e-12 * ours.abs().max(theirs.abs()).max(1e-300)
}

fn check_rules(case: &Case, t: &Transactions, targets: Vec<ItemId>, prune: bool, file: &str) {
    let itemsets = FpGrowth::params()
        .min_support(case.rule_support)
        .mine(t)
        .unwrap();
    let rules = AssociationRules::params()
        .min_confidence(case.min_confidence)
        .targets(targets)
        .prune_redundant(prune)
        .generate(&itemsets, t)
        .unwrap();
    let ours: BTreeMap<(String, String), [f64; 14]> = rules
        .iter()
        .map(|r| ((key(t, &r.antecedent), key(t, &r.consequent)), r.metrics()))
        .collect();
    assert_eq!(ours.len(), rules.len(), "{file}: duplicate rules");
    let mut expected = BTreeMap::new();
    for record in golden(file).records() {
        let record = record.unwrap();
        let values: Vec<f64> = (2..16).map(|i| record[i].parse().unwrap()).collect();
        expected.insert(
            (record[0].to_owned(), record[1].to_owned()),
            <[f64; 14]>::try_from(values).unwrap(),
        );
    }
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{file}: different rules"
    );
    let mut worst = [0.0f64; 14];
    let mut infinite = 0;
    for (rule, theirs) in &expected {
        let mine = &ours[rule];
        for m in 0..14 {
            assert!(
                agree(mine[m], theirs[m]),
                "{file}: {rule:?} {}: ours {} mlxtend/scipy {}",
                METRICS[m],
                mine[m],
                theirs[m]
            );
            if theirs[m].is_finite() && theirs[m] != 0.0 {
                worst[m] = worst[m].max((mine[m] - theirs[m]).abs() / theirs[m].abs());
            }
        }
        infinite += usize::from(theirs[7].is_infinite());
    }
    eprintln!(
        "{file}: {} rules, {infinite} with infinite conviction; worst relative differences: {}",
        expected.len(),
        METRICS
            .iter()
            .zip(worst)
            .map(|(m, w)| format!("{m} {w:.1e}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn check_case(case: &Case) {
    let table = case.table.table();
    let t = transactions(&table);
    check_itemsets(
        case,
        &t,
        ItemsetKind::All,
        &format!("{}_itemsets.csv", case.name),
    );
    check_itemsets(
        case,
        &t,
        ItemsetKind::Closed,
        &format!("{}_closed.csv", case.name),
    );
    check_itemsets(
        case,
        &t,
        ItemsetKind::Maximal,
        &format!("{}_maximal.csv", case.name),
    );
    check_rules(
        case,
        &t,
        Vec::new(),
        false,
        &format!("{}_rules.csv", case.name),
    );
    let targets: Vec<ItemId> = case
        .targets
        .iter()
        .map(|(c, v)| t.item_id(c, v).unwrap())
        .collect();
    check_rules(
        case,
        &t,
        targets.clone(),
        false,
        &format!("{}_class_rules.csv", case.name),
    );
    check_rules(
        case,
        &t,
        targets,
        true,
        &format!("{}_class_rules_pruned.csv", case.name),
    );
}

#[test]
fn kits19_matches_mlxtend_and_pyfim() {
    check_case(&KITS19);
}

#[test]
fn synthetic_levels_matches_mlxtend_and_pyfim() {
    check_case(&LEVELS);
}

#[test]
fn synthetic_binary_matches_mlxtend_and_pyfim() {
    check_case(&BINARY);
}

/// The importer's discretised table is, byte for byte, the `kits19_items.csv` that
/// `benches/peers/rules_data.py` wrote and mlxtend and pyfim mined (its SHA-256 is golden).
#[test]
fn kits19_importer_gives_the_peers_table() {
    let mut csv = Vec::new();
    Source::Kits19.table().write_csv(&mut csv).unwrap();
    let ours = format!("{:x}", Sha256::digest(&csv));
    let golden = std::fs::read_to_string(fixture("golden/kits19_items.sha256")).unwrap();
    assert_eq!(golden.split_whitespace().next(), Some(ours.as_str()));
}

/// The recipe's cut points given explicitly (as `explainme rules --bins` does) bin the
/// numeric table exactly as the importer's schema does.
#[test]
fn kits19_binning_reproduces_the_peers_table() {
    let mut table = kits19_numeric();
    for (column, cuts) in [
        ("age_at_nephrectomy", &[50.0, 65.0, 75.0][..]),
        ("body_mass_index", &[25.0, 30.0]),
        ("radiographic_size", &[2.0, 4.0, 7.0]),
    ] {
        table = table.discretise(column, cuts).unwrap();
    }
    assert_eq!(table, Source::Kits19.table());
}

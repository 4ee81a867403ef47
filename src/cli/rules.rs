//! `explainme rules` and `explainme itemsets`: association rules and frequent itemsets of
//! any categorical CSV table, the real KiTS19 records included.
//!
//! The table is read and binned by explainme-cohort, turned into `column=value` items (an
//! empty cell gives none) and mined by explainme-rules. Numeric columns are used only when
//! `--bins` gives their cut points: a number is not a category, and guessing bins would
//! make the rules depend on an invisible choice. CSV output uses mlxtend's column names;
//! JSON gives itemsets as arrays of `column=value`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use explainme_cohort::Table;
use explainme_rules::{
    AssociationRules, FpGrowth, FrequentItemsets, ItemId, ItemsetKind, Rule, RuleList, Transactions,
};
use serde::Serialize;

use super::output::write_to;

/// `--format csv|json` of the mining commands: CSV for spreadsheets and pandas, one JSON
/// document for scripts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TableFormat {
    #[default]
    Csv,
    Json,
}

/// `--kind all|closed|maximal`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    #[default]
    All,
    Closed,
    Maximal,
}

impl From<Kind> for ItemsetKind {
    fn from(kind: Kind) -> ItemsetKind {
        match kind {
            Kind::All => ItemsetKind::All,
            Kind::Closed => ItemsetKind::Closed,
            Kind::Maximal => ItemsetKind::Maximal,
        }
    }
}

/// The input table, its items and the mining threshold, shared by both commands.
#[derive(Debug, clap::Args)]
pub struct TableArgs {
    /// CSV file with a header row; an empty cell is "not labelled" and gives no item.
    #[arg(long)]
    pub csv: PathBuf,
    /// Use only these columns (comma-separated), e.g. `--columns fat,malignant`; columns
    /// given `--bins` are added.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Cut points of a numeric column, `column:2,4,7` gives `<2`, `2-4`, `4-7`, `>=7`
    /// (intervals closed on the left). Repeat for more columns. Numeric columns without
    /// cut points are left out.
    #[arg(long = "bins", value_parser = parse_bins)]
    pub bins: Vec<(String, Vec<f64>)>,
    /// Minimum support, a fraction of rows in (0, 1]; an itemset is frequent when its
    /// count reaches ceil(min_support × rows), mlxtend's rule.
    #[arg(long, allow_negative_numbers = true)]
    pub min_support: f64,
    /// Which itemsets: every frequent one, closed ones, or maximal ones. For `rules`, the
    /// rules come from itemsets of this kind.
    #[arg(long, value_enum, default_value_t)]
    pub kind: Kind,
    /// Cap on the number of frequent itemsets, so a tiny support cannot exhaust memory.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_itemsets: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: TableFormat,
    /// Write the result to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ItemsetsArgs {
    #[command(flatten)]
    pub table: TableArgs,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// Minimum confidence in [0, 1].
    #[arg(long, allow_negative_numbers = true)]
    pub min_confidence: f64,
    /// Class association rules: the consequent must be one of these `column=value` items,
    /// and antecedents use no target column. Repeat or list several.
    #[arg(long = "target", num_args = 1..)]
    pub targets: Vec<String>,
    /// Keep a rule only if its confidence beats every rule with the same consequent and a
    /// non-empty proper subset of its antecedent.
    #[arg(long)]
    pub prune: bool,
    /// With targets all in one column: also fit a CBA rule list that predicts that column
    /// (all its values, not only the targets) and report its k-fold cross-validated accuracy
    /// next to the majority-class baseline.
    #[arg(long)]
    pub cv_folds: Option<usize>,
    /// Seed of the cross-validation shuffle.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn parse_bins(text: &str) -> Result<(String, Vec<f64>), String> {
    let (column, cuts) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not `column:cut,cut,...`"))?;
    let cuts = cuts
        .split(',')
        .map(|c| {
            c.trim()
                .parse::<f64>()
                .map_err(|_| format!("`{c}` in `{text}` is not a number"))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    Ok((column.trim().to_owned(), cuts))
}

/// The table as transactions, plus the numeric columns that were left out.
struct Prepared {
    transactions: Transactions,
    left_out: Vec<String>,
}

fn prepare(args: &TableArgs) -> anyhow::Result<Prepared> {
    let (table, left_out) = categorical_table(&args.csv, &args.columns, &args.bins)?;
    let rows = table
        .rows()
        .iter()
        .map(|row| row.iter().map(|cell| cell.as_deref()));
    let transactions = Transactions::from_rows(table.columns(), rows)?;
    if !left_out.is_empty() && args.format == TableFormat::Csv {
        eprintln!(
            "note: numeric columns left out (give --bins to use them): {}",
            left_out.join(", ")
        );
    }
    Ok(Prepared {
        transactions,
        left_out,
    })
}

/// The CSV at `csv` as categorical cells: only `columns` (all when empty; binned columns
/// are added), numeric columns binned by `bins`; numeric columns without cut points are
/// left out (named in the second value), or refused when `columns` asks for them.
pub fn categorical_table(
    csv: &std::path::Path,
    columns: &[String],
    bins: &[(String, Vec<f64>)],
) -> anyhow::Result<(Table, Vec<String>)> {
    let mut table = Table::from_csv_path(csv)?;
    if !columns.is_empty() {
        // A column given cut points is wanted too, even when `--columns` does not repeat it.
        let mut names: Vec<&str> = columns.iter().map(String::as_str).collect();
        for (column, _) in bins {
            if !names.contains(&column.as_str()) {
                names.push(column);
            }
        }
        table = table.select(&names)?;
    }
    for (column, cuts) in bins {
        table = table.discretise(column, cuts)?;
    }
    let binned = |c: &str| bins.iter().any(|(b, _)| b == c);
    let mut keep = Vec::new();
    let mut left_out = Vec::new();
    for (index, column) in table.columns().iter().enumerate() {
        let numeric = !binned(column) && is_numeric(&table, index);
        if !numeric {
            keep.push(column.as_str());
        } else if columns.contains(column) {
            bail!("column `{column}` is numeric: give its cut points with --bins {column}:a,b,...");
        } else {
            left_out.push(column.clone());
        }
    }
    if keep.is_empty() {
        bail!("no categorical column left (numeric columns need --bins)");
    }
    Ok((table.select(&keep)?, left_out))
}

/// A column whose labelled cells are all numbers (and that has at least one).
fn is_numeric(table: &Table, index: usize) -> bool {
    let mut cells = table
        .rows()
        .iter()
        .filter_map(|row| row[index].as_deref())
        .peekable();
    cells.peek().is_some() && cells.all(|cell| cell.parse::<f64>().is_ok_and(|v| v.is_finite()))
}

fn mine(args: &TableArgs, t: &Transactions, kind: ItemsetKind) -> anyhow::Result<FrequentItemsets> {
    Ok(FpGrowth::params()
        .min_support(args.min_support)
        .kind(kind)
        .max_itemsets(args.max_itemsets)
        .mine(t)?)
}

/// Items as `column=value` labels, sorted.
fn labels(t: &Transactions, items: &[ItemId]) -> Vec<String> {
    let mut labels: Vec<String> = items.iter().map(|&i| t.label(i).to_string()).collect();
    labels.sort();
    labels
}

/// The separator of items inside one CSV cell: reads as a conjunction.
const AND: &str = " & ";

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(&row)?;
    }
    writer.into_inner().context("cannot finish the CSV")
}

/// Shortest round-trip text of a float, with exponents for tiny p-values and `inf` for an
/// infinite conviction (pandas reads both).
fn number(value: f64) -> String {
    format!("{value:?}")
}

#[derive(Serialize)]
struct ItemsetsReport {
    rows: usize,
    min_support: f64,
    min_count: u32,
    kind: ItemsetKind,
    /// `true` when mining stopped at `--max-itemsets`: the list is incomplete.
    truncated: bool,
    numeric_columns_left_out: Vec<String>,
    itemsets: Vec<ItemsetRow>,
}

#[derive(Serialize)]
struct ItemsetRow {
    items: Vec<String>,
    support: f64,
    count: u32,
}

pub fn run_itemsets(args: ItemsetsArgs) -> anyhow::Result<()> {
    let args = args.table;
    let prepared = prepare(&args)?;
    let t = &prepared.transactions;
    let found = mine(&args, t, args.kind.into())?;
    let mut rows: Vec<ItemsetRow> = found
        .itemsets
        .iter()
        .map(|s| ItemsetRow {
            items: labels(t, &s.items),
            support: found.support(s),
            count: s.count,
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.items.cmp(&b.items)));
    if found.truncated && args.format == TableFormat::Csv {
        eprintln!(
            "warning: stopped at {} itemsets (--max-itemsets): the list is incomplete",
            args.max_itemsets
        );
    }
    let bytes = match args.format {
        TableFormat::Csv => csv_bytes(
            &["support", "itemsets", "count"],
            rows.iter()
                .map(|r| vec![number(r.support), r.items.join(AND), r.count.to_string()]),
        )?,
        TableFormat::Json => json_bytes(&ItemsetsReport {
            rows: t.len(),
            min_support: args.min_support,
            min_count: found.min_count,
            kind: found.kind,
            truncated: found.truncated,
            numeric_columns_left_out: prepared.left_out,
            itemsets: rows,
        })?,
    };
    write_to(args.out.as_deref(), &bytes)
}

fn json_bytes(value: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    Ok(json)
}

/// One rule for JSON: items as labels, every metric; `conviction` is `null` when infinite
/// (confidence 1), because JSON has no infinity.
#[derive(Serialize)]
struct RuleRow {
    antecedents: Vec<String>,
    consequents: Vec<String>,
    count: u32,
    antecedent_support: f64,
    consequent_support: f64,
    support: f64,
    confidence: f64,
    lift: f64,
    representativity: f64,
    leverage: f64,
    conviction: Option<f64>,
    zhangs_metric: f64,
    jaccard: f64,
    certainty: f64,
    kulczynski: f64,
    fisher_p: f64,
    fisher_p_bh: f64,
    #[serde(skip)]
    metrics: [f64; 14],
}

impl RuleRow {
    fn new(t: &Transactions, r: &Rule) -> RuleRow {
        RuleRow {
            antecedents: labels(t, &r.antecedent),
            consequents: labels(t, &r.consequent),
            count: r.count,
            antecedent_support: r.antecedent_support,
            consequent_support: r.consequent_support,
            support: r.support,
            confidence: r.confidence,
            lift: r.lift,
            representativity: r.representativity,
            leverage: r.leverage,
            conviction: r.conviction.is_finite().then_some(r.conviction),
            zhangs_metric: r.zhangs_metric,
            jaccard: r.jaccard,
            certainty: r.certainty,
            kulczynski: r.kulczynski,
            fisher_p: r.fisher_p,
            fisher_p_bh: r.fisher_p_adjusted,
            metrics: r.metrics(),
        }
    }

    /// mlxtend's columns: the itemsets, then [`Rule::METRIC_NAMES`].
    fn csv(&self) -> Vec<String> {
        let mut row = vec![self.antecedents.join(AND), self.consequents.join(AND)];
        row.extend(self.metrics.map(number));
        row
    }
}

#[derive(Serialize)]
struct RulesReport {
    rows: usize,
    min_support: f64,
    min_confidence: f64,
    kind: ItemsetKind,
    targets: Vec<String>,
    pruned: bool,
    numeric_columns_left_out: Vec<String>,
    rules: Vec<RuleRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    classifier: Option<ClassifierReport>,
}

/// The CBA rule list fitted on all rows, and its cross-validated accuracy.
#[derive(Serialize)]
struct ClassifierReport {
    class_column: String,
    folds: usize,
    seed: u64,
    accuracy: f64,
    fold_accuracies: Vec<f64>,
    /// Accuracy of always predicting the most frequent class, the baseline to beat.
    majority_accuracy: f64,
    rules: Vec<RuleRow>,
    default_class: String,
}

pub fn run_rules(args: RulesArgs) -> anyhow::Result<()> {
    let table_args = &args.table;
    let prepared = prepare(table_args)?;
    let t = &prepared.transactions;
    let targets = args
        .targets
        .iter()
        .map(|target| {
            let (column, value) = target
                .split_once('=')
                .with_context(|| format!("--target `{target}` is not `column=value`"))?;
            Ok(t.item_id(column, value)?)
        })
        .collect::<anyhow::Result<Vec<ItemId>>>()?;
    let itemsets = mine(table_args, t, ItemsetKind::All)?;
    if itemsets.truncated {
        bail!(explainme_rules::Error::TooManyItemsets {
            limit: table_args.max_itemsets
        });
    }
    let rules = AssociationRules::params()
        .min_confidence(args.min_confidence)
        .targets(targets.clone())
        .kind(table_args.kind.into())
        .prune_redundant(args.prune)
        .generate(&itemsets, t)?;
    let mut rows: Vec<RuleRow> = rules.iter().map(|r| RuleRow::new(t, r)).collect();
    rows.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(b.count.cmp(&a.count))
            .then(a.antecedents.len().cmp(&b.antecedents.len()))
            .then(a.antecedents.cmp(&b.antecedents))
            .then(a.consequents.cmp(&b.consequents))
    });
    let classifier = match args.cv_folds {
        Some(folds) => Some(classifier(&args, t, &targets, folds)?),
        None => None,
    };
    let bytes = match table_args.format {
        TableFormat::Csv => {
            if let Some(c) = &classifier {
                eprintln!("{}", classifier_line(c));
            }
            let header: Vec<&str> = ["antecedents", "consequents"]
                .into_iter()
                .chain(Rule::METRIC_NAMES)
                .collect();
            csv_bytes(&header, rows.iter().map(RuleRow::csv))?
        }
        TableFormat::Json => json_bytes(&RulesReport {
            rows: t.len(),
            min_support: table_args.min_support,
            min_confidence: args.min_confidence,
            kind: table_args.kind.into(),
            targets: args.targets.clone(),
            pruned: args.prune,
            numeric_columns_left_out: prepared.left_out,
            rules: rows,
            classifier,
        })?,
    };
    write_to(table_args.out.as_deref(), &bytes)
}

fn classifier(
    args: &RulesArgs,
    t: &Transactions,
    targets: &[ItemId],
    folds: usize,
) -> anyhow::Result<ClassifierReport> {
    let columns: Vec<usize> = targets
        .iter()
        .map(|&i| t.items()[i as usize].column)
        .collect();
    let Some(&column) = columns.first() else {
        bail!("--cv-folds needs --target column=value (the class column)");
    };
    if columns.iter().any(|&c| c != column) {
        bail!("--cv-folds needs every --target in one column");
    }
    let class_column = &t.columns()[column];
    let params = RuleList::params()
        .min_support(args.table.min_support)
        .min_confidence(args.min_confidence)
        .max_itemsets(args.table.max_itemsets);
    // The library's bounds, said in terms of the flag that set them.
    let cv = params
        .cross_validate(t, class_column, folds, args.seed)
        .map_err(|e| match e {
            explainme_rules::Error::TooManyFolds { folds, labelled } => anyhow::anyhow!(
                "--cv-folds {folds} exceeds the {labelled} rows labelled in `{class_column}` (each fold needs at least one)"
            ),
            explainme_rules::Error::TooSmall { what: "folds", .. } => {
                anyhow::anyhow!("--cv-folds must be at least 2, got {folds}")
            }
            e => e.into(),
        })?;
    let list = params.fit(t, class_column)?;
    let class_items = t.column_items(column);
    let labelled = t
        .rows()
        .iter()
        .filter(|row| row.iter().any(|i| class_items.contains(i)))
        .count();
    let majority = class_items
        .iter()
        .map(|c| t.rows().iter().filter(|row| row.contains(c)).count())
        .max()
        .unwrap_or(0);
    Ok(ClassifierReport {
        class_column: class_column.clone(),
        folds,
        seed: args.seed,
        accuracy: cv.accuracy,
        fold_accuracies: cv.fold_accuracies,
        majority_accuracy: majority as f64 / labelled.max(1) as f64,
        rules: list.rules.iter().map(|r| RuleRow::new(t, r)).collect(),
        default_class: t.label(list.default_class).to_string(),
    })
}

fn classifier_line(c: &ClassifierReport) -> String {
    let mut line = format!(
        "note: CBA rule list for `{}`: {}-fold accuracy {:.3} (majority class {:.3}, seed {}), {} rules, default {}",
        c.class_column,
        c.folds,
        c.accuracy,
        c.majority_accuracy,
        c.seed,
        c.rules.len(),
        c.default_class
    );
    if c.rules.is_empty() {
        let _ = write!(line, " (no rule beat the default)");
    }
    line
}

//! `explainme import`: data from elsewhere into explainme's layouts.
//!
//! * `import kits19`: the real KiTS19 clinical records as a CSV table. The records stay where
//!   they are shared (`../shared/data/kits19/kits19.json`, licensed CC BY-NC-SA): this command
//!   derives the table on demand, by the recipe documented in `explainme_cohort::kits19`, for
//!   `explainme rules`, `itemsets` and `bayes learn`.
//! * `import dicom`: a tree of DICOM studies as a cohort folder (DESIGN.md's layout), one case
//!   per series, with an empty labels table for clinicians to fill.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use explainme_budget::MemoryBudget;
use explainme_cohort::{Case, Cohort, FeatureSchema, Table, kits19};
use explainme_imaging::codec::dicom;

use super::output::{OutputArgs, progress, write_to};

/// Every data set `import` knows.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// KiTS19 clinical records (kits19.json) as a 16-column CSV table, one row per case.
    Kits19(Kits19Args),
    /// A tree of DICOM studies as a cohort folder: one case per series, images as NIfTI,
    /// an empty labels table; patient identifiers stay out of cases.csv unless asked for.
    Dicom(DicomArgs),
}

#[derive(Debug, clap::Args)]
pub struct DicomArgs {
    /// The folder of studies (searched recursively; files recognised by content).
    pub studies: PathBuf,
    /// The cohort folder to create (cases.csv, schema.json, images/).
    #[arg(long)]
    pub out: PathBuf,
    /// The feature schema whose columns clinicians will fill; the renal demo schema when
    /// absent.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Store one slice per series for a 2D model: `middle`, or a 0-based index along the
    /// slice normal; whole volumes when absent.
    #[arg(long)]
    pub slice: Option<String>,
    /// Also write the patient id, name, accession number, study date and the study and
    /// series UIDs into cases.csv (left out by default: the cohort folder is shared).
    #[arg(long)]
    pub keep_identifiers: bool,
    /// How the summary is printed.
    #[arg(long, value_enum, default_value_t = super::output::Format::Text)]
    pub format: super::output::Format,
}

/// What `import dicom` did.
#[derive(Debug, serde::Serialize)]
struct Imported {
    cohort: String,
    cases: usize,
    files: usize,
    /// Per case: its id, slices stored and the series' slice count.
    series: Vec<ImportedSeries>,
}

#[derive(Debug, serde::Serialize)]
struct ImportedSeries {
    case_id: String,
    image: String,
    shape: Vec<usize>,
    slices_in_series: usize,
}

#[derive(Debug, clap::Args)]
pub struct Kits19Args {
    /// The records, e.g. `../shared/data/kits19/kits19.json`.
    #[arg(long)]
    pub json: PathBuf,
    /// Bin age (50, 65, 75), BMI (25, 30) and radiographic size (2, 4, 7 cm) into
    /// intervals, giving the all-categorical table the rules and Bayesian-network
    /// commands mine; without it those three columns stay numbers.
    #[arg(long)]
    pub discretise: bool,
    /// Write the CSV to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `explainme import <data set>`.
pub fn run(command: Command, budget: MemoryBudget) -> anyhow::Result<()> {
    match command {
        Command::Kits19(args) => run_kits19(args),
        Command::Dicom(args) => run_dicom(args, budget),
    }
}

/// Identifier columns `--keep-identifiers` adds to cases.csv.
const IDENTIFIERS: [&str; 6] = [
    "patient_id",
    "patient_name",
    "accession_number",
    "study_date",
    "study_instance_uid",
    "series_instance_uid",
];

fn run_dicom(args: DicomArgs, budget: MemoryBudget) -> anyhow::Result<()> {
    let schema = match &args.schema {
        Some(path) => FeatureSchema::from_json_path(path)
            .with_context(|| format!("cannot read the schema {}", path.display()))?,
        None => FeatureSchema::renal_demo(),
    };
    let slice = match args.slice.as_deref() {
        None => None,
        Some("middle") => Some(None),
        Some(k) => Some(Some(k.parse::<usize>().with_context(|| {
            format!("--slice {k}: write `middle` or a slice index")
        })?)),
    };
    let found = dicom::scan_dir(&args.studies, &budget)
        .with_context(|| format!("cannot read {}", args.studies.display()))?;
    std::fs::create_dir_all(args.out.join("images"))
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let bar = progress(found.len() as u64, "series");
    let mut cases = Vec::new();
    let mut identifiers: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    let mut summary = Vec::new();
    let mut files = 0;
    for group in &found {
        // One series at a time: memory holds one volume, whatever the tree's size.
        let series = dicom::read_files(&group.files, &budget)?;
        for series in series {
            files += series.files.len();
            // The same id `explain --dicom` gives the series.
            let id = explainme_interop::series_reference(&series);
            let image = match slice {
                None => series.image.clone(),
                Some(k) => {
                    explainme_interop::series_case(&series, 2, k)
                        .map_err(|e| anyhow::anyhow!("series {}: {e}", series.uid()))?
                        .image
                }
            };
            let relative = PathBuf::from("images").join(format!("{id}.nii.gz"));
            explainme_imaging::write_image(args.out.join(&relative), &image)
                .with_context(|| format!("cannot write {}", relative.display()))?;
            let h = series.header();
            identifiers.insert(
                id.clone(),
                [
                    &h.patient.id,
                    &h.patient.name,
                    &h.study.accession_number,
                    &h.study.date,
                    &h.study.instance_uid,
                    &h.series_instance_uid,
                ]
                .into_iter()
                .map(|v| (!v.is_empty()).then(|| v.clone()))
                .collect(),
            );
            summary.push(ImportedSeries {
                case_id: id.clone(),
                image: relative.display().to_string(),
                shape: image.shape().as_slice().to_vec(),
                slices_in_series: series.instances.len(),
            });
            cases.push(Case {
                id,
                image: relative,
                labels: BTreeMap::new(),
            });
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let cohort = Cohort {
        root: args.out.clone(),
        schema,
        cases,
    };
    cohort.write()?;
    if args.keep_identifiers {
        let table = cohort.table()?;
        let mut columns = table.columns().to_vec();
        columns.extend(IDENTIFIERS.iter().map(|c| (*c).to_owned()));
        let rows = table
            .rows()
            .iter()
            .zip(&cohort.cases)
            .map(|(row, case)| {
                let mut row = row.clone();
                row.extend(identifiers.remove(&case.id).unwrap_or_default());
                row
            })
            .collect();
        let path = args.out.join("cases.csv");
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Table::new(columns, rows)?.write_csv(std::io::BufWriter::new(file))?;
    }
    let imported = Imported {
        cohort: args.out.display().to_string(),
        cases: summary.len(),
        files,
        series: summary,
    };
    let output = OutputArgs {
        format: args.format,
        out: None,
    };
    output.emit(&imported, |i: &Imported| {
        let mut text = format!(
            "{} series ({} files) imported into {}; label them in cases.csv\n",
            i.cases, i.files, i.cohort
        );
        for s in &i.series {
            text.push_str(&format!(
                "  {}: {} {:?} (of {} slices)\n",
                s.case_id, s.image, s.shape, s.slices_in_series
            ));
        }
        text
    })
}

fn run_kits19(args: Kits19Args) -> anyhow::Result<()> {
    let mut table = kits19::read(&args.json)?;
    if args.discretise {
        table = kits19::schema()
            .discretise(&table)
            .with_context(|| format!("cannot discretise {}", args.json.display()))?;
    }
    let mut csv = Vec::new();
    table.write_csv(&mut csv)?;
    write_to(args.out.as_deref(), &csv)
}

//! A folder of DICOM slices → one volume per series.
//!
//! Slices are grouped by Series Instance UID and ordered by their Image Position (Patient)
//! projected on the slice normal (the cross product of the row and column directions of
//! Image Orientation (Patient)), not by Instance Number or file name, which scanners and
//! PACS exports do not keep in spatial order. The z spacing is the distance between
//! successive positions along the normal (Slice Thickness can differ from it: overlapping
//! or gapped reconstructions). A series is refused, naming it, when its slices differ in
//! size, pixel spacing or orientation, when two share a position, or when the gaps between
//! them vary by more than 1% (a volume with uneven spacing is not a grid). Slices without
//! position or orientation are ordered by Instance Number, spaced by Spacing Between
//! Slices, else Slice Thickness, else 1 mm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Header, Instance, decode_header, decode_instance};
use crate::codec::Codec;
use crate::{Error, Grid, Image, MemoryBudget, Result, Shape, Spacing};

/// Relative tolerance on the gaps between slices, and on orientations being equal.
const TOLERANCE: f64 = 0.01;

/// One series as a volume.
#[derive(Debug, Clone)]
pub struct Series {
    /// `[slices, rows, columns]` in HU; 2D when the series is a single single-frame slice.
    pub image: Image,
    /// The instances in volume order: one per slice, or one multi-frame instance.
    pub instances: Vec<Header>,
    /// Where each slice of `image` lies (Image Position (Patient), mm), when the source says.
    pub positions: Vec<[f64; 3]>,
    /// Where the series came from: the files, in volume order.
    pub files: Vec<PathBuf>,
}

impl Series {
    /// The header of the first slice (identity and orientation are shared).
    pub fn header(&self) -> &Header {
        &self.instances[0]
    }

    /// The Series Instance UID.
    pub fn uid(&self) -> &str {
        &self.header().series_instance_uid
    }
}

/// The DICOM image files of one series found under a folder (headers read, pixels not).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesFiles {
    /// The Series Instance UID (empty for a file without one: a series of its own).
    pub uid: String,
    /// The header of its first file, for naming and sorting series without decoding them.
    pub header: Header,
    pub files: Vec<PathBuf>,
}

/// Finds every DICOM image file under `dir` (recursively; files are recognised by their
/// `DICM` signature, not their name) and groups them by Series Instance UID, in UID order,
/// reading headers only. Files without pixel data (DICOMDIR, structured reports,
/// presentation states) are skipped; a DICOM file whose header does not parse is an error
/// naming it.
pub fn scan_dir(dir: &Path, budget: &MemoryBudget) -> Result<Vec<SeriesFiles>> {
    let mut files = Vec::new();
    collect_files(dir, &mut files, 0)?;
    files.sort();
    let mut groups: BTreeMap<String, SeriesFiles> = BTreeMap::new();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if !super::DicomCodec.sniff(&bytes) {
            continue;
        }
        let (header, has_pixels) = decode_header(&bytes, budget).map_err(|e| in_file(&path, e))?;
        if !has_pixels {
            continue;
        }
        let key = match header.series_instance_uid.as_str() {
            "" => format!("\u{10FFFF}{}", path.display()),
            uid => uid.to_owned(),
        };
        groups
            .entry(key)
            .or_insert_with(|| SeriesFiles {
                uid: header.series_instance_uid.clone(),
                header,
                files: Vec::new(),
            })
            .files
            .push(path);
    }
    if groups.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "no DICOM image under {}",
            dir.display()
        )));
    }
    Ok(groups.into_values().collect())
}

/// Decodes `files` within `budget` and assembles them into series.
pub fn read_files(files: &[PathBuf], budget: &MemoryBudget) -> Result<Vec<Series>> {
    let mut instances = Vec::with_capacity(files.len());
    let mut used = 0u64;
    for path in files {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let remaining = MemoryBudget::new(budget.limit().saturating_sub(used));
        let instance = decode_instance(&bytes, &remaining).map_err(|e| in_file(path, e))?;
        used += instance.image.voxels().len() as u64 * 4;
        instances.push((path.clone(), instance));
    }
    // Stacking copies the slices once more.
    budget.check("assembling DICOM series", used.saturating_mul(2))?;
    assemble(instances)
}

/// Reads every DICOM image under `dir` ([`scan_dir`]) and assembles one [`Series`] per Series
/// Instance UID, in UID order.
pub fn read_dir(dir: &Path, budget: &MemoryBudget) -> Result<Vec<Series>> {
    let files: Vec<PathBuf> = scan_dir(dir, budget)?
        .into_iter()
        .flat_map(|s| s.files)
        .collect();
    read_files(&files, budget)
}

/// A file's error, prefixed with its path.
fn in_file(path: &Path, e: Error) -> Error {
    match e {
        Error::Io { .. } => e,
        other => Error::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
        },
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    // Study trees are a few levels deep; a symlink loop is not followed forever.
    if depth > 16 {
        return Ok(());
    }
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            collect_files(&path, out, depth + 1)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Groups decoded instances (with the file each came from) into series and stacks each.
pub fn assemble(instances: Vec<(PathBuf, Instance)>) -> Result<Vec<Series>> {
    let mut groups: BTreeMap<String, Vec<(PathBuf, Instance)>> = BTreeMap::new();
    for (path, instance) in instances {
        // A slice without a series UID is a series of its own.
        let key = match instance.header.series_instance_uid.as_str() {
            "" => format!("\u{10FFFF}{}", path.display()),
            uid => uid.to_owned(),
        };
        groups.entry(key).or_default().push((path, instance));
    }
    groups.into_values().map(stack).collect()
}

fn stack(mut slices: Vec<(PathBuf, Instance)>) -> Result<Series> {
    let uid = slices[0].1.header.series_instance_uid.clone();
    let refuse = |why: String| Error::InvalidParameter(format!("DICOM series {uid}: {why}"));
    if slices.len() == 1 {
        let (path, instance) = slices.remove(0);
        return Ok(Series {
            positions: instance.header.position.into_iter().collect(),
            image: instance.image,
            instances: vec![instance.header],
            files: vec![path],
        });
    }
    if slices.iter().any(|(_, s)| s.image.dims() == 3) {
        return Err(refuse(format!(
            "{} instances, some multi-frame; a series is read as single-frame slices or one \
             multi-frame instance",
            slices.len()
        )));
    }
    let first = slices[0].1.image.clone();
    for (path, s) in &slices[1..] {
        if s.image.shape() != first.shape() {
            return Err(refuse(format!(
                "{} is {:?}, the first slice {:?}",
                path.display(),
                s.image.shape().as_slice(),
                first.shape().as_slice()
            )));
        }
        let (a, b) = (s.image.spacing(), first.spacing());
        if !close(f64::from(a.y), f64::from(b.y)) || !close(f64::from(a.x), f64::from(b.x)) {
            return Err(refuse(format!(
                "{} has pixel spacing {}×{} mm, the first slice {}×{} mm",
                path.display(),
                a.y,
                a.x,
                b.y,
                b.x
            )));
        }
    }
    let spacing_z = order(&mut slices).map_err(refuse)?;
    let [_, ny, nx] = first.shape().zyx();
    let mut voxels = Vec::with_capacity(slices.len() * ny * nx);
    for (_, s) in &slices {
        voxels.extend_from_slice(s.image.voxels());
    }
    let in_plane = first.spacing();
    let image = Grid::new(Shape::d3(slices.len(), ny, nx), voxels)?.with_spacing(Spacing::new(
        spacing_z as f32,
        in_plane.y,
        in_plane.x,
    ));
    let positions = slices
        .iter()
        .filter_map(|(_, s)| s.header.position)
        .collect::<Vec<_>>();
    let (files, instances) = slices.into_iter().map(|(p, s)| (p, s.header)).unzip();
    Ok(Series {
        image,
        instances,
        positions,
        files,
    })
}

/// Sorts slices into volume order and returns the z spacing in mm.
fn order(slices: &mut [(PathBuf, Instance)]) -> std::result::Result<f64, String> {
    let geometry = slices
        .iter()
        .map(|(_, s)| s.header.position.zip(s.header.orientation))
        .collect::<Option<Vec<_>>>();
    let Some(geometry) = geometry else {
        return order_by_instance_number(slices);
    };
    let orientation = geometry[0].1;
    if let Some(((path, _), _)) = slices.iter().zip(&geometry).find(|(_, (_, o))| {
        o.iter()
            .zip(&orientation)
            .any(|(a, b)| (a - b).abs() > 1e-3)
    }) {
        return Err(format!(
            "{} has another orientation than the first slice",
            path.display()
        ));
    }
    let normal = cross(
        [orientation[0], orientation[1], orientation[2]],
        [orientation[3], orientation[4], orientation[5]],
    );
    if dot(normal, normal) < 0.5 {
        return Err(format!("degenerate Image Orientation {orientation:?}"));
    }
    let along = |s: &(PathBuf, Instance)| s.1.header.position.map_or(0.0, |p| dot(p, normal));
    slices.sort_by(|a, b| along(a).total_cmp(&along(b)));
    let gaps: Vec<f64> = slices
        .windows(2)
        .map(|w| along(&w[1]) - along(&w[0]))
        .collect();
    spacing_of(&gaps, slices)
}

fn order_by_instance_number(
    slices: &mut [(PathBuf, Instance)],
) -> std::result::Result<f64, String> {
    if slices
        .iter()
        .any(|(_, s)| s.header.instance_number.is_none())
    {
        return Err(
            "slices have neither Image Position/Orientation (Patient) nor Instance Number".into(),
        );
    }
    slices.sort_by_key(|(_, s)| s.header.instance_number);
    if let Some(w) = slices
        .windows(2)
        .find(|w| w[0].1.header.instance_number == w[1].1.header.instance_number)
    {
        return Err(format!(
            "{} and {} have the same Instance Number",
            w[0].0.display(),
            w[1].0.display()
        ));
    }
    Ok(f64::from(slices[0].1.image.spacing().z))
}

/// The mean gap, when every gap is within [`TOLERANCE`] of it and none is zero.
fn spacing_of(gaps: &[f64], slices: &[(PathBuf, Instance)]) -> std::result::Result<f64, String> {
    if let Some(i) = gaps.iter().position(|g| *g < 1e-4) {
        return Err(format!(
            "{} and {} lie at the same position",
            slices[i].0.display(),
            slices[i + 1].0.display()
        ));
    }
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let (min, max) = gaps.iter().fold((f64::INFINITY, 0f64), |(lo, hi), g| {
        (lo.min(*g), hi.max(*g))
    });
    if max - min > TOLERANCE * mean {
        return Err(format!(
            "slice gaps vary from {min:.3} to {max:.3} mm; an unevenly spaced series is not a grid"
        ));
    }
    Ok(mean)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1e-6)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter().zip(&b).map(|(x, y)| x * y).sum()
}

#!/usr/bin/env python3
"""DICOM fixtures written by other software, with pydicom's decoded values as the golden truth.

Writes data/dicom-fixtures/ (run from the repository root, or from anywhere):

  * copies of small MONOCHROME files bundled with pydicom 3.0.1 (pydicom/data/test_files),
    one per transfer syntax, under descriptive names; their SHA-256 is checked first, so a
    different pydicom release cannot slip in other bytes;
  * files made by DCMTK: CT_small.dcm as JPEG Lossless process 14 SV1 (`dcmcjpeg +e1`), and
    an 8-bit requantised CT_small (written by pydicom) as JPEG Baseline (`dcmcjpeg +eb`);
  * series/: five slices of one oblique CT series plus a localizer of another series, written
    by pydicom, with file names and Instance Numbers in neither spatial nor each other's order;
  * golden.json: for each file, the attributes a reader needs and the pixel values pydicom
    decodes after the modality LUT (pydicom.pixels.apply_modality_lut), plus the expected
    geometry of the series; and, for the files a reader should refuse, their transfer syntax.

Deterministic: fixed UIDs (2.25 UIDs derived from fixed strings), fixed dates, no clock. The
same pydicom, numpy, plugin and DCMTK versions give byte-identical files.

Requirements: `python3 -m pip install -r benches/peers/requirements-dicom.txt` and DCMTK
(`apt-get install dcmtk`: dcmcjpeg, dcmdjpeg). Usage: `python3 benches/peers/dicom_fixtures.py`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import math
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, pixel_array
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
)
from pydicom.valuerep import format_number_as_ds

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "data" / "dicom-fixtures"
SERIES_DIR = OUT / "series"
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"

PYDICOM_VERSION = "3.0.1"
# Images up to this many pixels (128 x 128 x 4) get every value in golden.json.
FULL_VALUES_LIMIT = 128 * 128 * 4
SAMPLES = 20


UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "explainme:data/dicom-fixtures")


def uid(name: str) -> UID:
    """A fixed 2.25 UID (ISO/IEC 9834-8: a UUID as one integer), from a name-based (SHA-1)
    UUID: the same name always gives the same UID."""
    return UID(f"2.25.{uuid.uuid5(UUID_NAMESPACE, name).int}")


# --- the pydicom test files that are copied ------------------------------------------------

# (fixture name, source in pydicom's test_files, note for golden.json)
COPIES = [
    ("ct_small_explicit_le.dcm", "CT_small.dcm", None),
    ("mr_small_explicit_le.dcm", "MR_small.dcm", None),
    ("mr_small_implicit_le.dcm", "MR_small_implicit.dcm", None),
    ("ot_512_deflated_le.dcm", "image_dfl.dcm", None),
    ("mr_small_rle.dcm", "MR_small_RLE.dcm", None),
    ("mr_small_j2k_lossless.dcm", "MR_small_jp2klossless.dcm", None),
    ("nm_1024x256_j2k_lossy.dcm", "JPEG2000.dcm",
     "JPEG 2000 irreversible 9/7 wavelet (COD transform byte 0), ratio 2097:1 per "
     "(0028,2112); signed 16-bit, so ringing gives negative values"),
    ("nm_1024x256_jpeg_extended_12bit.dcm", "JPGExtended.dcm",
     "pydicom's fixed version of JPEG-lossy.dcm (whose SOS is invalid and which pylibjpeg "
     "refuses); 12-bit DCT process 4"),
    ("rtdose_15frames_implicit_le.dcm", "rtdose.dcm",
     "15 frames, 32-bit unsigned; values are raw (no Rescale Slope/Intercept, so the modality "
     "LUT is the identity); Dose Grid Scaling (3004,000E) = 1e-6 is not applied"),
    ("rtdose_15frames_rle.dcm", "rtdose_rle.dcm",
     "RLE of rtdose.dcm by GDCM: 4 segments per frame, 15 frames. gdcmconv wrote 35 "
     "elements with VR UN, among them Pixel Spacing (0028,0030), Frame Increment Pointer and "
     "the RT Dose attributes; pydicom reads them with their dictionary VR"),
]
# Files a reader is expected to refuse, by the name of their transfer syntax.
REFUSED = [
    ("mr_small_big_endian.dcm", "MR_small_bigendian.dcm"),
    ("mr_small_jpeg_ls_lossless.dcm", "MR_small_jpeg_ls_lossless.dcm"),
]

# SHA-256 of the sources as pydicom 3.0.1's wheel ships them; checked on every run.
SOURCE_SHA256 = {
    "CT_small.dcm": "3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6",
    "MR_small.dcm": "3f27d1c22f1a66e80d7bb7c911e8610fd0bb70325a76746a7adb1c0ddefcf2bb",
    "MR_small_implicit.dcm": "6077442c42a56fc7fcc7db8411a657dded9fc109e6d3275765c4de358292b299",
    "image_dfl.dcm": "0029ebbba17e7c6f081408d433cd28b5d1cfee0eeb4cff509b4d972ffa9daf27",
    "MR_small_RLE.dcm": "2e5cb60878dc0acc494298ccdad28fce2cf14c51096e5d8cedab40248ea02e6c",
    "MR_small_jp2klossless.dcm": "4c0049e0355b560c8c846538d827afbdae5311b20fc5e5a93a3892e109bb140d",
    "JPEG2000.dcm": "5be539024e6803029a7b73c0f8e72e88d032e3a0bc05922c0c047344780aa8e1",
    "JPGExtended.dcm": "13d217617fcadc22c069ec7b18e94731d346c5d83703bc152f692877cab5085f",
    "rtdose.dcm": "1d6cc092146d093e086a6bcccef4ebb7d097941343f5cd3b6395d157b64e37e4",
    "rtdose_rle.dcm": "2f83e3a2ef0de355570c38860b233fc2fa6c37626c81ad080d8661c03a413522",
    "MR_small_bigendian.dcm": "3e4c8c9fe70de4f3be149bbd673fa56f211c8e8e2ff9bac63f70f9dc31b5d108",
    "MR_small_jpeg_ls_lossless.dcm": "b2b69dd2ae854bf7dfada6745709cd5d8a4573ea12387adbbdc56e8be6056206",
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_versions() -> None:
    if pydicom.__version__ != PYDICOM_VERSION:
        sys.exit(f"pydicom {PYDICOM_VERSION} is needed (found {pydicom.__version__}): "
                 "pip install -r benches/peers/requirements-dicom.txt")
    for tool in ("dcmcjpeg", "dcmdjpeg"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install dcmtk")


def dcmtk_version() -> str:
    """'DCMTK 3.6.7', from the first line of `dcmcjpeg --version` ('$dcmtk: dcmcjpeg v3.6.7 ...')."""
    out = subprocess.run(["dcmcjpeg", "--version"], capture_output=True, text=True).stdout
    words = out.strip().splitlines()[0].split()
    return "DCMTK " + next(w for w in words if w.startswith("v"))[1:]


# --- files made with DCMTK -----------------------------------------------------------------

def write_ct_8bit(src: Path, dst: Path) -> None:
    """CT_small requantised to 8 bits (stored = round(raw / 10), HU = 10 * stored - 1024),
    as a Secondary Capture Image (the CT IOD requires 16 bits allocated), by pydicom."""
    ds = pydicom.dcmread(src)
    raw = ds.pixel_array.astype(np.int32)  # 128 .. 2191; HU = raw - 1024
    stored = ((raw + 5) // 10).astype(np.uint8)  # 13 .. 219, no clipping
    for keyword in ("PixelPaddingValue", "SmallestImagePixelValue", "LargestImagePixelValue",
                    "WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid("ct_small_8bit")
    ds.SeriesInstanceUID = uid("ct_small_8bit series")
    ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ["L", "P"]  # the SC General Image module asks for it
    ds.DerivationDescription = ("CT_small.dcm requantised to 8 bits: stored = round(raw / 10), "
                                "Rescale Slope 10, Rescale Intercept -1024")
    ds.ImageComments = "8-bit source of the JPEG Baseline fixture"
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.RescaleSlope = "10"
    ds.RescaleIntercept = "-1024"
    ds.RescaleType = "HU"
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OB"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(dst, enforce_file_format=True)


def dcmcjpeg(args: list[str], src: Path, dst: Path) -> None:
    """+un: keep the SOP Instance UID (DCMTK would draw a new, random one for lossy output)."""
    subprocess.run(["dcmcjpeg", *args, "+un", str(src), str(dst)], check=True)


def dcmdjpeg_values(path: Path) -> np.ndarray:
    """The stored values as DCMTK's IJG-based decoder gives them (for the lossy tolerances)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "d.dcm"
        subprocess.run(["dcmdjpeg", str(path), str(out)], check=True)
        return pydicom.dcmread(out).pixel_array


# --- the shuffled series -------------------------------------------------------------------

SERIES_ROWS, SERIES_COLS = 16, 12
SERIES_SPACING = 2.5
SERIES_PIXEL_SPACING = [0.7, 0.8]  # (row spacing, column spacing) in mm
SERIES_ANGLE_DEG = 10.0  # rotation of an axial plane about the patient x axis
SERIES_ORIGIN = np.array([-4.2, -6.0, 30.0])
# Spatial index k (0 = lowest along the normal) -> (file name, Instance Number).
SERIES_LAYOUT = [
    ("IM0005.dcm", 3),
    ("IM0001.dcm", 5),
    ("IM0006.dcm", 1),
    ("IM0002.dcm", 4),
    ("IM0003.dcm", 2),
]
LOCALIZER_NAME = "IM0004.dcm"
STUDY_UID = uid("series study")
SERIES_UID = uid("series oblique axial")
LOCALIZER_SERIES_UID = uid("series localizer")
FRAME_OF_REFERENCE_UID = uid("series frame of reference")


def series_hu(k: int) -> np.ndarray:
    """Slice k's HU: -500 + 300 k + 12 r + c (r row, c column); slices never overlap."""
    r, c = np.mgrid[0:SERIES_ROWS, 0:SERIES_COLS]
    return -500 + 300 * k + SERIES_COLS * r + c


def ds_str(x: float) -> str:
    s = format_number_as_ds(float(x))
    return "0" if s in ("-0", "-0.0", "0.0") else s


def series_base(name: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.StudyDate = "20261201"
    ds.StudyTime = "120000"
    ds.AccessionNumber = ""
    ds.Modality = "CT"
    ds.Manufacturer = "explainme dicom-fixtures (pydicom)"
    ds.ReferringPhysicianName = ""
    ds.PatientName = "Fixture^Series"
    ds.PatientID = "FIXTURE-SERIES"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyInstanceUID = STUDY_UID
    ds.StudyID = "1"
    ds.FrameOfReferenceUID = FRAME_OF_REFERENCE_UID
    ds.BodyPartExamined = "ABDOMEN"
    ds.PatientPosition = "HFS"
    ds.PositionReferenceIndicator = ""
    ds.KVP = "120"
    ds.AcquisitionNumber = "1"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    ds.RescaleType = "HU"
    ds.WindowCenter = "40"
    ds.WindowWidth = "400"
    ds.SOPInstanceUID = uid(f"series file {name}")
    return ds


def save_series_file(ds: Dataset, hu: np.ndarray, path: Path) -> None:
    stored = (hu + 1024).astype(np.uint16)
    assert stored.max() < 4096 and stored.min() >= 0
    ds.Rows, ds.Columns = hu.shape
    ds.PixelData = stored.astype("<u2").tobytes()
    ds["PixelData"].VR = "OW"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)


def write_series() -> dict:
    if SERIES_DIR.exists():
        shutil.rmtree(SERIES_DIR)
    SERIES_DIR.mkdir(parents=True)
    a = math.radians(SERIES_ANGLE_DEG)
    row_dir = [1.0, 0.0, 0.0]
    col_dir = [0.0, math.cos(a), math.sin(a)]
    iop = [ds_str(v) for v in row_dir + col_dir]
    # The normal as a reader computes it: from the written (decimal string) orientation.
    f = np.array([float(v) for v in iop])
    normal = np.cross(f[:3], f[3:])
    slices = []
    for k, (name, instance) in enumerate(SERIES_LAYOUT):
        ds = series_base(name)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SeriesInstanceUID = SERIES_UID
        ds.SeriesNumber = "2"
        ds.SeriesDescription = "oblique axial, 10 deg about x"
        ds.InstanceNumber = str(instance)
        ipp = [ds_str(v) for v in SERIES_ORIGIN + k * SERIES_SPACING * np.array(
            [0.0, -math.sin(a), math.cos(a)])]
        ds.ImagePositionPatient = ipp
        ds.ImageOrientationPatient = iop
        ds.PixelSpacing = [ds_str(v) for v in SERIES_PIXEL_SPACING]
        ds.SliceThickness = ds_str(SERIES_SPACING)
        save_series_file(ds, series_hu(k), SERIES_DIR / name)
        slices.append((name, instance, str(ds.SOPInstanceUID),
                       float(np.dot([float(v) for v in ipp], normal))))
    # The localizer: another series in the same study and frame of reference, coronal.
    loc = series_base(LOCALIZER_NAME)
    loc.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    loc.SeriesInstanceUID = LOCALIZER_SERIES_UID
    loc.SeriesNumber = "1"
    loc.SeriesDescription = "localizer"
    loc.InstanceNumber = "1"
    loc.ImagePositionPatient = ["-100", "0", "100"]
    loc.ImageOrientationPatient = ["1", "0", "0", "0", "0", "-1"]
    loc.PixelSpacing = ["12.5", "12.5"]
    loc.SliceThickness = "1"
    del loc.RescaleType  # not HU for a localizer (dciodvfy)
    r, c = np.mgrid[0:16, 0:16]
    save_series_file(loc, -1000 + 7 * r + c, SERIES_DIR / LOCALIZER_NAME)

    by_position = sorted(slices, key=lambda s: s[3])
    projections = [s[3] for s in by_position]
    gaps = np.diff(projections)
    return {
        "folder": "series",
        "series_instance_uid": str(SERIES_UID),
        "study_instance_uid": str(STUDY_UID),
        "frame_of_reference_uid": str(FRAME_OF_REFERENCE_UID),
        "slice_count": len(slices),
        "image_orientation_patient": [float(v) for v in iop],
        "normal": [float(v) for v in normal],
        "order_note": "ascending projection of Image Position (Patient) onto the normal "
                      "row_direction x column_direction",
        "sop_instance_uids_in_order": [s[2] for s in by_position],
        "files_in_order": [s[0] for s in by_position],
        "instance_numbers_in_order": [s[1] for s in by_position],
        "positions_along_normal": projections,
        "slice_spacing": SERIES_SPACING,
        "slice_spacing_measured": {"min": float(gaps.min()), "max": float(gaps.max())},
        "slice_spacing_tolerance": 1e-4,
        "pixel_spacing": SERIES_PIXEL_SPACING,
        "rows": SERIES_ROWS,
        "columns": SERIES_COLS,
        "hu_pattern": "slice k in spatial order (0 = first along the normal): "
                      "HU[r][c] = -500 + 300*k + 12*r + c",
        "other_series": [{
            "file": LOCALIZER_NAME,
            "series_instance_uid": str(LOCALIZER_SERIES_UID),
            "image_type": "ORIGINAL\\PRIMARY\\LOCALIZER",
        }],
    }


# --- golden values --------------------------------------------------------------------------

def plugin_versions() -> dict:
    out = {}
    for name in ("pydicom", "numpy", "pylibjpeg", "pylibjpeg-libjpeg", "pylibjpeg-openjpeg",
                 "pylibjpeg-rle", "pyjpegls"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def decoder_name(tsuid: UID) -> tuple[str, list[str]]:
    """The plugin pydicom uses for this transfer syntax (its first available one)."""
    if not tsuid.is_compressed:
        return ("pydicom (native)", [])
    plugins = list(get_decoder(tsuid).available_plugins)
    return (plugins[0], plugins)


PLUGIN_PACKAGE = {
    "pylibjpeg": {
        "1.2.840.10008.1.2.4.50": "pylibjpeg-libjpeg",
        "1.2.840.10008.1.2.4.51": "pylibjpeg-libjpeg",
        "1.2.840.10008.1.2.4.70": "pylibjpeg-libjpeg",
        "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg",
        "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg",
        "1.2.840.10008.1.2.5": "pylibjpeg-rle",
    },
}


def num(x) -> float | int | None:
    if x is None:
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


def decode(path: Path) -> tuple[Dataset, np.ndarray, np.ndarray, str, list[str]]:
    """Stored values and modality-LUT values as pydicom decodes them, with every available
    plugin checked to agree."""
    ds = pydicom.dcmread(path)
    tsuid = ds.file_meta.TransferSyntaxUID
    first, plugins = decoder_name(tsuid)
    stored = ds.pixel_array
    for plugin in plugins[1:]:
        other = pixel_array(path, decoding_plugin=plugin)
        if not np.array_equal(other, stored):
            sys.exit(f"{path.name}: plugins {first} and {plugin} disagree")
    return ds, stored, apply_modality_lut(stored, ds), first, plugins


def written_by(ds: Dataset) -> str:
    """Who wrote the file, as its File Meta Information says."""
    meta = ds.file_meta
    parts = [str(meta.get("ImplementationVersionName", "") or "").strip(),
             f"ImplementationClassUID {meta.get('ImplementationClassUID', '?')}"]
    if meta.get("SourceApplicationEntityTitle"):
        parts.append(f"source AE {str(meta.SourceApplicationEntityTitle).strip()}")
    return ", ".join(p for p in parts if p)


def record(path: Path, rel: str, source: str, made_by: str | None, note: str | None,
           lossy: bool = False, tolerance: float = 0, tolerance_note: str | None = None,
           same_values_as: str | None = None) -> dict:
    ds, stored, hu, plugin, plugins = decode(path)
    tsuid = ds.file_meta.TransferSyntaxUID
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    shape = [frames, int(ds.Rows), int(ds.Columns)]
    flat = np.asarray(hu, dtype=np.float64).reshape(-1)
    assert flat.size == frames * ds.Rows * ds.Columns
    f32 = flat.astype("<f4")
    decoder = plugin
    if plugin in PLUGIN_PACKAGE:
        pkg = PLUGIN_PACKAGE[plugin][str(tsuid)]
        decoder = f"{plugin} {md.version('pylibjpeg')} + {pkg} {md.version(pkg)}"
    entry = {
        "file": rel,
        "file_sha256": sha256_file(path),
        "source": source,
        "written_by": written_by(ds),
        "made_by": made_by,
        "transfer_syntax_uid": str(tsuid),
        "transfer_syntax": tsuid.name,
        "sop_class_uid": str(ds.SOPClassUID),
        "modality": ds.get("Modality"),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "number_of_frames": frames,
        "samples_per_pixel": int(ds.SamplesPerPixel),
        "photometric_interpretation": str(ds.PhotometricInterpretation),
        "bits_allocated": int(ds.BitsAllocated),
        "bits_stored": int(ds.BitsStored),
        "high_bit": int(ds.HighBit),
        "pixel_representation": int(ds.PixelRepresentation),
        "pixel_spacing": [num(v) for v in ds.PixelSpacing] if "PixelSpacing" in ds else None,
        "slice_thickness": num(ds.SliceThickness) if ds.get("SliceThickness") not in (None, "")
        else None,
        "rescale_slope": num(ds.RescaleSlope) if "RescaleSlope" in ds else None,
        "rescale_intercept": num(ds.RescaleIntercept) if "RescaleIntercept" in ds else None,
        "image_position_patient": [num(v) for v in ds.ImagePositionPatient]
        if ds.get("ImagePositionPatient") else None,
        "image_orientation_patient": [num(v) for v in ds.ImageOrientationPatient]
        if ds.get("ImageOrientationPatient") else None,
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "series_instance_uid": str(ds.SeriesInstanceUID) if "SeriesInstanceUID" in ds else None,
        "lossy": lossy,
        "tolerance": tolerance,
        "decoder": decoder,
        "decoders_checked_equal": plugins,
        "shape": shape,
        "stored_min": int(stored.min()),
        "stored_max": int(stored.max()),
        "min": num(flat.min()),
        "max": num(flat.max()),
        "mean": float(flat.mean()),
        "sha256_f32le": hashlib.sha256(f32.tobytes()).hexdigest(),
    }
    if tolerance_note:
        entry["tolerance_note"] = tolerance_note
    if same_values_as:
        entry["same_values_as"] = same_values_as
    if note:
        entry["note"] = note
    if flat.size <= FULL_VALUES_LIMIT:
        entry["values"] = [num(v) for v in flat]
    else:
        entry["sample_indices"], entry["sample_values"] = samples(flat)
    return entry


def samples(flat: np.ndarray) -> tuple[list[int], list]:
    """At most 20 flat indices, sorted: 9 evenly over the image, 9 evenly over the pixels that
    differ from the most common value (these images are mostly background), and the first
    minimum and maximum."""
    n = flat.size
    k = (SAMPLES - 2) // 2
    idx = set(np.linspace(0, n - 1, k).round().astype(int).tolist())
    values, counts = np.unique(flat, return_counts=True)
    fg = np.flatnonzero(flat != values[counts.argmax()])
    if fg.size:
        idx |= set(fg[np.linspace(0, fg.size - 1, k).round().astype(int)].tolist())
    idx |= {int(flat.argmin()), int(flat.argmax())}
    idx = sorted(idx)
    return idx, [num(flat[i]) for i in idx]


# --- output ---------------------------------------------------------------------------------

def dumps(obj, indent: int = 0) -> str:
    """JSON with lists of scalars on one line (golden.json stays readable and small)."""
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        items = [pad + dumps(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError("non-finite number")
    return json.dumps(obj)


def main() -> None:
    check_versions()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.dcm"):
        old.unlink()
    sources = {}
    files = []

    for name, src, *_ in COPIES + REFUSED:
        s = TEST_FILES / src
        digest = sha256_file(s)
        if digest != SOURCE_SHA256[src]:
            sys.exit(f"{s}: SHA-256 {digest}, expected {SOURCE_SHA256[src]}")
        shutil.copyfile(s, OUT / name)
        sources[name] = (src, digest)

    # DCMTK-made files.
    ct = OUT / "ct_small_explicit_le.dcm"
    ct_ll = OUT / "ct_small_jpeg_lossless_sv1_dcmtk.dcm"
    dcmcjpeg(["+e1"], ct, ct_ll)
    ct8 = OUT / "ct_small_8bit_sc_explicit_le.dcm"
    write_ct_8bit(ct, ct8)
    ct8_jpeg = OUT / "ct_small_8bit_sc_jpeg_baseline_dcmtk.dcm"
    # +rm +sr keep the stored values and Rescale Slope 10 / Intercept -1024: by default DCMTK
    # stretches the values' min..max over 0..255 and writes an identity rescale.
    dcmcjpeg(["+eb", "+rm", "+sr"], ct8, ct8_jpeg)
    ct8_ext = OUT / "ct_small_8bit_sc_jpeg_extended_dcmtk.dcm"
    dcmcjpeg(["+ee", "+rm", "+sr"], ct8, ct8_ext)

    series = write_series()

    # Golden values.
    test_files = f"pydicom {PYDICOM_VERSION} data/test_files/"
    mr = pydicom.dcmread(OUT / "mr_small_explicit_le.dcm").pixel_array
    rtdose = pydicom.dcmread(OUT / "rtdose_15frames_implicit_le.dcm").pixel_array
    ct_values = pydicom.dcmread(ct).pixel_array
    for name, src, note in COPIES:
        path = OUT / name
        same = None
        lossy, tol, tol_note = False, 0, None
        arr = pydicom.dcmread(path).pixel_array
        if name.startswith("mr_small_") and name != "mr_small_explicit_le.dcm":
            assert np.array_equal(arr, mr), name
            same = "mr_small_explicit_le.dcm"
        if name == "rtdose_15frames_rle.dcm":
            assert np.array_equal(arr, rtdose), name
            same = "rtdose_15frames_implicit_le.dcm"
        if name == "nm_1024x256_jpeg_extended_12bit.dcm":
            diff = np.abs(arr.astype(np.int64) - dcmdjpeg_values(path).astype(np.int64))
            lossy, tol = True, 1
            tol_note = (f"IDCT rounding differs between decoders: {dcmtk_version()}'s dcmdjpeg "
                        f"(IJG 6b, 12-bit) differs from pydicom's decoder by at most "
                        f"{int(diff.max())} on {int((diff > 0).sum())} of {diff.size} pixels")
        if name == "nm_1024x256_j2k_lossy.dcm":
            lossy, tol = True, 1
            tol_note = ("9/7 irreversible wavelet: decoders that compute it in other floating-"
                        "point orders can round a value 1 apart; not measured against a "
                        "decoder independent of OpenJPEG (none is installed here)")
        files.append(record(path, name, test_files + src, None, note, lossy, tol, tol_note,
                            same))
        if name == "nm_1024x256_jpeg_extended_12bit.dcm":
            # jpeg-decoder, explainme's JPEG decoder, reads 8-bit sample precision only.
            files[-1]["explainme_refuses"] = "12-bit JPEG"
        if name == "rtdose_15frames_rle.dcm":
            # dicom-pixeldata's RLE decoder reads 8 and 16 bits allocated only.
            files[-1]["explainme_refuses"] = "32-bit RLE"

    assert np.array_equal(pydicom.dcmread(ct_ll).pixel_array, ct_values)
    files.append(record(ct_ll, ct_ll.name, "ct_small_explicit_le.dcm (CT_small.dcm)",
                        f"dcmcjpeg +e1 +un ({dcmtk_version()})", None,
                        same_values_as="ct_small_explicit_le.dcm"))
    files.append(record(ct8, ct8.name, "ct_small_explicit_le.dcm (CT_small.dcm)",
                        "benches/peers/dicom_fixtures.py",
                        "CT_small requantised: stored = round(raw / 10); a Secondary Capture "
                        "Image since the CT IOD needs 16 bits allocated"))
    for made, flag, process in [(ct8_jpeg, "+eb", "baseline"), (ct8_ext, "+ee", "extended")]:
        jpeg_ds = pydicom.dcmread(made)
        assert (float(jpeg_ds.RescaleSlope), float(jpeg_ds.RescaleIntercept)) == (10, -1024)
        jpeg_vals = jpeg_ds.pixel_array.astype(np.int64)
        d_dcmtk = np.abs(jpeg_vals - dcmdjpeg_values(made).astype(np.int64))
        d_src = np.abs(jpeg_vals - pydicom.dcmread(ct8).pixel_array.astype(np.int64))
        assert d_src.max() <= 8 and d_dcmtk.max() <= 1, (d_src.max(), d_dcmtk.max())
        files.append(record(
            made, made.name, "ct_small_8bit_sc_explicit_le.dcm",
            f"dcmcjpeg {flag} +rm +sr +un, quality 90, 8-bit {process} ({dcmtk_version()})",
            f"lossy: differs from its 8-bit source by at most {int(d_src.max())} stored "
            f"({10 * int(d_src.max())} HU); mean |diff| {float(d_src.mean()):.3f} stored",
            lossy=True, tolerance=10,
            tolerance_note=(f"in HU (1 stored value x Rescale Slope 10): DCMTK's dcmdjpeg "
                            f"differs from pydicom's decoder by at most {int(d_dcmtk.max())} "
                            f"stored on {int((d_dcmtk > 0).sum())} of {d_dcmtk.size} pixels")))

    for name in [n for n, _ in SERIES_LAYOUT] + [LOCALIZER_NAME]:
        files.append(record(SERIES_DIR / name, f"series/{name}", "synthetic",
                            "benches/peers/dicom_fixtures.py", None))

    refused = []
    for name, src in REFUSED:
        ds = pydicom.dcmread(OUT / name, stop_before_pixels=True)
        tsuid = ds.file_meta.TransferSyntaxUID
        refused.append({
            "file": name,
            "file_sha256": sha256_file(OUT / name),
            "source": test_files + src,
            "transfer_syntax_uid": str(tsuid),
            "expect_refused": tsuid.name,
            "same_values_as": "mr_small_explicit_le.dcm",
        })
    # Both really hold MR_small's values: pydicom decodes big endian natively, and JPEG-LS
    # with CharLS (pyjpegls) and libjpeg (pylibjpeg-libjpeg), which must agree.
    assert np.array_equal(pydicom.dcmread(OUT / "mr_small_big_endian.dcm").pixel_array, mr)
    jls = OUT / "mr_small_jpeg_ls_lossless.dcm"
    for plugin in get_decoder(pydicom.dcmread(jls).file_meta.TransferSyntaxUID).available_plugins:
        assert np.array_equal(pixel_array(jls, decoding_plugin=plugin), mr), plugin

    golden = {
        "generator": "benches/peers/dicom_fixtures.py",
        "software": {**plugin_versions(), "dcmtk": dcmtk_version()},
        "values_convention": (
            "values = pydicom.pixels.apply_modality_lut(ds.pixel_array, ds), flattened in "
            "C order (frame, row, column); integral numbers are written as integers. "
            f"Images of at most {FULL_VALUES_LIMIT} pixels carry every value ('values'); "
            "larger ones carry 'sample_indices' (flat indices) and 'sample_values'. "
            "'sha256_f32le' is the SHA-256 of all values as float32 little-endian; 'mean' is "
            "the float64 mean. 'tolerance' is the largest |difference| per value (in "
            "modality-LUT units) a conforming decoder may show; 0 = exact. A null "
            "rescale_slope/rescale_intercept means the attribute is absent (identity)."),
        "files": files,
        "refused": refused,
        "series": series,
        "sources_sha256": {k: {"source": v[0], "sha256": v[1]} for k, v in sources.items()},
    }
    (OUT / "golden.json").write_text(dumps(golden) + "\n")

    # Verify: every file reads back, and golden.json reproduces from the files on disk.
    back = json.loads((OUT / "golden.json").read_text())
    for entry in back["files"]:
        ds = pydicom.dcmread(OUT / entry["file"])
        hu = np.asarray(apply_modality_lut(ds.pixel_array, ds), dtype="<f4").reshape(-1)
        assert hashlib.sha256(hu.tobytes()).hexdigest() == entry["sha256_f32le"], entry["file"]
        if "values" in entry:
            assert np.array_equal(np.asarray(entry["values"], dtype="<f4"), hu), entry["file"]
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(back['files'])} decoded files + {len(refused)} refused to {OUT} "
          f"({total / 1024:.0f} KiB in all)")


if __name__ == "__main__":
    main()

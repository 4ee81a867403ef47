"""Reads DICOM Parametric Maps written by explainme back with pydicom and highdicom (pinned in
tools/requirements-validators.txt) and checks what a viewer relies on: Parametric Map Storage,
32-bit Float Pixel Data, one frame per source slice with its position, a frame of reference,
the Real World Value Mapping, and the values themselves: pydicom's pixel array, highdicom's
frames (real-world values applied) and highdicom's volume must agree with each other and, when
the map lies on the heatmap's own grid, equal the heatmap in `explanation-<case>.json` beside
the file (else stay within its range, as interpolation does).

With `--source DIR`, the map must be in the frame of reference of the DICOM series in DIR and
each frame must derive from one of its instances.

Usage: validate_pm.py [--source DIR] CASE.pm.dcm... Prints one line per file; exits non-zero
on the first failure."""

import argparse
import json
import os

import highdicom as hd
import numpy as np
import pydicom

import dicom_folder

PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"


def check(path, source):
    ds = pydicom.dcmread(path)
    problems = []
    if ds.SOPClassUID != PARAMETRIC_MAP:
        problems.append(f"SOP class {ds.SOPClassUID}")
    if ds.BitsAllocated != 32 or "FloatPixelData" not in ds:
        problems.append("not 32-bit Float Pixel Data")
    frames = int(ds.NumberOfFrames)
    if len(ds.PerFrameFunctionalGroupsSequence) != frames:
        problems.append("per-frame groups do not match Number of Frames")
    mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    if mapping.MeasurementUnitsCodeSequence[0].CodeValue != "1":
        problems.append("the real world values are not unit-less")

    pm = hd.pm.ParametricMap.from_dataset(ds, copy=True)
    by_pydicom = np.asarray(ds.pixel_array, dtype=np.float64).reshape(frames, ds.Rows, ds.Columns)
    by_highdicom = np.asarray(
        pm.get_frames(dtype=np.float32, apply_real_world_transform=True), dtype=np.float64
    ).reshape(frames, ds.Rows, ds.Columns)
    volume = pm.get_volume(dtype=np.float32)
    if np.max(np.abs(by_pydicom - by_highdicom)) > 1e-6:
        problems.append("highdicom's real world values differ from the stored floats")
    if sorted(np.asarray(volume.array).shape) != sorted(by_pydicom.shape):
        problems.append(f"highdicom's volume has shape {np.asarray(volume.array).shape}")

    case = os.path.basename(path)[len("case-"):-len(".pm.dcm")]
    explanation = json.load(open(os.path.join(os.path.dirname(path), f"explanation-{case}.json")))
    heatmap = explanation["heatmap"]
    values = np.asarray(heatmap["values"], dtype=np.float64)
    shape = [frames, ds.Rows, ds.Columns]
    if heatmap["shape"] in (shape, shape[1:]):
        worst = float(np.max(np.abs(by_pydicom.reshape(-1) - values)))
        if worst > 1e-6:
            problems.append(f"values differ from the heatmap by {worst}")
        compared = "equal to the heatmap"
    else:
        low, high = values.min() - 1e-6, values.max() + 1e-6
        if by_pydicom.min() < low or by_pydicom.max() > high:
            problems.append("values outside the heatmap's range")
        compared = f"resampled from {heatmap['shape']}"

    if source:
        frames_of_reference, instances = source
        if str(ds.FrameOfReferenceUID) not in frames_of_reference:
            problems.append("not in the source series' frame of reference")
        for i, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
            derived = item.DerivationImageSequence[0].SourceImageSequence[0]
            if str(derived.ReferencedSOPInstanceUID) not in instances:
                problems.append(f"frame {i + 1} derives from an instance not in the source")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems))
    print(f"{path}: Parametric Map, {frames} frame(s) of {ds.Rows}x{ds.Columns} float, {compared}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source")
    parser.add_argument("maps", nargs="+")
    args = parser.parse_args()
    source = dicom_folder.uids(args.source) if args.source else None
    for path in args.maps:
        check(path, source)

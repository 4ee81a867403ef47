"""Reads DICOM SRs written by explainme back with pydicom and highdicom (pinned in
tools/requirements-validators.txt) and checks what a PACS relies on: Comprehensive 3D SR,
TID 1500 as root template, VerificationFlag UNVERIFIED, the algorithm in the Contributing
Equipment Sequence, and the CNN's probability as a NUM item equal to the explanation's
(`explanation-<case>.json` beside the SR), read through pydicom and through highdicom's SR
content items. With `--source DIR`, every image the SR references (Image Library, Current
Requested Procedure Evidence) must be an instance of the DICOM files in DIR.

Usage: validate_sr.py [--source DIR] CASE.sr.dcm... Prints one line per file; exits non-zero
on the first failure."""

import argparse
import json
import os

import highdicom as hd
import pydicom

import dicom_folder


def walk(items):
    for item in items:
        yield item
        yield from walk(getattr(item, "ContentSequence", []))


def check(path, source):
    ds = pydicom.dcmread(path)
    problems = []
    sr = hd.sr.Comprehensive3DSR.from_dataset(ds, copy=True)
    through_highdicom = [
        float(item.MeasuredValueSequence[0].NumericValue)
        for item in walk(sr.ContentSequence)
        if item.ValueType == "NUM"
        and item.ConceptNameCodeSequence[0].CodeValue == "p-malignant"
    ]
    if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.88.34":
        problems.append(f"SOP class {ds.SOPClassUID}")
    if ds.ContentTemplateSequence[0].TemplateIdentifier != "1500":
        problems.append("root template is not TID 1500")
    if ds.VerificationFlag != "UNVERIFIED":
        problems.append(f"VerificationFlag {ds.VerificationFlag}")
    if ds.ContributingEquipmentSequence[0].Manufacturer != "explainme":
        problems.append("no explainme in the Contributing Equipment Sequence")
    numbers = {
        item.ConceptNameCodeSequence[0].CodeValue: float(item.MeasuredValueSequence[0].NumericValue)
        for item in walk(ds.ContentSequence)
        if item.ValueType == "NUM"
    }
    case = os.path.basename(path)[len("case-"):-len(".sr.dcm")]
    explanation = json.load(open(os.path.join(os.path.dirname(path), f"explanation-{case}.json")))
    if abs(numbers.get("p-malignant", -1) - explanation["probability"]) > 1e-6:
        problems.append(f"probability {numbers.get('p-malignant')} != {explanation['probability']}")
    if through_highdicom != [numbers.get("p-malignant")]:
        problems.append(f"highdicom reads p-malignant as {through_highdicom}")
    referenced = [
        str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        for item in walk(ds.ContentSequence)
        if item.ValueType == "IMAGE"
    ]
    evidence = [
        str(sop.ReferencedSOPInstanceUID)
        for study in ds.get("CurrentRequestedProcedureEvidenceSequence", [])
        for series in study.ReferencedSeriesSequence
        for sop in series.ReferencedSOPSequence
    ]
    if sorted(referenced) != sorted(evidence):
        problems.append("Image Library and Current Requested Procedure Evidence differ")
    if source is not None:
        if not referenced:
            problems.append("no source image referenced")
        missing = [uid for uid in referenced if uid not in source]
        if missing:
            problems.append(f"{len(missing)} referenced image(s) not in the source")
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems))
    print(
        f"{path}: Comprehensive 3D SR, TID 1500, UNVERIFIED, p = {numbers['p-malignant']}, "
        f"{len(referenced)} source image(s) referenced"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--source")
    parser.add_argument("reports", nargs="+")
    args = parser.parse_args()
    source = dicom_folder.uids(args.source)[1] if args.source else None
    for path in args.reports:
        check(path, source)

"""Reads DICOM SRs written by explainme back with pydicom (pinned in
tools/requirements-validators.txt) and checks what a PACS relies on: Comprehensive 3D SR,
TID 1500 as root template, VerificationFlag UNVERIFIED, the algorithm in the Contributing
Equipment Sequence, and the CNN's probability as a NUM item equal to the explanation's
(`explanation-<case>.json` beside the SR). Prints one line per file; exits non-zero on the
first failure."""

import json
import os
import sys

import pydicom


def walk(items):
    for item in items:
        yield item
        yield from walk(getattr(item, "ContentSequence", []))


def check(path):
    ds = pydicom.dcmread(path)
    problems = []
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
    if problems:
        raise SystemExit(f"{path}: " + "; ".join(problems))
    print(f"{path}: Comprehensive 3D SR, TID 1500, UNVERIFIED, p = {numbers['p-malignant']}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: validate_sr.py CASE.sr.dcm...")
    for path in sys.argv[1:]:
        check(path)

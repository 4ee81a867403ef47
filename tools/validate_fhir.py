"""Validates FHIR R4B Bundles written by explainme with fhir.resources (pinned in
tools/requirements-validators.txt): each file must parse as an R4B Bundle whose entries
are a Device, Observations and one DiagnosticReport whose results resolve inside the
bundle. Prints one line per file; exits non-zero on the first failure."""

import base64
import json
import sys

from fhir.resources.R4B.bundle import Bundle


def check(path):
    bundle = Bundle.model_validate(json.load(open(path)))
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    urls = {entry.fullUrl for entry in bundle.entry}
    reports = [e.resource for e in bundle.entry if e.resource.get_resource_type() == "DiagnosticReport"]
    if len(reports) != 1 or "Device" not in kinds or kinds.count("Observation") < 2:
        raise SystemExit(f"{path}: unexpected entries {kinds}")
    report = reports[0]
    missing = [r.reference for r in report.result if r.reference not in urls]
    if missing:
        raise SystemExit(f"{path}: results not in the bundle: {missing}")
    # fhir.resources decodes base64Binary while validating.
    data = report.presentedForm[0].data
    html = (data if isinstance(data, bytes) else base64.b64decode(data)).decode()
    if not html.startswith("<!DOCTYPE html>"):
        raise SystemExit(f"{path}: presentedForm is not the HTML report")
    print(f"{path}: R4B Bundle with {', '.join(kinds)}; report {report.status}, {len(html)} bytes of HTML")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: validate_fhir.py BUNDLE.json...")
    for path in sys.argv[1:]:
        check(path)

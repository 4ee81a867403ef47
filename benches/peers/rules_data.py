#!/usr/bin/env python3
"""Writes the input tables of the association-rules parity tests and benchmark.

Run from the repository root:  python3 benches/peers/rules_data.py

Outputs (all under crates/explainme-rules/tests/fixtures/):

kits19_numeric.csv
    The real KiTS19 records (../shared/data/kits19/kits19.json, 210 cases), one row per
    case, 16 columns; three columns are still numbers (age, BMI, radiographic size).
kits19_items.csv
    The same table discretised by the recipe below. This is what mlxtend, pyfim and
    explainme all mine; `explainme rules --csv kits19_numeric.csv --bins ...` reproduces it.
synthetic_levels.csv
    20,000 rows x 10 features x 4 levels (40 items), driven by a latent class.
synthetic_binary.csv
    20,000 rows x 40 correlated binary items (present = "1", absent = empty cell).

The KiTS19 recipe (documented in benches/peers/README.md, section "rules"):

* numbers -> intervals closed on the left, labelled exactly as explainme-cohort's
  `interval_labels` does (`<a`, `a-b`, `>=c`, cut points printed like Rust's `{}` for f64):
    age_at_nephrectomy  50, 65, 75
    body_mass_index     25, 30
    radiographic_size   2, 4, 7      (cm; the cut points of DESIGN.md's `size_cm`)
* booleans -> `true` / `false`; null -> empty cell (no item)
* tumor_isup_grade -> `G1`..`G4`; pathology T / M stage -> `T1a`, `M0`, `MX`, ...
* comorbidities.uncomplicated_diabetes_mellitus, comorbidities.chronic_kidney_disease
  -> columns `diabetes`, `chronic_kidney_disease`
* all other columns are copied as text.
"""

import csv
import json
import math
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "crates", "explainme-rules", "tests", "fixtures")
KITS = os.path.join(ROOT, "..", "shared", "data", "kits19", "kits19.json")

BINS = {
    "age_at_nephrectomy": [50, 65, 75],
    "body_mass_index": [25, 30],
    "radiographic_size": [2, 4, 7],
}

COLUMNS = [
    "age_at_nephrectomy",
    "gender",
    "body_mass_index",
    "smoking_history",
    "alcohol_use",
    "diabetes",
    "chronic_kidney_disease",
    "radiographic_size",
    "malignant",
    "tumor_histologic_subtype",
    "tumor_necrosis",
    "tumor_isup_grade",
    "pathology_t_stage",
    "pathology_m_stage",
    "surgical_procedure",
    "surgery_type",
]


def rust_number(x):
    """Formats a cut point the way Rust's `{}` prints an f64 (2.0 -> `2`, 2.5 -> `2.5`)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else repr(x)


def interval_labels(cuts):
    labels = ["<" + rust_number(cuts[0])]
    labels += [rust_number(a) + "-" + rust_number(b) for a, b in zip(cuts, cuts[1:])]
    labels.append(">=" + rust_number(cuts[-1]))
    return labels


def discretise(value, cuts):
    # Intervals closed on the left: the index is the number of cut points <= value.
    labels = interval_labels(cuts)
    return labels[sum(1 for c in cuts if c <= value)]


def text(value, prefix=""):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return prefix + str(value)


def kits_row(case):
    comorbid = case["comorbidities"]
    row = {}
    for column in COLUMNS:
        if column == "diabetes":
            value = text(comorbid["uncomplicated_diabetes_mellitus"])
        elif column == "chronic_kidney_disease":
            value = text(comorbid["chronic_kidney_disease"])
        elif column == "tumor_isup_grade":
            value = text(case[column], "G")
        elif column == "pathology_t_stage":
            value = text(case[column], "T")
        elif column == "pathology_m_stage":
            value = text(case[column], "M")
        else:
            value = case[column]
            value = "" if value is None else (repr(value) if isinstance(value, float) else text(value))
        row[column] = value
    return row


def write_csv(name, columns, rows):
    path = os.path.join(FIXTURES, name)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")


def kits19():
    with open(KITS) as f:
        cases = json.load(f)
    numeric = [kits_row(case) for case in cases]
    write_csv("kits19_numeric.csv", COLUMNS, [[r[c] for c in COLUMNS] for r in numeric])
    items = []
    for r in numeric:
        row = []
        for c in COLUMNS:
            v = r[c]
            if c in BINS and v != "":
                v = discretise(float(v), BINS[c])
            row.append(v)
        items.append(row)
    write_csv("kits19_items.csv", COLUMNS, items)


def synthetic_levels(rng, n=20_000):
    """10 features x 4 levels; each feature's level distribution depends on a latent class."""
    classes = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    columns = [f"f{j}" for j in range(10)]
    table = np.empty((n, 10), dtype=object)
    for j in range(10):
        probs = rng.dirichlet([0.6] * 4, size=3)
        for k in range(3):
            rows = np.flatnonzero(classes == k)
            table[rows, j] = rng.choice(4, size=rows.size, p=probs[k])
    rows = [[f"L{v}" for v in row] for row in table]
    write_csv("synthetic_levels.csv", columns, rows)


def synthetic_binary(rng, n=20_000):
    """40 binary items, correlated through a latent class: present = "1", absent = empty."""
    classes = rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1])
    probs = rng.beta(0.5, 1.6, size=(4, 40))
    present = rng.random((n, 40)) < probs[classes]
    columns = [f"b{j:02}" for j in range(40)]
    rows = [["1" if p else "" for p in row] for row in present]
    write_csv("synthetic_binary.csv", columns, rows)


if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    kits19()
    rng = np.random.default_rng(20190401)
    synthetic_levels(rng)
    synthetic_binary(rng)

#!/usr/bin/env python3
"""Writes the input tables of the association-rules parity tests and benchmark.

Run from the repository root:  python3 benches/peers/rules_data.py

Outputs:

target/peers/kits19_items.csv  (git-ignored: row-level KiTS19 data never enters the project)
    The real KiTS19 records (../shared/data/kits19/kits19.json, 210 cases), one row per
    case, 16 columns, discretised by the KiTS19 recipe. This is what mlxtend and pyfim mine
    (rules_golden.py); explainme reads the same JSON with
    `explainme import kits19 --json ../shared/data/kits19/kits19.json --discretise`.
target/peers/kits19_numeric.csv
    The same table before discretisation (age, BMI and radiographic size still numbers).
crates/explainme-rules/tests/fixtures/golden/kits19_items.sha256
    SHA-256 of kits19_items.csv: the parity tests check the importer's table against it.
crates/explainme-rules/tests/fixtures/synthetic_levels.csv
    20,000 rows x 10 features x 4 levels (40 items), driven by a latent class.
crates/explainme-rules/tests/fixtures/synthetic_binary.csv
    20,000 rows x 40 correlated binary items (present = "1", absent = empty cell).

The KiTS19 recipe is defined once, in the module docs of explainme-cohort's importer
(crates/explainme-cohort/src/kits19.rs, `explainme_cohort::kits19`); `kits_row` and
`discretise` below are its Python twin and must stay identical to it, cell for cell.
"""

import csv
import hashlib
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "crates", "explainme-rules", "tests", "fixtures")
# Row-level KiTS19 tables are derived from the shared records: written where git never looks.
KITS_OUT = os.path.join(ROOT, "target", "peers")
KITS = os.path.join(ROOT, "..", "shared", "data", "kits19", "kits19.json")

BINS = {
    "age_at_nephrectomy": [50, 65, 75],
    "body_mass_index": [25, 30],
    "radiographic_size": [2, 4, 7],
}

# The 16 columns: (column, path in the JSON record, kind). Kinds: "number" (JSON integer or
# float), "text" (string), "boolean" (-> `true` / `false`), or a prefix for a code given as a
# string or an integer (ISUP grade 3 -> `G3`, T stage "1a" -> `T1a`, M stage "X" -> `MX`).
# null -> empty cell; a missing field or a value of another type is an error.
RECIPE = [
    ("age_at_nephrectomy", ("age_at_nephrectomy",), "number"),
    ("gender", ("gender",), "text"),
    ("body_mass_index", ("body_mass_index",), "number"),
    ("smoking_history", ("smoking_history",), "text"),
    ("alcohol_use", ("alcohol_use",), "text"),
    ("diabetes", ("comorbidities", "uncomplicated_diabetes_mellitus"), "boolean"),
    ("chronic_kidney_disease", ("comorbidities", "chronic_kidney_disease"), "boolean"),
    ("radiographic_size", ("radiographic_size",), "number"),
    ("malignant", ("malignant",), "boolean"),
    ("tumor_histologic_subtype", ("tumor_histologic_subtype",), "text"),
    ("tumor_necrosis", ("tumor_necrosis",), "boolean"),
    ("tumor_isup_grade", ("tumor_isup_grade",), "G"),
    ("pathology_t_stage", ("pathology_t_stage",), "T"),
    ("pathology_m_stage", ("pathology_m_stage",), "M"),
    ("surgical_procedure", ("surgical_procedure",), "text"),
    ("surgery_type", ("surgery_type",), "text"),
]
COLUMNS = [column for column, _, _ in RECIPE]


def rust_number(x):
    """Prints a number the way Rust's `{}` prints it: integers as they are, floats as the
    shortest decimal that reads back to the same f64, without exponent or trailing `.0`
    (2.0 -> `2`, 29.47 -> `29.47`)."""
    if isinstance(x, int):
        return str(x)
    return np.format_float_positional(float(x), unique=True, trim="-")


def interval_labels(cuts):
    labels = ["<" + rust_number(cuts[0])]
    labels += [rust_number(a) + "-" + rust_number(b) for a, b in zip(cuts, cuts[1:])]
    labels.append(">=" + rust_number(cuts[-1]))
    return labels


def discretise(value, cuts):
    # Intervals closed on the left: the index is the number of cut points <= value.
    labels = interval_labels(cuts)
    return labels[sum(1 for c in cuts if c <= value)]


def cell(case, path, kind):
    value = case
    for key in path:
        value = value[key]
    if value is None:
        return ""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "number" and (is_int or isinstance(value, float)):
        return rust_number(value)
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if kind not in ("number", "text", "boolean") and (is_int or isinstance(value, str)):
        return kind + str(value)
    raise ValueError(f"{case.get('case_id')}: field `{'.'.join(path)}` is not a {kind} value")


def kits_row(case):
    return {column: cell(case, path, kind) for column, path, kind in RECIPE}


def write_csv(name, columns, rows, folder=FIXTURES):
    path = os.path.join(folder, name)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    print(f"wrote {path} ({len(rows)} rows)")
    return path


def kits19():
    with open(KITS) as f:
        cases = json.load(f)
    numeric = [kits_row(case) for case in cases]
    write_csv("kits19_numeric.csv", COLUMNS, [[r[c] for c in COLUMNS] for r in numeric], KITS_OUT)
    items = []
    for r in numeric:
        row = []
        for c in COLUMNS:
            v = r[c]
            if c in BINS and v != "":
                v = discretise(float(v), BINS[c])
            row.append(v)
        items.append(row)
    path = write_csv("kits19_items.csv", COLUMNS, items, KITS_OUT)
    # The one trace of the rows that may be committed: a digest, so the Rust tests can check
    # that explainme's importer gives this very table, byte for byte.
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(FIXTURES, "golden", "kits19_items.sha256"), "w") as f:
        f.write(digest + "  kits19_items.csv\n")


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
    os.makedirs(KITS_OUT, exist_ok=True)
    kits19()
    rng = np.random.default_rng(20190401)
    synthetic_levels(rng)
    synthetic_binary(rng)

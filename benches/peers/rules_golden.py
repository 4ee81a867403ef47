#!/usr/bin/env python3
"""Golden outputs of mlxtend 0.25 and pyfim 6.28 for the explainme-rules parity tests.

Run from the repository root after rules_data.py:  python3 benches/peers/rules_golden.py
(the KiTS19 table is read from target/peers/, where rules_data.py writes it: row-level
KiTS19 data is never committed; the synthetic tables are fixtures).

For every table in CASES it mines the frequent itemsets with mlxtend (fpgrowth, fpmax) and
pyfim (fpgrowth with targets s, c, m), checks that both libraries agree, and writes under
crates/explainme-rules/tests/fixtures/golden/:

<case>_itemsets.csv   all frequent itemsets            (mlxtend fpgrowth == pyfim 's')
<case>_closed.csv     closed frequent itemsets         (pyfim 'c')
<case>_maximal.csv    maximal frequent itemsets        (mlxtend fpmax == pyfim 'm')
<case>_rules.csv      mlxtend association_rules, all 12 metrics, metric="confidence",
                      + fisher_p (scipy.stats.fisher_exact, alternative="greater")
                      + fisher_p_bh (scipy.stats.false_discovery_control over the file)
<case>_class_rules.csv         rules whose consequent is one target item and whose
                               antecedent has no item of a target column (from the mlxtend
                               rules above), Fisher + BH over this file
<case>_class_rules_pruned.csv  the class rules that beat every more general rule (same
                               consequent, non-empty proper subset of the antecedent) on
                               confidence, computed here by brute force; Fisher + BH over it

Itemsets are written as their `column=value` items sorted as strings and joined by " & ";
floats with repr() (shortest round trip), infinities as `inf`.
"""

import csv
import itertools
import math
import os
import sys

import fim
import numpy as np
import pandas as pd
import scipy.stats
from mlxtend.frequent_patterns import association_rules, fpgrowth, fpmax

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "crates", "explainme-rules", "tests", "fixtures")
GOLDEN = os.path.join(FIXTURES, "golden")
KITS_OUT = os.path.join(ROOT, "target", "peers")

# name: (table path, min support for itemsets, min support for rules, min confidence, targets)
CASES = {
    "kits19": (os.path.join(KITS_OUT, "kits19_items.csv"), 0.15, 0.2, 0.85,
               ["malignant=true", "tumor_histologic_subtype=clear_cell_rcc"]),
    "levels": (os.path.join(FIXTURES, "synthetic_levels.csv"), 0.01, 0.05, 0.6, ["f0=L3", "f3=L1"]),
    "binary": (os.path.join(FIXTURES, "synthetic_binary.csv"), 0.02, 0.1, 0.7, ["b00=1"]),
}

SEP = " & "
METRICS = [
    "antecedent support", "consequent support", "support", "confidence", "lift",
    "representativity", "leverage", "conviction", "zhangs_metric", "jaccard", "certainty",
    "kulczynski",
]


def read_transactions(path):
    """Rows of `column=value` items; an empty cell gives no item."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        columns = next(reader)
        return [[f"{c}={v.strip()}" for c, v in zip(columns, row) if v.strip()] for row in reader]


def one_hot(transactions):
    items = sorted({i for t in transactions for i in t})
    index = {item: j for j, item in enumerate(items)}
    matrix = np.zeros((len(transactions), len(items)), dtype=bool)
    for r, t in enumerate(transactions):
        matrix[r, [index[i] for i in t]] = True
    return pd.DataFrame(matrix, columns=items)


def key(itemset):
    return SEP.join(sorted(itemset))


def write_itemsets(path, found):
    """found: {frozenset: (count, support as the library reported it)}."""
    rows = sorted((key(s), c, sup) for s, (c, sup) in found.items())
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["itemsets", "count", "support"])
        for k, c, sup in rows:
            w.writerow([k, c, repr(float(sup))])
    print(f"wrote {path} ({len(rows)} itemsets)")


def mlxtend_found(frame, n):
    return {frozenset(s): (int(round(sup * n)), sup)
            for s, sup in zip(frame["itemsets"], frame["support"])}


def pyfim_found(transactions, target, min_count):
    found = fim.fpgrowth(transactions, target=target, supp=-min_count, zmin=1, report="(as")
    return {frozenset(s): (int(c), sup) for s, (c, sup) in found}


def counts(found):
    return {s: c for s, (c, _) in found.items()}


def fisher_greater(n, a, c, ac):
    table = [[ac, a - ac], [c - ac, n - a - c + ac]]
    return scipy.stats.fisher_exact(table, alternative="greater").pvalue


def write_rules(path, rules, n):
    """rules: list of dicts with antecedents, consequents (frozensets) and metrics."""
    rules = sorted(rules, key=lambda r: (key(r["antecedents"]), key(r["consequents"])))
    ps = [fisher_greater(n, round(r["antecedent support"] * n), round(r["consequent support"] * n),
                         round(r["support"] * n)) for r in rules]
    bh = scipy.stats.false_discovery_control(ps) if ps else []
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["antecedents", "consequents"] + METRICS + ["fisher_p", "fisher_p_bh"])
        for r, p, q in zip(rules, ps, bh):
            w.writerow([key(r["antecedents"]), key(r["consequents"])]
                       + [repr(float(r[m])) for m in METRICS] + [repr(float(p)), repr(float(q))])
    print(f"wrote {path} ({len(rules)} rules)")


def column(item):
    return item.split("=", 1)[0]


def main():
    os.makedirs(GOLDEN, exist_ok=True)
    for case, (table, item_support, rule_support, min_confidence, targets) in CASES.items():
        transactions = read_transactions(table)
        n = len(transactions)
        frame = one_hot(transactions)
        min_count = math.ceil(item_support * n)

        every = mlxtend_found(fpgrowth(frame, min_support=item_support, use_colnames=True), n)
        if counts(every) != counts(pyfim_found(transactions, "s", min_count)):
            sys.exit(f"{case}: mlxtend and pyfim disagree on the frequent itemsets")
        write_itemsets(os.path.join(GOLDEN, f"{case}_itemsets.csv"), every)

        closed = pyfim_found(transactions, "c", min_count)
        write_itemsets(os.path.join(GOLDEN, f"{case}_closed.csv"), closed)

        maximal = mlxtend_found(fpmax(frame, min_support=item_support, use_colnames=True), n)
        if counts(maximal) != counts(pyfim_found(transactions, "m", min_count)):
            sys.exit(f"{case}: mlxtend and pyfim disagree on the maximal itemsets")
        write_itemsets(os.path.join(GOLDEN, f"{case}_maximal.csv"), maximal)

        rule_sets = fpgrowth(frame, min_support=rule_support, use_colnames=True)
        rules = association_rules(rule_sets, num_itemsets=n, metric="confidence",
                                  min_threshold=min_confidence)
        records = rules.to_dict("records")
        write_rules(os.path.join(GOLDEN, f"{case}_rules.csv"), records, n)

        target_columns = {column(t) for t in targets}
        class_rules = [
            r for r in records
            if len(r["consequents"]) == 1 and next(iter(r["consequents"])) in targets
            and not any(column(i) in target_columns for i in r["antecedents"])
        ]
        write_rules(os.path.join(GOLDEN, f"{case}_class_rules.csv"), class_rules, n)

        support = counts(mlxtend_found(rule_sets, n))

        def confidence(antecedent, consequent):
            return support[antecedent | consequent] / support[antecedent]

        def beats_generalisations(r):
            a, c = r["antecedents"], r["consequents"]
            own = support[a | c] / support[a]
            return all(
                own > confidence(frozenset(sub), c)
                for size in range(1, len(a))
                for sub in itertools.combinations(sorted(a), size)
            )

        pruned = [r for r in class_rules if beats_generalisations(r)]
        write_rules(os.path.join(GOLDEN, f"{case}_class_rules_pruned.csv"), pruned, n)


if __name__ == "__main__":
    main()

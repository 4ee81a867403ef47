#!/usr/bin/env python3
"""Times pyfim 6.28 and mlxtend 0.25 on the benchmark tables; run by `cargo bench -p explainme-rules --bench rules`.

Prints one JSON document: for each table, the best (minimum) thread CPU time
(time.thread_time(), CLOCK_THREAD_CPUTIME_ID) in seconds over --repeat runs, the statistic
and clock the Rust side reports too, of
  pyfim_fpgrowth    fim.fpgrowth(target="s", supp=-min_count, report="a")
  pyfim_arules      fim.arules(supp=-min_count, conf=..., report="(abhCl", mode="o")
  mlxtend_fpgrowth  mlxtend fpgrowth on the one-hot frame (single run: it takes seconds)
  mlxtend_rules     mlxtend association_rules on those itemsets (single run)
and the numbers of itemsets / rules each returned. Inputs (lists of `column=value` items,
the one-hot frame) are built before the clock starts; each call includes the library's own
recoding of Python objects, as a user would pay it.

Usage: python3 benches/peers/rules_bench.py --min-support 0.01 --min-confidence 0.8
       [--repeat 7] [--skip-mlxtend] TABLE.csv ...
"""

import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fim  # noqa: E402
from mlxtend.frequent_patterns import association_rules, fpgrowth  # noqa: E402
from rules_golden import one_hot, read_transactions  # noqa: E402


def timed(call, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.thread_time()
        result = call()
        times.append(time.thread_time() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--min-support", type=float, default=0.01)
    parser.add_argument("--min-confidence", type=float, default=0.8)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--skip-mlxtend", action="store_true")
    args = parser.parse_args()
    report = {}
    for path in args.tables:
        transactions = read_transactions(os.path.abspath(path))
        n = len(transactions)
        min_count = math.ceil(args.min_support * n)
        entry = {"rows": n, "min_count": min_count}
        t, found = timed(lambda: fim.fpgrowth(transactions, target="s", supp=-min_count,
                                              zmin=1, report="a"), args.repeat)
        entry.update(pyfim_fpgrowth=t, pyfim_itemsets=len(found))
        t, rules = timed(lambda: fim.arules(transactions, supp=-min_count,
                                            conf=100 * args.min_confidence, zmin=2,
                                            report="(abhCl", mode="o"), args.repeat)
        entry.update(pyfim_arules=t, pyfim_rules=len(rules))
        if not args.skip_mlxtend:
            frame = one_hot(transactions)
            t, itemsets = timed(lambda: fpgrowth(frame, min_support=args.min_support,
                                                 use_colnames=True), 1)
            entry.update(mlxtend_fpgrowth=t, mlxtend_itemsets=len(itemsets))
            t, rules = timed(lambda: association_rules(itemsets, num_itemsets=n,
                                                       metric="confidence",
                                                       min_threshold=args.min_confidence), 1)
            entry.update(mlxtend_rules=t, mlxtend_rule_count=len(rules))
        report[os.path.basename(path)] = entry
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()

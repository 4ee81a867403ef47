#!/usr/bin/env python3
"""pgmpy's side of benches/bayes.rs (run by the bench binary; one JSON document on stdout).

  python3 benches/peers/bayes_bench.py sample OUT.csv    ALARM, 5000 records, pgmpy seed 42
  python3 benches/peers/bayes_bench.py learn DATA.csv    hill climbing + BIC (pgmpy defaults:
                                                         tabu 100, epsilon 1e-4), timed
  python3 benches/peers/bayes_bench.py pc DATA.csv       PC-stable, chi-square, alpha 0.01, timed
  python3 benches/peers/bayes_bench.py query             VE marginal on ALARM, mean time
  python3 benches/peers/bayes_bench.py calibrate         junction-tree calibration (slow)

Versions: benches/peers/requirements-bayes.txt (pgmpy 1.1.2).
"""

import json
import os
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import pandas as pd
from pgmpy.estimators import PC, HillClimbSearch
from pgmpy.inference import BeliefPropagation, VariableElimination
from pgmpy.readwrite import BIFReader

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALARM = os.path.join(ROOT, "..", "shared", "data", "bn", "alarm.bif")
QUERY_TARGET = "HYPOVOLEMIA"
QUERY_EVIDENCE = {"HRBP": "HIGH", "BP": "LOW", "CVP": "LOW"}


def main():
    command = sys.argv[1]
    model = BIFReader(ALARM).get_model()
    if command == "sample":
        data = model.simulate(n_samples=5000, seed=42, show_progress=False)
        data[sorted(data.columns)].to_csv(sys.argv[2], index=False)
        result = {"rows": len(data)}
    elif command == "learn":
        data = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
        start = time.perf_counter()
        dag = HillClimbSearch(data).estimate(scoring_method="bic-d", show_progress=False)
        seconds = time.perf_counter() - start
        result = {"seconds": seconds, "edges": sorted([list(e) for e in dag.edges()])}
    elif command == "pc":
        data = pd.read_csv(sys.argv[2], dtype=str, keep_default_na=False)
        start = time.perf_counter()
        pdag = PC(data).estimate(
            variant="stable", ci_test="chi_square", significance_level=0.01, max_cond_vars=3,
            return_type="pdag", show_progress=False,
        )
        seconds = time.perf_counter() - start
        # An undirected edge appears in both directions.
        result = {"seconds": seconds, "edges": sorted([list(e) for e in pdag.edges()])}
    elif command == "query":
        ve = VariableElimination(model)
        ve.query([QUERY_TARGET], evidence=QUERY_EVIDENCE, show_progress=False)
        runs = 50
        start = time.perf_counter()
        for _ in range(runs):
            q = ve.query([QUERY_TARGET], evidence=QUERY_EVIDENCE, show_progress=False)
        seconds = (time.perf_counter() - start) / runs
        result = {"seconds": seconds, "posterior": [float(p) for p in q.values]}
    elif command == "calibrate":
        bp = BeliefPropagation(model)
        start = time.perf_counter()
        bp.calibrate()
        result = {"seconds": time.perf_counter() - start}
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

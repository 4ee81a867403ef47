#!/usr/bin/env python3
"""Golden fixtures for explainme-bayes, computed by pgmpy (benches/peers/requirements-bayes.txt).

Writes into crates/explainme-bayes/tests/fixtures/:
  posteriors.json  exact marginals P(X | e) (variable elimination, CPTs normalised) and MAP on
                   asia, child and alarm for seeded random evidence sets;
  <net>_<n>.csv    records forward-sampled by pgmpy (seed 42);
  scores.json      BIC, BDeu (ess 10) and K2 of given DAGs on those records, with states
                   taken from the data (read back as strings, sorted, as pgmpy does);
  parameters.json  CPTs fitted by MLE, BDeu (ess 10) and K2 priors on the asia records.

It also checks (reads, does not write) <net>.xmlbif, our XMLBIF of each shared network
(committed by `BLESS=1 cargo test -p explainme-bayes --test io`): pgmpy's XMLBIFReader must
load it with CPDs identical to pgmpy's reading of the BIF.

Run from the repository root:  python3 benches/peers/bayes_parity.py
"""

import json
import os
import random
import warnings

warnings.filterwarnings("ignore")

import pandas as pd
from pgmpy.estimators import BayesianEstimator, MaximumLikelihoodEstimator
from pgmpy.inference import VariableElimination
from pgmpy.models import DiscreteBayesianNetwork
from pgmpy.readwrite import BIFReader
from pgmpy.structure_score import BDeu, BIC, K2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BN = os.path.join(ROOT, "..", "shared", "data", "bn")
OUT = os.path.join(ROOT, "crates", "explainme-bayes", "tests", "fixtures")


def load(name):
    return BIFReader(os.path.join(BN, f"{name}.bif")).get_model()


def load_normalised(name):
    """The network with every CPT column rescaled to sum to one. ALARM's and SACHS's BIF rows
    sum to 1 +- 1e-7; pgmpy keeps them as written, so its answers would depend on which barren
    variables a query prunes (VE) or keeps (belief propagation). explainme-bayes infers on
    normalised tables, and so does this reference."""
    model = load(name)
    for cpd in model.get_cpds():
        cpd.normalize(inplace=True)
    return model


def posteriors():
    rng = random.Random(7)
    cases = []
    for name, n_sets, n_evidence in [("asia", 6, 2), ("child", 6, 3), ("alarm", 6, 4)]:
        model = load_normalised(name)
        ve = VariableElimination(model)
        nodes = sorted(model.nodes())
        for _ in range(n_sets):
            observed = rng.sample(nodes, n_evidence)
            evidence = {v: rng.choice(model.get_cpds(v).state_names[v]) for v in observed}
            # Evidence of probability zero has no posterior: draw again.
            try:
                ve.query([nodes[0] if nodes[0] not in evidence else nodes[1]], evidence=evidence, show_progress=False)
            except Exception:
                continue
            for target in nodes:
                if target in evidence:
                    continue
                q = ve.query([target], evidence=evidence, show_progress=False)
                cases.append({
                    "network": name,
                    "kind": "marginal",
                    "target": target,
                    "evidence": evidence,
                    "posterior": {s: float(p) for s, p in zip(q.state_names[target], q.values)},
                })
            free = [v for v in nodes if v not in evidence]
            map_vars = rng.sample(free, min(3, len(free)))
            assignment = ve.map_query(map_vars, evidence=evidence, show_progress=False)
            cases.append({
                "network": name,
                "kind": "map",
                "targets": map_vars,
                "evidence": evidence,
                "assignment": {k: str(v) for k, v in assignment.items()},
            })
    return cases


def sample(name, n):
    model = load(name)
    data = model.simulate(n_samples=n, seed=42, show_progress=False)
    data = data[sorted(data.columns)]
    path = os.path.join(OUT, f"{name}_{n}.csv")
    data.to_csv(path, index=False)
    # Read back as strings so the states are exactly the values seen, as our reader sees them.
    return model, pd.read_csv(path, dtype=str, keep_default_na=False)


def dags(model):
    """The true DAG, the empty DAG, and the true DAG with a few arcs reversed or dropped."""
    true_edges = sorted(model.edges())
    edited = []
    for k, (a, b) in enumerate(true_edges):
        if k % 4 == 0:
            continue  # dropped
        edited.append((b, a) if k % 4 == 1 else (a, b))
    candidates = {"true": true_edges, "empty": [], "edited": edited}
    result = {}
    for label, edges in candidates.items():
        g = DiscreteBayesianNetwork()
        g.add_nodes_from(model.nodes())
        try:
            g.add_edges_from(edges)
        except ValueError:
            continue  # a reversal closed a cycle; skip this candidate
        result[label] = g
    return result


def scores():
    out = []
    for name, n in [("asia", 1000), ("child", 2000), ("alarm", 2000)]:
        model, data = sample(name, n)
        scorers = {"bic": BIC(data), "bdeu": BDeu(data, equivalent_sample_size=10), "k2": K2(data)}
        for label, g in dags(model).items():
            entry = {"network": name, "rows": n, "dag": label,
                     "edges": [list(e) for e in sorted(g.edges())]}
            for score_name, scorer in scorers.items():
                entry[score_name] = float(scorer.score(g))
            out.append(entry)
    return out


def parameters():
    model = load("asia")
    data = pd.read_csv(os.path.join(OUT, "asia_1000.csv"), dtype=str, keep_default_na=False)
    out = []
    for label, fit in [
        ("mle", lambda g: MaximumLikelihoodEstimator(g, data)),
        ("bdeu", lambda g: BayesianEstimator(g, data)),
        ("k2", lambda g: BayesianEstimator(g, data)),
    ]:
        g = DiscreteBayesianNetwork(model.edges())
        estimator = fit(g)
        for node in sorted(g.nodes()):
            if label == "mle":
                cpd = estimator.estimate_cpd(node)
            elif label == "bdeu":
                cpd = estimator.estimate_cpd(node, prior_type="BDeu", equivalent_sample_size=10)
            else:
                cpd = estimator.estimate_cpd(node, prior_type="K2")
            parents = list(cpd.variables[1:])
            values = cpd.get_values()  # rows: child states; columns: parent configs, last fastest
            rows = []
            import itertools
            for c, config in enumerate(itertools.product(*[cpd.state_names[p] for p in parents])):
                rows.append({
                    "parents": dict(zip(parents, config)),
                    "probabilities": {s: float(values[k][c]) for k, s in enumerate(cpd.state_names[node])},
                })
            out.append({"prior": label, "variable": node, "rows": rows})
    return out


def check_xmlbif():
    import numpy as np
    from pgmpy.readwrite import XMLBIFReader

    for name in ["asia", "child", "alarm", "insurance", "sachs"]:
        ours = XMLBIFReader(os.path.join(OUT, f"{name}.xmlbif")).get_model()
        reference = load(name)
        assert set(ours.edges()) == set(reference.edges()), name
        for cpd in reference.get_cpds():
            other = ours.get_cpds(cpd.variable)
            assert all(other.state_names[v] == cpd.state_names[v] for v in cpd.variables), name
            shape = lambda c: [c.cardinality[0]] + list(c.cardinality[1:])
            mine = np.transpose(
                other.get_values().reshape(shape(other)),
                [other.variables.index(v) for v in cpd.variables],
            )
            assert np.array_equal(mine, cpd.get_values().reshape(shape(cpd))), (name, cpd.variable)
        print(f"{name}.xmlbif: loaded by pgmpy, {len(ours.edges())} arcs, CPDs identical to the BIF")


def main():
    os.makedirs(OUT, exist_ok=True)
    check_xmlbif()
    with open(os.path.join(OUT, "posteriors.json"), "w") as f:
        json.dump(posteriors(), f, indent=1)
    with open(os.path.join(OUT, "scores.json"), "w") as f:
        json.dump(scores(), f, indent=1)
    with open(os.path.join(OUT, "parameters.json"), "w") as f:
        json.dump(parameters(), f, indent=1)


if __name__ == "__main__":
    main()

"""What the service answers, as the Python ecosystem expects it: pandas DataFrames for rules and
explanations (mlxtend's rule columns), a networkx DiGraph for the Bayesian network (a pgmpy
model when pgmpy is installed), numpy arrays for heatmaps, HTML reports shown inline in
Jupyter."""

from __future__ import annotations

import ast
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from explainme.v1 import explanations_pb2 as ex


def tensor(message) -> np.ndarray:
    """A FloatTensor as a float32 array of its shape."""
    return np.asarray(message.data, dtype=np.float32).reshape(tuple(message.shape))


@dataclass
class Explanation:
    """Why the CNN decided what it decided for one case."""

    case_ref: str
    probability: float
    verdict: str
    calibrated_probability: float
    prediction_set: list[str]
    narrative: str
    counterfactual: str
    flags: list[tuple[str, str]]
    similar_cases: pd.DataFrame
    #: The saliency map on the model's input grid, or None when not asked for.
    heatmap: np.ndarray | None
    #: Faithfulness of the heatmap (deletion/insertion AUC and the curves' ends, mass in the
    #: lesion), when any.
    faithfulness: dict[str, float]
    #: Everything, as explainme-explain serialises it.
    details: dict[str, Any] = field(repr=False)

    @classmethod
    def from_message(cls, e: ex.Explanation) -> "Explanation":
        heatmap, faithfulness = None, {}
        if e.HasField("heatmap"):
            heatmap = tensor(e.heatmap.values)
            faithfulness = {
                "deletion_auc": e.heatmap.deletion_auc,
                "insertion_auc": e.heatmap.insertion_auc,
                "random_deletion_auc": e.heatmap.random_deletion_auc,
                "random_insertion_auc": e.heatmap.random_insertion_auc,
                # The curves' fixed ends: the blurred image's and the median-filled image's
                # probability of the class (-1 when the explainer did not record them).
                "blurred_score": e.heatmap.blurred_score,
                "median_score": e.heatmap.median_score,
                "mass_in_lesion": e.heatmap.mass_in_lesion,
            }
        similar = pd.DataFrame(
            [
                {
                    "case_id": s.case_id,
                    "distance": s.distance,
                    "malignant": s.malignant,
                    "subtype": s.subtype,
                    "probability": s.probability,
                }
                for s in e.similar_cases
            ],
            columns=["case_id", "distance", "malignant", "subtype", "probability"],
        )
        return cls(
            case_ref=e.case_ref,
            probability=e.probability,
            verdict=e.verdict,
            calibrated_probability=e.calibrated_probability,
            prediction_set=list(e.prediction_set),
            narrative=e.narrative,
            counterfactual=e.counterfactual,
            flags=[(f.kind, f.message) for f in e.flags],
            similar_cases=similar,
            heatmap=heatmap,
            faithfulness=faithfulness,
            details=json.loads(e.explanation_json) if e.explanation_json else {},
        )

    def _repr_html_(self) -> str:
        flags = "".join(f"<li>{_escape(m)}</li>" for _, m in self.flags)
        return (
            f"<div><b>{_escape(self.case_ref)}</b>: {_escape(self.verdict)} "
            f"(p = {self.probability:.3f}, calibrated {self.calibrated_probability:.3f}, "
            f"90% set {{{', '.join(self.prediction_set)}}})"
            f"<p>{_escape(self.narrative)}</p>{f'<ul>{flags}</ul>' if flags else ''}</div>"
        )


def explanations_frame(explanations: list[Explanation]) -> pd.DataFrame:
    """One row per explanation: the figures a study tabulates."""
    return pd.DataFrame(
        [
            {
                "case_ref": e.case_ref,
                "verdict": e.verdict,
                "probability": e.probability,
                "calibrated_probability": e.calibrated_probability,
                "prediction_set": tuple(e.prediction_set),
                "p_malignant_network": e.details.get("network", {}).get("p_malignant"),
                "tree_rule": " AND ".join(e.details.get("tree", {}).get("conditions", [])),
                "flags": len(e.flags),
                "narrative": e.narrative,
            }
            for e in explanations
        ]
    )


def rules_frame(csv_text: str) -> pd.DataFrame:
    """The rules CSV export as mlxtend's DataFrame (its columns, in its order, then explainme's
    `fisher_p`, `fisher_p_bh`, `count`): antecedents and consequents as frozensets of
    `feature=state` items."""
    frame = pd.read_csv(io.StringIO(csv_text))
    for column in ("antecedents", "consequents"):
        frame[column] = frame[column].map(_frozenset)
    return frame


def _frozenset(text: str) -> frozenset:
    # Python's own repr, as mlxtend writes it: frozenset({'a=b', 'c=d'}).
    inner = text.strip()
    if inner.startswith("frozenset(") and inner.endswith(")"):
        inner = inner[len("frozenset(") : -1]
    return frozenset(ast.literal_eval(inner)) if inner not in ("", "{}", "set()") else frozenset()


@dataclass
class Summary:
    """What an explainer learnt about its cohort."""

    explainer_id: str
    performance: dict[str, float]
    narrative: str
    #: Every rule mined, mlxtend's columns (antecedents/consequents as frozensets).
    rules: pd.DataFrame
    #: Candidate new knowledge: malignancy rules the known list does not cover.
    candidates: pd.DataFrame
    #: The Bayesian network; edges carry `strength` (the family-score gain of the arc).
    network: nx.DiGraph
    markov_blankets: dict[str, list[str]]
    concepts: pd.DataFrame
    bif: str = field(repr=False)
    details: dict[str, Any] = field(repr=False)
    report_html: str = field(default="", repr=False)

    def network_model(self):
        """The network as a pgmpy model (``pip install explainme-client[pgmpy]``)."""
        try:
            from pgmpy.readwrite import BIFReader
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise ImportError(
                "network_model() needs pgmpy: pip install 'explainme-client[pgmpy]'"
            ) from e
        return BIFReader(string=self.bif).get_model()

    def _repr_html_(self) -> str:
        if self.report_html:
            return self.report_html
        p = self.performance
        return (
            f"<div><b>explainer {_escape(self.explainer_id)}</b>: held-out AUC {p['auc']:.3f} "
            f"({p['auc_ci_low']:.3f}–{p['auc_ci_high']:.3f}), {len(self.rules)} rules, "
            f"{self.network.number_of_edges()} arcs<p>{_escape(self.narrative)}</p></div>"
        )


def matched_rules_frame(rules) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "antecedents": frozenset(r.antecedent),
                "consequents": frozenset([r.consequent]),
                "support": r.support,
                "confidence": r.confidence,
                "lift": r.lift,
                "leverage": r.leverage,
                "conviction": r.conviction,
            }
            for r in rules
        ],
        columns=["antecedents", "consequents", "support", "confidence", "lift", "leverage", "conviction"],
    )


def network_graph(bif: str, edges) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(re.findall(r"^variable\s+(\S+)\s*\{", bif, flags=re.MULTILINE))
    for edge in edges:
        graph.add_edge(getattr(edge, "from"), edge.to, strength=edge.strength)
    return graph


@dataclass
class Report:
    """A rendered report: shown inline in Jupyter, or saved."""

    file_name: str
    media_type: str
    content: bytes = field(repr=False)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def save(self, path: str | Path | None = None) -> Path:
        target = Path(path) if path is not None else Path(self.file_name)
        target.write_bytes(self.content)
        return target

    def _repr_html_(self) -> str | None:
        return self.text if self.media_type.startswith("text/html") else None

    def _repr_markdown_(self) -> str | None:
        return self.text if self.media_type.startswith("text/markdown") else None


@dataclass
class FitEvent:
    """One progress event of a fit: a stage starting, advancing, or the fit finished."""

    kind: str  # "stage", "advanced" or "finished"
    stage: str = ""
    done: int = 0
    total: int = 0
    explainer_id: str = ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

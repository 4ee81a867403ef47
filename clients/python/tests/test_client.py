"""Every call of the client against a real server: models, cohorts, fit, explain, summary,
reports, exports, and the error paths as exceptions."""

from __future__ import annotations

import json

import grpc
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from conftest import MODELS
from explainme_client import (
    Client,
    Explanation,
    InvalidArgument,
    NotFound,
    Summary,
    explanations_frame,
)

ONNX = MODELS / "renal_cnn.onnx"
CARD = MODELS / "renal_cnn.card.json"


@pytest.fixture(scope="module")
def client(server):
    with Client(server) as c:
        yield c


@pytest.fixture(scope="module")
def fitted(client, cohort):
    model = client.register_model(ONNX, CARD, name="renal_cnn")
    stored = client.upsert_cohort(cohort, cohort="phantoms", progress=False)
    assert stored == {"created": 160, "replaced": 0}
    events = list(client.fit(model.model_id, "phantoms", seed=3, concept_permutations=20))
    return model, events


def test_models_register_list_and_draft(client, fitted):
    model, _ = fitted
    assert model.model_id and model.name == "renal_cnn"
    assert model.model_id in [m.model_id for m in client.models()]
    draft = client.draft_card(ONNX)
    assert draft["card"]["input_size"] == json.loads(CARD.read_text())["input_size"]
    assert {n["field"] for n in draft["notes"]} >= {"layout", "input_size"}
    # The drafted card registers as it is.
    again = client.register_model(ONNX.read_bytes(), draft["card"], name="drafted")
    assert again.model_id


def test_broken_models_raise_with_the_servers_message(client):
    with pytest.raises(InvalidArgument) as refused:
        client.register_model(b"not an onnx model", CARD)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "onnx" in refused.value.message
    with pytest.raises(InvalidArgument):
        client.draft_card(b"\x08\x07garbage")


def test_register_keras_exports_drafts_and_registers(client):
    try:
        import tensorflow as tf
        import tf2onnx  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"explainme-client\[keras\]"):
            client.register_keras(object())
        return
    # A small Keras CNN as the clinical team would export one: NHWC, a sigmoid head.
    inputs = tf.keras.Input((64, 64, 1), name="ct")
    x = tf.keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    x = tf.keras.layers.MaxPooling2D()(x)
    x = tf.keras.layers.Conv2D(8, 3, activation="relu", name="conv2")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    out = tf.keras.layers.Dense(1, activation="sigmoid", name="malignant")(x)
    model = tf.keras.Model(inputs, out, name="keras_cnn")
    registered = client.register_keras(model)
    assert registered.model_id and registered.name == "keras_cnn"
    card = json.loads(registered.card_json)
    assert card["layout"] == "NHWC" and card["input_size"] == [64, 64]
    assert card["feature_layers"], "the draft names the ReLU outputs as feature layers"


def test_fit_streams_its_stages_and_finishes(fitted):
    _, events = fitted
    stages = [e.stage for e in events if e.kind == "stage"]
    assert stages == [
        "FIT_STAGE_INFERENCE",
        "FIT_STAGE_CONCEPTS",
        "FIT_STAGE_SURROGATE_TREE",
        "FIT_STAGE_RULES",
        "FIT_STAGE_BAYES",
        "FIT_STAGE_EVALUATION",
    ]
    assert any(e.kind == "advanced" and e.done > 0 for e in events)
    assert events[-1].kind == "finished" and events[-1].explainer_id


def explainer_id(fitted) -> str:
    return fitted[1][-1].explainer_id


def test_explain_stored_and_inline_cases(client, fitted, cohort):
    ex = explainer_id(fitted)
    explained = client.explain(ex, ["case_00001", "case_00002"], heatmap=True, fast=True)
    assert [e.case_ref for e in explained] == ["case_00001", "case_00002"]
    first = explained[0]
    assert isinstance(first, Explanation)
    assert isinstance(first.heatmap, np.ndarray) and first.heatmap.shape == (64, 64)
    assert np.isfinite(first.heatmap).all()
    assert 0.0 <= first.probability <= 1.0 and first.narrative.startswith("The CNN calls")
    assert set(first.faithfulness) >= {"deletion_auc", "insertion_auc", "blurred_score"}
    assert 0.0 <= first.faithfulness["blurred_score"] <= 1.0
    assert list(first.similar_cases.columns)[:2] == ["case_id", "distance"]
    assert "<b>case_00001</b>" in first._repr_html_()
    # Inline: a numpy array of Hounsfield units, an image file, a dict with labels.
    image = cohort / "images" / "case_00003.png"
    array = explained[0].heatmap * 0 - 1000.0
    inline = client.explain(
        ex,
        [array, image, {"image": image, "labels": {"macroscopic_fat": "absent", "size_cm": 3.5},
                        "reference": "outside"}],
    )
    assert [e.case_ref for e in inline] == ["inline-0", "inline-1", "outside"]
    assert inline[0].heatmap is None
    frame = explanations_frame(explained + inline)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 5
    assert {"case_ref", "verdict", "probability", "p_malignant_network"} <= set(frame.columns)


def test_errors_are_exceptions_with_the_status_code(client, fitted, cohort):
    with pytest.raises(NotFound) as unknown:
        client.explain("no-such-explainer", ["case_00001"])
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(InvalidArgument) as bad:
        client.explain(
            explainer_id(fitted),
            [{"image": cohort / "images" / "case_00004.png", "labels": {"macroscopic_fat": "lots"}}],
        )
    assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "macroscopic_fat=lots" in bad.value.message
    with pytest.raises(NotFound):
        client.explain(explainer_id(fitted), ["case_99999"])


def test_summary_as_the_ecosystem_expects(client, fitted):
    summary = client.summary(explainer_id(fitted))
    assert isinstance(summary, Summary)
    assert 0.5 < summary.performance["auc"] <= 1.0
    rules = summary.rules
    assert list(rules.columns)[:7] == [
        "antecedents", "consequents", "antecedent support", "consequent support",
        "support", "confidence", "lift",
    ]
    assert all(isinstance(a, frozenset) and a for a in rules["antecedents"])
    assert all(isinstance(c, frozenset) for c in rules["consequents"])
    assert rules["confidence"].between(0, 1).all()
    assert isinstance(summary.network, nx.DiGraph)
    assert {"malignant", "cnn_malignant"} <= set(summary.network.nodes)
    assert nx.is_directed_acyclic_graph(summary.network)
    assert all("strength" in d for _, _, d in summary.network.edges(data=True))
    assert "malignant" in summary.markov_blankets
    concepts = summary.concepts.set_index("concept")
    assert {"probe_layer", "probe_auc", "layer", "channel", "iou",
            "channel_label_auc"} <= set(concepts.columns)
    # A concept with a detector channel says how well its response tells the labels;
    # one without (size, no masks) has none.
    detected = concepts[concepts["iou"] >= 0]
    assert not detected.empty and detected["channel_label_auc"].notna().all()
    assert concepts.loc[concepts["iou"] < 0, "channel_label_auc"].isna().all()
    assert summary._repr_html_().startswith("<!DOCTYPE html>")
    try:
        import pgmpy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pgmpy"):
            summary.network_model()
    else:  # ci.sh installs the pgmpy extra: pgmpy reads the network's BIF
        assert set(summary.network_model().nodes()) == set(summary.network.nodes)


def test_reports_and_exports(client, fitted, tmp_path):
    ex = explainer_id(fitted)
    report = client.report(ex)
    assert report._repr_html_().startswith("<!DOCTYPE html>")
    saved = report.save(tmp_path / "report.html")
    assert saved.read_bytes() == report.content
    case = client.report(ex, case_id="case_00001", markdown=True)
    assert case._repr_html_() is None and case._repr_markdown_().startswith("# Case case_00001")
    assert b"probability (" in client.export(ex, "bif")
    bundle = json.loads(client.export(ex, "fhir", case_id="case_00001"))
    assert bundle["resourceType"] == "Bundle"
    for dicom in ("dicom-sr", "parametric-map"):
        assert client.export(ex, dicom, case_id="case_00001")[128:132] == b"DICM"
    with pytest.raises(ValueError, match="one of"):
        client.export(ex, "pdf")
    assert ex in [e.explainer_id for e in client.explainers()]


def test_clinicians_labels_feedback_and_known_associations(client, fitted):
    ex = explainer_id(fitted)
    with pytest.raises(InvalidArgument, match="macroscopic_fat=lots"):
        client.set_labels("phantoms", "case_00005", {"macroscopic_fat": "lots"}, author="dr_a")
    version = client.set_labels("phantoms", "case_00005", {"macroscopic_fat": "present"},
                                author="dr_a", note="fat on the unenhanced phase")
    assert version == 2
    history = client.label_history("phantoms", "case_00005")
    assert list(history.author) == ["upload", "dr_a"]
    assert history.macroscopic_fat.iloc[-1] == "present"
    client.submit_feedback(ex, "case_00005", "rule", "agree", author="dr_a",
                           determining_features=["macroscopic_fat"])
    client.submit_feedback(ex, "case_00005", "heatmap", "disagree", author="dr_b")
    entries, summary = client.feedback(ex)
    assert list(entries.judgement) == ["agree", "disagree"]
    parts = summary["parts"].set_index("part")
    assert parts.loc["rule", "agree"] == 1 and parts.loc["heatmap", "agreement"] == 0.0
    assert summary["features"].set_index("feature").loc["macroscopic_fat", "named"] == 1
    assert client.export(ex, "feedback-csv").decode().count("\n") == 3
    with pytest.raises(ValueError):
        client.submit_feedback(ex, "case_00005", "everything", "agree", author="dr_a")
    candidates = client.summary(ex, with_report=False).candidates
    if len(candidates):
        first = candidates.iloc[0]
        text = client.judge_candidate(ex, first.antecedents, next(iter(first.consequents)),
                                      accept=True, author="dr_a")
        assert text == client.known_associations() and "->" in text


def test_a_dicom_series_explained_with_its_documents(client, fitted, tmp_path):
    # The repository's fixture series: 5 oblique slices and a localizer, written by pydicom,
    # streamed in 700-byte parts.
    from conftest import REPO

    folder = REPO / "data" / "dicom-fixtures" / "series"
    with pytest.raises(InvalidArgument, match="series"):
        client.explain_series(explainer_id(fitted), folder)  # two series: name one
    uid = "2.25.37263601374778728718231284792631444894"
    explanation, documents = client.explain_series(
        explainer_id(fitted), folder, series_uid=uid, part_bytes=700, slice=1)
    assert explanation.case_ref.startswith("series-") and explanation.heatmap is not None
    names = sorted(documents)
    assert [n.rsplit(".", 2)[-2:] for n in names] == [["fhir", "json"], ["pm", "dcm"], ["sr", "dcm"]]
    for name, content in documents.items():
        if name.endswith(".dcm"):
            assert content[128:132] == b"DICM"

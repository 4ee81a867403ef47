"""The client: one object per server, one method per thing a researcher does."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from tqdm.auto import tqdm

from explainme.v1 import cases_pb2, clinicians_pb2, common_pb2, explainers_pb2, explanations_pb2
from explainme.v1 import models_pb2, schemas_pb2, service_pb2_grpc

from .errors import from_rpc_error
from .results import (
    Explanation,
    FitEvent,
    Report,
    Summary,
    matched_rules_frame,
    network_graph,
    rules_frame,
)

#: Image files by extension, as a cohort folder holds them.
_FORMATS = {
    ".png": common_pb2.IMAGE_FORMAT_PNG16,
    ".nii": common_pb2.IMAGE_FORMAT_NIFTI,
    ".gz": common_pb2.IMAGE_FORMAT_NIFTI,
    ".dcm": common_pb2.IMAGE_FORMAT_DICOM,
    ".npy": common_pb2.IMAGE_FORMAT_NPY,
}

#: gRPC's default is 4 MiB; a report with inline pictures or a batch of heatmaps is larger.
_MAX_MESSAGE = 256 * 1024 * 1024


class Client:
    """A connection to an explainme server.

    >>> client = Client("127.0.0.1:50051")                      # doctest: +SKIP
    >>> model = client.register_model("renal_cnn.onnx", "renal_cnn.card.json")  # doctest: +SKIP

    `token`, when given, is sent as ``authorization: Bearer <token>`` on every call.
    Every failed call raises :class:`~explainme_client.ExplainmeError` (a subclass per status
    code) carrying the code and the server's message.
    """

    def __init__(self, address: str = "127.0.0.1:50051", token: str | None = None,
                 timeout: float | None = None):
        self.address = address
        self.timeout = timeout
        self._metadata = [("authorization", f"Bearer {token}")] if token else []
        self._channel = grpc.insecure_channel(
            address,
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
                ("grpc.max_send_message_length", _MAX_MESSAGE),
            ],
        )
        self._stub = service_pb2_grpc.ExplainerServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, request, **kwargs):
        try:
            return getattr(self._stub, method)(
                request, metadata=self._metadata, timeout=self.timeout, **kwargs
            )
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    # Models -------------------------------------------------------------------------------

    def register_model(self, onnx: str | Path | bytes, card: str | Path | dict,
                       name: str | None = None) -> models_pb2.ModelInfo:
        """Registers an ONNX model with its model card (a path to the JSON, or the card as a
        dict); the server loads and trial-runs both before storing. Returns the model's info
        (``model_id``)."""
        data = _read_bytes(onnx)
        card_json = card if isinstance(card, dict) else json.loads(Path(card).read_text())
        if name is None:
            name = Path(onnx).stem if not isinstance(onnx, bytes) else "model"
        registered = self._call(
            "RegisterModel",
            models_pb2.RegisterModelRequest(name=name, onnx=data, card_json=json.dumps(card_json)),
        )
        return registered.model

    def draft_card(self, onnx: str | Path | bytes) -> dict[str, Any]:
        """A model card drafted from the graph, as ``explainme models card`` drafts it:
        ``{"card": {...}, "notes": [...], "candidate_layers": [...]}``. Check what the notes
        mark as guessed or defaulted before registering."""
        answer = self._call("DraftModelCard", models_pb2.DraftModelCardRequest(onnx=_read_bytes(onnx)))
        return json.loads(answer.draft_json)

    def register_keras(self, model, card: str | Path | dict | None = None,
                       name: str | None = None, opset: int = 17) -> models_pb2.ModelInfo:
        """Exports a Keras model to ONNX with tf2onnx (``pip install
        'explainme-client[keras]'``, beside TensorFlow) and registers it; without a card, the
        drafted one (:meth:`draft_card`) is used as it is — check its notes first for a
        real model (the HU window, the class names)."""
        try:
            import tf2onnx
        except ImportError as e:
            raise ImportError(
                "register_keras needs tf2onnx: pip install 'explainme-client[keras]'"
            ) from e
        import tensorflow as tf

        # The batch axis left symbolic, so the service can batch; tf2onnx's Keras 3 path
        # needs the signature spelled out.
        signature = tuple(
            tf.TensorSpec((None, *tuple(i.shape[1:])), i.dtype, name=i.name.split(":")[0])
            for i in model.inputs
        )
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
        onnx = proto.SerializeToString()
        if card is None:
            card = self.draft_card(onnx)["card"]
        return self.register_model(onnx, card, name=name or getattr(model, "name", "keras"))

    def models(self) -> list[models_pb2.ModelInfo]:
        return list(self._call("ListModels", models_pb2.ListModelsRequest()).models)

    # Cohorts ------------------------------------------------------------------------------

    def upsert_cohort(self, folder: str | Path, cohort: str | None = None,
                      schema: str | None = None, progress: bool = True) -> dict[str, int]:
        """Stores a cohort folder (DESIGN.md's layout: ``cases.csv``, ``schema.json``,
        ``images/``, ``masks/<case>/``) on the server under `cohort` (the folder's name by
        default), with its schema under `schema` (the cohort's name by default), streaming one
        case per message with a progress bar. Returns ``{"created": n, "replaced": m}``."""
        root = Path(folder)
        cohort = cohort or root.name
        schema = schema or cohort
        schema_json = json.loads((root / "schema.json").read_text())
        self._call(
            "PutFeatureSchema",
            schemas_pb2.PutFeatureSchemaRequest(name=schema, schema=_schema(schema_json)),
        )
        kinds = {f["name"]: f["kind"] for f in schema_json["features"]}
        with open(root / "cases.csv", newline="") as f:
            rows = list(csv.DictReader(f))

        def messages() -> Iterator[cases_pb2.UpsertCaseRequest]:
            for row in tqdm(rows, desc=f"upsert {cohort}", unit="case", disable=not progress):
                yield cases_pb2.UpsertCaseRequest(case=_case(root, cohort, schema, kinds, row))

        answer = self._call("UpsertCases", messages())
        return {"created": answer.created, "replaced": answer.replaced}

    # Explainers ---------------------------------------------------------------------------

    def fit(self, model_id: str, cohort: str, feature_layers: Sequence[str] = (),
            **params) -> Iterator[FitEvent]:
        """Fits an explainer, yielding progress events as the server streams them; the last
        is ``FitEvent(kind="finished", explainer_id=...)``. `params` are
        ``ExplainerParams`` fields (``seed=1``, ``concept_permutations=20``, ...).
        Stopping the iteration early cancels the fit."""
        request = explainers_pb2.FitExplainerRequest(
            model_id=model_id,
            cohort=cohort,
            feature_layers=list(feature_layers),
            params=explainers_pb2.ExplainerParams(**params),
        )
        stream = self._call("FitExplainer", request)
        try:
            for event in stream:
                kind = event.WhichOneof("event")
                if kind == "stage_started":
                    stage = explainers_pb2.FitStage.Name(event.stage_started.stage)
                    yield FitEvent("stage", stage=stage, total=event.stage_started.total)
                elif kind == "advanced":
                    a = event.advanced
                    yield FitEvent("advanced", stage=explainers_pb2.FitStage.Name(a.stage),
                                   done=a.done, total=a.total)
                elif kind == "finished":
                    yield FitEvent("finished", explainer_id=event.finished.explainer_id)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            stream.cancel()

    def fit_explainer(self, model_id: str, cohort: str, progress: bool = True, **params) -> str:
        """:meth:`fit` to the end, with one progress bar per stage; returns the explainer id."""
        bar = None
        explainer_id = ""
        for event in self.fit(model_id, cohort, **params):
            if event.kind == "stage":
                if bar is not None:
                    bar.close()
                bar = tqdm(total=event.total or None, desc=event.stage.removeprefix("FIT_STAGE_").lower(),
                           disable=not progress)
            elif event.kind == "advanced" and bar is not None:
                bar.n = event.done
                bar.refresh()
            elif event.kind == "finished":
                explainer_id = event.explainer_id
        if bar is not None:
            bar.close()
        return explainer_id

    def explain(self, explainer_id: str, cases: Iterable[str | np.ndarray | Path | dict],
                heatmap: bool = False, fast: bool = False) -> list[Explanation]:
        """Explains stored cases (by id) and inline ones: a 2D/3D numpy array of Hounsfield
        units, an image file (Path), or a dict ``{"image": ..., "labels": {...},
        "reference": ...}``. With `heatmap`, each explanation's ``heatmap`` is a numpy array
        on the model's input grid. See :func:`~explainme_client.explanations_frame` for a
        DataFrame."""
        targets = [_target(c, i) for i, c in enumerate(cases)]
        answer = self._call(
            "Explain",
            explanations_pb2.ExplainRequest(
                explainer_id=explainer_id, targets=targets, include_heatmap=heatmap, fast=fast
            ),
        )
        return [Explanation.from_message(e) for e in answer.explanations]

    def summary(self, explainer_id: str, known: str | Path | None = None,
                max_rules: int = 20, with_report: bool = True) -> Summary:
        """What the explainer learnt: performance, every rule (mlxtend's DataFrame), candidate
        new knowledge judged against `known` (a known-associations file or its text; the
        server's renal table when absent), the network as a networkx DiGraph, Markov blankets,
        the concept ↔ filter table; shown in Jupyter as the HTML report."""
        known_text = _text_or_file(known)
        s = self._call(
            "GetKnowledgeSummary",
            explanations_pb2.GetKnowledgeSummaryRequest(
                explainer_id=explainer_id, max_rules=max_rules, known_associations=known_text
            ),
        )
        rules = rules_frame(self.export(explainer_id, "rules-csv").decode())
        bif = self.export(explainer_id, "bif").decode()
        report = self.report(explainer_id, known=known).text if with_report else ""
        import pandas as pd

        p = s.performance
        return Summary(
            explainer_id=explainer_id,
            performance={
                "auc": p.auc,
                "auc_ci_low": p.auc_ci_low,
                "auc_ci_high": p.auc_ci_high,
                "sensitivity": p.sensitivity,
                "specificity": p.specificity,
                "cases": p.cases,
                "surrogate_fidelity": s.surrogate_fidelity,
            },
            narrative=s.narrative,
            rules=rules,
            candidates=matched_rules_frame(s.candidates),
            network=network_graph(bif, s.network_edges),
            markov_blankets={m.variable: list(m.blanket) for m in s.markov_blankets},
            concepts=pd.DataFrame(
                [
                    {"concept": c.concept, "probe_layer": c.probe_layer,
                     "probe_auc": c.probe_auc, "layer": c.layer, "channel": c.channel,
                     "iou": c.iou,
                     "channel_label_auc": (c.channel_label_auc
                                           if c.HasField("channel_label_auc") else None)}
                    for c in s.concepts
                ],
                columns=["concept", "probe_layer", "probe_auc", "layer", "channel", "iou",
                         "channel_label_auc"],
            ),
            bif=bif,
            details=json.loads(s.summary_json) if s.summary_json else {},
            report_html=report,
        )

    def report(self, explainer_id: str, case_id: str | None = None, markdown: bool = False,
               known: str | Path | None = None) -> Report:
        """The cohort's report (or one stored case's), HTML unless `markdown`."""
        fmt = explanations_pb2.REPORT_FORMAT_MARKDOWN if markdown else explanations_pb2.REPORT_FORMAT_HTML
        doc = self._call(
            "RenderReport",
            explanations_pb2.RenderReportRequest(
                explainer_id=explainer_id,
                format=fmt,
                case_ids=[case_id] if case_id else [],
                known_associations=_text_or_file(known),
            ),
        )
        return Report(doc.file_name, doc.media_type, doc.content)

    #: Export names → the service's formats.
    EXPORTS = {
        "bif": explanations_pb2.EXPORT_FORMAT_BIF,
        "xmlbif": explanations_pb2.EXPORT_FORMAT_XMLBIF,
        "dot": explanations_pb2.EXPORT_FORMAT_DOT,
        "rules-csv": explanations_pb2.EXPORT_FORMAT_RULES_CSV,
        "json": explanations_pb2.EXPORT_FORMAT_JSON,
        "tree-dot": explanations_pb2.EXPORT_FORMAT_TREE_DOT,
        "tree-text": explanations_pb2.EXPORT_FORMAT_TREE_TEXT,
        "fhir": explanations_pb2.EXPORT_FORMAT_FHIR_BUNDLE,
        "dicom-sr": explanations_pb2.EXPORT_FORMAT_DICOM_SR,
        "parametric-map": explanations_pb2.EXPORT_FORMAT_PARAMETRIC_MAP,
        "feedback-csv": explanations_pb2.EXPORT_FORMAT_FEEDBACK_CSV,
    }

    def export(self, explainer_id: str, format: str, case_id: str | None = None,
               deidentify: bool = False) -> bytes:
        """An export's bytes: one of :attr:`EXPORTS` (the last three are one stored case's
        FHIR Bundle, DICOM SR or Parametric Map and need `case_id`)."""
        if format not in self.EXPORTS:
            raise ValueError(f"format {format!r}: one of {', '.join(self.EXPORTS)}")
        doc = self._call(
            "Export",
            explanations_pb2.ExportRequest(
                explainer_id=explainer_id, format=self.EXPORTS[format],
                case_id=case_id or "", deidentify=deidentify,
            ),
        )
        return doc.content

    #: Documents ExplainSeries can return, by name.
    DOCUMENTS = {
        "fhir": explanations_pb2.EXPORT_FORMAT_FHIR_BUNDLE,
        "dicom-sr": explanations_pb2.EXPORT_FORMAT_DICOM_SR,
        "parametric-map": explanations_pb2.EXPORT_FORMAT_PARAMETRIC_MAP,
    }

    def explain_series(self, explainer_id: str, series: str | Path | Sequence[bytes],
                       documents: Sequence[str] = ("dicom-sr", "parametric-map", "fhir"),
                       labels: dict[str, Any] | None = None, series_uid: str = "",
                       slice: int | None = None, deidentify: bool = False,
                       part_bytes: int = 1 << 20) -> tuple[Explanation, dict[str, bytes]]:
        """Explains a DICOM series — a folder of files (searched recursively) or their bytes —
        streamed file by file in parts of `part_bytes`, and returns the explanation with the
        documents asked for (:attr:`DOCUMENTS`) by file name. A 2D model reads `slice` (the
        middle one by default)."""
        if isinstance(series, (str, Path)):
            files = [p.read_bytes() for p in sorted(Path(series).rglob("*")) if p.is_file()]
        else:
            files = list(series)
        wanted = [self.DOCUMENTS[d] for d in documents]
        header = explanations_pb2.ExplainSeriesHeader(
            explainer_id=explainer_id, labels=_labels(labels or {}), series_instance_uid=series_uid,
            deidentify=deidentify, documents=wanted,
        )
        if slice is not None:
            header.slice = slice

        def messages():
            yield explanations_pb2.ExplainSeriesRequest(header=header)
            for data in files:
                for start in range(0, max(len(data), 1), part_bytes):
                    part = data[start:start + part_bytes]
                    yield explanations_pb2.ExplainSeriesRequest(
                        file=explanations_pb2.SeriesFilePart(
                            data=part, more=start + part_bytes < len(data)))

        answer = self._call("ExplainSeries", messages())
        return (Explanation.from_message(answer.explanation),
                {d.file_name: d.content for d in answer.documents})

    # Clinicians' work ---------------------------------------------------------------------

    def set_labels(self, cohort: str, case_id: str, labels: dict[str, Any], author: str,
                   note: str = "") -> int:
        """Replaces a stored case's clinician labels (validated against its schema; an
        unknown state raises InvalidArgument), keeping every earlier version. Returns the
        new version number."""
        answer = self._call(
            "SetCaseLabels",
            clinicians_pb2.SetCaseLabelsRequest(
                cohort=cohort, case_id=case_id, labels=_labels(labels), author=author, note=note
            ),
        )
        return answer.version.version

    def label_history(self, cohort: str, case_id: str):
        """Every version of a case's labels as a DataFrame: version, author, note,
        created_at, then one column per labelled feature."""
        import pandas as pd

        history = self._call(
            "GetLabelHistory", clinicians_pb2.GetLabelHistoryRequest(cohort=cohort, case_id=case_id)
        )
        rows = []
        for v in history.versions:
            row = {"version": v.version, "author": v.author, "note": v.note,
                   "created_at": v.created_at}
            for label in v.labels:
                row[label.feature] = getattr(label, label.WhichOneof("value"))
            rows.append(row)
        return pd.DataFrame(rows)

    PARTS = ("verdict", "heatmap", "concepts", "rule", "network", "counterfactual",
             "similar_cases", "narrative")
    JUDGEMENTS = ("agree", "disagree", "unclear")

    def submit_feedback(self, explainer_id: str, case_id: str, part: str, judgement: str,
                        author: str, comment: str = "",
                        determining_features: Sequence[str] = ()) -> int:
        """Feedback on one part of a case's explanation (`part` one of :attr:`PARTS`,
        `judgement` one of :attr:`JUDGEMENTS`); returns the entry's id."""
        if part not in self.PARTS or judgement not in self.JUDGEMENTS:
            raise ValueError(f"part in {self.PARTS}, judgement in {self.JUDGEMENTS}")
        answer = self._call(
            "SubmitFeedback",
            clinicians_pb2.SubmitFeedbackRequest(
                explainer_id=explainer_id, case_id=case_id,
                part=self.PARTS.index(part) + 1, judgement=self.JUDGEMENTS.index(judgement) + 1,
                comment=comment, determining_features=list(determining_features), author=author,
            ),
        )
        return answer.entry.id

    def feedback(self, explainer_id: str):
        """An explainer's feedback as (entries DataFrame, summary dict): agreement per part,
        and how the features clinicians name compare with those the CNN relies on."""
        import pandas as pd

        answer = self._call("ListFeedback", clinicians_pb2.ListFeedbackRequest(explainer_id=explainer_id))
        entries = pd.DataFrame(
            [
                {"id": e.id, "case_id": e.case_id, "part": self.PARTS[e.part - 1],
                 "judgement": self.JUDGEMENTS[e.judgement - 1], "comment": e.comment,
                 "determining_features": tuple(e.determining_features), "author": e.author,
                 "created_at": e.created_at}
                for e in answer.entries
            ],
            columns=["id", "case_id", "part", "judgement", "comment", "determining_features",
                     "author", "created_at"],
        )
        s = answer.summary
        summary = {
            "entries": s.entries,
            "parts": pd.DataFrame(
                [{"part": self.PARTS[p.part - 1], "agree": p.agree, "disagree": p.disagree,
                  "unclear": p.unclear,
                  "agreement": p.agreement if p.HasField("agreement") else None}
                 for p in s.parts]),
            "features": pd.DataFrame(
                [{"feature": f.feature, "named": f.named, "by_tree": f.by_tree,
                  "by_tcav": f.by_tcav, "by_network": f.by_network} for f in s.features]),
            "concordance": s.concordance if s.HasField("concordance") else None,
        }
        return entries, summary

    def judge_candidate(self, explainer_id: str, antecedents: Iterable[str], consequent: str,
                        accept: bool, author: str) -> str:
        """Accepts (or rejects) a candidate association; accepted ones join the known list
        later summaries judge candidates against. Returns the list's text."""
        answer = self._call(
            "JudgeCandidate",
            clinicians_pb2.JudgeCandidateRequest(
                explainer_id=explainer_id, antecedent=sorted(antecedents), consequent=consequent,
                accept=accept, author=author,
            ),
        )
        return answer.text

    def known_associations(self) -> str:
        """The known-associations list clinicians accepted, in the file format."""
        return self._call("GetKnownAssociations", clinicians_pb2.GetKnownAssociationsRequest()).text

    def explainers(self) -> list[explainers_pb2.ExplainerInfo]:
        return list(self._call("ListExplainers", explainers_pb2.ListExplainersRequest()).explainers)


def _read_bytes(source: str | Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def _text_or_file(known: str | Path | None) -> str:
    if known is None:
        return ""
    if isinstance(known, Path) or (isinstance(known, str) and "\n" not in known and Path(known).is_file()):
        return Path(known).read_text()
    return str(known)


def _schema(schema_json: dict) -> schemas_pb2.FeatureSchema:
    features = []
    for f in schema_json["features"]:
        feature = schemas_pb2.Feature(
            name=f["name"],
            role=schemas_pb2.FEATURE_ROLE_TRUTH if f.get("role") == "truth" else schemas_pb2.FEATURE_ROLE_FEATURE,
            description=f.get("description", ""),
        )
        kind = f["kind"]
        if kind == "categorical":
            feature.categorical.states.extend(f["states"])
        elif kind == "ordinal":
            feature.ordinal.states.extend(f["states"])
        elif kind == "numeric":
            feature.numeric.cut_points.extend(f["cut_points"])
        else:
            raise ValueError(f"schema.json: feature {f['name']!r} has unknown kind {kind!r}")
        features.append(feature)
    return schemas_pb2.FeatureSchema(features=features)


def _labels(labels: dict[str, Any], kinds: dict[str, str] | None = None) -> list[common_pb2.Label]:
    out = []
    for feature, value in labels.items():
        if value is None or value == "":
            continue
        numeric = (kinds or {}).get(feature) == "numeric" or (
            kinds is None and isinstance(value, (int, float)) and not isinstance(value, bool)
        )
        if numeric:
            out.append(common_pb2.Label(feature=feature, number=float(value)))
        else:
            out.append(common_pb2.Label(feature=feature, state=str(value)))
    return out


def _encoded(path: Path) -> common_pb2.Image:
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"{path}: an image is .png, .nii, .nii.gz, .dcm or .npy")
    return common_pb2.Image(encoded=common_pb2.EncodedImage(format=_FORMATS[suffix], data=path.read_bytes()))


def _case(root: Path, cohort: str, schema: str, kinds: dict[str, str], row: dict[str, str]) -> cases_pb2.Case:
    case_id = row["case_id"]
    labels = {k: v for k, v in row.items() if k in kinds}
    masks = []
    mask_dir = root / "masks" / case_id
    if mask_dir.is_dir():
        for mask in sorted(mask_dir.iterdir()):
            concept = mask.name.split(".")[0]
            masks.append(common_pb2.ConceptMask(concept=concept, mask=_encoded(mask)))
    return cases_pb2.Case(
        cohort=cohort,
        case_id=case_id,
        schema=schema,
        image=_encoded(root / row["image"]),
        labels=_labels(labels, kinds),
        masks=masks,
    )


def _image(image) -> common_pb2.Image:
    if isinstance(image, (str, Path)):
        return _encoded(Path(image))
    array = np.asarray(image, dtype=np.float32)
    if array.ndim not in (2, 3):
        raise ValueError(f"an image array is 2D or 3D Hounsfield units, not {array.ndim}D")
    return common_pb2.Image(
        hounsfield=common_pb2.FloatTensor(shape=list(array.shape), data=array.ravel().tolist())
    )


def _target(case, index: int) -> explanations_pb2.ExplainTarget:
    if isinstance(case, str) and not Path(case).suffix:
        return explanations_pb2.ExplainTarget(case_id=case)
    if isinstance(case, dict):
        inline = explanations_pb2.InlineCase(
            reference=str(case.get("reference", f"inline-{index}")),
            image=_image(case["image"]),
            labels=_labels(case.get("labels", {})),
        )
    else:
        inline = explanations_pb2.InlineCase(reference=f"inline-{index}", image=_image(case))
    return explanations_pb2.ExplainTarget(inline=inline)

"""explainme-client: the explainme service from Python, for knowledge-extraction studies in a
notebook.

    from explainme_client import Client
    client = Client("127.0.0.1:50051")
    model = client.register_model("renal_cnn.onnx", "renal_cnn.card.json")
    client.upsert_cohort("cohort/")
    explainer = client.fit_explainer(model.model_id, "cohort")
    client.summary(explainer)          # rules (mlxtend's DataFrame), network (networkx), report

The gRPC stubs (`explainme.v1`) are generated from the repository's proto/ when the package is
built; nothing here is written by hand against them except this thin layer.
"""

from .client import Client
from .errors import ExplainmeError, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from .results import Explanation, FitEvent, Report, Summary, explanations_frame, rules_frame

__all__ = [
    "Client",
    "ExplainmeError",
    "Explanation",
    "FailedPrecondition",
    "FitEvent",
    "InvalidArgument",
    "NotFound",
    "Report",
    "ResourceExhausted",
    "Summary",
    "explanations_frame",
    "rules_frame",
]

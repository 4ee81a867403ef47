//! RPCs whose engine is not in this build: they answer UNIMPLEMENTED and say what is missing,
//! never placeholder data. Each entry goes away when its engine lands.

use tonic::Status;

/// Which engine each pending RPC waits for.
const MISSING: &[(&str, &str)] = &[
    ("FitExplainer", "the explainer engine (explainme-explain)"),
    (
        "GetExplainer",
        "explainer storage (explainme-explain artifacts)",
    ),
    (
        "ListExplainers",
        "explainer storage (explainme-explain artifacts)",
    ),
    ("Explain", "the explainer engine (explainme-explain)"),
    (
        "GetKnowledgeSummary",
        "the explainer engine (explainme-explain)",
    ),
    ("RenderReport", "report rendering (explainme-explain)"),
    (
        "Export",
        "the exporters of explainme-bayes and explainme-rules behind explainme-explain",
    ),
];

/// UNIMPLEMENTED for `rpc`, naming the missing engine.
pub fn unimplemented(rpc: &str) -> Status {
    let missing = MISSING
        .iter()
        .find(|(name, _)| *name == rpc)
        .map_or("its engine", |(_, what)| what);
    Status::unimplemented(format!("{rpc}: {missing} is not built yet"))
}

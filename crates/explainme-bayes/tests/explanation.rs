//! Per-case explanation: leave-one-out sensitivity and most relevant explanation (GBF),
//! checked against direct computation from joint posteriors.

mod common;

use explainme_bayes::explain::{most_relevant_explanations, sensitivity};
use explainme_bayes::{Evidence, VariableElimination};

#[test]
fn sensitivity_is_the_leave_one_out_difference() {
    let net = common::network("asia");
    let ve = VariableElimination::new(&net);
    let lung = net.index_of("lung").expect("known");
    let evidence = Evidence::parse(&net, "xray=yes,dysp=yes,smoke=yes").expect("evidence");
    let result = sensitivity(&ve, lung, 0, &evidence).expect("sensitivity");
    assert_eq!(result.findings.len(), 3);
    assert_eq!(
        result.posterior,
        ve.marginal(lung, &evidence).expect("posterior")[0]
    );
    for f in &result.findings {
        let without = ve
            .marginal(lung, &evidence.without(f.variable))
            .expect("posterior")[0];
        assert_eq!(f.without, without);
        assert_eq!(f.change, result.posterior - without);
    }
    // A positive x-ray is what raises lung cancer most.
    assert_eq!(net.variable(result.findings[0].variable).name, "xray");
    assert!(result.findings[0].change > 0.0);
}

#[test]
fn most_relevant_explanation_maximises_the_generalized_bayes_factor() {
    let net = common::network("asia");
    let ve = VariableElimination::new(&net);
    let targets: Vec<usize> = ["tub", "lung", "bronc"]
        .iter()
        .map(|n| net.index_of(n).expect("known"))
        .collect();
    let evidence = Evidence::parse(&net, "xray=yes,dysp=yes").expect("evidence");
    let ranked = most_relevant_explanations(&ve, &targets, &evidence, usize::MAX).expect("MRE");
    // 3 singletons × 2 states, 3 pairs × 4, 1 triple × 8.
    assert_eq!(ranked.len(), 6 + 12 + 8);
    for h in &ranked {
        let vars: Vec<usize> = h.states.iter().map(|&(v, _)| v).collect();
        let states: Vec<usize> = h.states.iter().map(|&(_, s)| s).collect();
        let post = ve.joint(&vars, &evidence).expect("joint").0.value(&states);
        let prior = ve
            .joint(&vars, &Evidence::none())
            .expect("joint")
            .0
            .value(&states);
        assert!((h.posterior - post).abs() < 1e-12 && (h.prior - prior).abs() < 1e-12);
        // GBF = P(e | h) / P(e | ¬h), from Bayes' rule on the same quantities.
        let p_e = ve.probability_of_evidence(&evidence).expect("P(e)");
        let expected = (post * p_e / prior) / ((1.0 - post) * p_e / (1.0 - prior));
        assert!((h.gbf - expected).abs() < 1e-9 * expected, "{h:?}");
    }
    assert!(ranked.windows(2).all(|w| w[0].gbf >= w[1].gbf));
    let best: Vec<(String, String)> = ranked[0]
        .states
        .iter()
        .map(|&(v, s)| {
            (
                net.variable(v).name.clone(),
                net.variable(v).states[s].clone(),
            )
        })
        .collect();
    // A positive x-ray with dyspnoea: lung cancer alone is the most relevant explanation —
    // MRE prefers the concise hypothesis over adding bronchitis.
    assert_eq!(best, [("lung".to_owned(), "yes".to_owned())]);
}

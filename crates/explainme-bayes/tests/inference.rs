//! Exact inference against pgmpy 1.1.2 (fixtures from benches/peers/bayes_parity.py):
//! every marginal to 1e-9 by variable elimination and by the junction tree, and the MAP
//! assignments.

mod common;

use std::collections::BTreeMap;

use explainme_bayes::{Error, Evidence, JunctionTree, VariableElimination, map, mpe};
use serde_json::Value;

fn evidence_of(net: &explainme_bayes::BayesNet, case: &Value) -> Evidence {
    let pairs: Vec<(String, String)> = case["evidence"]
        .as_object()
        .expect("evidence object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("state").to_owned()))
        .collect();
    Evidence::from_names(net, &pairs).expect("fixture evidence resolves")
}

fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(common::fixture("posteriors.json")).expect("fixture");
    serde_json::from_str::<Vec<Value>>(&text).expect("json")
}

#[test]
fn posteriors_equal_pgmpy_to_1e9() {
    let mut checked = BTreeMap::new();
    for name in ["asia", "child", "alarm"] {
        let net = common::network(name);
        let ve = VariableElimination::new(&net);
        let tree = JunctionTree::new(&net).expect("compiles");
        for case in cases()
            .iter()
            .filter(|c| c["network"] == name && c["kind"] == "marginal")
        {
            let evidence = evidence_of(&net, case);
            let target = net
                .index_of(case["target"].as_str().expect("target"))
                .expect("known");
            let by_ve = ve.marginal(target, &evidence).expect("VE answers");
            let by_tree = tree
                .calibrate(&evidence)
                .expect("calibrates")
                .marginal(target);
            for (state, expected) in case["posterior"].as_object().expect("posterior") {
                let s = net.variable(target).state_index(state).expect("state");
                let expected = expected.as_f64().expect("number");
                assert!(
                    (by_ve[s] - expected).abs() < 1e-9,
                    "{name} {case}: VE {}",
                    by_ve[s]
                );
                assert!(
                    (by_tree[s] - expected).abs() < 1e-9,
                    "{name} {case}: JT {}",
                    by_tree[s]
                );
            }
            *checked.entry(name).or_insert(0) += 1;
        }
    }
    assert!(checked.values().all(|&n| n >= 20), "{checked:?}");
}

#[test]
fn map_assignments_equal_pgmpy() {
    let mut checked = 0;
    for case in cases().iter().filter(|c| c["kind"] == "map") {
        let net = common::network(case["network"].as_str().expect("name"));
        let ve = VariableElimination::new(&net);
        let evidence = evidence_of(&net, case);
        let targets: Vec<usize> = case["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .map(|t| net.index_of(t.as_str().expect("name")).expect("known"))
            .collect();
        let found = map(&ve, &targets, &evidence).expect("MAP");
        for (v, s) in found.states {
            let expected = case["assignment"][&net.variable(v).name]
                .as_str()
                .expect("state");
            assert_eq!(net.variable(v).states[s], expected, "{case}");
        }
        // The MAP probability is the joint posterior of the chosen states.
        let (joint, _) = ve.joint(&targets, &evidence).expect("joint");
        let best = joint.values().iter().copied().fold(0.0, f64::max);
        assert!((found.probability - best).abs() < 1e-12);
        checked += 1;
    }
    assert!(checked >= 15);
}

#[test]
fn mpe_on_asia_is_the_most_probable_full_state() {
    let net = common::network("asia");
    let ve = VariableElimination::new(&net);
    let evidence = Evidence::parse(&net, "xray=yes,dysp=yes").expect("evidence");
    let best = mpe(&ve, &evidence).expect("MPE");
    let free: Vec<usize> = (0..net.len())
        .filter(|&v| evidence.get(v).is_none())
        .collect();
    let (joint, _) = ve.joint(&free, &evidence).expect("joint");
    let max = joint.values().iter().copied().fold(0.0, f64::max);
    assert!((best.probability - max).abs() < 1e-12);
    let states: Vec<usize> = best.states.iter().map(|&(_, s)| s).collect();
    assert_eq!(joint.value(&states), max);
}

#[test]
fn probability_of_evidence_agrees_between_engines() {
    let net = common::network("child");
    let evidence = Evidence::parse(&net, "LowerBodyO2=<5, CO2Report=>=7.5").expect("evidence");
    let by_ve = VariableElimination::new(&net)
        .probability_of_evidence(&evidence)
        .expect("VE");
    let tree = JunctionTree::new(&net).expect("compiles");
    let by_tree = tree
        .calibrate(&evidence)
        .expect("JT")
        .probability_of_evidence();
    assert!((by_ve - by_tree).abs() < 1e-15 + 1e-12 * by_ve);
}

#[test]
fn bad_evidence_gives_typed_errors() {
    let net = common::network("asia");
    let unknown_state = Evidence::parse(&net, "xray=maybe").unwrap_err();
    assert!(matches!(unknown_state, Error::UnknownState { .. }));
    assert_eq!(
        unknown_state.to_string(),
        "variable `xray` has no state `maybe` (states: yes, no)"
    );
    assert!(matches!(
        Evidence::parse(&net, "colour=red"),
        Err(Error::UnknownVariable(_))
    ));
    assert!(matches!(
        Evidence::parse(&net, "xray=yes,xray=no"),
        Err(Error::Conflicting(_))
    ));
    // tub=yes forces either=yes in asia: either=no contradicts it.
    let impossible = Evidence::parse(&net, "tub=yes,either=no").expect("resolves");
    let ve = VariableElimination::new(&net);
    assert!(matches!(
        ve.marginal(0, &impossible),
        Err(Error::ImpossibleEvidence)
    ));
    let tree = JunctionTree::new(&net).expect("compiles");
    assert!(matches!(
        tree.calibrate(&impossible),
        Err(Error::ImpossibleEvidence)
    ));
}

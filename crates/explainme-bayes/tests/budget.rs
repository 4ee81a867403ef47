//! Allocations sized by a network file or a requested count are checked against the memory
//! budget before they are made: a small file or a large `n` gives `Error::OverBudget`, never
//! an aborted process.

mod common;

use explainme_bayes::{
    Error, Evidence, JunctionTree, VariableElimination, forward_sample, forward_sample_within,
    read_bif, read_bif_within,
};
use explainme_budget::MemoryBudget;

/// `variable name { type discrete [ k ] { s0, …, s(k-1) }; }`
fn variable(name: &str, states: usize) -> String {
    let states: Vec<String> = (0..states).map(|s| format!("s{s}")).collect();
    format!(
        "variable {name} {{ type discrete [ {} ] {{ {} }}; }}\n",
        states.len(),
        states.join(",")
    )
}

/// A child of 100 states with eight parents of 100 states each: its table would have 10^18
/// entries (8 × 10^18 bytes), declared in a few KB.
fn eight_parents_of_a_hundred_states() -> String {
    let mut text = String::from("network huge { }\n");
    for p in 0..8 {
        text.push_str(&variable(&format!("p{p}"), 100));
    }
    text.push_str(&variable("child", 100));
    let parents: Vec<String> = (0..8).map(|p| format!("p{p}")).collect();
    text.push_str(&format!(
        "probability ( child | {} ) {{ table 0.01; }}\n",
        parents.join(", ")
    ));
    text
}

#[test]
fn a_small_bif_declaring_a_huge_table_is_refused_naming_variable_and_budget() {
    let text = eight_parents_of_a_hundred_states();
    assert!(text.len() < 4096, "{} bytes", text.len());
    let error = read_bif(&text).unwrap_err();
    assert!(matches!(error, Error::OverBudget(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the probability table of `child` (line 11, 8 parents) would need 6.9 EiB, \
         over the memory budget of 1 GiB"
    );
    // A budget of its own is honoured, and named.
    let tight = read_bif_within(&text, &MemoryBudget::new(1 << 20)).unwrap_err();
    assert!(
        tight
            .to_string()
            .ends_with("over the memory budget of 1 MiB"),
        "{tight}"
    );
}

#[test]
fn the_budget_covers_the_whole_network_and_the_parsed_text() {
    let asia = std::fs::read_to_string(common::shared_bif("asia")).expect("asia");
    assert!(read_bif_within(&asia, &MemoryBudget::new(64 << 10)).is_ok());
    let error = read_bif_within(&asia, &MemoryBudget::new(1000)).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the parsed blocks of the BIF text (to line"),
        "{error}"
    );
    // Lowering the budget step by step, the first refusal is for the tables together beside
    // the parsed text (each alone is a few hundred bytes), before the text alone overflows.
    let alarm = std::fs::read_to_string(common::shared_bif("alarm")).expect("alarm");
    let first_refusal = (0..200)
        .map(|step| 64 * 1024 - step * 256)
        .find_map(|limit| read_bif_within(&alarm, &MemoryBudget::new(limit)).err())
        .expect("refused at some budget");
    assert!(
        first_refusal
            .to_string()
            .starts_with("the tables of the network up to `"),
        "{first_refusal}"
    );
}

#[test]
fn sampling_an_absurd_number_of_records_is_refused_before_allocating() {
    let net = common::network("asia");
    let error =
        forward_sample_within(&net, 100_000_000_000, 1, &MemoryBudget::default()).unwrap_err();
    assert!(matches!(error, Error::OverBudget(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "100000000000 sampled records of 8 variables would need 1.5 TiB, \
         over the memory budget of 1 GiB"
    );
    // Within the budget it is forward_sample, record for record.
    let small = forward_sample_within(&net, 500, 1, &MemoryBudget::default()).expect("fits");
    assert_eq!(small, forward_sample(&net, 500, 1));
    // A size that does not fit 64 bits is refused too.
    assert!(forward_sample_within(&net, usize::MAX, 1, &MemoryBudget::default()).is_err());
}

/// Ten roots of ten states and, for every pair of roots, a binary child of both: each table
/// is small (200 entries) but the roots form one moral clique of 10^10 states.
fn crown() -> String {
    let mut text = String::from("network crown { }\n");
    for r in 0..10 {
        text.push_str(&variable(&format!("r{r}"), 10));
    }
    let mut probabilities = String::new();
    for r in 0..10 {
        probabilities.push_str(&format!(
            "probability ( r{r} ) {{ table {}; }}\n",
            ["0.1"; 10].join(",")
        ));
    }
    for a in 0..10 {
        for b in a + 1..10 {
            text.push_str(&variable(&format!("c{a}_{b}"), 2));
            probabilities.push_str(&format!(
                "probability ( c{a}_{b} | r{a}, r{b} ) {{ table {}; }}\n",
                ["0.5"; 200].join(",")
            ));
        }
    }
    text + &probabilities
}

#[test]
fn inference_factors_sized_by_the_structure_are_refused_before_allocating() {
    let net = read_bif(&crown()).expect("every table is small");
    // With every child observed, eliminating any root forms a factor over the other nine.
    let findings: Vec<(String, String)> = (0..net.len())
        .filter(|&v| net.variable(v).name.starts_with('c'))
        .map(|v| (net.variable(v).name.clone(), "s0".to_owned()))
        .collect();
    let evidence = Evidence::from_names(&net, &findings).expect("evidence");
    let ve = VariableElimination::new(&net);
    let error = ve.marginal(0, &evidence).unwrap_err();
    assert!(matches!(error, Error::OverBudget(_)), "{error:?}");
    assert!(
        error.to_string().starts_with(
            "variable elimination: the factor over 10 variables formed by eliminating `r"
        ),
        "{error}"
    );
    assert!(explainme_bayes::mpe(&ve, &evidence).is_err());
    // Without evidence the children are barren and the query is cheap.
    assert!(ve.marginal(0, &Evidence::none()).is_ok());

    let error = JunctionTree::new(&net).map(|_| ()).unwrap_err();
    assert!(matches!(error, Error::OverBudget(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the junction tree's 46 clique tables (the largest over 10 variables) would need \
         74.5 GiB, over the memory budget of 1 GiB"
    );
    // A tight budget refuses even the small asia tree; the default takes it.
    let asia = common::network("asia");
    assert!(JunctionTree::new(&asia).is_ok());
    assert!(JunctionTree::within(&asia, &MemoryBudget::new(100)).is_err());
    let tight = VariableElimination::within(&asia, &MemoryBudget::new(16));
    assert!(matches!(
        tight.marginal(7, &Evidence::none()),
        Err(Error::OverBudget(_))
    ));
}

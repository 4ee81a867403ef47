//! BIF round trips on the five shared networks, and the typed errors for broken files.

mod common;

use explainme_bayes::{Error, read_bif, write_bif, write_dot, write_xmlbif};

#[test]
fn all_shared_networks_round_trip_through_bif() {
    for name in common::NETWORKS {
        let net = common::network(name);
        let again = read_bif(&write_bif(&net)).expect("our BIF parses");
        assert_eq!(again.len(), net.len(), "{name}");
        for v in 0..net.len() {
            assert_eq!(again.variable(v), net.variable(v), "{name}");
            assert_eq!(
                again.cpt(v),
                net.cpt(v),
                "{name}: CPT of {}",
                net.variable(v).name
            );
        }
        assert_eq!(write_bif(&again), write_bif(&net));
    }
}

#[test]
fn shared_networks_have_the_documented_sizes() {
    let sizes = [
        ("asia", 8, 8),
        ("sachs", 11, 17),
        ("child", 20, 25),
        ("insurance", 27, 52),
        ("alarm", 37, 46),
    ];
    for (name, nodes, arcs) in sizes {
        let net = common::network(name);
        assert_eq!(
            (net.len(), net.dag().edges().len()),
            (nodes, arcs),
            "{name}"
        );
    }
}

#[test]
fn xmlbif_and_dot_name_every_variable_and_arc() {
    let net = common::network("asia");
    let xml = write_xmlbif(&net);
    assert_eq!(xml.matches("<VARIABLE TYPE=\"nature\">").count(), 8);
    assert_eq!(xml.matches("<GIVEN>").count(), 8);
    assert!(xml.contains("<FOR>dysp</FOR>\n  <GIVEN>bronc</GIVEN>\n  <GIVEN>either</GIVEN>\n  <TABLE>0.9 0.1 0.8 0.2 0.7 0.3 0.1 0.9</TABLE>"));
    let dot = write_dot(&net);
    assert_eq!(dot.matches(" -> ").count(), 8);
    assert!(dot.contains("\"either\" -> \"xray\";"));
}

/// Our XMLBIF of each shared network is committed (`tests/fixtures/<net>.xmlbif`) and
/// `benches/peers/bayes_parity.py` checks that pgmpy's `XMLBIFReader` loads every one with
/// CPDs identical to the BIF. This test keeps the writer's output equal to those files;
/// `BLESS=1` rewrites them after an intended change (then rerun the peer script).
#[test]
fn xmlbif_output_is_the_file_pgmpy_was_checked_against() {
    for name in common::NETWORKS {
        let xml = write_xmlbif(&common::network(name));
        let path = common::fixture(&format!("{name}.xmlbif"));
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &xml).expect("write fixture");
        }
        assert_eq!(
            xml,
            std::fs::read_to_string(&path).expect("fixture"),
            "{name}"
        );
    }
}

#[test]
fn a_cyclic_bif_is_a_cycle_error() {
    let text = "network c { }
        variable a { type discrete [ 2 ] { x, y }; }
        variable b { type discrete [ 2 ] { x, y }; }
        probability ( a | b ) { (x) 0.5, 0.5; (y) 0.5, 0.5; }
        probability ( b | a ) { (x) 0.5, 0.5; (y) 0.5, 0.5; }";
    let error = read_bif(text).unwrap_err();
    assert!(matches!(error, Error::Cycle { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the network has a directed cycle through variable")
    );
}

#[test]
fn broken_bif_files_give_typed_errors() {
    let missing_row = "network c { } variable a { type discrete [ 2 ] { x, y }; }
        variable b { type discrete [ 2 ] { x, y }; }
        probability ( a ) { table 0.5, 0.5; }
        probability ( b | a ) { (x) 0.5, 0.5; }";
    assert!(matches!(read_bif(missing_row), Err(Error::BadCpt { .. })));
    let unknown_state = missing_row.replace("(x) 0.5, 0.5; }", "(x) 0.5, 0.5; (z) 0.5, 0.5; }");
    assert!(matches!(
        read_bif(&unknown_state),
        Err(Error::UnknownState { .. })
    ));
    let truncated = "network c { } variable a { type discrete [ 2 ] { x, y ";
    assert!(matches!(read_bif(truncated), Err(Error::Parse { .. })));
    let wrong_count = "network c { } variable a { type discrete [ 3 ] { x, y }; }";
    assert!(matches!(
        read_bif(wrong_count),
        Err(Error::Parse { line: 1, .. })
    ));
}

/// `b | a` with the given rows for `a = x` and `a = y`: the shape of every CPT test below.
fn two_rows(x: &str, y: &str) -> String {
    format!(
        "network c {{ }}
        variable a {{ type discrete [ 2 ] {{ x, y }}; }}
        variable b {{ type discrete [ 2 ] {{ on, off }}; }}
        probability ( a ) {{ table 0.5, 0.5; }}
        probability ( b | a ) {{ (x) {x}; (y) {y}; }}"
    )
}

fn cpt_error(text: &str) -> String {
    match read_bif(text) {
        Err(error @ Error::BadCpt { .. }) => error.to_string(),
        other => panic!("expected a CPT error, got {other:?}"),
    }
}

/// pgmpy refuses a row that is not a distribution; so do we, instead of rescaling it.
#[test]
fn rows_that_do_not_sum_to_one_are_refused_naming_variable_and_parent_states() {
    assert_eq!(
        cpt_error(&two_rows("0.5, 0.5", "0.3, 0.3")),
        "conditional probability table of `b`: P(b | a=y) sums to 0.6, not 1 ± 0.001 (line 5)"
    );
    assert_eq!(
        cpt_error(&two_rows("2.0, 8.0", "0.5, 0.5")),
        "conditional probability table of `b`: P(b | a=x) sums to 10, not 1 ± 0.001 (line 5)"
    );
    assert_eq!(
        cpt_error(&two_rows("0.5, 0.5", "0, 0")),
        "conditional probability table of `b`: P(b | a=y) sums to 0, not 1 ± 0.001 (line 5)"
    );
    let root = two_rows("0.5, 0.5", "0.5, 0.5").replace("table 0.5, 0.5", "table 0.7, 0.2");
    assert_eq!(
        cpt_error(&root),
        "conditional probability table of `a`: P(a) sums to 0.9, not 1 ± 0.001 (line 4)"
    );
    // A `table` over parents lists child states slowest: here row a=y is (0.5, 0.6).
    let table = two_rows("0.5, 0.5", "0.5, 0.5")
        .replace("(x) 0.5, 0.5; (y) 0.5, 0.5;", "table 0.5, 0.5, 0.5, 0.6;");
    assert!(
        cpt_error(&table).contains("P(b | a=y) sums to 1.1, not 1 ± 0.001"),
        "{}",
        cpt_error(&table)
    );
    // Rounding is not an error: four decimals over three states, and the 1e-3 edge itself.
    let rounded = two_rows("0.3333, 0.6667", "0.9995, 0").replace(
        "probability ( a ) { table 0.5, 0.5; }",
        "probability ( a ) { table 0.3333, 0.6666; }",
    );
    assert!(read_bif(&rounded).is_ok(), "{:?}", read_bif(&rounded).err());
    assert!(cpt_error(&two_rows("0.5, 0.5", "0.9985, 0")).contains("sums to 0.9985"));
}

#[test]
fn nan_infinite_and_negative_entries_are_named_as_such() {
    assert_eq!(
        cpt_error(&two_rows("NaN, 1", "0.5, 0.5")),
        "conditional probability table of `b`: P(b=on | a=x) is NaN, not a probability (line 5)"
    );
    assert_eq!(
        cpt_error(&two_rows("0.5, 0.5", "inf, 0")),
        "conditional probability table of `b`: P(b=on | a=y) = inf is not finite (line 5)"
    );
    assert_eq!(
        cpt_error(&two_rows("0.5, 0.5", "1.5, -0.5")),
        "conditional probability table of `b`: P(b=off | a=y) = -0.5 is negative (line 5)"
    );
    let missing = two_rows("0.5, 0.5", "0.5, 0.5").replace(" (y) 0.5, 0.5;", "");
    assert_eq!(
        cpt_error(&missing),
        "conditional probability table of `b`: no row for (a=y) (line 5)"
    );
}

/// The check lives in the network constructor, so a table built in code meets it too.
#[test]
fn the_constructor_refuses_what_the_reader_refuses() {
    use explainme_bayes::{BayesNet, Cpt, Variable};
    let variable =
        |name: &str| Variable::new(name, vec!["x".into(), "y".into()]).expect("two states");
    let net = |values: Vec<f64>| {
        BayesNet::new(
            "n",
            vec![variable("a"), variable("b")],
            vec![
                Cpt {
                    parents: vec![],
                    values: vec![0.5, 0.5],
                },
                Cpt {
                    parents: vec![0],
                    values,
                },
            ],
        )
    };
    assert!(net(vec![0.1, 0.9, 0.4, 0.6]).is_ok());
    let error = net(vec![0.1, 0.9, 0.4, 0.4]).unwrap_err().to_string();
    assert_eq!(
        error,
        "conditional probability table of `b`: P(b | a=y) sums to 0.8, not 1 ± 0.001"
    );
    assert!(net(vec![0.1, 0.9, f64::NAN, 1.0]).is_err());
    assert!(net(vec![0.1, 0.9, 0.4]).is_err());
}

/// Every network the project ships loads under the row check (they are off by 1e-7 at most).
#[test]
fn all_shared_networks_pass_the_row_check() {
    for name in common::NETWORKS {
        let net = common::network(name);
        for v in 0..net.len() {
            let card = net.variable(v).cardinality();
            for row in net.cpt(v).values.chunks(card) {
                let total: f64 = row.iter().sum();
                assert!(
                    (total - 1.0).abs() < 1e-6,
                    "{name}: {}",
                    net.variable(v).name
                );
            }
        }
    }
}

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

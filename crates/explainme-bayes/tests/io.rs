//! BIF round trips on the five shared networks, and the typed errors for broken files.

mod common;

use explainme_bayes::{
    BayesNet, Cpt, Error, Variable, read_bif, write_bif, write_dot, write_xmlbif,
};

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

/// A network `n` with one root variable named `name` over `states`, uniform.
fn one_variable(network: &str, name: &str, states: &[&str]) -> explainme_bayes::Result<BayesNet> {
    let variable = Variable::new(name, states.iter().map(|s| s.to_string()).collect())?;
    let cpt = Cpt {
        parents: vec![],
        values: vec![1.0 / states.len() as f64; states.len()],
    };
    BayesNet::new(network, vec![variable], vec![cpt])
}

/// Names BIF cannot carry never make a network, so no file with them is ever written.
#[test]
fn names_bif_cannot_carry_are_refused_naming_the_offender() {
    let refused =
        |network: &str, name: &str, states: &[&str]| match one_variable(network, name, states) {
            Err(error @ Error::BadName { .. }) => error.to_string(),
            other => panic!("{name:?} {states:?} should be refused, got {other:?}"),
        };
    assert_eq!(
        refused("n", "a b", &["x"]),
        "variable name `a b` cannot be written as BIF: it contains a space; \
         BIF names are ASCII letters, digits, `_` and `-`"
    );
    assert!(
        refused("n", "", &["x"])
            .starts_with("variable name `` cannot be written as BIF: it is empty")
    );
    assert_eq!(
        refused("n", "s", &["ok", "x,y"]),
        "state `x,y` of variable `s` cannot be written as BIF: it contains `,`; \
         BIF states are printable ASCII without spaces or { } ( ) [ ] , ; | \""
    );
    assert!(
        refused("n", "s", &[""])
            .starts_with("state `` of variable `s` cannot be written as BIF: it is empty")
    );
    assert!(
        refused("n", "s", &["a//b"]).contains("it contains `//`, which BIF reads as a comment")
    );
    assert!(refused("n", "s", &["tab\there"]).contains("it contains \\t"));
    assert!(
        refused("my net", "s", &["x"])
            .starts_with("network name `my net` cannot be written as BIF")
    );
    for name in ["a.b", "größe", "a\"b", "x;", "(x)", "a|b", "a[1]", "/*c*/"] {
        refused("n", name, &["x"]);
    }
    for state in [
        "a b", "{x}", "(x)", "[x]", "x;", "a|b", "\"x\"", "é", "x\ny", "/*c",
    ] {
        refused("n", "s", &[state]);
    }
    // What the shared networks use is fine: child.bif's `<5`, `>=7.5`, `Asy/Patch`, `Transp.`.
    assert!(
        one_variable(
            "n",
            "Age-group_2",
            &["<5", ">=7.5", "Asy/Patch", "Transp.", "12+", "-1"]
        )
        .is_ok()
    );
    // A quoted name our reader would take is refused at construction, naming it.
    let quoted = "network n { } variable \"a b\" { type discrete [ 1 ] { x }; }
        probability ( \"a b\" ) { table 1; }";
    assert!(matches!(read_bif(quoted), Err(Error::BadName { name, .. }) if name == "a b"));
}

/// A tiny deterministic generator (SplitMix64) so the property test needs no dependency.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A variable or network name (`state = false`) or a state name (`true`): mostly what BIF
    /// carries, sometimes empty, sometimes with a character it cannot carry, sometimes a
    /// keyword of the format.
    fn name(&mut self, state: bool) -> String {
        const KEYWORDS: [&str; 8] = [
            "network",
            "variable",
            "probability",
            "table",
            "property",
            "type",
            "discrete",
            "default",
        ];
        const WORD: &[char] = &['a', 'Z', 'q', '0', '9', '_', '-'];
        const STATE: &[char] = &['<', '>', '=', '+', '.', '/', '*', '\'', '&', '#', '!'];
        const HOSTILE: &[char] = &[
            ' ', ',', '{', '}', '(', ')', '[', ']', ';', '|', '"', '\t', '\n', 'é', '\u{a0}', '.',
        ];
        match self.below(40) {
            0 => return String::new(),
            1..=3 => return KEYWORDS[self.below(KEYWORDS.len())].to_owned(),
            _ => {}
        }
        let len = 1 + self.below(6);
        (0..len)
            .map(|_| match self.below(60) {
                0 => HOSTILE[self.below(HOSTILE.len())],
                1..=20 if state => STATE[self.below(STATE.len())],
                _ => WORD[self.below(WORD.len())],
            })
            .collect()
    }

    /// A probability row over `k` states summing to 1 up to rounding, with exact zeros, tiny
    /// and subnormal entries and the odd negative zero.
    fn row(&mut self, k: usize) -> Vec<f64> {
        let raw: Vec<f64> = (0..k)
            .map(|i| match self.below(8) {
                _ if i == 0 => 0.5,
                0 => 0.0,
                1 => 1e-300,
                2 => f64::MIN_POSITIVE / 3.0,
                _ => (self.next() >> 11) as f64 / (1u64 << 53) as f64 + 1e-3,
            })
            .collect();
        let total: f64 = raw.iter().sum();
        raw.iter()
            .map(|&v| {
                if v == 0.0 && self.below(2) == 0 {
                    -0.0
                } else {
                    v / total
                }
            })
            .collect()
    }
}

/// Whatever `write_bif` emits, `read_bif` reads back identically: names, state order, arcs
/// and every bit of every table. Networks with names BIF cannot carry are refused before
/// anything is written (and both outcomes occur in the sample).
#[test]
fn whatever_write_bif_emits_read_bif_reads_back_identically() {
    let mut draw = Gen(8);
    let (mut written, mut refused) = (0, 0);
    for _ in 0..3000 {
        let n = 1 + draw.below(4);
        let variables: Vec<Variable> = (0..n)
            .filter_map(|_| {
                let states = (0..1 + draw.below(3)).map(|_| draw.name(true)).collect();
                Variable::new(draw.name(false), states).ok()
            })
            .collect();
        let cpts: Vec<Cpt> = (0..variables.len())
            .map(|child| {
                let parents: Vec<usize> = (0..child).filter(|_| draw.below(2) == 0).collect();
                let rows: usize = parents
                    .iter()
                    .map(|&p| variables[p].cardinality())
                    .product();
                let card = variables[child].cardinality();
                Cpt {
                    parents,
                    values: (0..rows).flat_map(|_| draw.row(card)).collect(),
                }
            })
            .collect();
        let name = draw.name(false);
        let net = match BayesNet::new(name, variables, cpts) {
            Ok(net) => net,
            Err(Error::BadName { .. } | Error::Duplicate(_)) => {
                refused += 1;
                continue;
            }
            Err(other) => panic!("unexpected {other}"),
        };
        written += 1;
        let text = write_bif(&net);
        let again = read_bif(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again.name(), net.name(), "{text}");
        assert_eq!(again.len(), net.len(), "{text}");
        for v in 0..net.len() {
            assert_eq!(again.variable(v), net.variable(v), "{text}");
            assert_eq!(again.parents(v), net.parents(v), "{text}");
            let bits = |c: &Cpt| c.values.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(again.cpt(v)), bits(net.cpt(v)), "{text}");
        }
        assert_eq!(write_bif(&again), text);
    }
    assert!(
        written > 500 && refused > 500,
        "{written} written, {refused} refused"
    );
}

#[test]
fn unterminated_comments_and_strings_are_named() {
    let comment = "network c { } /* variable a";
    assert_eq!(
        read_bif(comment).unwrap_err().to_string(),
        "parse error at line 1: unterminated comment"
    );
    let string = "network c { }\nvariable \"a { type discrete [ 1 ] { x }; }";
    assert_eq!(
        read_bif(string).unwrap_err().to_string(),
        "parse error at line 2: unterminated string"
    );
}

//! SVG drawings: graphs from the DOT that explainme-bayes and explainme-tree write, ROC and
//! calibration plots, and the exact numbers behind the plots. Every drawing is parsed back
//! as XML and checked for a natural size, its labels (escaped) and the absence of anything
//! external.

use std::path::PathBuf;

use explainme_bayes::{BayesNet, Cpt, Variable, read_bif, write_dot};
use explainme_report::{
    CalibrationBin, Error, calibration_bins, calibration_svg, dot_to_svg, roc_curve, roc_svg,
};
use explainme_tree::{Classes, Column, Node, Rendering, Split, Tree};

// ---------------------------------------------------------------------------------------
// Helpers

/// Parses `svg`, checks what every drawing must satisfy, and returns the document.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let (width, height) = size(&doc);
    assert!(width > 0.0 && height > 0.0, "{width} × {height}");
    let view: Vec<f64> = root
        .attribute("viewBox")
        .expect("a viewBox")
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(view.len(), 4);
    assert_eq!(
        (view[2], view[3]),
        (width, height),
        "viewBox matches the size: 1 unit = 1 px"
    );
    // Nothing external: no links, no images, no stylesheets, only local url(#…) references.
    for node in doc.descendants().filter(|n| n.is_element()) {
        assert!(
            !["image", "script", "style", "foreignObject", "use"].contains(&node.tag_name().name())
        );
        for attribute in node.attributes() {
            assert!(!attribute.name().contains("href"), "{}", attribute.name());
            if let Some(rest) = attribute.value().strip_prefix("url(") {
                assert!(rest.starts_with('#'), "{}", attribute.value());
            }
        }
    }
    assert!(!svg.starts_with("<?xml"), "inlinable: no XML declaration");
    doc
}

fn size(doc: &roxmltree::Document) -> (f64, f64) {
    let root = doc.root_element();
    let number = |name| {
        root.attribute(name)
            .expect(name)
            .parse::<f64>()
            .expect(name)
    };
    (number("width"), number("height"))
}

/// The text of every `<text>` element, its lines (tspans) joined by newlines.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|t| {
            let spans: Vec<String> = t
                .children()
                .filter(|c| c.has_tag_name("tspan"))
                .map(|s| s.text().unwrap_or("").to_owned())
                .collect();
            if spans.is_empty() {
                t.text().unwrap_or("").trim().to_owned()
            } else {
                spans.join("\n")
            }
        })
        .collect()
}

fn count(doc: &roxmltree::Document, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

/// Node shapes' boxes (x0, y0, x1, y1): ellipses and the outer rect of each box.
fn shape_boxes(doc: &roxmltree::Document) -> Vec<(f64, f64, f64, f64)> {
    let f = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    let mut boxes = Vec::new();
    for n in doc.descendants() {
        if n.has_tag_name("ellipse") {
            let (cx, cy, rx, ry) = (f(n, "cx"), f(n, "cy"), f(n, "rx"), f(n, "ry"));
            boxes.push((cx - rx, cy - ry, cx + rx, cy + ry));
        } else if n.has_tag_name("rect") && n.parent().is_some_and(|p| p.has_tag_name("svg")) {
            boxes.push((
                f(n, "x"),
                f(n, "y"),
                f(n, "x") + f(n, "width"),
                f(n, "y") + f(n, "height"),
            ));
        }
    }
    boxes
}

/// Each `<text>`'s box, estimated as the drawing code does (0.62 em per character), with
/// its text.
fn text_boxes(doc: &roxmltree::Document) -> Vec<((f64, f64, f64, f64), String)> {
    let f = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|t| {
            let size = f(t, "font-size");
            let spans: Vec<roxmltree::Node> =
                t.children().filter(|c| c.has_tag_name("tspan")).collect();
            let widest = spans
                .iter()
                .map(|s| s.text().unwrap_or("").chars().count())
                .max()
                .unwrap_or(0);
            let x = f(t, "x");
            let half = 0.31 * size * widest as f64;
            let top = f(spans[0], "y") - 0.85 * size;
            let bottom = f(*spans.last().unwrap(), "y") + 0.25 * size;
            ((x - half, top, x + half, bottom), texts_of(t))
        })
        .collect()
}

fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn shared_bif(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../../shared/data/bn/{name}.bif"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A binary network with uniform tables over the given arcs (parent, child).
fn network(name: &str, names: &[&str], arcs: &[(&str, &str)]) -> BayesNet {
    let index = |n: &str| names.iter().position(|m| *m == n).unwrap();
    let variables = names
        .iter()
        .map(|n| Variable::new(*n, vec!["no".into(), "yes".into()]).unwrap())
        .collect();
    let cpts = names
        .iter()
        .map(|child| {
            let parents: Vec<usize> = arcs
                .iter()
                .filter(|(_, c)| c == child)
                .map(|(p, _)| index(p))
                .collect();
            let rows = 1 << parents.len();
            Cpt {
                parents,
                values: vec![0.5; 2 * rows],
            }
        })
        .collect();
    BayesNet::new(name, variables, cpts).unwrap()
}

/// The demo's shape of network: pathology → findings → the CNN's verdict, 13 nodes, 20 arcs.
fn renal_network() -> BayesNet {
    let names = [
        "subtype",
        "malignant",
        "size",
        "margin",
        "macroscopic_fat",
        "calcification",
        "necrosis",
        "cystic",
        "enhancement",
        "heterogeneity",
        "exophytic",
        "cnn_verdict",
        "cnn_correct",
    ];
    let mut arcs = vec![("subtype", "malignant")];
    for finding in [
        "size",
        "margin",
        "macroscopic_fat",
        "calcification",
        "necrosis",
        "cystic",
        "enhancement",
        "heterogeneity",
    ] {
        arcs.push(("subtype", finding));
    }
    arcs.extend([
        ("malignant", "size"),
        ("malignant", "necrosis"),
        ("size", "exophytic"),
        ("cystic", "enhancement"),
        ("size", "cnn_verdict"),
        ("macroscopic_fat", "cnn_verdict"),
        ("enhancement", "cnn_verdict"),
        ("heterogeneity", "cnn_verdict"),
        ("necrosis", "cnn_verdict"),
        ("cnn_verdict", "cnn_correct"),
        ("malignant", "cnn_correct"),
    ]);
    assert_eq!((names.len(), arcs.len()), (13, 20));
    network("renal_mass", &names, &arcs)
}

/// A hand-made surrogate tree whose words need escaping: `<` in the branch conditions,
/// `&`, `<`, `>` and quotes in the class names.
fn node(cases: usize, positive: usize, depth: usize, split: Option<Split>) -> Node {
    Node {
        cases,
        positive,
        depth,
        split,
    }
}

fn split(column: usize, threshold: f64, below: usize, above: usize) -> Option<Split> {
    Some(Split {
        column,
        threshold,
        below,
        above,
    })
}

fn tree() -> Tree {
    Tree {
        columns: vec![
            Column::number("size_cm", "size", Some("cm")),
            Column {
                name: "fat=present".into(),
                rendering: Rendering::Indicator {
                    feature: "macroscopic fat".into(),
                    state: "present".into(),
                    otherwise: Some("absent".into()),
                },
            },
        ],
        classes: Classes::new("benign <\"AML\">", "malignant & 'RCC'", "CNN"),
        nodes: vec![
            node(200, 90, 0, split(0, 4.0, 1, 2)),
            node(100, 10, 1, None),
            node(100, 80, 1, split(1, 0.5, 3, 4)),
            node(70, 66, 2, None),
            node(30, 14, 2, None),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// Graphs

#[test]
fn a_bayesian_network_from_the_shared_bif_is_drawn_with_every_variable_and_arc() {
    let net = read_bif(&shared_bif("sachs")).unwrap();
    let svg = dot_to_svg(&write_dot(&net)).unwrap();
    let doc = parse(&svg);
    let labels = texts(&doc);
    for variable in net.variables() {
        assert!(
            labels.contains(&variable.name),
            "{} missing from {labels:?}",
            variable.name
        );
    }
    let arcs: usize = (0..net.len()).map(|v| net.parents(v).len()).sum();
    assert_eq!(arcs, 17);
    assert_eq!(count(&doc, "path"), arcs, "one path per arc");
    let heads = doc
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("marker-end").is_some())
        .count();
    assert_eq!(heads, arcs, "every arc has its arrowhead");
    assert_eq!(count(&doc, "ellipse"), net.len());
}

#[test]
fn a_13_node_network_stays_readable() {
    let net = renal_network();
    let dot = write_dot(&net);
    let svg = dot_to_svg(&dot).unwrap();
    let doc = parse(&svg);
    let (width, height) = size(&doc);
    println!(
        "13 nodes, 20 arcs: {} bytes of SVG, {width} × {height} px (DOT {} bytes)",
        svg.len(),
        dot.len()
    );
    // Fits a report page at its natural size or slightly scaled, and is not a sliver.
    assert!(width <= 2000.0 && height <= 1200.0, "{width} × {height}");
    assert!(width >= 300.0 && height >= 200.0, "{width} × {height}");
    assert_eq!(count(&doc, "path"), 20);
    let labels = texts(&doc);
    assert_eq!(labels.len(), 13);
    for variable in net.variables() {
        assert!(labels.contains(&variable.name));
    }
    // Text of a readable size, and no node drawn over another.
    for text in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let size: f64 = text.attribute("font-size").unwrap().parse().unwrap();
        assert!(size >= 12.0, "{size}");
    }
    let boxes = shape_boxes(&doc);
    assert_eq!(boxes.len(), 13 + 1, "13 ellipses and the background");
    let nodes = &boxes[1..];
    for (i, a) in nodes.iter().enumerate() {
        for b in &nodes[i + 1..] {
            assert!(!overlap(*a, *b), "{a:?} overlaps {b:?}");
        }
    }
    // Each name inside its own ellipse's box, and in no other.
    for (text, name) in text_boxes(&doc) {
        let hit: Vec<_> = nodes.iter().filter(|b| overlap(**b, text)).collect();
        assert_eq!(hit.len(), 1, "{name:?} at {text:?}: {hit:?}");
        let b = hit[0];
        assert!(
            b.0 <= text.0 && text.2 <= b.2 && b.1 <= text.1 && text.3 <= b.3,
            "{name:?}"
        );
    }
    // Everything inside the viewBox.
    let view: Vec<f64> = doc
        .root_element()
        .attribute("viewBox")
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    for b in nodes {
        assert!(b.0 >= view[0] && b.1 >= view[1], "{b:?} in {view:?}");
        assert!(
            b.2 <= view[0] + view[2] && b.3 <= view[1] + view[3],
            "{b:?} in {view:?}"
        );
    }
}

#[test]
fn a_tree_that_splits_on_detector_channels_stays_narrow_enough_to_read() {
    let detector = |concept: &str, channel: usize| {
        Column::number(
            &format!("conv4_1_1:{channel}"),
            &format!("CNN's {concept} detector (conv4_1_1 channel {channel}, IoU 0.11)"),
            None,
        )
    };
    let tree = Tree {
        columns: vec![
            detector("necrosis", 56),
            detector("macroscopic fat", 34),
            detector("calcification", 12),
        ],
        classes: Classes::new("benign", "malignant", "CNN"),
        nodes: vec![
            node(400, 250, 0, split(0, 0.1178, 1, 2)),
            node(200, 60, 1, split(1, 0.174, 3, 4)),
            node(200, 190, 1, split(2, 0.052, 5, 6)),
            node(120, 50, 2, None),
            node(80, 10, 2, None),
            node(150, 148, 2, None),
            node(50, 42, 2, None),
        ],
    };
    let svg = dot_to_svg(&explainme_tree::dot(&tree)).unwrap();
    let width: f64 = parse(&svg)
        .root_element()
        .attribute("width")
        .unwrap()
        .parse()
        .unwrap();
    // A report page is about 900 px wide: a drawing this wide keeps its labels at most of
    // their size (874 px; unwrapped, the conditions on one line, it was 2,731 px).
    assert!(width <= 1000.0, "{width} px");
}

#[test]
fn a_surrogate_tree_is_drawn_with_escaped_labels_and_its_fills() {
    let tree = tree();
    let dot = explainme_tree::dot(&tree);
    let svg = dot_to_svg(&dot).unwrap();
    let doc = parse(&svg);
    let labels = texts(&doc);
    // Node labels, line by line, as explainme-tree wrote them.
    for want in [
        "200 cases\nCNN says malignant\n& 'RCC' in 45%",
        "benign <\"AML\">\nCNN says so in\n90% of 100 cases",
        "malignant & 'RCC'\nCNN says so in\n94% of 70 cases",
        "size < 4 cm",
        "size ≥ 4 cm",
        "macroscopic fat absent",
        "macroscopic fat present",
    ] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want:?} not in {labels:?}"
        );
    }
    assert!(svg.contains("benign &lt;&quot;AML&quot;&gt;"));
    assert!(svg.contains("malignant &amp; &apos;RCC&apos;"));
    assert!(svg.contains("size &lt; 4 cm"));
    // Boxes filled as the DOT says: leaves by verdict, inner nodes light grey.
    let fills: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .filter_map(|n| n.attribute("fill"))
        .collect();
    assert_eq!(
        fills.iter().filter(|f| **f == "#f4a582").count(),
        1,
        "{fills:?}"
    );
    assert_eq!(
        fills.iter().filter(|f| **f == "#92c5de").count(),
        2,
        "{fills:?}"
    );
    assert_eq!(
        fills.iter().filter(|f| **f == "#f7f7f7").count(),
        2,
        "{fills:?}"
    );
    assert_eq!(count(&doc, "path"), 4);
    // Every label fits its box, and no branch label runs into a box.
    let boxes = &shape_boxes(&doc)[1..];
    for (text, words) in text_boxes(&doc) {
        let inside: Vec<_> = boxes.iter().filter(|b| overlap(**b, text)).collect();
        match inside[..] {
            [] => {}
            [b] => assert!(
                b.0 <= text.0 && text.2 <= b.2 && b.1 <= text.1 && text.3 <= b.3,
                "{words:?} at {text:?} spills out of {b:?}"
            ),
            _ => panic!("{words:?} at {text:?} overlaps {inside:?}"),
        }
    }
}

#[test]
fn labels_with_markup_characters_are_escaped_and_penwidth_is_kept() {
    let dot = r##"digraph "a & b" {
        rankdir=LR;
        x [label="p(size < 4) = 0.3 & \"fat\"", shape=box, style="rounded,filled", fillcolor="#ffcc00"];
        y [label="<y>", fontsize=16];
        x -> y [label="weight > 2", penwidth=2.5];
        y -> z [style=dashed, color=red, penwidth=1];
    }"##;
    let svg = dot_to_svg(dot).unwrap();
    let doc = parse(&svg);
    let labels = texts(&doc);
    for want in ["p(size < 4) = 0.3 & \"fat\"", "<y>", "weight > 2", "z"] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want:?} not in {labels:?}"
        );
    }
    assert!(svg.contains("p(size &lt; 4) = 0.3 &amp; &quot;fat&quot;"));
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("a & b"));
    let paths: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("path"))
        .collect();
    assert_eq!(paths.len(), 2);
    assert_eq!(
        paths[0].attribute("stroke-width"),
        Some("3"),
        "2.5 rounds to 3"
    );
    assert_eq!(paths[1].attribute("stroke"), Some("#ff0000"));
    assert!(paths[1].attribute("stroke-dasharray").is_some());
    // Two arrowhead markers (black width 3, red width 1), each defined once.
    let markers: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("marker"))
        .map(|n| n.attribute("id").unwrap())
        .collect();
    assert_eq!(markers.len(), 2);
    for p in &paths {
        let id = p.attribute("marker-end").unwrap();
        assert!(markers.iter().any(|m| format!("url(#{m})") == id), "{id}");
    }
    let font: f64 = doc
        .descendants()
        .find(|n| n.has_tag_name("text") && texts_of(*n) == "<y>")
        .unwrap()
        .attribute("font-size")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(font, 16.0);
}

fn texts_of(n: roxmltree::Node) -> String {
    n.children()
        .filter(|c| c.has_tag_name("tspan"))
        .filter_map(|c| c.text())
        .collect()
}

#[test]
fn two_different_drawings_do_not_share_ids() {
    let ids = |svg: &str| -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        doc.descendants()
            .filter_map(|n| n.attribute("id").map(str::to_owned))
            .collect()
    };
    let a = ids(&dot_to_svg("digraph { a -> b; }").unwrap());
    let b = ids(&dot_to_svg("digraph { c -> d; }").unwrap());
    assert!(!a.is_empty());
    assert!(a.iter().all(|id| !b.contains(id)), "{a:?} {b:?}");
}

#[test]
fn awkward_graphs_are_drawn_or_refused_but_never_panic() {
    for dot in [
        "digraph { a -> a; }",
        "digraph { a -> b; b -> a; }",
        "digraph { a -> b; a -> b; }",
        "graph { a -- b -- c; }",
        "strict digraph { subgraph cluster_0 { a; b; } a -> c; }",
        "digraph { rankdir=LR; a [shape=record, label=\"<f0> left|<f1> right\"]; a:f0 -> b; }",
        "digraph { a [shape=doublecircle]; b [shape=circle]; c [shape=plaintext]; a -> b -> c; }",
        "digraph { a; }",
        "digraph { \"\" -> b; }",
        "digraph { a [label=\"\"]; }",
        "digraph { a [fillcolor=\"#1234567\", color=\"nonsense\"]; }",
    ] {
        let svg = dot_to_svg(dot).unwrap_or_else(|e| panic!("{dot}: {e}"));
        parse(&svg);
    }
}

#[test]
fn bad_dot_is_a_typed_error() {
    for dot in [
        "",
        "digraph {",
        "not a graph",
        "digraph { a -> ; }",
        "digraph { a [label=<b>]; }",
    ] {
        match dot_to_svg(dot) {
            Err(Error::Drawing {
                drawing: "graph",
                reason,
            }) => {
                assert!(reason.contains("does not parse"), "{dot}: {reason}")
            }
            other => panic!("{dot}: {other:?}"),
        }
    }
    assert!(matches!(
        dot_to_svg("digraph empty { }"),
        Err(Error::InvalidParameter { name: "dot", .. })
    ));
    let many: String = (0..=explainme_report::drawing::MAX_GRAPH_NODES)
        .map(|i| format!("n{i};"))
        .collect();
    assert!(matches!(
        dot_to_svg(&format!("digraph {{ {many} }}")),
        Err(Error::InvalidParameter { name: "dot", .. })
    ));
    let edges: String = (0..=explainme_report::drawing::MAX_GRAPH_EDGES)
        .map(|i| format!("a -> b [label=\"{i}\"];"))
        .collect();
    assert!(matches!(
        dot_to_svg(&format!("digraph {{ {edges} }}")),
        Err(Error::InvalidParameter { name: "dot", .. })
    ));
}

#[test]
fn larger_reference_networks_lay_out() {
    for name in ["asia", "child", "alarm"] {
        let net = read_bif(&shared_bif(name)).unwrap();
        let svg = dot_to_svg(&write_dot(&net)).unwrap();
        let doc = parse(&svg);
        assert_eq!(count(&doc, "ellipse"), net.len(), "{name}");
        let arcs: usize = (0..net.len()).map(|v| net.parents(v).len()).sum();
        assert_eq!(count(&doc, "path"), arcs, "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// ROC

#[test]
fn roc_steps_are_exact_with_ties_as_one_step() {
    // In decreasing score: 0.9 P; 0.8 P and N (a tie: one diagonal step); 0.7 N;
    // 0.5 P, N and P (a tie); 0.2 N. Four positives, four negatives.
    let scores = [0.5, 0.9, 0.2, 0.8, 0.5, 0.7, 0.8, 0.5];
    let positive = [true, true, false, true, false, false, false, true];
    let curve = roc_curve(&scores, &positive);
    assert_eq!(
        curve,
        [
            (0.0, 0.0),
            (0.0, 0.25), // 0.9: P
            (0.25, 0.5), // 0.8: P and N together
            (0.5, 0.5),  // 0.7: N
            (0.75, 1.0), // 0.5: P, N, P together
            (1.0, 1.0),  // 0.2: N
        ]
    );
}

#[test]
fn roc_curve_edge_cases() {
    // All tied: one diagonal step.
    assert_eq!(
        roc_curve(&[0.3; 4], &[true, false, true, false]),
        [(0.0, 0.0), (1.0, 1.0)]
    );
    // -0 and 0 are one score; infinities rank.
    assert_eq!(
        roc_curve(
            &[f64::INFINITY, 0.0, -0.0, f64::NEG_INFINITY],
            &[true, true, false, false]
        ),
        [(0.0, 0.0), (0.0, 0.5), (0.5, 1.0), (1.0, 1.0)]
    );
    // No curve: a class missing, lengths that differ, NaN, nothing.
    assert!(roc_curve(&[0.1, 0.2], &[true, true]).is_empty());
    assert!(roc_curve(&[0.1, 0.2], &[false, false]).is_empty());
    assert!(roc_curve(&[0.1, 0.2], &[true]).is_empty());
    assert!(roc_curve(&[0.1, f64::NAN], &[true, false]).is_empty());
    assert!(roc_curve(&[], &[]).is_empty());
}

#[test]
fn the_area_under_roc_curve_is_explainme_trees_auc() {
    // A seeded LCG; scores on a coarse grid so there are many ties.
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut scores = Vec::new();
    let mut positive = Vec::new();
    for _ in 0..500 {
        let truth = next() < 0.4;
        let score = ((next() + if truth { 0.4 } else { 0.0 }) * 10.0).round() / 10.0;
        scores.push(score);
        positive.push(truth);
    }
    let curve = roc_curve(&scores, &positive);
    let trapezoids: f64 = curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum();
    let auc = explainme_tree::auc(&scores, &positive).unwrap();
    assert!((trapezoids - auc).abs() < 1e-12, "{trapezoids} vs {auc}");
    let mut distinct = scores.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert_eq!(curve.len(), distinct.len() + 1);
}

#[test]
fn a_roc_plot_has_its_axes_auc_and_escaped_title() {
    let curve = roc_curve(
        &[0.9, 0.8, 0.8, 0.4, 0.3, 0.1],
        &[true, true, false, true, false, false],
    );
    let svg = roc_svg(&curve, Some(0.8125), "CNN <v2> & \"pathology\"").unwrap();
    let doc = parse(&svg);
    assert_eq!(size(&doc), (480.0, 480.0));
    let labels = texts(&doc);
    for want in [
        "CNN <v2> & \"pathology\"",
        "False-positive rate (1 − specificity)",
        "True-positive rate (sensitivity)",
        "ROC curve, AUC 0.812",
        "chance (AUC 0.5)",
        "0.0",
        "0.4",
        "1.0",
    ] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want:?} not in {labels:?}"
        );
    }
    assert!(svg.contains("CNN &lt;v2&gt; &amp; &quot;pathology&quot;"));
    for text in doc.descendants().filter(|n| n.has_tag_name("text")) {
        assert_eq!(text.attribute("font-family"), Some("sans-serif"));
        let size: f64 = text.attribute("font-size").unwrap().parse().unwrap();
        assert!(size >= 12.9, "{size}");
    }
    // The curve: one polyline through all its points (plotters maps them to pixels).
    let polylines: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| n.attribute("points"))
        .collect();
    assert!(
        polylines
            .iter()
            .any(|p| p.split_whitespace().count() == curve.len()),
        "{polylines:?}"
    );

    // Without an AUC the legend just names the curve, and no title is drawn when empty.
    let doc_svg = roc_svg(&curve, None, "").unwrap();
    let labels = texts(&parse(&doc_svg));
    assert!(labels.iter().any(|l| l == "ROC curve"));
    assert!(!labels.iter().any(|l| l.contains("AUC 0.8")));
}

#[test]
fn a_roc_plot_refuses_an_empty_or_impossible_curve() {
    assert!(matches!(
        roc_svg(&[], Some(0.5), "t"),
        Err(Error::InvalidParameter { name: "curve", .. })
    ));
    assert!(matches!(
        roc_svg(&[(0.0, 0.0), (f64::NAN, 1.0)], None, "t"),
        Err(Error::InvalidParameter { name: "curve", .. })
    ));
    assert!(matches!(
        roc_svg(&[(0.0, 0.0), (1.0, 1.5)], None, "t"),
        Err(Error::InvalidParameter { name: "curve", .. })
    ));
    assert!(matches!(
        roc_svg(&[(0.0, 0.0), (1.0, 1.0)], Some(1.2), "t"),
        Err(Error::InvalidParameter { name: "auc", .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Calibration

#[test]
fn calibration_bins_are_exact_on_a_hand_example() {
    let probabilities = [0.05, 0.15, 0.12, 0.55, 0.45, 0.95, 1.0, 0.3, 0.0];
    let truth = [false, false, true, true, false, true, true, false, false];
    let bins = calibration_bins(&probabilities, &truth, 5);
    // [0, 0.2): 0.05, 0.15, 0.12, 0.0 → mean 0.08, 1 of 4 positive.
    // [0.2, 0.4): 0.3 → 0 of 1.  [0.4, 0.6): 0.55, 0.45 → mean 0.5, 1 of 2.
    // [0.6, 0.8): empty, left out.  [0.8, 1]: 0.95, 1.0 → mean 0.975, 2 of 2.
    let want = [
        (0.08, 0.25, 4),
        (0.3, 0.0, 1),
        (0.5, 0.5, 2),
        (0.975, 1.0, 2),
    ];
    assert_eq!(bins.len(), want.len(), "{bins:?}");
    for (bin, (mean, observed, cases)) in bins.iter().zip(want) {
        assert!((bin.mean_predicted - mean).abs() < 1e-12, "{bin:?}");
        assert_eq!((bin.observed, bin.cases), (observed, cases), "{bin:?}");
    }
    // Edges: 0.2 opens the second bin, 1.0 closes the last.
    let edges = calibration_bins(&[0.2, 0.4, 1.0], &[true, false, true], 5);
    assert_eq!(edges.iter().map(|b| b.cases).collect::<Vec<_>>(), [1, 1, 1]);
    assert_eq!(edges[0].mean_predicted, 0.2);
    assert_eq!(edges[1].mean_predicted, 0.4);
}

#[test]
fn calibration_bins_edge_cases() {
    assert!(calibration_bins(&[], &[], 10).is_empty());
    assert!(calibration_bins(&[0.5], &[true], 0).is_empty());
    assert!(calibration_bins(&[0.5, 0.2], &[true], 10).is_empty());
    assert!(calibration_bins(&[0.5, 1.2], &[true, false], 10).is_empty());
    assert!(calibration_bins(&[0.5, f64::NAN], &[true, false], 10).is_empty());
    // One bin holds everything; a huge bin count costs nothing.
    assert_eq!(
        calibration_bins(&[0.25, 0.75], &[true, false], 1),
        [CalibrationBin {
            mean_predicted: 0.5,
            observed: 0.5,
            cases: 2
        }]
    );
    assert_eq!(
        calibration_bins(&[0.25, 0.75], &[true, false], usize::MAX).len(),
        2
    );
}

#[test]
fn a_calibration_plot_shows_each_bin_sized_and_labelled_by_its_cases() {
    let bins = [
        CalibrationBin {
            mean_predicted: 0.08,
            observed: 0.12,
            cases: 400,
        },
        CalibrationBin {
            mean_predicted: 0.5,
            observed: 0.41,
            cases: 25,
        },
        CalibrationBin {
            mean_predicted: 0.91,
            observed: 0.97,
            cases: 100,
        },
    ];
    let svg = calibration_svg(&bins, "Calibration & <reliability>").unwrap();
    let doc = parse(&svg);
    assert_eq!(size(&doc), (480.0, 480.0));
    let labels = texts(&doc);
    for want in [
        "Calibration & <reliability>",
        "Mean predicted probability",
        "Observed frequency of positives",
        "perfectly calibrated",
        "n=400",
        "n=25",
        "n=100",
    ] {
        assert!(
            labels.iter().any(|l| l == want),
            "{want:?} not in {labels:?}"
        );
    }
    // Dots: the largest bin gets the largest radius, and radii follow the case counts.
    let radii: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| n.attribute("r").unwrap().parse().unwrap())
        .collect();
    // Three bins and the legend's key.
    assert_eq!(radii.len(), 4, "{radii:?}");
    // 3 + 7 · √(cases / 400), rounded: 10, 4.75 → 5, 6.5 → 7.
    assert_eq!(&radii[..3], [10.0, 5.0, 7.0]);
}

#[test]
fn a_calibration_plot_refuses_no_bins_or_bad_bins() {
    assert!(matches!(
        calibration_svg(&[], "t"),
        Err(Error::InvalidParameter { name: "bins", .. })
    ));
    let bin = CalibrationBin {
        mean_predicted: 0.5,
        observed: 0.5,
        cases: 0,
    };
    assert!(matches!(
        calibration_svg(&[bin], "t"),
        Err(Error::InvalidParameter { name: "bins", .. })
    ));
    let bin = CalibrationBin {
        mean_predicted: f64::NAN,
        observed: 0.5,
        cases: 3,
    };
    assert!(matches!(
        calibration_svg(&[bin], "t"),
        Err(Error::InvalidParameter { name: "bins", .. })
    ));
}

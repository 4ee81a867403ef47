//! Graph drawings: a Graphviz DOT digraph — the Bayesian network, the surrogate tree — laid
//! out and drawn as SVG in pure Rust, so no `dot` binary is needed where the report is made.
//!
//! `layout-rs` parses the DOT, ranks the nodes, removes edge crossings and places
//! everything; this module sizes the nodes and turns its draw calls into SVG. Its own SVG
//! writer is not used because its output is not SVG 1.1 and does not inline well: colours
//! as `#rrggbbaa`, arrowheads filled with `context-stroke`, `fill="transparent"`, a
//! viewport that ignores anything left of or above the origin, fixed element ids that clash
//! when two drawings sit in one HTML page, and a Times font. Here every colour is `#rrggbb`
//! (with an opacity where needed), arrowheads are one marker per colour and width, ids
//! carry a prefix derived from the DOT text, the viewBox is the bounding box of everything
//! drawn plus a margin, and text is sans-serif, all XML-escaped and drawn above the edges.
//!
//! Its sizes are not used either: layout-rs allows one font size of width per character
//! (boxes twice as wide as their labels) and 60 px around every node, which spreads a
//! 13-node network over 1500 px, too wide to read once a page scales it down. Nodes are
//! resized for [`FONT`] after building (see `fit_nodes`), and edge labels, which layout-rs
//! turns into nodes of its own during layout, are laid out at a smaller font size and drawn
//! at the one asked for (see `EdgeFonts`); both rely on layout-rs 0.1.3's internals (it is
//! pinned to `=0.1.3`).
//!
//! What of DOT is understood is listed on [`dot_to_svg`].

use std::collections::HashMap;
use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::{Point, Position};
use layout::core::style::StyleAttr;
use layout::gv::parser::ast;
use layout::gv::{DotParser, GraphBuilder};
use layout::std_shapes::shapes::{Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::{escape, num};
use crate::{Error, Result};

/// Most nodes (declared or named by an edge) a drawing may have. layout-rs's time grows
/// about as the cube of the graph (unoptimised: 50 nodes and 98 edges in 0.35 s, 150 and 298
/// in 10 s, 500 and 998 in 340 s), and no network or tree a clinician can read has more.
pub const MAX_GRAPH_NODES: usize = 200;

/// Most edges a drawing may have, for the same reason as [`MAX_GRAPH_NODES`].
pub const MAX_GRAPH_EDGES: usize = 400;

/// Space around the drawing, in px.
const MARGIN: f64 = 8.0;

/// The font every label is drawn in.
const FONT: &str = "Helvetica, Arial, sans-serif";

/// Average advance of a character of [`FONT`], in em: Helvetica and Arial average about 0.55
/// over mixed text, DejaVu Sans (what `sans-serif` often is on Linux) about 0.6.
const CHAR_WIDTH: f64 = 0.62;

/// Line height, in em.
const LEADING: f64 = 1.2;

/// Room between a label and its box, in px (each side).
const PAD: Point = Point { x: 10.0, y: 6.0 };

/// Space layout-rs keeps around each node, in px (in total per axis; its own is 60 × 60,
/// which spreads a 13-node network over 1500 px).
const HALO: Point = Point { x: 36.0, y: 48.0 };

/// The default font size, in px (Graphviz's and layout-rs's: 14).
const FONT_SIZE: usize = 14;

/// Lays out a Graphviz DOT graph and draws it as a standalone SVG 1.1 document (no XML
/// declaration, so it can be inlined in HTML as it is): `width`, `height` and `viewBox` are
/// set, a white background fills it, and the graph's name, when it has one, is its `<title>`.
///
/// Both explainme-bayes' `write_dot` and explainme-tree's `dot` are drawn fully, apart from
/// the tree's rounded corners and font name.
///
/// # What of DOT is understood
///
/// layout-rs 0.1.3 reads the DOT grammar (graph, digraph, `strict`, subgraphs, attribute
/// statements, ports, comments, quoted strings with `\"`, `\\`, `\n` and `\l`), but only a
/// few attributes. Before layout the attributes are brought to what it reads:
///
/// | attribute | drawn as |
/// |---|---|
/// | `label` (node, edge) | the text, one line per `\n` or `\l`; an edge label sits left of the edge's middle (above it in `rankdir=LR`, where it may touch the edge) |
/// | `shape` | `box`, `circle`, `doublecircle`, `record`, `Mrecord`; any other (`ellipse`, `oval`, `plaintext`, …) is an ellipse around the label |
/// | `style` | a node list containing `filled` (e.g. `"rounded,filled"`) becomes `filled`; an edge list containing `dashed` or `dotted` becomes dashed; the rest is dropped (no rounded boxes, no bold, no invisible) |
/// | `fillcolor`, `color` | X11 names and `#rrggbb[aa]`; the first of a `a:b` list |
/// | `penwidth`, `fontsize` | any number, rounded to a whole pixel (layout-rs reads integers only and would ignore `2.5`): penwidth within 0–32, fontsize within 6–72 |
/// | `rankdir` | `LR`; anything else is top to bottom |
///
/// Not drawn: clusters (a subgraph's nodes are laid out as if it were absent), `rank=same`,
/// HTML labels (`<…>` is a parse error), `\N`/`\G`/`\E` (drawn as the letter), `fontname`,
/// `fontcolor` (text is black), edge `arrowhead`/`dir`, node `width`/`height` (dropped:
/// layout-rs would read `width` as a line width), `constraint`, `splines`, graph labels.
/// Records (`shape=record`) keep layout-rs's roomy sizes.
///
/// # Errors
///
/// [`Error::Drawing`] when the DOT does not parse or the layout fails (layout-rs asserts and
/// unwraps inside; none of the tests' graphs makes it panic, but a panic would be caught
/// and reported here, the panic hook still printing it), and
/// [`Error::InvalidParameter`] for a graph without nodes or with more than
/// [`MAX_GRAPH_NODES`] nodes or [`MAX_GRAPH_EDGES`] edges. Layout takes time (see
/// [`MAX_GRAPH_NODES`]): a server should call this off its async threads.
///
/// ```
/// use explainme_report::dot_to_svg;
///
/// let svg = dot_to_svg(r#"digraph g { a [label="size ≥ 4 cm & fat"]; a -> b [label="a<b"]; }"#)?;
/// assert!(svg.starts_with("<svg "));
/// assert!(svg.contains("size ≥ 4 cm &amp; fat") && svg.contains("a&lt;b"));
/// # Ok::<(), explainme_report::Error>(())
/// ```
pub fn dot_to_svg(dot: &str) -> Result<String> {
    let mut graph = DotParser::new(dot)
        .process()
        .map_err(|reason| Error::Drawing {
            drawing: "graph",
            reason: format!("the DOT text does not parse: {reason}"),
        })?;
    let (nodes, edges) = count(&graph.list);
    if edges > MAX_GRAPH_EDGES {
        return Err(Error::InvalidParameter {
            name: "dot",
            reason: format!("the graph has {edges} edges, more than the {MAX_GRAPH_EDGES} drawn"),
        });
    }
    if nodes == 0 {
        return Err(Error::InvalidParameter {
            name: "dot",
            reason: "the graph has no nodes: there is nothing to draw".into(),
        });
    }
    if nodes > MAX_GRAPH_NODES {
        return Err(Error::InvalidParameter {
            name: "dot",
            reason: format!("the graph has {nodes} nodes, more than the {MAX_GRAPH_NODES} drawn"),
        });
    }
    let mut edge_fonts = EdgeFonts::default();
    normalise(&mut graph.list, &mut edge_fonts);
    // Edge labels are sized by layout-rs at one font size per character; give it the size
    // whose estimate matches the drawn text's width (see `EdgeFonts`).
    let mut default_edge_font = ast::AttributeList::new();
    default_edge_font.add_attr("fontsize", &edge_fonts.layout_size(FONT_SIZE).to_string());
    graph.list.list.insert(
        0,
        ast::Stmt::Attribute(ast::AttrStmt::new(
            ast::AttrStmtTarget::Edge,
            default_edge_font,
        )),
    );

    let mut canvas = Canvas::new(format!("g{:08x}", fnv1a(dot.as_bytes())), edge_fonts);
    catch_unwind(AssertUnwindSafe(|| {
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        fit_nodes(&mut visual);
        visual.do_it(false, false, false, &mut canvas);
    }))
    .map_err(|panic| Error::Drawing {
        drawing: "graph",
        reason: format!(
            "layout-rs failed to lay the graph out: {}",
            panic_text(&panic)
        ),
    })?;
    Ok(canvas.finish(&graph.name))
}

/// Edge-label font sizes: the size layout-rs is told, and the size drawn.
///
/// layout-rs moves an edge's label into a node of its own, sized one font size per
/// character, about 1.6 times as wide as the text: a tree with labelled branches would be
/// twice as wide as it needs. So it is told `ceil(CHAR_WIDTH · size)`, and the label is
/// drawn at the size asked for. (Nodes are resized after building instead, see
/// [`fit_nodes`]; a label node cannot be, as layout-rs makes it during layout.)
#[derive(Default)]
struct EdgeFonts(HashMap<usize, usize>);

impl EdgeFonts {
    /// The size to give layout-rs for a label drawn at `drawn` px; remembered.
    fn layout_size(&mut self, drawn: usize) -> usize {
        let layout = ((CHAR_WIDTH * drawn as f64).ceil() as usize).max(1);
        self.0.entry(layout).or_insert(drawn);
        layout
    }

    /// The size to draw an edge label at that layout-rs was told `layout` for.
    fn drawn_size(&self, layout: usize) -> usize {
        self.0.get(&layout).copied().unwrap_or(layout)
    }
}

/// Sizes every node for its label as [`FONT`] draws it, with a tighter halo than layout-rs's:
/// layout-rs allows one font size per character (labels in boxes twice their width) and 60 px
/// around every node. Records and label nodes keep layout-rs's sizes.
fn fit_nodes(visual: &mut VisualGraph) {
    let handles: Vec<_> = visual.iter_nodes().collect();
    for handle in handles {
        let element = visual.element_mut(handle);
        if let Some(size) = node_size(element) {
            element.pos = Position::new(Point::zero(), size, Point::zero(), HALO);
        }
    }
}

fn node_size(element: &Element) -> Option<Point> {
    let font = element.look.font_size as f64;
    let text = |label: &str| {
        let lines = label.lines().count().max(1) as f64;
        let widest = label
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(1);
        Point::new(widest as f64 * CHAR_WIDTH * font, lines * LEADING * font)
    };
    Some(match &element.shape {
        ShapeKind::Box(label) => {
            let t = text(label);
            Point::new(t.x + 2.0 * PAD.x, t.y + 2.0 * PAD.y)
        }
        // An ellipse around the text's box: semi-axes 1.15 and 2.05 times the box's halves
        // put its corners inside (1/1.15² + 1/2.05² < 1) while staying flat for one line.
        ShapeKind::Circle(label) => {
            let t = text(label);
            Point::new(1.15 * t.x + PAD.x, 2.05 * t.y)
        }
        // A circle through the text box's corners.
        ShapeKind::DoubleCircle(label) => {
            let t = text(label);
            Point::splat(t.x.hypot(t.y) + PAD.x)
        }
        ShapeKind::Record(_) | ShapeKind::Connector(_) | ShapeKind::None => return None,
    })
}

/// Which statement an attribute list belongs to.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Graph,
    Node,
    Edge,
}

/// Rewrites attributes into the forms layout-rs reads (see the table on [`dot_to_svg`]).
fn normalise(statements: &mut ast::StmtList, edge_fonts: &mut EdgeFonts) {
    for statement in &mut statements.list {
        match statement {
            ast::Stmt::Node(node) => normalise_list(&mut node.list, Scope::Node, edge_fonts),
            ast::Stmt::Edge(edge) => normalise_list(&mut edge.list, Scope::Edge, edge_fonts),
            ast::Stmt::Attribute(attributes) => {
                let scope = match attributes.target {
                    ast::AttrStmtTarget::Graph => Scope::Graph,
                    ast::AttrStmtTarget::Node => Scope::Node,
                    ast::AttrStmtTarget::Edge => Scope::Edge,
                };
                normalise_list(&mut attributes.list, scope, edge_fonts);
            }
            ast::Stmt::SubGraph(graph) => normalise(&mut graph.list, edge_fonts),
        }
    }
}

fn normalise_list(list: &mut ast::AttributeList, scope: Scope, edge_fonts: &mut EdgeFonts) {
    list.list.retain_mut(|(key, value)| match key.as_str() {
        "penwidth" => round_into(value, 0.0, 32.0),
        "fontsize" => {
            let kept = round_into(value, 6.0, 72.0);
            if kept && scope == Scope::Edge {
                let drawn = value.parse().unwrap_or(FONT_SIZE);
                *value = edge_fonts.layout_size(drawn).to_string();
            }
            kept
        }
        "width" | "height" => scope != Scope::Node,
        "style" if scope == Scope::Node => keep_style(value, &["filled"], "filled"),
        "style" if scope == Scope::Edge => keep_style(value, &["dashed", "dotted"], "dashed"),
        _ => true,
    });
}

/// Replaces a number by its rounded, clamped integer; `false` (drop it) if it is none.
fn round_into(value: &mut String, low: f64, high: f64) -> bool {
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => {
            *value = format!("{}", v.round().clamp(low, high) as usize);
            true
        }
        _ => false,
    }
}

/// Keeps a style list as `to` when one of its entries is in `wanted`; `false` otherwise.
fn keep_style(value: &mut String, wanted: &[&str], to: &str) -> bool {
    let found = value.split(',').any(|s| wanted.contains(&s.trim()));
    if found {
        *value = to.to_owned();
    }
    found
}

/// Distinct node names (declared or used by an edge) and edges, anywhere in the graph.
fn count(statements: &ast::StmtList) -> (usize, usize) {
    fn visit<'a>(
        statements: &'a ast::StmtList,
        names: &mut std::collections::HashSet<&'a str>,
        edges: &mut usize,
    ) {
        for statement in &statements.list {
            match statement {
                ast::Stmt::Node(node) => {
                    names.insert(&node.id.name);
                }
                ast::Stmt::Edge(edge) => {
                    names.insert(&edge.from.name);
                    for (to, _) in &edge.to {
                        names.insert(&to.name);
                    }
                    *edges += edge.to.len();
                }
                ast::Stmt::SubGraph(graph) => visit(&graph.list, names, edges),
                ast::Stmt::Attribute(_) => {}
            }
        }
    }
    let mut names = std::collections::HashSet::new();
    let mut edges = 0;
    visit(statements, &mut names, &mut edges);
    (names.len(), edges)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// FNV-1a, 32 bits: a stable id prefix from the DOT text, so two different drawings inlined
/// in one page do not share marker or clip ids (and the same drawing twice shares identical
/// ones).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash: u32, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A colour as SVG 1.1 paint: `#rrggbb` and an opacity below 1, or `None` when transparent.
fn paint(color: Color) -> Option<(String, Option<f64>)> {
    let web = color.to_web_color(); // "#rrggbbaa"
    let rgba = u32::from_str_radix(web.trim_start_matches('#'), 16).ok()?;
    let alpha = rgba & 0xff;
    (alpha != 0).then(|| {
        let opacity = (alpha != 0xff).then(|| f64::from(alpha) / 255.0);
        (format!("#{:06x}", rgba >> 8), opacity)
    })
}

/// ` fill="#…"` (or `stroke`), with its opacity; ` fill="none"` when transparent.
fn paint_attribute(property: &str, color: Option<Color>) -> String {
    match color.and_then(paint) {
        None => format!(" {property}=\"none\""),
        Some((rgb, None)) => format!(" {property}=\"{rgb}\""),
        Some((rgb, Some(opacity))) => {
            format!(
                " {property}=\"{rgb}\" {property}-opacity=\"{}\"",
                num(opacity)
            )
        }
    }
}

/// The smallest box holding every point seen.
struct Bounds {
    low: Point,
    high: Point,
}

impl Bounds {
    fn new() -> Self {
        Bounds {
            low: Point::new(f64::INFINITY, f64::INFINITY),
            high: Point::new(f64::NEG_INFINITY, f64::NEG_INFINITY),
        }
    }

    fn add(&mut self, p: Point) {
        if p.x.is_finite() && p.y.is_finite() {
            self.low = Point::new(self.low.x.min(p.x), self.low.y.min(p.y));
            self.high = Point::new(self.high.x.max(p.x), self.high.y.max(p.y));
        }
    }

    fn add_box(&mut self, center: Point, half_width: f64, half_height: f64) {
        self.add(Point::new(center.x - half_width, center.y - half_height));
        self.add(Point::new(center.x + half_width, center.y + half_height));
    }
}

/// A layout-rs render backend writing SVG 1.1. Shapes and edges go in `body` as they come;
/// text goes in `labels`, drawn last so no edge runs over a label.
struct Canvas {
    id: String,
    body: String,
    labels: String,
    clips: Vec<String>,
    /// Arrowhead markers made so far: (colour, width, at the start).
    markers: Vec<(String, usize, bool)>,
    bounds: Bounds,
    edge_fonts: EdgeFonts,
    /// The centre of the last node shape drawn: layout-rs draws a node's label right after
    /// its shape, at its centre, and an edge label alone — so a text elsewhere is an edge's.
    shape_center: Option<Point>,
}

impl Canvas {
    fn new(id: String, edge_fonts: EdgeFonts) -> Self {
        Canvas {
            id,
            body: String::new(),
            labels: String::new(),
            clips: Vec::new(),
            markers: Vec::new(),
            bounds: Bounds::new(),
            edge_fonts,
            shape_center: None,
        }
    }

    /// The marker id for an arrowhead of this colour and line width, made on first use.
    fn marker(&mut self, look: &StyleAttr, start: bool) -> String {
        let color = paint(look.line_color).map_or_else(|| "#000000".to_owned(), |(rgb, _)| rgb);
        let key = (color, look.line_width, start);
        let index = match self.markers.iter().position(|m| *m == key) {
            Some(i) => i,
            None => {
                self.markers.push(key);
                self.markers.len() - 1
            }
        };
        format!("{}-head{index}", self.id)
    }

    fn finish(self, name: &str) -> String {
        let (low, high) = if self.bounds.low.x <= self.bounds.high.x {
            (self.bounds.low, self.bounds.high)
        } else {
            (Point::zero(), Point::zero())
        };
        let x = (low.x - MARGIN).floor();
        let y = (low.y - MARGIN).floor();
        let width = (high.x + MARGIN).ceil() - x;
        let height = (high.y + MARGIN).ceil() - y;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" \
             height=\"{h}\" viewBox=\"{x} {y} {w} {h}\" font-family=\"{FONT}\">\n",
            w = num(width),
            h = num(height),
            x = num(x),
            y = num(y),
        );
        if !name.is_empty() {
            let _ = writeln!(svg, "<title>{}</title>", escape(name));
        }
        svg.push_str("<defs>\n");
        for (i, (color, width, start)) in self.markers.iter().enumerate() {
            // The head grows with the line, less than proportionally, and is drawn in user
            // units so a thick edge does not get a huge head.
            let length = 9.0 + 2.0 * *width as f64;
            let half = 0.35 * length;
            let (l, h, full) = (num(length), num(half), num(2.0 * half));
            let points = if *start {
                format!("{l} 0 {l} {full} 0 {h}")
            } else {
                format!("0 0 {l} {h} 0 {full}")
            };
            let _ = writeln!(
                svg,
                "<marker id=\"{}-head{i}\" markerUnits=\"userSpaceOnUse\" markerWidth=\"{}\" \
                 markerHeight=\"{}\" refX=\"{}\" refY=\"{}\" orient=\"auto\">\
                 <polygon points=\"{points}\" fill=\"{color}\"/></marker>",
                self.id,
                num(length),
                num(2.0 * half),
                if *start { "0".to_owned() } else { num(length) },
                num(half),
            );
        }
        for clip in &self.clips {
            svg.push_str(clip);
        }
        svg.push_str("</defs>\n");
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            num(x),
            num(y),
            num(width),
            num(height)
        );
        svg.push_str(&self.body);
        svg.push_str(&self.labels);
        svg.push_str("</svg>\n");
        svg
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        _properties: Option<String>,
        clip: Option<ClipHandle>,
    ) {
        self.bounds.add(xy);
        self.bounds.add(Point::new(xy.x + size.x, xy.y + size.y));
        self.shape_center = Some(Point::new(xy.x + size.x / 2.0, xy.y + size.y / 2.0));
        let clip = clip.map_or(String::new(), |c| {
            format!(" clip-path=\"url(#{}-clip{c})\"", self.id)
        });
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"{}{} stroke-width=\"{}\"{clip}/>",
            num(xy.x),
            num(xy.y),
            num(size.x.max(0.0)),
            num(size.y.max(0.0)),
            look.rounded,
            paint_attribute("fill", look.fill_color),
            paint_attribute("stroke", Some(look.line_color)),
            look.line_width,
        );
    }

    fn draw_line(
        &mut self,
        start: Point,
        stop: Point,
        look: &StyleAttr,
        _properties: Option<String>,
    ) {
        self.bounds.add(start);
        self.bounds.add(stop);
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{} stroke-width=\"{}\"/>",
            num(start.x),
            num(start.y),
            num(stop.x),
            num(stop.y),
            paint_attribute("stroke", Some(look.line_color)),
            look.line_width,
        );
    }

    fn draw_circle(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        _properties: Option<String>,
    ) {
        let (rx, ry) = ((size.x / 2.0).max(0.0), (size.y / 2.0).max(0.0));
        self.bounds.add_box(xy, rx, ry);
        self.shape_center = Some(xy);
        let _ = writeln!(
            self.body,
            "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\"{}{} stroke-width=\"{}\"/>",
            num(xy.x),
            num(xy.y),
            num(rx),
            num(ry),
            paint_attribute("fill", look.fill_color),
            paint_attribute("stroke", Some(look.line_color)),
            look.line_width,
        );
    }

    /// Centred text, one `<tspan>` per line, the block's middle at `xy`.
    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return;
        }
        let node_label = self
            .shape_center
            .is_some_and(|c| (c.x - xy.x).abs() < 0.01 && (c.y - xy.y).abs() < 0.01);
        let font_size = if node_label {
            look.font_size
        } else {
            self.edge_fonts.drawn_size(look.font_size)
        };
        let size = font_size as f64;
        let leading = LEADING * size;
        let widest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let block = leading * lines.len() as f64;
        self.bounds
            .add_box(xy, CHAR_WIDTH / 2.0 * size * widest as f64, block / 2.0);
        // Baselines: the block centred on xy, each line's x-height centred on its slot.
        let first = xy.y - block / 2.0 + leading / 2.0 + 0.35 * size;
        let _ = write!(
            self.labels,
            "<text x=\"{x}\" y=\"{}\" font-size=\"{}\" text-anchor=\"middle\" fill=\"#000000\">",
            num(first),
            font_size,
            x = num(xy.x),
        );
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                self.labels,
                "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                num(xy.x),
                num(first + leading * i as f64),
                escape(line)
            );
        }
        self.labels.push_str("</text>\n");
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _properties: Option<String>,
        text: &str,
    ) {
        let [(start, exit), (entry_control, entry), rest @ ..] = path else {
            return;
        };
        for (a, b) in path {
            self.bounds.add(*a);
            self.bounds.add(*b);
        }
        let mut d = format!(
            "M {} {} C {} {}, {} {}, {} {}",
            num(start.x),
            num(start.y),
            num(exit.x),
            num(exit.y),
            num(entry_control.x),
            num(entry_control.y),
            num(entry.x),
            num(entry.y)
        );
        for (control, point) in rest {
            let _ = write!(
                d,
                " S {} {}, {} {}",
                num(control.x),
                num(control.y),
                num(point.x),
                num(point.y)
            );
        }
        let mut extra = String::new();
        if dashed {
            extra.push_str(" stroke-dasharray=\"5,5\"");
        }
        if head.0 {
            let _ = write!(extra, " marker-start=\"url(#{})\"", self.marker(look, true));
        }
        if head.1 {
            let _ = write!(extra, " marker-end=\"url(#{})\"", self.marker(look, false));
        }
        let _ = writeln!(
            self.body,
            "<path d=\"{d}\" fill=\"none\"{} stroke-width=\"{}\"{extra}/>",
            paint_attribute("stroke", Some(look.line_color)),
            look.line_width,
        );
        // layout-rs moves edge labels into nodes of their own, drawn with draw_text; a label
        // still here (none in 0.1.3) goes at the middle point.
        if !text.is_empty() {
            let middle = path[path.len() / 2].1;
            self.draw_text(middle, text, look);
        }
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded_px: usize) -> ClipHandle {
        let handle = self.clips.len();
        self.clips.push(format!(
            "<clipPath id=\"{}-clip{handle}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rounded_px}\"/></clipPath>\n",
            self.id,
            num(xy.x),
            num(xy.y),
            num(size.x.max(0.0)),
            num(size.y.max(0.0)),
        ));
        handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_become_svg_1_1_paint() {
        assert_eq!(
            paint(Color::fast("#f4a582")),
            Some(("#f4a582".into(), None))
        );
        assert_eq!(paint(Color::fast("red")), Some(("#ff0000".into(), None)));
        assert_eq!(paint(Color::transparent()), None);
        assert_eq!(
            paint(Color::new(0x1122_3380)),
            Some(("#112233".into(), Some(128.0 / 255.0)))
        );
        assert_eq!(paint_attribute("fill", None), " fill=\"none\"");
    }

    #[test]
    fn attributes_are_rewritten_for_layout_rs() {
        let mut graph = DotParser::new(
            r#"digraph { node [style="rounded,filled", width=2]; edge [style="bold,dotted"];
               a [penwidth=2.6, fontsize="10.2", style=bold]; a -> b [penwidth=0.4, style=bold]; }"#,
        )
        .process()
        .unwrap();
        normalise(&mut graph.list, &mut EdgeFonts::default());
        let lists: Vec<Vec<(String, String)>> = graph
            .list
            .list
            .iter()
            .map(|s| match s {
                ast::Stmt::Attribute(a) => a.list.list.clone(),
                ast::Stmt::Node(n) => n.list.list.clone(),
                ast::Stmt::Edge(e) => e.list.list.clone(),
                ast::Stmt::SubGraph(_) => unreachable!(),
            })
            .collect();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(lists[0], pairs(&[("style", "filled")]));
        assert_eq!(lists[1], pairs(&[("style", "dashed")]));
        assert_eq!(lists[2], pairs(&[("penwidth", "3"), ("fontsize", "10")]));
        assert_eq!(lists[3], pairs(&[("penwidth", "0")]));
    }
}

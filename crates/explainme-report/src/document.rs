//! Reports for people: one self-contained HTML page (inline PNG and SVG, inline styles,
//! print-friendly) or one CommonMark document, for a cohort's knowledge summary or for one
//! case's explanation.
//!
//! A report is built from the Explainer's own data and pictures drawn here: the heatmap over
//! the CT ([`crate::heatmap`]), the network and the surrogate tree from their DOT
//! ([`crate::dot_to_svg`]), ROC and calibration plots, thumbnails of similar cases. Text is
//! escaped; nothing is fetched, so a report opened years later in a hospital without
//! network shows the same thing.

use base64::Engine;
use explainme_concepts::short_layer;
use explainme_explain::narrative::item_words;
use explainme_explain::rules::ClassRule;
use explainme_explain::{CaseInput, Explainer, Explanation, KnowledgeSummary};
use explainme_imaging::{Grid, Image, Mask, Shape, Window};

use crate::drawing::escape;
use crate::heatmap::{Overlay, Zoom};
use crate::raster::Canvas;
use crate::{Result, calibration_svg, dot_to_svg, roc_curve, roc_svg};

/// HTML or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
}

impl Format {
    /// The IANA media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Markdown => "text/markdown; charset=utf-8",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
        }
    }
}

/// A similar case's picture for a case report.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub case_id: String,
    pub image: Image,
}

/// What a case report shows beside the explanation: its CT (Hounsfield units, any grid),
/// its lesion mask when known, and thumbnails of the similar cases that could be read.
#[derive(Debug, Clone)]
pub struct CaseImages<'a> {
    pub ct: &'a Image,
    pub lesion: Option<&'a Mask>,
    pub similar: Vec<Thumbnail>,
}

impl<'a> CaseImages<'a> {
    /// The pictures of `case`'s report: its CT and lesion mask, and a thumbnail of each of
    /// the explanation's similar cases whose image `image_of` can read (by case id).
    pub fn gather(
        case: &'a CaseInput,
        explanation: &Explanation,
        image_of: impl Fn(&str) -> Option<Image>,
    ) -> CaseImages<'a> {
        CaseImages {
            ct: &case.image,
            lesion: case.masks.get(explainme_explain::LESION_MASK),
            similar: explanation
                .similar
                .iter()
                .filter_map(|s| {
                    Some(Thumbnail {
                        case_id: s.case_id.clone(),
                        image: image_of(&s.case_id)?,
                    })
                })
                .collect(),
        }
    }
}

/// Markdown table cells: pipes and newlines would break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn data_uri(media: &str, bytes: &[u8]) -> String {
    format!(
        "data:{media};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A document under construction in either format: sections, paragraphs, tables, pictures.
struct Doc {
    format: Format,
    out: String,
}

impl Doc {
    fn new(format: Format, title: &str) -> Doc {
        let out = match format {
            Format::Html => format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
                 <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
                escape(title),
                escape(title)
            ),
            Format::Markdown => format!("# {title}\n\n"),
        };
        Doc { format, out }
    }

    fn section(&mut self, title: &str) {
        match self.format {
            Format::Html => self.out.push_str(&format!("<h2>{}</h2>\n", escape(title))),
            Format::Markdown => self.out.push_str(&format!("## {title}\n\n")),
        }
    }

    fn paragraph(&mut self, text: &str) {
        match self.format {
            Format::Html => self.out.push_str(&format!("<p>{}</p>\n", escape(text))),
            Format::Markdown => self.out.push_str(&format!("{text}\n\n")),
        }
    }

    fn warnings(&mut self, items: &[String]) {
        if items.is_empty() {
            return;
        }
        match self.format {
            Format::Html => {
                self.out
                    .push_str("<div class=\"flags\" role=\"alert\"><ul>\n");
                for item in items {
                    self.out.push_str(&format!("<li>{}</li>\n", escape(item)));
                }
                self.out.push_str("</ul></div>\n");
            }
            Format::Markdown => {
                for item in items {
                    self.out.push_str(&format!("> **Caution:** {item}\n>\n"));
                }
                self.out.push('\n');
            }
        }
    }

    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        if rows.is_empty() {
            self.paragraph("(none)");
            return;
        }
        match self.format {
            Format::Html => {
                self.out.push_str("<table>\n<thead><tr>");
                for h in header {
                    self.out.push_str(&format!("<th>{}</th>", escape(h)));
                }
                self.out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    self.out.push_str("<tr>");
                    for c in row {
                        self.out.push_str(&format!("<td>{}</td>", escape(c)));
                    }
                    self.out.push_str("</tr>\n");
                }
                self.out.push_str("</tbody>\n</table>\n");
            }
            Format::Markdown => {
                let head: Vec<String> = header.iter().map(|h| cell(h)).collect();
                self.out.push_str(&format!("| {} |\n", head.join(" | ")));
                self.out
                    .push_str(&format!("|{}\n", " --- |".repeat(header.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                    self.out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                self.out.push('\n');
            }
        }
    }

    /// An SVG drawing: inline in HTML, a data-URI image in Markdown.
    fn svg(&mut self, svg: &str, caption: &str) {
        match self.format {
            Format::Html => self.out.push_str(&format!(
                "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
                escape(caption)
            )),
            Format::Markdown => self.out.push_str(&format!(
                "![{caption}]({})\n\n",
                data_uri("image/svg+xml", svg.as_bytes())
            )),
        }
    }

    fn png(&mut self, png: &[u8], alt: &str, caption: &str) {
        let uri = data_uri("image/png", png);
        match self.format {
            Format::Html => self.out.push_str(&format!(
                "<figure><img src=\"{uri}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                escape(alt),
                escape(caption)
            )),
            Format::Markdown => self
                .out
                .push_str(&format!("![{alt}]({uri})\n\n*{caption}*\n\n")),
        }
    }

    /// A row of small pictures with captions.
    fn gallery(&mut self, items: &[(Vec<u8>, String, String)]) {
        match self.format {
            Format::Html => {
                self.out.push_str("<div class=\"gallery\">\n");
                for (png, alt, caption) in items {
                    self.out.push_str(&format!(
                        "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
                        data_uri("image/png", png),
                        escape(alt),
                        escape(caption)
                    ));
                }
                self.out.push_str("</div>\n");
            }
            Format::Markdown => {
                for (png, alt, caption) in items {
                    self.out.push_str(&format!(
                        "![{alt}]({}) {caption}\n\n",
                        data_uri("image/png", png)
                    ));
                }
            }
        }
    }

    /// The network drawn from its BIF, then its arcs with their strength.
    fn network(&mut self, bif: &str, arcs: &[explainme_explain::network::Arc]) -> Result<()> {
        let net = explainme_bayes::read_bif(bif).map_err(|e| crate::Error::InvalidParameter {
            name: "network",
            reason: format!("its BIF does not read back: {e}"),
        })?;
        self.svg(
            &dot_to_svg(&explainme_bayes::write_dot(&net))?,
            "The learned network",
        );
        let rows: Vec<Vec<String>> = arcs
            .iter()
            .map(|a| {
                vec![
                    a.from.replace('_', " "),
                    a.to.replace('_', " "),
                    format!("{:.1}", a.strength),
                ]
            })
            .collect();
        self.table(&["from", "to", "strength (score gain)"], &rows);
        Ok(())
    }

    /// A tree drawn, then one row per leaf rule.
    fn tree(
        &mut self,
        tree: &explainme_tree::Tree,
        rules: &[explainme_tree::Rule],
        caption: &str,
    ) -> Result<()> {
        self.svg(&dot_to_svg(&explainme_tree::dot(tree))?, caption);
        let rows: Vec<Vec<String>> = rules
            .iter()
            .map(|r| {
                vec![
                    r.conditions.join(" AND "),
                    r.verdict.clone(),
                    r.cases.to_string(),
                    pct(r.confidence),
                ]
            })
            .collect();
        self.table(
            &["conditions", "verdict", "training cases", "confidence"],
            &rows,
        );
        Ok(())
    }

    fn finish(mut self) -> String {
        if self.format == Format::Html {
            self.out.push_str(
                "<footer>Generated by explainme from the fitted explainer's own figures.</footer>\n</body>\n</html>\n",
            );
        }
        self.out
    }
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em;border-bottom:2px solid #444}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:0.6em 0;font-size:0.92em}th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:left;vertical-align:top}\
th{background:#f2f2f2}figure{margin:0.8em 0;display:inline-block;vertical-align:top}figcaption{font-size:0.85em;color:#555}\
svg{max-width:100%;height:auto}.flags{border-left:4px solid #c60;background:#fff4e5;padding:0.2em 1em;margin:1em 0}\
.gallery figure{margin-right:1em}.gallery img{width:128px;height:128px;image-rendering:pixelated}\
footer{margin-top:3em;font-size:0.8em;color:#777}\
@media print{body{max-width:none;margin:0}h2{break-after:avoid}table,figure{break-inside:avoid}}";

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

fn rule_rows(rules: &[ClassRule]) -> Vec<Vec<String>> {
    rules
        .iter()
        .map(|r| {
            vec![
                r.antecedent
                    .iter()
                    .map(|a| item_words(a))
                    .collect::<Vec<_>>()
                    .join(" AND "),
                item_words(&r.consequent),
                pct(r.support),
                pct(r.confidence),
                format!("{:.2}", r.lift),
                format!("{:.1e}", r.fisher_p_adjusted),
            ]
        })
        .collect()
}

const RULE_HEADER: [&str; 6] = ["if", "then", "support", "confidence", "lift", "adjusted p"];

/// The cohort's knowledge summary as a report.
pub fn cohort_report(
    ex: &Explainer,
    summary: &KnowledgeSummary,
    title: &str,
    format: Format,
) -> Result<String> {
    let mut doc = Doc::new(format, title);
    doc.paragraph(&format!(
        "{} cases ({} held out for evaluation); model SHA-256 {}…; fitted with seed {}.",
        summary.cases,
        summary.held_out_cases,
        &ex.model_sha256[..12.min(ex.model_sha256.len())],
        ex.params.seed
    ));
    for paragraph in summary.narrative.split("\n\n") {
        doc.paragraph(paragraph);
    }

    doc.section("How good the CNN is (held-out cases)");
    let p = &summary.performance;
    doc.table(
        &["measure", "value"],
        &[
            vec!["cases".into(), p.cases.to_string()],
            vec![
                "AUC (95% bootstrap CI)".into(),
                match p.auc_interval {
                    Some((lo, hi)) => format!("{} ({lo:.3}–{hi:.3})", opt(p.auc)),
                    None => opt(p.auc),
                },
            ],
            vec!["sensitivity at p ≥ 0.5".into(), opt(p.sensitivity)],
            vec!["specificity at p ≥ 0.5".into(), opt(p.specificity)],
            vec![
                "Brier score raw / calibrated".into(),
                format!("{:.3} / {:.3}", p.brier_raw, p.brier_calibrated),
            ],
            vec![
                format!(
                    "{} conformal sets: coverage / single class",
                    pct(p.coverage_target)
                ),
                format!(
                    "{} / {}",
                    pct(p.conformal_coverage),
                    pct(p.conformal_singletons)
                ),
            ],
        ],
    );
    let scores: Vec<f64> = ex
        .held_out
        .iter()
        .map(|c| f64::from(c.probability))
        .collect();
    let truth: Vec<bool> = ex.held_out.iter().map(|c| c.malignant).collect();
    let curve = roc_curve(&scores, &truth);
    if !curve.is_empty() {
        doc.svg(
            &roc_svg(&curve, p.auc, "ROC, held-out cases")?,
            "ROC curve of the CNN against pathology on the held-out cases",
        );
    }
    let bins: Vec<crate::CalibrationBin> = p
        .calibration
        .iter()
        .map(|b| crate::CalibrationBin {
            mean_predicted: b.mean_predicted,
            observed: b.observed,
            cases: b.cases,
        })
        .collect();
    if !bins.is_empty() {
        doc.svg(
            &calibration_svg(&bins, "Calibration, held-out cases")?,
            "Reliability diagram: observed share malignant against the CNN's probability",
        );
    }
    let subtype_rows: Vec<Vec<String>> = p
        .by_subtype
        .iter()
        .map(|(s, e)| {
            vec![
                s.replace('_', " "),
                e.cases.to_string(),
                e.errors.to_string(),
                pct(e.error_rate),
            ]
        })
        .collect();
    doc.table(&["subtype", "cases", "errors", "error rate"], &subtype_rows);

    for (title, target) in [
        ("What predicts malignancy", "malignant=yes"),
        ("What predicts a benign lesion", "malignant=no"),
        (
            "What the CNN's malignant verdict follows",
            "cnn_malignant=yes",
        ),
        ("What the CNN's benign verdict follows", "cnn_malignant=no"),
    ] {
        doc.section(title);
        doc.table(
            &RULE_HEADER,
            &rule_rows(summary.rules.get(target).map_or(&[][..], Vec::as_slice)),
        );
    }
    doc.section("Where the CNN errs");
    doc.table(&RULE_HEADER, &rule_rows(&summary.errors));

    doc.section("Bayesian network (truth → findings → CNN verdict)");
    doc.network(&ex.network.bif, &summary.arcs)?;
    let blanket_rows: Vec<Vec<String>> = summary
        .markov_blankets
        .iter()
        .map(|(v, b)| vec![v.replace('_', " "), b.join(", ").replace('_', " ")])
        .collect();
    doc.table(&["variable", "Markov blanket"], &blanket_rows);

    doc.section("Surrogate tree (mimics the CNN)");
    doc.paragraph(&format!(
        "{} leaves, depth {}; agreement with the CNN {} on held-out cases ({} on training cases).",
        summary.tree.leaves,
        summary.tree.depth,
        pct(summary.tree.fidelity),
        pct(summary.tree.training_fidelity)
    ));
    doc.tree(
        &ex.surrogate.cnn.tree,
        &ex.surrogate.cnn.rules,
        "The surrogate tree",
    )?;

    doc.section("Concepts ↔ filters");
    let concept_rows: Vec<Vec<String>> = summary
        .concepts
        .iter()
        .map(|c| {
            vec![
                item_words(&c.concept),
                short_layer(&c.layer),
                format!("{:.3}", c.probe_auc),
                format!("{:.1e}", c.p_adjusted),
                c.best_channel.as_ref().map_or("-".into(), |b| {
                    let auc = b
                        .label_auc
                        .map_or(String::new(), |auc| format!(", AUC {auc:.2}"));
                    format!(
                        "{} #{} (IoU {:.3}{auc})",
                        short_layer(&b.layer),
                        b.channel,
                        b.iou
                    )
                }),
                c.tcav
                    .map_or("-".into(), |(s, p)| format!("{s:.2} (p {p:.3})")),
            ]
        })
        .collect();
    doc.table(
        &[
            "concept",
            "probe layer",
            "probe AUC",
            "adjusted p",
            "best-overlapping channel (IoU, AUC of its response)",
            "TCAV",
        ],
        &concept_rows,
    );

    doc.section("Candidate new knowledge");
    doc.paragraph(&format!(
        "Strong (lift ≥ 1.2), significant (adjusted p < 0.01) malignancy rules absent from the {} known associations supplied.",
        summary.known_associations
    ));
    let candidates: Vec<ClassRule> = summary.candidates.iter().map(|c| c.rule.clone()).collect();
    doc.table(&RULE_HEADER, &rule_rows(&candidates));
    if !summary.contradictions.is_empty() {
        doc.section("Mined rules that contradict the known list");
        let contra: Vec<ClassRule> = summary
            .contradictions
            .iter()
            .map(|c| c.rule.clone())
            .collect();
        doc.table(&RULE_HEADER, &rule_rows(&contra));
    }
    Ok(doc.finish())
}

/// Knowledge mined from a table alone ([`explainme_explain::tabular`]) as a report.
pub fn table_report(
    k: &explainme_explain::tabular::TableKnowledge,
    title: &str,
    format: Format,
) -> Result<String> {
    let mut doc = Doc::new(format, title);
    doc.paragraph(&format!(
        "{} rows; target {}; columns: {}.",
        k.rows,
        item_words(&k.target),
        k.columns.join(", ")
    ));
    doc.paragraph(&k.narrative);
    for (state, rules) in &k.rules {
        doc.section(&format!("What goes with {}", item_words(state)));
        doc.table(&RULE_HEADER, &rule_rows(rules));
    }
    doc.section("Bayesian network");
    doc.network(&k.network.bif, &k.network.arcs)?;
    doc.section("Decision tree");
    doc.paragraph(&format!(
        "Held-out accuracy {} on {} rows (majority guess {}).",
        pct(k.tree_accuracy),
        k.held_out_rows,
        pct(k.majority_accuracy)
    ));
    doc.tree(&k.tree, &k.tree_rules, "The decision tree")?;
    doc.section("Candidate new knowledge");
    let candidates: Vec<ClassRule> = k.candidates.iter().map(|c| c.rule.clone()).collect();
    doc.table(&RULE_HEADER, &rule_rows(&candidates));
    Ok(doc.finish())
}

/// A thumbnail PNG of a CT slice (the middle one of a volume) in `window`, 2× scaled.
pub fn thumbnail(image: &Image, window: Window) -> Result<Vec<u8>> {
    let shape = image.shape();
    let dims = shape.as_slice();
    let (h, w) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let slice = if dims.len() == 3 { dims[0] / 2 } else { 0 };
    let scale = (128 / h.max(w).max(1)).clamp(1, 8);
    let mut canvas = Canvas::new((w * scale) as u32, (h * scale) as u32, [0, 0, 0]);
    let voxels = image.voxels();
    for y in 0..h {
        for x in 0..w {
            let v = window.apply(voxels[slice * h * w + y * w + x]);
            let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            canvas.fill(
                (x * scale) as i64,
                (y * scale) as i64,
                scale as u32,
                scale as u32,
                [g, g, g],
            );
        }
    }
    canvas.encode_png()
}

/// One case's explanation as a report.
pub fn case_report(
    ex: &Explainer,
    e: &Explanation,
    images: &CaseImages<'_>,
    format: Format,
) -> Result<String> {
    let mut doc = Doc::new(
        format,
        &format!("Case {}: {} ({:.2})", e.case_ref, e.verdict, e.probability),
    );
    doc.warnings(
        &e.flags
            .iter()
            .map(|f| f.message.clone())
            .collect::<Vec<_>>(),
    );
    doc.paragraph(&e.narrative);

    let (low, high) = ex.card.preprocessing.channels()[0].intensity.bounds();
    let window = Window::new((low + high) / 2.0, high - low)?;
    if let Some(h) = &e.heatmap {
        doc.section("Where the CNN looked");
        let map = Grid::new(Shape::from_slice(&h.shape)?, h.values.clone())?;
        let overlay = Overlay::params()
            .window(window)
            .zoom(Zoom::AtLeast(384))
            .title(format!(
                "{}{}: {} {:.2}",
                h.method,
                if h.fast { " (fast)" } else { "" },
                e.verdict,
                e.probability
            ))
            .render(images.ct, &map, images.lesion)?;
        doc.png(
            &overlay.png,
            "heatmap over the CT",
            "Saliency over the CT; the contour is the lesion mask when known",
        );
        let f = &h.faithfulness;
        let mut rows = vec![
            vec![
                "deletion AUC (lower is better)".into(),
                format!(
                    "{:.3} (random map {:.3})",
                    f.deletion_auc, f.random_deletion_auc
                ),
            ],
            vec![
                "insertion AUC (higher is better)".into(),
                format!(
                    "{:.3} (random map {:.3})",
                    f.insertion_auc, f.random_insertion_auc
                ),
            ],
        ];
        if let (Some(blurred), Some(median)) = (f.blurred_score, f.median_score) {
            rows.push(vec![
                "probability of the blurred image (where insertion starts)".into(),
                format!("{blurred:.3}"),
            ]);
            rows.push(vec![
                "probability of the median-filled image (where deletion ends)".into(),
                format!("{median:.3}"),
            ]);
        }
        if let Some(mass) = f.lesion_mass {
            rows.push(vec!["saliency mass inside the lesion".into(), pct(mass)]);
        }
        if let Some(hit) = f.pointing_game {
            rows.push(vec![
                "peak inside the lesion".into(),
                if hit { "yes" } else { "no" }.into(),
            ]);
        }
        doc.table(&["faithfulness", "value"], &rows);
    }

    doc.section("The CNN's answer");
    doc.table(
        &["measure", "value"],
        &[
            vec![
                "probability of malignancy".into(),
                format!("{:.3}", e.probability),
            ],
            vec![
                "after calibration".into(),
                format!("{:.3}", e.calibrated_probability),
            ],
            vec![
                format!("{} conformal prediction set", pct(e.coverage)),
                format!("{{{}}}", e.prediction_set.join(", ")),
            ],
        ],
    );

    doc.section("What the CNN's layers read");
    let rows: Vec<Vec<String>> = e
        .concepts
        .iter()
        .map(|c| {
            vec![
                item_words(&c.concept),
                format!("{:.2}", c.probability),
                format!("{:.2}", c.probe_auc),
                c.labelled_state.clone().unwrap_or_else(|| "-".into()),
                c.detectors
                    .iter()
                    .take(3)
                    .map(|(ch, iou)| format!("#{ch} ({iou:.2})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    doc.table(
        &[
            "concept",
            "CNN's reading",
            "probe AUC",
            "clinician label",
            "detector channels (IoU)",
        ],
        &rows,
    );

    doc.section("The surrogate tree's reasoning");
    doc.paragraph(&format!(
        "IF {} THEN {} ({} of {} training cases; tree agrees with the CNN on {} of held-out cases){}",
        if e.tree.conditions.is_empty() { "(always)".to_owned() } else { e.tree.conditions.join(" AND ") },
        e.tree.verdict,
        pct(e.tree.leaf_confidence),
        e.tree.leaf_cases,
        pct(e.tree.fidelity),
        if e.tree.unknown.is_empty() { String::new() } else { format!("; unknown: {}", e.tree.unknown.join(", ")) }
    ));

    doc.section("Matching rules");
    let mut matched = e.rules_for_malignancy.clone();
    matched.extend(e.rules_for_verdict.iter().cloned());
    doc.table(&RULE_HEADER, &rule_rows(&matched));

    doc.section("Bayesian network");
    let n = &e.network;
    doc.paragraph(&format!(
        "P(malignant | findings, CNN verdict) = {:.3}; from the findings alone {:.3}; prior {:.3}.",
        n.p_malignant, n.p_malignant_from_findings, n.prior
    ));
    let rows: Vec<Vec<String>> = n
        .sensitivity
        .iter()
        .map(|f| {
            vec![
                item_words(&format!("{}={}", f.feature, f.state)),
                format!("{:+.3}", f.change),
            ]
        })
        .collect();
    doc.table(&["finding", "effect on P(malignant)"], &rows);
    if let Some((items, gbf)) = &n.explanation_of_verdict {
        doc.paragraph(&format!(
            "The findings that best explain the CNN's verdict in the network: {} (generalised Bayes factor {:.2}).",
            items.iter().map(|i| item_words(i)).collect::<Vec<_>>().join(", "),
            gbf
        ));
    }
    if let Some(c) = &e.counterfactual {
        doc.section("What would change the answer");
        let rows: Vec<Vec<String>> = c
            .changes
            .iter()
            .map(|(f, from, to)| {
                vec![
                    f.replace('_', " "),
                    from.clone().unwrap_or_else(|| "unknown".into()),
                    to.clone(),
                ]
            })
            .collect();
        doc.table(&["finding", "now", "instead"], &rows);
        doc.paragraph(&format!(
            "Network P(malignant) after the change: {:.3} ({}); surrogate tree: {} ({}).",
            c.p_malignant_after,
            if c.network_flips {
                "flips"
            } else {
                "same side"
            },
            c.tree_verdict_after,
            if c.tree_flips { "flips" } else { "same" }
        ));
    }

    doc.section("Similar cohort cases (CNN feature space)");
    let mut gallery = Vec::new();
    for s in &e.similar {
        let caption = format!(
            "{}: {}{}, CNN {:.2}, distance {:.1}",
            s.case_id,
            if s.malignant { "malignant" } else { "benign" },
            s.subtype
                .as_deref()
                .map_or(String::new(), |t| format!(" ({})", t.replace('_', " "))),
            s.probability,
            s.distance
        );
        if let Some(t) = images.similar.iter().find(|t| t.case_id == s.case_id) {
            gallery.push((
                thumbnail(&t.image, window)?,
                format!("similar case {}", s.case_id),
                caption,
            ));
        } else {
            doc.paragraph(&caption);
        }
    }
    doc.gallery(&gallery);
    Ok(doc.finish())
}

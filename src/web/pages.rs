//! The workbench's HTML, written with maud: every interpolated value is escaped, and the
//! markup is checked when the binary compiles. One function per page; the pieces a page
//! repeats (tables of rules, the layout) are functions too. Pages work from the keyboard:
//! a skip link, labelled controls, native forms and buttons.

use std::fmt::Write as _;

use axum::http::StatusCode;
use explainme_explain::Explanation;
use explainme_report::number::short;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::case::CaseView;
use super::forms::{self, LabelDraft};
use crate::pb;

/// A path segment, percent-encoded beyond RFC 3986's unreserved characters.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

pub fn explainer_href(explainer: &str) -> String {
    format!("/explainers/{}", segment(explainer))
}

pub fn summary_href(explainer: &str) -> String {
    format!("{}/summary", explainer_href(explainer))
}

pub fn case_href(explainer: &str, case_id: &str) -> String {
    format!("{}/cases/{}", explainer_href(explainer), segment(case_id))
}

fn thumbnail_href(cohort: &str, case_id: &str) -> String {
    format!(
        "/cohorts/{}/cases/{}/thumbnail.png",
        segment(cohort),
        segment(case_id)
    )
}

fn pct(v: f64) -> String {
    format!("{:.0}%", 100.0 * v)
}

/// A recorded fill's words; a name this build does not know is shown as it is.
fn fill_words(name: &str) -> &str {
    explainme_saliency::Fill::from_name(name).map_or(name, |fill| fill.words())
}

fn fixed(v: f64) -> String {
    format!("{v:.3}")
}

/// What the pages need of the reader's session.
#[derive(Debug, Clone)]
pub struct Reader {
    /// Posted back by every form (see `session.rs`).
    pub csrf: String,
    /// Who signed in, with `--auth`.
    pub name: Option<String>,
}

/// The hidden field that proves a form came from this page.
fn csrf_input(reader: &Reader) -> Markup {
    html! { input type="hidden" name=(super::session::CSRF_FIELD) value=(reader.csrf); }
}

/// The frame of every page: title, stylesheet, skip link, navigation (with who is signed
/// in), and the script.
fn layout(
    title: &str,
    crumbs: &[(String, String)],
    reader: Option<&Reader>,
    main: Markup,
) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — explainme workbench" }
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/assets/workbench.css";
                script src="/assets/workbench.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Breadcrumb" {
                        a href="/" { "explainme workbench" }
                        @for (href, text) in crumbs {
                            " › " a href=(href) { (text) }
                        }
                    }
                    @if let Some(reader) = reader {
                        @if let Some(name) = &reader.name {
                            form.signed-in method="post" action="/logout" {
                                "Signed in as " strong #signed-in { (name) } " "
                                (csrf_input(reader))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (main) }
            }
        }
    }
    .into_string()
}

/// An error page: the status and the message of the refused call.
pub fn error(code: StatusCode, message: &str) -> String {
    let title = code.canonical_reason().unwrap_or("Error");
    layout(
        title,
        &[],
        None,
        html! {
            h1 { (code.as_u16()) " " (title) }
            p.error role="alert" #error { (message) }
            p { a href="javascript:history.back()" { "Back" } " · " a href="/" { "All explainers" } }
        },
    )
}

/// `/`: explainers by cohort, and the registered models.
pub fn index(
    reader: &Reader,
    explainers: &[pb::ExplainerInfo],
    models: &[pb::ModelInfo],
) -> String {
    let model_name = |id: &str| {
        models
            .iter()
            .find(|m| m.model_id == id)
            .map_or(id.to_owned(), |m| m.name.clone())
    };
    layout(
        "Explainers",
        &[],
        Some(reader),
        html! {
            h1 { "Cohorts and explainers" }
            @if explainers.is_empty() {
                p { "No explainer is fitted yet: register a model, upload a cohort and fit one (FitExplainer, or "
                    code { "explainme demo" } ")." }
            } @else {
                table #explainers {
                    caption { "Fitted explainers, newest version of each cohort and model first" }
                    thead { tr { th scope="col" { "cohort" } th scope="col" { "model" } th scope="col" { "version" }
                        th scope="col" { "cases (fit / held out)" } th scope="col" { "fitted" } th scope="col" { "open" } } }
                    tbody {
                        @for e in explainers {
                            tr {
                                td { (e.cohort) }
                                td { (model_name(&e.model_id)) }
                                td.number { (e.version) }
                                td.number { (e.fit_cases) " / " (e.held_out_cases) }
                                td { (e.created_at) }
                                td { a href=(explainer_href(&e.explainer_id)) { "cases" } " · "
                                     a href=(summary_href(&e.explainer_id)) { "knowledge summary" } }
                            }
                        }
                    }
                }
            }
            h2 { "Models" }
            ul {
                @for m in models {
                    li { (m.name) " — " code { (m.model_id) } " (" (m.onnx_bytes) " bytes, SHA-256 "
                        (m.onnx_sha256.get(..12).unwrap_or(&m.onnx_sha256)) "…)" }
                }
            }
        },
    )
}

/// A case's labels as `feature=value` text.
fn label_text(label: &pb::Label) -> String {
    match &label.value {
        Some(pb::label::Value::State(state)) => state.clone(),
        Some(pb::label::Value::Number(number)) => number.to_string(),
        None => String::new(),
    }
}

/// `/explainers/{id}`: the cohort's cases, a page at a time.
pub fn cohort(reader: &Reader, info: &pb::ExplainerInfo, cases: &pb::ListCasesResponse) -> String {
    let explainer = &info.explainer_id;
    layout(
        &format!("Cohort {}", info.cohort),
        &[(explainer_href(explainer), info.cohort.clone())],
        Some(reader),
        html! {
            h1 { "Cohort " (info.cohort) }
            p { "Explainer version " (info.version) ", fitted on " (info.fit_cases) " cases with "
                (info.held_out_cases) " held out. " a href=(summary_href(explainer)) { "Knowledge summary" } }
            table #cases {
                caption { "Cases" }
                thead { tr { th scope="col" { "case" } th scope="col" { "labels" } th scope="col" { "masks" } th scope="col" { "updated" } } }
                tbody {
                    @for c in &cases.cases {
                        tr {
                            td { a href=(case_href(explainer, &c.case_id)) { (c.case_id) } }
                            td { @for (i, l) in c.labels.iter().enumerate() {
                                @if i > 0 { ", " } (l.feature) "=" (label_text(l)) } }
                            td { (c.mask_concepts.join(", ")) }
                            td { (c.updated_at) }
                        }
                    }
                }
            }
            @if !cases.next_page_token.is_empty() {
                p { a rel="next" href={ (explainer_href(explainer)) "?page=" (segment(&cases.next_page_token)) } { "Next cases →" } }
            }
        },
    )
}

/// What the case page confirms after a form was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    LabelsSaved,
    FeedbackSaved,
}

/// How a part of the explanation is named to the reader.
fn part_title(part: pb::ExplanationPart) -> &'static str {
    match part {
        pb::ExplanationPart::Verdict => "Verdict and uncertainty",
        pb::ExplanationPart::Heatmap => "Heatmap",
        pb::ExplanationPart::Concepts => "Concepts in the activations",
        pb::ExplanationPart::Rule => "Rule (surrogate tree and associations)",
        pb::ExplanationPart::Network => "Bayesian network",
        pb::ExplanationPart::Counterfactual => "Counterfactual",
        pb::ExplanationPart::SimilarCases => "Similar cases",
        pb::ExplanationPart::Narrative => "Narrative",
        pb::ExplanationPart::Unspecified => "unspecified",
    }
}

impl CaseView {
    /// The case page; `draft` is a refused label form to show again with its message.
    pub fn render(
        &self,
        reader: &Reader,
        notice: Option<Notice>,
        draft: Option<&LabelDraft>,
    ) -> String {
        let e = &self.explanation;
        let explainer = &self.info.explainer_id;
        let title = format!("Case {}", self.case.case_id);
        layout(
            &title,
            &[
                (explainer_href(explainer), self.info.cohort.clone()),
                (
                    case_href(explainer, &self.case.case_id),
                    self.case.case_id.clone(),
                ),
            ],
            Some(reader),
            html! {
                h1 { (title) ": " span #verdict { (e.verdict) } " (p = " (short(e.probability)) ")" }
                @if let Some(notice) = notice {
                    p.notice role="status" #notice { (match notice {
                        Notice::LabelsSaved => "Labels saved as a new version; the explanation below uses them.",
                        Notice::FeedbackSaved => "Feedback saved. Thank you: it counts in the knowledge summary.",
                    }) }
                }
                @if !e.flags.is_empty() {
                    ul.flags #flags aria-label="Warnings" {
                        @for f in &e.flags { li { strong { (f.kind) } ": " (f.message) } }
                    }
                }
                div.columns {
                    (self.viewer_section())
                    (explanation_section(e, &self.info.cohort, explainer))
                }
                (self.labels_section(reader, draft))
                (self.feedback_section(reader))
            },
        )
    }

    fn viewer_section(&self) -> Markup {
        let e = &self.explanation;
        let depth = self.viewer.shape[0];
        html! {
            section #viewer aria-labelledby="viewer-title" {
                h2 #viewer-title { "CT and heatmap" }
                script type="application/json" #viewer-data { (PreEscaped(self.viewer.json())) }
                div.stack {
                    canvas #ct role="img" aria-label="CT image in the chosen window" {}
                    canvas #overlay role="img" aria-label="Heatmap over the CT" {}
                }
                div.controls {
                    label for="window-centre" { "Window centre (HU) " output #window-centre-value {} }
                    input #window-centre type="range" min="-1000" max="1000" step="5" value=(self.viewer.window[0]);
                    label for="window-width" { "Window width (HU) " output #window-width-value {} }
                    input #window-width type="range" min="5" max="2500" step="5" value=(self.viewer.window[1]);
                    div.presets role="group" aria-label="Window presets" {
                        button type="button" data-centre="40" data-width="400" { "Abdomen" }
                        button type="button" data-centre="400" data-width="1800" { "Bone" }
                        button type="button" data-centre="-600" data-width="1500" { "Lung" }
                    }
                    label for="opacity" { "Heatmap opacity " output #opacity-value {} }
                    input #opacity type="range" min="0" max="100" step="1" value="50";
                    @if depth > 1 {
                        label for="slice" { "Slice " output #slice-value {} " of " (depth) }
                        input #slice type="range" min="0" max=(depth - 1) step="1" value="0";
                    }
                    @if let Some(h) = &self.viewer.heatmap {
                        label for="threshold" { "Hide saliency below " output #threshold-value {} }
                        input #threshold type="range" min="0" max="95" step="5" value=(format!("{:.0}", 100.0 * h.threshold));
                        div.colourbar {
                            span { (short(h.low)) }
                            canvas #colourbar width="256" height="12" role="img"
                                aria-label="Colour bar of the heatmap: grey is not painted" {}
                            span { (short(h.high)) }
                        }
                    }
                }
                @if let Some(h) = &e.heatmap {
                    p #faithfulness {
                        (h.method) @if h.fast { " (fast)" }
                        @if let Some(fill) = &h.fill { ", patches filled with " (fill_words(fill)) }
                        ", " (h.forward_passes) " forward passes. Deletion AUC "
                        (fixed(h.faithfulness.deletion_auc)) " against " (fixed(h.faithfulness.random_deletion_auc))
                        " for a random map (lower is more faithful); insertion AUC " (fixed(h.faithfulness.insertion_auc))
                        " against " (fixed(h.faithfulness.random_insertion_auc)) "."
                        @if let Some(blurred) = h.faithfulness.blurred_score { " The blurred image, where insertion starts, scores " (fixed(blurred)) "." }
                        @if let Some(mass) = h.faithfulness.lesion_mass { " " (pct(mass)) " of the saliency lies in the lesion." }
                    }
                } @else {
                    p { "No heatmap: the model's input could not be explained by saliency." }
                }
            }
        }
    }

    /// Current labels by feature, as the form shows them (a refused draft wins).
    fn shown_value(&self, draft: Option<&LabelDraft>, feature: &str) -> String {
        if let Some(draft) = draft {
            return draft.values.get(feature).cloned().unwrap_or_default();
        }
        self.case
            .labels
            .iter()
            .find(|l| l.feature == feature)
            .map(label_text)
            .unwrap_or_default()
    }

    fn labels_section(&self, reader: &Reader, draft: Option<&LabelDraft>) -> Markup {
        // The fragment: the answer (saved, or refused with its message) opens at this form.
        let action = format!(
            "{}/labels#labels",
            case_href(&self.info.explainer_id, &self.case.case_id)
        );
        let truth = |f: &&pb::Feature| f.role == i32::from(pb::FeatureRole::Truth);
        let observed: Vec<&pb::Feature> =
            self.schema.features.iter().filter(|f| !truth(f)).collect();
        let pathology: Vec<&pb::Feature> = self.schema.features.iter().filter(truth).collect();
        let error = draft.and_then(|d| d.error.as_deref());
        html! {
            section #labels aria-labelledby="labels-title" {
                h2 #labels-title { "Labels" }
                p { "Schema " code { (self.case.schema) } ". Each save keeps the earlier versions." }
                @if let Some(message) = error {
                    p.error role="alert" #labels-error { (message) }
                }
                form method="post" action=(action) #labels-form aria-describedby=[error.map(|_| "labels-error")] {
                    fieldset {
                        legend { "Imaging features" }
                        @for f in &observed { (self.label_input(f, draft)) }
                    }
                    @if !pathology.is_empty() {
                        fieldset {
                            legend { "Pathology (truth)" }
                            @for f in &pathology { (self.label_input(f, draft)) }
                        }
                    }
                    (reader_inputs(reader, draft.map(|d| d.author.as_str())))
                    label for="labels-note" { "Why (optional)" }
                    input #labels-note name="note" type="text" value=(draft.map_or("", |d| d.note.as_str()));
                    button type="submit" { "Save labels" }
                }
                details #label-history {
                    summary { "History (" (self.history.versions.len()) " versions)" }
                    table {
                        thead { tr { th scope="col" { "version" } th scope="col" { "by" } th scope="col" { "when" } th scope="col" { "note" } th scope="col" { "labels" } } }
                        tbody {
                            @for v in self.history.versions.iter().rev() {
                                tr {
                                    td.number { (v.version) } td { (v.author) } td { (v.created_at) } td { (v.note) }
                                    td { @for (i, l) in v.labels.iter().enumerate() { @if i > 0 { ", " } (l.feature) "=" (label_text(l)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn label_input(&self, feature: &pb::Feature, draft: Option<&LabelDraft>) -> Markup {
        let id = format!("label-{}", feature.name);
        let name = forms::label_field(&feature.name);
        let value = self.shown_value(draft, &feature.name);
        let states: Option<&[String]> = match &feature.kind {
            Some(pb::feature::Kind::Categorical(c)) => Some(&c.states),
            Some(pb::feature::Kind::Ordinal(o)) => Some(&o.states),
            _ => None,
        };
        html! {
            div.field {
                label for=(id) { (feature.name) }
                @if let Some(states) = states {
                    select #(id) name=(name) {
                        option value="" selected[value.is_empty()] { "— not labelled —" }
                        @for s in states { option value=(s) selected[*s == value] { (s) } }
                        @if !value.is_empty() && !states.contains(&value) {
                            option value=(value) selected { (value) " (not a state of the schema)" }
                        }
                    }
                } @else {
                    input #(id) name=(name) type="text" inputmode="decimal" value=(value)
                        placeholder="not labelled";
                }
                @if !feature.description.is_empty() { small { (feature.description) } }
            }
        }
    }

    fn feedback_section(&self, reader: &Reader) -> Markup {
        let action = format!(
            "{}/feedback#feedback",
            case_href(&self.info.explainer_id, &self.case.case_id)
        );
        let features: Vec<&pb::Feature> = self
            .schema
            .features
            .iter()
            .filter(|f| f.role != i32::from(pb::FeatureRole::Truth))
            .collect();
        html! {
            section #feedback aria-labelledby="feedback-title" {
                h2 #feedback-title { "Your judgement of this explanation" }
                form method="post" action=(action) #feedback-form {
                    @for (part, name) in forms::parts() {
                        fieldset.part {
                            legend { (part_title(part)) }
                            @for (_, value) in forms::JUDGEMENTS {
                                @let id = format!("judge-{name}-{value}");
                                input type="radio" #(id) name={ "judge." (name) } value=(value);
                                label for=(id) { (value) }
                            }
                            label for={ "comment-" (name) } { "comment" }
                            input type="text" #{ "comment-" (name) } name={ "comment." (name) };
                        }
                    }
                    fieldset {
                        legend { "Which features determined your reading?" }
                        @for f in &features {
                            @let id = format!("determining-{}", f.name);
                            span.check { input type="checkbox" #(id) name="determining" value=(f.name);
                                label for=(id) { (f.name) } }
                        }
                    }
                    (reader_inputs(reader, None))
                    button type="submit" { "Send feedback" }
                }
            }
        }
    }
}

/// What every stored form carries: the CSRF token, and the reader's name — typed (the script
/// remembers it) or, when signed in, the signed-in name, which the server uses instead.
fn reader_inputs(reader: &Reader, author: Option<&str>) -> Markup {
    html! {
        (csrf_input(reader))
        @if let Some(name) = &reader.name {
            p.author { "Stored as " strong { (name) } "." }
        } @else {
            label { "Your name " input name="author" type="text" required autocomplete="name" value=[author]; }
        }
    }
}

/// `/login`: the sign-in form, with what was wrong with the last try.
pub fn login(reader: &Reader, error: Option<&str>) -> String {
    layout(
        "Sign in",
        &[],
        None,
        html! {
            h1 { "Sign in" }
            p { "Paste the token you were given (" code { "explainme token add" } "). The server checks it; this browser keeps only a session cookie." }
            @if let Some(message) = error { p.error role="alert" #login-error { (message) } }
            form method="post" action="/login" #login-form {
                (csrf_input(reader))
                label for="token" { "Token " }
                input #token name="token" type="password" required autocomplete="off";
                button type="submit" { "Sign in" }
            }
        },
    )
}

fn explanation_section(e: &Explanation, cohort: &str, explainer: &str) -> Markup {
    let network = &e.network;
    html! {
        section #explanation aria-labelledby="explanation-title" {
            h2 #explanation-title { "Explanation" }
            h3 { "Verdict and uncertainty" }
            dl {
                dt { "CNN probability of malignancy" } dd #probability { (short(e.probability)) }
                dt { "Calibrated" } dd { (fixed(e.calibrated_probability)) }
                dt { (pct(e.coverage)) " prediction set" } dd #prediction-set { "{" (e.prediction_set.join(", ")) "}" }
                dt { "Distance to the nearest cohort case" } dd { (fixed(e.nearest_distance)) }
            }
            h3 { "Rule" }
            p #tree-rule {
                "The surrogate tree (fidelity " (pct(e.tree.fidelity)) ") reads: if "
                @if e.tree.conditions.is_empty() { "anything" } @else { (e.tree.conditions.join(" and ")) }
                " then " strong { (e.tree.verdict) } " (" (e.tree.leaf_cases) " fitting cases, "
                (pct(e.tree.leaf_confidence)) " with this verdict); it "
                @if e.tree.agrees_with_model { "agrees" } @else { "disagrees" } " with the CNN."
            }
            @let rules: Vec<_> = e.rules_for_verdict.iter().chain(&e.rules_for_malignancy).collect();
            @if !rules.is_empty() {
                table #case-rules {
                    caption { "Association rules this case satisfies" }
                    thead { tr { th scope="col" { "if" } th scope="col" { "then" } th scope="col" { "confidence" } th scope="col" { "lift" } th scope="col" { "support" } } }
                    tbody { @for r in rules { tr { td { (r.antecedent.join(" and ")) } td { (r.consequent) }
                        td.number { (pct(r.confidence)) } td.number { (format!("{:.2}", r.lift)) } td.number { (pct(r.support)) } } } }
                }
            }
            h3 { "Concepts in the activations" }
            table #concepts {
                thead { tr { th scope="col" { "concept" } th scope="col" { "probability" } th scope="col" { "probe AUC" } th scope="col" { "clinician's label" } } }
                tbody { @for c in &e.concepts { tr {
                    td { (c.concept) } td.number { (fixed(c.probability)) } td.number { (fixed(c.probe_auc)) }
                    td { (c.labelled_state.as_deref().unwrap_or("—"))
                        @match c.agrees_with_label { Some(true) => " ✓", Some(false) => " ✗ disagrees", None => "" } }
                } } }
            }
            h3 { "Bayesian network" }
            p #network {
                "P(malignant) " (fixed(network.prior)) " before any finding; " (fixed(network.p_malignant_from_findings))
                " from the findings; " strong { (fixed(network.p_malignant)) } " with the CNN's verdict."
            }
            @if !network.sensitivity.is_empty() {
                table #sensitivities {
                    caption { "What each finding changes in P(malignant)" }
                    thead { tr { th scope="col" { "finding" } th scope="col" { "change" } } }
                    tbody { @for s in &network.sensitivity { tr { td { (s.feature) "=" (s.state) }
                        td.number { (format!("{:+.1} pp", 100.0 * s.change)) } } } }
                }
            }
            @if let Some((findings, factor)) = &network.explanation_of_verdict {
                p { "Best explanation of the CNN's verdict: " (findings.join(", ")) " (Bayes factor " (format!("{factor:.2}")) ")." }
            }
            h3 { "Counterfactual" }
            @match &e.counterfactual {
                Some(c) => p #counterfactual {
                    "Changing " @for (i, (feature, from, to)) in c.changes.iter().enumerate() {
                        @if i > 0 { " and " } (feature) " from " (from.as_deref().unwrap_or("unlabelled")) " to " (to) }
                    " gives P(malignant) " (fixed(c.p_malignant_after))
                    @if c.network_flips { " (the network flips)" } "; the tree then says " (c.tree_verdict_after)
                    @if c.tree_flips { " (it flips)" } "."
                },
                None => p #counterfactual { "No change of one or two findings flips the answer." },
            }
            h3 { "Similar cases" }
            ul.similar #similar-cases {
                @for s in &e.similar {
                    li { a href=(case_href(explainer, &s.case_id)) {
                        img src=(thumbnail_href(cohort, &s.case_id)) alt={ "CT of " (s.case_id) } width="96" height="96";
                        span { (s.case_id) br; @if s.malignant { "malignant" } @else { "benign" }
                            @if let Some(t) = &s.subtype { " (" (t) ")" } br; "CNN " (short(s.probability)) " · d " (format!("{:.2}", s.distance)) }
                    } }
                }
            }
            h3 { "Narrative" }
            div #narrative { @for paragraph in e.narrative.split("\n\n") { p { (paragraph) } } }
        }
    }
}

fn rules_table(id: &str, caption: &str, rules: &[pb::MatchedRule]) -> Markup {
    html! {
        table #(id) {
            caption { (caption) }
            thead { tr { th scope="col" { "if" } th scope="col" { "then" } th scope="col" { "support" } th scope="col" { "confidence" } th scope="col" { "lift" } } }
            tbody { @for r in rules { tr { td { (r.antecedent.join(" and ")) } td { (r.consequent) }
                td.number { (pct(r.support)) } td.number { (pct(r.confidence)) } td.number { (format!("{:.2}", r.lift)) } } } }
        }
    }
}

/// `/explainers/{id}/summary`.
pub fn summary(
    reader: &Reader,
    explainer: &str,
    s: &pb::KnowledgeSummary,
    known: &pb::KnownAssociations,
) -> String {
    let cohort = s
        .explainer
        .as_ref()
        .map_or(String::new(), |e| e.cohort.clone());
    let performance = s.performance.unwrap_or_default();
    let feedback = s.feedback.clone().unwrap_or_default();
    let candidates_action = format!("{}/candidates", explainer_href(explainer));
    layout(
        &format!("Knowledge summary of {cohort}"),
        &[
            (explainer_href(explainer), cohort.clone()),
            (summary_href(explainer), "knowledge summary".to_owned()),
        ],
        Some(reader),
        html! {
            h1 { "What the CNN learnt on " (cohort) }
            dl #performance {
                dt { "AUC (held-out, 95% CI)" } dd { (fixed(performance.auc)) " (" (fixed(performance.auc_ci_low)) "–" (fixed(performance.auc_ci_high)) ")" }
                dt { "Sensitivity / specificity" } dd { (pct(performance.sensitivity)) " / " (pct(performance.specificity)) }
                dt { "Held-out cases" } dd { (performance.cases) }
                dt { "Surrogate tree" } dd { "fidelity " (pct(s.surrogate_fidelity)) ", depth " (s.surrogate_depth) ", " (s.surrogate_leaves) " leaves" }
            }
            div #summary-narrative { @for paragraph in s.narrative.split("\n\n") { p { (paragraph) } } }

            section #clinician-feedback aria-labelledby="feedback-title" {
                h2 #feedback-title { "What clinicians said" }
                p { span #feedback-entries { (feedback.entries) } " judgements. "
                    @match feedback.concordance {
                        Some(c) => { "Concordance of the features readers name with those the CNN relies on (mean Jaccard): " strong #concordance { (fixed(c)) } "." }
                        None => "No reader has named determining features yet.",
                    }
                    " " a href={ (explainer_href(explainer)) "/feedback.csv" } download { "Download the feedback (CSV)" } }
                table #agreement {
                    caption { "Agreement per explanation part" }
                    thead { tr { th scope="col" { "part" } th scope="col" { "agree" } th scope="col" { "disagree" } th scope="col" { "unclear" } th scope="col" { "agreement" } } }
                    tbody { @for p in &feedback.parts {
                        @let part = pb::ExplanationPart::try_from(p.part).unwrap_or_default();
                        tr #{ "agreement-" (forms::part_name(part)) } {
                            td { (part_title(part)) } td.number { (p.agree) } td.number { (p.disagree) } td.number { (p.unclear) }
                            td.number { (p.agreement.map_or("—".to_owned(), pct)) }
                        }
                    } }
                }
                table #reliance {
                    caption { "Features readers name, and where the CNN relies on them" }
                    thead { tr { th scope="col" { "feature" } th scope="col" { "named by readers" } th scope="col" { "tree split" } th scope="col" { "TCAV" } th scope="col" { "network" } } }
                    tbody { @for f in &feedback.features { tr {
                        td { (f.feature) } td.number { (f.named) }
                        td { @if f.by_tree { "yes" } } td { @if f.by_tcav { "yes" } } td { @if f.by_network { "yes" } }
                    } } }
                }
            }

            section #candidates aria-labelledby="candidates-title" {
                h2 #candidates-title { "Candidate new knowledge" }
                p { "Strong, significant malignancy rules that the known associations do not state. Accepting one adds it to the known list; rejecting it keeps it out of later candidates' review." }
                @if s.candidates.is_empty() {
                    p #no-candidates { "No candidate: every strong rule is already known." }
                }
                @for (i, r) in s.candidates.iter().enumerate() {
                    form.candidate method="post" action=(candidates_action) #{ "candidate-" (i) } {
                        p { "If " strong { (r.antecedent.join(" and ")) } " then " strong { (r.consequent) }
                            " — confidence " (pct(r.confidence)) ", lift " (format!("{:.2}", r.lift)) ", support " (pct(r.support)) }
                        @for item in &r.antecedent { input type="hidden" name="antecedent" value=(item); }
                        input type="hidden" name="consequent" value=(r.consequent);
                        (reader_inputs(reader, None))
                        button type="submit" name="decision" value="accept" { "Accept" }
                        button type="submit" name="decision" value="reject" { "Reject" }
                    }
                }
            }

            section #known aria-labelledby="known-title" {
                h2 #known-title { "Known associations" }
                @if known.text.trim().is_empty() { p { "None accepted yet." } }
                @else { pre #known-text { (known.text) } }
                @if !known.decisions.is_empty() {
                    details { summary { (known.decisions.len()) " decisions" }
                        ul { @for d in &known.decisions { li { (d.created_at) " " (d.author) ": "
                            @if d.accepted { "accepted " } @else { "rejected " } code { (d.line) } } } }
                    }
                }
            }

            section aria-labelledby="rules-title" {
                h2 #rules-title { "Rules" }
                (rules_table("summary-rules", "The strongest association rules", &s.rules))
                @if !s.error_rules.is_empty() { (rules_table("error-rules", "Where the CNN errs", &s.error_rules)) }
            }

            section #pictures aria-labelledby="pictures-title" {
                h2 #pictures-title { "The cohort report, with its pictures" }
                iframe #cohort-report src={ (explainer_href(explainer)) "/report" } title="Cohort report: ROC, calibration, network and tables" loading="lazy" {}
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_what_a_path_segment_cannot_hold() {
        assert_eq!(
            case_href("ex-1", "case 7/x"),
            "/explainers/ex-1/cases/case%207%2Fx"
        );
    }

    #[test]
    fn error_pages_escape_the_message() {
        let page = error(StatusCode::NOT_FOUND, "no case `<b>`");
        assert!(page.contains("no case `&lt;b&gt;`"), "{page}");
        assert!(page.contains("404 Not Found"));
    }
}

//! Form fields → gRPC requests. The pages' forms post plain `application/x-www-form-urlencoded`
//! fields (they work without the script, from the keyboard); this module names those fields
//! and reads them back. Nothing is validated here that the RPC validates itself: an unknown
//! state goes through to SetCaseLabels and comes back as its INVALID_ARGUMENT message.

use std::collections::BTreeMap;

use tonic::Status;

use crate::pb;

/// The label form's field of feature `feature`: its state, or its number as typed.
pub fn label_field(feature: &str) -> String {
    format!("label.{feature}")
}

/// A case's label form as sent: kept to refill the form when SetCaseLabels refuses it.
#[derive(Debug, Clone, Default)]
pub struct LabelDraft {
    /// Feature → what was entered (empty: not labelled).
    pub values: BTreeMap<String, String>,
    pub author: String,
    pub note: String,
    /// The refusal's message, when refused.
    pub error: Option<String>,
}

impl LabelDraft {
    pub fn read(fields: &[(String, String)]) -> LabelDraft {
        let mut draft = LabelDraft::default();
        for (name, value) in fields {
            match name.as_str() {
                "author" => draft.author = value.trim().to_owned(),
                "note" => draft.note = value.trim().to_owned(),
                _ => {
                    if let Some(feature) = name.strip_prefix("label.") {
                        draft
                            .values
                            .insert(feature.to_owned(), value.trim().to_owned());
                    }
                }
            }
        }
        draft
    }

    /// The SetCaseLabels request: numbers for numeric features, states for the others.
    /// A feature left empty is not labelled.
    pub fn request(
        &self,
        schema: &pb::FeatureSchema,
        cohort: &str,
        case_id: &str,
    ) -> Result<pb::SetCaseLabelsRequest, Status> {
        let numeric: Vec<&str> = schema
            .features
            .iter()
            .filter(|f| matches!(f.kind, Some(pb::feature::Kind::Numeric(_))))
            .map(|f| f.name.as_str())
            .collect();
        let mut labels = Vec::new();
        for (feature, text) in self.values.iter().filter(|(_, text)| !text.is_empty()) {
            let value = if numeric.contains(&feature.as_str()) {
                let number = text.parse::<f64>().map_err(|_| {
                    Status::invalid_argument(format!(
                        "labels: {feature} = `{text}` is not a number"
                    ))
                })?;
                pb::label::Value::Number(number)
            } else {
                pb::label::Value::State(text.clone())
            };
            labels.push(pb::Label {
                feature: feature.clone(),
                value: Some(value),
            });
        }
        Ok(pb::SetCaseLabelsRequest {
            cohort: cohort.to_owned(),
            case_id: case_id.to_owned(),
            labels,
            author: self.author.clone(),
            note: self.note.clone(),
        })
    }

    pub fn refused(mut self, message: &str) -> LabelDraft {
        self.error = Some(message.to_owned());
        self
    }
}

/// The first value of field `name`, trimmed; empty when absent.
fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Every value of field `name` (checkboxes, hidden lists), in form order.
fn all(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The parts a clinician can judge, with the short name their form fields carry.
pub fn parts() -> impl Iterator<Item = (pb::ExplanationPart, String)> {
    (1..)
        .map_while(|n| pb::ExplanationPart::try_from(n).ok())
        .map(|part| (part, part_name(part)))
}

/// `EXPLANATION_PART_SIMILAR_CASES` → `similar_cases`.
pub fn part_name(part: pb::ExplanationPart) -> String {
    let name = part.as_str_name();
    name.strip_prefix("EXPLANATION_PART_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// The judgements offered per part, with their form values.
pub const JUDGEMENTS: [(pb::Judgement, &str); 3] = [
    (pb::Judgement::Agree, "agree"),
    (pb::Judgement::Disagree, "disagree"),
    (pb::Judgement::Unclear, "unclear"),
];

/// The feedback form: `judge.<part>` = agree / disagree / unclear (absent or empty: not
/// judged), `comment.<part>`, `determining` once per feature that determined the reader's own
/// reading, and `author`. One SubmitFeedback per judged part, all naming the same features.
pub fn feedback_requests(
    fields: &[(String, String)],
    explainer: &str,
    case_id: &str,
) -> Result<Vec<pb::SubmitFeedbackRequest>, Status> {
    let value = |name: &str| field(fields, name);
    let determining = all(fields, "determining");
    let mut requests = Vec::new();
    for (part, name) in parts() {
        let said = value(&format!("judge.{name}"));
        if said.is_empty() {
            continue;
        }
        let judgement = JUDGEMENTS
            .iter()
            .find(|(_, value)| *value == said)
            .map(|(judgement, _)| *judgement)
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "feedback: `{said}` is not a judgement (agree, disagree or unclear)"
                ))
            })?;
        requests.push(pb::SubmitFeedbackRequest {
            explainer_id: explainer.to_owned(),
            case_id: case_id.to_owned(),
            part: part.into(),
            judgement: judgement.into(),
            comment: value(&format!("comment.{name}")),
            determining_features: determining.clone(),
            author: value("author"),
        });
    }
    if requests.is_empty() {
        return Err(Status::invalid_argument(
            "feedback: judge at least one part of the explanation",
        ));
    }
    Ok(requests)
}

/// A candidate's accept / reject form: `antecedent` once per finding, `consequent`,
/// `decision` = accept or reject, `author`.
pub fn judgement(
    fields: &[(String, String)],
    explainer: &str,
) -> Result<pb::JudgeCandidateRequest, Status> {
    let value = |name: &str| field(fields, name);
    let accept = match value("decision").as_str() {
        "accept" => true,
        "reject" => false,
        other => {
            return Err(Status::invalid_argument(format!(
                "decision: `{other}` is neither accept nor reject"
            )));
        }
    };
    Ok(pb::JudgeCandidateRequest {
        explainer_id: explainer.to_owned(),
        antecedent: all(fields, "antecedent"),
        consequent: value("consequent"),
        accept,
        author: value("author"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_part_has_a_short_name() {
        let names: Vec<String> = parts().map(|(_, name)| name).collect();
        assert_eq!(names.first().map(String::as_str), Some("verdict"));
        assert!(names.contains(&"similar_cases".to_owned()), "{names:?}");
        assert_eq!(names.len(), 8);
    }

    #[test]
    fn only_judged_parts_become_feedback() {
        let sent = fields(&[
            ("author", " dr who "),
            ("judge.verdict", "agree"),
            ("judge.heatmap", ""),
            ("judge.rule", "disagree"),
            ("comment.rule", "margin matters more"),
            ("determining", "margin"),
            ("determining", "enhancement"),
        ]);
        let requests = feedback_requests(&sent, "ex", "case_1").unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].part, i32::from(pb::ExplanationPart::Rule));
        assert_eq!(requests[1].judgement, i32::from(pb::Judgement::Disagree));
        assert_eq!(requests[1].comment, "margin matters more");
        assert_eq!(requests[0].determining_features, ["margin", "enhancement"]);
        assert_eq!(requests[0].author, "dr who");
        let none = feedback_requests(&fields(&[("author", "a")]), "ex", "c").unwrap_err();
        assert!(none.message().contains("at least one part"), "{none:?}");
        let odd = feedback_requests(&fields(&[("judge.verdict", "maybe")]), "ex", "c");
        assert!(odd.unwrap_err().message().contains("`maybe`"));
    }

    #[test]
    fn numbers_are_read_for_numeric_features_only() {
        let schema = pb::FeatureSchema {
            features: vec![
                pb::Feature {
                    name: "size_cm".into(),
                    kind: Some(pb::feature::Kind::Numeric(pb::NumericFeature {
                        cut_points: vec![4.0],
                    })),
                    ..Default::default()
                },
                pb::Feature {
                    name: "margin".into(),
                    kind: Some(pb::feature::Kind::Categorical(pb::CategoricalFeature {
                        states: vec!["smooth".into()],
                    })),
                    ..Default::default()
                },
            ],
        };
        let draft = LabelDraft::read(&fields(&[
            ("label.size_cm", "3.5"),
            ("label.margin", "lobulated"),
            ("label.fat", ""),
            ("author", "r1"),
        ]));
        let request = draft.request(&schema, "c", "k").unwrap();
        assert_eq!(request.labels.len(), 2, "an empty field is not labelled");
        assert_eq!(request.labels[1].value, Some(pb::label::Value::Number(3.5)));
        assert_eq!(
            request.labels[0].value,
            Some(pb::label::Value::State("lobulated".into())),
            "an unknown state goes through for SetCaseLabels to refuse"
        );
        let bad = LabelDraft::read(&fields(&[("label.size_cm", "big")]));
        let refused = bad.request(&schema, "c", "k").unwrap_err();
        assert_eq!(refused.message(), "labels: size_cm = `big` is not a number");
    }
}

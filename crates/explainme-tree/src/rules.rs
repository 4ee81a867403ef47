//! Each leaf's path as a rule in clinical words.
//!
//! Along a path, repeated splits on one column narrow one interval ("2 ≤ size < 4.1 cm", not
//! "size ≥ 2 cm AND size < 4.1 cm"), and the one-hot columns of one feature merge into one
//! statement ("enhancement is neither hypo nor moderate"). Conditions keep the order in
//! which the path first meets them, root first. The conclusion says how sure the leaf is:
//! "→ malignant (CNN says so in 96% of 312 cases)", counted on the training cases.

use serde::{Deserialize, Serialize};

use crate::matrix::{Rendering, words};
use crate::tree::Tree;

/// One leaf as a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The leaf's index in [`Tree::nodes`].
    pub leaf: usize,
    /// The conditions in words, joined by AND.
    pub conditions: Vec<String>,
    /// The leaf's verdict: its class name.
    pub verdict: String,
    pub positive: bool,
    /// Training cases in the leaf.
    pub cases: usize,
    /// Share of those cases in the verdict's class.
    pub confidence: f64,
    /// The whole rule on one line.
    pub text: String,
}

/// What a path says about one column: `low ≤ value < high`.
#[derive(Debug, Clone, Copy)]
struct Interval {
    column: usize,
    low: Option<f64>,
    high: Option<f64>,
}

/// Thresholds are already the roundest number in their gap (see
/// [`crate::readable_threshold`]), so the shortest exact form is also the readable one.
fn format_number(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else {
        value.to_string()
    }
}

fn join_or(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., tail] => format!("{} {last} {tail}", init.join(", ")),
    }
}

/// A two-state feature's state as words: `exophytic` / `not exophytic` for yes/no,
/// `necrosis present` for absent/present, else `margin is infiltrative`.
fn state_words(label: &str, state: &str, other: &str) -> String {
    match (state, other) {
        ("yes", "no") => label.to_owned(),
        ("no", "yes") => format!("not {label}"),
        ("present" | "absent", "absent" | "present") => format!("{label} {state}"),
        _ => format!("{label} is {}", words(state)),
    }
}

impl Tree {
    /// One rule per leaf, left to right.
    pub fn rules(&self) -> Vec<Rule> {
        self.leaves()
            .into_iter()
            .map(|leaf| {
                let conditions = self.conditions(leaf);
                let node = &self.nodes[leaf];
                let positive = node.verdict();
                let confidence = if positive {
                    node.share()
                } else {
                    1.0 - node.share()
                };
                let verdict = self.classes.name(positive).to_owned();
                let when = if conditions.is_empty() {
                    "every case".to_owned()
                } else {
                    conditions.join(" AND ")
                };
                let text = format!("{when} → {verdict} ({})", self.support(leaf));
                Rule {
                    leaf,
                    conditions,
                    verdict,
                    positive,
                    cases: node.cases,
                    confidence,
                    text,
                }
            })
            .collect()
    }

    /// `CNN says so in 96% of 312 cases` for a leaf.
    pub(crate) fn support(&self, leaf: usize) -> String {
        let node = &self.nodes[leaf];
        let share = if node.verdict() {
            node.share()
        } else {
            1.0 - node.share()
        };
        format!(
            "{} says so in {:.0}% of {} cases",
            self.classes.source,
            100.0 * share,
            node.cases
        )
    }

    /// The merged conditions on the path to `node` (an index into [`Tree::nodes`]; panics
    /// past the end, like slice indexing), in words.
    pub fn conditions(&self, node: usize) -> Vec<String> {
        let parents = self.parents();
        let mut path = Vec::new();
        let mut at = node;
        while let Some((parent, above)) = parents[at] {
            path.push((parent, above));
            at = parent;
        }
        path.reverse();
        let mut intervals: Vec<Interval> = Vec::new();
        for (step, above) in path {
            let Some(split) = &self.nodes[step].split else {
                continue;
            };
            let position = intervals.iter().position(|i| i.column == split.column);
            let interval = match position {
                Some(p) => &mut intervals[p],
                None => {
                    intervals.push(Interval {
                        column: split.column,
                        low: None,
                        high: None,
                    });
                    let last = intervals.len() - 1;
                    &mut intervals[last]
                }
            };
            if above {
                interval.low = Some(
                    interval
                        .low
                        .map_or(split.threshold, |l| l.max(split.threshold)),
                );
            } else {
                interval.high = Some(
                    interval
                        .high
                        .map_or(split.threshold, |h| h.min(split.threshold)),
                );
            }
        }
        self.render(&intervals)
    }

    /// The words for one split's branch (`above` or below), as the indented text shows it.
    pub(crate) fn branch_words(&self, split_node: usize, above: bool) -> String {
        let Some(split) = &self.nodes[split_node].split else {
            return String::new();
        };
        let (low, high) = if above {
            (Some(split.threshold), None)
        } else {
            (None, Some(split.threshold))
        };
        self.render(&[Interval {
            column: split.column,
            low,
            high,
        }])
        .join(" AND ")
    }

    fn render(&self, intervals: &[Interval]) -> Vec<String> {
        let mut out = Vec::new();
        // One-hot columns of one feature merge: the feature's first interval speaks for all.
        let mut done: Vec<&str> = Vec::new();
        for interval in intervals {
            match &self.columns[interval.column].rendering {
                Rendering::Number { label, unit } => {
                    let unit = unit.as_deref().map_or(String::new(), |u| format!(" {u}"));
                    out.push(match (interval.low, interval.high) {
                        (Some(low), Some(high)) => format!(
                            "{} ≤ {label} < {}{unit}",
                            format_number(low),
                            format_number(high)
                        ),
                        (Some(low), None) => format!("{label} ≥ {}{unit}", format_number(low)),
                        (None, Some(high)) => format!("{label} < {}{unit}", format_number(high)),
                        (None, None) => continue,
                    });
                }
                Rendering::Ordinal { feature, states } => {
                    let from = interval.low.map_or(0.0, f64::ceil).max(0.0) as usize;
                    let to = interval.high.map_or(states.len() as f64, f64::ceil) as usize;
                    let chosen: Vec<String> = states
                        .get(from..to.min(states.len()))
                        .unwrap_or_default()
                        .iter()
                        .map(|s| words(s))
                        .collect();
                    out.push(format!("{} is {}", words(feature), join_or(&chosen, "or")));
                }
                Rendering::Indicator {
                    feature,
                    state,
                    otherwise: Some(other),
                } => {
                    let on = interval.low.is_some();
                    let (said, unsaid) = if on { (state, other) } else { (other, state) };
                    out.push(state_words(&words(feature), said, unsaid));
                }
                Rendering::Indicator {
                    feature,
                    otherwise: None,
                    ..
                } => {
                    if done.contains(&feature.as_str()) {
                        continue;
                    }
                    done.push(feature);
                    out.push(self.one_hot_words(feature, intervals));
                }
            }
        }
        out
    }

    /// "colour is blue", "colour is not red", "colour is neither red nor green".
    fn one_hot_words(&self, feature: &str, intervals: &[Interval]) -> String {
        let mut excluded = Vec::new();
        for interval in intervals {
            if let Rendering::Indicator {
                feature: f, state, ..
            } = &self.columns[interval.column].rendering
                && f == feature
            {
                if interval.low.is_some() {
                    return format!("{} is {}", words(feature), words(state));
                }
                excluded.push(words(state));
            }
        }
        match excluded.as_slice() {
            [one] => format!("{} is not {one}", words(feature)),
            [a, b] => format!("{} is neither {a} nor {b}", words(feature)),
            _ => format!(
                "{} is none of {}",
                words(feature),
                join_or(&excluded, "and")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::matrix::Column;
    use crate::tree::{Classes, Node, Split, Tree};

    use super::*;

    fn one_hot(feature: &str, state: &str) -> Column {
        Column {
            name: format!("{feature}={state}"),
            rendering: Rendering::Indicator {
                feature: feature.into(),
                state: state.into(),
                otherwise: None,
            },
        }
    }

    /// A chain of splits, each sending `cases` cases on to the next node along `path`
    /// (`true` = above), the other side a leaf; the final node is a malignant leaf.
    fn chain(columns: Vec<Column>, steps: &[(usize, f64, bool)]) -> Tree {
        let mut nodes = Vec::new();
        for (depth, &(column, threshold, above)) in steps.iter().enumerate() {
            let here = nodes.len();
            nodes.push(Node {
                cases: 100,
                positive: 50,
                depth,
                split: None,
            });
            nodes.push(Node {
                cases: 20,
                positive: 2,
                depth: depth + 1,
                split: None,
            });
            let (next, side) = (here + 2, here + 1);
            let (below, above) = if above { (side, next) } else { (next, side) };
            nodes[here].split = Some(Split {
                column,
                threshold,
                below,
                above,
            });
        }
        nodes.push(Node {
            cases: 312,
            positive: 300,
            depth: steps.len(),
            split: None,
        });
        Tree {
            columns,
            classes: Classes::new("benign", "malignant", "CNN"),
            nodes,
        }
    }

    fn check(tree: &Tree, expect: &str) {
        let last = tree.nodes.len() - 1;
        let rule = tree
            .rules()
            .into_iter()
            .find(|r| r.leaf == last)
            .expect("the chain's last leaf");
        assert_eq!(rule.text, expect);
    }

    #[test]
    fn repeated_thresholds_merge_into_one_interval() {
        let size = Column::number("size_cm", "size", Some("cm"));
        let fat = Column {
            name: "macroscopic_fat=present".into(),
            rendering: Rendering::Indicator {
                feature: "macroscopic_fat".into(),
                state: "present".into(),
                otherwise: Some("absent".into()),
            },
        };
        check(
            &chain(
                vec![size.clone(), fat.clone()],
                &[
                    (0, 2.0, true),
                    (1, 1.0, false),
                    (0, 4.1, false),
                    (0, 3.0, true),
                ],
            ),
            "3 ≤ size < 4.1 cm AND macroscopic fat absent → malignant \
             (CNN says so in 96% of 312 cases)",
        );
        check(
            &chain(vec![size, fat], &[(0, 4.0, true), (1, 1.0, false)]),
            "size ≥ 4 cm AND macroscopic fat absent → malignant (CNN says so in 96% of 312 cases)",
        );
    }

    #[test]
    fn one_hot_and_ordinal_columns_read_as_states() {
        let columns = vec![
            one_hot("enhancement", "hypo"),
            one_hot("enhancement", "moderate"),
            one_hot("enhancement", "avid"),
            Column {
                name: "cystic".into(),
                rendering: Rendering::Ordinal {
                    feature: "cystic".into(),
                    states: vec!["none".into(), "partial".into(), "predominant".into()],
                },
            },
            Column {
                name: "exophytic=yes".into(),
                rendering: Rendering::Indicator {
                    feature: "exophytic".into(),
                    state: "yes".into(),
                    otherwise: Some("no".into()),
                },
            },
        ];
        check(
            &chain(columns.clone(), &[(2, 1.0, true)]),
            "enhancement is avid → malignant (CNN says so in 96% of 312 cases)",
        );
        check(
            &chain(columns.clone(), &[(2, 1.0, false)]),
            "enhancement is not avid → malignant (CNN says so in 96% of 312 cases)",
        );
        check(
            &chain(
                columns.clone(),
                &[(0, 1.0, false), (3, 1.0, true), (1, 1.0, false)],
            ),
            "enhancement is neither hypo nor moderate AND cystic is partial or predominant \
             → malignant (CNN says so in 96% of 312 cases)",
        );
        check(
            &chain(columns.clone(), &[(3, 2.0, false), (4, 1.0, false)]),
            "cystic is none or partial AND not exophytic → malignant (CNN says so in 96% of 312 cases)",
        );
        check(
            &chain(columns, &[(3, 1.0, true), (3, 2.0, false), (4, 1.0, true)]),
            "cystic is partial AND exophytic → malignant (CNN says so in 96% of 312 cases)",
        );
    }

    #[test]
    fn a_single_leaf_speaks_for_every_case_and_scores_read_without_units() {
        let tree = chain(
            vec![Column::number("fat_probe", "fat probe score", None)],
            &[],
        );
        check(
            &tree,
            "every case → malignant (CNN says so in 96% of 312 cases)",
        );
        let tree = chain(
            vec![Column::number("fat_probe", "fat probe score", None)],
            &[(0, 0.316, false)],
        );
        check(
            &tree,
            "fat probe score < 0.316 → malignant (CNN says so in 96% of 312 cases)",
        );
        let side = &tree.rules()[0];
        assert_eq!(
            side.text,
            "fat probe score ≥ 0.316 → benign (CNN says so in 90% of 20 cases)"
        );
    }
}

//! Knowledge from a table alone, for cohorts without images (the real KiTS19 records): the
//! same class rules, Bayesian network and decision tree as the Explainer fits, over the
//! columns, for one target state, with the same ranking, candidate knowledge and narrative.

use std::collections::BTreeMap;

use explainme_cohort::{Feature, FeatureKind, FeatureSchema, Role, Table};
use explainme_rng::Random;
use explainme_tree::{Classes, FeatureMatrix, Rule, Tree};
use serde::{Deserialize, Serialize};

use crate::known::{KnownAssociation, Standing, standing};
use crate::narrative::{feature_words, item_words, items_words};
use crate::network::{self, LearnedNetwork, NetworkParams};
use crate::rules::{self, ClassRule, RuleParams};
use crate::summary::Candidate;
use crate::{Error, Result};

/// How the three learners are run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableKnowledgeParams {
    pub rules: RuleParams,
    pub network: NetworkParams,
    pub seed: u64,
    /// Share of rows held out to measure the tree (default 0.3).
    pub held_out: f64,
    pub tree_max_depth: usize,
    pub tree_max_leaves: usize,
    pub tree_min_leaf: usize,
    /// Rules shown per target state (default 10).
    pub max_rules: usize,
}

impl Default for TableKnowledgeParams {
    fn default() -> Self {
        let explainer = crate::Explainer::params();
        TableKnowledgeParams {
            rules: RuleParams {
                min_support: 0.05,
                ..explainer.rules
            },
            network: explainer.network,
            seed: 0,
            held_out: 0.3,
            tree_max_depth: 3,
            tree_max_leaves: 8,
            tree_min_leaf: 5,
            max_rules: 10,
        }
    }
}

/// What the table says about its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableKnowledge {
    pub rows: usize,
    /// `column=state`.
    pub target: String,
    pub columns: Vec<String>,
    /// Top rules per target state, ranked by [`ClassRule::by_strength`].
    pub rules: BTreeMap<String, Vec<ClassRule>>,
    /// Every significant rule (what the CSV export holds).
    pub all_rules: Vec<ClassRule>,
    pub network: LearnedNetwork,
    pub tree: Tree,
    pub tree_rules: Vec<Rule>,
    /// Held-out accuracy of the tree against the target, beside always guessing the most
    /// common state.
    pub tree_accuracy: f64,
    pub majority_accuracy: f64,
    pub held_out_rows: usize,
    pub candidates: Vec<Candidate>,
    pub contradictions: Vec<Candidate>,
    pub known_associations: usize,
    pub narrative: String,
}

/// A cell the tree cannot leave empty in a two-state column reads as this state.
const MISSING: &str = "unknown";

impl TableKnowledgeParams {
    /// Fits rules, network and tree over every column of `table` (categorical cells; bin
    /// numbers first) for the target `column=state`.
    pub fn fit(
        &self,
        table: &Table,
        target: &str,
        known: &[KnownAssociation],
    ) -> Result<TableKnowledge> {
        let (column, positive) = target
            .split_once('=')
            .ok_or_else(|| Error::InvalidParameter {
                name: "target",
                problem: format!("`{target}` is not column=state"),
            })?;
        let index = table.column_index(column)?;
        let states: Vec<&str> = table
            .rows()
            .iter()
            .filter_map(|r| r[index].as_deref())
            .collect();
        if !states.contains(&positive) {
            return Err(Error::InvalidParameter {
                name: "target",
                problem: format!("no row has {column}={positive}"),
            });
        }
        let labelled: Vec<usize> = (0..table.len())
            .filter(|&r| table.rows()[r][index].is_some())
            .collect();
        let is_positive: Vec<bool> = labelled
            .iter()
            .map(|&r| table.rows()[r][index].as_deref() == Some(positive))
            .collect();
        let positives = is_positive.iter().filter(|&&p| p).count();
        if positives == 0 || positives == labelled.len() || labelled.len() < 20 {
            return Err(Error::InvalidInput(format!(
                "{} labelled rows, {positives} with {target}: the learners need at least 20 with both outcomes",
                labelled.len()
            )));
        }
        let others: Vec<String> = table
            .columns()
            .iter()
            .filter(|c| *c != column)
            .cloned()
            .collect();

        let outcome_states: Vec<String> = {
            let mut s: Vec<String> = states.iter().map(|s| s.to_string()).collect();
            s.sort();
            s.dedup();
            s
        };
        let outcomes: Vec<(&str, &str)> = outcome_states
            .iter()
            .map(|s| (column, s.as_str()))
            .collect();
        let all_rules = rules::class_rules(table, &others, &outcomes, &self.rules)?;
        let mut ranked: BTreeMap<String, Vec<ClassRule>> = BTreeMap::new();
        for rule in &all_rules {
            ranked
                .entry(rule.consequent.clone())
                .or_default()
                .push(rule.clone());
        }
        for list in ranked.values_mut() {
            list.sort_by(ClassRule::by_strength);
            list.truncate(self.max_rules);
        }

        let tiers = vec![vec![column.to_owned()], others.clone()];
        let (_, network) =
            network::learn(table, &tiers, &[column], &self.network, self.seed, "table")?;

        // The tree: every other column categorical, a missing cell its own state.
        let mut features = Vec::new();
        for (i, name) in table.columns().iter().enumerate() {
            if name == column {
                continue;
            }
            let mut seen: Vec<String> = labelled
                .iter()
                .map(|&r| {
                    table.rows()[r][i]
                        .clone()
                        .unwrap_or_else(|| MISSING.to_owned())
                })
                .collect();
            seen.sort();
            seen.dedup();
            features.push(Feature {
                name: name.clone(),
                kind: FeatureKind::Categorical { states: seen },
                role: Role::Feature,
                description: None,
            });
        }
        let schema = FeatureSchema { features };
        let keep: Vec<usize> = table
            .columns()
            .iter()
            .enumerate()
            .filter(|(_, c)| *c != column)
            .map(|(i, _)| i)
            .collect();
        let rows_of = |picked: &[usize]| -> Result<Table> {
            let rows = picked
                .iter()
                .map(|&p| {
                    let row = &table.rows()[labelled[p]];
                    keep.iter()
                        .map(|&i| Some(row[i].clone().unwrap_or_else(|| MISSING.to_owned())))
                        .collect()
                })
                .collect();
            Ok(Table::new(others.clone(), rows)?)
        };
        let mut order: Vec<usize> = (0..labelled.len()).collect();
        Random::new(self.seed, 11).shuffle(&mut order);
        let cut = ((labelled.len() as f64) * self.held_out).round() as usize;
        let (test, train) = order.split_at(cut.clamp(1, labelled.len() - 1));
        let budget = explainme_budget::MemoryBudget::default();
        let x_train = FeatureMatrix::from_table(&schema, &rows_of(train)?, budget)?;
        let x_test = FeatureMatrix::from_table(&schema, &rows_of(test)?, budget)?;
        let y = |rows: &[usize]| rows.iter().map(|&r| is_positive[r]).collect::<Vec<bool>>();
        let tree = Tree::params()
            .max_depth(self.tree_max_depth)
            .max_leaves(self.tree_max_leaves)
            .min_leaf(self.tree_min_leaf)
            .fit(
                &x_train,
                &y(train),
                Classes::new(&format!("not {positive}"), positive, "records"),
            )?;
        let y_test = y(test);
        let mut right = 0;
        for (k, &truth) in y_test.iter().enumerate() {
            let leaf = tree.leaf_of(x_test.row(k))?;
            right += usize::from(tree.nodes[leaf].verdict() == truth);
        }
        let tree_accuracy = right as f64 / y_test.len() as f64;
        let share = y_test.iter().filter(|&&t| t).count() as f64 / y_test.len() as f64;

        let mut candidates = Vec::new();
        let mut contradictions = Vec::new();
        let mut by_strength: Vec<&ClassRule> = all_rules.iter().collect();
        by_strength.sort_by(|a, b| ClassRule::by_strength(a, b));
        for rule in by_strength {
            match standing(rule, known) {
                Standing::New if rule.lift >= 1.2 && rule.fisher_p_adjusted < 0.01 => candidates
                    .push(Candidate {
                        rule: rule.clone(),
                        standing: Standing::New,
                    }),
                Standing::Contradicts => contradictions.push(Candidate {
                    rule: rule.clone(),
                    standing: Standing::Contradicts,
                }),
                _ => {}
            }
        }
        candidates.truncate(self.max_rules);
        let tree_rules = tree.rules();
        let mut knowledge = TableKnowledge {
            rows: table.len(),
            target: target.to_owned(),
            columns: others,
            rules: ranked,
            all_rules,
            network,
            tree,
            tree_rules,
            tree_accuracy,
            majority_accuracy: share.max(1.0 - share),
            held_out_rows: y_test.len(),
            candidates,
            contradictions,
            known_associations: known.len(),
            narrative: String::new(),
        };
        knowledge.narrative = narrative(&knowledge);
        Ok(knowledge)
    }
}

fn narrative(k: &TableKnowledge) -> String {
    let mut out = Vec::new();
    if k.rules.values().all(Vec::is_empty) {
        out.push(format!(
            "No rule about {} is significant (Benjamini–Hochberg adjusted Fisher p < 0.05) at this support and confidence.",
            k.target.split_once('=').map_or(k.target.as_str(), |(c, _)| c).replace('_', " ")
        ));
    }
    for (state, rules) in &k.rules {
        if let Some(r) = rules.first() {
            out.push(format!(
                "The strongest rule for {}: {} ({:.0}% of {} rows, lift {:.2}, adjusted p {:.1e}).",
                item_words(state),
                items_words(&r.antecedent),
                100.0 * r.confidence,
                r.antecedent_count,
                r.lift,
                r.fisher_p_adjusted
            ));
        }
    }
    let column = k
        .target
        .split_once('=')
        .map_or(k.target.as_str(), |(c, _)| c);
    if let Some(blanket) = k.network.markov_blankets.get(column) {
        out.push(format!(
            "In the Bayesian network, {} is screened off from the other columns by {}.",
            column.replace('_', " "),
            if blanket.is_empty() {
                "nothing: it stands alone".to_owned()
            } else {
                blanket
                    .iter()
                    .map(|b| feature_words(b))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ));
    }
    out.push(format!(
        "A decision tree of {} predicts {} with {:.0}% accuracy on {} held-out rows (always guessing the commoner outcome: {:.0}%).",
        match k.tree.leaves().len() {
            1 => "one leaf".to_owned(),
            n => format!("{n} leaves"),
        },
        item_words(&k.target),
        100.0 * k.tree_accuracy,
        k.held_out_rows,
        100.0 * k.majority_accuracy
    ));
    out.push(if k.candidates.is_empty() {
        format!(
            "No strong association outside the {} known ones was found.",
            k.known_associations
        )
    } else {
        format!(
            "{} strong association{} absent from the {} known ones.",
            k.candidates.len(),
            if k.candidates.len() == 1 {
                " is"
            } else {
                "s are"
            },
            k.known_associations
        )
    });
    out.join(" ")
}

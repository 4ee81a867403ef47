//! The Explainer's parts in the formats other tools read, in one table: a new format is one
//! entry, and the CLI (`demo`, `report`) and the Export RPC list the same ones.

use crate::explainer::Explainer;
use crate::rules::ClassRule;
use crate::summary::KnowledgeSummary;
use crate::{Error, Result};

/// One export format.
#[derive(Debug, Clone, Copy)]
pub struct Export {
    /// Its name (`bif`, `xmlbif`, `dot`, `rules-csv`, `tree-dot`, `tree-text`, `json`).
    pub name: &'static str,
    /// The file name the CLI writes and the RPC suggests.
    pub file_name: &'static str,
    /// The IANA media type.
    pub media_type: &'static str,
    /// What it holds, for `--help` and the proto docs.
    pub what: &'static str,
    pub render: fn(&Explainer, &KnowledgeSummary) -> Result<Vec<u8>>,
}

/// Every export.
pub const EXPORTS: &[Export] = &[
    Export {
        name: "bif",
        file_name: "network.bif",
        media_type: "text/plain; charset=utf-8",
        what: "the Bayesian network in BIF (pgmpy, bnlearn, GeNIe read it)",
        render: |ex, _| Ok(ex.network.bif.clone().into_bytes()),
    },
    Export {
        name: "xmlbif",
        file_name: "network.xmlbif",
        media_type: "application/xml",
        what: "the Bayesian network in XMLBIF 0.3 (Weka, pgmpy)",
        render: |ex, _| Ok(explainme_bayes::write_xmlbif(&ex.network()?).into_bytes()),
    },
    Export {
        name: "dot",
        file_name: "network.dot",
        media_type: "text/vnd.graphviz",
        what: "the Bayesian network as a Graphviz digraph",
        render: |ex, _| Ok(explainme_bayes::write_dot(&ex.network()?).into_bytes()),
    },
    Export {
        name: "rules-csv",
        file_name: "rules.csv",
        media_type: "text/csv; charset=utf-8",
        what: "every significant class rule, mlxtend's association_rules columns",
        render: |ex, _| rules_csv(ex.rules.all()),
    },
    Export {
        name: "tree-dot",
        file_name: "tree.dot",
        media_type: "text/vnd.graphviz",
        what: "the surrogate tree as a Graphviz digraph",
        render: |ex, _| Ok(explainme_tree::dot(&ex.surrogate.cnn.tree).into_bytes()),
    },
    Export {
        name: "tree-text",
        file_name: "tree.txt",
        media_type: "text/plain; charset=utf-8",
        what: "the surrogate tree as indented text",
        render: |ex, _| Ok(explainme_tree::text(&ex.surrogate.cnn.tree).into_bytes()),
    },
    Export {
        name: "json",
        file_name: "knowledge.json",
        media_type: "application/json",
        what: "the knowledge summary as JSON",
        render: |_, summary| {
            serde_json::to_vec_pretty(summary).map_err(|e| Error::InvalidInput(e.to_string()))
        },
    },
];

/// The export called `name`.
pub fn export(name: &str) -> Result<&'static Export> {
    EXPORTS
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::InvalidParameter {
            name: "format",
            problem: format!(
                "`{name}` is not one of {}",
                EXPORTS
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// Rules as CSV under [`ClassRule::csv_header`].
pub fn rules_csv<'a>(rules: impl Iterator<Item = &'a ClassRule>) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::InvalidInput(e.to_string());
    writer.write_record(ClassRule::csv_header()).map_err(io)?;
    for rule in rules {
        writer.write_record(rule.csv_row()).map_err(io)?;
    }
    writer
        .into_inner()
        .map_err(|e| Error::InvalidInput(e.to_string()))
}

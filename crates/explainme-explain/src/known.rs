//! The clinician-supplied list of known associations, against which the summary's
//! candidate new knowledge is judged.
//!
//! The file is plain text, one association per line, `#` starts a comment:
//!
//! ```text
//! # finding(s) -> outcome
//! macroscopic_fat=present -> malignant=no
//! enhancement=avid, heterogeneity=heterogeneous -> malignant=yes
//! ```
//!
//! A mined rule is *known* when some listed association with the same outcome has its
//! findings among the rule's; it *contradicts* the list when some listed association with
//! the opposite outcome state does.

use serde::{Deserialize, Serialize};

use crate::rules::ClassRule;
use crate::{Error, Result};

/// One listed association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownAssociation {
    /// `feature=state` items.
    pub findings: Vec<String>,
    /// `column=state`.
    pub outcome: String,
    /// The line it came from.
    pub line: usize,
}

/// How a mined rule stands against the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    Known,
    Contradicts,
    New,
}

/// Parses the list; a malformed line is refused with its number.
pub fn parse_known(text: &str) -> Result<Vec<KnownAssociation>> {
    let mut known = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::InvalidInput(format!(
                "known associations, line {line_no}: {why}: `{content}`"
            ))
        };
        let (lhs, rhs) = content.split_once("->").ok_or_else(|| bad("no `->`"))?;
        let item = |s: &str| -> Result<String> {
            let s = s.trim();
            match s.split_once('=') {
                Some((f, v)) if !f.trim().is_empty() && !v.trim().is_empty() => {
                    Ok(format!("{}={}", f.trim(), v.trim()))
                }
                _ => Err(bad("each item must be feature=state")),
            }
        };
        let findings = lhs.split(',').map(item).collect::<Result<Vec<_>>>()?;
        known.push(KnownAssociation {
            findings,
            outcome: item(rhs)?,
            line: line_no,
        });
    }
    Ok(known)
}

/// `column=state` split.
fn split(item: &str) -> (&str, &str) {
    item.split_once('=').unwrap_or((item, ""))
}

/// Where `rule` stands against `known`.
pub fn standing(rule: &ClassRule, known: &[KnownAssociation]) -> Standing {
    let (column, state) = split(&rule.consequent);
    let mut standing = Standing::New;
    for k in known {
        let (k_column, k_state) = split(&k.outcome);
        if k_column != column || !k.findings.iter().all(|f| rule.antecedent.contains(f)) {
            continue;
        }
        if k_state == state {
            return Standing::Known;
        }
        standing = Standing::Contradicts;
    }
    standing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(antecedent: &[&str], consequent: &str) -> ClassRule {
        ClassRule {
            antecedent: antecedent.iter().map(|s| s.to_string()).collect(),
            consequent: consequent.to_owned(),
            antecedent_support: 0.1,
            consequent_support: 0.5,
            support: 0.1,
            confidence: 0.9,
            lift: 1.8,
            representativity: 1.0,
            leverage: 0.05,
            conviction: Some(5.0),
            zhangs_metric: 0.5,
            jaccard: 0.2,
            certainty: 0.8,
            kulczynski: 0.5,
            fisher_p: 1e-5,
            fisher_p_adjusted: 1e-4,
            count: 10,
            antecedent_count: 11,
        }
    }

    #[test]
    fn known_new_and_contradicting_rules() {
        let known = parse_known(
            "# renal\nmacroscopic_fat=present -> malignant=no\n\nnecrosis = present, enhancement=avid -> malignant=yes # ccRCC\n",
        )
        .unwrap();
        assert_eq!(known.len(), 2);
        assert_eq!(known[1].findings, ["necrosis=present", "enhancement=avid"]);
        assert_eq!(known[1].line, 4);
        let fat = rule(&["macroscopic_fat=present", "size_cm=<2"], "malignant=no");
        assert_eq!(standing(&fat, &known), Standing::Known);
        let fat_malignant = rule(&["macroscopic_fat=present"], "malignant=yes");
        assert_eq!(standing(&fat_malignant, &known), Standing::Contradicts);
        let necrosis_only = rule(&["necrosis=present"], "malignant=yes");
        assert_eq!(standing(&necrosis_only, &known), Standing::New);
        assert!(parse_known("fat -> malignant=no").is_err());
        assert!(
            parse_known("fat=yes malignant=no")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
    }
}

//! The audit trail: one row per call to the service (gRPC or the workbench), saying who
//! asked what of which model, explainer and cases, when, from where, and how it ended.
//!
//! Rows are only ever appended. The service writes them through a connection of its own
//! ([`Store::open_beside`]) in batches, so recording a call never waits for a case upload.

use rusqlite::params;

use crate::{Result, Store};

/// One call.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct AuditEntry {
    /// When the call arrived, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// The token holder's name; empty when the server runs without `--auth`.
    pub who: String,
    /// `clinician`, `admin`, or empty without `--auth`.
    pub role: String,
    /// `grpc` or `workbench`.
    pub via: String,
    /// The client's address, when known.
    pub peer: String,
    /// The RPC, e.g. `Explain`.
    pub rpc: String,
    pub model_id: String,
    pub explainer_id: String,
    pub cohort: String,
    /// The case ids the call named, comma-separated (see [`AuditEntry::MAX_CASES`]).
    pub cases: String,
    /// The gRPC status code it ended with, e.g. `OK`, `NOT_FOUND`.
    pub code: String,
    /// How long it took until its answer (for a streamed answer: until the stream began).
    pub millis: u64,
}

impl AuditEntry {
    /// Case ids listed per row; more are summarised as "… and N more".
    pub const MAX_CASES: usize = 16;

    /// `ids` as the `cases` column: the first [`AuditEntry::MAX_CASES`], then a count.
    pub fn case_list<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
        let mut listed = Vec::new();
        let mut more = 0_usize;
        for id in ids {
            if listed.len() < AuditEntry::MAX_CASES {
                listed.push(id);
            } else {
                more += 1;
            }
        }
        let mut list = listed.join(",");
        if more > 0 {
            list.push_str(&format!(",… and {more} more"));
        }
        list
    }
}

/// A stored [`AuditEntry`] with its row number (increasing with the order of writing).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl Store {
    /// Appends `entries` in one transaction.
    pub fn append_audit(&mut self, entries: &[AuditEntry]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit (at, who, role, via, peer, rpc, model_id, explainer_id, \
                 cohort, cases, code, millis) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 ?11, ?12)",
            )?;
            for e in entries {
                insert.execute(params![
                    e.at,
                    e.who,
                    e.role,
                    e.via,
                    e.peer,
                    e.rpc,
                    e.model_id,
                    e.explainer_id,
                    e.cohort,
                    e.cases,
                    e.code,
                    i64::try_from(e.millis).unwrap_or(i64::MAX),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` rows after row `after` (0: from the first), oldest first; `who`, when
    /// given, keeps only that person's or tool's calls.
    pub fn audit(&self, after: i64, who: Option<&str>, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut query = self.conn.prepare_cached(
            "SELECT id, at, who, role, via, peer, rpc, model_id, explainer_id, cohort, cases, \
             code, millis FROM audit WHERE id > ?1 AND (?2 IS NULL OR who = ?2) ORDER BY id \
             LIMIT ?3",
        )?;
        let rows = query.query_map(
            params![after, who, i64::try_from(limit).unwrap_or(i64::MAX)],
            |row| {
                Ok(AuditRecord {
                    id: row.get(0)?,
                    entry: AuditEntry {
                        at: row.get(1)?,
                        who: row.get(2)?,
                        role: row.get(3)?,
                        via: row.get(4)?,
                        peer: row.get(5)?,
                        rpc: row.get(6)?,
                        model_id: row.get(7)?,
                        explainer_id: row.get(8)?,
                        cohort: row.get(9)?,
                        cases: row.get(10)?,
                        code: row.get(11)?,
                        millis: u64::try_from(row.get::<_, i64>(12)?).unwrap_or(0),
                    },
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_append_in_order_and_filter_by_who() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let entry = |who: &str, rpc: &str| AuditEntry {
            at: "2026-12-01T20:00:00.000Z".into(),
            who: who.into(),
            rpc: rpc.into(),
            code: "OK".into(),
            millis: 3,
            ..AuditEntry::default()
        };
        store
            .append_audit(&[entry("dr-ada", "Explain"), entry("pacs", "UpsertCases")])
            .unwrap();
        let mut beside = Store::open_beside(dir.path()).unwrap();
        beside.append_audit(&[entry("dr-ada", "GetCase")]).unwrap();

        let all = store.audit(0, None, 10).unwrap();
        let rpcs: Vec<&str> = all.iter().map(|r| r.entry.rpc.as_str()).collect();
        assert_eq!(rpcs, ["Explain", "UpsertCases", "GetCase"]);
        assert_eq!(all[2].entry, entry("dr-ada", "GetCase"));
        let ada: Vec<i64> = store
            .audit(0, Some("dr-ada"), 10)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ada, [all[0].id, all[2].id]);
        assert_eq!(store.audit(all[0].id, None, 1).unwrap()[0].id, all[1].id);
    }

    #[test]
    fn case_lists_are_capped() {
        assert_eq!(AuditEntry::case_list(["a", "b"]), "a,b");
        let many: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let list = AuditEntry::case_list(many.iter().map(String::as_str));
        assert!(
            list.starts_with("c0,c1,") && list.ends_with(",c15,… and 4 more"),
            "{list}"
        );
    }
}

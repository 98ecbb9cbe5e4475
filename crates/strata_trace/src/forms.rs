//! Statements that cannot run inside a transaction, which the tracer needs to read the locks a
//! statement holds.
//!
//! A `CONCURRENTLY` statement is run in its plain form, which changes the schema the same way,
//! and reported with the locks of the concurrent form: the plain form's relations, with the
//! weaker mode the concurrent form takes on each. `VACUUM` and a `DO` block run on their own;
//! anything else of the kind (`CREATE DATABASE`, `ALTER SYSTEM`, ...) acts on the server rather
//! than the database and is not run at all.

use pg_query::NodeEnum;
use strata_core::LockMode;

/// The plain form of a `CONCURRENTLY` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlainForm {
    pub(crate) sql: String,
    /// `DETACH PARTITION ... CONCURRENTLY`: the partition it detaches (unqualified name).
    detached_partition: Option<String>,
}

impl PlainForm {
    /// Parses `sql` (one statement) and drops its `CONCURRENTLY`; `None` when it has none.
    pub(crate) fn of(sql: &str) -> Option<PlainForm> {
        let mut parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).ok()?;
        let mut concurrent = false;
        let mut detached_partition = None;
        for raw in &mut parsed.protobuf.stmts {
            let Some(node) = raw.stmt.as_mut().and_then(|n| n.node.as_mut()) else {
                continue;
            };
            match node {
                NodeEnum::IndexStmt(stmt) => {
                    concurrent |= std::mem::take(&mut stmt.concurrent);
                }
                NodeEnum::DropStmt(stmt) => {
                    concurrent |= std::mem::take(&mut stmt.concurrent);
                }
                NodeEnum::ReindexStmt(stmt) => {
                    let before = stmt.params.len();
                    stmt.params.retain(|param| {
                        !matches!(&param.node, Some(NodeEnum::DefElem(def)) if def.defname == "concurrently")
                    });
                    concurrent |= stmt.params.len() != before;
                }
                NodeEnum::AlterTableStmt(stmt) => {
                    for cmd in &mut stmt.cmds {
                        let Some(NodeEnum::AlterTableCmd(cmd)) = cmd.node.as_mut() else {
                            continue;
                        };
                        let Some(NodeEnum::PartitionCmd(partition)) =
                            cmd.def.as_mut().and_then(|d| d.node.as_mut())
                        else {
                            continue;
                        };
                        if std::mem::take(&mut partition.concurrent) {
                            concurrent = true;
                            detached_partition = partition.name.as_ref().map(|r| r.relname.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        if !concurrent {
            return None;
        }
        let sql = pg_query::deparse(&parsed.protobuf, Default::default()).ok()?;
        Some(PlainForm {
            sql,
            detached_partition,
        })
    }

    /// The mode the concurrent form takes on a relation the plain form locked with `plain`.
    ///
    /// Every concurrent form takes `SHARE UPDATE EXCLUSIVE` where the plain one takes more, and
    /// `DETACH PARTITION ... CONCURRENTLY` ends with `ACCESS EXCLUSIVE` on the partition once
    /// older transactions have finished (the manual, `ALTER TABLE`).
    pub(crate) fn concurrent_mode(&self, plain: LockMode, relation_name: &str) -> LockMode {
        let unqualified = relation_name.rsplit('.').next().unwrap_or(relation_name);
        if self.detached_partition.as_deref() == Some(unqualified) {
            return plain;
        }
        plain.min(LockMode::ShareUpdateExclusive)
    }
}

/// Whether a statement that cannot run in a transaction only acts on the database (`VACUUM`, a
/// `DO` block), so that running it on a scratch database is harmless.
pub(crate) fn acts_on_the_database_only(sql: &str) -> bool {
    let Ok(parsed) = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) else {
        return false;
    };
    parsed.protobuf.stmts.iter().all(|raw| {
        matches!(
            raw.stmt.as_ref().and_then(|n| n.node.as_ref()),
            Some(NodeEnum::VacuumStmt(_) | NodeEnum::DoStmt(_))
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_concurrently_from_every_concurrent_form() {
        let cases = [
            (
                "CREATE INDEX CONCURRENTLY users_email ON users (email)",
                "CREATE INDEX users_email ON users USING btree (email)",
            ),
            (
                "DROP INDEX CONCURRENTLY IF EXISTS users_email",
                "DROP INDEX IF EXISTS users_email",
            ),
            (
                "REINDEX INDEX CONCURRENTLY users_email",
                "REINDEX INDEX users_email",
            ),
            (
                "ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY",
                "ALTER TABLE events DETACH PARTITION events_2024",
            ),
        ];
        for (concurrent, plain) in cases {
            let form = PlainForm::of(concurrent).unwrap_or_else(|| panic!("{concurrent}"));
            assert_eq!(form.sql, plain);
        }
        assert_eq!(PlainForm::of("CREATE INDEX i ON users (email)"), None);
    }

    #[test]
    fn vacuum_and_do_blocks_act_on_the_database_only() {
        assert!(acts_on_the_database_only("VACUUM (ANALYZE) users"));
        assert!(acts_on_the_database_only("DO $$ BEGIN COMMIT; END $$"));
        assert!(!acts_on_the_database_only("CREATE DATABASE other"));
        assert!(!acts_on_the_database_only(
            "ALTER SYSTEM SET work_mem = '8MB'"
        ));
    }

    #[test]
    fn concurrent_forms_take_share_update_exclusive_except_on_a_detached_partition() {
        let index = PlainForm::of("CREATE INDEX CONCURRENTLY i ON users (email)").unwrap();
        assert_eq!(
            index.concurrent_mode(LockMode::Share, "public.users"),
            LockMode::ShareUpdateExclusive
        );
        assert_eq!(
            index.concurrent_mode(LockMode::AccessShare, "public.users"),
            LockMode::AccessShare
        );
        let detach =
            PlainForm::of("ALTER TABLE events DETACH PARTITION events_2024 CONCURRENTLY").unwrap();
        assert_eq!(
            detach.concurrent_mode(LockMode::AccessExclusive, "public.events"),
            LockMode::ShareUpdateExclusive
        );
        assert_eq!(
            detach.concurrent_mode(LockMode::AccessExclusive, "public.events_2024"),
            LockMode::AccessExclusive
        );
    }
}

//! What traced facts mean, in the linter's registry: a fact that confirms a static rule carries
//! that rule's id; `table-rewrite` and `foreign-key-without-index` are facts only a trace sees.
//!
//! Locking findings are about objects someone else may be using: a relation the migration itself
//! created is left out, and one an earlier traced migration created drops to `info` (as the
//! linter does for tables created earlier in an `up` run).

use std::ops::Range;

use strata_lint::registry::{self, Rule};
use strata_lint::{Diagnostic, Dialect, Migration, Settings, TracedFinding, diagnose_traced};

use crate::model::{
    Change, ConstraintKind, LockTaken, MigrationTrace, Relation, RelationAge, StatementTrace,
};

/// Rule ids the tracer reports.
const TABLE_REWRITE: &str = "table-rewrite";
const FOREIGN_KEY_WITHOUT_INDEX: &str = "foreign-key-without-index";
const INDEX_NOT_CONCURRENT: &str = "index-not-concurrent";
const STATEMENT_AFTER_ACCESS_EXCLUSIVE: &str = "statement-after-access-exclusive";
const FOREIGN_KEY_NOT_VALID: &str = "foreign-key-not-valid";
const CHECK_NOT_VALID: &str = "check-not-valid";
const SET_NOT_NULL: &str = "set-not-null";
const ADD_UNIQUE_CONSTRAINT: &str = "add-unique-constraint";
const ADD_PRIMARY_KEY: &str = "add-primary-key";

/// The migration's findings as diagnostics of `file_sql` (its up file).
pub(crate) fn diagnose(
    trace: &MigrationTrace,
    file_sql: &str,
    settings: &Settings,
) -> Vec<Diagnostic> {
    let migration = Migration::new(trace.file.clone(), file_sql, Dialect::Postgres);
    let ranges: Vec<Range<usize>> = trace.statements.iter().map(|s| s.range.clone()).collect();
    diagnose_traced(&migration, &ranges, findings(trace), settings)
}

fn rule(id: &str) -> &'static Rule {
    registry::find(id).unwrap_or_else(|| panic!("`{id}` is in the linter's registry"))
}

/// A finding about `relation`, or none when the migration created it.
fn about(
    id: &str,
    statement: usize,
    relation: &Relation,
    message: String,
) -> Option<TracedFinding> {
    let lowered_because = match relation.age {
        RelationAge::CreatedInMigration => return None,
        RelationAge::CreatedEarlierInTrace => Some(format!(
            "`{}` was created earlier in this trace",
            relation.name
        )),
        RelationAge::Existing => None,
    };
    Some(TracedFinding {
        rule: rule(id),
        statement,
        message,
        help: None,
        lowered_because,
    })
}

fn findings(trace: &MigrationTrace) -> Vec<TracedFinding> {
    let mut out = Vec::new();
    // Locks of the open transaction: all of the migration's when it runs in one.
    let mut held: Vec<&LockTaken> = Vec::new();
    let mut access_exclusive: Option<(&LockTaken, u32)> = None;
    let mut reported_access_exclusive = false;
    for (index, statement) in trace.statements.iter().enumerate() {
        if !trace.in_transaction {
            held.clear();
        }
        if let Some((lock, line)) = access_exclusive
            && !reported_access_exclusive
            && !matches!(statement.execution, crate::Execution::NotRun { .. })
        {
            reported_access_exclusive = true;
            let hold = trace
                .locks_held
                .iter()
                .find(|h| h.relation == lock.relation && h.mode == lock.mode);
            let held_for = hold.map_or(String::new(), |h| {
                format!(" ({} in this trace)", milliseconds(h.held))
            });
            out.extend(about(
                STATEMENT_AFTER_ACCESS_EXCLUSIVE,
                index,
                &lock.relation,
                format!(
                    "`{}` on `{}`, taken at line {line}, is held while this statement runs and until commit{held_for}: nobody can read or write `{}` meanwhile",
                    lock.mode, lock.relation.name, lock.relation.name
                ),
            ));
        }
        held.extend(&statement.locks);
        if trace.in_transaction && access_exclusive.is_none() {
            access_exclusive = statement
                .locks
                .iter()
                .find(|l| {
                    l.mode == strata_core::LockMode::AccessExclusive
                        && !l.relation.kind.is_index()
                        && l.relation.age != RelationAge::CreatedInMigration
                })
                .map(|lock| (lock, statement.line));
        }
        statement_findings(index, statement, &held, &mut out);
    }
    for foreign_key in &trace.unindexed_foreign_keys {
        out.push(TracedFinding {
            rule: rule(FOREIGN_KEY_WITHOUT_INDEX),
            statement: foreign_key.statement,
            message: format!(
                "no index on `{}` ({}) covers the foreign key `{}`: every delete or key update in the referenced table scans `{}`",
                foreign_key.table.name,
                foreign_key.columns.join(", "),
                foreign_key.constraint,
                foreign_key.table.name
            ),
            help: Some(format!(
                "`CREATE INDEX CONCURRENTLY ON {} ({})` in a migration before this one",
                foreign_key.table.name,
                foreign_key.columns.join(", ")
            )),
            lowered_because: None,
        });
    }
    out
}

fn statement_findings(
    index: usize,
    statement: &StatementTrace,
    held: &[&LockTaken],
    out: &mut Vec<TracedFinding>,
) {
    let took = |relation: &Relation| -> String {
        statement
            .locks
            .iter()
            .filter(|l| l.relation == *relation)
            .max_by_key(|l| l.mode)
            .map_or(String::new(), |l| {
                format!(" while holding `{}` ({})", l.mode, l.blocks)
            })
    };
    let duration = milliseconds(statement.duration);
    if let Some(finding) = rewrite_finding(index, statement, held) {
        out.push(finding);
    }
    let built_by_constraint = statement.constraints.iter().any(|c| c.built_index);
    let new_index = statement.created.iter().find(|r| r.kind.is_index());
    if let (Some(new_index), false, false) =
        (new_index, built_by_constraint, statement.is_concurrent())
        && let Some(lock) = statement
            .locks
            .iter()
            .find(|l| l.mode == strata_core::LockMode::Share && !l.relation.kind.is_index())
    {
        out.extend(about(
            INDEX_NOT_CONCURRENT,
            index,
            &lock.relation,
            format!(
                "building `{}` took `{}` on `{}` ({}) for {duration} here; on a big table, for the whole build",
                new_index.name, lock.mode, lock.relation.name, lock.blocks
            ),
        ));
    }
    for constraint in statement
        .constraints
        .iter()
        .filter(|c| c.change == Change::Added)
    {
        let id = match constraint.kind {
            ConstraintKind::ForeignKey if constraint.validated => FOREIGN_KEY_NOT_VALID,
            ConstraintKind::Check if constraint.validated => CHECK_NOT_VALID,
            ConstraintKind::Unique if constraint.built_index => ADD_UNIQUE_CONSTRAINT,
            ConstraintKind::PrimaryKey if constraint.built_index => ADD_PRIMARY_KEY,
            _ => continue,
        };
        let what = if constraint.built_index {
            "built its index"
        } else {
            "was validated against every row"
        };
        out.extend(about(
            id,
            index,
            &constraint.table,
            format!(
                "{} `{}` on `{}` {what}{} ({duration} here)",
                constraint.kind.as_str(),
                constraint.name,
                constraint.table.name,
                took(&constraint.table)
            ),
        ));
    }
    for column in &statement.columns {
        let became_not_null = column.change == Change::Changed
            && column.before.as_ref().is_some_and(|b| !b.not_null)
            && column.after.as_ref().is_some_and(|a| a.not_null);
        if became_not_null {
            out.extend(about(
                SET_NOT_NULL,
                index,
                &column.table,
                format!(
                    "`{}.{}` became NOT NULL: every row was checked{} ({duration} here)",
                    column.table.name,
                    column.column,
                    took(&column.table)
                ),
            ));
        }
    }
}

/// One finding for everything a statement rewrote while a lock blocking reads or writes was
/// held on it (an index: on it or on any table), naming the strongest such lock.
fn rewrite_finding(
    index: usize,
    statement: &StatementTrace,
    held: &[&LockTaken],
) -> Option<TracedFinding> {
    let mut strongest: Option<&LockTaken> = None;
    let mut rewritten: Vec<&Relation> = Vec::new();
    for relation in statement
        .rewrites
        .iter()
        .filter(|r| r.age != RelationAge::CreatedInMigration)
    {
        let lock = held
            .iter()
            .filter(|l| l.blocks.reads_or_writes())
            .filter(|l| {
                l.relation == *relation || (relation.kind.is_index() && !l.relation.kind.is_index())
            })
            .max_by_key(|l| (l.relation == *relation, l.mode));
        if let Some(lock) = lock {
            rewritten.push(relation);
            if strongest.is_none_or(|s| lock.mode > s.mode) {
                strongest = Some(lock);
            }
        }
    }
    let lock = strongest?;
    // Lowered only when every rewritten relation is one an earlier traced migration created.
    let about_relation = rewritten
        .iter()
        .find(|r| r.age == RelationAge::Existing)
        .unwrap_or(&rewritten[0]);
    let names: Vec<String> = rewritten
        .iter()
        .map(|r| format!("{} `{}`", r.kind.as_str(), r.name))
        .collect();
    about(
        TABLE_REWRITE,
        index,
        about_relation,
        format!(
            "rewrote {} (new relfilenode) while holding `{}` on `{}` ({}); {} here, on a big table as long as copying it",
            names.join(", "),
            lock.mode,
            lock.relation.name,
            lock.blocks,
            milliseconds(statement.duration)
        ),
    )
}

/// `12.3 ms`.
pub(crate) fn milliseconds(duration: std::time::Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reported_id_is_registered() {
        for id in [
            TABLE_REWRITE,
            FOREIGN_KEY_WITHOUT_INDEX,
            INDEX_NOT_CONCURRENT,
            STATEMENT_AFTER_ACCESS_EXCLUSIVE,
            FOREIGN_KEY_NOT_VALID,
            CHECK_NOT_VALID,
            SET_NOT_NULL,
            ADD_UNIQUE_CONSTRAINT,
            ADD_PRIMARY_KEY,
        ] {
            assert_eq!(rule(id).id, id);
        }
        assert!(rule(TABLE_REWRITE).trace_only && rule(FOREIGN_KEY_WITHOUT_INDEX).trace_only);
    }
}

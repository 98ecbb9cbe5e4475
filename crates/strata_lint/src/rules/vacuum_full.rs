//! `vacuum-full`: `VACUUM FULL` and `CLUSTER`, which rewrite tables under `ACCESS EXCLUSIVE`.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "vacuum-full",
    summary: "`VACUUM FULL` or `CLUSTER`",
    help: "use plain `VACUUM`, or an online repacking tool such as pg_repack",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`VACUUM FULL` and `CLUSTER` write a complete new copy of the table and its indexes while holding `ACCESS EXCLUSIVE`: reads and writes wait for the whole rewrite, and the disk needs room for both copies.",
    instead: "Plain `VACUUM` (or autovacuum) reclaims space for reuse without blocking. To shrink a bloated table online use a repacking tool (pg_repack, pg_squeeze) outside migrations.",
    bad: "VACUUM FULL users;",
    good: "VACUUM (ANALYZE) users;",
    operation: Some(PgOperation::VacuumFull),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let (command, tables) = match &cx.statement.kind {
        StatementKind::Vacuum { full: true, tables } => {
            ("VACUUM FULL", tables.iter().collect::<Vec<_>>())
        }
        StatementKind::Cluster { table } => ("CLUSTER", table.iter().collect()),
        _ => return,
    };
    if tables.is_empty() {
        out.push(Finding::new(format!(
            "`{command}` rewrites every table of the database, each under `ACCESS EXCLUSIVE`"
        )));
    }
    for table in tables.into_iter().filter(|t| cx.is_existing(t)) {
        out.push(
            Finding::new(format!(
                "`{command}` rewrites `{table}` under `ACCESS EXCLUSIVE`, blocking reads and writes"
            ))
            .on_table(table),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_vacuum_full() {
        fires(&RULE, "VACUUM FULL users;");
        fires(&RULE, "VACUUM (FULL, ANALYZE) app.users, orders;");
    }

    #[test]
    fn fires_on_cluster() {
        fires(&RULE, "CLUSTER users USING users_pkey;");
    }

    #[test]
    fn fires_on_a_database_wide_vacuum_full() {
        let d = fires(&RULE, "VACUUM FULL;");
        assert!(d.message.contains("every table"), "{}", d.message);
    }

    #[test]
    fn silent_on_plain_vacuum_and_analyze() {
        silent(
            &RULE,
            "VACUUM users; VACUUM (ANALYZE) users; ANALYZE users;",
        );
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(&RULE, "CREATE TABLE t (a int);\nCLUSTER t USING t_pkey;");
    }

    #[test]
    fn silent_on_cluster_on_setting() {
        silent(&RULE, "ALTER TABLE users CLUSTER ON users_pkey;");
    }
}

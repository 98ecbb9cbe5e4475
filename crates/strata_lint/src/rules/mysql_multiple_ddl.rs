//! `mysql-multiple-ddl`: more than one DDL statement in one MySQL / MariaDB migration.

use crate::input::Dialect;
use crate::ir::{Statement, StatementKind};
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, MigrationContext, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "mysql-multiple-ddl",
    summary: "more than one DDL statement in one migration (MySQL, MariaDB)",
    help: "put each DDL statement in a migration of its own",
    default_severity: Severity::Warning,
    category: Category::MySql,
    dialects: &[Dialect::MySql],
    since_postgres: None,
    why: "MySQL and MariaDB commit every DDL statement on its own, before and after it: no transaction can hold two of them. When the third of five fails, the first two stay applied and the migration is half done; strata records where it stopped and resumes there, but the schema is meanwhile in a state no release was written for, and the down migration cannot assume either shape.",
    instead: "One DDL statement per migration, so each migration is applied entirely or not at all; data changes go in their own migration (which runs in a transaction).",
    bad: "ALTER TABLE users ADD COLUMN nickname varchar(50);\nCREATE INDEX users_nickname ON users (nickname);",
    good: "ALTER TABLE users ADD COLUMN nickname varchar(50);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Migration(check),
};

/// Whether the statement makes MySQL commit on its own (DDL, including statements sqlparser cannot read
/// whose leading keyword is DDL).
fn commits_implicitly(statement: &Statement) -> bool {
    statement.is_ddl()
        || matches!(
            statement.kind,
            StatementKind::Truncate { .. } | StatementKind::DropDatabase { .. }
        )
}

fn check(cx: &MigrationContext<'_>, out: &mut Vec<Finding>) {
    let ddl: Vec<usize> = cx
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| commits_implicitly(&s.statement))
        .map(|(index, _)| index)
        .collect();
    if let [_, second, ..] = ddl[..] {
        out.push(
            Finding::new(format!(
                "{} DDL statements in one migration: each commits on its own, so a failure from here on leaves the earlier ones applied",
                ddl.len()
            ))
            .at_statement(second),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::case;

    #[test]
    fn fires_on_two_ddl_statements_at_the_second() {
        let d = case("CREATE TABLE a (id BIGINT);\nCREATE TABLE b (id BIGINT);")
            .mysql("8.4")
            .fires(&RULE);
        assert_eq!(d.line, 2);
        assert!(d.message.starts_with("2 DDL statements"), "{}", d.message);
    }

    #[test]
    fn fires_with_unparsable_ddl() {
        case("ALTER TABLE a CONVERT TO CHARACTER SET utf8mb4;\nDROP TABLE b;")
            .mysql("10.11-mariadb")
            .fires(&RULE);
    }

    #[test]
    fn fires_once_for_many() {
        let findings = case("CREATE TABLE a (id BIGINT);\nTRUNCATE b;\nRENAME TABLE c TO d;")
            .mysql("8.4")
            .findings(&RULE);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.starts_with("3 DDL"));
    }

    #[test]
    fn silent_on_one_ddl_statement_with_data() {
        case("CREATE TABLE a (id BIGINT);\nINSERT INTO a VALUES (1);")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_data_only() {
        case("UPDATE a SET x = 1 WHERE id = 1;\nDELETE FROM a WHERE id = 2;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_postgres() {
        case("CREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);").silent(&RULE);
    }
}

//! `mysql-blocking-algorithm`: `ALGORITHM=COPY`, `LOCK=SHARED` or `LOCK=EXCLUSIVE` on MySQL / MariaDB.

use crate::input::{Dialect, ObjectName};
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "mysql-blocking-algorithm",
    summary: "`ALGORITHM=COPY`, `LOCK=SHARED` or `LOCK=EXCLUSIVE` (MySQL, MariaDB)",
    help: "leave ALGORITHM and LOCK out, or ask for `ALGORITHM=INPLACE, LOCK=NONE` so the server refuses instead of blocking",
    default_severity: Severity::Error,
    category: Category::MySql,
    dialects: &[Dialect::MySql],
    since_postgres: None,
    why: "`ALGORITHM=COPY` makes the server copy the table row by row with writes blocked until the copy ends; `LOCK=SHARED` blocks writes and `LOCK=EXCLUSIVE` blocks reads and writes for the whole statement, even when the change could run online.",
    instead: "Let the server pick the cheapest algorithm, or state the requirement: `ALGORITHM=INPLACE, LOCK=NONE` (or `ALGORITHM=INSTANT`) makes the statement fail at once when it cannot run online, instead of blocking the application. A change that really needs a copy belongs in an online schema change tool (gh-ost, pt-online-schema-change).",
    bad: "ALTER TABLE users ADD COLUMN nickname varchar(50), ALGORITHM=COPY;",
    good: "ALTER TABLE users ADD COLUMN nickname varchar(50), ALGORITHM=INSTANT;",
    operation: None,
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

/// The table the statement's online-DDL clauses apply to, when the linter can tell.
fn target_table<'a>(cx: &StatementContext<'a>) -> Option<&'a ObjectName> {
    match &cx.statement.kind {
        StatementKind::AlterTable(alter) => Some(&alter.table),
        StatementKind::CreateIndex(index) => Some(&index.table),
        _ => cx.statement.online_ddl.charset_conversion.as_ref(),
    }
}

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let table = target_table(cx);
    if table.is_some_and(|t| !cx.is_existing(t)) {
        return;
    }
    let clauses = &cx.statement.online_ddl;
    let mut blocking = Vec::new();
    if clauses.algorithm.as_deref() == Some("COPY") {
        blocking.push("`ALGORITHM=COPY` copies the table while writes wait".to_owned());
    }
    match clauses.lock.as_deref() {
        Some("SHARED") => blocking.push("`LOCK=SHARED` blocks writes".to_owned()),
        Some("EXCLUSIVE") => blocking.push("`LOCK=EXCLUSIVE` blocks reads and writes".to_owned()),
        _ => {}
    }
    if blocking.is_empty() {
        return;
    }
    let subject = table.map_or_else(String::new, |t| format!(" on `{t}`"));
    let mut finding = Finding::new(format!(
        "{}{subject} for the whole statement",
        blocking.join(", and ")
    ));
    if let Some(table) = table {
        finding = finding.on_table(table);
    }
    out.push(finding);
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::case;

    const USERS: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(50));";

    #[test]
    fn fires_on_algorithm_copy() {
        let d = case("ALTER TABLE users ADD COLUMN a INT, ALGORITHM=COPY;")
            .after(USERS)
            .mysql("8.4")
            .fires(&RULE);
        assert!(d.message.contains("`users`"), "{}", d.message);
    }

    #[test]
    fn fires_on_shared_and_exclusive_locks() {
        case("ALTER TABLE users ADD INDEX users_name (name), LOCK = SHARED;")
            .mysql("8.4")
            .fires(&RULE);
        case("CREATE INDEX users_name ON users (name) LOCK=EXCLUSIVE;")
            .mysql("10.11-mariadb")
            .fires(&RULE);
    }

    #[test]
    fn fires_on_statements_sqlparser_cannot_read() {
        case("ALTER TABLE users ENGINE=InnoDB, ALGORITHM=COPY;")
            .mysql("8.0.30")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_online_clauses() {
        case("ALTER TABLE users ADD COLUMN a INT, ALGORITHM=INPLACE, LOCK=NONE;")
            .mysql("8.4")
            .silent(&RULE);
        case("ALTER TABLE users ADD COLUMN a INT, ALGORITHM=INSTANT;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_lock_tables() {
        case("LOCK TABLES users WRITE;").mysql("8.4").silent(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_migration() {
        case("CREATE TABLE t (id BIGINT);\nALTER TABLE t ADD COLUMN a INT, ALGORITHM=COPY;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_postgres() {
        case("ALTER TABLE users ADD COLUMN a int;").silent(&RULE);
    }
}

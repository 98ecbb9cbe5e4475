//! `drop-schema-or-database`: `DROP SCHEMA` or `DROP DATABASE` in a migration.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "drop-schema-or-database",
    summary: "`DROP SCHEMA` or `DROP DATABASE`",
    help: "never drop a schema or database from a migration; do it by hand, deliberately, with a backup",
    default_severity: Severity::Error,
    category: Category::DataLoss,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "It deletes every object and every row in it at once (with `CASCADE`, including objects elsewhere that depend on it). No migration needs this in normal operation.",
    instead: "Drop the objects one by one, each with its own review, or drop the schema by hand after a backup.",
    bad: "DROP SCHEMA reporting CASCADE;",
    good: "DROP VIEW IF EXISTS reporting.daily_totals;",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    match &cx.statement.kind {
        StatementKind::DropSchema { names, .. } => {
            out.push(Finding::new(format!(
                "`DROP SCHEMA {}` deletes every object and row in it",
                names.join(", ")
            )));
        }
        StatementKind::DropDatabase { name, .. } => {
            out.push(Finding::new(format!(
                "`DROP DATABASE {name}` deletes the whole database"
            )));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{fires, silent};

    #[test]
    fn fires_on_drop_schema() {
        fires(&RULE, "DROP SCHEMA reporting;");
    }

    #[test]
    fn fires_on_drop_schema_if_exists_cascade() {
        let d = fires(&RULE, r#"DROP SCHEMA IF EXISTS "Reporting", old CASCADE;"#);
        assert!(d.message.contains("Reporting, old"), "{}", d.message);
    }

    #[test]
    fn fires_on_drop_database() {
        fires(&RULE, "DROP DATABASE IF EXISTS scratch;");
    }

    #[test]
    fn silent_on_drop_table() {
        silent(&RULE, "DROP TABLE reporting.t;");
    }

    #[test]
    fn silent_on_create_schema() {
        silent(&RULE, "CREATE SCHEMA IF NOT EXISTS reporting;");
    }

    #[test]
    fn silent_on_drop_owned() {
        silent(&RULE, "DROP OWNED BY someone;");
    }
}

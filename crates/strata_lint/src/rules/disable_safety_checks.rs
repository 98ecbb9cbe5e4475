//! `disable-safety-checks`: turning off triggers or foreign-key enforcement in a migration.

use crate::input::Dialect;
use crate::ir::{AlterAction, StatementKind};
use crate::report::Severity;
use crate::rules::common::existing_alter_actions;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "disable-safety-checks",
    summary: "`SET session_replication_role = replica`, `ALTER TABLE ... DISABLE TRIGGER ALL`, MySQL `SET FOREIGN_KEY_CHECKS = 0`",
    help: "never disable integrity checks in a migration",
    default_severity: Severity::Error,
    category: Category::Hygiene,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "MySQL's `FOREIGN_KEY_CHECKS = 0` switches off foreign-key enforcement; PostgreSQL's replica role and `DISABLE TRIGGER ALL` switch off foreign keys (implemented by system triggers) and user triggers: rows written meanwhile can violate constraints that the schema still claims, and nothing re-checks them later.",
    instead: "Keep the checks on; load data in dependency order, or add foreign keys `NOT VALID` and validate after the load.",
    bad: "SET session_replication_role = replica;",
    good: "ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if let StatementKind::Set { name, value } = &cx.statement.kind
        && name == "session_replication_role"
        && value.eq_ignore_ascii_case("replica")
    {
        out.push(Finding::new("`session_replication_role = replica` disables foreign keys and triggers for this session"));
    }
    if let StatementKind::Set { name, value } = &cx.statement.kind
        && name == "foreign_key_checks"
        && (value == "0" || value.eq_ignore_ascii_case("off"))
    {
        out.push(Finding::new(
            "`FOREIGN_KEY_CHECKS = 0` lets this session write rows that violate foreign keys, and nothing re-checks them",
        ));
    }
    for (alter, action) in existing_alter_actions(cx) {
        if let AlterAction::DisableTrigger { all: true } = action {
            out.push(
                Finding::new(format!(
                    "`DISABLE TRIGGER ALL` on `{}` also disables its foreign-key checks",
                    alter.table
                ))
                .on_table(&alter.table),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_replica_role() {
        fires(&RULE, "SET session_replication_role = replica;");
        fires(&RULE, "SET LOCAL session_replication_role TO 'replica';");
    }

    #[test]
    fn fires_on_mysql_foreign_key_checks_off() {
        for sql in [
            "SET FOREIGN_KEY_CHECKS = 0;",
            "SET SESSION foreign_key_checks = OFF;",
            "SET @@foreign_key_checks = 0;",
        ] {
            case(sql).mysql("8.4").fires(&RULE);
        }
        case("SET FOREIGN_KEY_CHECKS = 1;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn fires_on_disable_trigger_all() {
        fires(&RULE, "ALTER TABLE app.orders DISABLE TRIGGER ALL;");
    }

    #[test]
    fn fires_among_other_subcommands() {
        fires(
            &RULE,
            "ALTER TABLE orders ADD COLUMN a int, DISABLE TRIGGER ALL;",
        );
    }

    #[test]
    fn silent_on_origin_role() {
        silent(&RULE, "SET session_replication_role = origin;");
    }

    #[test]
    fn silent_on_a_named_trigger() {
        silent(&RULE, "ALTER TABLE orders DISABLE TRIGGER audit_orders;");
    }

    #[test]
    fn silent_on_enable_trigger_all() {
        silent(&RULE, "ALTER TABLE orders ENABLE TRIGGER ALL;");
    }
}

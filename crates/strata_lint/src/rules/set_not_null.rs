//! `set-not-null`: `ALTER COLUMN ... SET NOT NULL` on an existing table, unless (PostgreSQL 12+) a validated
//! `CHECK (col IS NOT NULL)` already proves it, which lets the server skip the scan.

use crate::facts::PgOperation;
use crate::input::Dialect;
use crate::ir::AlterAction;
use crate::report::Severity;
use crate::rules::common::{existing_alter_actions, lock_phrase};
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "set-not-null",
    summary: "`ALTER COLUMN ... SET NOT NULL` on an existing table",
    help: "add `CHECK (col IS NOT NULL) NOT VALID`, validate it in a later migration, then `SET NOT NULL` and drop the check (PostgreSQL 12+)",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "`SET NOT NULL` takes `ACCESS EXCLUSIVE` and reads the whole table to prove there is no NULL: reads and writes wait for the scan. From PostgreSQL 12 the scan is skipped when a validated `CHECK (col IS NOT NULL)` constraint already proves it.",
    instead: "PostgreSQL 12 and later: (1) `ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID`; (2) in a later migration `VALIDATE CONSTRAINT c` (no read/write blocking); (3) `ALTER COLUMN col SET NOT NULL` (no scan thanks to the check); (4) `DROP CONSTRAINT c`. Before 12: stop after step 2 and keep the validated check instead of `NOT NULL`. On PostgreSQL, `strata up` runs these steps itself when the table already exists: it expands (a view or shadow column for the new application, triggers, an online backfill), and `strata complete` contracts once the old application is gone.",
    bad: "ALTER TABLE users ALTER COLUMN name SET NOT NULL;",
    good: "-- after `CHECK (email IS NOT NULL) NOT VALID` was added and validated in earlier migrations:\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;",
    operation: Some(PgOperation::SetNotNull),
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    for (alter, action) in existing_alter_actions(cx) {
        let AlterAction::SetNotNull { column } = action else {
            continue;
        };
        let proven = cx
            .schema
            .table(&alter.table)
            .is_some_and(|t| t.has_validated_not_null_check(column));
        if proven && cx.pg_version() >= 12 {
            continue;
        }
        let lock = lock_phrase(PgOperation::SetNotNull, cx.pg_version());
        let finding = if proven {
            Finding::new(format!(
                "`SET NOT NULL` on `{}.{column}` {lock} and scans every row: PostgreSQL {} cannot use the validated check to skip the scan (12 and later can)",
                alter.table,
                cx.pg_version()
            ))
            .with_help("keep the validated `CHECK (col IS NOT NULL)` instead of `NOT NULL` until the server is upgraded")
        } else {
            Finding::new(format!(
                "`SET NOT NULL` on `{}.{column}` {lock} while it scans every row (no validated `CHECK ({column} IS NOT NULL)` is known)",
                alter.table
            ))
        };
        out.push(finding.on_table(&alter.table));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    const CHECKED: &str = "CREATE TABLE users (id bigint, email text);
ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;";

    #[test]
    fn fires_on_an_existing_table() {
        fires(&RULE, "ALTER TABLE users ALTER COLUMN email SET NOT NULL;");
    }

    #[test]
    fn fires_for_each_column_of_a_multi_subcommand_alter() {
        let findings = case(r#"ALTER TABLE ONLY "App"."Users" ALTER COLUMN a SET NOT NULL, ALTER COLUMN b SET NOT NULL;"#).findings(&RULE);
        assert_eq!(findings.len(), 2);
    }

    #[test]
    fn fires_when_the_check_was_never_validated() {
        case("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .after(CHECKED)
            .fires(&RULE);
    }

    #[test]
    fn fires_before_postgres_12_even_with_a_validated_check() {
        let d = case("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .after(CHECKED)
            .after("ALTER TABLE users VALIDATE CONSTRAINT email_nn;")
            .postgres(11)
            .fires(&RULE);
        assert!(d.help.contains("keep the validated"), "{}", d.help);
    }

    #[test]
    fn silent_after_a_validated_not_null_check_on_postgres_12() {
        case("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
            .after(CHECKED)
            .after("ALTER TABLE users VALIDATE CONSTRAINT email_nn;")
            .postgres(12)
            .silent(&RULE);
    }

    #[test]
    fn silent_on_a_table_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TABLE users (email text);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        );
    }

    #[test]
    fn silent_on_drop_not_null() {
        silent(&RULE, "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;");
    }
}

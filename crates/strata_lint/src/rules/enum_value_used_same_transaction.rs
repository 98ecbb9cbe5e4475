//! `enum-value-used-same-transaction`: a value added with `ALTER TYPE ... ADD VALUE` used in the same
//! transaction, which PostgreSQL rejects.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "enum-value-used-same-transaction",
    summary: "`ALTER TYPE ... ADD VALUE` and a use of that value in the same transactional migration",
    help: "use the new value in a later migration",
    default_severity: Severity::Error,
    category: Category::Locking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "A value added by `ALTER TYPE ... ADD VALUE` cannot be used until the transaction that added it commits: the migration fails with \"unsafe use of new value\".",
    instead: "Add the value in one migration and use it (in `UPDATE`, `INSERT`, defaults, checks) in a later one.",
    bad: "ALTER TYPE mood ADD VALUE 'happy';\nUPDATE users SET mood = 'happy' WHERE id = 1;",
    good: "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if !cx.migration.in_transaction
        || matches!(cx.statement.kind, StatementKind::AddEnumValue { .. })
    {
        return;
    }
    for (type_name, value) in &cx.file.added_enum_values {
        if cx.statement.string_literals.contains(value) {
            out.push(Finding::new(format!(
                "`'{value}'` was added to `{type_name}` earlier in this transaction and cannot be used before it commits"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_an_update_using_the_value() {
        fires(
            &RULE,
            "ALTER TYPE mood ADD VALUE 'happy';\nUPDATE users SET mood = 'happy' WHERE id = 1;",
        );
    }

    #[test]
    fn fires_on_a_default_using_the_value_with_a_qualified_type() {
        fires(
            &RULE,
            "ALTER TYPE app.mood ADD VALUE IF NOT EXISTS 'happy' AFTER 'ok';\nALTER TABLE users ALTER COLUMN mood SET DEFAULT 'happy';",
        );
    }

    #[test]
    fn fires_inside_a_do_block() {
        fires(
            &RULE,
            "ALTER TYPE mood ADD VALUE 'happy';\nDO $$ BEGIN INSERT INTO users (mood) VALUES ('happy'); END $$;",
        );
    }

    #[test]
    fn silent_when_used_in_a_later_migration() {
        case("UPDATE users SET mood = 'happy' WHERE id = 1;")
            .after("ALTER TYPE mood ADD VALUE 'happy';")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_further_values_added_relative_to_it() {
        silent(
            &RULE,
            "ALTER TYPE mood ADD VALUE 'happy';\nALTER TYPE mood ADD VALUE 'glad' AFTER 'happy';",
        );
    }

    #[test]
    fn silent_outside_a_transaction() {
        case("ALTER TYPE mood ADD VALUE 'happy';\nUPDATE users SET mood = 'happy' WHERE id = 1;")
            .in_transaction(false)
            .silent(&RULE);
    }
}

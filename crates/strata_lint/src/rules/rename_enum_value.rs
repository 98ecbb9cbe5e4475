//! `rename-enum-value`: `ALTER TYPE ... RENAME VALUE`, which breaks code and data using the old label.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "rename-enum-value",
    summary: "`ALTER TYPE ... RENAME VALUE`",
    help: "add the new value, move the data, and stop using the old one",
    default_severity: Severity::Error,
    category: Category::Breaking,
    dialects: &[Dialect::Postgres],
    since_postgres: None,
    why: "Running code that writes or compares the old label fails (`invalid input value for enum`) as soon as the rename commits.",
    instead: "`ALTER TYPE ... ADD VALUE` the new label; deploy code that accepts both; update rows in batches; deploy code that writes only the new label; leave the old label unused (enum values cannot be dropped).",
    bad: "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';",
    good: "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'fine';",
    operation: None,
    trace_only: false,
    lowering: Lowering::CreatedInRun,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if let StatementKind::RenameEnumValue {
        type_name,
        old,
        new,
    } = &cx.statement.kind
        && !cx.file.created_types.contains(type_name)
    {
        out.push(Finding::new(format!(
            "renaming `{type_name}` value '{old}' to '{new}' breaks running code that uses '{old}'"
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_rename_value() {
        fires(&RULE, "ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';");
    }

    #[test]
    fn fires_on_a_qualified_type() {
        let d = fires(&RULE, "ALTER TYPE app.mood RENAME VALUE 'ok' TO 'fine';");
        assert!(d.message.contains("app.mood"), "{}", d.message);
    }

    #[test]
    fn fires_on_a_type_from_an_earlier_migration() {
        case("ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';")
            .after("CREATE TYPE mood AS ENUM ('ok');")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_a_type_created_in_the_same_file() {
        silent(
            &RULE,
            "CREATE TYPE mood AS ENUM ('ok');\nALTER TYPE mood RENAME VALUE 'ok' TO 'fine';",
        );
    }

    #[test]
    fn silent_on_add_value() {
        silent(&RULE, "ALTER TYPE mood ADD VALUE 'fine';");
    }

    #[test]
    fn silent_on_renaming_the_type() {
        silent(&RULE, "ALTER TYPE mood RENAME TO feeling;");
    }
}

//! `identifier-too-long`: a PostgreSQL identifier over 63 bytes, which the server silently truncates, or a
//! MySQL one over 64 characters, which the server rejects.

use crate::input::Dialect;
use crate::parse::MAX_IDENTIFIER_BYTES;
use crate::parse::mysql::MAX_IDENTIFIER_CHARS;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "identifier-too-long",
    summary: "an identifier over 63 bytes (PostgreSQL) or 64 characters (MySQL)",
    help: "shorten the name (PostgreSQL: at most 63 bytes; MySQL: at most 64 characters)",
    default_severity: Severity::Error,
    category: Category::Style,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1) with only a notice: the object gets a different name than the migration says, two long names can collide, and later migrations or code referring to the full name fail. MySQL and MariaDB refuse names over 64 characters, so the migration fails on the server.",
    instead: "Choose names of at most 63 bytes (multi-byte characters count as several).",
    bad: "CREATE TABLE this_table_name_is_far_too_long_for_postgres_because_it_exceeds_limit (id bigint);",
    good: "CREATE TABLE table_name_within_limit (id bigint);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if cx.migration.dialect == Dialect::MySql {
        for name in &cx.statement.long_identifiers {
            out.push(Finding::new(format!(
                "`{name}` is {} characters: MySQL refuses identifiers over {MAX_IDENTIFIER_CHARS}",
                name.chars().count()
            )));
        }
        return;
    }
    for name in &cx.statement.long_identifiers {
        out.push(Finding::new(format!(
            "`{name}` is {} bytes: PostgreSQL truncates it to `{}`",
            name.len(),
            truncated(name)
        )));
    }
}

fn truncated(name: &str) -> &str {
    let mut end = MAX_IDENTIFIER_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    const LONG: &str = "a_very_long_identifier_that_goes_on_and_on_past_the_postgres_limit";

    #[test]
    fn fires_on_a_long_table_name() {
        let d = fires(&RULE, &format!("CREATE TABLE {LONG} (id bigint);"));
        assert!(d.message.contains("truncates"), "{}", d.message);
    }

    #[test]
    fn fires_on_long_column_index_and_constraint_names() {
        fires(&RULE, &format!("ALTER TABLE t ADD COLUMN {LONG} int;"));
        fires(&RULE, &format!("CREATE INDEX {LONG} ON t (a);"));
        fires(
            &RULE,
            &format!("ALTER TABLE t ADD CONSTRAINT {LONG} CHECK (a > 0) NOT VALID;"),
        );
    }

    #[test]
    fn counts_bytes_not_characters() {
        let name = "é".repeat(32);
        fires(&RULE, &format!("CREATE TABLE \"{name}\" (id bigint);"));
    }

    #[test]
    fn silent_at_exactly_63_bytes() {
        silent(
            &RULE,
            &format!("CREATE TABLE {} (id bigint);", "a".repeat(63)),
        );
    }

    #[test]
    fn fires_on_a_long_quoted_column_name() {
        fires(&RULE, &format!("CREATE TABLE t (\"{LONG}\" int);"));
    }

    #[test]
    fn fires_on_mysql_over_64_characters() {
        let name = "b".repeat(65);
        let d = case(&format!("CREATE TABLE `{name}` (id BIGINT);"))
            .mysql("8.4")
            .fires(&RULE);
        assert!(d.message.contains("65 characters"), "{}", d.message);
        case(&format!("ALTER TABLE t ADD COLUMN {name} INT;"))
            .mysql("10.11-mariadb")
            .fires(&RULE);
        case(&format!("CREATE TABLE {} (id BIGINT);", "b".repeat(64)))
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_short_names() {
        silent(
            &RULE,
            "CREATE TABLE t (id bigint); ALTER TABLE t RENAME TO u;",
        );
    }

    #[test]
    fn silent_on_long_string_literals() {
        silent(&RULE, &format!("INSERT INTO t VALUES ('{LONG}');"));
    }
}

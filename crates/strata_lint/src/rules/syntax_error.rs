//! `syntax-error`: a PostgreSQL file the parser rejects, or a MySQL file that cannot be split into statements
//! (on MySQL the server decides what parses). Strata refuses to run such a file, so the linter reports it as
//! an error that cannot be allowed or lowered.

use strata_core::LineIndex;

use crate::error::ParseError;
use crate::input::{Dialect, Migration, Settings};
use crate::report::{Diagnostic, Severity};
use crate::rules::{Category, Check, Lowering, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "syntax-error",
    summary: "the file does not parse (PostgreSQL) or cannot be split into statements (MySQL)",
    help: "fix the statement; strata rejects such a file before running any of it",
    default_severity: Severity::Error,
    category: Category::Meta,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "A file that does not parse cannot be checked, and would fail part-way if run outside a transaction. psql-only syntax (`COPY ... FROM stdin` with inline data, backslash commands) is not SQL.",
    instead: "Write plain SQL; load data with `INSERT` or `COPY ... FROM` a server-side file.",
    bad: "SELEC 1;",
    good: "SELECT 1;",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::External,
};

/// The diagnostic for a file that does not parse; configuration cannot disable it.
pub(crate) fn diagnostic(
    migration: &Migration,
    lines: &LineIndex,
    error: &ParseError,
    settings: &Settings,
) -> Diagnostic {
    let sql = migration.sql.as_str();
    let (line, column) = lines.line_char_col(sql, error.offset);
    let line_text = lines.line_text(sql, error.offset);
    let severity = settings
        .severity_of(&RULE)
        .unwrap_or(Severity::Error)
        .max(Severity::Error);
    Diagnostic {
        rule: RULE.id,
        severity,
        file: migration.path.clone(),
        line,
        column,
        statement: line_text.trim().to_owned(),
        message: format!("the file does not parse: {error}"),
        help: RULE.help.to_owned(),
        note: None,
        source_line: line_text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_with_the_line_of_the_failing_statement() {
        let d = fires(&RULE, "CREATE TABLE t (id int);\n\nSELEC 1;\n");
        assert_eq!((d.line, d.column), (3, 1));
        assert!(d.message.contains("SELEC"), "{}", d.message);
    }

    #[test]
    fn fires_on_inline_copy_data() {
        fires(&RULE, "COPY t FROM stdin;\n1\tx\n\\.\n");
    }

    #[test]
    fn cannot_be_disabled() {
        let mut settings = crate::Settings::default();
        settings
            .configure(RULE.id, crate::RuleSetting::Disabled)
            .unwrap();
        case("foo bar;").settings(settings).fires(&RULE);
    }

    #[test]
    fn fires_on_a_mysql_delimiter_without_value_but_not_on_what_sqlparser_cannot_read() {
        let d = case("SELECT 1;\nDELIMITER\nSELECT 2;")
            .mysql("8.4")
            .fires(&RULE);
        assert_eq!(d.line, 2);
        case("ALTER TABLE t ENGINE=InnoDB;\nCREATE PROCEDURE p() BEGIN SELECT 1; END;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn silent_on_valid_sql() {
        silent(&RULE, "SELECT 1; CREATE TABLE t (id int);");
    }

    #[test]
    fn silent_on_dollar_quoted_bodies_with_semicolons() {
        silent(
            &RULE,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;",
        );
    }

    #[test]
    fn silent_on_sqlite_statements_sqlparser_cannot_read() {
        case("PRAGMA foreign_keys = ON;").sqlite().silent(&RULE);
    }
}

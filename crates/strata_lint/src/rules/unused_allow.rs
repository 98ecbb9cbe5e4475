//! `unused-allow`: an allow comment naming an unknown rule, or one that suppressed nothing. The engine
//! reports it after all other rules ran.

use crate::input::Dialect;
use crate::report::Severity;
use crate::rules::{Category, Check, Lowering, Rule};

pub(crate) const RULE: Rule = Rule {
    id: "unused-allow",
    summary: "a `strata:allow` comment names an unknown rule, or allows a rule that reported nothing",
    help: "remove the id from the comment, or fix its spelling (`strata explain <id>` lists the rules)",
    default_severity: Severity::Warning,
    category: Category::Meta,
    dialects: &[Dialect::Postgres, Dialect::Sqlite, Dialect::MySql],
    since_postgres: None,
    why: "An allow comment that matches nothing is either a typo (the finding it meant to allow is still reported, or worse, a later real finding of that rule is silenced by a stale allow) or left over after the statement changed.",
    instead: "Keep allow comments exact: one per statement that needs it, naming only rules that fire there, with a reason.",
    bad: "-- strata:allow index-not-concurent typo in the id\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
    good: "-- strata:allow index-not-concurrent the table has 40 rows\nCREATE INDEX users_email_idx ON users (email);",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::External,
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_an_unknown_id() {
        let d = fires(
            &RULE,
            "-- strata:allow index-not-concurent\nCREATE INDEX CONCURRENTLY i ON users (email);",
        );
        assert!(d.message.contains("not a lint rule"), "{}", d.message);
        assert_eq!(d.line, 1);
    }

    #[test]
    fn fires_when_the_allowed_rule_reported_nothing() {
        fires(
            &RULE,
            "-- strata:allow index-not-concurrent\nCREATE INDEX CONCURRENTLY i ON users (email);",
        );
    }

    #[test]
    fn fires_on_an_unused_file_wide_allow() {
        fires(
            &RULE,
            "-- strata:allow-file truncate we never truncate\nSELECT 1;",
        );
    }

    #[test]
    fn fires_for_each_unused_id_of_a_comment_and_not_for_the_used_one() {
        let findings = case("-- strata:allow index-not-concurrent, truncate, drop-table reason\nCREATE INDEX i ON users (email);").findings(&RULE);
        assert_eq!(findings.len(), 2, "{findings:#?}");
    }

    #[test]
    fn silent_for_an_allow_of_a_trace_only_rule() {
        silent(
            &RULE,
            "-- strata:allow table-rewrite measured on a copy: 20 ms\nALTER TABLE users ALTER COLUMN age TYPE bigint;",
        );
    }

    #[test]
    fn silent_when_the_allow_suppressed_a_finding() {
        silent(
            &RULE,
            "-- strata:allow index-not-concurrent tiny table\nCREATE INDEX i ON users (email);",
        );
    }

    #[test]
    fn silent_for_a_used_file_wide_allow_anywhere_in_the_file() {
        silent(
            &RULE,
            "CREATE INDEX i ON users (email);\n-- strata:allow-file index-not-concurrent\n",
        );
    }

    #[test]
    fn an_allow_separated_by_a_blank_line_does_not_apply() {
        let all =
            case("-- strata:allow index-not-concurrent\n\nCREATE INDEX i ON users (email);").lint();
        assert!(
            all.iter().any(|d| d.rule == "index-not-concurrent"),
            "{all:#?}"
        );
        assert!(all.iter().any(|d| d.rule == RULE.id), "{all:#?}");
    }

    #[test]
    fn silent_when_the_allowed_rule_fired_but_is_disabled_in_configuration() {
        let mut settings = crate::Settings::default();
        settings
            .configure("index-not-concurrent", crate::RuleSetting::Disabled)
            .unwrap();
        case("-- strata:allow index-not-concurrent\nCREATE INDEX i ON users (email);")
            .settings(settings)
            .silent(&RULE);
    }
}

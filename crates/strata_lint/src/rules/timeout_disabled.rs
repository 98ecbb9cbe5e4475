//! `timeout-disabled`: `SET lock_timeout = 0` or `SET statement_timeout = 0` in a migration.

use crate::input::Dialect;
use crate::ir::StatementKind;
use crate::report::Severity;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};

pub(crate) const RULE: Rule = Rule {
    id: "timeout-disabled",
    summary: "`SET lock_timeout = 0` or `SET statement_timeout = 0`; MySQL `lock_wait_timeout` back to a year",
    help: "keep the runner's timeouts; raise a timeout to a finite value if a statement needs longer",
    default_severity: Severity::Warning,
    category: Category::Hygiene,
    dialects: &[Dialect::Postgres, Dialect::MySql],
    since_postgres: None,
    why: "strata sets a short `lock_timeout` (MySQL: `lock_wait_timeout`) so a migration gives up (and retries) instead of queueing every query behind a lock it cannot get. `0` (MySQL: `DEFAULT` or 31536000 seconds, a year) means wait forever: one long-running query then stalls the application behind the migration.",
    instead: "Leave the runner's timeouts in place; if one statement legitimately runs long, set `statement_timeout` to a generous finite value for it.",
    bad: "SET lock_timeout = 0;",
    good: "SET statement_timeout = '15min';",
    operation: None,
    trace_only: false,
    lowering: Lowering::Never,
    check: Check::Statement(check),
};

/// `0`, `'0'`, `'0s'`, `'0ms'`, ...
fn is_zero(value: &str) -> bool {
    let digits = value
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .trim();
    !digits.is_empty() && digits.chars().all(|c| c == '0' || c == '.')
}

/// MySQL's `lock_wait_timeout` maximum, which is also its server default: a year, in seconds.
const MYSQL_LOCK_WAIT_FOREVER: u64 = 31_536_000;

/// `DEFAULT` or the maximum: as good as no timeout.
fn is_forever(value: &str) -> bool {
    value.eq_ignore_ascii_case("default")
        || value
            .parse::<u64>()
            .is_ok_and(|seconds| seconds >= MYSQL_LOCK_WAIT_FOREVER)
}

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    if let StatementKind::Set { name, value } = &cx.statement.kind
        && name == "lock_wait_timeout"
        && is_forever(value)
    {
        out.push(Finding::new(format!("`lock_wait_timeout = {value}` waits up to a year for a metadata lock, while every later query on the table queues behind the migration")));
    }
    if let StatementKind::Set { name, value } = &cx.statement.kind
        && matches!(name.as_str(), "lock_timeout" | "statement_timeout")
        && is_zero(value)
    {
        out.push(Finding::new(format!("`{name} = 0` disables the timeout: the migration may wait forever while blocking others")));
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::{case, fires, silent};

    #[test]
    fn fires_on_mysql_lock_wait_timeout_of_a_year() {
        case("SET SESSION lock_wait_timeout = 31536000;")
            .mysql("8.4")
            .fires(&RULE);
        case("SET lock_wait_timeout = DEFAULT;")
            .mysql("10.11-mariadb")
            .fires(&RULE);
        case("SET lock_wait_timeout = 5;")
            .mysql("8.4")
            .silent(&RULE);
    }

    #[test]
    fn fires_on_zero_lock_timeout() {
        fires(&RULE, "SET lock_timeout = 0;");
    }

    #[test]
    fn fires_on_zero_with_units_and_local() {
        fires(&RULE, "SET LOCAL statement_timeout = '0s';");
        fires(&RULE, "SET lock_timeout TO '0ms';");
    }

    #[test]
    fn fires_on_statement_timeout_zero() {
        fires(&RULE, "SET statement_timeout TO 0;");
    }

    #[test]
    fn silent_on_finite_timeouts() {
        silent(
            &RULE,
            "SET lock_timeout = '2s'; SET statement_timeout = 10000;",
        );
    }

    #[test]
    fn silent_on_other_settings() {
        silent(
            &RULE,
            "SET search_path = app; SET idle_in_transaction_session_timeout = 0;",
        );
    }

    #[test]
    fn silent_on_reset() {
        silent(&RULE, "RESET lock_timeout;");
    }
}

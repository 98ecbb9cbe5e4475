//! The trace for people: a terminal report, and Markdown for a pull-request comment. Both say
//! the same things in the same words; only the layout differs. (`--format json` serialises the
//! report itself.)

use std::fmt::Write;

use strata_core::ExpandPhase;
use strata_lint::{Summary, report};

use crate::findings::milliseconds;
use crate::model::{
    Change, ColumnChange, ColumnState, ConstraintChange, Execution, LockHold, LockTaken,
    MigrationTrace, RelationAge, StatementTrace, TraceMode, TraceReport,
};

/// Where and how the trace ran, in one sentence.
fn heading(report: &TraceReport) -> String {
    match report.mode {
        TraceMode::Scratch => format!(
            "Traced on a scratch database holding the schema of the earlier migrations (PostgreSQL {}); it is dropped afterwards.",
            report.server_version
        ),
        TraceMode::InPlace => format!(
            "Traced in place on the configured database (PostgreSQL {}); each migration was rolled back.",
            report.server_version
        ),
    }
}

fn how_it_runs(migration: &MigrationTrace) -> String {
    let mode = if migration.in_transaction {
        "one transaction"
    } else {
        "statement by statement"
    };
    let phase = match migration.phase {
        Some(ExpandPhase::Expand) => "expand phase (`strata up`), ",
        Some(ExpandPhase::Complete) => "complete phase (`strata complete`), ",
        Some(ExpandPhase::Abort) => "abort phase (`strata abort`), ",
        None => "",
    };
    format!("{phase}{mode}, {}", milliseconds(migration.duration))
}

/// Why a statement's locks are special, if they are.
fn execution_note(statement: &StatementTrace) -> Option<String> {
    match &statement.execution {
        Execution::Transaction => None,
        Execution::ConcurrentFormAsPlain { .. } => {
            Some("CONCURRENTLY: locks of the concurrent form (traced as its plain form)".to_owned())
        }
        Execution::OutsideTransaction => {
            Some("ran outside a transaction: its locks ended with it".to_owned())
        }
        Execution::Backfill => Some(
            "online backfill: traced as one statement; `strata up` runs it in key-range batches, each a short transaction"
                .to_owned(),
        ),
        Execution::NotRun { reason } => Some(format!("not run: {reason}")),
    }
}

fn lock_text(lock: &LockTaken) -> String {
    let new = if lock.relation.age == RelationAge::CreatedInMigration {
        " (created by this migration)"
    } else {
        ""
    };
    format!(
        "{} on {} {}{new}: {}",
        lock.mode,
        lock.relation.kind.as_str(),
        lock.relation.name,
        lock.blocks
    )
}

fn hold_text(hold: &LockHold) -> String {
    format!(
        "{} on {} {}: {}, held {} from line {}",
        hold.mode,
        hold.relation.kind.as_str(),
        hold.relation.name,
        hold.blocks,
        milliseconds(hold.held),
        hold.from_line
    )
}

fn column_state(state: &ColumnState) -> String {
    let mut text = state.data_type.clone();
    if state.not_null {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &state.default {
        let _ = write!(text, " DEFAULT {default}");
    }
    text
}

fn column_text(column: &ColumnChange) -> String {
    let name = format!("column {}.{}", column.table.name, column.column);
    match (column.change, &column.before, &column.after) {
        (Change::Added, _, Some(after)) => format!("{name} added: {}", column_state(after)),
        (Change::Changed, Some(before), Some(after)) => {
            let changed = format!(
                "changed: {} -> {}",
                column_state(before),
                column_state(after)
            );
            match &column.renamed_from {
                Some(from) if before == after => {
                    format!(
                        "column {}.{from} renamed to {}",
                        column.table.name, column.column
                    )
                }
                Some(from) => format!(
                    "column {}.{from} renamed to {}, {changed}",
                    column.table.name, column.column
                ),
                None => format!("{name} {changed}"),
            }
        }
        _ => format!("{name} dropped"),
    }
}

fn constraint_text(constraint: &ConstraintChange) -> String {
    let change = match constraint.change {
        Change::Added => "added",
        Change::Changed => "changed",
        Change::Dropped => "dropped",
    };
    let validated = if constraint.validated {
        "validated"
    } else {
        "not validated"
    };
    format!(
        "{} constraint {} on {} {change} ({validated}): {}",
        constraint.kind.as_str(),
        constraint.name,
        constraint.table.name,
        constraint.definition
    )
}

/// Everything a statement changed, one line each.
fn changes(statement: &StatementTrace) -> Vec<String> {
    let mut lines = Vec::new();
    lines.extend(
        statement
            .rewrites
            .iter()
            .map(|r| format!("rewrote {} {} (new relfilenode)", r.kind.as_str(), r.name)),
    );
    lines.extend(
        statement
            .created
            .iter()
            .map(|r| format!("created {} {}", r.kind.as_str(), r.name)),
    );
    lines.extend(
        statement
            .dropped
            .iter()
            .map(|r| format!("dropped {} {}", r.kind.as_str(), r.name)),
    );
    lines.extend(statement.columns.iter().map(column_text));
    lines.extend(statement.constraints.iter().map(constraint_text));
    lines
}

/// The statement's text on one line, shortened.
fn one_line(sql: &str) -> String {
    const LONGEST: usize = 100;
    let text = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= LONGEST {
        return text;
    }
    let mut short: String = text.chars().take(LONGEST - 3).collect();
    short.push_str("...");
    short
}

fn failure_text(migration: &MigrationTrace) -> Option<String> {
    let failure = migration.failure.as_ref()?;
    let code = failure
        .code
        .as_deref()
        .map_or(String::new(), |c| format!("[{c}] "));
    Some(format!(
        "failed at line {}: {code}{}",
        failure.line, failure.message
    ))
}

/// The terminal report: each migration's statements with their locks and changes, the locks held
/// until commit, then the findings as `strata lint` prints them.
pub fn render_human(report: &TraceReport, verbose: bool) -> String {
    let mut out = format!("{}\n", heading(report));
    for migration in &report.migrations {
        let _ = writeln!(
            out,
            "\n{} {}  {}  ({})",
            migration.version,
            migration.name,
            migration.file,
            how_it_runs(migration)
        );
        for statement in &migration.statements {
            let _ = writeln!(
                out,
                "  line {}  {}  {}",
                statement.line,
                milliseconds(statement.duration),
                one_line(&statement.sql)
            );
            if let Some(note) = execution_note(statement) {
                let _ = writeln!(out, "    ({note})");
            }
            for lock in &statement.locks {
                let _ = writeln!(out, "    lock: {}", lock_text(lock));
            }
            for change in changes(statement) {
                let _ = writeln!(out, "    {change}");
            }
        }
        if let Some(failure) = failure_text(migration) {
            let _ = writeln!(out, "  {failure}");
        }
        if !migration.locks_held.is_empty() {
            let until = if migration.in_transaction {
                "until commit"
            } else {
                "until each statement's commit"
            };
            let _ = writeln!(out, "  locks held {until}:");
            for hold in &migration.locks_held {
                let _ = writeln!(out, "    {}", hold_text(hold));
            }
        }
    }
    out.push('\n');
    out.push_str(&report::render_human(&report.diagnostics, verbose));
    out
}

/// Markdown for a pull-request comment: a table of statements per migration, then the findings.
pub fn render_markdown(report: &TraceReport) -> String {
    let mut out = format!("## strata trace\n\n{}\n", heading(report));
    for migration in &report.migrations {
        let _ = writeln!(
            out,
            "\n### `{}` {}\n\n{}: {}\n",
            migration.version,
            migration.name,
            code(&migration.file),
            how_it_runs(migration)
        );
        out.push_str("| line | statement | duration | locks taken | changes |\n");
        out.push_str("|---:|---|---:|---|---|\n");
        for statement in &migration.statements {
            let mut locks: Vec<String> = statement
                .locks
                .iter()
                .map(|lock| escape(&lock_text(lock)))
                .collect();
            locks.extend(execution_note(statement).map(|note| format!("_{}_", escape(&note))));
            let changes: Vec<String> = changes(statement).iter().map(|c| escape(c)).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                statement.line,
                code(&one_line(&statement.sql)),
                milliseconds(statement.duration),
                cell(&locks),
                cell(&changes)
            );
        }
        if let Some(failure) = failure_text(migration) {
            let _ = writeln!(out, "\n**{}**", escape(&failure));
        }
        if !migration.locks_held.is_empty() {
            let until = if migration.in_transaction {
                "until commit"
            } else {
                "until each statement's commit"
            };
            let _ = writeln!(out, "\nLocks held {until}:\n");
            for hold in &migration.locks_held {
                let _ = writeln!(out, "- {}", escape(&hold_text(hold)));
            }
        }
    }
    out.push_str("\n### Findings\n\n");
    let shown: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity > strata_lint::Severity::Info)
        .collect();
    if !shown.is_empty() {
        out.push_str("| severity | rule | where | finding |\n|---|---|---|---|\n");
        for diagnostic in shown {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} |",
                diagnostic.severity,
                diagnostic.rule,
                code(&format!("{}:{}", diagnostic.file, diagnostic.line)),
                cell(&[
                    escape(&diagnostic.message),
                    format!("help: {}", escape(&diagnostic.help))
                ])
            );
        }
        out.push('\n');
    }
    let summary = Summary::of(&report.diagnostics);
    let _ = writeln!(
        out,
        "{} error{}, {} warning{}, {} info{}",
        summary.errors,
        plural(summary.errors),
        summary.warnings,
        plural(summary.warnings),
        summary.infos,
        plural(summary.infos)
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Inline code that survives backticks in the text.
fn code(text: &str) -> String {
    let text = text.replace('|', "\\|");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// Text that would break a table row or turn into HTML, made safe (the text's own backticks
/// stay code spans).
fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('<', "&lt;")
}

/// Several already-escaped lines in one table cell.
fn cell(lines: &[String]) -> String {
    if lines.is_empty() {
        return "—".to_owned();
    }
    lines.join("<br>")
}

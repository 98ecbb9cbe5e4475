//! Terminal output in the style of rustc and ruff.

use std::fmt::Write;

use super::{Diagnostic, Severity, Summary};

/// Renders diagnostics for a terminal: `error[rule]: message`, the location, the source line with a caret
/// under the statement, then notes and help. Infos are shown only when `verbose`.
pub fn render_human(diagnostics: &[Diagnostic], verbose: bool) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics
        .iter()
        .filter(|d| verbose || d.severity > Severity::Info)
    {
        render_one(&mut out, diagnostic);
    }
    let summary = Summary::of(diagnostics);
    let _ = write!(
        out,
        "{} error{}, {} warning{}",
        summary.errors,
        plural(summary.errors),
        summary.warnings,
        plural(summary.warnings)
    );
    if summary.infos > 0 {
        let hint = if verbose {
            ""
        } else {
            " (hidden; use --verbose)"
        };
        let _ = write!(
            out,
            ", {} info{}{hint}",
            summary.infos,
            plural(summary.infos)
        );
    }
    out.push('\n');
    out
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn render_one(out: &mut String, d: &Diagnostic) {
    let gutter = " ".repeat(d.line.to_string().len());
    let _ = writeln!(out, "{}[{}]: {}", d.severity, d.rule, d.message);
    let _ = writeln!(out, "{gutter}--> {}:{}:{}", d.file, d.line, d.column);
    if !d.source_line.is_empty() {
        let column = d.column.saturating_sub(1) as usize;
        let first_statement_line = d.statement.split(['\n', '\r']).next().unwrap_or_default();
        let rest_of_line = d.source_line.chars().count().saturating_sub(column);
        let width = first_statement_line
            .trim_end()
            .chars()
            .count()
            .min(rest_of_line)
            .max(1);
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{} | {}", d.line, d.source_line);
        let _ = writeln!(
            out,
            "{gutter} | {}{}",
            " ".repeat(column),
            "^".repeat(width)
        );
        let _ = writeln!(out, "{gutter} |");
    }
    if let Some(note) = &d.note {
        let _ = writeln!(out, "{gutter} = note: {note}");
    }
    let _ = writeln!(out, "{gutter} = help: {}", d.help);
    out.push('\n');
}

//! `strata adopt`'s report: what was recorded (or would be), what stays pending, and the other
//! tool's table, left as it was.

use std::fmt::Write;

use serde_json::{Value, json};
use strata_core::{AdoptReport, MigrationStatus};

use super::status_json;

/// For people: the recorded migrations, aligned, then what to do next.
pub(crate) fn adopt_text(report: &AdoptReport) -> String {
    let mut out = String::new();
    let tool = report.tool;
    let count = migrations(report.adopted.len());
    if report.adopted.is_empty() && report.already_recorded == 0 {
        let _ = writeln!(
            out,
            "nothing to adopt: {} records no applied migration",
            report.table
        );
    } else if report.adopted.is_empty() {
        let _ = writeln!(
            out,
            "nothing to adopt: strata's history already has the {} {tool} applied",
            migrations(report.already_recorded)
        );
    } else {
        let verb = if report.dry_run {
            "would record"
        } else {
            "recorded"
        };
        let _ = writeln!(
            out,
            "{verb} {count} from {tool} ({}) as applied, without running {}:",
            report.table,
            if report.adopted.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
        let label_width = report
            .adopted
            .iter()
            .map(|a| a.label.len())
            .max()
            .unwrap_or(0);
        let name_width = report
            .adopted
            .iter()
            .map(|a| a.name.len())
            .max()
            .unwrap_or(0);
        for adopted in &report.adopted {
            let applied = adopted
                .applied_at
                .as_deref()
                .unwrap_or("(time not kept by the tool)");
            let _ = writeln!(
                out,
                "  {:label_width$}  {:name_width$}  {applied}",
                adopted.label, adopted.name
            );
        }
        if report.already_recorded > 0 {
            let _ = writeln!(
                out,
                "{} already in strata's history, agreeing with {tool}",
                migrations(report.already_recorded)
            );
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if report.pending > 0 {
        let _ = writeln!(
            out,
            "{} not applied by {tool}: `strata up` applies {}",
            migrations(report.pending),
            if report.pending == 1 { "it" } else { "them" }
        );
    }
    if report.dry_run {
        let _ = writeln!(out, "dry run: nothing was recorded");
    } else {
        let _ = writeln!(
            out,
            "{} was left as it was; once strata runs your migrations, drop it: DROP TABLE {};",
            report.table, report.table
        );
    }
    out
}

/// For machines: the report, and the status of each adopted migration.
pub(crate) fn adopt_json(report: &AdoptReport, statuses: &[MigrationStatus]) -> Value {
    let adopted: Vec<Value> = report
        .adopted
        .iter()
        .map(|a| {
            json!({
                "version": a.label,
                "name": a.name,
                "applied_at": a.applied_at,
            })
        })
        .collect();
    json!({
        "tool": report.tool.as_str(),
        "table": report.table,
        "dry_run": report.dry_run,
        "adopted": adopted,
        "already_recorded": report.already_recorded,
        "pending": report.pending,
        "notes": report.notes,
        "migrations": status_json(statuses),
    })
}

fn migrations(n: usize) -> String {
    format!("{n} migration{}", if n == 1 { "" } else { "s" })
}

//! `strata verify` and `strata drift`: a line per migration with its verdict, then what differs,
//! one object a line; or the JSON document of the contract.

use std::fmt::Write as _;

use serde_json::{Value, json};
use strata_core::schema::Difference;
use strata_core::{Verdict, Verification, VerifyReport};

/// One migration's verdict, its detail, and its differences and notes, indented under it.
pub(crate) fn verification_text(verification: &Verification) -> String {
    let mut out = format!(
        "{} {}: {}\n",
        verification.label,
        verification.name,
        verification.verdict.as_str()
    );
    let context = match verification.verdict {
        Verdict::DownDiffers => "after the down, compared with before the up:",
        Verdict::ReupDiffers => "after the down and up again, compared with after the first up:",
        _ => "",
    };
    if !verification.differences.is_empty() && !context.is_empty() {
        let _ = writeln!(out, "    {context}");
    }
    if let Some(detail) = &verification.detail {
        out.push_str(&indented(detail, "    "));
    }
    out.push_str(&differences_text(
        &verification.differences,
        &verification.notes,
        "    ",
    ));
    out
}

/// Differences, then notes marked as such, one per line, indented.
pub(crate) fn differences_text(
    differences: &[Difference],
    notes: &[Difference],
    indent: &str,
) -> String {
    let mut out = String::new();
    for difference in differences {
        out.push_str(&indented(&difference.to_string(), indent));
    }
    for note in notes {
        out.push_str(&indented(&format!("note: {note}"), indent));
    }
    out
}

fn indented(text: &str, indent: &str) -> String {
    text.trim_end_matches('\n')
        .split('\n')
        .map(|line| format!("{indent}{line}\n"))
        .collect()
}

/// The closing line of `verify`.
pub(crate) fn summary_text(report: &VerifyReport) -> String {
    let checked = checked(report);
    let failed = report.failures();
    let skipped = report.migrations.len() - checked;
    let mut out = format!(
        "verified {checked} migration{}: {} passed, {failed} failed",
        plural(checked),
        checked - failed
    );
    if skipped > 0 {
        let _ = write!(out, ", {skipped} not checked");
    }
    out.push('\n');
    out
}

fn checked(report: &VerifyReport) -> usize {
    report
        .migrations
        .iter()
        .filter(|m| m.verdict != Verdict::NotChecked)
        .count()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The contract's `verify` document.
pub(crate) fn verify_json(report: &VerifyReport) -> Value {
    let migrations: Vec<Value> = report
        .migrations
        .iter()
        .map(|m| {
            json!({
                "version": m.label,
                "name": m.name,
                "verdict": m.verdict,
                "detail": m.detail,
                "differences": differences_json(&m.differences),
                "notes": differences_json(&m.notes),
            })
        })
        .collect();
    json!({
        "migrations": migrations,
        "summary": {"checked": checked(report), "failed": report.failures()},
    })
}

/// Each difference with its readable line (`text`) and its parts.
pub(crate) fn differences_json(differences: &[Difference]) -> Vec<Value> {
    differences
        .iter()
        .map(|difference| {
            let mut value = json!(difference);
            value["text"] = json!(difference.to_string());
            value
        })
        .collect()
}

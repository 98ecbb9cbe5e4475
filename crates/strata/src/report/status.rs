//! `strata status` and the migration lists of `up` and `down`.

use std::fmt::Write as _;

use serde_json::{Value, json};
use strata_core::{MigrationState, MigrationStatus};

/// The contract's `{"migrations": [...]}` entries.
pub(crate) fn status_json(statuses: &[MigrationStatus]) -> Vec<Value> {
    statuses
        .iter()
        .map(|status| {
            let history = status.history.as_ref();
            json!({
                "version": status.label,
                "name": status.name,
                "state": status.state.as_str(),
                "applied_at": history.map(|h| h.applied_at.clone()),
                "checksum": status.checksum,
                "down_checksum": status.down_checksum,
                "execution_ms": history.map(|h| h.execution_ms),
                "failed_statement": status.failed_statement(),
                "failed_direction": status.failed_direction().map(|d| d.as_str()),
                "file_changed": status.file_changed,
                "error": history.and_then(|h| h.error.clone()).filter(|_| status.state == MigrationState::Failed),
                "applied_by": history.map(|h| h.applied_by.clone()),
            })
        })
        .collect()
}

/// An aligned table, one migration a line.
pub(crate) fn status_table(statuses: &[MigrationStatus]) -> String {
    if statuses.is_empty() {
        return "no migrations\n".to_owned();
    }
    let rows: Vec<[String; 4]> = statuses
        .iter()
        .map(|status| {
            let history = status.history.as_ref();
            let state = match status.state {
                MigrationState::Failed => format!(
                    "failed at statement {}{}{}",
                    status.failed_statement().unwrap_or(1),
                    if status.failed_direction() == Some(strata_core::Direction::Down) {
                        " of down"
                    } else {
                        ""
                    },
                    if status.file_changed {
                        " (file changed)"
                    } else {
                        ""
                    }
                ),
                other => other.as_str().to_owned(),
            };
            let applied = match (status.state, history) {
                (MigrationState::Pending, _) | (_, None) => String::new(),
                (_, Some(h)) => format!("{} ({} ms)", h.applied_at, h.execution_ms),
            };
            [status.label.clone(), status.name.clone(), state, applied]
        })
        .collect();
    let headers = ["VERSION", "NAME", "STATE", "APPLIED AT"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: [&str; 4]| {
        let text = format!(
            "{:w0$}  {:w1$}  {:w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(headers);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    let count = |state: MigrationState| statuses.iter().filter(|s| s.state == state).count();
    let _ = writeln!(
        out,
        "\n{} applied, {} pending{}{}{}",
        count(MigrationState::Applied),
        count(MigrationState::Pending),
        plural_note(count(MigrationState::Modified), "modified"),
        plural_note(count(MigrationState::Missing), "missing"),
        plural_note(count(MigrationState::Failed), "failed"),
    );
    out
}

fn plural_note(n: usize, what: &str) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} {what}")
    }
}

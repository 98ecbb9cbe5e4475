//! Backfill progress for people and machines: a progress bar on a terminal (rows done of the
//! estimated total, rate, ETA), a plain line every few seconds when stderr is not a terminal (so
//! logs and CI show it), JSON lines with `--format json`; and the `backfills` of `status`.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use strata_core::backfill::ReplicaLag;
use strata_core::{BackfillEvent, BackfillRecord};

use super::events::blockers_json;

/// How often a plain progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Renders one run's backfill events.
pub(crate) struct BackfillPrinter {
    json: bool,
    bar: Option<ProgressBar>,
    /// When this run started and how many rows were done then, for the rate.
    started: Option<(Instant, u64)>,
    last_line: Option<Instant>,
}

impl BackfillPrinter {
    pub(crate) fn new(json: bool) -> BackfillPrinter {
        BackfillPrinter {
            json,
            bar: None,
            started: None,
            last_line: None,
        }
    }

    pub(crate) fn print(&mut self, event: &BackfillEvent) {
        if self.json {
            let _ = writeln!(std::io::stderr().lock(), "{}", event_json(event));
            return;
        }
        match event {
            BackfillEvent::Started { record, resumed } => {
                self.started = Some((Instant::now(), record.rows_scanned));
                let verb = if *resumed { "resuming" } else { "starting" };
                let from = match &record.last_key {
                    Some(key) if *resumed => format!(" after key ({key})"),
                    _ => String::new(),
                };
                eprintln!(
                    "backfill {}: {verb} on {}{from}, keys up to ({}) by ({}){}",
                    record.name,
                    record.table,
                    record
                        .end_key
                        .as_ref()
                        .map_or("none: the table is empty".to_owned(), ToString::to_string),
                    record.key_columns.join(", "),
                    record
                        .estimated_rows
                        .map(|n| format!(", about {n} rows"))
                        .unwrap_or_default()
                );
                if std::io::stderr().is_terminal() {
                    self.bar = Some(progress_bar(record));
                }
            }
            BackfillEvent::Progress { record, .. } => match &self.bar {
                Some(bar) => {
                    if let Some(total) = record.estimated_rows {
                        bar.set_length(total.max(record.rows_scanned));
                    }
                    bar.set_position(record.rows_scanned);
                    bar.set_message(format!("{} changed", record.rows_changed));
                }
                None => {
                    if self.last_line.is_none_or(|at| at.elapsed() >= LINE_EVERY) {
                        eprintln!("{}", self.progress_line(record));
                        self.last_line = Some(Instant::now());
                    }
                }
            },
            BackfillEvent::LagPause { name, lag, max_lag } => {
                let max_lag = max_lag.as_secs_f64();
                self.note(&match lag {
                    ReplicaLag::Stopped { replica, why } => format!(
                        "backfill {name}: replica {replica} is not replicating ({why}); waiting until it catches up to within max_lag {max_lag:.1}s"
                    ),
                    ReplicaLag::Measured { lag, replica } => format!(
                        "backfill {name}: {} {:.1}s (max_lag {max_lag:.1}s); waiting",
                        replica
                            .as_ref()
                            .map_or("replicas lag".to_owned(), |r| format!("replica {r} lags")),
                        lag.as_secs_f64()
                    ),
                    ReplicaLag::NoReplicas | ReplicaLag::Unwatchable { .. } => return,
                });
            }
            BackfillEvent::LagUnwatched { name, why } => {
                self.note(&format!("backfill {name}: max_lag is not enforced: {why}"))
            }
            BackfillEvent::LockRetry {
                name,
                attempt,
                pause,
                blockers,
            } => {
                let mut message = format!(
                    "backfill {name}: lock not available within lock_timeout (attempt {attempt}); retrying the batch in {} ms",
                    pause.as_millis()
                );
                for blocker in *blockers {
                    let _ = write!(message, "\n    {blocker}");
                }
                self.note(&message);
            }
            BackfillEvent::Finished { record, elapsed } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!(
                    "backfill {}: done, {} rows changed ({} keys scanned) in {:.1}s",
                    record.name,
                    record.rows_changed,
                    record.rows_scanned,
                    elapsed.as_secs_f64()
                );
            }
            _ => {}
        }
    }

    /// A line that does not tear the progress bar.
    fn note(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }

    fn progress_line(&self, record: &BackfillRecord) -> String {
        let mut line = format!("backfill {}: {} rows", record.name, record.rows_scanned);
        if let Some(total) = record.estimated_rows.filter(|&n| n > 0) {
            let percent = (record.rows_scanned as f64 / total as f64 * 100.0).min(100.0);
            let _ = write!(line, " of about {total} ({percent:.0}%)");
        }
        let _ = write!(line, ", {} changed", record.rows_changed);
        if let Some((started, done_before)) = self.started {
            let seconds = started.elapsed().as_secs_f64();
            if seconds > 0.0 {
                let rate =
                    (record.rows_scanned - done_before.min(record.rows_scanned)) as f64 / seconds;
                let _ = write!(line, ", {rate:.0} rows/s");
            }
        }
        if let Some(key) = &record.last_key {
            let _ = write!(line, ", last key ({key})");
        }
        line
    }
}

fn progress_bar(record: &BackfillRecord) -> ProgressBar {
    let (bar, template) = match record.estimated_rows {
        Some(total) => (
            ProgressBar::new(total.max(record.rows_scanned)),
            "{prefix} [{bar:30}] {human_pos}/{human_len} rows, {msg} ({per_sec}, ETA {eta})",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{prefix} {spinner} {human_pos} rows, {msg} ({per_sec})",
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("backfill {}", record.name));
    bar.set_position(record.rows_scanned);
    bar.reset_eta();
    bar
}

/// A backfill's progress, as in `status --format json` and `backfill --format json`.
pub(crate) fn backfill_json(record: &BackfillRecord) -> Value {
    json!({
        "name": record.name,
        "table": record.table,
        "state": record.state,
        "rows_done": record.rows_scanned,
        "rows_changed": record.rows_changed,
        "estimated_total": record.estimated_rows,
        "last_key": record.last_key,
        "end_key": record.end_key,
        "key_columns": record.key_columns,
        "batch_size": record.batch_size,
        "error": record.error,
        "started_at": record.started_at,
        "updated_at": record.updated_at,
    })
}

/// The backfills `status` lists for people: one line each.
pub(crate) fn backfills_text(records: &[BackfillRecord]) -> String {
    let mut out = String::new();
    for record in records {
        let total = record
            .estimated_rows
            .map(|n| format!(" of about {n}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "backfill {} on {}: {}, {} rows{total} done, {} changed, last key ({}), updated {}",
            record.name,
            record.table,
            record.state.as_str(),
            record.rows_scanned,
            record.rows_changed,
            record
                .last_key
                .as_ref()
                .map_or("none yet".to_owned(), ToString::to_string),
            record.updated_at,
        );
        if let Some(error) = &record.error {
            let _ = writeln!(out, "    error: {error}");
        }
    }
    out
}

fn event_json(event: &BackfillEvent) -> Value {
    match event {
        BackfillEvent::Started { record, resumed } => json!({
            "event": "backfill_started", "resumed": resumed, "backfill": backfill_json(record),
        }),
        BackfillEvent::Progress {
            record,
            batch_rows_changed,
            batch_time,
        } => json!({
            "event": "backfill_progress", "batch_rows_changed": batch_rows_changed,
            "batch_ms": batch_time.as_millis(), "backfill": backfill_json(record),
        }),
        BackfillEvent::LagPause { name, lag, max_lag } => {
            let (lag_ms, replica, stopped) = match lag {
                ReplicaLag::Measured { lag, replica } => {
                    (Some(lag.as_millis()), replica.as_deref(), None)
                }
                ReplicaLag::Stopped { replica, why } => (None, Some(replica.as_str()), Some(why)),
                ReplicaLag::NoReplicas | ReplicaLag::Unwatchable { .. } => (None, None, None),
            };
            json!({
                "event": "backfill_lag_pause", "name": name, "lag_ms": lag_ms,
                "max_lag_ms": max_lag.as_millis(), "replica": replica, "stopped": stopped,
            })
        }
        BackfillEvent::LagUnwatched { name, why } => json!({
            "event": "backfill_lag_unwatched", "name": name, "why": why,
        }),
        BackfillEvent::LockRetry {
            name,
            attempt,
            pause,
            blockers,
        } => json!({
            "event": "backfill_lock_retry", "name": name, "attempt": attempt,
            "pause_ms": pause.as_millis(), "blockers": blockers_json(blockers),
        }),
        BackfillEvent::Finished { record, elapsed } => json!({
            "event": "backfill_finished", "elapsed_ms": elapsed.as_millis(), "backfill": backfill_json(record),
        }),
        _ => json!({"event": "backfill_other"}),
    }
}

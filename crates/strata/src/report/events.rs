//! Run events: lines for a person as they happen, or JSON lines on stderr.

use std::io::Write as _;

use serde_json::json;
use strata_core::{Blocker, Direction, Event, IndexState};

use super::backfill::BackfillPrinter;
use crate::args::Format;
use crate::output::outln;

/// Prints run events in the chosen format.
pub(crate) struct EventPrinter {
    format: Format,
    backfill: BackfillPrinter,
}

impl EventPrinter {
    pub(crate) fn new(format: Format) -> EventPrinter {
        EventPrinter {
            format,
            backfill: BackfillPrinter::new(format == Format::Json),
        }
    }

    pub(crate) fn print(&mut self, event: &Event) {
        if let Event::Backfill(event) = event {
            self.backfill.print(event);
            return;
        }
        match self.format {
            // SARIF and GitHub annotations are lint reports; run events stay readable text.
            Format::Human | Format::Sarif | Format::Github | Format::Markdown => self.human(event),
            Format::Json => {
                let line = json_event(event);
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
        }
    }

    fn human(&mut self, event: &Event) {
        match event {
            Event::LockWaiting { holder, waited } => {
                eprintln!(
                    "waiting for the migration lock ({}s so far), held by {holder}",
                    waited.as_secs()
                );
            }
            Event::MigrationStarted { .. } => {}
            Event::StatementStarted { step, number } => {
                let line = step.script.statements.get(number - 1).map_or(0, |s| s.line);
                outln!(
                    "  {} {}: statement {number}/{} (line {line})",
                    step.label,
                    step.name,
                    step.script.statements.len()
                );
            }
            Event::IndexLeftover { index, state, .. } => match state {
                IndexState::Invalid => eprintln!(
                    "  dropping invalid index {} left by an earlier failed build",
                    index.name
                ),
                _ => outln!(
                    "  index {} was already built before the interruption; not building it again",
                    index.name
                ),
            },
            Event::MigrationFinished { step, execution_ms } => {
                let verb = if step.direction == Direction::Up {
                    "applied"
                } else {
                    "reverted"
                };
                outln!("{verb} {} {} ({execution_ms} ms)", step.label, step.name);
            }
            Event::MigrationSkipped { step } => {
                outln!(
                    "skipped {} {}: another process already did it",
                    step.label,
                    step.name
                );
            }
            Event::PreflightWaiting {
                step,
                blockers,
                waited,
            } => {
                eprintln!(
                    "  {} {}: waiting ({:.1}s) for old transactions holding conflicting locks, \
                     rather than queueing behind them:",
                    step.label,
                    step.name,
                    waited.as_secs_f64()
                );
                print_blockers(blockers);
            }
            Event::StatementWaiting {
                step,
                blockers,
                waited,
            } => {
                eprintln!(
                    "  {} {}: still waiting after {:.0}s for:",
                    step.label,
                    step.name,
                    waited.as_secs_f64()
                );
                print_blockers(blockers);
            }
            Event::LockRetry {
                step,
                attempt,
                pause,
                blockers,
            } => {
                eprintln!(
                    "  {} {}: lock not available within lock_timeout (attempt {attempt}); retrying in {} ms",
                    step.label,
                    step.name,
                    pause.as_millis()
                );
                print_blockers(blockers);
            }
            Event::InvalidIndexDropped { index, .. } => {
                eprintln!(
                    "  dropped the invalid index {} left by the failed build",
                    index.name
                );
            }
            Event::Expanded { step, plan } => {
                outln!(
                    "expanded {} {}: the old and the new application versions both work now",
                    step.label,
                    step.name
                );
                for operation in &plan.operations {
                    outln!("    line {}: {}", operation.line, operation.summary);
                }
                outln!(
                    "    the new application uses: {}",
                    super::expansion::search_path_hint(plan)
                );
                outln!(
                    "    once no old version runs: `strata complete`; to undo the expand: `strata abort`"
                );
            }
            Event::PhaseStarted { step, phase } => {
                outln!("{} {} {}", phase_verb(*phase), step.label, step.name);
            }
            Event::Warning { message } => eprintln!("warning: {message}"),
            _ => {}
        }
    }
}

/// "completing", "aborting".
fn phase_verb(phase: strata_core::ExpandPhase) -> &'static str {
    match phase {
        strata_core::ExpandPhase::Expand => "expanding",
        strata_core::ExpandPhase::Complete => "completing",
        strata_core::ExpandPhase::Abort => "aborting",
    }
}

fn json_event(event: &Event) -> serde_json::Value {
    match event {
        Event::Expanded { step, plan } => json!({
            "event": "expanded", "version": step.label, "name": step.name,
            "version_schema": plan.version_schema,
            "search_path": super::expansion::search_path_hint(plan),
            "operations": plan.operations.iter().map(|op| &op.summary).collect::<Vec<_>>(),
        }),
        Event::PhaseStarted { step, phase } => json!({
            "event": "phase_started", "version": step.label, "phase": phase,
        }),
        Event::PhaseFinished {
            step,
            phase,
            execution_ms,
        } => json!({
            "event": "phase_finished", "version": step.label, "phase": phase, "execution_ms": execution_ms,
        }),
        Event::LockWaiting { holder, waited } => json!({
            "event": "lock_waiting", "waited_ms": waited.as_millis(), "holder": holder.to_string(),
            "holder_pid": holder.pid, "holder_application": holder.application, "holder_since": holder.since,
        }),
        Event::MigrationStarted { step } => {
            json!({"event": "migration_started", "version": step.label, "name": step.name, "direction": step.direction})
        }
        Event::StatementStarted { step, number } => {
            json!({"event": "statement_started", "version": step.label, "statement": number})
        }
        Event::IndexLeftover { step, index, state } => json!({
            "event": "index_leftover", "version": step.label, "index": index.name,
            "state": if *state == IndexState::Invalid { "invalid" } else { "valid" },
        }),
        Event::MigrationFinished { step, execution_ms } => {
            json!({"event": "migration_finished", "version": step.label, "direction": step.direction, "execution_ms": execution_ms})
        }
        Event::MigrationSkipped { step } => {
            json!({"event": "migration_skipped", "version": step.label, "direction": step.direction})
        }
        Event::PreflightWaiting {
            step,
            blockers,
            waited,
        } => json!({
            "event": "preflight_waiting", "version": step.label, "waited_ms": waited.as_millis(),
            "blockers": blockers_json(blockers),
        }),
        Event::StatementWaiting {
            step,
            blockers,
            waited,
        } => json!({
            "event": "statement_waiting", "version": step.label, "waited_ms": waited.as_millis(),
            "blockers": blockers_json(blockers),
        }),
        Event::LockRetry {
            step,
            attempt,
            pause,
            blockers,
        } => json!({
            "event": "lock_retry", "version": step.label, "attempt": attempt, "pause_ms": pause.as_millis(),
            "blockers": blockers_json(blockers),
        }),
        Event::InvalidIndexDropped { step, index } => json!({
            "event": "invalid_index_dropped", "version": step.label, "index": index.name,
        }),
        Event::Warning { message } => json!({"event": "warning", "message": message}),
        _ => json!({"event": "other"}),
    }
}

fn print_blockers(blockers: &[Blocker]) {
    for blocker in blockers {
        eprintln!("    {blocker}");
    }
}

/// Blockers as JSON, for events and for errors.
pub(crate) fn blockers_json(blockers: &[Blocker]) -> serde_json::Value {
    blockers
        .iter()
        .map(|b| {
            json!({
                "pid": b.pid, "user": b.user, "application": b.application, "state": b.state,
                "transaction_age_ms": b.transaction_age.map(|age| age.as_millis()), "query": b.query,
            })
        })
        .collect()
}

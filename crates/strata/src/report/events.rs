//! Run events: lines for a person as they happen, or JSON lines on stderr.

use std::io::Write as _;

use serde_json::json;
use strata_core::{Direction, Event, IndexState};

use crate::args::Format;

/// Prints run events in the chosen format.
pub(crate) struct EventPrinter {
    format: Format,
}

impl EventPrinter {
    pub(crate) fn new(format: Format) -> EventPrinter {
        EventPrinter { format }
    }

    pub(crate) fn print(&mut self, event: &Event) {
        match self.format {
            Format::Human => self.human(event),
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
                println!(
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
                _ => println!(
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
                println!("{verb} {} {} ({execution_ms} ms)", step.label, step.name);
            }
            Event::MigrationSkipped { step } => {
                println!(
                    "skipped {} {}: another process already did it",
                    step.label, step.name
                );
            }
            Event::Warning { message } => eprintln!("warning: {message}"),
            _ => {}
        }
    }
}

fn json_event(event: &Event) -> serde_json::Value {
    match event {
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
        Event::Warning { message } => json!({"event": "warning", "message": message}),
        _ => json!({"event": "other"}),
    }
}

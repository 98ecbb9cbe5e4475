//! `--dry-run` output: every statement that would run, in order, with its file and line.

use std::fmt::Write as _;

use serde_json::{Value, json};
use strata_core::{Direction, ExecutionMode, Plan};

/// A SQL script with comments saying where each statement comes from and how it runs.
pub(crate) fn plan_text(plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return "-- nothing to do\n".to_owned();
    }
    let mut out = String::new();
    for setting in &plan.session_settings {
        let _ = writeln!(out, "{setting};");
    }
    if !plan.session_settings.is_empty() {
        out.push('\n');
    }
    for step in &plan.steps {
        let how = match step.script.mode {
            ExecutionMode::Transaction => "in one transaction with its history row".to_owned(),
            ExecutionMode::NoTransaction => format!(
                "outside a transaction, statement by statement: {}",
                step.script.mode_reason
            ),
        };
        let verb = if step.direction == Direction::Up {
            "apply"
        } else {
            "revert"
        };
        let _ = writeln!(out, "-- {verb} {} {} ({how})", step.label, step.name);
        if let Some(expand) = &step.script.expand {
            let _ = writeln!(
                out,
                "-- expand/contract: `strata complete` runs the contract phase later, `strata abort` undoes this one"
            );
            for operation in &expand.operations {
                let _ = writeln!(out, "--   line {}: {}", operation.line, operation.summary);
            }
            let _ = writeln!(
                out,
                "--   the new application uses: {}",
                super::expansion::search_path_hint(expand)
            );
        }
        if step.resuming {
            let _ = writeln!(out, "-- resuming at statement {}", step.resume_at + 1);
        }
        if step.script.mode == ExecutionMode::Transaction {
            for setting in step.prologues.first().into_iter().flatten() {
                let _ = writeln!(out, "{setting};");
            }
        }
        for (index, statement) in step.statements_to_run().iter().enumerate() {
            if step.script.mode == ExecutionMode::NoTransaction {
                for setting in step
                    .prologues
                    .get(step.resume_at + index)
                    .into_iter()
                    .flatten()
                {
                    let _ = writeln!(out, "{setting};");
                }
            }
            let _ = writeln!(out, "-- {}:{}", step.script.path.display(), statement.line);
            let _ = writeln!(out, "{};", statement.sql);
        }
        let record = if step.direction == Direction::Up {
            "record as applied in"
        } else {
            "remove from"
        };
        let _ = writeln!(out, "-- then {record} strata_migrations\n");
    }
    out.truncate(out.trim_end().len() + 1);
    out
}

/// The plan as JSON, for `--dry-run --format json`.
pub(crate) fn plan_json(plan: &Plan) -> Value {
    let migrations: Vec<Value> = plan
        .steps
        .iter()
        .map(|step| {
            let statements: Vec<Value> = step
                .statements_to_run()
                .iter()
                .map(|s| json!({"file": step.script.path, "line": s.line, "sql": s.sql}))
                .collect();
            json!({
                "version": step.label,
                "name": step.name,
                "direction": step.direction,
                "mode": step.script.mode,
                "resume_at_statement": step.resuming.then_some(step.resume_at + 1),
                "settings": step.prologues,
                "statements": statements,
            })
        })
        .collect();
    json!({"dry_run": true, "session_settings": plan.session_settings, "migrations": migrations})
}

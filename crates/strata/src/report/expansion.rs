//! Expand/contract migrations for people and for `--format json`: what `status` lists, what
//! `complete` and `abort` print, and the instructions after an expand.

use std::fmt::Write as _;

use serde_json::{Value, json};
use strata_core::{ExpandPhase, ExpandPlan, Expansion, ExpansionState};

/// The line that tells the new application how to see the new shape.
pub(crate) fn search_path_hint(plan: &ExpandPlan) -> String {
    let base = plan
        .version_schema
        .rsplit_once('_')
        .map_or("public", |(schema, _)| schema);
    format!("SET search_path = {}, {base}", plan.version_schema)
}

/// An open expansion as JSON (`status`, `complete`, `abort`).
pub(crate) fn expansion_json(expansion: &Expansion, state: ExpansionState) -> Value {
    json!({
        "version": expansion.label,
        "name": expansion.name,
        "state": state.as_str(),
        "version_schema": expansion.plan.version_schema,
        "search_path": search_path_hint(&expansion.plan),
        "operations": expansion.plan.operations.iter().map(|op| json!({
            "line": op.line, "summary": op.summary,
        })).collect::<Vec<_>>(),
        "started_at": expansion.started_at,
        "statements_done": expansion.statements_done,
        "error": expansion.error,
    })
}

/// `status`'s section on open expansions, with what to do next for each.
pub(crate) fn expansions_text(expansions: &[(Expansion, ExpansionState)]) -> String {
    let mut out = String::new();
    for (expansion, state) in expansions {
        let next = match state {
            ExpansionState::Expanding => {
                "`strata up` finishes the expand, `strata abort` undoes it"
            }
            ExpansionState::Expanded => {
                "once no old application version runs: `strata complete` (or `strata abort`)"
            }
            ExpansionState::Completing => "`strata complete` finishes the complete phase",
            ExpansionState::Aborting => "`strata abort` finishes the abort",
        };
        let _ = writeln!(
            out,
            "expand/contract {} {}: {} since {}; new application: {}; next: {next}",
            expansion.label,
            expansion.name,
            state.as_str(),
            expansion.started_at,
            search_path_hint(&expansion.plan),
        );
        for operation in &expansion.plan.operations {
            let _ = writeln!(out, "    line {}: {}", operation.line, operation.summary);
        }
        if let Some(error) = &expansion.error {
            let _ = writeln!(out, "    error: {error}");
        }
    }
    out
}

/// What `complete` or `abort` says when it is done.
pub(crate) fn phase_done_text(
    expansion: &Expansion,
    phase: ExpandPhase,
    execution_ms: i64,
) -> String {
    match phase {
        ExpandPhase::Complete => format!(
            "completed {} {} ({execution_ms} ms): the old shape is gone and schema {} with it; \
             the new application's search_path now finds the tables themselves",
            expansion.label, expansion.name, expansion.plan.version_schema
        ),
        _ => format!(
            "aborted {} {} ({execution_ms} ms): the expand is undone and the migration is pending again",
            expansion.label, expansion.name
        ),
    }
}

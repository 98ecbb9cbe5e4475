//! `strata explain <rule-id>`: a lint rule's documentation (why it matters, the lock it takes, the
//! safe recipe, examples). An unknown id exits 2 and names the ids it may have meant.

use std::process::ExitCode;

use strata_lint::registry;

use crate::error::CliError;
use crate::output::out;

pub(crate) fn run(rule_id: &str) -> Result<ExitCode, CliError> {
    if let Some(text) = strata_lint::explain(rule_id) {
        out!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let similar = registry::similar(rule_id);
    let hint = if similar.is_empty() {
        let all: Vec<&str> = registry::RULES.iter().map(|rule| rule.id).collect();
        format!("the rules are: {}", all.join(", "))
    } else {
        format!("did you mean {}?", similar.join(", "))
    };
    Err(CliError::usage(format!("unknown lint rule `{rule_id}`")).with_hint(hint))
}

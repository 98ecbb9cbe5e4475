//! SARIF 2.1.0 for code-scanning UIs.

use serde_json::{Value, json};

use super::{Diagnostic, Severity};
use crate::registry::RULES;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Renders a SARIF 2.1.0 log with one run; every rule of the registry is described in the driver so that
/// results can refer to them by index.
pub fn render_sarif(diagnostics: &[Diagnostic]) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.why },
                "help": { "text": rule.instead },
                "defaultConfiguration": { "level": level(rule.default_severity) },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let rule_index = RULES.iter().position(|r| r.id == d.rule);
            json!({
                "ruleId": d.rule,
                "ruleIndex": rule_index,
                "level": level(d.severity),
                "message": { "text": format!("{}\nhelp: {}", d.message, d.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": d.file },
                        "region": { "startLine": d.line, "startColumn": d.column, "snippet": { "text": d.statement } },
                    }
                }],
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "strata", "version": env!("CARGO_PKG_VERSION"), "rules": rules } },
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).expect("a JSON value serialises")
}

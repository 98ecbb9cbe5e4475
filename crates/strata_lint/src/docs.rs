//! Rule documentation rendered from the registry: `strata explain <id>` and `docs/rules.md`.

use std::fmt::Write;

use crate::facts::pg_lock_fact;
use crate::input::DEFAULT_POSTGRES_VERSION;
use crate::registry::{Category, RULES, Rule, find};

/// The documentation of one rule as Markdown, or `None` for an unknown id.
pub fn explain(rule_id: &str) -> Option<String> {
    find(rule_id).map(|rule| rule_section(rule, "#"))
}

fn rule_section(rule: &Rule, heading: &str) -> String {
    let mut out = String::new();
    let dialects: Vec<String> = rule.dialects.iter().map(ToString::to_string).collect();
    let versions = match rule.since_postgres {
        Some(version) => format!("PostgreSQL {version} and later"),
        None => "all versions".to_owned(),
    };
    let _ = writeln!(out, "{heading} `{}`\n", rule.id);
    let _ = writeln!(out, "{}\n", rule.summary);
    let _ = write!(
        out,
        "- Default severity: `{}`\n- Dialects: {}\n- Applies to: {versions}\n",
        rule.default_severity,
        dialects.join(", ")
    );
    if rule.trace_only {
        out.push_str("- Reported by `strata trace` only\n");
    }
    let _ = writeln!(out, "\n{heading}# Why\n\n{}\n", rule.why);
    if let Some(fact) = rule
        .operation
        .and_then(|op| pg_lock_fact(op, DEFAULT_POSTGRES_VERSION))
    {
        let _ = writeln!(
            out,
            "On PostgreSQL {DEFAULT_POSTGRES_VERSION}: {}\n",
            fact.describe()
        );
    }
    let _ = writeln!(out, "{heading}# Instead\n\n{}\n", rule.instead);
    if !rule.bad.is_empty() {
        let _ = writeln!(
            out,
            "{heading}# Reported\n\n```sql\n{}\n```\n",
            rule.bad.trim()
        );
    }
    if !rule.good.is_empty() {
        let _ = writeln!(
            out,
            "{heading}# Safe\n\n```sql\n{}\n```\n",
            rule.good.trim()
        );
    }
    out
}

/// The whole catalogue as Markdown: what `docs/rules.md` holds.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# Lint rules\n\n<!-- Generated from crates/strata_lint/src/rules by `STRATA_BLESS=1 cargo test -p strata_lint --test docs`. Do not edit by hand. -->\n\n",
    );
    let mut categories: Vec<Category> = RULES.iter().map(|r| r.category).collect();
    categories.sort();
    categories.dedup();
    out.push_str("| id | default | summary |\n|---|---|---|\n");
    for category in &categories {
        for rule in RULES.iter().filter(|r| r.category == *category) {
            let _ = writeln!(
                out,
                "| [`{}`](#{}) | {} | {} |",
                rule.id, rule.id, rule.default_severity, rule.summary
            );
        }
    }
    for category in categories {
        let _ = writeln!(out, "\n## {}\n", category.title());
        for rule in RULES.iter().filter(|r| r.category == category) {
            out.push_str(&rule_section(rule, "###"));
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

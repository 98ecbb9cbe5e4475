//! The generated rule documentation: `docs/rules.md` must match the registry, and `explain` must render
//! every rule. Regenerate with `STRATA_BLESS=1 cargo test -p strata_lint --test docs`.

use std::path::PathBuf;

use strata_lint::registry::RULES;
use strata_lint::{explain, rules_markdown};

fn rules_md() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md")
}

#[test]
fn docs_rules_md_is_up_to_date() {
    let generated = rules_markdown();
    if std::env::var("STRATA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(rules_md(), &generated).expect("write docs/rules.md");
        return;
    }
    let committed = std::fs::read_to_string(rules_md()).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/rules.md is stale: run `STRATA_BLESS=1 cargo test -p strata_lint --test docs` and commit the result"
    );
}

#[test]
fn every_rule_is_documented_with_its_id_examples_and_lock() {
    let markdown = rules_markdown();
    for rule in RULES {
        assert!(
            markdown.contains(&format!("### `{}`", rule.id)),
            "{} missing from docs",
            rule.id
        );
        let text = explain(rule.id).expect("registered rule");
        assert!(
            text.contains(rule.why) && text.contains(rule.instead),
            "{}",
            rule.id
        );
        if rule.operation.is_some() {
            assert!(
                text.contains("On PostgreSQL 15: Takes `"),
                "{} does not state its lock:\n{text}",
                rule.id
            );
        }
    }
}

#[test]
fn explain_names_the_lock_and_rejects_unknown_ids() {
    let text = explain("reindex-not-concurrent").expect("known rule");
    assert!(text.starts_with("# `reindex-not-concurrent`"), "{text}");
    assert!(
        text.contains("`SHARE` on the table") && text.contains("`ACCESS EXCLUSIVE` on its indexes"),
        "{text}"
    );
    assert!(explain("no-such-rule").is_none());
}

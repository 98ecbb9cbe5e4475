//! The one list of rules. Adding a rule is one file under `rules/` and one line here.

pub use crate::rules::{Category, Lowering, Rule};
use crate::rules::{
    add_column_required, add_column_serial, add_column_stored_generated,
    add_column_volatile_default, add_exclusion_constraint, add_primary_key, add_unique_constraint,
    ban_char, change_column_type, check_not_valid, concurrent_in_transaction,
    concurrent_with_other_statements, detach_partition_not_concurrent, disable_safety_checks,
    drop_column, drop_index_not_concurrent, drop_not_null, drop_schema_or_database, drop_table,
    enum_value_used_same_transaction, foreign_key_not_valid, foreign_key_without_index,
    identifier_too_long, index_not_concurrent, lock_table, missing_down, mixed_schema_and_data,
    mysql_blocking_algorithm, mysql_copy_alter, mysql_multiple_ddl,
    not_idempotent_outside_transaction, prefer_bigint, prefer_identity, prefer_jsonb, prefer_text,
    prefer_timestamptz, reindex_not_concurrent, rename_column, rename_enum_value, rename_table,
    set_not_null, sqlite_unsupported_alter, statement_after_access_exclusive, syntax_error,
    table_rewrite, timeout_disabled, transaction_control, truncate, unbatched_update, unused_allow,
    vacuum_full, validate_same_transaction,
};

/// The schema the rules' `bad` and `good` examples assume, as an earlier migration would have created it.
/// Tests lint the examples after it and run them on a live server after it.
pub const EXAMPLE_SCHEMA: &str = "\
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE users (id bigint PRIMARY KEY, email text, name varchar(50), age integer, mood mood, created_at timestamptz NOT NULL DEFAULT now());
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric(10,2));
CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE TABLE items (id bigint NOT NULL, sku text);
CREATE UNIQUE INDEX items_id_key ON items (id);
CREATE TABLE events (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
";

/// Every rule, in catalogue order.
pub const RULES: &[&Rule] = &[
    &index_not_concurrent::RULE,
    &drop_index_not_concurrent::RULE,
    &reindex_not_concurrent::RULE,
    &foreign_key_not_valid::RULE,
    &check_not_valid::RULE,
    &validate_same_transaction::RULE,
    &set_not_null::RULE,
    &add_column_required::RULE,
    &add_column_volatile_default::RULE,
    &add_column_stored_generated::RULE,
    &add_column_serial::RULE,
    &change_column_type::RULE,
    &add_unique_constraint::RULE,
    &add_primary_key::RULE,
    &add_exclusion_constraint::RULE,
    &vacuum_full::RULE,
    &lock_table::RULE,
    &detach_partition_not_concurrent::RULE,
    &statement_after_access_exclusive::RULE,
    &concurrent_in_transaction::RULE,
    &concurrent_with_other_statements::RULE,
    &enum_value_used_same_transaction::RULE,
    &table_rewrite::RULE,
    &foreign_key_without_index::RULE,
    &rename_column::RULE,
    &rename_table::RULE,
    &drop_column::RULE,
    &drop_not_null::RULE,
    &rename_enum_value::RULE,
    &drop_table::RULE,
    &drop_schema_or_database::RULE,
    &truncate::RULE,
    &unbatched_update::RULE,
    &missing_down::RULE,
    &mixed_schema_and_data::RULE,
    &transaction_control::RULE,
    &not_idempotent_outside_transaction::RULE,
    &disable_safety_checks::RULE,
    &timeout_disabled::RULE,
    &prefer_bigint::RULE,
    &prefer_identity::RULE,
    &prefer_text::RULE,
    &prefer_timestamptz::RULE,
    &ban_char::RULE,
    &prefer_jsonb::RULE,
    &identifier_too_long::RULE,
    &mysql_blocking_algorithm::RULE,
    &mysql_copy_alter::RULE,
    &mysql_multiple_ddl::RULE,
    &sqlite_unsupported_alter::RULE,
    &unused_allow::RULE,
    &syntax_error::RULE,
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|rule| rule.id == id)
}

/// Rule ids close to a mistyped `id`, closest first: those within a few edits of it, and those
/// containing it or contained in it (`not-null` finds `set-not-null` and `drop-not-null`).
pub fn similar(id: &str) -> Vec<&'static str> {
    let wanted = id.to_ascii_lowercase();
    let mut close: Vec<(usize, &'static str)> = RULES
        .iter()
        .filter_map(|rule| {
            let distance = edit_distance(&wanted, rule.id);
            let related =
                wanted.len() >= 3 && (rule.id.contains(&wanted) || wanted.contains(rule.id));
            (distance <= 3 || related).then_some((distance, rule.id))
        })
        .collect();
    close.sort();
    close.into_iter().map(|(_, id)| id).collect()
}

/// Levenshtein distance over bytes (rule ids are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.as_bytes().iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn similar_ids_catch_typos_and_fragments() {
        assert_eq!(similar("drop-tabel")[0], "drop-table");
        assert_eq!(similar("index-not-concurent")[0], "index-not-concurrent");
        let not_null = similar("not-null");
        assert!(not_null.contains(&"set-not-null") && not_null.contains(&"drop-not-null"));
        assert!(similar("completely-unrelated-words").is_empty());
    }
    use crate::input::Dialect;
    use crate::rules::Check;

    #[test]
    fn ids_are_unique_kebab_case_and_match_their_file() {
        let mut seen = HashSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            assert!(
                rule.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn every_static_rule_documents_a_bad_and_a_good_example() {
        for rule in RULES.iter().filter(|r| r.category != Category::Meta) {
            assert!(
                !rule.bad.trim().is_empty() && !rule.good.trim().is_empty(),
                "{} lacks examples",
                rule.id
            );
            assert!(
                !rule.why.is_empty() && !rule.instead.is_empty() && !rule.help.is_empty(),
                "{} lacks docs",
                rule.id
            );
        }
    }

    /// The documented bad example is reported by the rule itself, and the good one is not (on the rule's
    /// first dialect: PostgreSQL at the newest version the rule is about, MySQL at the default version).
    #[test]
    fn examples_behave_as_documented() {
        for rule in RULES.iter().filter(|r| {
            !r.trace_only && matches!(r.check, Check::Statement(_) | Check::Migration(_))
        }) {
            let dialect = rule.dialects[0];
            let run = |sql: &str| {
                let mut case = crate::rules::testing::case(sql).without_down();
                if dialect == Dialect::Postgres {
                    case = case.after(EXAMPLE_SCHEMA);
                }
                if dialect == Dialect::Sqlite {
                    case = case.sqlite();
                }
                if dialect == Dialect::MySql {
                    case = case.mysql(&crate::facts::DEFAULT_MYSQL_VERSION.to_string());
                }
                if rule.id == "missing-down" {
                    return case;
                }
                case.postgres(
                    rule.since_postgres
                        .unwrap_or(crate::DEFAULT_POSTGRES_VERSION)
                        .max(crate::DEFAULT_POSTGRES_VERSION),
                )
            };
            let bad = run(rule.bad).findings(rule);
            assert!(!bad.is_empty(), "{}: bad example not reported", rule.id);
            let good = run(rule.good).findings(rule);
            assert!(
                good.is_empty(),
                "{}: good example reported: {good:#?}",
                rule.id
            );
        }
    }
}

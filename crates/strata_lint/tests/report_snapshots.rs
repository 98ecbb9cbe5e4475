//! Snapshots of the human, JSON, SARIF and GitHub renderings of one representative migration directory.

use strata_lint::report::{render_github, render_human, render_json, render_sarif};
use strata_lint::{Dialect, Migration, Settings, lint_directory};

fn diagnostics() -> Vec<strata_lint::Diagnostic> {
    let migrations = [
        Migration::new(
            "migrations/20240101000000_create_users.up.sql",
            "CREATE TABLE users (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  email text,\n  settings json,\n  created_at timestamp\n);\n",
            Dialect::Postgres,
        ),
        Migration::new(
            "migrations/20240201000000_harden_users.up.sql",
            "-- strata:allow drop-column the column was unused since release 12\n\
             ALTER TABLE users DROP COLUMN settings;\n\
             CREATE INDEX users_email_idx ON users (email);\n\
             ALTER TABLE users ALTER COLUMN email SET NOT NULL, ADD COLUMN token uuid DEFAULT gen_random_uuid();\n\
             -- strata:allow truncate\n\
             UPDATE users SET email = lower(email);\n",
            Dialect::Postgres,
        )
        .with_down(false),
    ];
    lint_directory(&migrations, &Settings::default(), None)
}

#[test]
fn human() {
    insta::assert_snapshot!(render_human(&diagnostics(), true));
}

#[test]
fn human_hides_infos_unless_verbose() {
    let verbose = render_human(&diagnostics(), true);
    assert!(verbose.contains("info[prefer-timestamptz]"), "{verbose}");
    let quiet = render_human(&diagnostics(), false);
    assert!(!quiet.contains("info["), "{quiet}");
    assert!(
        quiet.ends_with("1 info (hidden; use --verbose)\n"),
        "{quiet}"
    );
}

#[test]
fn json() {
    insta::assert_snapshot!(render_json(&diagnostics()));
}

#[test]
fn sarif() {
    let sarif: serde_json::Value =
        serde_json::from_str(&render_sarif(&diagnostics())).expect("valid JSON");
    assert_eq!(sarif["version"], "2.1.0");
    insta::assert_json_snapshot!(sarif["runs"][0]["results"]);
}

#[test]
fn github() {
    insta::assert_snapshot!(render_github(&diagnostics()));
}

//! `strata lint`, `strata explain`, the `[lint]` configuration, and the lint gate of `strata up`:
//! stopped by an error finding with nothing applied, `--allow-unsafe`, allow comments, and the live
//! catalog lowering findings on small tables and on tables created earlier in the same run.

mod support;

use std::process::Output;

use support::{Backend, Project, assert_exit, json_document, stderr, stdout};

const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n";
const USERS_DOWN: &str = "DROP TABLE users;\n";
const INDEX: &str = "-- index the emails\nCREATE INDEX users_email ON users (email);\n";
const INDEX_DOWN: &str = "DROP INDEX users_email;\n";

/// A project whose migrations are the users table, then a blocking index build on it.
fn users_then_index(backend: Backend, label: &str) -> Project {
    let project = Project::new(backend, label);
    project
        .migration("1_users.up.sql", USERS)
        .migration("1_users.down.sql", USERS_DOWN)
        .migration("2_index.up.sql", INDEX)
        .migration("2_index.down.sql", INDEX_DOWN);
    project
}

/// A project whose users table is applied already.
fn applied_users(backend: Backend, label: &str) -> Project {
    let project = Project::new(backend, label);
    project
        .migration("1_users.up.sql", USERS)
        .migration("1_users.down.sql", USERS_DOWN);
    assert_exit(&project.run(&["up"]), 0);
    project
}

/// Adds migration 2, renaming `users.email` (with an optional comment line above the statement).
fn rename_email(project: &Project, comment: &str) {
    project
        .migration(
            "2_rename.up.sql",
            &format!("{comment}ALTER TABLE users RENAME COLUMN email TO mail;\n"),
        )
        .migration(
            "2_rename.down.sql",
            "ALTER TABLE users RENAME COLUMN mail TO email;\n",
        );
}

/// `strata` in the project with no database configured: lint is static, PostgreSQL.
fn static_lint(project: &Project, args: &[&str]) -> Output {
    project
        .strata()
        .env_remove("DATABASE_URL")
        .args(args)
        .output()
        .expect("run strata")
}

fn rules_in(document: &serde_json::Value) -> Vec<(String, String)> {
    document["diagnostics"]
        .as_array()
        .expect("diagnostics array")
        .iter()
        .map(|d| {
            (
                d["rule"].as_str().unwrap().to_owned(),
                d["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn directory_lint_in_every_format() {
    let project = users_then_index(Backend::Sqlite, "unused");
    project.migration(
        "3_drop.up.sql",
        "-- strata:irreversible\nALTER TABLE users DROP COLUMN email;\n",
    );
    let human = static_lint(&project, &["lint"]);
    assert_exit(&human, 1);
    insta::assert_snapshot!("lint_human", stdout(&human));

    let json = static_lint(&project, &["lint", "--format", "json"]);
    assert_exit(&json, 1);
    insta::assert_snapshot!("lint_json", stdout(&json));
    assert_eq!(
        json_document(&json)["summary"],
        serde_json::json!({"errors": 1, "warnings": 1, "infos": 0})
    );

    let sarif = static_lint(&project, &["lint", "migrations", "--format", "sarif"]);
    assert_exit(&sarif, 1);
    insta::assert_snapshot!("lint_sarif", stdout(&sarif));

    let github = static_lint(&project, &["lint", "--format", "github"]);
    assert_exit(&github, 1);
    assert!(
        stdout(&github).starts_with(
            "::error file=migrations/2_index.up.sql,line=2,col=1,title=index-not-concurrent::"
        ),
        "{}",
        stdout(&github)
    );
}

#[test]
fn exit_codes_follow_the_contract() {
    let clean = Project::new(Backend::Sqlite, "unused");
    clean
        .migration("1_users.up.sql", USERS)
        .migration("1_users.down.sql", USERS_DOWN);
    let output = static_lint(&clean, &["lint"]);
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "0 errors, 0 warnings\n");

    let project = users_then_index(Backend::Sqlite, "unused");
    assert_exit(&static_lint(&project, &["lint"]), 1);
    let mysql_version = ["lint", "--dialect", "mysql", "--mysql-version", "eight"];
    let mysql = static_lint(&project, &mysql_version);
    assert_exit(&mysql, 2);
    assert!(
        stderr(&mysql).contains("not a MySQL or MariaDB version"),
        "{}",
        stderr(&mysql)
    );
    let missing = static_lint(&project, &["lint", "migrations/9_nothing.up.sql"]);
    assert_exit(&missing, 2);
    assert_exit(&static_lint(&project, &["lint", "--no-such-flag"]), 2);
    let sarif_status = static_lint(&project, &["status", "--format", "sarif"]);
    assert_exit(&sarif_status, 2);
    let catalog_without_database = static_lint(&project, &["lint", "--catalog"]);
    assert_exit(&catalog_without_database, 2);
    assert!(
        stderr(&catalog_without_database).contains("--catalog"),
        "{}",
        stderr(&catalog_without_database)
    );
}

#[test]
fn a_file_is_linted_with_its_earlier_siblings_and_down_files_only_when_named() {
    let project = users_then_index(Backend::Sqlite, "unused");
    project.migration("3_later.up.sql", "CREATE TABLE later (id bigint);\n");
    project.migration("3_later.down.sql", "DROP TABLE later;\nTRUNCATE users;\n");

    // The users table comes from migration 1, so it is existing: the index build blocks writes.
    let file = static_lint(
        &project,
        &["lint", "migrations/2_index.up.sql", "--format", "json"],
    );
    assert_exit(&file, 1);
    assert_eq!(
        rules_in(&json_document(&file)),
        pairs(&[("index-not-concurrent", "error")])
    );

    // Alone (no sibling created the table), the same statement cannot be proven to be on a new table.
    let alone_dir = tempfile::tempdir().unwrap();
    let alone = alone_dir.path().join("index.sql");
    std::fs::write(
        &alone,
        "CREATE TABLE t (a int);\nCREATE INDEX t_a ON t (a);\n",
    )
    .unwrap();
    let fresh = static_lint(
        &project,
        &["lint", alone.to_str().unwrap(), "--format", "json"],
    );
    assert_exit(&fresh, 0);
    assert_eq!(rules_in(&json_document(&fresh)), pairs(&[]));

    // The directory lints up files only; the down file's TRUNCATE shows when it is named.
    let directory = static_lint(&project, &["lint", "--format", "json"]);
    assert!(
        !rules_in(&json_document(&directory))
            .iter()
            .any(|(rule, _)| rule == "truncate"),
        "{}",
        stdout(&directory)
    );
    let down = static_lint(
        &project,
        &["lint", "migrations/3_later.down.sql", "--format", "json"],
    );
    assert_exit(&down, 1);
    assert!(
        rules_in(&json_document(&down)).contains(&("truncate".to_owned(), "error".to_owned())),
        "{}",
        stdout(&down)
    );
}

#[test]
fn explain_prints_the_documentation_and_suggests_close_ids() {
    let project = Project::new(Backend::Sqlite, "unused");
    let known = static_lint(&project, &["explain", "set-not-null"]);
    assert_exit(&known, 0);
    let text = stdout(&known);
    assert!(text.starts_with("# `set-not-null`"), "{text}");
    assert!(text.contains("VALIDATE"), "{text}");

    let unknown = static_lint(&project, &["explain", "set-not-nul"]);
    assert_exit(&unknown, 2);
    assert!(
        stderr(&unknown).contains("unknown lint rule `set-not-nul`")
            && stderr(&unknown).contains("did you mean set-not-null"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn configuration_changes_severities_and_versions() {
    let project = users_then_index(Backend::Sqlite, "unused");
    let config = |lint_table: &str| {
        std::fs::write(project.path("strata.toml"), lint_table).unwrap();
    };

    config("[lint.rules]\n\"index-not-concurrent\" = \"warning\"\n");
    let lowered = static_lint(&project, &["lint", "--format", "json"]);
    assert_exit(&lowered, 0);
    assert_eq!(
        rules_in(&json_document(&lowered)),
        pairs(&[("index-not-concurrent", "warning")])
    );

    config("[lint.rules]\n\"index-not-concurrent\" = \"off\"\n");
    assert_exit(&static_lint(&project, &["lint"]), 0);

    config("[lint]\nsmall_table_rows = 5\n\n[lint.rules]\n\"index-not-concurent\" = \"warning\"\n");
    let unknown_id = static_lint(&project, &["lint"]);
    assert_exit(&unknown_id, 2);
    assert!(
        stderr(&unknown_id).contains("index-not-concurent")
            && stderr(&unknown_id).contains("strata.toml:5"),
        "{}",
        stderr(&unknown_id)
    );

    config("[lint.rules]\n\"index-not-concurrent\" = \"fatal\"\n");
    let bad_severity = static_lint(&project, &["lint"]);
    assert_exit(&bad_severity, 2);
    assert!(
        stderr(&bad_severity).contains("fatal") && stderr(&bad_severity).contains("strata.toml:2"),
        "{}",
        stderr(&bad_severity)
    );

    config("[lint]\npg_verison = 10\n");
    assert_exit(&static_lint(&project, &["lint"]), 2);

    // Before PostgreSQL 11 adding a column with any default rewrites the table.
    std::fs::remove_file(project.path("strata.toml")).unwrap();
    project.remove_migration("2_index.up.sql");
    project.remove_migration("2_index.down.sql");
    project
        .migration(
            "2_flag.up.sql",
            "ALTER TABLE users ADD COLUMN active boolean DEFAULT true;\n",
        )
        .migration("2_flag.down.sql", "ALTER TABLE users DROP COLUMN active;\n");
    let volatile_default = "add-column-volatile-default";
    let on = |args: &[&str]| {
        let mut full = vec!["lint", "--format", "json"];
        full.extend_from_slice(args);
        rules_in(&json_document(&static_lint(&project, &full)))
            .iter()
            .any(|(rule, _)| rule == volatile_default)
    };
    assert!(on(&["--pg-version", "10"]));
    assert!(!on(&["--pg-version", "11"]));
    assert!(!on(&[]));
    config("[lint]\npg_version = 10\n");
    assert!(on(&[]));
    assert!(
        !on(&["--pg-version", "16"]),
        "the flag wins over strata.toml"
    );
}

#[test]
fn up_is_stopped_by_an_error_finding_and_allow_comments_let_it_through() {
    // Renaming a column of a table that exists before the run breaks running code.
    let project = applied_users(Backend::Sqlite, "unused");
    rename_email(&project, "");
    let stopped = project.run(&["up"]);
    assert_exit(&stopped, 1);
    let err = stderr(&stopped);
    assert!(
        err.contains("error[rename-column]") && err.contains("nothing was applied"),
        "{err}"
    );
    assert_eq!(project.history(), [("1".to_owned(), "applied".to_owned())]);

    let dry_run = project.run(&["up", "--dry-run"]);
    assert_exit(&dry_run, 1);
    assert!(
        stderr(&dry_run).contains("would stop here") && stdout(&dry_run).contains("RENAME COLUMN"),
        "{}",
        stderr(&dry_run)
    );

    rename_email(
        &project,
        "-- strata:allow rename-column nothing reads this column yet\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(project.history().len(), 2);
}

#[test]
fn up_on_sqlite_does_not_block_on_tables_created_in_the_same_run() {
    let project = Project::new(Backend::Sqlite, "unused");
    project
        .migration("1_users.up.sql", USERS)
        .migration("1_users.down.sql", USERS_DOWN);
    rename_email(&project, "");
    let (code, document) = project.json(&["up"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(rules_in(&document), pairs(&[("rename-column", "info")]));
}

#[test]
fn lint_of_pending_migrations_uses_the_applied_ones_as_context() {
    let project = applied_users(Backend::Sqlite, "unused");
    project
        .migration("2_rename.up.sql", "ALTER TABLE users RENAME TO people;\n")
        .migration("2_rename.down.sql", "ALTER TABLE people RENAME TO users;\n");
    // An applied migration is context: its findings are not the pending run's.
    project.migration("1_users.up.sql", &format!("{USERS}DROP TABLE legacy;\n"));
    let (code, pending) = project.json(&["lint"]);
    assert_eq!(code, 1);
    assert_eq!(rules_in(&pending), pairs(&[("rename-table", "error")]));
    let (_, all) = project.json(&["lint", "--all"]);
    assert_eq!(
        rules_in(&all),
        pairs(&[("drop-table", "warning"), ("rename-table", "error")])
    );
}

// ---- PostgreSQL: the live catalog during `up` ----

/// The users table, applied, holding `rows` rows that `ANALYZE` has counted.
fn applied_users_with_rows(label: &str, rows: u32) -> Project {
    let project = applied_users(Backend::Postgres, label);
    project.session().query(&format!(
        "INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, {rows}) g; ANALYZE users;"
    ));
    project
        .migration("2_index.up.sql", INDEX)
        .migration("2_index.down.sql", INDEX_DOWN);
    project
}

fn index_exists(project: &Project) -> bool {
    project
        .session()
        .scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_email'")
        == Some("1".into())
}

#[test]
fn up_on_postgres_stops_on_a_large_table_with_nothing_applied() {
    let project = applied_users_with_rows("lint_large", 20_000);
    let (code, document) = project.json(&["up"]);
    assert_eq!(code, 1, "{document}");
    assert_eq!(document["migrations"], serde_json::json!([]));
    assert_eq!(
        rules_in(&document),
        pairs(&[("index-not-concurrent", "error")])
    );
    assert_eq!(document["summary"]["errors"], 1);
    assert!(!index_exists(&project));
    assert_eq!(project.history(), [("1".to_owned(), "applied".to_owned())]);

    let human = project.run(&["up"]);
    assert_exit(&human, 1);
    assert!(
        stderr(&human).contains("error[index-not-concurrent]"),
        "{}",
        stderr(&human)
    );

    let overridden = project.run(&["up", "--allow-unsafe"]);
    assert_exit(&overridden, 0);
    assert!(
        stderr(&overridden).contains("--allow-unsafe: running despite 1 lint error")
            && stderr(&overridden).contains("index-not-concurrent at migrations/2_index.up.sql:2"),
        "{}",
        stderr(&overridden)
    );
    assert!(index_exists(&project));
}

#[test]
fn allow_unsafe_is_a_json_event_too() {
    let project = applied_users_with_rows("lint_unsafe_json", 20_000);
    let output = project
        .strata()
        .args(["up", "--allow-unsafe", "--format", "json"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    // JSON events are one per line on stderr.
    let event: serde_json::Value = stderr(&output)
        .split('\n')
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["event"] == "lint_overridden")
        .unwrap_or_else(|| panic!("no lint_overridden event:\n{}", stderr(&output)));
    assert_eq!(event["summary"]["errors"], 1);
    assert_eq!(event["diagnostics"][0]["rule"], "index-not-concurrent");
}

#[test]
fn up_on_postgres_lowers_findings_on_a_small_table_to_info() {
    let project = applied_users_with_rows("lint_small", 50);
    let (code, document) = project.json(&["up"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(
        rules_in(&document),
        pairs(&[("index-not-concurrent", "info")])
    );
    let diagnostic = &document["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "info");
    let note = diagnostic["note"].as_str().unwrap();
    assert!(
        note.contains("about 50 rows, below small_table_rows (10000)"),
        "{note}"
    );
    assert!(index_exists(&project));
}

#[test]
fn lint_catalog_reads_table_sizes() {
    let project = applied_users_with_rows("lint_catalog", 50);
    let (code, static_lint) = project.json(&["lint"]);
    assert_eq!(code, 1);
    assert_eq!(
        rules_in(&static_lint),
        pairs(&[("index-not-concurrent", "error")])
    );
    let (code, with_catalog) = project.json(&["lint", "--catalog"]);
    assert_eq!(code, 0, "{with_catalog}");
    assert_eq!(
        rules_in(&with_catalog),
        pairs(&[("index-not-concurrent", "info")])
    );
}

#[test]
fn a_fresh_database_is_not_blocked_by_its_history() {
    let project = Project::new(Backend::Postgres, "lint_fresh");
    let tables = 40;
    for n in 1..=tables {
        let up = format!(
            "CREATE TABLE t{n} (id bigint PRIMARY KEY, parent bigint, note varchar(20));\n"
        );
        project
            .migration(&format!("{:03}_t{n}.up.sql", 2 * n - 1), &up)
            .migration(
                &format!("{:03}_t{n}.down.sql", 2 * n - 1),
                &format!("DROP TABLE t{n};\n"),
            );
        let alter = format!(
            "CREATE INDEX t{n}_parent ON t{n} (parent);\n\
             ALTER TABLE t{n} ADD CONSTRAINT t{n}_note CHECK (note <> '');\n\
             ALTER TABLE t{n} ALTER COLUMN note SET NOT NULL;\n"
        );
        project
            .migration(&format!("{:03}_alter_t{n}.up.sql", 2 * n), &alter)
            .migration(
                &format!("{:03}_alter_t{n}.down.sql", 2 * n),
                &format!("DROP INDEX t{n}_parent;\nALTER TABLE t{n} DROP CONSTRAINT t{n}_note;\n"),
            );
    }
    // Statically every later migration touches an existing table: the rules fire.
    let (code, all) = project.json(&["lint", "--all"]);
    assert_eq!(code, 1);
    assert_eq!(all["summary"]["errors"], 3 * tables);

    // During `up` on the empty database those tables are created by the same run: infos only.
    let (code, document) = project.json(&["up"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(document["summary"]["errors"], 0);
    let lowered: Vec<&serde_json::Value> = document["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            ["index-not-concurrent", "check-not-valid", "set-not-null"]
                .contains(&d["rule"].as_str().unwrap())
        })
        .collect();
    assert_eq!(lowered.len(), 3 * tables, "{document}");
    for diagnostic in lowered {
        assert_eq!(diagnostic["severity"], "info");
        assert!(
            diagnostic["note"]
                .as_str()
                .unwrap()
                .contains("was created earlier in this run"),
            "{diagnostic}"
        );
    }
    assert_eq!(project.tables().len(), 40);
}

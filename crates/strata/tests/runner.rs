//! The runner's behaviour, end to end through the `strata` binary, written once and run on
//! every backend (the driver conformance suite).

#[macro_use]
mod support;

use support::{Backend, Project, assert_exit, states, stderr, stdout};

on_every_backend!(
    up_status_down_and_redo,
    up_to_and_down_to,
    modified_applied_migration_blocks_up,
    cosmetic_edits_do_not_modify,
    missing_applied_file_blocks_up,
    out_of_order_is_refused_unless_asked,
    dry_run_changes_nothing,
    down_refuses_irreversible_or_missing_down,
    baseline_records_without_running,
    no_transaction_migration_resumes_at_the_failed_statement,
    resume_refused_when_an_applied_statement_was_edited,
    resolve_settles_a_failed_migration,
    transaction_control_inside_a_migration_is_refused,
    json_output_shapes,
    eight_concurrent_deployers_apply_each_migration_exactly_once,
);

/// Scenarios that need transactional DDL (MySQL and MariaDB commit DDL implicitly: their
/// counterparts are in `tests/mysql.rs`).
mod transactional_ddl {
    use super::*;
    on_backend!(sqlite, Sqlite;
        failed_migration_rolls_back_and_names_file_and_line,
        malformed_sql_is_rejected_before_anything_runs,
        wrapped_begin_commit_runs_as_one_transaction,
    );
    on_backend!(postgres, Postgres;
        failed_migration_rolls_back_and_names_file_and_line,
        malformed_sql_is_rejected_before_anything_runs,
        wrapped_begin_commit_runs_as_one_transaction,
    );
}

fn three_tables(project: &Project) {
    project
        .migration(
            "1_a.up.sql",
            "CREATE TABLE a (id bigint PRIMARY KEY, v text);\nINSERT INTO a VALUES (1, 'x;y');\n",
        )
        .migration("1_a.down.sql", "DROP TABLE a;")
        .migration("2_b.up.sql", "CREATE TABLE b (id bigint);")
        .migration("2_b.down.sql", "DROP TABLE b;")
        .migration("3_c.up.sql", "CREATE TABLE c (id bigint);")
        .migration("3_c.down.sql", "DROP TABLE c;");
}

fn up_status_down_and_redo(backend: Backend) {
    let project = Project::new(backend, "roundtrip");
    three_tables(&project);
    assert_eq!(
        project.states(),
        states(&[("1", "pending"), ("2", "pending"), ("3", "pending")])
    );

    let up = project.run(&["up"]);
    assert_exit(&up, 0);
    assert!(
        stdout(&up).contains("applied 3 migrations"),
        "{}",
        stdout(&up)
    );
    assert_eq!(project.tables(), ["a", "b", "c"]);
    assert_eq!(
        project.query("SELECT v FROM a")[0][0].as_deref(),
        Some("x;y")
    );
    assert_eq!(
        project.history(),
        states(&[("1", "applied"), ("2", "applied"), ("3", "applied")])
    );
    assert_exit(&project.run(&["status", "--check"]), 0);

    let again = project.run(&["up"]);
    assert_exit(&again, 0);
    assert!(stdout(&again).contains("nothing to apply"));

    assert_exit(&project.run(&["down"]), 0);
    assert_eq!(project.tables(), ["a", "b"]);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied"), ("3", "pending")])
    );
    assert_exit(&project.run(&["status", "--check"]), 1);

    assert_exit(&project.run(&["up"]), 0);
    project.query("INSERT INTO c VALUES (42)");
    let redo = project.run(&["redo", "--steps", "2"]);
    assert_exit(&redo, 0);
    assert_eq!(project.tables(), ["a", "b", "c"]);
    assert!(
        project.query("SELECT * FROM c").is_empty(),
        "redo re-created c empty"
    );

    assert_exit(&project.run(&["down", "--all"]), 0);
    assert!(project.tables().is_empty());
    assert!(project.history().is_empty());
}

fn up_to_and_down_to(backend: Backend) {
    let project = Project::new(backend, "targets");
    three_tables(&project);
    assert_exit(&project.run(&["up", "--to", "2"]), 0);
    assert_eq!(project.tables(), ["a", "b"]);
    assert_exit(&project.run(&["up"]), 0);
    assert_exit(&project.run(&["down", "--to", "1"]), 0);
    assert_eq!(project.tables(), ["a"]);

    let unknown = project.run(&["up", "--to", "99"]);
    assert_exit(&unknown, 2);
    assert!(stderr(&unknown).contains("unknown version 99"));
    assert_exit(&project.run(&["down", "--to", "77"]), 2);
    assert_exit(&project.run(&["up", "--to", "x1"]), 2);
    assert_eq!(project.tables(), ["a"], "failed commands change nothing");
}

fn failed_migration_rolls_back_and_names_file_and_line(backend: Backend) {
    let project = Project::new(backend, "failing");
    project
        .migration("1_ok.up.sql", "CREATE TABLE ok (id bigint);")
        .migration(
            "2_bad.up.sql",
            "CREATE TABLE half (id bigint);\n\nINSERT INTO\n  missing_table VALUES (1);\n",
        )
        .migration("3_later.up.sql", "CREATE TABLE later (id bigint);");
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("migration 2 (bad) failed at statement 2"),
        "{err}"
    );
    // PostgreSQL reports the error's position (line 4); SQLite only the statement (line 3).
    let line = if backend == Backend::Postgres { 4 } else { 3 };
    assert!(
        err.contains(&format!("migrations/2_bad.up.sql:{line}")),
        "{err}"
    );
    assert!(err.contains("missing_table"), "{err}");
    assert!(
        err.contains("completed before the failure (still in place): 1"),
        "{err}"
    );
    assert_eq!(
        project.tables(),
        ["ok"],
        "the failed migration's first statement was rolled back; 3 never ran"
    );
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "pending"), ("3", "pending")])
    );

    project.migration("2_bad.up.sql", "CREATE TABLE half (id bigint);\n");
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(project.tables(), ["half", "later", "ok"]);
}

fn malformed_sql_is_rejected_before_anything_runs(backend: Backend) {
    let project = Project::new(backend, "malformed");
    project
        .migration("1_ok.up.sql", "CREATE TABLE ok (id bigint);")
        .migration(
            "2_typo.up.sql",
            "CREATE TABLE t (id bigint);\nCREAT TABLE u (id bigint);\n",
        );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("2_typo.up.sql:2"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(
        project.tables().is_empty(),
        "nothing ran, not even the valid first migration"
    );
    assert!(!project.has_history_table());
    let validate = project.run(&["validate"]);
    assert_exit(&validate, 1);
    assert!(
        stdout(&validate).contains("2_typo.up.sql:2"),
        "{}",
        stdout(&validate)
    );
}

fn modified_applied_migration_blocks_up(backend: Backend) {
    let project = Project::new(backend, "modified");
    three_tables(&project);
    assert_exit(&project.run(&["up", "--to", "2"]), 0);
    project.migration("2_b.up.sql", "CREATE TABLE b (id bigint, extra text);");
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "modified"), ("3", "pending")])
    );

    let up = project.run(&["up"]);
    assert_exit(&up, 1);
    assert!(
        stderr(&up).contains("2 modified (migrations/2_b.up.sql)"),
        "{}",
        stderr(&up)
    );
    assert_eq!(project.tables(), ["a", "b"], "nothing ran");
    let validate = project.run(&["validate"]);
    assert_exit(&validate, 1);
    assert!(stdout(&validate).contains("2 (b) was modified after it was applied"));

    assert_exit(&project.run(&["up", "--ignore-modified"]), 0);
    assert_eq!(project.tables(), ["a", "b", "c"]);
}

fn cosmetic_edits_do_not_modify(backend: Backend) {
    let project = Project::new(backend, "cosmetic");
    project.migration(
        "1_a.up.sql",
        "CREATE TABLE a (id bigint, v text DEFAULT 'x  y');\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    project.migration(
        "1_a.up.sql",
        "\u{feff}-- documented later\r\nCREATE TABLE a (\r\n    id bigint,   /* key */\r\n    v text DEFAULT 'x  y'\r\n);\r\n",
    );
    assert_eq!(project.states(), states(&[("1", "applied")]));
    assert_exit(&project.run(&["validate"]), 0);
    project.migration(
        "1_a.up.sql",
        "CREATE TABLE a (id bigint, v text DEFAULT 'x y');\n",
    );
    assert_eq!(
        project.states(),
        states(&[("1", "modified")]),
        "a change inside a string literal counts"
    );
}

fn missing_applied_file_blocks_up(backend: Backend) {
    let project = Project::new(backend, "missing");
    three_tables(&project);
    assert_exit(&project.run(&["up", "--to", "2"]), 0);
    project.remove_migration("1_a.up.sql");
    project.remove_migration("1_a.down.sql");
    assert_eq!(
        project.states(),
        states(&[("1", "missing"), ("2", "applied"), ("3", "pending")])
    );
    let up = project.run(&["up"]);
    assert_exit(&up, 1);
    assert!(stderr(&up).contains("1 (a) missing"), "{}", stderr(&up));
    assert_exit(&project.run(&["validate"]), 1);
    assert_exit(&project.run(&["up", "--ignore-missing"]), 0);
    assert_eq!(project.tables(), ["a", "b", "c"]);
}

fn out_of_order_is_refused_unless_asked(backend: Backend) {
    let project = Project::new(backend, "order");
    three_tables(&project);
    project.remove_migration("2_b.up.sql");
    project.remove_migration("2_b.down.sql");
    assert_exit(&project.run(&["up"]), 0);
    project.migration("2_b.up.sql", "CREATE TABLE b (id bigint);");
    let up = project.run(&["up"]);
    assert_exit(&up, 1);
    let err = stderr(&up);
    assert!(
        err.contains("2_b.up.sql is older than the newest applied migration 3 (c)"),
        "{err}"
    );
    assert!(err.contains("--out-of-order"), "{err}");
    assert_exit(&project.run(&["validate"]), 1);
    assert_exit(&project.run(&["up", "--out-of-order"]), 0);
    assert_eq!(project.tables(), ["a", "b", "c"]);
}

fn dry_run_changes_nothing(backend: Backend) {
    let project = Project::new(backend, "dryrun");
    three_tables(&project);
    let output = project.run(&["up", "--dry-run"]);
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(
        out.contains("-- migrations/1_a.up.sql:2\nINSERT INTO a VALUES (1, 'x;y');"),
        "{out}"
    );
    assert!(out.find("1_a.up.sql").unwrap() < out.find("2_b.up.sql").unwrap());
    assert!(
        !project.has_history_table(),
        "not even the history table is created"
    );
    assert!(project.tables().is_empty());

    assert_exit(&project.run(&["up"]), 0);
    let down = project.run(&["down", "--steps", "2", "--dry-run"]);
    assert_exit(&down, 0);
    let out = stdout(&down);
    assert!(
        out.find("3_c.down.sql").unwrap() < out.find("2_b.down.sql").unwrap(),
        "{out}"
    );
    assert_eq!(project.tables(), ["a", "b", "c"]);
    let (code, plan) = project.json(&["redo", "--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(plan["migrations"][0]["direction"], "down");
    assert_eq!(plan["migrations"][1]["direction"], "up");
}

fn down_refuses_irreversible_or_missing_down(backend: Backend) {
    let project = Project::new(backend, "irreversible");
    project
        .migration("1_a.up.sql", "CREATE TABLE a (id bigint);")
        .migration("1_a.down.sql", "DROP TABLE a;")
        .migration(
            "2_b.up.sql",
            "-- strata:irreversible\nCREATE TABLE b (id bigint);",
        )
        .migration("3_c.up.sql", "CREATE TABLE c (id bigint);")
        .migration("3_c.down.sql", "-- nothing to undo?\n");
    assert_exit(&project.run(&["up"]), 0);
    let down = project.run(&["down", "--all"]);
    assert_exit(&down, 1);
    let err = stderr(&down);
    assert!(err.contains("2 (b) is declared irreversible"), "{err}");
    assert!(
        err.contains("3 (c) has a down file with no statements"),
        "{err}"
    );
    assert_eq!(project.tables(), ["a", "b", "c"], "nothing was reverted");
    let only_a = project.run(&["down", "--to", "2"]);
    assert_exit(&only_a, 1);
}

fn baseline_records_without_running(backend: Backend) {
    let project = Project::new(backend, "baseline");
    three_tables(&project);
    let output = project.run(&["baseline", "2"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("recorded 2 migrations up to 2"));
    assert!(project.tables().is_empty(), "baseline runs nothing");
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied"), ("3", "pending")])
    );
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(project.tables(), ["c"]);
    assert_exit(&project.run(&["baseline", "9"]), 2);
}

const THREE_STEP_NO_TX: &str = "-- strata:no-transaction\nCREATE TABLE s1 (id bigint);\nCREATE TABLE s2 (id bigint);\nINSERT INTO not_yet VALUES (1);\nCREATE TABLE s4 (id bigint);\n";

fn no_transaction_migration_resumes_at_the_failed_statement(backend: Backend) {
    let project = Project::new(backend, "resume");
    project.migration("1_steps.up.sql", THREE_STEP_NO_TX);
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("failed at statement 3"), "{err}");
    assert!(err.contains("1_steps.up.sql:4"), "{err}");
    assert!(err.contains("resume at statement 3"), "{err}");
    assert_eq!(
        project.tables(),
        ["s1", "s2"],
        "statements before the failure stay applied"
    );
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["migrations"][0]["state"], "failed");
    assert_eq!(status["migrations"][0]["failed_statement"], 3);
    assert_eq!(status["migrations"][0]["file_changed"], false);

    project.migration(
        "1_steps.up.sql",
        &THREE_STEP_NO_TX.replace(
            "INSERT INTO not_yet VALUES (1)",
            "CREATE TABLE s3 (id bigint)",
        ),
    );
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["migrations"][0]["file_changed"], true);
    let resumed = project.run(&["up"]);
    assert_exit(&resumed, 0);
    assert_eq!(
        project.tables(),
        ["s1", "s2", "s3", "s4"],
        "s1 and s2 were not created twice (that would fail)"
    );
    assert_eq!(project.states(), states(&[("1", "applied")]));
}

fn resume_refused_when_an_applied_statement_was_edited(backend: Backend) {
    let project = Project::new(backend, "editedresume");
    project.migration("1_steps.up.sql", THREE_STEP_NO_TX);
    assert_exit(&project.run(&["up"]), 1);
    project.migration(
        "1_steps.up.sql",
        &THREE_STEP_NO_TX.replace("s2 (id bigint)", "s2 (id bigint, x text)"),
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("statement 2 (line 3) was edited after it ran"),
        "{err}"
    );
    assert!(err.contains("strata resolve 1"), "{err}");
    assert_eq!(project.tables(), ["s1", "s2"]);
}

fn resolve_settles_a_failed_migration(backend: Backend) {
    let project = Project::new(backend, "resolve");
    project.migration("1_steps.up.sql", THREE_STEP_NO_TX);
    assert_exit(&project.run(&["up"]), 1);
    assert_exit(&project.run(&["resolve", "1", "--applied"]), 0);
    assert_eq!(project.states(), states(&[("1", "applied")]));
    assert_exit(&project.run(&["resolve", "1", "--applied"]), 1);

    let other = Project::new(backend, "resolve2");
    other.migration("1_steps.up.sql", THREE_STEP_NO_TX);
    assert_exit(&other.run(&["up"]), 1);
    assert_exit(&other.run(&["resolve", "1", "--rolled-back"]), 0);
    assert_eq!(other.states(), states(&[("1", "pending")]));
    assert_exit(&other.run(&["resolve", "7", "--applied"]), 2);
    assert_exit(&other.run(&["resolve", "1"]), 2);
}

fn wrapped_begin_commit_runs_as_one_transaction(backend: Backend) {
    let project = Project::new(backend, "wrapped");
    project.migration(
        "1_w.up.sql",
        "BEGIN;\nCREATE TABLE w (id bigint);\nINSERT INTO w VALUES (1);\nCOMMIT;\n",
    );
    project.migration(
        "2_w.up.sql",
        "BEGIN;\nCREATE TABLE w2 (id bigint);\nINSERT INTO nope VALUES (1);\nCOMMIT;\n",
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("2_w.up.sql:3"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        project.tables(),
        ["w"],
        "the wrapped file's transaction was rolled back as a whole"
    );
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "pending")])
    );
}

fn transaction_control_inside_a_migration_is_refused(backend: Backend) {
    let project = Project::new(backend, "txcontrol");
    project.migration(
        "1_t.up.sql",
        "CREATE TABLE t (id bigint);\nCOMMIT;\nCREATE TABLE u (id bigint);\n",
    );
    // The linter reports this too; the runner refuses it on its own, even when lint is overridden.
    let output = project.run(&["up", "--allow-unsafe"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("1_t.up.sql:2"), "{err}");
    assert!(err.contains("transaction control"), "{err}");
    assert!(project.tables().is_empty());
}

fn json_output_shapes(backend: Backend) {
    let project = Project::new(backend, "json");
    three_tables(&project);
    let (code, up) = project.json(&["up", "--to", "2"]);
    assert_eq!(code, 0);
    let applied = up["migrations"].as_array().unwrap();
    assert_eq!(applied.len(), 2);
    for migration in applied {
        assert_eq!(migration["state"], "applied");
        assert!(
            migration["checksum"]
                .as_str()
                .unwrap()
                .starts_with("v1:sha256:")
        );
        assert!(migration["applied_at"].as_str().unwrap().ends_with('Z'));
        assert!(migration["execution_ms"].is_i64());
        assert!(migration["failed_statement"].is_null());
    }
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["migrations"].as_array().unwrap().len(), 3);
    assert_eq!(status["migrations"][2]["state"], "pending");
    assert!(status["migrations"][2]["applied_at"].is_null());
    assert!(status["backfills"].as_array().unwrap().is_empty());
    let (code, down) = project.json(&["down"]);
    assert_eq!(code, 0);
    assert_eq!(down["migrations"][0]["version"], "2");
    assert_eq!(down["migrations"][0]["state"], "pending");

    project.migration(
        "4_bad.up.sql",
        "CREATE TABLE d (id bigint);\nINSERT INTO nope VALUES (1);",
    );
    let (code, failed) = project.json(&["up"]);
    assert_eq!(code, 1);
    assert_eq!(failed["error"]["file"], "migrations/4_bad.up.sql");
    assert_eq!(failed["error"]["line"], 2);
    let touched: Vec<&str> = failed["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(touched, ["2", "3", "4"]);
}

fn eight_concurrent_deployers_apply_each_migration_exactly_once(backend: Backend) {
    let project = Project::new(backend, "concurrent");
    project.migration(
        "001_log.up.sql",
        "CREATE TABLE applied_log (version int);\nINSERT INTO applied_log VALUES (1);",
    );
    for version in 2..=30 {
        project.migration(
            &format!("{version:03}_m.up.sql"),
            &format!(
                "CREATE TABLE t_{version} (id bigint PRIMARY KEY);\nINSERT INTO applied_log VALUES ({version});"
            ),
        );
    }
    let deployers: Vec<_> = (0..8).map(|_| project.spawn(&["up"])).collect();
    for deployer in deployers {
        assert_exit(&deployer.wait_with_output().expect("wait for strata"), 0);
    }
    let twice =
        project.query("SELECT version FROM applied_log GROUP BY version HAVING count(*) <> 1");
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    assert_eq!(
        project.query("SELECT count(*) FROM applied_log")[0][0].as_deref(),
        Some("30")
    );
    assert_eq!(project.history().len(), 30);
}

//! Online backfills through the real binary, on SQLite and PostgreSQL: exactly once across
//! SIGKILLs, composite keys, the statement's WHERE, rows inserted meanwhile, and bad input
//! refused before anything changes.

mod support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use support::{Backend, Project, assert_exit, stderr};

/// Runs SQL (several statements) on the project's database.
fn exec(project: &Project, sql: &str) {
    if project.backend == Backend::Postgres {
        project.session().query(sql);
    } else {
        rusqlite::Connection::open(project.path("app.db"))
            .and_then(|conn| conn.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// `CREATE TABLE <table> (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)` with ids 1..=rows.
fn seed(project: &Project, table: &str, rows: u32) {
    let insert = if project.backend == Backend::Postgres {
        format!("INSERT INTO {table} (id) SELECT g FROM generate_series(1, {rows}) g")
    } else {
        format!(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) \
             INSERT INTO {table} (id) SELECT i FROM g"
        )
    };
    exec(
        project,
        &format!(
            "CREATE TABLE {table} (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0);\n{insert};"
        ),
    );
}

fn scalar(project: &Project, sql: &str) -> String {
    project.query(sql)[0][0].clone().unwrap_or_default()
}

/// `(n, rows with that n)`, ordered by n.
fn histogram(project: &Project, table: &str) -> Vec<(String, String)> {
    project
        .query(&format!(
            "SELECT n, count(*) FROM {table} GROUP BY n ORDER BY n"
        ))
        .into_iter()
        .map(|row| (row[0].clone().unwrap(), row[1].clone().unwrap()))
        .collect()
}

fn spawn(project: &Project, args: &[&str]) -> Child {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("strata"));
    command
        .current_dir(project.dir.path())
        .env("DATABASE_URL", &project.url)
        .env_remove("PGSSLMODE")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.spawn().expect("spawn strata")
}

fn backfill_states(project: &Project) -> Vec<String> {
    let (_, status) = project.json(&["status"]);
    status["backfills"]
        .as_array()
        .expect("backfills array")
        .iter()
        .map(|b| b["state"].as_str().unwrap().to_owned())
        .collect()
}

fn killed_at_random_points_and_rerun_changes_every_row_exactly_once(backend: Backend) {
    let project = Project::new(backend, "backfill_kill");
    seed(&project, "counters", 6000);
    project.migration(
        "1_bump.up.sql",
        "-- strata:backfill batch=100 sleep=20ms\nUPDATE counters SET n = n + 1;\n",
    );
    let mut rng = rand::rng();
    let mut interrupted_seen = 0;
    for _ in 0..4 {
        let mut child = spawn(&project, &["up"]);
        std::thread::sleep(Duration::from_millis(rng.random_range(250..900)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        if backfill_states(&project) == ["interrupted"] {
            interrupted_seen += 1;
        }
    }
    assert!(
        interrupted_seen > 0,
        "no kill landed inside the backfill; status never showed it interrupted"
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    assert_eq!(
        histogram(&project, "counters"),
        [("1".into(), "6000".into())]
    );
    assert_eq!(project.states(), support::states(&[("1", "applied")]));
    assert!(
        backfill_states(&project).is_empty(),
        "a done backfill is not listed"
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    assert_eq!(
        histogram(&project, "counters"),
        [("1".into(), "6000".into())]
    );
}

fn composite_key_and_where_are_respected(backend: Backend) {
    let project = Project::new(backend, "backfill_composite");
    let insert = if backend == Backend::Postgres {
        "INSERT INTO pairs (a, b) SELECT g % 9, 'k' || g FROM generate_series(1, 1000) g"
    } else {
        "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1000) \
         INSERT INTO pairs (a, b) SELECT i % 9, 'k' || i FROM g"
    };
    exec(
        &project,
        &format!(
            "CREATE TABLE pairs (a integer NOT NULL, b text NOT NULL, n integer NOT NULL DEFAULT 0, PRIMARY KEY (a, b));\n{insert};"
        ),
    );
    let (code, report) = project.json(&[
        "backfill",
        "--sql",
        "UPDATE pairs SET n = n + 1 WHERE a % 2 = 0",
        "--batch",
        "37",
        "--name",
        "even_pairs",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["backfill"]["key_columns"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(report["backfill"]["state"], "done");
    assert_eq!(report["backfill"]["rows_done"], 1000);
    let even = scalar(&project, "SELECT count(*) FROM pairs WHERE a % 2 = 0");
    assert_eq!(report["backfill"]["rows_changed"].to_string(), even);
    assert_eq!(
        project.query("SELECT a % 2, n, count(*) FROM pairs GROUP BY a % 2, n ORDER BY 1"),
        vec![
            vec![Some("0".into()), Some("1".into()), Some(even.clone())],
            vec![
                Some("1".into()),
                Some("0".into()),
                Some((1000 - even.parse::<i32>().unwrap()).to_string())
            ],
        ]
    );
    // The same name again: already done, nothing changes a second time.
    let output = project.run(&[
        "backfill",
        "--sql",
        "UPDATE pairs SET n = n + 1 WHERE a % 2 = 0",
        "--name",
        "even_pairs",
    ]);
    assert_exit(&output, 0);
    assert_eq!(
        scalar(&project, "SELECT count(*) FROM pairs WHERE n > 1"),
        "0"
    );
}

fn rows_inserted_during_the_backfill_are_not_chased(backend: Backend) {
    let project = Project::new(backend, "backfill_inserts");
    seed(&project, "items", 300);
    let mut child = spawn(
        &project,
        &[
            "backfill",
            "--sql",
            "UPDATE items SET n = n + 1",
            "--batch",
            "20",
            "--sleep",
            "60ms",
            "--name",
            "bump_items",
        ],
    );
    let started = Instant::now();
    while project.query("SELECT count(*) FROM items WHERE n = 1")[0][0].as_deref() == Some("0") {
        assert!(started.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    exec(
        &project,
        "INSERT INTO items (id) VALUES (1000), (1001), (1002);",
    );
    let status = child.wait().expect("backfill ends");
    assert!(status.success());
    assert_eq!(
        project.query("SELECT id, n FROM items WHERE id >= 1000 ORDER BY id"),
        vec![
            vec![Some("1000".into()), Some("0".into())],
            vec![Some("1001".into()), Some("0".into())],
            vec![Some("1002".into()), Some("0".into())],
        ],
        "rows above the key range fixed at the start are left alone"
    );
    assert_eq!(
        scalar(
            &project,
            "SELECT count(*) FROM items WHERE id <= 300 AND n = 1"
        ),
        "300"
    );
}

/// Each bad input fails naming the file (and line), and changes nothing.
fn bad_input_is_refused_before_anything_changes(backend: Backend) {
    let project = Project::new(backend, "backfill_bad");
    seed(&project, "t", 50);
    exec(&project, "CREATE TABLE nokey (x integer, n integer);");
    let mut cases = vec![
        ("UPDATE missing SET n = 1;", "there is no table missing", 2),
        ("UPDATE t SET nope = 1;", "nope", 2),
        ("UPDATE nokey SET n = 1;", "has no primary key", 2),
        (
            "UPDATE t SET n = 1;\nUPDATE t SET n = 2;",
            "second statement",
            3,
        ),
        (
            "UPDATE t SET n = 1 RETURNING id;",
            "RETURNING cannot be used",
            2,
        ),
        (
            "UPDATE t SET n = o.n FROM t AS o WHERE o.id = t.id;",
            "UPDATE ... FROM",
            2,
        ),
        ("SELECT 1;", "a backfill is a single UPDATE or DELETE", 2),
        // PostgreSQL and SQLite's own parsers already refuse these as syntax errors.
        ("UPDATE t SET n = 1 ORDER BY id;", "ORDER", 2),
        ("DELETE FROM t LIMIT 5;", "LIMIT", 2),
    ];
    if backend == Backend::Postgres {
        cases.push((
            "DELETE FROM t USING nokey WHERE nokey.x = t.id;",
            "DELETE ... USING",
            2,
        ));
    }
    for (index, (sql, expected, line)) in cases.into_iter().enumerate() {
        let file = format!("{}_bad.up.sql", index + 1);
        project.migration(&file, &format!("-- strata:backfill\n{sql}\n"));
        let output = project.run(&["up"]);
        let message = stderr(&output);
        assert_ne!(output.status.code(), Some(0), "{sql} ran:\n{message}");
        assert!(message.contains(expected), "{sql}: {message}");
        assert!(
            message.contains(&format!("{file}:{line}")),
            "{sql}: the message names {file}:{line}:\n{message}"
        );
        assert_eq!(
            histogram(&project, "t"),
            [("0".into(), "50".into())],
            "{sql}"
        );
        project.remove_migration(&file);
        exec(&project, "DELETE FROM strata_migrations;");
    }
    let output = project.run(&["backfill", "--sql", "UPDATE t SET n = 1 RETURNING id"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("RETURNING cannot be used"));
    let output = project.run(&["backfill", "--sql", "UPDATE nokey SET n = 1", "--key", "x"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("key column x of nokey can be NULL"),
        "{}",
        stderr(&output)
    );
    assert_eq!(histogram(&project, "t"), [("0".into(), "50".into())]);
}

macro_rules! backfill_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn killed_at_random_points_and_rerun_changes_every_row_exactly_once() {
                super::killed_at_random_points_and_rerun_changes_every_row_exactly_once($backend);
            }

            #[test]
            fn composite_key_and_where_are_respected() {
                super::composite_key_and_where_are_respected($backend);
            }

            #[test]
            fn rows_inserted_during_the_backfill_are_not_chased() {
                super::rows_inserted_during_the_backfill_are_not_chased($backend);
            }

            #[test]
            fn bad_input_is_refused_before_anything_changes() {
                super::bad_input_is_refused_before_anything_changes($backend);
            }
        }
    };
}

backfill_suite!(sqlite, Backend::Sqlite);
backfill_suite!(postgres, Backend::Postgres);

/// `pg_stat_replication` on a server without standbys reports no lag: the backfill does not wait.
#[test]
fn postgres_max_lag_without_replicas_does_not_wait() {
    let project = Project::new(Backend::Postgres, "backfill_lag");
    seed(&project, "t", 100);
    let (code, report) = project.json(&[
        "backfill",
        "--sql",
        "UPDATE t SET n = n + 1",
        "--max-lag",
        "1ms",
        "--batch",
        "10",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["backfill"]["rows_changed"], 100);
    assert!(
        report["elapsed_ms"].as_u64().unwrap() < 5000,
        "waited for replicas that do not exist: {report}"
    );
}

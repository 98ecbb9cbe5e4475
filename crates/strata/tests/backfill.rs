//! Online backfills through the real binary, on SQLite, PostgreSQL and MariaDB: exactly once
//! across SIGKILLs, composite keys, the statement's WHERE, rows inserted meanwhile, and bad input
//! refused before anything changes; and how `max_lag` finds replicas on MySQL/MariaDB.

mod support;

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;
use support::{Backend, Project, assert_exit, stderr};

/// Runs SQL (several statements, each ending a line with `;`) on the project's database.
fn exec(project: &Project, sql: &str) {
    match project.backend {
        Backend::Postgres => {
            project.session().query(sql);
        }
        Backend::MySql => {
            let mut session = project.mysql_session();
            for statement in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
                session.query(statement.trim().trim_end_matches(';'));
            }
        }
        Backend::Sqlite => rusqlite::Connection::open(project.path("app.db"))
            .and_then(|conn| conn.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    }
}

/// A query for the numbers 1..=rows as column `i`: a recursive CTE where the database allows
/// that many iterations, the cross product of digits on MySQL/MariaDB (whose recursion stops at
/// 1000 by default).
fn numbers(backend: Backend, rows: u32) -> String {
    if backend == Backend::MySql {
        let digits = (0..10)
            .map(|d| format!("SELECT {d} AS d"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let tables = (0..5)
            .map(|p| format!("({digits}) AS d{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT i FROM (SELECT 1 + d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d + 10000 * d4.d AS i \
             FROM {tables}) AS g WHERE i <= {rows}"
        )
    } else {
        format!(
            "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) SELECT i FROM g"
        )
    }
}

/// `CREATE TABLE <table> (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)` with ids 1..=rows.
fn seed(project: &Project, table: &str, rows: u32) {
    let insert = if project.backend == Backend::Postgres {
        format!("INSERT INTO {table} (id) SELECT g FROM generate_series(1, {rows}) g")
    } else {
        format!(
            "INSERT INTO {table} (id) {}",
            numbers(project.backend, rows)
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
    let insert = match backend {
        Backend::Postgres => {
            "INSERT INTO pairs (a, b) SELECT g % 9, 'k' || g FROM generate_series(1, 1000) g"
                .to_owned()
        }
        Backend::MySql => format!(
            "INSERT INTO pairs (a, b) SELECT i % 9, CONCAT('k', i) FROM ({}) AS g",
            numbers(backend, 1000)
        ),
        Backend::Sqlite => format!(
            "INSERT INTO pairs (a, b) SELECT i % 9, 'k' || i FROM ({})",
            numbers(backend, 1000)
        ),
    };
    // MySQL indexes text columns only with a prefix length.
    let text = if backend == Backend::MySql {
        "varchar(20)"
    } else {
        "text"
    };
    exec(
        &project,
        &format!(
            "CREATE TABLE pairs (a integer NOT NULL, b {text} NOT NULL, n integer NOT NULL DEFAULT 0, PRIMARY KEY (a, b));\n{insert};"
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
    if backend == Backend::MySql {
        cases.extend([
            (
                "UPDATE t JOIN nokey ON nokey.x = t.id SET t.n = 1;",
                "a join cannot be batched",
                2,
            ),
            ("UPDATE t, nokey SET t.n = 1;", "several tables", 2),
            (
                "UPDATE t SET n = no_such_function(id);",
                "no_such_function",
                2,
            ),
        ]);
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
backfill_suite!(mysql, Backend::MySql);

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

/// Each batch asks PostgreSQL to write back the pages it evicts as it goes, so that a
/// table-wide rewrite does not leave gigabytes of dirty pages for the checkpoint's `fsync`:
/// the rows record the setting their batch ran with, and the session is put back afterwards.
#[test]
fn postgres_batches_write_back_evicted_pages_as_they_go() {
    let project = Project::new(Backend::Postgres, "backfill_flush");
    exec(
        &project,
        "CREATE TABLE t (id integer PRIMARY KEY, flush text);\n\
         INSERT INTO t (id) SELECT g FROM generate_series(1, 50) g;\n\
         CREATE TABLE after_backfill (flush text);",
    );
    project
        .migration(
            "1_backfill.up.sql",
            "-- strata:backfill batch=20\n\
             UPDATE t SET flush = current_setting('backend_flush_after') || ' in ' || pg_backend_pid();\n",
        )
        .migration(
            "2_after.up.sql",
            "INSERT INTO after_backfill \
             SELECT current_setting('backend_flush_after') || ' in ' || pg_backend_pid();\n",
        );
    assert_exit(&project.run(&["up"]), 0);
    let during = project.query("SELECT flush, count(*) FROM t GROUP BY flush");
    let [row] = &during[..] else {
        panic!("the batches ran with different settings or sessions: {during:?}");
    };
    let [Some(during), Some(rows)] = &row[..] else {
        panic!("the batches ran with different settings or sessions: {during:?}");
    };
    assert_eq!(rows, "50");
    let session = during
        .strip_prefix("256kB in ")
        .unwrap_or_else(|| panic!("a batch ran without write-back: {during}"));
    assert_eq!(
        project.query("SELECT flush FROM after_backfill"),
        [[Some(format!("0 in {session}"))]],
        "the next migration, in the same session, is back to the server's default"
    );
}

/// A batch that deadlocks with the application's transaction is rolled back by PostgreSQL;
/// strata runs it again once the application's transaction is through, and every row still
/// changes exactly once.
#[test]
fn postgres_batch_chosen_as_deadlock_victim_is_retried() {
    let project = Project::new(Backend::Postgres, "backfill_deadlock");
    seed(&project, "t", 100);
    let app = project.session();
    // The application holds row 50 and never looks for deadlocks first, so strata's backend,
    // which waits for it, is the one that finds the cycle and is rolled back.
    app.query("SET deadlock_timeout = '60s'; BEGIN; SELECT id FROM t WHERE id = 50 FOR UPDATE");
    let strata = project.spawn(&[
        "backfill",
        "--sql",
        "UPDATE t SET n = n + 1",
        "--batch",
        "100",
        // Longer than the server's deadlock_timeout (1 s), so the deadlock is found first,
        // and short enough for a retry to fit the default 30 s retry budget.
        "--lock-timeout",
        "5s",
        "--format",
        "json",
    ]);
    // The batch has changed rows 1 to 49 and waits for row 50.
    let waiting = Instant::now();
    while scalar(
        &project,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strata' AND wait_event_type = 'Lock'",
    ) != "1"
    {
        assert!(
            waiting.elapsed() < Duration::from_secs(20),
            "the batch never waited for row 50"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Now the application wants a row the batch holds: a deadlock. This returns once
    // PostgreSQL has rolled the batch back (after the server's deadlock_timeout).
    app.query("UPDATE t SET n = n WHERE id = 10");
    app.query("COMMIT");
    let output = strata.wait_with_output().expect("wait for strata");
    assert_exit(&output, 0);
    let events = stderr(&output);
    assert!(
        events.contains("backfill_lock_retry"),
        "no retry reported: {events}"
    );
    assert_eq!(
        histogram(&project, "t"),
        [("1".to_owned(), "100".to_owned())]
    );
}

/// `strata backfill --sql <sql> <flags>`.
fn backfill(project: &Project, sql: &str, flags: &[&str]) -> Output {
    let mut args = vec!["backfill", "--sql", sql];
    args.extend_from_slice(flags);
    project.run(&args)
}

/// The run failed with `code`, saying `expected`, and never printed the replica's password.
#[track_caller]
fn assert_refused_without_password(output: &Output, code: i32, expected: &str) {
    assert_exit(output, code);
    let message = stderr(output);
    assert!(message.contains(expected), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

/// MySQL and MariaDB show replication lag only on the replica: with `max_lag` and no replica
/// configured, strata says once that it cannot watch the lag, and does not wait.
#[test]
fn mysql_max_lag_without_replicas_says_so_once() {
    let project = Project::new(Backend::MySql, "backfill_lag");
    seed(&project, "t", 100);
    let output = backfill(
        &project,
        "UPDATE t SET n = n + 1",
        &["--max-lag", "1ms", "--batch", "10"],
    );
    assert_exit(&output, 0);
    let message = stderr(&output);
    assert_eq!(
        message.matches("max_lag is not enforced").count(),
        1,
        "{message}"
    );
    assert!(message.contains("--replica"), "{message}");
    assert_eq!(histogram(&project, "t"), [("1".into(), "100".into())]);
}

/// A replica that cannot be reached fails the backfill before its first batch, naming the
/// replica without its password, whether it comes from `--replica` or from strata.toml.
#[test]
fn mysql_unreachable_replica_is_named_without_its_password() {
    let project = Project::new(Backend::MySql, "backfill_replica");
    seed(&project, "t", 30);
    let replica = "mysql://monitor:s3cret@127.0.0.1:1/";
    let bump = "UPDATE t SET n = n + 1";
    let from_flag = backfill(&project, bump, &["--max-lag", "5s", "--replica", replica]);
    std::fs::write(
        project.path("strata.toml"),
        format!("[backfill]\nreplicas = [\"{replica}\"]\n"),
    )
    .unwrap();
    let from_file = backfill(&project, bump, &["--max-lag", "5s"]);
    for output in [from_flag, from_file] {
        assert_refused_without_password(
            &output,
            1,
            "replica: cannot connect to mysql://monitor:***@127.0.0.1:1/",
        );
        assert_eq!(histogram(&project, "t"), [("0".into(), "30".into())]);
    }
    // Without max_lag the replicas are never contacted.
    assert_exit(&backfill(&project, bump, &[]), 0);
    assert_eq!(histogram(&project, "t"), [("1".into(), "30".into())]);
}

/// Replica URLs are checked before any server is contacted, and only MySQL/MariaDB take them.
#[test]
fn replicas_are_refused_where_they_cannot_be_used() {
    let sqlite = Project::new(Backend::Sqlite, "backfill_replica_sqlite");
    seed(&sqlite, "t", 10);
    let output = backfill(
        &sqlite,
        "UPDATE t SET n = 1",
        &["--replica", "mysql://monitor:s3cret@replica1:3306"],
    );
    assert_refused_without_password(&output, 2, "only on the replica");
    let mysql = Project::new(Backend::MySql, "backfill_replica_url");
    seed(&mysql, "t", 10);
    let output = backfill(
        &mysql,
        "UPDATE t SET n = 1",
        &["--replica", "postgres://monitor:s3cret@replica1:5432"],
    );
    assert_refused_without_password(&output, 2, "backfill replica: invalid MySQL URL");
    assert_eq!(histogram(&mysql, "t"), [("0".into(), "10".into())]);
}

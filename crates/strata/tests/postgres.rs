//! PostgreSQL-only behaviour: connection failures, the advisory lock, crash safety and
//! concurrent deployers.

mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use support::{Backend, Project, assert_exit, states, stderr, stdout};

/// strata's advisory lock key ("strata" in ASCII).
const LOCK_KEY: i64 = 0x7374_7261_7461;

fn strata_with_url(url: &str, args: &[&str]) -> std::process::Output {
    let project = Project::new(Backend::Sqlite, "unused");
    project.migration("1_a.up.sql", "CREATE TABLE a (id bigint);");
    project
        .strata()
        .env("DATABASE_URL", url)
        .args(args)
        .output()
        .expect("run strata")
}

#[test]
fn unreachable_server_wrong_password_and_missing_database_fail_clearly() {
    let unreachable = strata_with_url(
        "postgres://postgres:hunter2-secret@127.0.0.1:1/test",
        &["status"],
    );
    assert_exit(&unreachable, 1);
    let err = stderr(&unreachable);
    assert!(
        err.contains("127.0.0.1:1") || err.contains("127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("hunter2-secret"), "password leaked: {err}");
    assert!(err.contains("hint"), "{err}");

    let wrong = strata_with_url(
        "postgres://strata_pw:not-the-password@127.0.0.1:5432/test",
        &["up"],
    );
    assert_exit(&wrong, 1);
    let err = stderr(&wrong);
    assert!(err.to_lowercase().contains("password"), "{err}");
    assert!(!err.contains("not-the-password"), "password leaked: {err}");

    let missing = strata_with_url(
        "postgres://postgres@127.0.0.1:5432/strata_no_such_database",
        &["status"],
    );
    assert_exit(&missing, 1);
    assert!(
        stderr(&missing).contains("strata_no_such_database"),
        "{}",
        stderr(&missing)
    );
    assert!(
        stderr(&missing).contains("does not exist"),
        "{}",
        stderr(&missing)
    );

    let malformed = strata_with_url(
        "postgres://u:pw-in-bad-url@127.0.0.1:notaport/db",
        &["status"],
    );
    assert_exit(&malformed, 2);
    assert!(
        !stderr(&malformed).contains("pw-in-bad-url"),
        "{}",
        stderr(&malformed)
    );
}

#[test]
fn a_held_lock_bounds_the_wait_and_names_the_holder() {
    let project = Project::new(Backend::Postgres, "lockholder");
    project.migration("1_a.up.sql", "CREATE TABLE a (id bigint);");
    let holder = project.session();
    holder.query(&format!(
        "SET application_name = 'other-deployer'; SELECT pg_advisory_lock({LOCK_KEY})"
    ));
    let started = Instant::now();
    let output = project.run(&["up", "--lock-wait", "2s"]);
    let waited = started.elapsed();
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains(&format!("pid {}", holder.pid())), "{err}");
    assert!(err.contains("other-deployer"), "{err}");
    assert!(err.contains("timed out after 2s"), "{err}");
    assert!(waited < Duration::from_secs(6), "waited {waited:?}");
    assert!(project.tables().is_empty());
    holder.query(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"));
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(project.tables(), ["a"]);

    // With nothing to apply, a deploy needs no lock: it neither waits for the holder nor fails.
    holder.query(&format!("SELECT pg_advisory_lock({LOCK_KEY})"));
    let started = Instant::now();
    let noop = project.run(&["up", "--lock-wait", "2s"]);
    assert_exit(&noop, 0);
    assert!(
        stdout(&noop).contains("nothing to apply"),
        "{}",
        stdout(&noop)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a no-op up waited for the lock"
    );
    holder.query(&format!("SELECT pg_advisory_unlock({LOCK_KEY})"));
}

/// Waits until strata's session is running a query that contains `needle`.
fn wait_for_query(project: &Project, child: &mut Child, needle: &str) {
    let watcher = project.session();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("poll strata") {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().expect("piped"), &mut err)
                .expect("stderr");
            panic!("strata exited ({status}) before running {needle}:\n{err}");
        }
        let running = watcher.scalar(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strata' AND state = 'active' AND query LIKE '%{needle}%'"
        ));
        if running.as_deref() != Some("0") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "strata never ran {needle}; sessions: {:?}",
            watcher.query("SELECT application_name, state, wait_event, query FROM pg_stat_activity WHERE datname = current_database()")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL strata");
    child.wait().expect("reap strata");
}

#[test]
fn killing_up_mid_transaction_leaves_nothing_half_applied() {
    let project = Project::new(Backend::Postgres, "crashtx");
    project.migration(
        "1_slow.up.sql",
        "CREATE TABLE once (id bigint);\nINSERT INTO once VALUES (1);\nSELECT pg_sleep(2);\n",
    );
    let mut child = project.spawn(&["up"]);
    wait_for_query(&project, &mut child, "pg_sleep");
    kill(child);
    assert!(
        project.history().is_empty(),
        "nothing recorded for the killed migration"
    );

    // The server ends the orphaned backend (client_connection_check_interval), which releases
    // the lock and rolls back; the rerun waits for that, then applies the migration once.
    let rerun = project.run(&["up"]);
    assert_exit(&rerun, 0);
    assert_eq!(
        project.query("SELECT count(*) FROM once")[0][0].as_deref(),
        Some("1")
    );
    assert_eq!(project.history(), states(&[("1", "applied")]));
}

#[test]
fn killed_concurrent_index_build_is_dropped_and_rebuilt_on_resume() {
    let project = Project::new(Backend::Postgres, "crashcic");
    project.migration("1_t.up.sql", "CREATE TABLE t (id bigint, v text);\nINSERT INTO t SELECT g, g::text FROM generate_series(1, 100) g;");
    assert_exit(&project.run(&["up"]), 0);
    project.migration(
        "2_idx.up.sql",
        "CREATE TABLE t2 (id bigint);\nCREATE INDEX CONCURRENTLY t_v ON t (v);\nCREATE TABLE t3 (id bigint);\n",
    );
    // A transaction holding a snapshot makes the concurrent build wait for it, so strata can be
    // killed mid-build.
    let blocker = project.session();
    blocker.query("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM t;");
    let mut child = project.spawn(&["up"]);
    wait_for_query(&project, &mut child, "CREATE INDEX CONCURRENTLY");
    kill(child);
    // The server notices the dead client within client_connection_check_interval and ends the
    // build, leaving an INVALID index behind (the blocker is still open, so it cannot finish).
    let watcher = project.session();
    let deadline = Instant::now() + Duration::from_secs(20);
    while watcher
        .scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strata'")
        .as_deref()
        != Some("0")
    {
        assert!(
            Instant::now() < deadline,
            "the orphaned backend never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    blocker.query("COMMIT");
    assert_eq!(
        watcher
            .scalar("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_v'::regclass")
            .as_deref(),
        Some("false")
    );
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["migrations"][1]["state"], "failed");
    assert_eq!(status["migrations"][1]["failed_statement"], 2);

    let resumed = project.run(&["up"]);
    assert_exit(&resumed, 0);
    assert!(
        stderr(&resumed).contains("dropping invalid index t_v"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(
        watcher
            .scalar("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 't_v'::regclass")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        project.tables(),
        ["t", "t2", "t3"],
        "t2 was not created twice"
    );
    assert_eq!(
        project.history(),
        states(&[("1", "applied"), ("2", "applied")])
    );
}

#[test]
fn killed_statement_that_is_unsafe_to_repeat_asks_for_resolve() {
    let project = Project::new(Backend::Postgres, "crashnotx");
    project.migration(
        "1_steps.up.sql",
        "-- strata:no-transaction\nCREATE TABLE n1 (id bigint);\nINSERT INTO n1 SELECT 1 FROM pg_sleep(2);\nCREATE TABLE n2 (id bigint);\n",
    );
    let mut child = project.spawn(&["up"]);
    wait_for_query(&project, &mut child, "pg_sleep");
    kill(child);
    let rerun = project.run(&["up"]);
    assert_exit(&rerun, 1);
    let err = stderr(&rerun);
    assert!(
        err.contains("statement 2 (line 3) was started but its end was never recorded"),
        "{err}"
    );
    assert!(err.contains("strata resolve 1"), "{err}");
    assert_eq!(project.tables(), ["n1"]);
}

fn concurrency_fixture(project: &Project, count: usize) {
    project.migration(
        "001_log.up.sql",
        "CREATE TABLE applied_log (version int);\nINSERT INTO applied_log VALUES (1);",
    );
    for version in 2..=count {
        let sql = if version % 10 == 0 {
            format!(
                "CREATE INDEX CONCURRENTLY t_{0}_v ON t_{0} (v);\nINSERT INTO applied_log VALUES ({version});",
                version - 1
            )
        } else {
            format!(
                "CREATE TABLE t_{version} (id bigint PRIMARY KEY, v text);\nINSERT INTO applied_log VALUES ({version});"
            )
        };
        project.migration(&format!("{version:03}_m.up.sql"), &sql);
    }
}

#[test]
fn eight_concurrent_deployers_apply_each_migration_exactly_once() {
    for round in 0..3 {
        let project = Project::new(Backend::Postgres, &format!("concurrent{round}"));
        concurrency_fixture(&project, 50);
        let children: Vec<Child> = (0..8).map(|_| project.spawn(&["up"])).collect();
        for child in children {
            let output = child.wait_with_output().expect("wait strata");
            assert_exit(&output, 0);
        }
        let duplicates =
            project.query("SELECT version FROM applied_log GROUP BY version HAVING count(*) <> 1");
        assert!(
            duplicates.is_empty(),
            "round {round}: applied more than once: {duplicates:?}"
        );
        assert_eq!(
            project.query("SELECT count(DISTINCT version) FROM applied_log")[0][0].as_deref(),
            Some("50")
        );
        let history = project.history();
        assert_eq!(history.len(), 50);
        assert!(
            history.iter().all(|(_, state)| state == "applied"),
            "{history:?}"
        );
        let invalid = project.query("SELECT count(*) FROM pg_index WHERE NOT indisvalid");
        assert_eq!(invalid[0][0].as_deref(), Some("0"));
    }
}

#[test]
fn sessions_identify_as_strata_and_dry_run_shows_session_settings() {
    let project = Project::new(Backend::Postgres, "session");
    project.migration(
        "1_a.up.sql",
        "CREATE TABLE a (id bigint);\nINSERT INTO a SELECT 1 FROM pg_sleep(0.5);",
    );
    let dry = project.run(&["up", "--dry-run"]);
    assert_exit(&dry, 0);
    assert!(stdout(&dry).starts_with(
        "SET application_name = 'strata';\nSET client_connection_check_interval = '1s';"
    ));
    // wait_for_query matches application_name = 'strata': strata's session is identifiable.
    let mut child = project.spawn(&["up"]);
    wait_for_query(&project, &mut child, "pg_sleep");
    let output = child.wait_with_output().expect("wait");
    assert_exit(&output, 0);
}

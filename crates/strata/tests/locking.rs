//! Lock-safe execution on PostgreSQL: a migration never stalls the application behind a lock
//! queue for longer than `lock_timeout`, retries within its budget, names who blocks it, and
//! cleans up after failed concurrent index builds.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{Backend, Project, assert_exit, states, stderr};

fn users_table(project: &Project) {
    project.migration(
        "1_users.up.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\nINSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 100) g;",
    );
    assert_exit(&project.run(&["up"]), 0);
    project.migration("2_email.up.sql", "ALTER TABLE users ADD COLUMN email text;");
}

/// Runs `SELECT` on `users` in a loop from its own session until stopped; returns the longest
/// time one query took.
fn reader(project: &Project, stop: Arc<AtomicBool>) -> thread::JoinHandle<Duration> {
    let session = project.session();
    thread::spawn(move || {
        let mut longest = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            session.query("SELECT count(*) FROM users");
            longest = longest.max(started.elapsed());
            thread::sleep(Duration::from_millis(20));
        }
        longest
    })
}

#[test]
fn readers_stall_at_most_lock_timeout_and_the_blocker_is_named() {
    let project = Project::new(Backend::Postgres, "readerstall");
    users_table(&project);
    let blocker = project.session();
    blocker.query("SET application_name = 'long-report'");
    blocker.query("BEGIN; SELECT count(*) FROM users;");
    let stop = Arc::new(AtomicBool::new(false));
    let reads = reader(&project, Arc::clone(&stop));

    let output = project
        .spawn(&["up", "--lock-timeout", "1s", "--lock-retry-budget", "6s"])
        .wait_with_output()
        .expect("wait for strata");
    stop.store(true, Ordering::Relaxed);
    let longest_read = reads.join().expect("reader");

    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("lock not available within lock_timeout (attempt 1); retrying"),
        "{err}"
    );
    assert!(err.contains("55P03"), "{err}");
    assert!(
        err.contains(&format!("blocked by pid {}", blocker.pid())),
        "{err}"
    );
    assert!(err.contains("application 'long-report'"), "{err}");
    assert!(
        err.contains("query: BEGIN; SELECT count(*) FROM users;"),
        "{err}"
    );
    assert!(
        longest_read < Duration::from_millis(1600),
        "a reader waited {longest_read:?} behind the migration (lock_timeout 1s)"
    );
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "pending")])
    );

    blocker.query("COMMIT");
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied")])
    );
}

#[test]
fn a_blocker_that_ends_during_the_retry_window_lets_the_migration_through() {
    let project = Project::new(Backend::Postgres, "blockerends");
    users_table(&project);
    let blocker = project.session();
    blocker.query("BEGIN; SELECT count(*) FROM users;");
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2500));
        blocker.query("COMMIT");
    });
    let output = project
        .spawn(&[
            "up",
            "--lock-timeout",
            "500ms",
            "--lock-retry-budget",
            "20s",
        ])
        .wait_with_output()
        .expect("wait for strata");
    release.join().expect("blocker");
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(
        err.contains("retrying") || err.contains("waiting"),
        "strata waited for the blocker: {err}"
    );
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied")])
    );
}

#[test]
fn concurrent_statements_run_without_lock_timeout_and_report_what_they_wait_for() {
    let project = Project::new(Backend::Postgres, "cicwait");
    users_table(&project);
    project.remove_migration("2_email.up.sql");
    project.migration(
        "2_index.up.sql",
        "CREATE INDEX CONCURRENTLY users_name ON users (name);",
    );
    let dry = project.run(&["up", "--dry-run"]);
    assert!(support::stdout(&dry).contains("SET lock_timeout = '0ms';\nSET statement_timeout = '0ms';\n-- migrations/2_index.up.sql:1"), "{}", support::stdout(&dry));

    // A transaction holding a snapshot makes the build wait longer than lock_timeout: it must
    // keep waiting (not time out and loop), and say what it waits for.
    let blocker = project.session();
    blocker.query(
        "SET application_name = 'old-snapshot'; BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1;",
    );
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_millis(3500));
        blocker.query("COMMIT");
    });
    let output = project
        .spawn(&["up", "--lock-timeout", "500ms"])
        .wait_with_output()
        .expect("wait for strata");
    release.join().expect("blocker");
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(err.contains("still waiting after"), "{err}");
    assert!(err.contains("application 'old-snapshot'"), "{err}");
    assert_eq!(
        project
            .session()
            .scalar(
                "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'users_name'::regclass"
            )
            .as_deref(),
        Some("true")
    );
}

#[test]
fn failed_unique_concurrent_build_leaves_no_invalid_index() {
    let project = Project::new(Backend::Postgres, "uniquecic");
    project.migration(
        "1_emails.up.sql",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, 'a@x'), (2, 'a@x'), (3, 'b@x');",
    );
    assert_exit(&project.run(&["up"]), 0);
    project.migration(
        "2_unique.up.sql",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS accounts_email ON accounts (email);",
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("23505"), "{err}");
    assert!(
        err.contains("dropped the invalid index accounts_email"),
        "{err}"
    );
    let session = project.session();
    assert_eq!(
        session
            .scalar("SELECT count(*) FROM pg_class WHERE relname = 'accounts_email'")
            .as_deref(),
        Some("0")
    );
    let (_, status) = project.json(&["status"]);
    assert!(status["invalid_indexes"].as_array().unwrap().is_empty());

    session.query("DELETE FROM accounts WHERE id = 2");
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        session.scalar("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'accounts_email'::regclass").as_deref(),
        Some("true")
    );
}

#[test]
fn status_reports_invalid_indexes_left_by_others() {
    let project = Project::new(Backend::Postgres, "invalidstatus");
    project.migration(
        "1_t.up.sql",
        "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1), (1);",
    );
    assert_exit(&project.run(&["up"]), 0);
    let session = project.session();
    assert!(
        session
            .try_query("CREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a)")
            .is_err()
    );
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["invalid_indexes"], serde_json::json!(["public.t_a"]));
    let human = project.run(&["status"]);
    assert!(
        stderr(&human).contains("index public.t_a is INVALID"),
        "{}",
        stderr(&human)
    );
}

//! Expand/contract migrations through the real binary on PostgreSQL: during the window between
//! `up` and `complete`, the old application (the tables as they were) and the new one
//! (`search_path` starting with the version schema) both read and write, and each sees the
//! other's writes; `complete` leaves the new shape, `abort` the old one with nothing lost; a
//! SIGKILL in any phase resumes; auto-detection leaves new tables and allowed statements alone.

mod support;

use std::time::{Duration, Instant};

use support::{Backend, Project, assert_exit, stderr, stdout};

/// `users` with a serial key, a name to rename, an integer score to widen, a nullable email to
/// make NOT NULL (unique, so its index is copied), a column to drop, and `orders` to get a
/// foreign key.
const SCHEMA: &str = "\
CREATE TABLE users (
    id serial PRIMARY KEY,
    name text,
    score integer NOT NULL DEFAULT 0,
    email text UNIQUE,
    legacy text
);
CREATE TABLE orders (id serial PRIMARY KEY, user_id integer);
";

const CHANGE: &str = "\
ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE users ALTER COLUMN score TYPE bigint;
UPDATE users SET email = 'unknown-' || id WHERE email IS NULL;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
";

/// A project whose first migration made the schema and `rows` users (every third without an
/// email) with an order each, applied, and whose second is [`CHANGE`].
fn expanded_project(label: &str, rows: u32, options: &str) -> Project {
    let project = Project::new(Backend::Postgres, label);
    project.migration("1_schema.up.sql", SCHEMA);
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    project.session().query(&format!(
        "INSERT INTO users (name, score, email, legacy) \
         SELECT 'user ' || g, g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'u' || g || '@example.com' END, 'old' \
         FROM generate_series(1, {rows}) g;
         INSERT INTO orders (user_id) SELECT id FROM users;
         ANALYZE users;"
    ));
    project.migration("2_change.up.sql", &format!("{options}{CHANGE}"));
    project
}

/// A session as the new application version runs it.
fn new_app(project: &Project) -> strata_test_support::PgSession {
    let session = project.session();
    session.query("SET search_path = public_2, public");
    session
}

fn scalar(session: &strata_test_support::PgSession, sql: &str) -> String {
    session.scalar(sql).unwrap_or_else(|| panic!("{sql}: NULL"))
}

fn columns(project: &Project, table: &str) -> Vec<String> {
    project
        .session()
        .query(&format!(
            "SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END \
             FROM pg_attribute WHERE attrelid = 'public.{table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname"
        ))
        .into_iter()
        .map(|row| row[0].clone().unwrap())
        .collect()
}

fn expansion_states(project: &Project) -> Vec<String> {
    let (_, status) = project.json(&["status"]);
    status["expansions"]
        .as_array()
        .expect("expansions array")
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until a strata session waits for a lock (a blocker holds it).
fn wait_for_strata_waiting(project: &Project) {
    let session = project.session();
    let started = Instant::now();
    while scalar(
        &session,
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strata' AND wait_event_type = 'Lock'",
    ) == "0"
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "strata never waited for the blocker's lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs strata with `args`: it must exit 1, saying `expected` on stderr.
fn fails_saying(project: &Project, args: &[&str], expected: &str) {
    let output = project.run(args);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains(expected), "{err}");
}

fn kill(mut child: std::process::Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

#[test]
fn old_and_new_application_versions_both_work_until_complete() {
    let project = expanded_project("expand_window", 3000, "");
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    let out = stdout(&output);
    assert!(out.contains("expanded 2 change"), "{out}");
    assert!(out.contains("SET search_path = public_2, public"), "{out}");
    assert_eq!(expansion_states(&project), ["expanded"]);
    assert_eq!(
        project.states(),
        support::states(&[("1", "applied"), ("2", "applied")])
    );

    let old = project.session();
    let new = new_app(&project);
    // Every existing row is visible in the new shape, NULL emails filled.
    assert_eq!(
        scalar(&new, "SELECT count(*) FROM users WHERE email IS NOT NULL"),
        "3000"
    );
    assert_eq!(
        scalar(&new, "SELECT email FROM users WHERE id = 3"),
        "unknown-3"
    );
    assert_eq!(
        scalar(
            &new,
            "SELECT full_name || ':' || score FROM users WHERE id = 2"
        ),
        "user 2:2"
    );
    // The old application writes the old shape, including a NULL email and the dropped column.
    old.query("INSERT INTO users (name, score, email, legacy) VALUES ('old app', 41, NULL, 'x')");
    old.query("UPDATE users SET score = 42, name = 'old app 2' WHERE name = 'old app'");
    // The new application writes the new shape: a renamed column, a bigint, no legacy column.
    new.query(
        "INSERT INTO users (full_name, score, email) VALUES ('new app', 7, 'new@example.com')",
    );
    new.query("UPDATE users SET score = 8 WHERE full_name = 'new app'");
    new.query("INSERT INTO orders (user_id) SELECT id FROM users WHERE full_name = 'new app'");
    // Each sees the other's writes.
    assert_eq!(
        scalar(
            &new,
            "SELECT full_name || ':' || score || ':' || email FROM users WHERE full_name = 'old app 2'"
        ),
        format!(
            "old app 2:42:unknown-{}",
            scalar(&old, "SELECT id FROM users WHERE name = 'old app 2'")
        )
    );
    assert_eq!(
        scalar(
            &old,
            "SELECT name || ':' || score || ':' || email FROM users WHERE name = 'new app'"
        ),
        "new app:8:new@example.com"
    );
    assert_eq!(
        scalar(&old, "SELECT count(*) FROM users WHERE legacy IS NOT NULL"),
        "3001"
    );
    // The foreign key holds for new writes already.
    assert!(
        old.try_query("INSERT INTO orders (user_id) VALUES (999999)")
            .is_err()
    );
    // A later migration waits for the contract phase.
    project.migration("3_later.up.sql", "CREATE TABLE later (id int);");
    fails_saying(&project, &["up"], "strata complete");
    project.remove_migration("3_later.up.sql");
    // So does a down.
    fails_saying(&project, &["down"], "strata abort");

    let (code, completed) = project.json(&["complete"]);
    assert_eq!(code, 0, "{completed}");
    assert_eq!(completed["expansion"]["state"], "completed");
    assert_eq!(completed["migrations"][0]["state"], "applied");
    assert_eq!(
        columns(&project, "users"),
        [
            "email text not null",
            "full_name text",
            "id integer not null",
            "score bigint not null"
        ]
    );
    // The new application's setting now finds the table itself.
    assert_eq!(scalar(&new, "SELECT count(*) FROM users"), "3002");
    assert_eq!(
        scalar(
            &new,
            "SELECT score FROM users WHERE full_name = 'old app 2'"
        ),
        "42"
    );
    new.query("INSERT INTO users (full_name, email) VALUES ('after', 'after@example.com')");
    assert_eq!(
        scalar(&new, "SELECT score FROM users WHERE full_name = 'after'"),
        "0"
    );
    // Constraints were carried over and validated; nothing of the window is left.
    let session = project.session();
    assert_eq!(
        scalar(
            &session,
            "SELECT string_agg(conname || ':' || convalidated, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid IN ('users'::regclass, 'orders'::regclass)"
        ),
        "orders_pkey:true,orders_user_fk:true,users_email_key:true,users_pkey:true"
    );
    assert!(
        session
            .try_query("INSERT INTO users (full_name, email) VALUES ('dup', 'after@example.com')")
            .is_err()
    );
    assert_eq!(
        scalar(
            &session,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'public_2'"
        ),
        "0"
    );
    assert_eq!(
        scalar(
            &session,
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'users'::regclass AND NOT tgisinternal"
        ),
        "0"
    );
    assert_eq!(
        scalar(
            &session,
            "SELECT count(*) FROM pg_proc WHERE proname LIKE '\\_strata%'"
        ),
        "0"
    );
    assert!(expansion_states(&project).is_empty());
    // The serial's sequence followed its column.
    assert_eq!(
        scalar(&session, "SELECT pg_get_serial_sequence('users', 'id')"),
        "public.users_id_seq"
    );
    fails_saying(
        &project,
        &["complete"],
        "no expand/contract migration to complete",
    );
}

#[test]
fn abort_restores_the_old_shape_and_keeps_the_new_application_s_writes() {
    let project = expanded_project("expand_abort", 500, "");
    let before = columns(&project, "users");
    assert_exit(&project.run(&["up"]), 0);
    let new = new_app(&project);
    new.query(
        "INSERT INTO users (full_name, score, email) VALUES ('written by new', 5, 'w@example.com')",
    );
    new.query("UPDATE users SET full_name = 'renamed by new' WHERE id = 1");
    let (code, aborted) = project.json(&["abort"]);
    assert_eq!(code, 0, "{aborted}");
    assert_eq!(aborted["expansion"]["state"], "aborted");
    assert_eq!(aborted["migrations"][0]["state"], "pending");
    assert_eq!(columns(&project, "users"), before);
    let old = project.session();
    assert_eq!(
        scalar(&old, "SELECT name FROM users WHERE id = 1"),
        "renamed by new"
    );
    assert_eq!(
        scalar(
            &old,
            "SELECT score || ':' || email FROM users WHERE name = 'written by new'"
        ),
        "5:w@example.com"
    );
    assert_eq!(
        scalar(&old, "SELECT count(*) FROM users WHERE email IS NULL"),
        "166",
        "the old NULLs are untouched"
    );
    assert_eq!(
        scalar(
            &old,
            "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_user_fk'"
        ),
        "0"
    );
    assert!(expansion_states(&project).is_empty());
    // Expanding again starts afresh: every row gets its shadow values again.
    old.query("INSERT INTO users (name, email) VALUES ('between', NULL)");
    assert_exit(&project.run(&["up"]), 0);
    let new = new_app(&project);
    assert_eq!(
        scalar(
            &new,
            "SELECT count(*) FROM users WHERE email LIKE 'unknown-%'"
        ),
        "167"
    );
    assert_exit(&project.run(&["complete"]), 0);
    assert_eq!(
        scalar(&old, "SELECT count(*) FROM users WHERE email IS NULL"),
        "0"
    );
}

#[test]
fn a_sigkill_in_any_phase_resumes() {
    let project = expanded_project(
        "expand_kill",
        4000,
        "-- strata:expand batch=100 sleep=20ms\n",
    );
    // Expand: killed inside the backfill, resumed by the next `up`.
    let child = project.spawn(&["up"]);
    let session = project.session();
    let started = Instant::now();
    // strata_backfills appears with the first batch.
    while session
        .try_query("SELECT 1 FROM strata_backfills WHERE rows_scanned::int8 > 0")
        .map_or(true, |rows| rows.is_empty())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the backfill never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child);
    assert_eq!(expansion_states(&project), ["expanding"]);
    assert_eq!(project.states()[1].1, "failed");
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    assert_eq!(expansion_states(&project), ["expanded"]);
    let new = new_app(&project);
    assert_eq!(
        scalar(
            &new,
            "SELECT count(*) FROM users WHERE email IS NOT NULL AND score IS NOT NULL"
        ),
        "4000"
    );

    // Complete: killed while its swap waits behind an open transaction, resumed by `complete`.
    let blocker = project.session();
    blocker.query("BEGIN; SELECT count(*) FROM users;");
    let child = project.spawn(&["complete", "--lock-retry-budget", "60s"]);
    wait_for_strata_waiting(&project);
    kill(child);
    assert_eq!(expansion_states(&project), ["completing"]);
    // The swap may have been the statement that was running: only `complete` may go on.
    fails_saying(&project, &["abort"], "run `strata complete`");
    fails_saying(
        &project,
        &["drift"],
        "the expand/contract migration 2 (change) is completing",
    );
    blocker.query("COMMIT");
    assert_exit(&project.run(&["complete"]), 0);
    assert_eq!(
        columns(&project, "users"),
        [
            "email text not null",
            "full_name text",
            "id integer not null",
            "score bigint not null"
        ]
    );
    assert!(expansion_states(&project).is_empty());
}

/// While expanded, the expansion's shadow columns, triggers, views and constraints are what the
/// applied migrations give; a change made by hand beside them is still drift.
#[test]
fn drift_expects_an_open_expansion_and_reports_what_else_changed() {
    let project = expanded_project("expand_drift", 50, "");
    assert_exit(&project.run(&["up"]), 0);
    let output = project.run(&["drift"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).starts_with("no drift"),
        "{}",
        stdout(&output)
    );
    let session = project.session();
    session.query("ALTER TABLE users ADD COLUMN by_hand integer");
    let output = project.run(&["drift"]);
    assert_exit(&output, 1);
    let report = stdout(&output);
    assert!(
        report.contains("~ table public.users: unexpected column by_hand (integer)")
            && report.matches('\n').count() == 2,
        "only the column added by hand is drift:\n{report}"
    );
    session.query("ALTER TABLE users DROP COLUMN by_hand");
    assert_exit(&project.run(&["complete"]), 0);
    let output = project.run(&["drift"]);
    assert_exit(&output, 0);
}

#[test]
fn a_sigkill_during_abort_resumes() {
    let project = expanded_project("expand_kill_abort", 200, "");
    let before = columns(&project, "users");
    assert_exit(&project.run(&["up"]), 0);
    let blocker = project.session();
    blocker.query("BEGIN; SELECT count(*) FROM users;");
    let child = project.spawn(&["abort", "--lock-retry-budget", "60s"]);
    wait_for_strata_waiting(&project);
    kill(child);
    assert_eq!(expansion_states(&project), ["aborting"]);
    blocker.query("COMMIT");
    assert_exit(&project.run(&["abort"]), 0);
    assert_eq!(columns(&project, "users"), before);
    assert_eq!(project.states()[1].1, "pending");
}

#[test]
fn up_complete_runs_both_phases_and_new_tables_run_as_written() {
    // Created in the same run: no application can be using the table, so nothing expands.
    let project = Project::new(Backend::Postgres, "expand_fresh");
    project.migration("1_schema.up.sql", SCHEMA);
    project.migration("2_change.up.sql", CHANGE);
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    assert!(!stdout(&output).contains("expanded"), "{}", stdout(&output));
    assert!(expansion_states(&project).is_empty());
    // On an existing table, `up --complete` expands and completes at once.
    let project = expanded_project("expand_complete_flag", 100, "");
    let output = project.run(&["up", "--complete"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("expanded 2 change"),
        "{}",
        stdout(&output)
    );
    assert!(expansion_states(&project).is_empty());
    assert_eq!(
        columns(&project, "users"),
        [
            "email text not null",
            "full_name text",
            "id integer not null",
            "score bigint not null"
        ]
    );
}

#[test]
fn allowed_and_opted_out_statements_run_as_written() {
    let project = expanded_project("expand_opt_out", 10, "");
    project.migration(
        "2_change.up.sql",
        "-- strata:allow rename-column the table is tiny\nALTER TABLE users RENAME COLUMN name TO full_name;\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    assert!(expansion_states(&project).is_empty());
    assert!(columns(&project, "users").contains(&"full_name text".to_owned()));
    project.migration(
        "3_drop.up.sql",
        "-- strata:no-expand\nALTER TABLE users DROP COLUMN legacy;\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    assert!(expansion_states(&project).is_empty());
    assert!(
        !columns(&project, "users")
            .iter()
            .any(|c| c.starts_with("legacy"))
    );
}

/// Runs `up` with `2_change.up.sql` holding `sql`: it must fail, changing nothing. Its stderr.
fn refused(project: &Project, sql: &str) -> String {
    project.migration("2_change.up.sql", sql);
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    assert_eq!(project.states()[1].1, "pending", "nothing ran");
    assert!(
        project
            .session()
            .query("SELECT 1 FROM pg_attribute WHERE attname LIKE '\\_strata%'")
            .is_empty()
    );
    stderr(&output)
}

#[test]
fn what_cannot_run_in_two_phases_is_refused_with_file_and_line() {
    let project = expanded_project("expand_refused", 10, "");
    let err = refused(
        &project,
        "-- strata:expand\nALTER TABLE users RENAME COLUMN name TO full_name;\nCREATE INDEX users_score ON users (score);\n",
    );
    assert!(err.contains("2_change.up.sql:3"), "{err}");
    assert!(
        err.contains("cannot run this statement in two phases"),
        "{err}"
    );
    let err = refused(
        &project,
        "-- strata:expand\nALTER TABLE users ALTER COLUMN id TYPE bigint;\n",
    );
    assert!(err.contains("2_change.up.sql:2"), "{err}");
    assert!(err.contains("part of the primary key"), "{err}");
    let err = refused(
        &project,
        "-- strata:expand\nALTER TABLE users ALTER COLUMN name SET NOT NULL;\n",
    );
    assert!(err.contains("has no value for its NULLs"), "{err}");
}

#[test]
fn expand_needs_postgres() {
    let project = Project::new(Backend::Sqlite, "expand_sqlite");
    project.migration("1_t.up.sql", "CREATE TABLE t (a int);");
    project.migration(
        "2_r.up.sql",
        "-- strata:expand\nALTER TABLE t RENAME COLUMN a TO b;",
    );
    fails_saying(&project, &["up"], "needs PostgreSQL");
    assert_eq!(
        project.states(),
        support::states(&[("1", "pending"), ("2", "pending")])
    );
}

#[test]
fn verify_runs_expand_migrations_through_both_phases() {
    let project = Project::new(Backend::Postgres, "expand_verify");
    project.migration("1_schema.up.sql", SCHEMA);
    project.migration("1_schema.down.sql", "DROP TABLE orders; DROP TABLE users;");
    project.migration("2_change.up.sql", &format!("-- strata:expand\n{CHANGE}"));
    project.migration(
        "2_change.down.sql",
        "ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
         ALTER TABLE users ADD COLUMN legacy text;
         ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
         ALTER TABLE users ALTER COLUMN score TYPE integer;
         ALTER TABLE users RENAME COLUMN full_name TO name;",
    );
    let (code, report) = project.json(&["verify"]);
    assert_eq!(code, 0, "{report}");
    let verdicts: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["reversible", "reversible"], "{report}");
}

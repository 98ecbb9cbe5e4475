//! MySQL/MariaDB: DDL commits implicitly, so files with DDL run statement by statement and
//! resume at the failed statement; DML-only files run in one transaction; `GET_LOCK` serialises
//! deployers; metadata-lock waits are bounded and their blockers named. Runs on the real MariaDB.

mod support;

use std::time::{Duration, Instant};

use support::{Backend, Project, assert_exit, states, stderr, stdout};

const FIVE_STATEMENTS: &str = "CREATE TABLE a1 (id int);\nCREATE TABLE a2 (id int);\nCREATE TABLE a3 (id int);\n\
                               CREATE TABLE a4 LIKE missing_table;\nCREATE TABLE a5 (id int);\n";

#[test]
fn a_failed_statement_leaves_earlier_ones_applied_and_up_resumes_there() {
    let project = Project::new(Backend::MySql, "resume5");
    project.migration("1_five.up.sql", FIVE_STATEMENTS);
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("failed at statement 4"), "{err}");
    assert!(err.contains("1_five.up.sql:4"), "{err}");
    assert!(err.contains("1146"), "the server's error number: {err}");
    assert!(err.contains("resume at statement 4"), "{err}");
    assert_eq!(project.tables(), ["a1", "a2", "a3"]);
    let (_, status) = project.json(&["status"]);
    assert_eq!(status["migrations"][0]["state"], "failed");
    assert_eq!(status["migrations"][0]["failed_statement"], 4);

    project.migration(
        "1_five.up.sql",
        &FIVE_STATEMENTS.replace("LIKE missing_table", "(id int)"),
    );
    let resumed = project.run(&["up"]);
    assert_exit(&resumed, 0);
    assert!(
        stdout(&resumed).contains("statement 4/5"),
        "{}",
        stdout(&resumed)
    );
    assert!(
        !stdout(&resumed).contains("statement 1/5"),
        "statements 1-3 were not run again"
    );
    assert_eq!(project.tables(), ["a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(project.states(), states(&[("1", "applied")]));
}

#[test]
fn editing_an_applied_statement_blocks_the_resume() {
    let project = Project::new(Backend::MySql, "editresume");
    project.migration("1_five.up.sql", FIVE_STATEMENTS);
    assert_exit(&project.run(&["up"]), 1);
    project.migration(
        "1_five.up.sql",
        &FIVE_STATEMENTS.replace("a2 (id int)", "a2 (id bigint)"),
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("statement 2 (line 2) was edited after it ran"),
        "{err}"
    );
    assert!(err.contains("strata resolve 1"), "{err}");
    assert_eq!(project.tables(), ["a1", "a2", "a3"]);
}

#[test]
fn transaction_directive_on_a_file_with_ddl_is_rejected() {
    let project = Project::new(Backend::MySql, "txddl");
    project.migration(
        "1_t.up.sql",
        "-- strata:transaction\nCREATE TABLE t (id int);\nINSERT INTO t VALUES (1);\n",
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("1_t.up.sql:2"), "{err}");
    assert!(err.contains("cannot run inside a transaction"), "{err}");
    assert!(project.tables().is_empty());
}

#[test]
fn a_dml_only_file_runs_in_one_transaction() {
    let project = Project::new(Backend::MySql, "dmltx");
    project.migration(
        "1_t.up.sql",
        "CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB;",
    );
    assert_exit(&project.run(&["up"]), 0);
    project.migration(
        "2_rows.up.sql",
        "INSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nINSERT INTO missing VALUES (3);\n",
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("its transaction was rolled back"),
        "{}",
        stderr(&output)
    );
    assert!(
        project.query("SELECT id FROM t").is_empty(),
        "the inserts were rolled back with the failure"
    );
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "pending")])
    );
}

#[test]
fn delimiter_blocks_define_procedures_and_triggers() {
    let project = Project::new(Backend::MySql, "delimiter");
    project.migration(
        "1_proc.up.sql",
        "CREATE TABLE t (id int, note varchar(20));\nDELIMITER //\nCREATE PROCEDURE add_row(IN n int)\nBEGIN\n  INSERT INTO t VALUES (n, 'a;b');\nEND//\n\
         CREATE TRIGGER t_note BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.note = CONCAT(NEW.note, '!');\nEND//\nDELIMITER ;\nCALL add_row(7);\n",
    );
    project.migration(
        "1_proc.down.sql",
        "DROP PROCEDURE add_row;\nDROP TABLE t;\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        project.query("SELECT id, note FROM t"),
        vec![vec![Some("7".into()), Some("a;b!".into())]]
    );
    assert_exit(&project.run(&["down"]), 0);
    assert!(project.tables().is_empty());
}

#[test]
fn a_held_metadata_lock_bounds_the_wait_and_names_the_blocker() {
    let project = Project::new(Backend::MySql, "mdl");
    project.migration(
        "1_t.up.sql",
        "CREATE TABLE t (id int PRIMARY KEY) ENGINE=InnoDB;\nINSERT INTO t VALUES (1);",
    );
    assert_exit(&project.run(&["up"]), 0);
    project.migration("2_alter.up.sql", "ALTER TABLE t ADD COLUMN c int;");
    let mut blocker = project.mysql_session();
    blocker.query("START TRANSACTION");
    blocker.query("SELECT * FROM t");
    let started = Instant::now();
    let output = project.run(&["up", "--lock-timeout", "1s", "--lock-retry-budget", "4s"]);
    let waited = started.elapsed();
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(err.contains("1205"), "{err}");
    assert!(
        err.contains("metadata lock"),
        "the timeout is told apart from a row-lock timeout: {err}"
    );
    assert!(
        err.contains(&format!("blocked by pid {}", blocker.id())),
        "{err}"
    );
    assert!(err.contains("retrying"), "{err}");
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    blocker.query("COMMIT");
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied")])
    );
}

#[test]
fn the_migration_lock_holder_is_named_and_the_wait_bounded() {
    let project = Project::new(Backend::MySql, "getlock");
    project.migration("1_t.up.sql", "CREATE TABLE t (id int);");
    let mut holder = project.mysql_session();
    let database = project.url.rsplit('/').next().unwrap().to_owned();
    holder.query(&format!(
        "SELECT GET_LOCK('strata_migrations:{database}', 0)"
    ));
    let output = project.run(&["up", "--lock-wait", "2s"]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("timed out after 2s waiting for the migration lock"),
        "{err}"
    );
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");
    drop(holder);
    assert_exit(&project.run(&["up"]), 0);
}

#[test]
fn connection_failures_are_clear_and_never_show_the_password() {
    let project = Project::new(Backend::Sqlite, "mysqlconnect");
    project.migration("1_t.up.sql", "CREATE TABLE t (id int);");
    let run = |url: &str| {
        project
            .strata()
            .env("DATABASE_URL", url)
            .arg("status")
            .output()
            .unwrap()
    };

    let unreachable = run("mysql://root:hunter2-secret@127.0.0.1:1/test");
    assert_exit(&unreachable, 1);
    assert!(
        stderr(&unreachable).contains("cannot connect"),
        "{}",
        stderr(&unreachable)
    );
    assert!(!stderr(&unreachable).contains("hunter2-secret"));

    let wrong = run("mariadb://root:not-the-password@127.0.0.1:3306/test");
    assert_exit(&wrong, 1);
    assert!(stderr(&wrong).contains("login to"), "{}", stderr(&wrong));
    assert!(
        !stderr(&wrong).contains("not-the-password"),
        "{}",
        stderr(&wrong)
    );

    let missing = run("mysql://root@127.0.0.1:3306/strata_no_such_database");
    assert_exit(&missing, 1);
    assert!(
        stderr(&missing).contains("strata_no_such_database\" does not exist"),
        "{}",
        stderr(&missing)
    );

    let no_database = run("mysql://root@127.0.0.1:3306");
    assert_exit(&no_database, 2);
}

#[test]
fn verify_reports_a_down_that_forgets_an_index_and_cleans_up() {
    let project = Project::new(Backend::MySql, "verify");
    project
        .migration(
            "1_users.up.sql",
            "CREATE TABLE users (id int PRIMARY KEY, email varchar(100));",
        )
        .migration("1_users.down.sql", "DROP TABLE users;")
        .migration(
            "2_index.up.sql",
            "CREATE INDEX users_email ON users (email);",
        )
        .migration("2_index.down.sql", "SELECT 1;");
    let (code, report) = project.json(&["verify"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["migrations"][0]["verdict"], "reversible");
    assert_eq!(report["migrations"][1]["verdict"], "down-differs");
    assert!(
        report["migrations"][1]["differences"]
            .to_string()
            .contains("users_email"),
        "{report}"
    );
    let leftovers = project.query("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'strata\\_verify\\_%'");
    assert_eq!(leftovers[0][0].as_deref(), Some("0"));

    project.migration("2_index.down.sql", "DROP INDEX users_email ON users;");
    let (code, report) = project.json(&["verify"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn schema_dump_does_not_depend_on_the_order_objects_were_made() {
    let first = Project::new(Backend::MySql, "dumpa");
    first.migration("1_a.up.sql", "CREATE TABLE a (id int PRIMARY KEY, b_id int);\nCREATE TABLE b (id int PRIMARY KEY);\nCREATE INDEX a_b ON a (b_id);");
    let second = Project::new(Backend::MySql, "dumpb");
    second.migration("1_b.up.sql", "CREATE TABLE b (id int PRIMARY KEY);\nCREATE TABLE a (id int PRIMARY KEY);\nALTER TABLE a ADD COLUMN b_id int;\nCREATE INDEX a_b ON a (b_id);");
    assert_exit(&first.run(&["up"]), 0);
    assert_exit(&second.run(&["up"]), 0);
    let dump = |project: &Project| stdout(&project.run(&["schema", "dump"]));
    let (a, b) = (dump(&first), dump(&second));
    assert!(a.contains("index a.a_b"), "{a}");
    assert_eq!(a, b);
}

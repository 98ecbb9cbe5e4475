//! SQLite-only behaviour: the embedded default, statements SQLite runs outside a transaction,
//! and several processes on one database file.

mod support;

use support::{Backend, Project, assert_exit, states, stderr, stdout};

#[test]
fn quickstart_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    let strata = |args: &[&str]| {
        let mut command = assert_cmd::Command::cargo_bin("strata").unwrap();
        command
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .args(args)
            .output()
            .unwrap()
    };
    assert_exit(&strata(&["init"]), 0);
    assert!(dir.path().join("strata.toml").is_file());
    assert!(dir.path().join("migrations").is_dir());
    let init_again = strata(&["init"]);
    assert_exit(&init_again, 0);
    assert!(stdout(&init_again).contains("already exists"));

    let new = strata(&["new", "create", "users"]);
    assert_exit(&new, 0);
    let paths: Vec<String> = stdout(&new)
        .split_terminator('\n')
        .map(String::from)
        .collect();
    assert_eq!(paths.len(), 2);
    assert!(
        paths[0].ends_with("_create_users.up.sql") && paths[1].ends_with("_create_users.down.sql"),
        "{paths:?}"
    );
    std::fs::write(
        dir.path().join(&paths[0]),
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
    )
    .unwrap();
    std::fs::write(dir.path().join(&paths[1]), "DROP TABLE users;").unwrap();

    assert_exit(&strata(&["up"]), 0);
    assert!(
        dir.path().join("strata.db").is_file(),
        "the default database is sqlite://strata.db"
    );
    assert!(stdout(&strata(&["status"])).contains("applied"));
    assert_exit(&strata(&["down"]), 0);
    assert!(stdout(&strata(&["status"])).contains("pending"));
}

#[test]
fn vacuum_and_foreign_keys_pragma_run_outside_a_transaction() {
    let project = Project::new(Backend::Sqlite, "vacuum");
    project
        .migration("1_t.up.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);")
        .migration("2_vacuum.up.sql", "DELETE FROM t;\nVACUUM;")
        .migration("3_fk.up.sql", "PRAGMA foreign_keys = ON;");
    let dry = project.run(&["up", "--dry-run"]);
    assert!(
        stdout(&dry).contains(
            "outside a transaction, statement by statement: line 2 cannot run inside a transaction"
        ),
        "{}",
        stdout(&dry)
    );
    let output = project.run(&["up"]);
    assert_exit(&output, 0);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied"), ("3", "applied")])
    );
}

#[test]
fn trigger_bodies_are_kept_whole() {
    let project = Project::new(Backend::Sqlite, "trigger");
    project.migration(
        "1_audit.up.sql",
        "CREATE TABLE t (id INTEGER, note TEXT);\nCREATE TABLE audit (id INTEGER, note TEXT);\n\
         CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN\n  INSERT INTO audit VALUES (new.id, 'inserted; ok');\n  UPDATE audit SET note = note || '!';\nEND;\n\
         INSERT INTO t VALUES (1, 'x');\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        project.query("SELECT note FROM audit")[0][0].as_deref(),
        Some("inserted; ok!")
    );
}

#[test]
fn unopenable_databases_fail_clearly() {
    let project = Project::new(Backend::Sqlite, "unopenable");
    project.migration("1_t.up.sql", "CREATE TABLE t (id INTEGER);");
    let missing_dir = project
        .strata()
        .env("DATABASE_URL", "sqlite://no/such/dir/app.db")
        .arg("up")
        .output()
        .unwrap();
    assert_exit(&missing_dir, 1);
    assert!(
        stderr(&missing_dir).contains("no/such/dir"),
        "{}",
        stderr(&missing_dir)
    );

    std::fs::write(project.path("junk.db"), vec![b'x'; 4096]).unwrap();
    let not_a_database = project
        .strata()
        .env("DATABASE_URL", "sqlite://junk.db")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&not_a_database, 1);
    assert!(
        stderr(&not_a_database).contains("not a database"),
        "{}",
        stderr(&not_a_database)
    );
}

//! Usage and configuration errors (exit 2, before any server is contacted), and snapshots of
//! the output people read.

mod support;

use support::{Backend, Project, assert_exit, stderr, stdout};

/// Errors in the migrations directory name the file and exit 2, even with an unreachable
/// database: nothing is contacted before the directory is known to be sound.
/// A scenario: its name, the files of the migrations directory, and what the error must say.
type DirectoryCase<'a> = (&'a str, &'a [(&'a str, &'a [u8])], &'a str);

#[test]
fn directory_problems_exit_2_and_name_the_file() {
    let cases: &[DirectoryCase] = &[
        (
            "duplicate",
            &[("001_a.up.sql", b"SELECT 1;"), ("1_b.up.sql", b"SELECT 1;")],
            "have the same version 1",
        ),
        (
            "down without up",
            &[("2_x.down.sql", b"SELECT 1;")],
            "2_x.down.sql has no up file",
        ),
        (
            "not utf-8",
            &[("1_a.up.sql", b"SELECT '\xff\xfe';")],
            "1_a.up.sql is not valid UTF-8",
        ),
        (
            "bad directive",
            &[("1_a.up.sql", b"-- strata:no-transacton\nSELECT 1;")],
            "unknown directive `strata:no-transacton`",
        ),
        (
            "bad backfill option",
            &[(
                "1_a.up.sql",
                b"-- strata:backfill batch=10 speed=2\nUPDATE t SET a = 1;",
            )],
            "unknown backfill option `speed`",
        ),
    ];
    for (what, files, expected) in cases {
        let project = Project::new(Backend::Sqlite, "dirs");
        for (name, content) in *files {
            std::fs::write(project.path("migrations").join(name), content).unwrap();
        }
        let output = project
            .strata()
            .env("DATABASE_URL", "postgres://nobody:pw@127.0.0.1:1/x")
            .arg("up")
            .output()
            .unwrap();
        assert_exit(&output, 2);
        assert!(
            stderr(&output).contains(expected),
            "{what}: {}",
            stderr(&output)
        );
    }
}

/// Down files are read when a command needs them: applying records a down file's checksum,
/// `down` runs it, `validate` checks every one. A broken down file stops those (naming it, with
/// nothing changed), but not a deploy that has nothing to apply.
#[test]
fn a_broken_down_file_stops_only_the_commands_that_read_it() {
    let project = Project::new(Backend::Sqlite, "lazy-down");
    project
        .migration("1_a.up.sql", "CREATE TABLE a (id INTEGER);")
        .migration("1_a.down.sql", "DROP TABLE a;");
    std::fs::write(
        project.path("migrations").join("2_b.up.sql"),
        "CREATE TABLE b (id INTEGER);",
    )
    .unwrap();
    std::fs::write(
        project.path("migrations").join("2_b.down.sql"),
        b"DROP TABLE \xff;",
    )
    .unwrap();

    let blocked = project.run(&["up"]);
    assert_exit(&blocked, 2);
    assert!(
        stderr(&blocked).contains("2_b.down.sql is not valid UTF-8"),
        "{}",
        stderr(&blocked)
    );
    assert!(
        !project.has_history_table(),
        "nothing may change when a file is unreadable"
    );

    assert_exit(&project.run(&["up", "--to", "1"]), 0);
    std::fs::write(
        project.path("migrations").join("1_a.down.sql"),
        b"DROP TABLE \xfe;",
    )
    .unwrap();
    std::fs::write(
        project.path("migrations").join("2_b.down.sql"),
        "DROP TABLE b;",
    )
    .unwrap();
    assert_exit(&project.run(&["up"]), 0);
    let noop = project.run(&["up"]);
    assert_exit(&noop, 0);
    assert!(
        stdout(&noop).contains("nothing to apply"),
        "{}",
        stdout(&noop)
    );

    let validate = project.run(&["validate"]);
    assert_exit(&validate, 1);
    assert!(
        stdout(&validate).contains("1_a.down.sql") || stderr(&validate).contains("1_a.down.sql"),
        "{}{}",
        stdout(&validate),
        stderr(&validate)
    );
    let down = project.run(&["down", "--all"]);
    assert_exit(&down, 2);
    assert!(
        stderr(&down).contains("1_a.down.sql is not valid UTF-8"),
        "{}",
        stderr(&down)
    );
    assert_eq!(
        project.tables(),
        ["a", "b"],
        "a refused down changes nothing"
    );
}

#[test]
fn missing_directory_unknown_scheme_and_bad_flags_exit_2() {
    let project = Project::new(Backend::Sqlite, "usage");
    let missing = project
        .strata()
        .args(["status", "--dir", "nowhere"])
        .output()
        .unwrap();
    assert_exit(&missing, 2);
    assert!(
        stderr(&missing).contains("nowhere does not exist"),
        "{}",
        stderr(&missing)
    );
    assert!(stderr(&missing).contains("strata init"));

    let scheme = project
        .strata()
        .env("DATABASE_URL", "oracle://scott:tiger-secret@db/x")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&scheme, 2);
    assert!(
        stderr(&scheme).contains("unknown database URL scheme in oracle://scott:***@db/x"),
        "{}",
        stderr(&scheme)
    );
    assert!(!stderr(&scheme).contains("tiger-secret"));

    assert_exit(&project.run(&["up", "--no-such-flag"]), 2);
    assert_exit(&project.run(&["down", "--steps", "1", "--all"]), 2);
    assert_exit(&project.run(&["up", "--lock-wait", "5"]), 2);
    assert_exit(&project.run(&["new"]), 2);
}

#[test]
fn config_file_is_found_upward_and_typos_are_errors() {
    let project = Project::new(Backend::Sqlite, "config");
    std::fs::write(
        project.path("strata.toml"),
        "database_url = \"sqlite://from-config.db\"\ndir = \"migrations\"\n",
    )
    .unwrap();
    project.migration("1_a.up.sql", "CREATE TABLE a (id INTEGER);");
    std::fs::create_dir(project.path("sub")).unwrap();
    let output = project
        .strata()
        .env_remove("DATABASE_URL")
        .current_dir(project.path("sub"))
        .arg("up")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(
        project.path("from-config.db").is_file(),
        "paths in strata.toml resolve from its directory"
    );

    std::fs::write(
        project.path("strata.toml"),
        "dir = \"migrations\"\ndatabse_url = \"sqlite://x.db\"\n",
    )
    .unwrap();
    let typo = project
        .strata()
        .env_remove("DATABASE_URL")
        .arg("status")
        .output()
        .unwrap();
    assert_exit(&typo, 2);
    assert!(stderr(&typo).contains("strata.toml:2"), "{}", stderr(&typo));
    assert!(stderr(&typo).contains("databse_url"), "{}", stderr(&typo));
}

#[test]
fn stray_sql_files_get_a_warning() {
    let project = Project::new(Backend::Sqlite, "stray");
    project
        .migration("1_a.up.sql", "SELECT 1;")
        .migration("notes.sql", "SELECT 2;")
        .migration("schema.sql", "");
    let output = project.run(&["status"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("ignoring migrations/notes.sql"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("schema.sql"));
}

/// Masks what changes between runs: timestamps and durations.
fn stable(text: &str) -> String {
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let duration = regex::Regex::new(r"\(\d+ ms\)").unwrap();
    duration
        .replace_all(&time.replace_all(text, "<time>"), "(<n> ms)")
        .into_owned()
}

#[test]
fn snapshot_of_status_dry_run_and_a_failure() {
    let project = Project::new(Backend::Sqlite, "snapshots");
    project
        .migration(
            "20240101000000_create_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
        )
        .migration(
            "20240101000000_create_users.down.sql",
            "DROP TABLE users;\n",
        )
        .migration(
            "20240102000000_backfill.up.sql",
            "-- strata:no-transaction\nINSERT INTO users VALUES (1, 'a@example.com');\nVACUUM;\n",
        )
        .migration(
            "20240103000000_broken.up.sql",
            "CREATE TABLE posts (id INTEGER);\n\nINSERT INTO posts SELECT id FROM usrs;\n",
        );
    insta::assert_snapshot!(
        "dry_run",
        stdout(&project.run(&["up", "--to", "20240102000000", "--dry-run"]))
    );
    let failed = project.run(&["up"]);
    assert_exit(&failed, 1);
    insta::assert_snapshot!("failed_up", stderr(&failed));
    insta::assert_snapshot!("status", stable(&stdout(&project.run(&["status"]))));
    insta::assert_snapshot!("failed_up_stdout", stable(&stdout(&failed)));
}

/// Looking changes nothing: `status` and a dry run on a SQLite database that does not exist yet
/// show everything pending and leave no file behind; the first real `up` creates it.
#[test]
fn reading_commands_do_not_create_the_sqlite_file() {
    let project = Project::new(Backend::Sqlite, "no_file");
    project.migration("1_a.up.sql", "CREATE TABLE a (id integer);");
    let database = project.path("app.db");
    for args in [
        &["status"][..],
        &["up", "--dry-run"],
        &["down", "--all", "--dry-run"],
        &["validate"],
    ] {
        let output = project.run(args);
        assert_exit(&output, 0);
        assert!(
            !database.exists(),
            "`strata {}` created the database",
            args.join(" ")
        );
    }
    assert!(stdout(&project.run(&["status"])).contains("0 applied, 1 pending"));
    assert_exit(&project.run(&["up"]), 0);
    assert!(database.exists());
    assert_eq!(project.history().len(), 1);
}

/// A reader that stops early (`strata status | head -1`) is no error: strata neither panics nor
/// fails, and a run whose output nobody reads still does its work.
#[test]
fn a_closed_stdout_does_not_stop_or_break_a_command() {
    let project = Project::new(Backend::Sqlite, "closed_pipe");
    for version in 1..=200 {
        project.migration(
            &format!("{version}_t{version}.up.sql"),
            &format!("CREATE TABLE t{version} (id integer);"),
        );
    }
    for args in [&["up"][..], &["status"], &["up", "--dry-run"]] {
        let mut child = project.spawn(args);
        drop(child.stdout.take()); // the reader leaves before strata writes anything
        let output = child.wait_with_output().expect("wait for strata");
        assert_exit(&output, 0);
        assert!(
            !stderr(&output).contains("panicked"),
            "`strata {}`: {}",
            args.join(" "),
            stderr(&output)
        );
    }
    assert_eq!(project.history().len(), 200);
}

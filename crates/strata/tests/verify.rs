//! `strata verify`, `strata drift` and `strata schema dump` through the binary, on SQLite and
//! PostgreSQL: each verdict names the right migration and object, the scratch database is gone
//! afterwards whatever happened, and snapshots are deterministic.

mod support;

use std::process::{Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use strata_test_support::{PgSession, server_url};
use support::{Backend, Project, assert_exit, stderr, stdout};

/// Runs `strata <args> --format json` and returns the exit code, the document, and the
/// process id (which names its scratch database).
fn verify_json(project: &Project, args: &[&str]) -> (i32, Value, u32) {
    let child = project_command(project, args)
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait for strata");
    let text = String::from_utf8_lossy(&output.stdout);
    let document = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{text}\nstderr:\n{}",
            stderr(&output)
        )
    });
    if project.backend == Backend::Postgres {
        assert_eq!(scratch_databases_of(pid), 0, "scratch database left behind");
    }
    (output.status.code().unwrap_or(-1), document, pid)
}

fn project_command(project: &Project, args: &[&str]) -> StdCommand {
    let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("strata"));
    command
        .current_dir(project.dir.path())
        .env("DATABASE_URL", &project.url)
        .env_remove("PGSSLMODE")
        .args(args);
    command
}

/// Scratch databases created by the strata process `pid` that still exist.
fn scratch_databases_of(pid: u32) -> usize {
    let admin = PgSession::connect(&server_url());
    admin
        .scalar(&format!(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata\\_verify\\_%\\_{pid}\\_%'"
        ))
        .and_then(|n| n.parse().ok())
        .expect("count")
}

/// `(version, verdict)` of every migration in a verify document.
fn verdicts(document: &Value) -> Vec<(String, String)> {
    document["migrations"]
        .as_array()
        .expect("migrations")
        .iter()
        .map(|m| {
            (
                m["version"].as_str().unwrap().to_owned(),
                m["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The readable lines of one migration's differences.
fn difference_texts(document: &Value, version: &str) -> Vec<String> {
    let migration = document["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .unwrap_or_else(|| panic!("no migration {version} in {document}"));
    migration["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["text"].as_str().unwrap().to_owned())
        .collect()
}

/// An object's name as the backend's snapshot spells it.
fn qualified(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Postgres => format!("public.{name}"),
        Backend::Sqlite | Backend::MySql => name.to_owned(),
    }
}

/// Two migrations every scenario starts from.
fn base(project: &Project) {
    project
        .migration(
            "1_users.up.sql",
            "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, status text DEFAULT 'new');",
        )
        .migration("1_users.down.sql", "DROP TABLE users;")
        .migration(
            "2_email_index.up.sql",
            "CREATE UNIQUE INDEX users_email ON users (email);",
        )
        .migration("2_email_index.down.sql", "DROP INDEX users_email;");
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    a_clean_set_verifies,
    a_down_that_forgets_an_index_is_named,
    a_down_that_fails_is_reported_with_file_and_line,
    a_down_that_restores_another_default_is_named,
    keep_going_checks_later_migrations,
    from_applies_earlier_migrations_without_checking,
    drift_detects_a_column_added_by_hand,
    snapshots_do_not_depend_on_build_order,
);

fn a_clean_set_verifies(backend: Backend) {
    let project = Project::new(backend, "verify_clean");
    base(&project);
    project.migration(
        "3_notes.up.sql",
        "-- strata:irreversible\nCREATE TABLE notes (id integer PRIMARY KEY);",
    );
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(
        verdicts(&document),
        pairs(&[
            ("1", "reversible"),
            ("2", "reversible"),
            ("3", "declared-irreversible")
        ])
    );
    assert_eq!(document["summary"]["checked"], 3);
    assert_eq!(document["summary"]["failed"], 0);
    assert!(
        project.tables().is_empty(),
        "verify never touches the real database"
    );

    let human = project.run(&["verify"]);
    assert_exit(&human, 0);
    assert!(
        stdout(&human).contains("1 users: reversible\n"),
        "{}",
        stdout(&human)
    );
    assert!(stdout(&human).contains("verified 3 migrations: 3 passed, 0 failed"));
}

fn a_down_that_forgets_an_index_is_named(backend: Backend) {
    let project = Project::new(backend, "verify_index");
    base(&project);
    project
        .migration(
            "3_status_index.up.sql",
            "CREATE INDEX users_status ON users (status);",
        )
        .migration("3_status_index.down.sql", "SELECT 1;")
        .migration("4_later.up.sql", "CREATE TABLE later (id integer);")
        .migration("4_later.down.sql", "DROP TABLE later;");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document),
        pairs(&[
            ("1", "reversible"),
            ("2", "reversible"),
            ("3", "down-differs"),
            ("4", "not-checked")
        ])
    );
    assert_eq!(
        difference_texts(&document, "3"),
        [format!(
            "+ index {}: present, but not expected",
            qualified(backend, "users_status")
        )]
    );

    let human = project.run(&["verify"]);
    assert_exit(&human, 1);
    assert!(
        stdout(&human).contains("3 status_index: down-differs\n"),
        "{}",
        stdout(&human)
    );
}

fn a_down_that_fails_is_reported_with_file_and_line(backend: Backend) {
    let project = Project::new(backend, "verify_fails");
    base(&project);
    project
        .migration("3_audit.up.sql", "CREATE TABLE audit (id integer);")
        .migration("3_audit.down.sql", "\nDROP TABLE audit_log;");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document)[2],
        ("3".to_owned(), "down-fails".to_owned())
    );
    let detail = document["migrations"][2]["detail"].as_str().unwrap();
    assert!(detail.contains("3_audit.down.sql:2"), "{detail}");
    assert!(detail.contains("audit_log"), "{detail}");
}

fn a_down_that_restores_another_default_is_named(backend: Backend) {
    let project = Project::new(backend, "verify_default");
    base(&project);
    let (up, down) = match backend {
        Backend::Postgres => (
            "ALTER TABLE users ALTER COLUMN status SET DEFAULT 'open';",
            "ALTER TABLE users ALTER COLUMN status SET DEFAULT 'opened';",
        ),
        // SQLite changes a default by rebuilding the table.
        Backend::Sqlite => (
            "CREATE TABLE users_new (id integer PRIMARY KEY, email text NOT NULL, status text DEFAULT 'open');\n\
             INSERT INTO users_new SELECT * FROM users;\nDROP TABLE users;\n\
             ALTER TABLE users_new RENAME TO users;\nCREATE UNIQUE INDEX users_email ON users (email);",
            "CREATE TABLE users_old (id integer PRIMARY KEY, email text NOT NULL, status text DEFAULT 'opened');\n\
             INSERT INTO users_old SELECT * FROM users;\nDROP TABLE users;\n\
             ALTER TABLE users_old RENAME TO users;\nCREATE UNIQUE INDEX users_email ON users (email);",
        ),
        Backend::MySql => unreachable!(
            "these scenarios run on PostgreSQL and SQLite; MySQL's are in tests/mysql.rs"
        ),
    };
    project
        .migration("3_status_default.up.sql", up)
        .migration("3_status_default.down.sql", down);
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document)[2],
        ("3".to_owned(), "down-differs".to_owned())
    );
    let expected = match backend {
        Backend::Postgres => {
            "~ table public.users: column status: expected text DEFAULT 'new'::text, found text DEFAULT 'opened'::text"
        }
        Backend::Sqlite => {
            "~ table users: column status: expected text default 'new', found text default 'opened'"
        }
        Backend::MySql => unreachable!(
            "these scenarios run on PostgreSQL and SQLite; MySQL's are in tests/mysql.rs"
        ),
    };
    assert_eq!(difference_texts(&document, "3"), [expected]);
}

fn keep_going_checks_later_migrations(backend: Backend) {
    let project = Project::new(backend, "verify_keep_going");
    base(&project);
    project
        .migration("3_audit.up.sql", "CREATE TABLE audit (id integer);")
        .migration("3_audit.down.sql", "DROP TABLE no_such_table;")
        .migration("4_tags.up.sql", "CREATE TABLE tags (id integer);")
        .migration("5_later.up.sql", "CREATE TABLE later (id integer);")
        .migration("5_later.down.sql", "DROP TABLE later;");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document)[2..],
        pairs(&[
            ("3", "down-fails"),
            ("4", "not-checked"),
            ("5", "not-checked")
        ])
    );

    let (code, document, _) = verify_json(&project, &["verify", "--keep-going"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document)[2..],
        pairs(&[("3", "down-fails"), ("4", "no-down"), ("5", "reversible")])
    );
    assert_eq!(document["summary"]["failed"], 2);
}

fn from_applies_earlier_migrations_without_checking(backend: Backend) {
    let project = Project::new(backend, "verify_from");
    base(&project);
    project.migration("1_users.down.sql", "SELECT 1;");
    let (code, document, _) = verify_json(&project, &["verify", "--from", "2"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(verdicts(&document), pairs(&[("2", "reversible")]));

    let unknown = project.run(&["verify", "--from", "9"]);
    assert_exit(&unknown, 2);
}

fn drift_detects_a_column_added_by_hand(backend: Backend) {
    let project = Project::new(backend, "drift");
    base(&project);
    assert_exit(&project.run(&["up"]), 0);
    let (code, document, _) = verify_json(&project, &["drift"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(document["drift"], false);

    project.query("ALTER TABLE users ADD COLUMN nickname text");
    let (code, document, _) = verify_json(&project, &["drift"]);
    assert_eq!(code, 1);
    let differences = document["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{document}");
    assert_eq!(
        differences[0]["object"],
        format!("table {}", qualified(backend, "users"))
    );
    assert_eq!(differences[0]["attribute"], "column nickname");
    let human = project.run(&["drift"]);
    assert_exit(&human, 1);
    assert!(
        stdout(&human).contains("unexpected column nickname"),
        "{}",
        stdout(&human)
    );
}

/// The same schema, built by migrations in another order and written another way.
fn snapshots_do_not_depend_on_build_order(backend: Backend) {
    let one = Project::new(backend, "order_one");
    one.migration(
        "1_schema.up.sql",
        "CREATE TABLE teams (id integer PRIMARY KEY, name text NOT NULL);\n\
         CREATE TABLE players (id integer PRIMARY KEY, team_id integer REFERENCES teams (id), nick text);\n\
         CREATE INDEX players_team ON players (team_id);\n\
         CREATE VIEW team_sizes AS SELECT team_id, count(*) AS n FROM players GROUP BY team_id;",
    );
    let two = Project::new(backend, "order_two");
    two.migration(
        "1_teams.up.sql",
        "create table teams (\n    id   integer primary key,\n    name text not null\n);",
    )
    .migration(
        "2_players.up.sql",
        "create table players (id integer primary key, team_id integer references teams(id));\n\
         create view team_sizes as select team_id, count(*) as n from players group by team_id;",
    )
    .migration(
        "3_more.up.sql",
        "ALTER TABLE players ADD COLUMN nick text; -- added later\nCREATE INDEX players_team ON players(team_id);",
    );
    for project in [&one, &two] {
        assert_exit(&project.run(&["up"]), 0);
    }
    let dump_one = one.run(&["schema", "dump"]);
    let dump_two = two.run(&["schema", "dump"]);
    assert_exit(&dump_one, 0);
    assert!(
        stdout(&dump_one).contains("players_team"),
        "{}",
        stdout(&dump_one)
    );
    assert_eq!(stdout(&dump_one), stdout(&dump_two));
}

#[test]
fn a_down_that_leaves_a_function_behind_is_named_on_postgres() {
    let project = Project::new(Backend::Postgres, "verify_function");
    base(&project);
    project
        .migration(
            "3_touch.up.sql",
            "ALTER TABLE users ADD COLUMN updated_at timestamptz;\n\
             CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN NEW.updated_at := now(); RETURN NEW; END $$;\n\
             CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();",
        )
        .migration(
            "3_touch.down.sql",
            "DROP TRIGGER users_touch ON users;\nALTER TABLE users DROP COLUMN updated_at;",
        );
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&document)[2],
        ("3".to_owned(), "down-differs".to_owned())
    );
    assert_eq!(
        difference_texts(&document, "3"),
        ["+ function public.touch(): present, but not expected"]
    );
}

#[test]
fn an_enum_value_that_cannot_be_removed_says_why_on_postgres() {
    let project = Project::new(Backend::Postgres, "verify_enum");
    project
        .migration(
            "1_mood.up.sql",
            "CREATE TYPE mood AS ENUM ('sad', 'happy');",
        )
        .migration("1_mood.down.sql", "DROP TYPE mood;")
        .migration("2_ok.up.sql", "ALTER TYPE mood ADD VALUE 'ok';")
        .migration("2_ok.down.sql", "SELECT 1;");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    let difference = &document["migrations"][1]["differences"][0];
    assert_eq!(difference["object"], "type public.mood");
    assert!(
        difference["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be removed"),
        "{difference}"
    );

    project.migration(
        "2_ok.up.sql",
        "-- strata:irreversible\nALTER TYPE mood ADD VALUE 'ok';",
    );
    project.remove_migration("2_ok.down.sql");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(verdicts(&document)[1].1, "declared-irreversible");
}

#[test]
fn a_failing_up_stops_verify_and_drops_the_scratch_database_on_postgres() {
    let project = Project::new(Backend::Postgres, "verify_up_fails");
    base(&project);
    project.migration("3_bad.up.sql", "CREATE TABLE bad (id no_such_type);");
    let (code, document, _) = verify_json(&project, &["verify"]);
    assert_eq!(code, 1);
    assert!(
        document["error"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("3_bad.up.sql")),
        "{document}"
    );
}

#[test]
fn ctrl_c_drops_the_scratch_database_on_postgres() {
    let project = Project::new(Backend::Postgres, "verify_interrupt");
    project
        .migration("1_slow.up.sql", "SELECT pg_sleep(60);")
        .migration("1_slow.down.sql", "SELECT 1;");
    let child = project_command(&project, &["verify"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strata");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while scratch_databases_of(pid) == 0 {
        assert!(Instant::now() < deadline, "no scratch database appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the migration start sleeping on the scratch database.
    std::thread::sleep(Duration::from_millis(500));
    let signalled = StdCommand::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(signalled.success());
    let output: Output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert_eq!(scratch_databases_of(pid), 0, "scratch database left behind");
}

#[test]
fn schema_dump_output() {
    let project = Project::new(Backend::Postgres, "dump_snapshot");
    project.migration(
        "1_shop.up.sql",
        "CREATE TYPE order_state AS ENUM ('open', 'paid');\n\
         CREATE DOMAIN price AS numeric(10, 2) CHECK (VALUE >= 0);\n\
         CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);\n\
         COMMENT ON TABLE customers IS 'who buys';\n\
         CREATE TABLE orders (\n  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n  \
           customer_id bigint NOT NULL REFERENCES customers (id),\n  state order_state NOT NULL DEFAULT 'open',\n  \
           total price NOT NULL DEFAULT 0,\n  total_cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED\n);\n\
         ALTER TABLE orders ADD CONSTRAINT orders_total_small CHECK (total < 100000) NOT VALID;\n\
         CREATE INDEX orders_customer ON orders (customer_id) WHERE state = 'open';\n\
         CREATE SEQUENCE invoice_numbers START 1000;\n\
         CREATE VIEW open_orders AS SELECT id, customer_id FROM orders WHERE state = 'open';\n\
         CREATE MATERIALIZED VIEW order_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;\n\
         CREATE FUNCTION order_count(customer bigint) RETURNS bigint LANGUAGE sql STABLE\n  \
           AS $$ SELECT count(*) FROM orders WHERE customer_id = customer $$;\n\
         CREATE PROCEDURE close_order(order_id bigint) LANGUAGE sql AS $$ UPDATE orders SET state = 'paid' WHERE id = order_id $$;\n\
         CREATE FUNCTION forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'no'; END $$;\n\
         CREATE TRIGGER orders_forbid_delete BEFORE DELETE ON orders FOR EACH ROW EXECUTE FUNCTION forbid_delete();",
    );
    assert_exit(&project.run(&["up"]), 0);
    let dump = project.run(&["schema", "dump"]);
    assert_exit(&dump, 0);
    insta::assert_snapshot!("schema_dump_postgres", stdout(&dump));

    let sqlite = Project::new(Backend::Sqlite, "dump_snapshot");
    sqlite.migration(
        "1_shop.up.sql",
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE) STRICT;\n\
         CREATE TABLE orders (\n  id INTEGER PRIMARY KEY,\n  customer_id INTEGER NOT NULL REFERENCES customers (id),\n  \
           total REAL NOT NULL DEFAULT 0 CHECK (total >= 0),\n  cents INTEGER GENERATED ALWAYS AS (total * 100) STORED\n);\n\
         CREATE INDEX orders_customer ON orders (customer_id) WHERE total > 0;\n\
         CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100;\n\
         CREATE TRIGGER orders_forbid_delete BEFORE DELETE ON orders BEGIN SELECT RAISE(ABORT, 'no'); END;",
    );
    assert_exit(&sqlite.run(&["up"]), 0);
    let dump = sqlite.run(&["schema", "dump"]);
    assert_exit(&dump, 0);
    insta::assert_snapshot!("schema_dump_sqlite", stdout(&dump));
}

#[test]
fn schema_file_follows_up_and_down() {
    let project = Project::new(Backend::Sqlite, "schema_file");
    base(&project);
    std::fs::write(
        project.path("strata.toml"),
        "dir = \"migrations\"\nschema_file = \"migrations/schema.sql\"\n",
    )
    .unwrap();
    let schema_file = project.path("migrations/schema.sql");
    assert_exit(&project.run(&["up", "--dry-run"]), 0);
    assert!(!schema_file.exists(), "a dry run writes nothing");

    assert_exit(&project.run(&["up"]), 0);
    let after_up = std::fs::read_to_string(&schema_file).expect("schema file");
    assert!(after_up.contains("index users_email"), "{after_up}");
    assert_eq!(after_up, stdout(&project.run(&["schema", "dump"])));
    assert!(
        !stderr(&project.run(&["status"])).contains("schema.sql"),
        "the schema file is not taken for a migration"
    );

    assert_exit(&project.run(&["down"]), 0);
    let after_down = std::fs::read_to_string(&schema_file).unwrap();
    assert!(!after_down.contains("users_email"), "{after_down}");
    assert!(after_down.contains("table users"), "{after_down}");

    let output = project.path("dump.txt");
    assert_exit(
        &project.run(&["schema", "dump", "-o", output.to_str().unwrap()]),
        0,
    );
    assert_eq!(std::fs::read_to_string(output).unwrap(), after_down);
}

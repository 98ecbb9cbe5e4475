//! `strata trace` on the real PostgreSQL server, through the binary: the locks, rewrites and
//! constraints it reports, its findings, and that the traced database is left as it was.

mod support;

use serde_json::Value;
use support::{Backend, Project, assert_exit, stderr, stdout};

/// Users (with a row) and orders, applied; `pending` migrations written after.
fn project(label: &str, pending: &[(&str, &str)]) -> Project {
    let project = Project::new(Backend::Postgres, label);
    project.migration(
        "1_tables.up.sql",
        "-- strata:irreversible\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint);\nINSERT INTO users VALUES (1, 'a@example.com');\n",
    );
    assert_exit(&project.run(&["up"]), 0);
    for (file, sql) in pending {
        project.migration(file, sql);
    }
    project
}

/// Traces one pending migration `sql` after the tables, expecting `code`; the JSON document.
fn trace_one(label: &str, sql: &str, code: i32) -> Value {
    let project = project(label, &[("2_change.up.sql", sql)]);
    let (actual, document) = project.json(&["trace"]);
    assert_eq!(actual, code, "{document:#}");
    document
}

#[track_caller]
fn assert_locked(statement: &Value, table: &str, mode: &str) {
    assert!(
        locks(statement).contains(&(table.to_owned(), mode.to_owned())),
        "{table} {mode}: {statement:#}"
    );
}

/// The traced statements of the only traced migration.
fn statements(document: &Value) -> &Vec<Value> {
    document["migrations"][0]["statements"]
        .as_array()
        .expect("statements")
}

/// `(relation, mode)` of a statement's locks.
fn locks(statement: &Value) -> Vec<(String, String)> {
    statement["locks"]
        .as_array()
        .expect("locks")
        .iter()
        .map(|l| {
            (
                l["relation"]["name"].as_str().unwrap().to_owned(),
                l["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn rules(document: &Value) -> Vec<String> {
    document["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn rewritten(statement: &Value) -> Vec<&str> {
    statement["rewrites"]
        .as_array()
        .expect("rewrites")
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[test]
fn create_index_on_an_existing_table_takes_a_share_lock_that_blocks_writes() {
    let document = trace_one(
        "trace_index",
        "CREATE INDEX users_email ON users (email);\n",
        1,
    );
    let statement = &statements(&document)[0];
    assert_locked(statement, "public.users", "ShareLock");
    let lock = statement["locks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"]["name"] == "public.users")
        .expect("a lock on users");
    assert_eq!(
        (&lock["blocks"]["reads"], &lock["blocks"]["writes"]),
        (&Value::Bool(false), &Value::Bool(true))
    );
    assert_eq!(rules(&document), ["index-not-concurrent"]);
    assert_eq!(document["summary"]["errors"], 1);
}

#[test]
fn a_volatile_default_rewrites_the_table_under_access_exclusive() {
    let document = trace_one(
        "trace_volatile",
        "ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT clock_timestamp();\n",
        1,
    );
    let statement = &statements(&document)[0];
    assert_locked(statement, "public.users", "AccessExclusiveLock");
    assert!(
        rewritten(statement).contains(&"public.users"),
        "{statement:#}"
    );
    assert_eq!(statement["columns"][0]["column"], "created_at");
    assert_eq!(statement["columns"][0]["change"], "added");
    assert_eq!(rules(&document), ["table-rewrite"]);
}

#[test]
fn a_constant_default_does_not_rewrite() {
    let document = trace_one(
        "trace_constant",
        "ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0;\n",
        0,
    );
    let statement = &statements(&document)[0];
    assert_locked(statement, "public.users", "AccessExclusiveLock");
    assert!(rewritten(statement).is_empty(), "{statement:#}");
    assert_eq!(statement["columns"][0]["after"]["default"], "0");
    assert!(rules(&document).is_empty(), "{document:#}");
}

#[test]
fn a_not_valid_foreign_key_locks_both_tables_and_is_not_validated() {
    let document = trace_one(
        "trace_fk",
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
        0,
    );
    let statement = &statements(&document)[0];
    assert_locked(statement, "public.orders", "ShareRowExclusiveLock");
    assert_locked(statement, "public.users", "ShareRowExclusiveLock");
    let constraint = &statement["constraints"][0];
    assert_eq!(constraint["name"], "orders_user_fk");
    assert_eq!(constraint["kind"], "foreign-key");
    assert_eq!(constraint["validated"], false);
    assert_eq!(rules(&document), ["foreign-key-without-index"]);
    assert_eq!(document["summary"]["warnings"], 1);
}

#[test]
fn a_foreign_key_with_an_index_or_an_allow_is_not_reported() {
    let project = project(
        "trace_fk_indexed",
        &[
            (
                "2_index.up.sql",
                "CREATE INDEX CONCURRENTLY orders_user_id ON orders (user_id);\n",
            ),
            (
                "3_fk.up.sql",
                "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
            ),
            (
                "4_fk.up.sql",
                "CREATE TABLE notes (id bigint PRIMARY KEY, user_id bigint);\n-- strata:allow foreign-key-without-index notes are never deleted\nALTER TABLE notes ADD CONSTRAINT notes_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n",
            ),
        ],
    );
    let (code, document) = project.json(&["trace"]);
    assert_eq!(code, 0, "{document:#}");
    assert!(rules(&document).is_empty(), "{document:#}");
    // The concurrent build is reported with the concurrent form's lock, labelled as such.
    let index = &statements(&document)[0];
    assert_eq!(index["execution"]["kind"], "concurrent-form-as-plain");
    assert_locked(index, "public.orders", "ShareUpdateExclusiveLock");
    assert!(
        !locks(index).iter().any(|(_, mode)| mode == "ShareLock"),
        "{index:#}"
    );
}

/// Everything a trace must leave as it was.
#[derive(Debug, PartialEq)]
struct DatabaseState {
    schema: String,
    users: Vec<Vec<Option<String>>>,
    history: Vec<(String, String)>,
}

fn state(project: &Project) -> DatabaseState {
    let dump = project.run(&["schema", "dump"]);
    assert_exit(&dump, 0);
    DatabaseState {
        schema: stdout(&dump),
        users: project.query("SELECT id::text, email FROM users ORDER BY id"),
        history: project.history(),
    }
}

fn database_exists(project: &Project, name: &str) -> bool {
    project.query(&format!(
        "SELECT 1 FROM pg_database WHERE datname = '{name}'"
    )) != Vec::<Vec<Option<String>>>::new()
}

#[test]
fn a_trace_leaves_the_database_unchanged_and_drops_its_scratch_database_also_on_failure() {
    let project = project(
        "trace_unchanged",
        &[
            (
                "2_ok.up.sql",
                "ALTER TABLE users ADD COLUMN score integer DEFAULT 0;\nUPDATE users SET email = 'changed';\n",
            ),
            (
                "3_fails.up.sql",
                "ALTER TABLE users ADD COLUMN nickname text;\nINSERT INTO missing_table VALUES (1);\n",
            ),
        ],
    );
    let before = state(&project);

    let (code, document) = project.json(&["trace"]);
    assert_eq!(code, 1, "{document:#}");
    let scratch = document["database"].as_str().unwrap().to_owned();
    assert!(scratch.starts_with("strata_verify_"), "{scratch}");
    assert_eq!(document["migrations"][1]["failure"]["line"], 2);
    assert_eq!(document["migrations"][1]["failure"]["code"], "42P01");
    assert!(
        document["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 fails")
    );
    assert!(!database_exists(&project, &scratch));
    assert_eq!(state(&project), before);

    let output = project.run(&["trace", "--in-place", "2"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("warning: --in-place"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("rolled back"),
        "{}",
        stdout(&output)
    );
    let output = project.run(&["trace", "--in-place"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("missing_table"),
        "{}",
        stderr(&output)
    );
    assert_eq!(state(&project), before);
}

#[test]
fn in_place_refuses_applied_migrations_and_trace_refuses_other_databases() {
    let project = project("trace_refusals", &[]);
    let output = project.run(&["trace", "--in-place", "1"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("is applied"),
        "{}",
        stderr(&output)
    );

    let output = project
        .strata()
        .args(["trace"])
        .env("DATABASE_URL", "sqlite://other.db")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("PostgreSQL"),
        "{}",
        stderr(&output)
    );

    let output = project.run(&["trace", "99"]);
    assert_exit(&output, 2);
    let output = project.run(&["status", "--format", "markdown"]);
    assert_exit(&output, 2);
}

#[test]
fn markdown_report_for_a_pull_request() {
    let project = project(
        "trace_markdown",
        &[(
            "2_orders.up.sql",
            "CREATE INDEX orders_user_id ON orders (user_id);\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
        )],
    );
    let output = project.run(&[
        "trace",
        "migrations/2_orders.up.sql",
        "--format",
        "markdown",
    ]);
    assert_exit(&output, 1);
    let durations = regex::Regex::new(r"\d+\.\d ms").unwrap();
    let version = regex::Regex::new(r"PostgreSQL \d+(\.\d+)?").unwrap();
    let text = durations.replace_all(&stdout(&output), "[ms]").into_owned();
    insta::assert_snapshot!(version.replace_all(&text, "PostgreSQL [version]"));
}

/// A rename and a type change of existing columns run as expand/contract: the trace follows
/// `up` and `complete`, each phase's statements as strata wrote them, located at the file's
/// lines, with none of the findings the plain statements would have.
#[test]
fn an_expand_contract_migration_is_traced_phase_by_phase() {
    let sql = "ALTER TABLE users RENAME COLUMN email TO contact;\nALTER TABLE orders ALTER COLUMN user_id TYPE numeric;\n";
    let document = trace_one("trace_expand", sql, 0);
    let migrations = document["migrations"].as_array().unwrap();
    let phases: Vec<&str> = migrations
        .iter()
        .map(|m| m["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["expand", "complete"], "{document:#}");
    assert!(migrations.iter().all(|m| m["version"] == "2"));
    assert_eq!(document["summary"]["errors"], 0, "{document:#}");
    assert_eq!(document["summary"]["warnings"], 0, "{document:#}");

    let expand = migrations[0]["statements"].as_array().unwrap();
    let backfill = expand
        .iter()
        .find(|s| s["execution"]["kind"] == "backfill")
        .unwrap_or_else(|| panic!("a backfill in {expand:#?}"));
    assert!(
        backfill["sql"].as_str().unwrap().starts_with("UPDATE"),
        "{backfill:#}"
    );
    assert_eq!(backfill["line"], 2);
    assert_locked(backfill, "public.orders", "RowExclusiveLock");
    assert!(
        expand
            .iter()
            .all(|s| !s["sql"].as_str().unwrap().starts_with("ALTER TABLE users")),
        "the file's statements do not run as written: {expand:#?}"
    );

    let complete = migrations[1]["statements"].as_array().unwrap();
    assert!(
        complete
            .iter()
            .any(|s| locks(s)
                .contains(&("public.orders".to_owned(), "AccessExclusiveLock".to_owned()))),
        "the swap locks orders: {complete:#?}"
    );
    let renames: Vec<(&str, &str)> = complete
        .iter()
        .flat_map(|s| s["columns"].as_array().unwrap())
        .filter(|c| c["table"]["name"] == "public.users" && !c["renamed_from"].is_null())
        .map(|c| {
            (
                c["renamed_from"].as_str().unwrap(),
                c["column"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(renames, [("email", "contact")], "{complete:#?}");

    let project = project("trace_expand_in_place", &[("2_change.up.sql", sql)]);
    let output = project.run(&["trace"]);
    assert_exit(&output, 0);
    let report = stdout(&output);
    assert!(
        report.contains("2 change  migrations/2_change.up.sql  (expand phase (`strata up`), statement by statement,")
            && report.contains("2 change  migrations/2_change.up.sql  (complete phase (`strata complete`), statement by statement,")
            && report.contains("(online backfill: traced as one statement; `strata up` runs it in key-range batches, each a short transaction)"),
        "{report}"
    );
    let output = project.run(&["trace", "--in-place"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains(
            "error: --in-place cannot trace 2 change: it is an expand/contract migration"
        ) && stderr(&output).contains("leave out --in-place")
            && !stderr(&output).contains("warning: --in-place"),
        "{}",
        stderr(&output)
    );
}

//! The linter on MySQL/MariaDB migrations, through the binary on the real MariaDB: each MySQL rule
//! fires, the target version comes from the connected server unless `--mysql-version` names one,
//! and `up` applies ordinary migrations while stopping a table copy before it starts.

mod support;

use support::{Backend, Project, assert_exit, json_document, stderr};

fn rules_reported(document: &serde_json::Value) -> Vec<String> {
    document["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["rule"].as_str().expect("rule id").to_owned())
        .collect()
}

/// A project on a throw-away database whose first migration, `create_users`, is applied.
fn project_with_users(label: &str, create_users: &str) -> Project {
    let project = Project::new(Backend::MySql, label);
    project.migration("1_users.up.sql", create_users);
    project.migration("1_users.down.sql", "DROP TABLE users;\n");
    assert_exit(&project.run(&["up"]), 0);
    project
}

#[test]
fn lint_reports_each_mysql_rule_on_a_mysql_file() {
    let project = project_with_users(
        "lintrules",
        "CREATE TABLE users (id BIGINT PRIMARY KEY, age INT NOT NULL);\n",
    );
    project.migration(
        "2_age.up.sql",
        "ALTER TABLE users MODIFY COLUMN age BIGINT NOT NULL;\n\
         ALTER TABLE users ADD COLUMN nickname VARCHAR(20), ALGORITHM=COPY;\n",
    );
    project.migration(
        "2_age.down.sql",
        "ALTER TABLE users DROP COLUMN nickname;\n",
    );

    let output = project.run(&["lint", "--format", "json"]);
    assert_exit(&output, 1);
    let rules = rules_reported(&json_document(&output));
    for rule in [
        "mysql-copy-alter",
        "mysql-blocking-algorithm",
        "mysql-multiple-ddl",
    ] {
        assert!(rules.iter().any(|r| r == rule), "{rule} missing: {rules:?}");
    }
    assert!(
        !rules
            .iter()
            .any(|r| r == "syntax-error" || r == "change-column-type"),
        "no PostgreSQL-only rule and no syntax error: {rules:?}"
    );
}

#[test]
fn the_target_version_is_the_servers_unless_given() {
    let project = project_with_users(
        "lintversion",
        "CREATE TABLE users (id BIGINT PRIMARY KEY);\n",
    );
    project.migration(
        "2_first.up.sql",
        "ALTER TABLE users ADD COLUMN a INT FIRST;\n",
    );
    project.migration("2_first.down.sql", "ALTER TABLE users DROP COLUMN a;\n");

    // The running MariaDB adds a column anywhere in place, so nothing copies.
    let on_server = project.run(&["lint", "--format", "json"]);
    assert_exit(&on_server, 0);
    assert!(rules_reported(&json_document(&on_server)).is_empty());

    // MySQL 5.5 predates online DDL: the same change copies the table.
    let old = project.run(&["lint", "--format", "json", "--mysql-version", "5.5.62"]);
    assert_exit(&old, 1);
    let document = json_document(&old);
    assert_eq!(rules_reported(&document), ["mysql-copy-alter"]);
    let message = document["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("MySQL 5.5.62"), "{message}");

    let bad = project.run(&["lint", "--mysql-version", "latest"]);
    assert_exit(&bad, 2);
    assert!(stderr(&bad).contains("latest"), "{}", stderr(&bad));
}

#[test]
fn up_applies_ordinary_migrations_and_stops_a_table_copy() {
    let project = Project::new(Backend::MySql, "lintgate");
    project.migration(
        "1_items.up.sql",
        "CREATE TABLE items (id BIGINT PRIMARY KEY, qty INT NOT NULL);\n\
         INSERT INTO items VALUES (1, 5), (2, 7);\n",
    );
    project.migration("1_items.down.sql", "DROP TABLE items;\n");
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(project.tables(), ["items"]);
    assert_eq!(
        project.query("SELECT COUNT(*) FROM items"),
        [[Some("2".to_owned())]]
    );

    project.migration(
        "2_qty.up.sql",
        "ALTER TABLE items MODIFY COLUMN qty BIGINT, ALGORITHM=COPY;\n",
    );
    project.migration(
        "2_qty.down.sql",
        "ALTER TABLE items MODIFY COLUMN qty INT NOT NULL;\n",
    );
    let stopped = project.run(&["up"]);
    assert_exit(&stopped, 1);
    let err = stderr(&stopped);
    for rule in [
        "mysql-copy-alter",
        "mysql-blocking-algorithm",
        "drop-not-null",
    ] {
        assert!(err.contains(rule), "{rule} missing: {err}");
    }
    assert!(err.contains("nothing was applied"), "{err}");
    assert_eq!(
        project.query(
            "SELECT DATA_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND COLUMN_NAME = 'qty'"
        ),
        [[Some("int".to_owned())]]
    );
}

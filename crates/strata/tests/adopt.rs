//! `strata adopt` on every backend: each tool's history table created and filled as the tool
//! itself does it (the DDL of golang-migrate's, dbmate's, sqlx's, Diesel's and Flyway's drivers),
//! then adopted without running a migration, and the refusals that change nothing.

#[macro_use]
mod support;

use sha2::{Digest, Sha384};
use support::{Backend, Project, assert_exit, states, stderr, stdout};

on_every_backend!(
    adopts_golang_migrate,
    adopts_dbmate,
    adopts_sqlx,
    adopts_diesel,
    adopts_flyway,
    adopts_a_table_by_its_configured_name,
    adopts_sqlx_with_its_sqlx_toml,
);

/// Runs each statement on the project's database.
fn exec(project: &Project, statements: &[String]) {
    for statement in statements {
        project.query(statement);
    }
}

/// Three native migrations creating tables a, b and c.
fn three_tables(project: &Project) {
    project
        .migration("1_create_a.up.sql", "CREATE TABLE a (id int);\n")
        .migration("1_create_a.down.sql", "DROP TABLE a;\n")
        .migration("2_create_b.up.sql", "CREATE TABLE b (id int);\n")
        .migration("3_create_c.up.sql", "CREATE TABLE c (id int);\n");
}

/// Creates what the tool's migrations created (the tables `existing`), as the tool ran them.
fn tool_applied(project: &Project, existing: &[&str]) {
    let statements: Vec<String> = existing
        .iter()
        .map(|t| format!("CREATE TABLE {t} (id int)"))
        .collect();
    exec(project, &statements);
}

/// The project's tables, sorted.
fn sorted_tables(project: &Project) -> Vec<String> {
    let mut tables = project.tables();
    tables.sort();
    tables
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

/// After adopting, in every scenario here (the tool's migrations made tables `a` and `b`, the
/// one it had not applied makes `c`): nothing ran (the tables are `a`, `b` and the tool's own),
/// the adopted migrations are applied and the rest pending, a second `adopt` (as run first)
/// does nothing, and `up` runs only the rest (re-running an adopted one would fail: its table
/// exists).
fn assert_adopted(
    project: &Project,
    adopt: &[&str],
    table: &str,
    applied: &[&str],
    pending: &[&str],
) {
    assert_eq!(
        sorted_tables(project),
        sorted(&["a", "b", table]),
        "adopt runs no migration"
    );
    let expected: Vec<(&str, &str)> = applied
        .iter()
        .map(|v| (*v, "applied"))
        .chain(pending.iter().map(|v| (*v, "pending")))
        .collect();
    assert_eq!(project.states(), states(&expected));
    let again = project.run(adopt);
    assert_exit(&again, 0);
    assert!(
        stdout(&again).starts_with("nothing to adopt"),
        "{}",
        stdout(&again)
    );
    assert_exit(&project.run(&["up"]), 0);
    assert_eq!(
        sorted_tables(project),
        sorted(&["a", "b", "c", table]),
        "up applies only the migrations the tool had not"
    );
    assert_exit(&project.run(&["status", "--check"]), 0);
}

/// Runs `adopt`, which must record migrations 1 and 2 from `tool`'s `table` (and say it left
/// the table as it was), then [`assert_adopted`] with 3 pending.
fn assert_adopts_1_and_2(project: &Project, adopt: &[&str], tool: &str, table: &str) {
    let output = project.run(adopt);
    assert_exit(&output, 0);
    let report = stdout(&output);
    assert!(
        report.starts_with(&format!(
            "recorded 2 migrations from {tool} ({table}) as applied, without running them:"
        )) && report.contains(&format!("{table} was left as it was")),
        "{report}"
    );
    assert_adopted(project, adopt, table, &["1", "2"], &["3"]);
}

fn golang_migrate_table(backend: Backend, version: i64, dirty: bool) -> Vec<String> {
    // database/postgres, database/mysql and database/sqlite3's ensureVersionTable, and SetVersion.
    let create = match backend {
        Backend::Postgres => vec![
            r#"CREATE TABLE IF NOT EXISTS "schema_migrations" (version bigint not null primary key, dirty boolean not null)"#.to_owned(),
        ],
        Backend::MySql => vec![
            "CREATE TABLE IF NOT EXISTS `schema_migrations` (version bigint not null primary key, dirty boolean not null) Engine=InnoDB".to_owned(),
        ],
        Backend::Sqlite => vec![
            "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool)".to_owned(),
            "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version)".to_owned(),
        ],
    };
    let dirty = match backend {
        Backend::Postgres => dirty.to_string(),
        _ => u8::from(dirty).to_string(),
    };
    create
        .into_iter()
        .chain([format!(
            "INSERT INTO schema_migrations (version, dirty) VALUES ({version}, {dirty})"
        )])
        .collect()
}

fn adopts_golang_migrate(backend: Backend) {
    let project = Project::new(backend, "adopt_golang");
    three_tables(&project);
    exec(&project, &golang_migrate_table(backend, 2, false));
    tool_applied(&project, &["a", "b"]);
    assert_adopts_1_and_2(&project, &["adopt"], "golang-migrate", "schema_migrations");
}

/// golang-migrate set up with `x-migrations-table=app_versions`: found only by `--table`, which
/// also tells the tool from the table's columns.
fn adopts_a_table_by_its_configured_name(backend: Backend) {
    let project = Project::new(backend, "adopt_named_table");
    three_tables(&project);
    let renamed: Vec<String> = golang_migrate_table(backend, 2, false)
        .iter()
        .map(|statement| statement.replace("schema_migrations", "app_versions"))
        .collect();
    exec(&project, &renamed);
    tool_applied(&project, &["a", "b"]);
    assert_refused(
        &project,
        &["adopt"],
        "error: this database has no migration history table of golang-migrate, dbmate, sqlx, Diesel or Flyway",
    );
    assert_refused(
        &project,
        &["adopt", "--from", "dbmate", "--table", "app_versions"],
        "error: no dbmate history table: app_versions has the columns version, dirty, not dbmate's",
    );
    assert_refused(
        &project,
        &["adopt", "--table", "app_version"],
        "error: app_version does not exist",
    );
    assert_adopts_1_and_2(
        &project,
        &["adopt", "--table", "app_versions"],
        "golang-migrate",
        "app_versions",
    );
}

fn dbmate_table(backend: Backend, versions: &[&str]) -> Vec<String> {
    // pkg/driver/{postgres,mysql,sqlite}: CreateMigrationsTable, InsertMigration.
    let create = match backend {
        Backend::Postgres => {
            "create table if not exists public.schema_migrations (version varchar(128) primary key)"
        }
        _ => "create table if not exists schema_migrations (version varchar(128) primary key)",
    };
    std::iter::once(create.to_owned())
        .chain(
            versions
                .iter()
                .map(|v| format!("insert into schema_migrations (version) values ('{v}')")),
        )
        .collect()
}

fn adopts_dbmate(backend: Backend) {
    let project = Project::new(backend, "adopt_dbmate");
    project
        .migration(
            "20240101000000_create_a.sql",
            "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n",
        )
        .migration(
            "20240102000000_create_b.sql",
            "-- migrate:up\nCREATE TABLE b (id int);\n",
        )
        .migration(
            "20240103000000_create_c.sql",
            "-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\nDROP TABLE c;\n",
        );
    exec(
        &project,
        &dbmate_table(backend, &["20240101000000", "20240102000000"]),
    );
    tool_applied(&project, &["a", "b"]);
    assert_exit(&project.run(&["adopt"]), 0);
    assert_adopted(
        &project,
        &["adopt"],
        "schema_migrations",
        &["20240101000000", "20240102000000"],
        &["20240103000000"],
    );
    // The down section of a dbmate file reverts it.
    assert_exit(&project.run(&["down"]), 0);
    assert_eq!(sorted_tables(&project), ["a", "b", "schema_migrations"]);
}

fn sqlx_checksum(project: &Project, file: &str) -> String {
    sha384_hex(&std::fs::read(project.path("migrations").join(file)).unwrap())
}

fn sha384_hex(bytes: &[u8]) -> String {
    Sha384::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sqlx_table(backend: Backend) -> String {
    // sqlx-{postgres,mysql,sqlite}/src/migrate.rs: ensure_migrations_table.
    match backend {
        Backend::Postgres => "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, \
             execution_time BIGINT NOT NULL)",
        _ => "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
             installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, \
             execution_time BIGINT NOT NULL)",
    }
    .to_owned()
}

/// sqlx's row for an applied migration (it inserts, then sets the execution time in ns).
fn sqlx_row(
    backend: Backend,
    version: i64,
    description: &str,
    checksum: &str,
    success: bool,
    installed_on: &str,
) -> String {
    let bytes = match backend {
        Backend::Postgres => format!("decode('{checksum}', 'hex')"),
        Backend::MySql => format!("UNHEX('{checksum}')"),
        Backend::Sqlite => format!("X'{checksum}'"),
    };
    let success = match backend {
        Backend::Postgres => success.to_string(),
        _ => u8::from(success).to_string(),
    };
    format!(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES ({version}, '{description}', '{installed_on}', {success}, {bytes}, 1234567)"
    )
}

fn sqlx_history(project: &Project) -> Vec<String> {
    let backend = project.backend;
    vec![
        sqlx_table(backend),
        sqlx_row(
            backend,
            1,
            "create a",
            &sqlx_checksum(project, "1_create_a.up.sql"),
            true,
            "2024-03-01 10:00:00",
        ),
        sqlx_row(
            backend,
            2,
            "create b",
            &sqlx_checksum(project, "2_create_b.up.sql"),
            true,
            "2024-03-02 11:30:00",
        ),
    ]
}

/// sqlx 0.9's `sqlx.toml` beside the migrations directory: its `table-name`, and its
/// `ignored-chars` (the files hashed with LF line breaks, checked out since with CRLF).
fn adopts_sqlx_with_its_sqlx_toml(backend: Backend) {
    let project = Project::new(backend, "adopt_sqlx_toml");
    let sql = |table: &str| format!("CREATE TABLE {table} (id int);\r\n");
    for (file, table) in [
        ("1_create_a", "a"),
        ("2_create_b", "b"),
        ("3_create_c", "c"),
    ] {
        project.migration(&format!("{file}.up.sql"), &sql(table));
    }
    let hashed_with_lf = |table: &str| sha384_hex(sql(table).replace('\r', "").as_bytes());
    let statements: Vec<String> = [
        sqlx_table(backend),
        sqlx_row(
            backend,
            1,
            "create a",
            &hashed_with_lf("a"),
            true,
            "2024-03-01 10:00:00",
        ),
        sqlx_row(
            backend,
            2,
            "create b",
            &hashed_with_lf("b"),
            true,
            "2024-03-02 11:30:00",
        ),
    ]
    .iter()
    .map(|statement| statement.replace("_sqlx_migrations", "app_sqlx_migrations"))
    .collect();
    exec(&project, &statements);
    tool_applied(&project, &["a", "b"]);
    assert_refused(
        &project,
        &["adopt"],
        "error: this database has no migration history table",
    );
    let settings = project.path("sqlx.toml");
    std::fs::write(
        &settings,
        "[migrate]\ntable-name = \"app_sqlx_migrations\"\n",
    )
    .unwrap();
    assert_refused(
        &project,
        &["adopt"],
        "error: 2 files changed since sqlx applied them: migrations/1_create_a.up.sql, migrations/2_create_b.up.sql",
    );
    std::fs::write(
        &settings,
        "[migrate]\ntable-name = \"app_sqlx_migrations\"\nignored-chars = [\"\\r\"]\n",
    )
    .unwrap();
    assert_adopts_1_and_2(&project, &["adopt"], "sqlx", "app_sqlx_migrations");
}

fn adopts_sqlx(backend: Backend) {
    let project = Project::new(backend, "adopt_sqlx");
    three_tables(&project);
    exec(&project, &sqlx_history(&project));
    tool_applied(&project, &["a", "b"]);
    assert_exit(&project.run(&["adopt", "--dry-run"]), 0);
    assert!(!project.has_history_table(), "a dry run records nothing");
    let (code, document) = project.json(&["adopt"]);
    assert_eq!(code, 0, "{document}");
    assert_eq!(document["tool"], "sqlx");
    assert_eq!(document["adopted"][0]["applied_at"], "2024-03-01T10:00:00Z");
    assert_eq!(
        document["migrations"][1]["applied_at"], "2024-03-02T11:30:00Z",
        "the tool's times are kept"
    );
    assert_eq!(document["migrations"][1]["state"], "applied");
    assert_eq!(document["pending"], 1);
    assert_adopted(
        &project,
        &["adopt"],
        "_sqlx_migrations",
        &["1", "2"],
        &["3"],
    );
    assert_eq!(
        project.query("SELECT count(*) FROM _sqlx_migrations")[0][0].as_deref(),
        Some("2"),
        "sqlx's table is left as it was"
    );
}

fn diesel_table(backend: Backend) -> String {
    // diesel/src/migration/setup_migration_table.sql (MySQL: the same, with its own quoting).
    let _ = backend;
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
     run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        .to_owned()
}

fn diesel_directory(project: &Project, name: &str, up: &str, metadata: Option<&str>) {
    let dir = project.path("migrations").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("up.sql"), up).unwrap();
    std::fs::write(dir.join("down.sql"), "SELECT 1;\n").unwrap();
    if let Some(metadata) = metadata {
        std::fs::write(dir.join("metadata.toml"), metadata).unwrap();
    }
}

fn adopts_diesel(backend: Backend) {
    let project = Project::new(backend, "adopt_diesel");
    diesel_directory(
        &project,
        "00000000000000_diesel_initial_setup",
        "SELECT 1;\n",
        None,
    );
    diesel_directory(
        &project,
        "2023-01-01-000000_create_a",
        "CREATE TABLE a (id int);\n",
        None,
    );
    diesel_directory(
        &project,
        "2023-01-02-000000_create_b",
        "CREATE TABLE b (id int);\n",
        Some("run_in_transaction = false\n"),
    );
    diesel_directory(
        &project,
        "2023-01-03-000000_create_c",
        "CREATE TABLE c (id int);\n",
        None,
    );
    exec(
        &project,
        &[
            diesel_table(backend),
            "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('00000000000000', '2023-01-01 00:00:00')".into(),
            "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('20230101000000', '2023-01-01 00:00:01')".into(),
            "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('20230102000000', '2023-01-02 00:00:01')".into(),
        ],
    );
    tool_applied(&project, &["a", "b"]);
    assert_exit(&project.run(&["adopt", "--from", "diesel"]), 0);
    assert_adopted(
        &project,
        &["adopt"],
        "__diesel_schema_migrations",
        &["00000000000000", "2023-01-01-000000", "2023-01-02-000000"],
        &["2023-01-03-000000"],
    );
}

/// Flyway's checksum: CRC-32 of the file's lines without their line breaks.
fn flyway_checksum(project: &Project, file: &str) -> i32 {
    let bytes = std::fs::read(project.path("migrations").join(file)).unwrap();
    let mut crc = crc32fast::Hasher::new();
    for line in bytes.split(|b| *b == b'\n' || *b == b'\r') {
        crc.update(line);
    }
    i32::from_ne_bytes(crc.finalize().to_ne_bytes())
}

fn flyway_table(backend: Backend) -> Vec<String> {
    // flyway-database-{postgresql,mysql}: getRawCreateScript; SQLite: SQLiteDatabase.
    match backend {
        Backend::Postgres => vec![
            r#"CREATE TABLE "public"."flyway_schema_history" ("installed_rank" INT NOT NULL, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INTEGER, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TIMESTAMP NOT NULL DEFAULT now(), "execution_time" INTEGER NOT NULL, "success" BOOLEAN NOT NULL)"#.to_owned(),
            r#"ALTER TABLE "public"."flyway_schema_history" ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank")"#.to_owned(),
            r#"CREATE INDEX "flyway_schema_history_s_idx" ON "public"."flyway_schema_history" ("success")"#.to_owned(),
        ],
        Backend::MySql => vec![
            "CREATE TABLE `flyway_schema_history` (`installed_rank` INT NOT NULL, `version` VARCHAR(50), `description` VARCHAR(200) NOT NULL, `type` VARCHAR(20) NOT NULL, `script` VARCHAR(1000) NOT NULL, `checksum` INT, `installed_by` VARCHAR(100) NOT NULL, `installed_on` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, `execution_time` INT NOT NULL, `success` BOOL NOT NULL, CONSTRAINT `flyway_schema_history_pk` PRIMARY KEY (`installed_rank`)) ENGINE=InnoDB".to_owned(),
            "CREATE INDEX `flyway_schema_history_s_idx` ON `flyway_schema_history` (`success`)".to_owned(),
        ],
        Backend::Sqlite => vec![
            r#"CREATE TABLE "flyway_schema_history" ("installed_rank" INT NOT NULL PRIMARY KEY, "version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL, "script" VARCHAR(1000) NOT NULL, "checksum" INT, "installed_by" VARCHAR(100) NOT NULL, "installed_on" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), "execution_time" INT NOT NULL, "success" BOOLEAN NOT NULL)"#.to_owned(),
            r#"CREATE INDEX "flyway_schema_history_s_idx" ON "flyway_schema_history" ("success")"#.to_owned(),
        ],
    }
}

/// A row as Flyway writes it (`checksum` NULL for a baseline).
fn flyway_row(
    backend: Backend,
    rank: i32,
    version: &str,
    kind: &str,
    script: &str,
    checksum: Option<i32>,
    success: bool,
) -> String {
    let success = match backend {
        Backend::Postgres => success.to_string(),
        _ => u8::from(success).to_string(),
    };
    let checksum = checksum.map_or("NULL".to_owned(), |c| c.to_string());
    format!(
        "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, installed_on, execution_time, success) \
         VALUES ({rank}, '{version}', 'x', '{kind}', '{script}', {checksum}, 'flyway', '2024-06-0{rank} 08:00:00', 5, {success})"
    )
}

fn flyway_files(project: &Project) {
    project
        .migration("V1__create_a.sql", "CREATE TABLE a (id int);\r\n")
        .migration("V1.1__create_b.sql", "-- b\nCREATE TABLE b (id int);\n")
        .migration("U1.1__create_b.sql", "DROP TABLE b;\n")
        .migration("V2__create_c.sql", "CREATE TABLE c (id int);\n")
        .migration("U2__create_c.sql", "DROP TABLE c;\n");
}

fn adopts_flyway(backend: Backend) {
    let project = Project::new(backend, "adopt_flyway");
    flyway_files(&project);
    let mut sql = flyway_table(backend);
    sql.push(flyway_row(
        backend,
        1,
        "1",
        "SQL",
        "V1__create_a.sql",
        Some(flyway_checksum(&project, "V1__create_a.sql")),
        true,
    ));
    sql.push(flyway_row(
        backend,
        2,
        "1.1",
        "SQL",
        "V1.1__create_b.sql",
        Some(flyway_checksum(&project, "V1.1__create_b.sql")),
        true,
    ));
    exec(&project, &sql);
    tool_applied(&project, &["a", "b"]);
    let output = project.run(&["adopt"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("  1.1  create_b  2024-06-02T08:00:00Z\n"),
        "{}",
        stdout(&output)
    );
    assert_adopted(
        &project,
        &["adopt"],
        "flyway_schema_history",
        &["1", "1.1"],
        &["2"],
    );
    // Undo files are the downs.
    assert_exit(&project.run(&["down", "--to", "1"]), 0);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("1.1", "pending"), ("2", "pending")])
    );
}

/// Runs `strata adopt`, expecting exit 1 with `message` on stderr and nothing recorded.
#[track_caller]
fn assert_refused(project: &Project, args: &[&str], message: &str) {
    let output = project.run(args);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains(message),
        "expected {message:?} in:\n{}",
        stderr(&output)
    );
    assert!(
        !project.has_history_table(),
        "a refused adopt records nothing"
    );
}

/// A Java migration Flyway ran has no file strata can read: refused by its class name until an
/// SQL file of its version stands in for it, which adopt records without running.
#[test]
fn a_flyway_java_migration_is_taken_over_through_an_sql_file_of_its_version() {
    let project = Project::new(Backend::Sqlite, "adopt_flyway_java");
    flyway_files(&project);
    let mut sql = flyway_table(Backend::Sqlite);
    for (rank, version, file) in [
        (1, "1", "V1__create_a.sql"),
        (2, "1.1", "V1.1__create_b.sql"),
    ] {
        let checksum = flyway_checksum(&project, file);
        sql.push(flyway_row(
            Backend::Sqlite,
            rank,
            version,
            "SQL",
            file,
            Some(checksum),
            true,
        ));
    }
    sql.push(flyway_row(
        Backend::Sqlite,
        3,
        "1.2",
        "JDBC",
        "db.migration.V1_2__Backfill_totals",
        None,
        true,
    ));
    exec(&project, &sql);
    tool_applied(&project, &["a", "b"]);
    assert_refused(
        &project,
        &["adopt"],
        "has: 1.2 (Java migration db.migration.V1_2__Backfill_totals)",
    );
    project.migration(
        "V1.2__backfill_totals.sql",
        "-- Flyway ran this as the Java migration db.migration.V1_2__Backfill_totals.\n",
    );
    let output = project.run(&["adopt"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).starts_with("recorded 3 migrations from flyway"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        project.states(),
        states(&[
            ("1", "applied"),
            ("1.1", "applied"),
            ("1.2", "applied"),
            ("2", "pending")
        ])
    );
}

#[test]
fn refuses_a_dirty_golang_migrate_version() {
    let project = Project::new(Backend::Postgres, "adopt_dirty");
    three_tables(&project);
    exec(&project, &golang_migrate_table(Backend::Postgres, 2, true));
    assert_refused(
        &project,
        &["adopt"],
        "error: golang-migrate's schema_migrations is dirty at version 2: that migration failed part-way",
    );
    assert_refused(&project, &["adopt"], "migrate force <version>");
}

#[test]
fn refuses_a_version_without_a_file() {
    let project = Project::new(Backend::Sqlite, "adopt_missing");
    three_tables(&project);
    exec(&project, &dbmate_table(Backend::Sqlite, &["1", "2", "9"]));
    assert_refused(
        &project,
        &["adopt"],
        "error: dbmate recorded 1 version that no file in migrations has: 9",
    );
    let project = Project::new(Backend::Sqlite, "adopt_missing_golang");
    three_tables(&project);
    exec(&project, &golang_migrate_table(Backend::Sqlite, 7, false));
    assert_refused(
        &project,
        &["adopt"],
        "error: golang-migrate recorded 1 version that no file in migrations has: 7",
    );
}

#[test]
fn refuses_a_file_edited_since_the_tool_applied_it() {
    for backend in [Backend::Postgres, Backend::MySql] {
        let project = Project::new(backend, "adopt_edited");
        three_tables(&project);
        exec(&project, &sqlx_history(&project));
        // A comment added: strata's own checksum would not mind, sqlx's does.
        project.migration("2_create_b.up.sql", "-- b\nCREATE TABLE b (id int);\n");
        assert_refused(
            &project,
            &["adopt"],
            "error: 1 file changed since sqlx applied it: migrations/2_create_b.up.sql",
        );
    }
    let project = Project::new(Backend::Sqlite, "adopt_edited_flyway");
    flyway_files(&project);
    let mut sql = flyway_table(Backend::Sqlite);
    sql.push(flyway_row(
        Backend::Sqlite,
        1,
        "1",
        "SQL",
        "V1__create_a.sql",
        Some(12345),
        true,
    ));
    exec(&project, &sql);
    assert_refused(
        &project,
        &["adopt"],
        "error: 1 file changed since flyway applied it: migrations/V1__create_a.sql",
    );
}

#[test]
fn refuses_failed_entries() {
    let project = Project::new(Backend::MySql, "adopt_failed_sqlx");
    three_tables(&project);
    let mut sql = sqlx_history(&project);
    sql.push(sqlx_row(
        Backend::MySql,
        3,
        "create c",
        &sqlx_checksum(&project, "3_create_c.up.sql"),
        false,
        "2024-03-03 00:00:00",
    ));
    exec(&project, &sql);
    assert_refused(
        &project,
        &["adopt"],
        "error: sqlx recorded failed migrations: 3",
    );

    let project = Project::new(Backend::Postgres, "adopt_failed_flyway");
    flyway_files(&project);
    let mut sql = flyway_table(Backend::Postgres);
    sql.push(flyway_row(
        Backend::Postgres,
        1,
        "1",
        "SQL",
        "V1__create_a.sql",
        Some(flyway_checksum(&project, "V1__create_a.sql")),
        true,
    ));
    sql.push(flyway_row(
        Backend::Postgres,
        2,
        "1.1",
        "SQL",
        "V1.1__create_b.sql",
        None,
        false,
    ));
    exec(&project, &sql);
    assert_refused(
        &project,
        &["adopt"],
        "error: flyway recorded failed migrations: 1.1",
    );
    assert_refused(&project, &["adopt"], "flyway repair");
}

#[test]
fn flyway_baseline_undo_and_repeatable_rows() {
    let backend = Backend::Postgres;
    let project = Project::new(backend, "adopt_flyway_events");
    project
        .migration("V2__create_b.sql", "CREATE TABLE b (id int);\n")
        .migration("V3__create_c.sql", "CREATE TABLE c (id int);\n")
        .migration("V4__create_d.sql", "CREATE TABLE d (id int);\n");
    let mut sql = flyway_table(backend);
    sql.push(flyway_row(
        backend,
        1,
        "1",
        "BASELINE",
        "<< Flyway Baseline >>",
        None,
        true,
    ));
    sql.push(flyway_row(
        backend,
        2,
        "2",
        "SQL",
        "V2__create_b.sql",
        Some(flyway_checksum(&project, "V2__create_b.sql")),
        true,
    ));
    sql.push(flyway_row(
        backend,
        3,
        "3",
        "SQL",
        "V3__create_c.sql",
        Some(flyway_checksum(&project, "V3__create_c.sql")),
        true,
    ));
    sql.push(flyway_row(
        backend,
        4,
        "3",
        "UNDO_SQL",
        "U3__create_c.sql",
        Some(1),
        true,
    ));
    sql.push("INSERT INTO flyway_schema_history VALUES (5, NULL, 'views', 'SQL', 'R__views.sql', 77, 'flyway', now(), 1, true)".into());
    exec(&project, &sql);
    let output = project.run(&["adopt"]);
    assert_exit(&output, 0);
    assert!(
        stdout(&output).contains("note: R__views.sql: a repeatable migration Flyway applied; strata has no repeatable migrations"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        project.states(),
        states(&[("2", "applied"), ("3", "pending"), ("4", "pending")])
    );
}

#[test]
fn several_tools_need_from() {
    let project = Project::new(Backend::Sqlite, "adopt_several");
    three_tables(&project);
    let mut sql = dbmate_table(Backend::Sqlite, &["1"]);
    sql.extend(sqlx_history(&project));
    exec(&project, &sql);
    assert_refused(
        &project,
        &["adopt"],
        "error: several migration tools' history tables exist: dbmate (schema_migrations), sqlx (_sqlx_migrations); choose one with --from",
    );
    assert_refused(
        &project,
        &["adopt", "--from", "diesel"],
        "error: no diesel history table: __diesel_schema_migrations does not exist",
    );
    assert_refused(
        &project,
        &["adopt", "--from", "golang-migrate"],
        "error: no golang-migrate history table: schema_migrations has the columns version, not golang-migrate's",
    );
    let output = project.run(&["adopt", "--from", "sqlx"]);
    assert_exit(&output, 0);
    assert_eq!(
        project.states(),
        states(&[("1", "applied"), ("2", "applied"), ("3", "pending")])
    );
    let output = project.run(&["adopt", "--from", "nope"]);
    assert_exit(&output, 2);
}

#[test]
fn refuses_when_strata_history_disagrees_or_no_tool_is_found() {
    let project = Project::new(Backend::Sqlite, "adopt_disagrees");
    three_tables(&project);
    assert_refused(
        &project,
        &["adopt"],
        "error: this database has no migration history table of golang-migrate, dbmate, sqlx, Diesel or Flyway",
    );
    assert_exit(&project.run(&["baseline", "2"]), 0);
    exec(&project, &dbmate_table(Backend::Sqlite, &["1", "3"]));
    let output = project.run(&["adopt"]);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("error: strata's history disagrees with dbmate's: 2 (create_b) is recorded by strata but not applied by dbmate"),
        "{}",
        stderr(&output)
    );
    assert_eq!(project.history().len(), 2, "nothing was recorded");
}

#[test]
fn snapshot_of_adopt_output() {
    let project = Project::new(Backend::Sqlite, "adopt_snapshot");
    three_tables(&project);
    exec(&project, &sqlx_history(&project));
    insta::assert_snapshot!(
        "adopt_dry_run",
        stdout(&project.run(&["adopt", "--dry-run"]))
    );
    insta::assert_snapshot!("adopt", stdout(&project.run(&["adopt"])));
    insta::assert_snapshot!("adopt_again", stdout(&project.run(&["adopt"])));
    let project = Project::new(Backend::Sqlite, "adopt_snapshot_refused");
    three_tables(&project);
    exec(&project, &golang_migrate_table(Backend::Sqlite, 2, true));
    insta::assert_snapshot!("adopt_refused", stderr(&project.run(&["adopt"])));
}

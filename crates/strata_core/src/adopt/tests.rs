use std::fs;

use super::*;
use crate::Dialect;
use crate::checksum::Checksum;
use crate::history::Direction;

fn directory(files: &[(&str, &str)]) -> (tempfile::TempDir, MigrationSet) {
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in files {
        fs::write(dir.path().join(name), sql).unwrap();
    }
    let set = MigrationSet::load(dir.path(), Dialect::Postgres).unwrap();
    (dir, set)
}

fn entry(version: &str) -> ForeignEntry {
    ForeignEntry {
        version: version.into(),
        applied_at: Some("2024-01-01T00:00:00Z".into()),
        checksum: None,
        ran_from_code: None,
    }
}

fn foreign(tool: ForeignTool, entries: Vec<ForeignEntry>, up_to: Option<UpTo>) -> ForeignHistory {
    ForeignHistory {
        tool,
        table: tool.table().to_owned(),
        entries,
        up_to,
        notes: Vec::new(),
    }
}

fn strata_row(set: &MigrationSet, version: i64) -> AppliedMigration {
    let migration = set.get(Version::from_i64(version)).unwrap();
    AppliedMigration {
        version: migration.version,
        name: migration.name.clone(),
        checksum: migration.up.checksum.clone(),
        down_checksum: None,
        state: RowState::Applied,
        direction: Direction::Up,
        statement_checksums: Vec::new(),
        statements_done: 0,
        statement_count: 0,
        error: None,
        applied_at: String::new(),
        execution_ms: 0,
        applied_by: "test".into(),
    }
}

const THREE: [(&str, &str); 3] = [
    ("1_a.up.sql", "SELECT 1;"),
    ("2_b.up.sql", "SELECT 2;"),
    ("3_c.up.sql", "SELECT 3;"),
];

#[test]
fn a_version_position_adopts_everything_up_to_it() {
    let (_dir, set) = directory(&THREE);
    let up_to = UpTo {
        version: "2".into(),
        applied_at: None,
        needs_file: true,
    };
    let report = plan_adoption(
        &set,
        &foreign(ForeignTool::GolangMigrate, vec![], Some(up_to)),
        &[],
    )
    .unwrap();
    let versions: Vec<&str> = report.adopted.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(versions, ["1", "2"]);
    assert_eq!(report.pending, 1);
}

#[test]
fn a_version_without_a_file_is_refused() {
    let (_dir, set) = directory(&THREE);
    let error = plan_adoption(
        &set,
        &foreign(
            ForeignTool::Dbmate,
            vec![entry("1"), entry("7"), entry("9")],
            None,
        ),
        &[],
    )
    .unwrap_err();
    assert!(matches!(error, AdoptError::MissingFiles { .. }));
    assert!(
        error
            .to_string()
            .starts_with("dbmate recorded 2 versions that no file in"),
        "{error}"
    );
    assert!(error.to_string().ends_with("has: 7, 9"), "{error}");
    let up_to = UpTo {
        version: "5".into(),
        applied_at: None,
        needs_file: true,
    };
    assert!(
        plan_adoption(
            &set,
            &foreign(ForeignTool::GolangMigrate, vec![], Some(up_to)),
            &[]
        )
        .is_err()
    );
}

#[test]
fn a_baseline_needs_no_file() {
    let (_dir, set) = directory(&THREE);
    let up_to = UpTo {
        version: "2".into(),
        applied_at: None,
        needs_file: false,
    };
    let (_dir, gap) = directory(&[("1_a.up.sql", "SELECT 1;"), ("3_c.up.sql", "SELECT 3;")]);
    let report = plan_adoption(
        &gap,
        &foreign(ForeignTool::Flyway, vec![], Some(up_to.clone())),
        &[],
    )
    .unwrap();
    assert_eq!(report.adopted.len(), 1);
    let report = plan_adoption(
        &set,
        &foreign(ForeignTool::Flyway, vec![entry("3")], Some(up_to)),
        &[],
    )
    .unwrap();
    assert_eq!(report.adopted.len(), 3);
}

#[test]
fn an_edited_file_is_refused_by_the_tools_checksum() {
    let (dir, set) = directory(&THREE);
    let mut edited = entry("2");
    edited.checksum = Some(ForeignChecksum::Crc32(0));
    let error = plan_adoption(
        &set,
        &foreign(ForeignTool::Flyway, vec![entry("1"), edited], None),
        &[],
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "1 file changed since flyway applied it: {}",
            dir.path().join("2_b.up.sql").display()
        )
    );
}

#[test]
fn strata_history_that_agrees_makes_a_second_adoption_a_no_op() {
    let (_dir, set) = directory(&THREE);
    let history = [
        strata_row(&set, 1),
        strata_row(&set, 2),
        strata_row(&set, 3),
    ];
    let report = plan_adoption(
        &set,
        &foreign(ForeignTool::Sqlx, vec![entry("1"), entry("2")], None),
        &history,
    )
    .unwrap();
    assert!(report.adopted.is_empty());
    assert_eq!(report.already_recorded, 2);
}

#[test]
fn strata_history_that_disagrees_is_refused() {
    let (_dir, set) = directory(&THREE);
    let mut modified = strata_row(&set, 1);
    modified.checksum = Checksum::from_stored("v1:sha256:0");
    let mut failed = strata_row(&set, 2);
    failed.state = RowState::Failed;
    let error = plan_adoption(
        &set,
        &foreign(
            ForeignTool::Diesel,
            vec![entry("1"), entry("2"), entry("3")],
            None,
        ),
        &[modified, failed],
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "strata's history disagrees with diesel's: 1 (a) is recorded with another checksum; 2 (b) is failed in strata's history"
    );
    let error = plan_adoption(
        &set,
        &foreign(ForeignTool::Diesel, vec![entry("1"), entry("3")], None),
        &[strata_row(&set, 2)],
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "strata's history disagrees with diesel's: 2 (b) is recorded by strata but not applied by diesel"
    );
}

/// The rows as the tool means them, read from its default table (no sqlx settings).
fn interpret(tool: ForeignTool, rows: &[Vec<ForeignValue>]) -> Result<ForeignHistory, AdoptError> {
    tools::interpret(tool, tool.table().to_owned(), rows, &[])
}

fn rows(values: &[&[ForeignValue]]) -> Vec<Vec<ForeignValue>> {
    values.iter().map(|row| row.to_vec()).collect()
}

fn text(s: &str) -> ForeignValue {
    ForeignValue::Text(s.into())
}

#[test]
fn golang_migrate_dirty_and_empty_tables() {
    use ForeignValue::{Boolean, Integer};
    let dirty = interpret(
        ForeignTool::GolangMigrate,
        &rows(&[&[Integer(3), Boolean(true)]]),
    )
    .unwrap_err();
    assert_eq!(
        dirty.to_string(),
        "golang-migrate's schema_migrations is dirty at version 3: that migration failed part-way"
    );
    assert!(dirty.hint().contains("migrate force"));
    let none = interpret(
        ForeignTool::GolangMigrate,
        &rows(&[&[Integer(-1), Integer(0)]]),
    )
    .unwrap();
    assert_eq!(none.up_to, None);
    let two = interpret(
        ForeignTool::GolangMigrate,
        &rows(&[&[Integer(1), Integer(0)], &[Integer(2), Integer(0)]]),
    );
    assert!(matches!(two, Err(AdoptError::BadRow { row: 2, .. })));
}

#[test]
fn flyway_rows_are_events_in_rank_order() {
    use ForeignValue::{Boolean, Integer, Null};
    let at = text("2024-05-01 10:00:00.123");
    let history = interpret(
        ForeignTool::Flyway,
        &rows(&[
            &[
                Integer(5),
                text("3"),
                text("UNDO_SQL"),
                text("U3__c.sql"),
                Integer(7),
                at.clone(),
                Boolean(true),
            ],
            &[
                Integer(1),
                Null,
                text("SCHEMA"),
                text("\"public\""),
                Null,
                at.clone(),
                Boolean(true),
            ],
            &[
                Integer(2),
                text("1"),
                text("BASELINE"),
                text("<< Flyway Baseline >>"),
                Null,
                at.clone(),
                Boolean(true),
            ],
            &[
                Integer(3),
                text("2"),
                text("SQL"),
                text("V2__b.sql"),
                Integer(-42),
                at.clone(),
                Boolean(true),
            ],
            &[
                Integer(4),
                text("3"),
                text("SQL"),
                text("V3__c.sql"),
                Integer(7),
                at.clone(),
                Boolean(true),
            ],
            &[
                Integer(6),
                Null,
                text("SQL"),
                text("R__views.sql"),
                Integer(9),
                at.clone(),
                Boolean(true),
            ],
        ]),
    )
    .unwrap();
    assert_eq!(
        history.up_to,
        Some(UpTo {
            version: "1".into(),
            applied_at: Some("2024-05-01T10:00:00Z".into()),
            needs_file: false
        })
    );
    assert_eq!(
        history.entries.len(),
        1,
        "3 was undone: {:?}",
        history.entries
    );
    assert_eq!(
        history.entries[0].checksum,
        Some(ForeignChecksum::Crc32(-42))
    );
    assert_eq!(history.notes.len(), 1);
    assert!(history.notes[0].starts_with("R__views.sql: a repeatable migration"));
    let failed = interpret(
        ForeignTool::Flyway,
        &rows(&[&[
            Integer(1),
            text("1.1"),
            text("SQL"),
            text("V1.1__a.sql"),
            Integer(1),
            at,
            Boolean(false),
        ]]),
    )
    .unwrap_err();
    assert_eq!(failed.to_string(), "flyway recorded failed migrations: 1.1");
    assert!(failed.hint().contains("flyway repair"));
}

#[test]
fn sqlx_failed_rows_are_refused() {
    use ForeignValue::{Boolean, Bytes, Integer};
    let at = ForeignValue::Timestamp("2024-01-01T00:00:00Z".into());
    let error = interpret(
        ForeignTool::Sqlx,
        &rows(&[
            &[Integer(1), at.clone(), Boolean(true), Bytes(vec![1])],
            &[Integer(2), at, Integer(0), Bytes(vec![2])],
        ]),
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "sqlx recorded failed migrations: 2");
}

#[test]
fn tables_are_told_apart_by_their_columns() {
    let columns = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert!(ForeignTool::GolangMigrate.matches(&columns(&["version", "dirty"])));
    assert!(!ForeignTool::Dbmate.matches(&columns(&["version", "dirty"])));
    assert!(ForeignTool::Dbmate.matches(&columns(&["version"])));
    assert!(!ForeignTool::GolangMigrate.matches(&columns(&["version"])));
    assert_eq!(
        "golang-migrate".parse::<ForeignTool>(),
        Ok(ForeignTool::GolangMigrate)
    );
    assert!("liquibase".parse::<ForeignTool>().is_err());
}

/// A history table held in memory.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<ForeignValue>>,
}

struct Tables(Vec<Table>);

impl Tables {
    fn get(&self, name: &str) -> Option<&Table> {
        self.0.iter().find(|table| table.name == name)
    }
}

impl ForeignTables for Tables {
    fn columns(&mut self, table: &str) -> Result<Option<Vec<String>>, DriverError> {
        Ok(self
            .get(table)
            .map(|table| table.columns.iter().map(|c| (*c).to_owned()).collect()))
    }

    fn rows(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<ForeignValue>>, DriverError> {
        let table = self.get(table).unwrap();
        let index = |column: &&str| table.columns.iter().position(|n| n == column).unwrap();
        let picked: Vec<usize> = columns.iter().map(index).collect();
        Ok(table
            .rows
            .iter()
            .map(|row| picked.iter().map(|i| row[*i].clone()).collect())
            .collect())
    }
}

fn read(tables: &mut Tables, tool: Option<ForeignTool>, table: Option<&str>) -> String {
    let source = ForeignSource {
        tool,
        table: table.map(str::to_owned),
    };
    match read_foreign_history(tables, &source, &SqlxSettings::default()) {
        Ok(history) => format!(
            "{} {} {:?}",
            history.tool,
            history.table,
            history
                .entries
                .iter()
                .map(|e| e.version.as_str())
                .chain(history.up_to.as_ref().map(|u| u.version.as_str()))
                .collect::<Vec<_>>()
        ),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_table_given_by_name_is_read_as_the_tool_its_columns_fit_best() {
    use ForeignValue::{Boolean, Integer};
    let table = |name, columns, rows| Table {
        name,
        columns,
        rows,
    };
    let mut tables = Tables(vec![
        table(
            "app_migrations",
            &["version", "dirty"],
            vec![vec![Integer(2), Boolean(false)]],
        ),
        table(
            "diesel_like",
            &["version", "run_on"],
            vec![vec![text("20240101000000"), text("2024-01-01 00:00:00")]],
        ),
        table("schema_migrations", &["version"], vec![vec![text("1")]]),
        table("users", &["id", "name"], Vec::new()),
    ]);
    // Without --table, only the tools' default names count.
    assert_eq!(
        read(&mut tables, None, None),
        r#"dbmate schema_migrations ["1"]"#
    );
    assert_eq!(
        read(&mut tables, None, Some("app_migrations")),
        r#"golang-migrate app_migrations ["2"]"#
    );
    // dbmate's shape fits every table with a version column; Diesel's fits this one better.
    assert_eq!(
        read(&mut tables, None, Some("diesel_like")),
        r#"diesel diesel_like ["20240101000000"]"#
    );
    assert_eq!(
        read(&mut tables, Some(ForeignTool::Dbmate), Some("diesel_like")),
        r#"dbmate diesel_like ["20240101000000"]"#
    );
    assert_eq!(
        read(&mut tables, None, Some("users")),
        "users has the columns id, name: it is not the history table of golang-migrate, dbmate, sqlx, Diesel or Flyway"
    );
    assert_eq!(
        read(&mut tables, None, Some("missing")),
        "missing does not exist"
    );
    assert_eq!(
        read(
            &mut tables,
            Some(ForeignTool::GolangMigrate),
            Some("diesel_like")
        ),
        "no golang-migrate history table: diesel_like has the columns version, run_on, not golang-migrate's"
    );
}

#[test]
fn a_flyway_java_migration_without_a_file_is_named_as_such() {
    use ForeignValue::{Boolean, Integer, Null};
    let at = text("2024-05-01 10:00:00");
    let history = interpret(
        ForeignTool::Flyway,
        &rows(&[&[
            Integer(1),
            text("7"),
            text("JDBC"),
            text("db.migration.V7__Backfill_totals"),
            Null,
            at,
            Boolean(true),
        ]]),
    )
    .unwrap();
    assert_eq!(
        history.entries[0].ran_from_code.as_deref(),
        Some("Java migration db.migration.V7__Backfill_totals")
    );
    let (_dir, set) = directory(&THREE);
    let error = plan_adoption(&set, &history, &[]).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("has: 7 (Java migration db.migration.V7__Backfill_totals)"),
        "{error}"
    );
    assert!(error.hint().contains("ran from code"), "{}", error.hint());
}

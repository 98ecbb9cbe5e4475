//! `mysql-copy-alter`: an `ALTER TABLE` change that needs the `COPY` algorithm on the target MySQL or
//! MariaDB version, which blocks writes while the whole table is copied.

use crate::facts::{Algorithm, MySqlOperation, MySqlVersion, mysql_algorithm};
use crate::input::Dialect;
use crate::ir::{AlterAction, AlterTable, ColumnDef, ConstraintKind, TypeName};
use crate::report::Severity;
use crate::rules::common::existing_alter;
use crate::rules::{Category, Check, Finding, Lowering, Rule, StatementContext};
use crate::schema::ColumnModel;

pub(crate) const RULE: Rule = Rule {
    id: "mysql-copy-alter",
    summary: "an `ALTER TABLE` change that needs the COPY algorithm on the target version (MySQL, MariaDB)",
    help: "expand/contract (new column, backfill, switch, drop the old), or an online schema change tool",
    default_severity: Severity::Error,
    category: Category::MySql,
    dialects: &[Dialect::MySql],
    since_postgres: None,
    why: "Some changes cannot be made inside InnoDB: changing a column's data type, dropping the primary key without adding one, converting the character set, adding a foreign key or a stored generated column (and, on servers before online DDL, nullability changes). The server then builds a copy of the table row by row, and writes to the table wait until the copy is done: minutes to hours on a large table. Which changes are INSTANT, INPLACE or COPY depends on the server and its version (`strata explain` facts: `facts::MYSQL_FACTS`); the rule reads `--mysql-version`, `strata.toml` or the connected server.",
    instead: "Expand/contract: add a new column with the new type, write both, backfill in batches (`strata backfill`), switch reads, drop the old column. For changes that must rebuild a large table, use gh-ost or pt-online-schema-change.",
    bad: "ALTER TABLE users MODIFY COLUMN age bigint;",
    good: "ALTER TABLE users ADD COLUMN age_big bigint;",
    operation: None,
    trace_only: false,
    lowering: Lowering::SmallTable,
    check: Check::Statement(check),
};

fn check(cx: &StatementContext<'_>, out: &mut Vec<Finding>) {
    let version = cx.settings.mysql_version;
    if let Some(table) = &cx.statement.online_ddl.charset_conversion
        && cx.is_existing(table)
    {
        out.push(copy_finding(
            table,
            "`CONVERT TO CHARACTER SET` re-encodes every text column",
            version,
        ));
    }
    let Some(alter) = existing_alter(cx) else {
        return;
    };
    for action in &alter.actions {
        let copying = match action {
            AlterAction::RedefineColumn { column, definition } => {
                let old = cx.schema.table(&alter.table).and_then(|t| t.column(column));
                redefinition(alter, column, old, definition, version)
            }
            _ => operation(alter, action)
                .filter(|(operation, _)| copies(*operation, version))
                .map(|(_, what)| what),
        };
        if let Some(what) = copying {
            out.push(copy_finding(&alter.table, &what, version));
        }
    }
}

fn copies(operation: MySqlOperation, version: MySqlVersion) -> bool {
    mysql_algorithm(operation, version) == Algorithm::Copy
}

fn copy_finding(table: &crate::input::ObjectName, what: &str, version: MySqlVersion) -> Finding {
    Finding::new(format!(
        "{what}: {version} copies `{table}` with the COPY algorithm, blocking writes until every row is copied"
    ))
    .on_table(table)
}

/// The fact-table operation of an action other than a redefinition, with a description for the message.
fn operation(alter: &AlterTable, action: &AlterAction) -> Option<(MySqlOperation, String)> {
    let placed = |name: &str| {
        alter
            .actions
            .iter()
            .any(|a| matches!(a, AlterAction::PlaceColumn { column } if column == name))
    };
    match action {
        AlterAction::AddColumn(column) if column.generated_stored => Some((
            MySqlOperation::AddStoredGeneratedColumn,
            format!("adding the stored generated column `{}`", column.name),
        )),
        AlterAction::AddColumn(column) => {
            let operation = if placed(&column.name) {
                MySqlOperation::AddColumnPlaced
            } else {
                MySqlOperation::AddColumnLast
            };
            Some((operation, format!("adding the column `{}`", column.name)))
        }
        AlterAction::DropColumn { name } => Some((
            MySqlOperation::DropColumn,
            format!("dropping the column `{name}`"),
        )),
        AlterAction::DropPrimaryKey => {
            let replaced = alter.actions.iter().any(|a| {
                matches!(a, AlterAction::AddConstraint(c) if matches!(c.kind, ConstraintKind::PrimaryKey { .. }))
            });
            (!replaced).then(|| {
                (
                    MySqlOperation::DropPrimaryKey,
                    "dropping the primary key without adding another".to_owned(),
                )
            })
        }
        AlterAction::AddConstraint(constraint) => match constraint.kind {
            ConstraintKind::ForeignKey { .. } => Some((
                MySqlOperation::AddForeignKey,
                "adding a foreign key (INPLACE only with foreign_key_checks off)".to_owned(),
            )),
            ConstraintKind::PrimaryKey { .. } => Some((
                MySqlOperation::AddPrimaryKey,
                "adding a primary key".to_owned(),
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `MODIFY`/`CHANGE`: the first change of a restated column definition that needs a copy, described. An
/// unknown old definition counts as one, since the type may change.
fn redefinition(
    alter: &AlterTable,
    column: &str,
    old: Option<&ColumnModel>,
    new: &ColumnDef,
    version: MySqlVersion,
) -> Option<String> {
    let Some(old) = old else {
        return Some(format!(
            "redefining `{column}`, whose current definition the linter does not know (no earlier migration creates it), may change its type"
        ));
    };
    let mut changes = Vec::new();
    if let Some(operation) = type_change(&old.data_type, &new.data_type) {
        let what = format!(
            "changing `{column}` from `{}` to `{}`",
            old.data_type, new.data_type
        );
        changes.push((operation, what));
    }
    let new_not_null = new.not_null || new.primary_key;
    if old.not_null != new_not_null {
        let (operation, to) = if new_not_null {
            (MySqlOperation::MakeNotNull, "NOT NULL")
        } else {
            (MySqlOperation::MakeNullable, "NULL")
        };
        changes.push((operation, format!("making `{column}` {to}")));
    }
    let placed = alter
        .actions
        .iter()
        .any(|a| matches!(a, AlterAction::PlaceColumn { column } if *column == new.name));
    if placed {
        changes.push((MySqlOperation::ReorderColumn, format!("moving `{column}`")));
    }
    changes
        .into_iter()
        .find(|(operation, _)| copies(*operation, version))
        .map(|(_, what)| what)
}

/// Integer types whose `(n)` is only a display width, not a size.
const INTEGER_TYPES: &[&str] = &["tinyint", "smallint", "mediumint", "integer", "bigint"];

/// The longest `VARCHAR` (in characters) whose values fit 255 bytes in `utf8mb4`, the default character
/// set: up to it the length takes one byte, beyond it two, and InnoDB can extend a `VARCHAR` in place only
/// within the same length-byte count. The linter does not know the column's character set, so it assumes
/// the widest.
const ONE_LENGTH_BYTE_UTF8MB4_CHARS: i64 = 255 / 4;

/// The operation that turns `old` into `new`, or `None` when the type does not change.
fn type_change(old: &TypeName, new: &TypeName) -> Option<MySqlOperation> {
    let same_integer = old.name == new.name && INTEGER_TYPES.contains(&old.name.as_str());
    if old == new || same_integer {
        return None;
    }
    if let ("varchar", "varchar", [old_length], [new_length]) = (
        old.name.as_str(),
        new.name.as_str(),
        &old.modifiers[..],
        &new.modifiers[..],
    ) && new_length >= old_length
        && (*new_length <= ONE_LENGTH_BYTE_UTF8MB4_CHARS
            || *old_length > ONE_LENGTH_BYTE_UTF8MB4_CHARS)
    {
        return Some(MySqlOperation::ExtendVarchar);
    }
    Some(MySqlOperation::ChangeColumnType)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::testing::case;

    const USERS: &str = "CREATE TABLE users (id BIGINT PRIMARY KEY, age INT NOT NULL, name VARCHAR(40), email VARCHAR(100));";

    #[test]
    fn fires_on_a_type_change() {
        let d = case("ALTER TABLE users MODIFY COLUMN age BIGINT NOT NULL;")
            .after(USERS)
            .mysql("8.4")
            .fires(&RULE);
        assert!(
            d.message.contains("from `integer` to `bigint`") && d.message.contains("MySQL 8.4.0"),
            "{}",
            d.message
        );
        case("ALTER TABLE users CHANGE name full_name TEXT;")
            .after(USERS)
            .mysql("11.4-mariadb")
            .fires(&RULE);
    }

    #[test]
    fn fires_on_primary_key_drop_charset_conversion_and_foreign_keys() {
        for sql in [
            "ALTER TABLE users DROP PRIMARY KEY;",
            "ALTER TABLE users CONVERT TO CHARACTER SET utf8mb4;",
            "ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (age) REFERENCES ages (id);",
            "ALTER TABLE users ADD COLUMN age2 INT AS (age * 2) STORED;",
        ] {
            case(sql).after(USERS).mysql("8.0.40").fires(&RULE);
        }
    }

    #[test]
    fn fires_when_the_old_definition_is_unknown() {
        let d = case("ALTER TABLE accounts MODIFY balance DECIMAL(12,2);")
            .mysql("8.4")
            .fires(&RULE);
        assert!(d.message.contains("does not know"), "{}", d.message);
    }

    #[test]
    fn fires_on_nullability_changes_before_online_ddl_and_varchar_across_length_bytes() {
        case("ALTER TABLE users MODIFY age INT NULL;")
            .after(USERS)
            .mysql("5.5")
            .fires(&RULE);
        case("ALTER TABLE users MODIFY name VARCHAR(80);")
            .after(USERS)
            .mysql("8.4")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_online_changes() {
        for sql in [
            "ALTER TABLE users ADD COLUMN nickname VARCHAR(20);",
            "ALTER TABLE users ADD COLUMN nickname VARCHAR(20) AFTER id;",
            "ALTER TABLE users MODIFY age INT NULL;",
            "ALTER TABLE users MODIFY email VARCHAR(200);",
            "ALTER TABLE users MODIFY name VARCHAR(60), ALGORITHM=INPLACE;",
            "ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, age);",
            "ALTER TABLE users ALTER COLUMN age SET DEFAULT 0;",
            "ALTER TABLE users MODIFY age INT(11) NOT NULL;",
        ] {
            case(sql).after(USERS).mysql("8.4").silent(&RULE);
        }
    }

    #[test]
    fn adding_a_column_is_online_per_version() {
        for version in ["8.0.11", "8.0.29", "10.3.2-mariadb", "10.11-mariadb"] {
            case("ALTER TABLE users ADD COLUMN a INT FIRST;")
                .after(USERS)
                .mysql(version)
                .silent(&RULE);
        }
        case("ALTER TABLE users ADD COLUMN a INT FIRST;")
            .after(USERS)
            .mysql("5.5.60")
            .fires(&RULE);
    }

    #[test]
    fn silent_on_tables_created_in_the_migration_and_on_postgres() {
        case("CREATE TABLE t (a INT);\nALTER TABLE t MODIFY a BIGINT;")
            .mysql("8.4")
            .silent(&RULE);
        case("ALTER TABLE users ALTER COLUMN age TYPE bigint;")
            .after("CREATE TABLE users (age int);")
            .silent(&RULE);
    }
}

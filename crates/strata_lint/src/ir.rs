//! The dialect-neutral statement model the rules read.
//!
//! Each front end (`parse::postgres`, `parse::sqlite`, `parse::mysql`) lowers its parser's AST into these types, keeping only
//! what a rule or the schema model needs. Rules are then written once for every dialect, and a new dialect
//! (MySQL) is one more front end.

use std::fmt;

use crate::facts::LockMode;
use crate::input::ObjectName;

/// One statement, lowered.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) kind: StatementKind,
    /// Every string literal in the statement, unquoted (a use of an enum value is a literal).
    pub(crate) string_literals: Vec<String>,
    /// Identifiers written longer than the dialect keeps (PostgreSQL's parser has already truncated them in
    /// the AST).
    pub(crate) long_identifiers: Vec<String>,
    /// MySQL online-DDL clauses, read from tokens so that statements sqlparser cannot read are covered too.
    pub(crate) online_ddl: OnlineDdl,
}

/// What a MySQL statement's tokens say about how the server runs it, parsed or not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OnlineDdl {
    /// `ALGORITHM [=] x`, upper case (`COPY`, `INPLACE`, `INSTANT`, `NOCOPY`, `DEFAULT`).
    pub(crate) algorithm: Option<String>,
    /// `LOCK [=] x` of an `ALTER TABLE` or `CREATE/DROP INDEX`, upper case (`NONE`, `SHARED`, `EXCLUSIVE`,
    /// `DEFAULT`).
    pub(crate) lock: Option<String>,
    /// The table an `ALTER TABLE ... CONVERT TO CHARACTER SET` rebuilds (sqlparser cannot read that clause).
    pub(crate) charset_conversion: Option<ObjectName>,
}

/// What a statement does.
#[derive(Debug, Clone)]
pub(crate) enum StatementKind {
    CreateTable(CreateTable),
    AlterTable(AlterTable),
    CreateIndex(CreateIndex),
    DropIndex {
        names: Vec<ObjectName>,
        concurrently: bool,
        if_exists: bool,
    },
    Reindex {
        target: ReindexTarget,
        concurrently: bool,
    },
    RenameTable {
        table: ObjectName,
        new_name: String,
    },
    RenameColumn {
        table: ObjectName,
        column: String,
        new_name: String,
    },
    DropTable {
        tables: Vec<ObjectName>,
        if_exists: bool,
    },
    DropSchema {
        names: Vec<String>,
        if_exists: bool,
    },
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    Truncate {
        tables: Vec<ObjectName>,
    },
    Update(Dml),
    Delete(Dml),
    Insert {
        table: ObjectName,
    },
    CreateEnum {
        name: ObjectName,
        values: Vec<String>,
    },
    AddEnumValue {
        type_name: ObjectName,
        value: String,
    },
    RenameEnumValue {
        type_name: ObjectName,
        old: String,
        new: String,
    },
    Vacuum {
        full: bool,
        tables: Vec<ObjectName>,
    },
    Cluster {
        table: Option<ObjectName>,
    },
    LockTable {
        tables: Vec<ObjectName>,
        mode: LockMode,
    },
    Transaction(TransactionCommand),
    Set {
        name: String,
        value: String,
    },
    /// A `DO` block; `body` holds the statements that could be read from it.
    Do {
        body: Vec<Statement>,
        commits: bool,
    },
    /// `CREATE DATABASE`, `ALTER SYSTEM`: never inside a transaction.
    NonTransactional,
    /// Any other DDL; `guard` tells whether it has `IF [NOT] EXISTS` / `OR REPLACE`.
    OtherDdl {
        verb: DdlVerb,
        guard: bool,
    },
    /// Anything else that parsed (queries, `COMMENT`, `GRANT`, ...).
    Other,
    /// A statement the dialect's parser could not read (SQLite and MySQL: PostgreSQL rejects the file);
    /// `ddl` tells whether its leading keyword (`CREATE`, `ALTER`, `DROP`, `RENAME`, `TRUNCATE`) changes the
    /// schema.
    Unparsed {
        ddl: bool,
    },
}

/// The verb of a DDL statement, for idempotency checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DdlVerb {
    Create,
    Alter,
    Drop,
}

#[derive(Debug, Clone)]
pub(crate) struct CreateTable {
    pub(crate) name: ObjectName,
    pub(crate) if_not_exists: bool,
    pub(crate) columns: Vec<ColumnDef>,
    pub(crate) constraints: Vec<TableConstraint>,
    /// `PARTITION BY`: a partitioned parent.
    pub(crate) partitioned: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct ColumnDef {
    pub(crate) name: String,
    pub(crate) data_type: TypeName,
    pub(crate) not_null: bool,
    pub(crate) primary_key: bool,
    pub(crate) unique: bool,
    pub(crate) default: Option<Volatility>,
    pub(crate) generated_stored: bool,
    pub(crate) identity: bool,
    pub(crate) references: Option<ObjectName>,
}

impl ColumnDef {
    /// `serial`, `bigserial`, `smallserial`: an implicit sequence default (volatile).
    pub(crate) fn is_serial(&self) -> bool {
        matches!(
            self.data_type.name.as_str(),
            "serial" | "bigserial" | "smallserial"
        )
    }
}

/// How much a default expression may change from row to row, which decides whether adding a column with it
/// rewrites the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Volatility {
    /// A constant or an immutable/stable expression: evaluated once.
    NonVolatile,
    /// Calls a volatile function (named).
    Volatile(String),
    /// Calls a function whose volatility the linter does not know (named).
    Unknown(String),
}

#[derive(Debug, Clone)]
pub(crate) struct AlterTable {
    pub(crate) table: ObjectName,
    pub(crate) actions: Vec<AlterAction>,
}

#[derive(Debug, Clone)]
pub(crate) enum AlterAction {
    AddColumn(ColumnDef),
    DropColumn {
        name: String,
    },
    AlterColumnType {
        column: String,
        new_type: TypeName,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    AddConstraint(TableConstraint),
    ValidateConstraint {
        name: String,
    },
    DropConstraint {
        name: String,
    },
    DetachPartition {
        partition: ObjectName,
        concurrently: bool,
    },
    DisableTrigger {
        all: bool,
    },
    /// MySQL `MODIFY [COLUMN]` / `CHANGE [COLUMN] old`: the column's whole definition restated (its name in
    /// `definition` is the new one). Attributes left out are reset, so `NOT NULL` left out drops it.
    RedefineColumn {
        column: String,
        definition: ColumnDef,
    },
    /// MySQL `FIRST` / `AFTER other` on an added or redefined column: it does not go (or stay) last.
    PlaceColumn {
        column: String,
    },
    /// MySQL `DROP PRIMARY KEY`.
    DropPrimaryKey,
    /// Any other subcommand; `description` names it for messages (SQLite reports unsupported forms).
    Other {
        description: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct TableConstraint {
    pub(crate) name: Option<String>,
    pub(crate) kind: ConstraintKind,
    /// `NOT VALID`.
    pub(crate) not_valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConstraintKind {
    PrimaryKey {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    Unique {
        columns: Vec<String>,
        using_index: Option<String>,
    },
    /// `not_null_column` is set when the check is exactly `col IS NOT NULL`.
    Check {
        not_null_column: Option<String>,
    },
    ForeignKey {
        columns: Vec<String>,
        references: ObjectName,
    },
    Exclusion,
}

#[derive(Debug, Clone)]
pub(crate) struct CreateIndex {
    pub(crate) name: Option<String>,
    pub(crate) table: ObjectName,
    pub(crate) unique: bool,
    pub(crate) concurrently: bool,
    pub(crate) if_not_exists: bool,
    /// `ON ONLY parent` (partitioned tables).
    pub(crate) only: bool,
    pub(crate) columns: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum ReindexTarget {
    Table(ObjectName),
    Index(ObjectName),
    /// `REINDEX SCHEMA/DATABASE/SYSTEM`.
    Many,
}

/// An `UPDATE` or `DELETE`.
#[derive(Debug, Clone)]
pub(crate) struct Dml {
    pub(crate) table: ObjectName,
    pub(crate) has_where: bool,
    /// Columns the `WHERE` clause bounds to a value, a list or a range (in conjunctions).
    pub(crate) bounded_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransactionCommand {
    Begin,
    Commit,
    Rollback,
    /// Savepoints and two-phase commands: transaction control too.
    Other,
}

/// A column type, with the name canonicalised so that aliases compare equal (`int4` = `integer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeName {
    pub(crate) name: String,
    pub(crate) modifiers: Vec<i64>,
    pub(crate) array: bool,
}

impl TypeName {
    pub(crate) fn new(name: &str, modifiers: Vec<i64>, array: bool) -> Self {
        TypeName {
            name: canonical_type_name(name).to_owned(),
            modifiers,
            array,
        }
    }

    /// Parses a type as a server prints it (`character varying(20)`, `integer[]`), for catalog input.
    pub(crate) fn parse(text: &str) -> Self {
        let text = text.trim().to_ascii_lowercase();
        let (text, array) = match text.strip_suffix("[]") {
            Some(base) => (base.trim().to_owned(), true),
            None => (text, false),
        };
        let (name, modifiers) = match text.split_once('(') {
            Some((name, rest)) => {
                let inner = rest.split(')').next().unwrap_or_default();
                let modifiers = inner
                    .split(',')
                    .filter_map(|m| m.trim().parse().ok())
                    .collect();
                let suffix = rest.split_once(')').map_or("", |(_, s)| s).trim();
                (
                    if suffix.is_empty() {
                        name.trim().to_owned()
                    } else {
                        format!("{} {suffix}", name.trim())
                    },
                    modifiers,
                )
            }
            None => (text, Vec::new()),
        };
        TypeName::new(&name, modifiers, array)
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.modifiers.is_empty() {
            let mods: Vec<String> = self.modifiers.iter().map(i64::to_string).collect();
            write!(f, "({})", mods.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// Maps the spellings of a type (SQL standard, PostgreSQL internal, aliases) to one name.
fn canonical_type_name(name: &str) -> &str {
    match name {
        "int" | "int4" | "integer" => "integer",
        "int2" | "smallint" => "smallint",
        "int8" | "bigint" => "bigint",
        "serial" | "serial4" => "serial",
        "serial2" | "smallserial" => "smallserial",
        "serial8" | "bigserial" => "bigserial",
        "varchar" | "character varying" => "varchar",
        "bpchar" | "character" => "character",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "time" | "time without time zone" => "time",
        "timetz" | "time with time zone" => "timetz",
        "bool" | "boolean" => "boolean",
        "float4" | "real" => "real",
        "float8" | "double precision" => "double precision",
        "decimal" | "numeric" => "numeric",
        "varbit" | "bit varying" => "varbit",
        other => other,
    }
}

impl Statement {
    pub(crate) fn new(kind: StatementKind) -> Self {
        Statement {
            kind,
            string_literals: Vec::new(),
            long_identifiers: Vec::new(),
            online_ddl: OnlineDdl::default(),
        }
    }

    /// Whether the statement changes the schema (for `mixed-schema-and-data`).
    pub(crate) fn is_ddl(&self) -> bool {
        use StatementKind as K;
        match &self.kind {
            K::CreateTable(_)
            | K::AlterTable(_)
            | K::CreateIndex(_)
            | K::DropIndex { .. }
            | K::RenameTable { .. }
            | K::RenameColumn { .. }
            | K::DropTable { .. }
            | K::DropSchema { .. }
            | K::CreateEnum { .. }
            | K::AddEnumValue { .. }
            | K::RenameEnumValue { .. }
            | K::OtherDdl { .. } => true,
            K::Do { body, .. } => body.iter().any(Statement::is_ddl),
            K::Unparsed { ddl } => *ddl,
            _ => false,
        }
    }

    /// For `CREATE`/`DROP` statements, whether they are guarded by `IF [NOT] EXISTS` (or `OR REPLACE`);
    /// `None` for other statements.
    pub(crate) fn create_or_drop_guard(&self) -> Option<bool> {
        use StatementKind as K;
        match &self.kind {
            K::CreateTable(create) => Some(create.if_not_exists),
            K::CreateIndex(index) => Some(index.if_not_exists),
            K::DropIndex { if_exists, .. }
            | K::DropTable { if_exists, .. }
            | K::DropSchema { if_exists, .. } => Some(*if_exists),
            K::DropDatabase { if_exists, .. } => Some(*if_exists),
            K::CreateEnum { .. } => Some(false),
            K::OtherDdl {
                verb: DdlVerb::Create | DdlVerb::Drop,
                guard,
            } => Some(*guard),
            _ => None,
        }
    }

    /// Whether PostgreSQL refuses to run the statement inside a transaction block.
    pub(crate) fn cannot_run_in_transaction(&self) -> bool {
        use StatementKind as K;
        match &self.kind {
            K::CreateIndex(index) => index.concurrently,
            K::DropIndex { concurrently, .. } | K::Reindex { concurrently, .. } => *concurrently,
            K::Vacuum { .. } | K::NonTransactional => true,
            K::AlterTable(alter) => alter.actions.iter().any(|a| {
                matches!(
                    a,
                    AlterAction::DetachPartition {
                        concurrently: true,
                        ..
                    }
                )
            }),
            K::Do { commits, .. } => *commits,
            _ => false,
        }
    }

    /// Whether the statement uses `CONCURRENTLY`.
    pub(crate) fn is_concurrent(&self) -> bool {
        use StatementKind as K;
        match &self.kind {
            K::CreateIndex(index) => index.concurrently,
            K::DropIndex { concurrently, .. } | K::Reindex { concurrently, .. } => *concurrently,
            K::AlterTable(alter) => alter.actions.iter().any(|a| {
                matches!(
                    a,
                    AlterAction::DetachPartition {
                        concurrently: true,
                        ..
                    }
                )
            }),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_formatted_types() {
        assert_eq!(
            TypeName::parse("character varying(20)"),
            TypeName::new("varchar", vec![20], false)
        );
        assert_eq!(
            TypeName::parse("numeric(10,2)"),
            TypeName::new("numeric", vec![10, 2], false)
        );
        assert_eq!(
            TypeName::parse("timestamp(3) without time zone"),
            TypeName::new("timestamp", vec![3], false)
        );
        assert_eq!(
            TypeName::parse("integer[]"),
            TypeName::new("int4", vec![], true)
        );
    }
}

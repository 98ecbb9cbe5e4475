//! What a live database says about its schema, as plain data.
//!
//! A driver that can read its server's catalog (see [`CatalogReader`]) fills these types; the linter
//! consumes them. They live here, in the crate both depend on, so that no driver depends on the linter
//! and the linter depends on no driver.

use crate::Dialect;
use crate::driver::DriverError;

/// A schema-qualified object name. An unqualified name, and one qualified by the dialect's default
/// schema (`public`, `main`), are the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectName {
    /// `None` for the default schema.
    pub schema: Option<String>,
    /// The object's own name, exactly as stored by the server (quoted names keep their case).
    pub name: String,
}

impl ObjectName {
    /// Builds a name, dropping the schema when it is `dialect`'s default one.
    pub fn new(schema: Option<&str>, name: &str, dialect: Dialect) -> Self {
        let schema = schema
            .filter(|s| !s.is_empty() && Some(*s) != dialect.default_schema())
            .map(str::to_owned);
        ObjectName {
            schema,
            name: name.to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Facts read from the live database. Everything is optional: an absent table is simply unknown.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Existing tables.
    pub tables: Vec<CatalogTable>,
    /// Existing enum types and their values.
    pub enums: Vec<CatalogEnum>,
}

/// One existing table.
#[derive(Debug, Clone)]
pub struct CatalogTable {
    /// The table's name.
    pub name: ObjectName,
    /// `pg_class.reltuples` or equivalent; negative means never analysed (unknown, not small).
    pub estimated_rows: f64,
    /// Its columns.
    pub columns: Vec<CatalogColumn>,
    /// Its indexes.
    pub indexes: Vec<CatalogIndex>,
    /// Its constraints.
    pub constraints: Vec<CatalogConstraint>,
}

/// One column of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogColumn {
    /// Column name.
    pub name: String,
    /// Type as the server formats it (`character varying(20)`, `integer`, ...).
    pub data_type: String,
    /// Whether the column is `NOT NULL`.
    pub not_null: bool,
}

/// One index of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogIndex {
    /// Index name (in the table's schema).
    pub name: String,
    /// Key columns, in order; expressions are left out.
    pub columns: Vec<String>,
    /// Unique index.
    pub unique: bool,
    /// Backs the primary key.
    pub primary: bool,
    /// `pg_index.indisvalid`.
    pub valid: bool,
}

/// The kind of an existing constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogConstraintKind {
    /// Primary key.
    PrimaryKey,
    /// Unique constraint.
    Unique,
    /// Check constraint; `not_null_column` is set when it is exactly `CHECK (col IS NOT NULL)`.
    Check {
        /// The column the check proves non-null, if that is all it says.
        not_null_column: Option<String>,
    },
    /// Foreign key.
    ForeignKey,
    /// Exclusion constraint.
    Exclusion,
}

/// One constraint of an existing table.
#[derive(Debug, Clone)]
pub struct CatalogConstraint {
    /// Constraint name.
    pub name: String,
    /// What it constrains.
    pub kind: CatalogConstraintKind,
    /// Columns it covers.
    pub columns: Vec<String>,
    /// `pg_constraint.convalidated`.
    pub validated: bool,
}

/// An existing enum type.
#[derive(Debug, Clone)]
pub struct CatalogEnum {
    /// Type name.
    pub name: ObjectName,
    /// Labels in sort order.
    pub values: Vec<String>,
}

/// A connection that can describe its server: the capability the linter needs during `up` and
/// `lint --catalog`. Drivers offer it through [`crate::Driver::catalog_reader`].
pub trait CatalogReader {
    /// The server's major version (e.g. `15`), which version-aware lint rules read.
    fn server_major_version(&mut self) -> Result<u32, DriverError>;

    /// The user tables, their sizes, columns, indexes and constraints, and the enum types.
    fn read_catalog(&mut self) -> Result<Catalog, DriverError>;
}

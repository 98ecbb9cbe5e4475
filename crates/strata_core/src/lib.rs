//! strata's core: the model of migrations, checksums, history and plans, and the traits a
//! database driver implements. It knows no database: drivers live in their own crates
//! (`strata_postgres`, `strata_sqlite`), the CLI on top.
//!
//! The pieces, in the order a run uses them:
//! - [`MigrationSet`] reads a directory of `<version>_<name>.up.sql` files, or one written for
//!   Diesel or Flyway ([`source`], [`Layout`]);
//! - [`Checksum`] fingerprints each file over its tokens ([`checksum`], [`lexer`]);
//! - a driver's [`Splitter`] cuts files into [`Statement`]s, and [`Script`] decides whether a
//!   file runs in one transaction or statement by statement ([`plan`]);
//! - [`compute_status`] compares the files with the [`AppliedMigration`] rows of the history;
//! - [`Migrator`] plans and executes commands on a [`Driver`], emitting [`Event`]s;
//! - [`adopt`] takes over the history of golang-migrate, dbmate, sqlx, Diesel or Flyway.

pub mod adopt;
pub mod backfill;
pub mod catalog;
pub mod checksum;
pub mod delimiter;
pub mod dialect;
pub mod directive;
pub mod driver;
pub mod error;
pub mod event;
pub mod expand;
pub mod history;
pub mod lexer;
pub mod locks;
pub mod migrator;
pub mod plan;
pub mod schema;
pub mod scratch;
pub mod source;
pub mod statement;
pub mod status;
pub mod text;
pub mod tls;
pub mod verify;
pub mod version;

pub use adopt::{
    AdoptError, AdoptReport, Adopted, ForeignSource, ForeignTables, ForeignTool, ForeignValue,
    SqlxSettings,
};
pub use backfill::{
    BackfillDriver, BackfillError, BackfillEvent, BackfillJob, BackfillPlan, BackfillRecord,
    BackfillReport, BackfillRunner, BackfillState, BackfillStatement,
};
pub use catalog::{
    Catalog, CatalogColumn, CatalogConstraint, CatalogConstraintKind, CatalogEnum, CatalogIndex,
    CatalogReader, CatalogTable, ObjectName,
};
pub use checksum::Checksum;
pub use dialect::Dialect;
pub use directive::{BackfillOptions, Directives};
pub use driver::{
    Driver, DriverError, IndexState, LockError, LockHolder, StatementFailure, TransactionOutcome,
    WaitReport,
};
pub use error::Error;
pub use event::Event;
pub use expand::{
    ExpandPhase, ExpandPlan, ExpandPlanError, ExpandRequest, Expander, Expansion, ExpansionState,
    PhaseStatement, PlannedOperation,
};
pub use history::{AppliedMigration, Direction, HistoryChange, RowState};
pub use locks::{Blocker, LockMode, LockPolicy, TableLock};
pub use migrator::{
    DownTarget, ExpandPhases, Migrator, PhaseOutcome, Problem, Resolution, RunOptions, RunReport,
    StepResult,
};
pub use plan::{ExecutionMode, Plan, Script, Step};
pub use schema::{
    Introspect, ObjectKind, SchemaDiff, SchemaDriver, SchemaSnapshot, SnapshotOptions,
};
pub use source::{Layout, Migration, MigrationFile, MigrationSet, SourceError};
pub use statement::{IndexBuild, SplitError, Splitter, Statement, TransactionControl};
pub use status::{MigrationState, MigrationStatus, compute_status, migration_states};
pub use text::LineIndex;
pub use tls::SslMode;
pub use verify::{Verdict, Verification, Verifier, VerifyOptions, VerifyReport};
pub use version::Version;

//! `strata trace`: runs PostgreSQL migrations statement by statement and reports what each
//! statement really did, read from the server rather than predicted from the text.
//!
//! After every statement the tracer reads, from its own session, the locks it holds
//! (`pg_locks`), the storage of every relation (`pg_class.relfilenode`: a new one means the
//! table or index was rewritten), and the columns and constraints of the user's schemas. The
//! differences are the statement's effects. Static rules can be wrong about a case nobody
//! foresaw; the server cannot.
//!
//! - [`trace_on_scratch`]: on a scratch database holding the schema of the earlier migrations;
//!   traced migrations are committed there, so later ones see what earlier ones made.
//! - [`trace_in_place`]: on the configured database, each migration rolled back.
//! - [`TraceReport`]: the facts, and the findings in the linter's registry (a fact that confirms a
//!   static rule carries its id; `table-rewrite` and `foreign-key-without-index` are trace-only).
//! - [`render_human`], [`render_markdown`]; `--format json` serialises the report.

mod catalog;
mod error;
mod findings;
mod forms;
mod model;
mod render;
mod session;
mod tracer;

pub use error::TraceError;
pub use model::{
    Blocks, Change, ColumnChange, ColumnState, ConstraintChange, ConstraintKind, Execution,
    LockHold, LockTaken, MigrationTrace, Relation, RelationAge, RelationKind, StatementFailure,
    StatementTrace, TraceMode, TraceReport, UnindexedForeignKey,
};
pub use render::{render_human, render_markdown};
pub use tracer::{TraceOptions, trace_in_place, trace_on_scratch};

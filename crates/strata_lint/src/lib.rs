//! strata's migration safety linter.
//!
//! It reads migration files (PostgreSQL through the server's own grammar; SQLite and MySQL/MariaDB best
//! effort, a statement sqlparser cannot read being linted for what its tokens show), keeps a small
//! model of the schema that earlier migrations created, and reports statements that take long or strong
//! locks, rewrite tables, break running application code, lose data, or make migrations hard to run and
//! revert. Every finding carries a rule id from a fixed catalogue, so users can allow it with
//! `-- strata:allow <id> reason` or configure it in `strata.toml`.
//!
//! # Public API
//!
//! - Input: [`Migration`] (path, SQL, [`Dialect`], [`TransactionMode`], down file, [`Directives`]),
//!   [`Settings`] (target PostgreSQL and MySQL versions, per-rule [`RuleSetting`]s, `small_table_rows`), and the optional live
//!   [`Catalog`].
//! - Linting: [`lint_directory`] (migrations in version order, each knowing what the earlier ones created)
//!   and [`lint_one`] (one migration with its earlier siblings as context). Both return [`Diagnostic`]s.
//! - Findings made by running migrations (`strata trace`): [`diagnose_traced`] applies allows and
//!   configured severities to [`TracedFinding`]s, like the linter does to its own.
//! - Rules: [`registry::RULES`], [`registry::find`], [`explain`] (one rule's documentation) and
//!   [`rules_markdown`] (the generated `docs/rules.md`).
//! - Output: [`report::render_human`], [`report::render_json`], [`report::render_sarif`],
//!   [`report::render_github`].
//! - Facts as data: PostgreSQL locks per version, MySQL/MariaDB online-DDL algorithms per version:
//!   [`facts`].
//!
//! ```no_run
//! use strata_lint::{Dialect, Migration, Settings, lint_directory, report};
//!
//! let migrations = vec![
//!     Migration::new("migrations/1_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);", Dialect::Postgres),
//!     Migration::new("migrations/2_index.up.sql", "CREATE INDEX users_email ON users (email);", Dialect::Postgres),
//! ];
//! let diagnostics = lint_directory(&migrations, &Settings::default(), None);
//! print!("{}", report::render_human(&diagnostics, false));
//! ```

mod allow;
mod docs;
mod engine;
mod error;
pub mod facts;
mod input;
mod ir;
mod parse;
pub mod registry;
pub mod report;
mod rules;
mod schema;

pub use docs::{explain, rules_markdown};
pub use engine::{TracedFinding, diagnose_traced, lint_directory, lint_one, lint_run};
pub use error::SettingsError;
pub use input::{
    Catalog, CatalogColumn, CatalogConstraint, CatalogConstraintKind, CatalogEnum, CatalogIndex,
    CatalogTable, DEFAULT_POSTGRES_VERSION, DEFAULT_SMALL_TABLE_ROWS, Dialect, Directives,
    Migration, ObjectName, RuleSetting, Settings, TransactionMode,
};
pub use report::{Diagnostic, Severity, Summary};

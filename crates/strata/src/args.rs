//! Command-line arguments (clap). Parsing only: `config.rs` turns them into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use strata_core::ForeignTool;
use strata_core::source::Layout;

fn parse_layout(text: &str) -> Result<Layout, String> {
    text.parse()
}

/// strata: safe-by-default database schema migrations.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Database URL: postgres://, mysql://, mariadb://, sqlite://PATH or sqlite::memory: [default: strata.toml, else sqlite://strata.db]
    #[arg(
        long,
        short = 'd',
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub(crate) database_url: Option<String>,
    /// Migrations directory [default: strata.toml, else ./migrations]
    #[arg(long, global = true)]
    pub(crate) dir: Option<PathBuf>,
    /// How the migrations directory's files are named: native (golang-migrate, sqlx, dbmate),
    /// diesel or flyway [default: strata.toml, else detected from the files]
    #[arg(long, global = true, value_name = "LAYOUT", value_parser = parse_layout)]
    pub(crate) layout: Option<Layout>,
    /// Configuration file [default: strata.toml, searched upward from the working directory]
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub(crate) format: Format,
    /// How long to wait for another run's migration lock, e.g. 60s
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) lock_wait: Option<String>,
    /// Longest wait in a table's lock queue per attempt, e.g. 2s (PostgreSQL `lock_timeout`;
    /// MySQL/MariaDB `lock_wait_timeout` and `innodb_lock_wait_timeout`, in whole seconds)
    /// [default: 2s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) lock_timeout: Option<String>,
    /// Total time for lock retries and waiting per migration [default: 30s]
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) lock_retry_budget: Option<String>,
    /// Limit on any one statement, or `off` (PostgreSQL; MariaDB `max_statement_time`)
    /// [default: off]
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) statement_timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
    /// SARIF 2.1.0, for code-scanning UIs (`lint` only)
    Sarif,
    /// GitHub workflow annotations (`lint` only)
    Github,
    /// Markdown for a pull-request comment (`trace` only)
    Markdown,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Write strata.toml and create the migrations directory
    Init,
    /// Create the up and down files of a new migration
    New {
        /// What the migration does, e.g. "add users email"
        name: Vec<String>,
    },
    /// Show every migration and its state
    Status {
        /// Exit 1 unless every migration is applied
        #[arg(long)]
        check: bool,
    },
    /// Apply pending migrations
    Up(UpArgs),
    /// Revert applied migrations, newest first
    Down(DownArgs),
    /// Revert and re-apply the newest migrations
    Redo {
        /// How many migrations
        #[arg(long, default_value_t = 1)]
        steps: usize,
        /// Print what would run, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Contract phase of an expand/contract migration: drop the old shape once no old
    /// application version runs
    Complete {
        /// The migration to complete [default: the only open one]
        version: Option<String>,
    },
    /// Undo the expand of an expand/contract migration (it becomes pending again)
    Abort {
        /// The migration to abort [default: the only open one]
        version: Option<String>,
    },
    /// Check applied migrations against the files
    Validate,
    /// Record every migration up to VERSION as applied without running it
    Baseline { version: String },
    /// Take over the history of golang-migrate, dbmate, sqlx, Diesel or Flyway: record what it
    /// applied as applied, without running anything (its own table is left as it is)
    Adopt(AdoptArgs),
    /// Settle a failed migration after fixing the database by hand
    Resolve(ResolveArgs),
    /// On a scratch database, apply every migration up, down and up again, comparing schemas
    Verify(VerifyArgs),
    /// Compare the live schema with the one its applied migrations give (exit 1 on a difference)
    Drift,
    /// Schema snapshots
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Check migrations for statements that lock, rewrite, break running code or lose data
    Lint(LintArgs),
    /// PostgreSQL: run migrations statement by statement and report the locks, rewrites and
    /// schema changes each one really makes
    Trace(TraceArgs),
    /// Run an UPDATE or DELETE online: in key-range batches, throttled, resumable, exactly once
    Backfill(BackfillArgs),
    /// Show a lint rule's documentation
    Explain {
        /// The rule's id, e.g. index-not-concurrent
        rule_id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AdoptArgs {
    /// The tool whose history table to read: golang-migrate, dbmate, sqlx, diesel or flyway
    /// [default: the only one whose table exists]
    #[arg(long, value_name = "TOOL", value_parser = parse_tool)]
    pub(crate) from: Option<ForeignTool>,
    /// The tool's history table, where it was set up with another name than its default
    /// (golang-migrate's x-migrations-table, dbmate's --migrations-table, Flyway's flyway.table;
    /// sqlx's is read from sqlx.toml)
    #[arg(long, value_name = "NAME")]
    pub(crate) table: Option<String>,
    /// Show what would be recorded, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

fn parse_tool(text: &str) -> Result<ForeignTool, String> {
    text.parse()
}

#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// Migration files or directories [default: the pending migrations of the configured database]
    pub(crate) paths: Vec<PathBuf>,
    /// Lint every migration of the directory, not only the pending ones
    #[arg(long)]
    pub(crate) all: bool,
    /// SQL dialect [default: the database URL's scheme; postgres when no database is configured]
    #[arg(long, value_enum)]
    pub(crate) dialect: Option<LintDialect>,
    /// Target PostgreSQL major version [default: strata.toml, else the connected server, else 15]
    #[arg(long, value_name = "N")]
    pub(crate) pg_version: Option<u32>,
    /// Target MySQL or MariaDB version, e.g. 8.0.28 or 10.11-mariadb [default: strata.toml, else
    /// the connected server, else 8.4 (10.11-mariadb for a mariadb:// URL)]
    #[arg(long, value_name = "V")]
    pub(crate) mysql_version: Option<String>,
    /// Read table sizes and existing objects from the configured PostgreSQL database
    #[arg(long)]
    pub(crate) catalog: bool,
    /// Show infos too
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// Versions or up files of the migrations to trace [default: the pending migrations]
    #[arg(value_name = "VERSION|PATH")]
    pub(crate) migrations: Vec<String>,
    /// Trace on the configured database itself, rolling each migration back (its locks are real)
    #[arg(long)]
    pub(crate) in_place: bool,
    /// Show infos too
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LintDialect {
    Postgres,
    Mysql,
    Sqlite,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Apply up to and including this version
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<String>,
    /// Print every statement that would run, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Apply pending migrations older than the newest applied one
    #[arg(long)]
    pub(crate) out_of_order: bool,
    /// Run although applied migrations were modified since
    #[arg(long)]
    pub(crate) ignore_modified: bool,
    /// Run although applied migrations have no file any more
    #[arg(long)]
    pub(crate) ignore_missing: bool,
    /// Run although the linter found errors in the pending migrations (says what it let through)
    #[arg(long)]
    pub(crate) allow_unsafe: bool,
    /// Complete each expand/contract migration right after its expand (for databases no old
    /// application version uses: development, tests, CI)
    #[arg(long)]
    pub(crate) complete: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Revert the newest N migrations [default: 1]
    #[arg(long, conflicts_with_all = ["to", "all"])]
    pub(crate) steps: Option<usize>,
    /// Revert everything newer than VERSION (which stays applied)
    #[arg(long, value_name = "VERSION", conflicts_with = "all")]
    pub(crate) to: Option<String>,
    /// Revert every applied migration
    #[arg(long)]
    pub(crate) all: bool,
    /// Print every statement that would run, change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Start checking at VERSION; earlier migrations are applied without checking
    #[arg(long, value_name = "VERSION")]
    pub(crate) from: Option<String>,
    /// After a failure, go on checking later migrations from the failed one's up state
    #[arg(long)]
    pub(crate) keep_going: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SchemaCommand {
    /// Write a deterministic text snapshot of the live schema
    Dump(SchemaDumpArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SchemaDumpArgs {
    /// Write to FILE instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Include each object's owner
    #[arg(long)]
    pub(crate) owners: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    pub(crate) version: String,
    /// Its effects are all in place: record it as applied
    #[arg(
        long,
        required_unless_present = "rolled_back",
        conflicts_with = "rolled_back"
    )]
    pub(crate) applied: bool,
    /// Its effects are all undone: forget it (it becomes pending)
    #[arg(long)]
    pub(crate) rolled_back: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    /// A file holding the UPDATE or DELETE (its `-- strata:backfill` options apply; flags win)
    #[arg(
        value_name = "FILE",
        required_unless_present = "sql",
        conflicts_with = "sql"
    )]
    pub(crate) file: Option<PathBuf>,
    /// The UPDATE or DELETE to run
    #[arg(long)]
    pub(crate) sql: Option<String>,
    /// The name progress is kept under; run again with the same name to resume [default: a hash of the statement]
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Keys per batch (the first batch's size when --target adapts it) [default: 1000]
    #[arg(long, value_name = "N")]
    pub(crate) batch: Option<u64>,
    /// Pause between batches, e.g. 50ms [default: 0ms]
    #[arg(long, value_name = "DURATION")]
    pub(crate) sleep: Option<String>,
    /// Adapt the batch size so that a batch takes about this long, e.g. 200ms
    #[arg(long, value_name = "DURATION")]
    pub(crate) target: Option<String>,
    /// Batch over these columns instead of the primary key, e.g. tenant_id,id
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub(crate) key: Option<Vec<String>>,
    /// Pause while a replica lags more than this, e.g. 5s (PostgreSQL: its standbys in
    /// pg_stat_replication; MySQL/MariaDB: the --replica servers)
    #[arg(long, value_name = "DURATION")]
    pub(crate) max_lag: Option<String>,
    /// MySQL/MariaDB: a replica to read the lag on for --max-lag; repeatable, replaces strata.toml's [backfill] replicas
    #[arg(long = "replica", value_name = "URL")]
    pub(crate) replicas: Vec<String>,
}

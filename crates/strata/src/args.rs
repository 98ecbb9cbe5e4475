//! Command-line arguments (clap). Parsing only: `config.rs` turns them into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Database URL: postgres://, sqlite://PATH or sqlite::memory: [default: strata.toml, else sqlite://strata.db]
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
    /// Configuration file [default: strata.toml, searched upward from the working directory]
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub(crate) format: Format,
    /// How long to wait for another run's migration lock, e.g. 60s
    #[arg(long, global = true, value_name = "DURATION")]
    pub(crate) lock_wait: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
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
    /// Check applied migrations against the files
    Validate,
    /// Record every migration up to VERSION as applied without running it
    Baseline { version: String },
    /// Settle a failed migration after fixing the database by hand
    Resolve(ResolveArgs),
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

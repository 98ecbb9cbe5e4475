//! Plans: what the runner will execute, as data. `--dry-run` prints a plan, the runner executes
//! the same plan, so what users review is exactly what runs.

use std::path::PathBuf;

use crate::Dialect;
use crate::backfill::{BackfillPlan, BackfillStatement};
use crate::checksum::Checksum;
use crate::directive::BackfillOptions;
use crate::error::Error;
use crate::expand::{ExpandPlan, PhaseStatement};
use crate::history::Direction;
use crate::source::{Migration, MigrationFile, SourceError};
use crate::statement::{Splitter, Statement, TransactionControl};
use crate::version::Version;

/// How a file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionMode {
    /// All statements and the history row in one transaction.
    Transaction,
    /// Statement by statement, progress recorded after each (resumable).
    NoTransaction,
}

/// A file split into the statements that will run, with the way they run.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    pub statements: Vec<Statement>,
    pub mode: ExecutionMode,
    /// Why the mode was chosen, for `--dry-run` and messages.
    pub mode_reason: String,
    /// Checksum of each statement, stored for migrations that run outside a transaction.
    pub statement_checksums: Vec<String>,
    /// Statements that run as online backfills, in batches, by index: the single statement of
    /// a file marked `-- strata:backfill`, or the backfills of an expand phase.
    pub backfills: Vec<(usize, BackfillPlan)>,
    /// Set when the script is the expand phase of an expand/contract migration: the whole
    /// plan, stored when the expand starts.
    pub expand: Option<ExpandPlan>,
    /// The statements are strata's own (a phase of an expand/contract migration): each one's
    /// line is that of the file's statement it serves, and an error position points into
    /// strata's text, not the file's.
    pub generated: bool,
}

impl Script {
    /// Splits and classifies a file. A file wrapped entirely in one `BEGIN; ... COMMIT;` runs
    /// as one transaction with strata's own wrapper replacing it; any other transaction control
    /// is refused, because it would commit part of a migration behind the history's back.
    pub fn prepare(
        file: &MigrationFile,
        splitter: &dyn Splitter,
        dialect: Dialect,
    ) -> Result<Script, Error> {
        let mut statements = splitter.split(&file.sql).map_err(|e| Error::Parse {
            path: file.path.clone(),
            line: e.line,
            message: e.message,
        })?;
        let wrapped = statements.len() >= 2
            && statements.first().and_then(|s| s.transaction_control)
                == Some(TransactionControl::Begin)
            && statements.last().and_then(|s| s.transaction_control)
                == Some(TransactionControl::Commit);
        if wrapped {
            statements.pop();
            statements.remove(0);
        }
        if let Some(control) = statements.iter().find(|s| s.transaction_control.is_some()) {
            return Err(Error::Script {
                path: file.path.clone(),
                line: control.line,
                message: "transaction control (BEGIN/COMMIT/ROLLBACK/SAVEPOINT) inside a migration: strata runs \
                          each migration in its own transaction together with its history row"
                    .into(),
                hint: "remove it; to run statements outside a transaction put `-- strata:no-transaction` before the first statement".into(),
            });
        }
        if let Some(options) = &file.directives.backfill {
            return Script::backfill(file, statements, options, dialect);
        }
        let needs_outside = statements.iter().find(|s| s.outside_transaction);
        let (mode, mode_reason) = match (file.directives.transaction, needs_outside) {
            (Some(true), Some(statement)) | (None, Some(statement)) if wrapped => {
                return Err(Error::Script {
                    path: file.path.clone(),
                    line: statement.line,
                    message: "this statement cannot run inside a transaction, but the file asks for one".into(),
                    hint: "move the statement to its own migration (it then runs outside a transaction)".into(),
                });
            }
            (Some(true), Some(statement)) => {
                return Err(Error::Script {
                    path: file.path.clone(),
                    line: statement.line,
                    message: "this statement cannot run inside a transaction, but the file says `-- strata:transaction`".into(),
                    hint: "remove the directive, or move the statement to its own migration".into(),
                });
            }
            (Some(true), None) => (
                ExecutionMode::Transaction,
                "`-- strata:transaction`".to_owned(),
            ),
            (Some(false), _) => (
                ExecutionMode::NoTransaction,
                format!(
                    "`-- strata:no-transaction` (line {})",
                    file.directives.transaction_line.unwrap_or(1)
                ),
            ),
            (None, Some(statement)) => (
                ExecutionMode::NoTransaction,
                format!("line {} cannot run inside a transaction", statement.line),
            ),
            (None, None) => (ExecutionMode::Transaction, "default".to_owned()),
        };
        let statement_checksums = statements
            .iter()
            .map(|s| statement_checksum(&s.sql, dialect))
            .collect();
        Ok(Script {
            path: file.path.clone(),
            statements,
            mode,
            mode_reason,
            statement_checksums,
            backfills: Vec::new(),
            expand: None,
            generated: false,
        })
    }

    /// One phase of an expand/contract migration, run statement by statement with its
    /// progress recorded. Every statement the driver writes is safe to run again, so a phase
    /// killed at any point resumes by re-running the statement it was in; its backfills resume
    /// after their last committed batch.
    pub fn phase(
        path: &std::path::Path,
        statements: &[PhaseStatement],
        backfill: &BackfillOptions,
        splitter: &dyn Splitter,
        dialect: Dialect,
    ) -> Result<Script, Error> {
        let mut split = Vec::with_capacity(statements.len());
        let mut backfills = Vec::new();
        for (index, phase_statement) in statements.iter().enumerate() {
            let internal = |message: String| Error::Script {
                path: path.to_owned(),
                line: phase_statement.line,
                message,
                hint: "this is a fault in strata; `strata abort` undoes what the expand did".into(),
            };
            let mut parts = splitter
                .split(&phase_statement.sql)
                .map_err(|e| internal(format!("a statement strata wrote does not parse: {e}")))?;
            if parts.len() != 1 {
                return Err(internal(format!(
                    "a statement strata wrote splits into {} statements",
                    parts.len()
                )));
            }
            let mut statement = parts.remove(0);
            statement.line = phase_statement.line;
            statement.rerun_safe = true;
            if phase_statement.backfill {
                let parsed = BackfillStatement::parse(&statement.sql, dialect).map_err(|e| {
                    internal(format!("a backfill strata wrote is refused: {}", e.message))
                })?;
                backfills.push((
                    index,
                    BackfillPlan {
                        statement: parsed,
                        options: backfill.clone(),
                    },
                ));
            }
            split.push(statement);
        }
        let statement_checksums = split
            .iter()
            .map(|s| statement_checksum(&s.sql, dialect))
            .collect();
        Ok(Script {
            path: path.to_owned(),
            statements: split,
            mode: ExecutionMode::NoTransaction,
            mode_reason: "an expand/contract phase, each statement safe to run again".into(),
            statement_checksums,
            backfills,
            expand: None,
            generated: true,
        })
    }

    /// The backfill that statement `index` runs as, if it is one.
    pub fn backfill_at(&self, index: usize) -> Option<&BackfillPlan> {
        self.backfills
            .iter()
            .find_map(|(at, plan)| (*at == index).then_some(plan))
    }

    /// A file marked `-- strata:backfill`: one `UPDATE`/`DELETE` that runs in key-range batches,
    /// outside a migration transaction. Resuming it after a crash is safe (its progress commits
    /// with each batch), so the runner may re-run the statement, and the engine continues after
    /// the last committed batch.
    fn backfill(
        file: &MigrationFile,
        mut statements: Vec<Statement>,
        options: &BackfillOptions,
        dialect: Dialect,
    ) -> Result<Script, Error> {
        let refuse = |line: u32, message: String, hint: &str| Error::Script {
            path: file.path.clone(),
            line,
            message,
            hint: hint.to_owned(),
        };
        if file.directives.transaction == Some(true) {
            return Err(refuse(
                file.directives.transaction_line.unwrap_or(1),
                "`-- strata:transaction` contradicts `-- strata:backfill`: a backfill commits batch by batch".into(),
                "remove one of the two directives",
            ));
        }
        let mut statement = match statements.len() {
            1 => statements.remove(0),
            0 => {
                return Err(refuse(
                    1,
                    "`-- strata:backfill` marks a file with no statement".into(),
                    "write the UPDATE or DELETE to run in batches",
                ));
            }
            _ => {
                return Err(refuse(
                    statements[1].line,
                    "a backfill file holds a single UPDATE or DELETE; this is a second statement"
                        .into(),
                    "move the other statements to their own migrations",
                ));
            }
        };
        let parsed = BackfillStatement::parse(&statement.sql, dialect).map_err(|error| {
            let line = statement.line
                + u32::try_from(statement.sql[..error.offset].matches('\n').count()).unwrap_or(0);
            refuse(
                line,
                error.message,
                "write one UPDATE or DELETE of one table, or remove `-- strata:backfill` to run it as an ordinary migration",
            )
        })?;
        statement.rerun_safe = true;
        let checksum = statement_checksum(&statement.sql, dialect);
        Ok(Script {
            path: file.path.clone(),
            statements: vec![statement],
            mode: ExecutionMode::NoTransaction,
            mode_reason: "`-- strata:backfill`: in key-range batches, each its own transaction with its progress".into(),
            statement_checksums: vec![checksum],
            backfills: vec![(
                0,
                BackfillPlan {
                    statement: parsed,
                    options: options.clone(),
                },
            )],
            expand: None,
            generated: false,
        })
    }

    /// A file with no statements at all (only comments) does nothing.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// A statement's checksum as the history stores it for a migration run statement by statement.
fn statement_checksum(sql: &str, dialect: Dialect) -> String {
    Checksum::of_sql(sql, dialect)
        .as_str()
        .trim_start_matches("v1:sha256:")
        .to_owned()
}

/// One migration to run in one direction.
#[derive(Debug, Clone)]
pub struct Step {
    pub version: Version,
    pub label: String,
    pub name: String,
    pub direction: Direction,
    pub script: Script,
    /// 0-based index of the first statement to run (non-zero when resuming).
    pub resume_at: usize,
    /// The migration stopped part-way before and continues at `resume_at`.
    pub resuming: bool,
    /// SQL the driver runs first: at the start of the transaction (one entry), or before each
    /// statement of a file run outside a transaction (one entry per statement).
    pub prologues: Vec<Vec<String>>,
    /// The up file's checksum, recorded in the history.
    pub checksum: Checksum,
    pub down_checksum: Option<Checksum>,
}

impl Step {
    /// A step of `migration`; reads its down file (whose checksum the history records) if that
    /// has not been read yet.
    pub fn new(
        migration: &Migration,
        direction: Direction,
        script: Script,
    ) -> Result<Step, SourceError> {
        Ok(Step {
            version: migration.version,
            label: migration.label.clone(),
            name: migration.name.clone(),
            direction,
            script,
            resume_at: 0,
            resuming: false,
            prologues: Vec::new(),
            checksum: migration.up.checksum.clone(),
            down_checksum: migration.down_file()?.map(|d| d.checksum.clone()),
        })
    }

    /// The statements that will actually run.
    pub fn statements_to_run(&self) -> &[Statement] {
        &self.script.statements[self.resume_at..]
    }
}

/// The steps of one command, in execution order.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// SQL the driver runs on its session first (shown by `--dry-run`).
    pub session_settings: Vec<String>,
}

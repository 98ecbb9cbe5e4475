//! The tracer: runs each statement of a migration and reads the catalog after it.
//!
//! On a scratch database ([`trace_on_scratch`]) the migrations before each traced one are applied
//! first by the `Migrator`, exactly as `strata up` would, and each traced migration is committed
//! (and recorded as applied), so later ones see what it made. In place ([`trace_in_place`]) each
//! migration runs in one transaction that is rolled back.
//!
//! A migration that `strata up` runs in one transaction is traced in one transaction, so its
//! locks add up until commit; one that runs statement by statement is traced the same way, each
//! statement in a transaction of its own. An expand/contract migration is traced as it runs: its
//! expand phase, then its complete phase, each a trace of the statements strata wrote for it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use strata_core::{
    Dialect, DriverError, Event, ExecutionMode, ExpandPhase, ExpandPhases, LockPolicy, Migration,
    MigrationSet, Migrator, RunOptions, Script, Statement, Version,
};
use strata_lint::Settings;
use strata_postgres::{PgDriver, PgSplitter, PgTarget, ScratchDatabase};

use crate::catalog::{self, Ages, Snapshot};
use crate::error::TraceError;
use crate::findings;
use crate::forms::{PlainForm, acts_on_the_database_only};
use crate::model::{
    Blocks, Execution, LockHold, LockTaken, MigrationTrace, RelationAge, StatementFailure,
    StatementTrace, TraceMode, TraceReport, UnindexedForeignKey,
};
use crate::session::Session;

/// How to trace.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    /// `lock_timeout` and `statement_timeout` of the traced statements: in place they queue
    /// behind the database's real sessions, and must not stall them.
    pub lock_policy: LockPolicy,
    /// How the migrations before the traced ones are applied on the scratch database.
    pub run: RunOptions,
    /// Rule severities and the target version, for the findings.
    pub lint: Settings,
}

/// Traces `traced` (versions of `set`) on `scratch`, a new database on `server`'s server.
pub fn trace_on_scratch(
    server: &PgTarget,
    scratch: &ScratchDatabase,
    set: &MigrationSet,
    traced: &[Version],
    options: &TraceOptions,
) -> Result<TraceReport, TraceError> {
    let mut tracer = Tracer::connect(
        &server.with_database(scratch.name()),
        TraceMode::Scratch,
        options,
    )?;
    let mut driver = scratch.connect()?;
    let mut quiet = |_: &Event| {};
    for migration in selected(set, traced) {
        let mut migrator = runner(&mut driver, set, options, &mut quiet);
        if let Some(previous) = set
            .migrations
            .iter()
            .take_while(|m| m.version < migration.version)
            .last()
        {
            migrator.up(Some(previous.version))?;
        }
        let traced = match migrator.expand_phases(migration.version)? {
            Some(phases) => tracer.trace_phases(migration, &phases)?,
            None => tracer.trace(migration)?,
        };
        if !traced {
            break;
        }
        migrator.baseline(migration.version)?;
    }
    Ok(tracer.finish())
}

/// Traces `traced` on the database `target` itself, rolling each migration back. An
/// expand/contract migration is refused: its complete phase needs its expand phase committed.
/// `before_tracing` is called once nothing is refused, just before the first statement runs
/// (where a caller warns that the locks it takes are real).
pub fn trace_in_place(
    target: &PgTarget,
    set: &MigrationSet,
    traced: &[Version],
    options: &TraceOptions,
    before_tracing: impl FnOnce(),
) -> Result<TraceReport, TraceError> {
    let mut driver = PgDriver::connect(target)?;
    let mut quiet = |_: &Event| {};
    let mut migrator = runner(&mut driver, set, options, &mut quiet);
    if let Some(migration) = selected(set, traced).find(|m| {
        // Planned against the database as it is: a later migration's tables may not exist yet,
        // and then it is not planned as expand/contract here (nor by `up` before they do).
        migrator
            .expand_phases(m.version)
            .is_ok_and(|phases| phases.is_some())
    }) {
        return Err(TraceError::ExpandInPlace {
            version: migration.label.clone(),
            name: migration.name.clone(),
        });
    }
    let mut tracer = Tracer::connect(target, TraceMode::InPlace, options)?;
    before_tracing();
    for migration in selected(set, traced) {
        if !tracer.trace(migration)? {
            break;
        }
    }
    Ok(tracer.finish())
}

/// The runner that applies (or plans) migrations for the tracer, with its events silenced: the
/// trace reports what the server did, not the runner's progress.
fn runner<'a>(
    driver: &'a mut PgDriver,
    set: &'a MigrationSet,
    options: &TraceOptions,
    quiet: &'a mut dyn FnMut(&Event),
) -> Migrator<'a> {
    Migrator::new(driver, &PgSplitter, set, options.run.clone(), quiet)
}

/// The migrations of `traced`, in version order.
fn selected<'a>(
    set: &'a MigrationSet,
    traced: &'a [Version],
) -> impl Iterator<Item = &'a Migration> {
    set.migrations
        .iter()
        .filter(|m| traced.contains(&m.version))
}

struct Tracer<'a> {
    session: Session,
    mode: TraceMode,
    options: &'a TraceOptions,
    report: TraceReport,
    /// Relations that traced migrations created and committed (scratch only).
    created_by_trace: HashSet<u32>,
}

/// One statement's plan: what runs, and whether in a transaction.
struct Run {
    execution: Execution,
    sql: Option<String>,
    in_transaction: bool,
    plain_form: Option<PlainForm>,
}

/// A lock taken in the open transaction, not yet released.
struct OpenHold {
    lock: LockTaken,
    from_line: u32,
    since: Instant,
}

impl<'a> Tracer<'a> {
    fn connect(
        target: &PgTarget,
        mode: TraceMode,
        options: &'a TraceOptions,
    ) -> Result<Tracer<'a>, TraceError> {
        let session = Session::connect(target)?;
        let policy = &options.lock_policy;
        session
            .execute(&format!(
                "SET lock_timeout = '{}ms'; SET statement_timeout = '{}ms'",
                policy.lock_timeout.as_millis(),
                policy
                    .statement_timeout
                    .unwrap_or(Duration::ZERO)
                    .as_millis()
            ))
            .map_err(TraceError::session("set the tracing session's timeouts"))?;
        // `15.20 (Debian 15.20-0+deb12u1)`: the number is what matters.
        let server_version: String = session
            .query("SELECT current_setting('server_version')", &[])
            .map_err(TraceError::session("read the server version"))?
            .first()
            .map(|row| row.get(0))
            .unwrap_or_default();
        let server_version = server_version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        Ok(Tracer {
            session,
            mode,
            options,
            report: TraceReport {
                mode,
                database: target.database().to_owned(),
                server_version,
                migrations: Vec::new(),
                diagnostics: Vec::new(),
            },
            created_by_trace: HashSet::new(),
        })
    }

    fn finish(self) -> TraceReport {
        self.report
    }

    /// Traces one migration as written; `false` when a statement failed (the trace stops there).
    fn trace(&mut self, migration: &Migration) -> Result<bool, TraceError> {
        let script = Script::prepare(&migration.up, &PgSplitter, Dialect::Postgres)?;
        self.trace_script(migration, &script, None, &script)
    }

    /// Traces an expand/contract migration's expand phase, then (unless a statement failed) its
    /// complete phase: the statements strata wrote, each located at the file's statement it
    /// serves.
    fn trace_phases(
        &mut self,
        migration: &Migration,
        phases: &ExpandPhases,
    ) -> Result<bool, TraceError> {
        let file = Script::prepare(&migration.up, &PgSplitter, Dialect::Postgres)?;
        Ok(
            self.trace_script(migration, &phases.expand, Some(ExpandPhase::Expand), &file)?
                && self.trace_script(
                    migration,
                    &phases.complete,
                    Some(ExpandPhase::Complete),
                    &file,
                )?,
        )
    }

    /// Traces `script`, which runs `migration` (or a `phase` of it); `file` is the migration's
    /// own script, whose statements' byte ranges locate the findings.
    fn trace_script(
        &mut self,
        migration: &Migration,
        script: &Script,
        phase: Option<ExpandPhase>,
        file: &Script,
    ) -> Result<bool, TraceError> {
        let in_transaction = script.mode == ExecutionMode::Transaction;
        // In place everything is rolled back, so everything runs in one transaction.
        let one_transaction = in_transaction || self.mode == TraceMode::InPlace;
        let snapshot = |session: &Session| {
            Snapshot::take(session).map_err(TraceError::session("read the catalog"))
        };
        let mut before = snapshot(&self.session)?;
        let before_migration = before.relation_oids();
        let ages = Ages {
            before_migration: &before_migration,
            created_by_trace: &self.created_by_trace,
        };
        let mut trace = MigrationTrace {
            version: migration.label.clone(),
            name: migration.name.clone(),
            file: migration.up.path.display().to_string(),
            phase,
            in_transaction,
            statements: Vec::new(),
            locks_held: Vec::new(),
            unindexed_foreign_keys: Vec::new(),
            duration: Duration::ZERO,
            failure: None,
        };
        let mut open: Vec<OpenHold> = Vec::new();
        let mut new_foreign_keys: Vec<(u32, usize)> = Vec::new();
        let started = Instant::now();
        if one_transaction {
            self.transaction("BEGIN")?;
        }
        for (index, statement) in script.statements.iter().enumerate() {
            let mut run = self.plan(statement);
            if script.backfill_at(index).is_some() && run.execution == Execution::Transaction {
                run.execution = Execution::Backfill;
            }
            let own_transaction = !one_transaction && run.in_transaction;
            if own_transaction {
                self.transaction("BEGIN")?;
            }
            let statement_started = Instant::now();
            let result = match &run.sql {
                Some(sql) => self.session.execute(sql),
                None => Ok(()),
            };
            let duration = statement_started.elapsed();
            let mut traced = StatementTrace {
                line: statement.line,
                range: file_range(script, file, statement),
                sql: statement.sql.clone(),
                execution: run.execution,
                duration,
                locks: Vec::new(),
                rewrites: Vec::new(),
                created: Vec::new(),
                dropped: Vec::new(),
                columns: Vec::new(),
                constraints: Vec::new(),
            };
            if let Err(error) = result {
                trace.failure = Some(failure(index, statement, error, script.generated));
                trace.statements.push(traced);
                if one_transaction || own_transaction {
                    self.transaction("ROLLBACK")?;
                }
                trace.duration = started.elapsed();
                self.report.migrations.push(trace);
                return Ok(false);
            }
            let after = snapshot(&self.session)?;
            let mut changes = catalog::changes(&before, &after, &ages);
            if let Some(plain) = &run.plain_form {
                for lock in &mut changes.locks {
                    lock.mode = plain.concurrent_mode(lock.mode, &lock.relation.name);
                    lock.blocks = Blocks::of(lock.mode);
                }
            }
            open.extend(
                changes
                    .locks
                    .iter()
                    .filter(|lock| lock.relation.age != RelationAge::CreatedInMigration)
                    .map(|lock| OpenHold {
                        lock: lock.clone(),
                        from_line: statement.line,
                        since: statement_started,
                    }),
            );
            new_foreign_keys.extend(changes.added_constraints.iter().map(|&oid| (oid, index)));
            traced.locks = changes.locks;
            traced.rewrites = changes.rewrites;
            traced.created = changes.created;
            traced.dropped = changes.dropped;
            traced.columns = changes.columns;
            traced.constraints = changes.constraints;
            trace.statements.push(traced);
            before = after;
            if own_transaction {
                self.transaction("COMMIT")?;
                release(&mut open, &mut trace.locks_held);
                before = snapshot(&self.session)?;
            }
        }
        let oids: Vec<u32> = new_foreign_keys.iter().map(|(oid, _)| *oid).collect();
        let unindexed = catalog::unindexed_foreign_keys(&self.session, &oids)
            .map_err(TraceError::session("look for indexes on new foreign keys"))?;
        trace.unindexed_foreign_keys = unindexed
            .into_iter()
            .filter_map(|(oid, columns)| {
                let &(_, statement) = new_foreign_keys.iter().find(|(o, _)| *o == oid)?;
                let constraint = trace.statements[statement]
                    .constraints
                    .iter()
                    .find(|c| c.oid == oid)?;
                Some(UnindexedForeignKey {
                    table: constraint.table.clone(),
                    constraint: constraint.name.clone(),
                    columns,
                    statement,
                })
            })
            .collect();
        if one_transaction {
            let end = match self.mode {
                TraceMode::Scratch => "COMMIT",
                TraceMode::InPlace => "ROLLBACK",
            };
            self.transaction(end)?;
            release(&mut open, &mut trace.locks_held);
        }
        trace.duration = started.elapsed();
        if self.mode == TraceMode::Scratch {
            let after = snapshot(&self.session)?;
            self.created_by_trace
                .extend(after.relation_oids().difference(&before_migration));
        }
        self.report.diagnostics.extend(findings::diagnose(
            &trace,
            &migration.up.sql,
            &self.options.lint,
        ));
        self.report.migrations.push(trace);
        Ok(true)
    }

    /// Decides how a statement runs here.
    fn plan(&self, statement: &Statement) -> Run {
        let plain_form = statement
            .concurrent
            .then(|| PlainForm::of(&statement.sql))
            .flatten();
        if let Some(plain) = plain_form {
            return Run {
                execution: Execution::ConcurrentFormAsPlain {
                    plain_sql: plain.sql.clone(),
                },
                sql: Some(plain.sql.clone()),
                in_transaction: true,
                plain_form: Some(plain),
            };
        }
        if !statement.outside_transaction {
            return Run {
                execution: Execution::Transaction,
                sql: Some(statement.sql.clone()),
                in_transaction: true,
                plain_form: None,
            };
        }
        let not_run = |reason: &str| Run {
            execution: Execution::NotRun {
                reason: reason.to_owned(),
            },
            sql: None,
            in_transaction: false,
            plain_form: None,
        };
        match self.mode {
            TraceMode::InPlace => {
                not_run("it cannot run inside the transaction that is rolled back")
            }
            TraceMode::Scratch if acts_on_the_database_only(&statement.sql) => Run {
                execution: Execution::OutsideTransaction,
                sql: Some(statement.sql.clone()),
                in_transaction: false,
                plain_form: None,
            },
            TraceMode::Scratch => not_run("it acts on the server, not on the database"),
        }
    }

    fn transaction(&self, command: &'static str) -> Result<(), TraceError> {
        self.session
            .execute(command)
            .map_err(TraceError::session("manage the tracing transaction"))
    }
}

/// Where `statement` (of `script`) is in the migration's file (`file`, its script): its own range,
/// or, for a statement strata wrote, that of the file's statement it serves.
fn file_range(script: &Script, file: &Script, statement: &Statement) -> std::ops::Range<usize> {
    let range = |s: &Statement| s.offset..s.offset + s.sql.len();
    if !script.generated {
        return range(statement);
    }
    file.statements
        .iter()
        .find(|s| s.line == statement.line)
        .map_or(0..0, range)
}

/// The transaction ended: its locks were held from their statement's start until now.
fn release(open: &mut Vec<OpenHold>, held: &mut Vec<LockHold>) {
    let now = Instant::now();
    held.extend(open.drain(..).map(|hold| LockHold {
        relation: hold.lock.relation,
        mode: hold.lock.mode,
        blocks: hold.lock.blocks,
        from_line: hold.from_line,
        held: now.duration_since(hold.since),
    }));
}

/// The failure, located at the line the server's error position points to (for a statement
/// strata wrote, which points into strata's text, the line of the file's statement it serves).
fn failure(
    index: usize,
    statement: &Statement,
    error: DriverError,
    generated: bool,
) -> StatementFailure {
    let lines_before_error = error
        .position
        .filter(|_| !generated)
        .map(|position| {
            statement
                .sql
                .chars()
                .take(position.saturating_sub(1) as usize)
                .filter(|&c| c == '\n')
                .count()
        })
        .unwrap_or(0);
    StatementFailure {
        statement: index,
        line: statement.line + u32::try_from(lines_before_error).unwrap_or(0),
        code: error.code,
        message: error.message,
        detail: error.detail,
        hint: error.hint,
    }
}

//! The runner: plans and executes `up`, `down`, `redo`, `baseline`, `adopt` and `resolve` on any
//! [`Driver`], holding the migration lock so that concurrent deployers apply each migration
//! exactly once.
//!
//! ```no_run
//! # fn demo(driver: &mut dyn strata_core::Driver, splitter: &dyn strata_core::Splitter) -> Result<(), strata_core::Error> {
//! use strata_core::{Dialect, MigrationSet, Migrator, RunOptions};
//! let set = MigrationSet::load("migrations".as_ref(), Dialect::Postgres)?;
//! let mut events = |event: &strata_core::Event| eprintln!("{event:?}");
//! let mut migrator = Migrator::new(driver, splitter, &set, RunOptions::default(), &mut events);
//! let report = migrator.up(None)?;
//! println!("applied {} migrations", report.steps.len());
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backfill::{BackfillJob, BackfillPlan, BackfillRunner};
use crate::checksum::Checksum;
use crate::driver::{Driver, DriverError, IndexState, TransactionOutcome};
use crate::error::Error;
use crate::event::Event;
use crate::expand::{ExpandPlanError, ExpandRequest, Expansion, ExpansionState, backfill_name};
use crate::history::{AppliedMigration, Direction, HistoryChange, RowState};
use crate::locks::{Blocker, LockPolicy, TableLock};
use crate::plan::{ExecutionMode, Plan, Script, Step};
use crate::source::{Migration, MigrationFile, MigrationSet};
use crate::statement::{Splitter, Statement};
use crate::status::{MigrationState, MigrationStatus, compute_status};
use crate::version::Version;

mod adopt;
mod phases;

use phases::expansion_open;
pub use phases::{ExpandPhases, PhaseOutcome};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait for another run's migration lock.
    pub lock_wait: Duration,
    /// Apply pending migrations older than the newest applied one.
    pub out_of_order: bool,
    /// Run although applied migrations were modified.
    pub ignore_modified: bool,
    /// Run although applied migrations have no file any more.
    pub ignore_missing: bool,
    /// Recorded in the history as who applied each migration.
    pub applied_by: String,
    /// How long table locks may be waited for, and how lock timeouts are retried.
    pub lock_policy: LockPolicy,
    /// The engine that runs migrations marked `-- strata:backfill` (`strata_backfill`); without
    /// one, such a migration fails with a message saying so.
    pub backfill_runner: Option<Arc<dyn BackfillRunner>>,
    /// Run the complete phase of each expand/contract migration right after its expand: for
    /// scratch, test and development databases, where no old application version runs.
    pub complete_expansions: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lock_wait: Duration::from_secs(60),
            out_of_order: false,
            ignore_modified: false,
            ignore_missing: false,
            applied_by: format!("strata {}", env!("CARGO_PKG_VERSION")),
            lock_policy: LockPolicy::default(),
            backfill_runner: None,
            complete_expansions: false,
        }
    }
}

/// Which applied migrations `down` reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownTarget {
    /// The newest N.
    Steps(usize),
    /// Everything newer than this version (which stays applied).
    To(Version),
    All,
}

/// How a person settled a failed migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Its effects are all in place: record it as applied.
    Applied,
    /// Its effects are all gone: forget it (it becomes pending).
    RolledBack,
}

/// What a finished step did.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub version: Version,
    pub direction: Direction,
    pub execution_ms: i64,
    /// `false` when another process had already done it.
    pub performed: bool,
}

/// What a command did: the plan it ran and the new status of every migration it touched.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    pub plan: Plan,
    pub steps: Vec<StepResult>,
    pub touched: Vec<MigrationStatus>,
}

/// A problem `validate` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub version: Option<Version>,
    pub message: String,
}

/// Plans and runs migrations from one directory on one database.
pub struct Migrator<'a> {
    driver: &'a mut dyn Driver,
    splitter: &'a dyn Splitter,
    set: &'a MigrationSet,
    options: RunOptions,
    events: &'a mut dyn FnMut(&Event),
    /// Set when the run's check found no old transaction in the way of any step: first attempts
    /// then skip the per-step check ([`Migrator::clear_at_start`]).
    clear_at_start: bool,
}

impl<'a> Migrator<'a> {
    pub fn new(
        driver: &'a mut dyn Driver,
        splitter: &'a dyn Splitter,
        set: &'a MigrationSet,
        options: RunOptions,
        events: &'a mut dyn FnMut(&Event),
    ) -> Self {
        driver.set_lock_policy(&options.lock_policy);
        Migrator {
            driver,
            splitter,
            set,
            options,
            events,
            clear_at_start: false,
        }
    }

    /// Every migration's state. Reads only; never creates the history table.
    pub fn status(&mut self) -> Result<Vec<MigrationStatus>, Error> {
        let history = self.read_history()?;
        Ok(compute_status(self.set, &history))
    }

    /// The plan `up` would run, from the history as it is now (nothing is locked or changed).
    pub fn plan_up(&mut self, target: Option<Version>) -> Result<Plan, Error> {
        let history = self.read_history()?;
        self.up_plan(&history, target)
    }

    /// Applies pending migrations (resuming a failed one first), up to and including `target`.
    pub fn up(&mut self, target: Option<Version>) -> Result<RunReport, Error> {
        let history = self.read_history()?;
        self.up_given(target, &history)
    }

    /// [`Migrator::up`] for a caller that has just read the history, without the lock (to lint
    /// what will run, say). When that history shows nothing to do, the run ends there: no lock,
    /// no second read, so a deploy with nothing new costs one query. Otherwise the lock is taken
    /// and the history read again under it, as `up` does.
    pub fn up_given(
        &mut self,
        target: Option<Version>,
        history: &[AppliedMigration],
    ) -> Result<RunReport, Error> {
        if self.up_work(history, target)?.is_empty() {
            return Ok(RunReport {
                plan: self.with_prologues(Vec::new()),
                steps: Vec::new(),
                touched: Vec::new(),
            });
        }
        self.with_lock(|this| {
            let history = this.read_history()?;
            let plan = this.up_plan(&history, target)?;
            // Created only once every pending file has parsed: a bad file changes nothing.
            if !plan.steps.is_empty() {
                this.ensure_history()?;
            }
            this.execute(plan)
        })
    }

    /// The plan `down` would run (nothing is locked or changed).
    pub fn plan_down(&mut self, target: DownTarget) -> Result<Plan, Error> {
        let history = self.read_history()?;
        self.down_plan(&history, target)
    }

    /// Reverts applied migrations, newest first. Refuses before running anything if one of
    /// them cannot be reverted.
    pub fn down(&mut self, target: DownTarget) -> Result<RunReport, Error> {
        self.with_lock(|this| {
            let history = this.read_history()?;
            let plan = this.down_plan(&history, target)?;
            this.execute(plan)
        })
    }

    /// The plan `redo` would run: the down steps, then the same migrations up again.
    pub fn plan_redo(&mut self, steps: usize) -> Result<Plan, Error> {
        let mut plan = self.plan_down(DownTarget::Steps(steps))?;
        let mut ups = Vec::new();
        for step in plan.steps.iter().rev() {
            let migration = self.file(step.version)?;
            ups.push(Step::new(
                migration,
                Direction::Up,
                self.prepare(&migration.up)?,
            )?);
        }
        plan.steps.extend(ups);
        Ok(self.with_prologues(plan.steps))
    }

    /// Reverts the newest `steps` migrations and applies them again, under one lock.
    pub fn redo(&mut self, steps: usize) -> Result<RunReport, Error> {
        self.with_lock(|this| {
            let history = this.read_history()?;
            let down = this.down_plan(&history, DownTarget::Steps(steps))?;
            let newest = down.steps.first().map(|s| s.version);
            let mut report = this.execute(down)?;
            let Some(newest) = newest else {
                return Ok(report);
            };
            let history = this.read_history()?;
            let up = this.up_plan(&history, Some(newest))?;
            let up_report = this.execute(up)?;
            report.plan.steps.extend(up_report.plan.steps);
            report.steps.extend(up_report.steps);
            report.touched = up_report.touched;
            Ok(report)
        })
    }

    /// Checks the applied migrations against the files, and that every file can be parsed.
    pub fn validate(&mut self) -> Result<Vec<Problem>, Error> {
        let history = self.read_history()?;
        let statuses = compute_status(self.set, &history);
        let mut problems = Vec::new();
        for status in &statuses {
            let message = match status.state {
                MigrationState::Modified => format!(
                    "{} ({}) was modified after it was applied: checksum {} in the history, {} in the file",
                    status.label,
                    status.name,
                    status.history.as_ref().map_or("?", |h| h.checksum.as_str()),
                    status.checksum
                ),
                MigrationState::Missing => {
                    format!(
                        "{} ({}) is applied but its file is missing",
                        status.label, status.name
                    )
                }
                MigrationState::Failed => format!(
                    "{} ({}) failed at statement {}",
                    status.label,
                    status.name,
                    status.failed_statement().unwrap_or(1)
                ),
                MigrationState::Applied | MigrationState::Pending => continue,
            };
            problems.push(Problem {
                version: Some(status.version),
                message,
            });
        }
        if let Err(Error::OutOfOrder {
            pending,
            pending_path,
            newest_applied,
            newest_name,
        }) = check_order(&statuses, self.set, false)
        {
            problems.push(Problem {
                version: Some(pending),
                message: format!(
                    "pending {} is older than the newest applied migration {newest_applied} ({newest_name})",
                    pending_path.display()
                ),
            });
        }
        for migration in &self.set.migrations {
            let down = migration.down.as_ref().map(|down| down.load());
            let files = std::iter::once(Ok(&migration.up)).chain(down);
            for file in files {
                let prepared = file
                    .map_err(Error::from)
                    .and_then(|file| self.prepare(file));
                if let Err(error) = prepared {
                    problems.push(Problem {
                        version: Some(migration.version),
                        message: error.to_string(),
                    });
                }
            }
        }
        Ok(problems)
    }

    /// Records every migration up to `version` as applied without running it, in one
    /// transaction.
    pub fn baseline(&mut self, version: Version) -> Result<Vec<Version>, Error> {
        if self.set.get(version).is_none() {
            return Err(Error::UnknownVersion(version.to_string()));
        }
        self.with_lock(|this| {
            let history = this.read_history()?;
            let known: HashSet<Version> = history.iter().map(|row| row.version).collect();
            let mut rows = Vec::new();
            for migration in this
                .set
                .migrations
                .iter()
                .take_while(|m| m.version <= version)
                .filter(|m| !known.contains(&m.version))
            {
                let mut row = this.not_run_row(migration)?;
                row.applied_by = format!("{} (baseline)", this.options.applied_by);
                rows.push(row);
            }
            let recorded = rows.iter().map(|row| row.version).collect();
            this.record_not_run(rows)?;
            Ok(recorded)
        })
    }

    /// The history row of a migration recorded as applied without running it.
    fn not_run_row(&self, migration: &Migration) -> Result<AppliedMigration, Error> {
        let down = migration.down_file()?;
        Ok(history_row(
            migration.version,
            &migration.name,
            &migration.up.checksum,
            down.map(|d| &d.checksum),
            &self.options,
        ))
    }

    /// Writes rows of migrations applied without running them, all in one transaction
    /// (creating the history table first).
    fn record_not_run(&mut self, rows: Vec<AppliedMigration>) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        self.ensure_history()?;
        let changes: Vec<HistoryChange> = rows.into_iter().map(HistoryChange::Upsert).collect();
        self.driver
            .write_history_all(&changes)
            .map_err(|error| Error::Driver {
                context: "writing the history table",
                error,
            })
    }

    /// Settles a failed migration after a person fixed the database by hand.
    pub fn resolve(&mut self, version: Version, resolution: Resolution) -> Result<(), Error> {
        self.with_lock(|this| {
            let history = this.read_history()?;
            let Some(row) = history.iter().find(|row| row.version == version) else {
                return match this.set.get(version) {
                    Some(_) => Err(Error::NotFailed {
                        version,
                        state: "pending",
                    }),
                    None => Err(Error::UnknownVersion(version.to_string())),
                };
            };
            if row.state == RowState::Applied {
                return Err(Error::NotFailed {
                    version,
                    state: "applied",
                });
            }
            let change = match resolution {
                Resolution::RolledBack => HistoryChange::Delete(version),
                Resolution::Applied => {
                    let mut applied = row.clone();
                    if let Some(migration) = this.set.get(version) {
                        applied.checksum = migration.up.checksum.clone();
                        applied.down_checksum = migration.down_file()?.map(|d| d.checksum.clone());
                    }
                    applied.state = RowState::Applied;
                    applied.direction = Direction::Up;
                    applied.statements_done = applied.statement_count;
                    applied.error = None;
                    applied.applied_by = format!("{} (resolve)", this.options.applied_by);
                    // Recorded as applied now.
                    applied.applied_at = String::new();
                    HistoryChange::Upsert(applied)
                }
            };
            this.write(&change)
        })
    }

    fn with_lock<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let events = &mut *self.events;
        self.driver
            .lock(self.options.lock_wait, &mut |holder, waited| {
                events(&Event::LockWaiting { holder, waited });
            })?;
        let result = work(self);
        let unlocked = self.driver.unlock().map_err(|error| Error::Driver {
            context: "releasing the migration lock",
            error,
        });
        let value = result?;
        unlocked?;
        Ok(value)
    }

    fn read_history(&mut self) -> Result<Vec<AppliedMigration>, Error> {
        self.driver.read_history().map_err(|error| Error::Driver {
            context: "reading the history table",
            error,
        })
    }

    fn ensure_history(&mut self) -> Result<(), Error> {
        self.driver.ensure_history().map_err(|error| Error::Driver {
            context: "creating the history table",
            error,
        })
    }

    fn write(&mut self, change: &HistoryChange) -> Result<(), Error> {
        self.driver
            .write_history(change)
            .map_err(|error| Error::Driver {
                context: "writing the history table",
                error,
            })
    }

    fn prepare(&self, file: &crate::source::MigrationFile) -> Result<Script, Error> {
        Script::prepare(file, self.splitter, self.set.dialect)
    }

    fn file(&self, version: Version) -> Result<&'a Migration, Error> {
        self.set
            .get(version)
            .ok_or_else(|| Error::UnknownVersion(version.to_string()))
    }

    /// The plan for `steps`, with the settings the driver will issue before each of them.
    fn with_prologues(&self, mut steps: Vec<Step>) -> Plan {
        for step in &mut steps {
            step.prologues = match step.script.mode {
                ExecutionMode::Transaction => {
                    let first = step
                        .script
                        .statements
                        .first()
                        .cloned()
                        .unwrap_or_else(|| Statement::plain("", 0, 1));
                    vec![self.driver.statement_settings(&first, true)]
                }
                ExecutionMode::NoTransaction => step
                    .script
                    .statements
                    .iter()
                    .map(|s| self.driver.statement_settings(s, false))
                    .collect(),
            };
        }
        Plan {
            steps,
            session_settings: self.driver.session_settings(),
        }
    }

    fn up_plan(
        &mut self,
        history: &[AppliedMigration],
        target: Option<Version>,
    ) -> Result<Plan, Error> {
        let work = self.up_work(history, target)?;
        let expansions = if work.is_empty() {
            Vec::new()
        } else {
            self.expansions()?
        };
        if let Some(open) = expansions
            .iter()
            .find(|e| e.effective_state(history) != ExpansionState::Expanding)
        {
            return Err(expansion_open(open, history, "applying later migrations"));
        }
        let mut steps = Vec::new();
        for status in work {
            let step = match status.state {
                MigrationState::Pending => {
                    let migration = self.file(status.version)?;
                    let script = self.prepare(&migration.up)?;
                    let script = self.expand_script(migration, script)?;
                    Step::new(migration, Direction::Up, script)?
                }
                _ => match expansions.iter().find(|e| e.version == status.version) {
                    Some(expansion) => self.resume_expand(&status, expansion)?,
                    None => self.resume_step(&status)?,
                },
            };
            steps.push(step);
        }
        Ok(self.with_prologues(steps))
    }

    /// The expand phase of `migration`, when its file is an expand/contract migration: it says
    /// `-- strata:expand`, or (on a database that can expand) every statement is an operation
    /// the driver can run in two phases on a table that exists. Otherwise `script` unchanged.
    fn expand_script(&mut self, migration: &Migration, script: Script) -> Result<Script, Error> {
        let directive = migration.up.directives.expand.as_ref();
        if directive.is_some_and(|d| !d.enabled)
            || script.is_empty()
            || !script.backfills.is_empty()
        {
            return Ok(script);
        }
        let path = &migration.up.path;
        let Some(expander) = self.driver.expander() else {
            return match directive {
                Some(directive) => Err(Error::Script {
                    path: path.clone(),
                    line: directive.line,
                    message: format!(
                        "`-- strata:expand` needs PostgreSQL; a {} database cannot run expand/contract migrations",
                        self.set.dialect
                    ),
                    hint: "remove the directive to run the statements as they are written".into(),
                }),
                None => Ok(script),
            };
        };
        let request = ExpandRequest {
            version: migration.version,
            label: &migration.label,
            name: &migration.name,
            path,
            sql: &migration.up.sql,
            statements: &script.statements,
            forced: directive.is_some(),
        };
        let plan = match expander.plan_expand(&request) {
            Ok(Some(plan)) => plan,
            Ok(None) => return Ok(script),
            Err(ExpandPlanError::Refused { line, message, .. }) if directive.is_none() => {
                (self.events)(&Event::Warning {
                    message: format!(
                        "{}:{line}: runs as written, not as expand/contract: {message}",
                        path.display()
                    ),
                });
                return Ok(script);
            }
            Err(ExpandPlanError::Refused {
                line,
                message,
                hint,
            }) => {
                return Err(Error::Script {
                    path: path.clone(),
                    line,
                    message,
                    hint,
                });
            }
            Err(ExpandPlanError::Driver(error)) => {
                return Err(Error::Driver {
                    context: "planning the expand/contract migration",
                    error,
                });
            }
        };
        let mut phase = self.phase_script(path, &plan.expand, &migration.up)?;
        phase.expand = Some(plan);
        Ok(phase)
    }

    /// A phase's statements as a script; the expand phase's backfills take the options of the
    /// file's `-- strata:expand` directive.
    fn phase_script(
        &self,
        path: &std::path::Path,
        statements: &[crate::expand::PhaseStatement],
        up: &MigrationFile,
    ) -> Result<Script, Error> {
        let options = up
            .directives
            .expand
            .as_ref()
            .map(|d| d.backfill.clone())
            .unwrap_or_default();
        Script::phase(path, statements, &options, self.splitter, self.set.dialect)
    }

    /// The step that continues an expand phase that stopped part-way, with the plan stored when
    /// it started (the catalog has changed since, so planning again would give other SQL).
    fn resume_expand(
        &self,
        status: &MigrationStatus,
        expansion: &Expansion,
    ) -> Result<Step, Error> {
        let migration = self.file(status.version)?;
        if migration.up.checksum.as_str() != expansion.checksum {
            return Err(Error::ResumeRefused {
                version: status.version,
                path: migration.up.path.clone(),
                reason: "the file was edited after its expand started; `strata abort` undoes the expand, \
                         then `strata up` expands the file as it is now"
                    .into(),
            });
        }
        let mut script =
            self.phase_script(&migration.up.path, &expansion.plan.expand, &migration.up)?;
        script.expand = Some(expansion.plan.clone());
        let done = status
            .history
            .as_ref()
            .map_or(0, |row| row.statements_done as usize)
            .min(script.statements.len().saturating_sub(1));
        let mut step = Step::new(migration, Direction::Up, script)?;
        step.resume_at = done;
        step.resuming = true;
        Ok(step)
    }

    /// What `up` to `target` has to do, from `history`: the pending migrations and a failed one
    /// to resume, in order, once the applied ones are checked (none modified or missing, unless
    /// allowed; no pending one older than an applied one, unless allowed).
    fn up_work(
        &self,
        history: &[AppliedMigration],
        target: Option<Version>,
    ) -> Result<Vec<MigrationStatus>, Error> {
        if let Some(target) = target
            && self.set.get(target).is_none()
        {
            return Err(Error::UnknownVersion(target.to_string()));
        }
        let statuses = compute_status(self.set, history);
        let modified: Vec<_> = statuses
            .iter()
            .filter(|s| s.state == MigrationState::Modified && !self.options.ignore_modified)
            .filter_map(|s| {
                self.set
                    .get(s.version)
                    .map(|m| (s.version, m.up.path.clone()))
            })
            .collect();
        let missing: Vec<_> = statuses
            .iter()
            .filter(|s| s.state == MigrationState::Missing && !self.options.ignore_missing)
            .map(|s| (s.version, s.name.clone()))
            .collect();
        if !modified.is_empty() || !missing.is_empty() {
            return Err(Error::ChangedHistory { modified, missing });
        }
        check_order(&statuses, self.set, self.options.out_of_order)?;
        Ok(statuses
            .into_iter()
            .filter(|s| target.is_none_or(|t| s.version <= t))
            .filter(|s| matches!(s.state, MigrationState::Pending | MigrationState::Failed))
            .collect())
    }

    /// The step that continues a migration that stopped part-way, after checking that
    /// continuing is safe: the statements that already ran are unchanged, and the one that was
    /// interrupted may be run again.
    fn resume_step(&self, status: &MigrationStatus) -> Result<Step, Error> {
        let row = status
            .history
            .as_ref()
            .expect("a failed migration has a history row");
        if row.direction == Direction::Down {
            return Err(Error::DownInterrupted {
                version: status.version,
            });
        }
        let migration = self.file(status.version)?;
        let script = self.prepare(&migration.up)?;
        let refuse = |reason: String| Error::ResumeRefused {
            version: status.version,
            path: migration.up.path.clone(),
            reason,
        };
        if script.mode == ExecutionMode::Transaction {
            return Err(refuse(
                "it ran outside a transaction and stopped part-way, but the file now runs in a transaction".into(),
            ));
        }
        let done = row.statements_done as usize;
        if script.statements.len() <= done {
            return Err(refuse(format!(
                "{done} statements already ran, but the file now has only {}",
                script.statements.len()
            )));
        }
        for (index, (stored, current)) in row
            .statement_checksums
            .iter()
            .zip(&script.statement_checksums)
            .take(done)
            .enumerate()
        {
            if stored != current {
                return Err(refuse(format!(
                    "statement {} (line {}) was edited after it ran; the database holds the old version",
                    index + 1,
                    script.statements[index].line
                )));
            }
        }
        let interrupted = &script.statements[done];
        if row.state == RowState::Running
            && !interrupted.rerun_safe
            && interrupted.index_build.is_none()
        {
            return Err(refuse(format!(
                "statement {} (line {}) was started but its end was never recorded (the process was killed); \
                 it may or may not have taken effect, and it is not safe to run twice",
                done + 1,
                interrupted.line
            )));
        }
        let mut step = Step::new(migration, Direction::Up, script)?;
        step.resume_at = done;
        step.resuming = true;
        Ok(step)
    }

    fn down_plan(
        &mut self,
        history: &[AppliedMigration],
        target: DownTarget,
    ) -> Result<Plan, Error> {
        let mut applied: Vec<&AppliedMigration> = history.iter().collect();
        applied.sort_by_key(|row| std::cmp::Reverse(row.version));
        if let DownTarget::To(version) = target
            && self.set.get(version).is_none()
            && !applied.iter().any(|row| row.version == version)
        {
            return Err(Error::UnknownVersion(version.to_string()));
        }
        let selected: Vec<&AppliedMigration> = match target {
            DownTarget::Steps(n) => applied.into_iter().take(n).collect(),
            DownTarget::To(version) => applied
                .into_iter()
                .take_while(|row| row.version > version)
                .collect(),
            DownTarget::All => applied,
        };
        let expansions = if selected.is_empty() {
            Vec::new()
        } else {
            self.expansions()?
        };
        let mut problems = Vec::new();
        let mut steps = Vec::new();
        for row in selected {
            if expansions.iter().any(|e| e.version == row.version) {
                problems.push((
                    row.version,
                    format!(
                        "({}) is an expand/contract migration that has not completed: `strata abort` reverts it",
                        row.name
                    ),
                ));
                continue;
            }
            if row.state != RowState::Applied {
                problems.push((
                    row.version,
                    format!(
                        "stopped part-way (statement {}): settle it with `strata resolve` first",
                        row.statements_done + 1
                    ),
                ));
                continue;
            }
            let Some(migration) = self.set.get(row.version) else {
                problems.push((row.version, format!("({}) has no file any more", row.name)));
                continue;
            };
            let script = match migration.down_file()? {
                Some(down) => self.prepare(down)?,
                None if migration.is_irreversible() => {
                    problems.push((
                        row.version,
                        format!("({}) is declared irreversible", migration.name),
                    ));
                    continue;
                }
                None => {
                    problems.push((
                        row.version,
                        format!("({}) has no down file", migration.name),
                    ));
                    continue;
                }
            };
            if script.is_empty() {
                problems.push((
                    row.version,
                    format!("({}) has a down file with no statements", migration.name),
                ));
                continue;
            }
            steps.push(Step::new(migration, Direction::Down, script)?);
        }
        if !problems.is_empty() {
            return Err(Error::NotReversible(problems));
        }
        Ok(self.with_prologues(steps))
    }

    fn execute(&mut self, plan: Plan) -> Result<RunReport, Error> {
        self.clear_at_start = self.clear_at_start(&plan)?;
        let mut results = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            (self.events)(&Event::MigrationStarted { step });
            let outcome = match step.script.mode {
                ExecutionMode::Transaction => self.run_transactional(step),
                ExecutionMode::NoTransaction if step.script.expand.is_some() => {
                    self.run_expand(step)
                }
                ExecutionMode::NoTransaction => self.run_statement_by_statement(step),
            };
            match outcome {
                Ok(Some(execution_ms)) => {
                    (self.events)(&Event::MigrationFinished { step, execution_ms });
                    results.push(StepResult {
                        version: step.version,
                        direction: step.direction,
                        execution_ms,
                        performed: true,
                    });
                }
                Ok(None) => {
                    (self.events)(&Event::MigrationSkipped { step });
                    results.push(StepResult {
                        version: step.version,
                        direction: step.direction,
                        execution_ms: 0,
                        performed: false,
                    });
                }
                Err(mut error) => {
                    if let Error::MigrationFailed { completed, .. } = &mut error {
                        *completed = results
                            .iter()
                            .filter(|r| r.performed)
                            .map(|r| r.version)
                            .collect();
                    }
                    return Err(error);
                }
            }
        }
        let touched = if plan.steps.is_empty() {
            Vec::new()
        } else {
            let versions: HashSet<Version> = plan.steps.iter().map(|s| s.version).collect();
            let history = self.read_history()?;
            compute_status(self.set, &history)
                .into_iter()
                .filter(|s| versions.contains(&s.version))
                .collect()
        };
        Ok(RunReport {
            plan,
            steps: results,
            touched,
        })
    }

    /// The history row a step writes, before its state and progress are filled in.
    fn step_row(&self, step: &Step) -> AppliedMigration {
        let mut row = history_row(
            step.version,
            &step.name,
            &step.checksum,
            step.down_checksum.as_ref(),
            &self.options,
        );
        row.direction = step.direction;
        row.statement_count = count(step.script.statements.len());
        row
    }

    /// Runs a whole file and its history change in one transaction. When a lock is not
    /// available within `lock_timeout`, the whole transaction is retried with backoff, within
    /// the retry budget; before each attempt, old transactions holding conflicting locks are
    /// waited for outside the transaction (never inside it, holding earlier statements' locks).
    fn run_transactional(&mut self, step: &Step) -> Result<Option<i64>, Error> {
        let change = match step.direction {
            Direction::Up => {
                let mut row = self.step_row(step);
                row.statements_done = row.statement_count;
                HistoryChange::Upsert(row)
            }
            Direction::Down => HistoryChange::Delete(step.version),
        };
        let locks: Vec<TableLock> = step
            .script
            .statements
            .iter()
            .flat_map(|s| s.locks.iter().cloned())
            .collect();
        let deadline = Instant::now() + self.options.lock_policy.retry_budget;
        let mut attempt = 1;
        loop {
            if attempt > 1 || !self.clear_at_start {
                self.preflight(step, &locks, deadline)?;
            }
            let events = &mut *self.events;
            let outcome = self.driver.run_in_transaction(
                &step.script.statements,
                &change,
                &mut |blockers, waited| {
                    events(&Event::StatementWaiting {
                        step,
                        blockers,
                        waited,
                    })
                },
            );
            match outcome {
                Ok(TransactionOutcome::Committed { execution_ms }) => {
                    return Ok(Some(execution_ms));
                }
                Ok(TransactionOutcome::AlreadyDone) => return Ok(None),
                Err(failure) => {
                    if failure.error.lock_not_available
                        && let Some(pause) = self.retry_pause(attempt, deadline)
                    {
                        self.announce_retry(step, attempt, pause, &failure.error.blockers);
                        attempt += 1;
                        continue;
                    }
                    return Err(failed(step, failure.index, failure.error, false, attempt));
                }
            }
        }
    }

    /// Runs a file statement by statement outside a transaction, recording progress before each
    /// statement so that a failure or a crash can be resumed exactly where it stopped.
    fn run_statement_by_statement(&mut self, step: &Step) -> Result<Option<i64>, Error> {
        let started = Instant::now();
        let deadline = started + self.options.lock_policy.retry_budget;
        let mut row = self.step_row(step);
        row.statement_checksums = step.script.statement_checksums.clone();
        for (index, statement) in step
            .script
            .statements
            .iter()
            .enumerate()
            .skip(step.resume_at)
        {
            row.state = RowState::Running;
            row.statements_done = count(index);
            row.execution_ms = elapsed_ms(started);
            self.write(&HistoryChange::Upsert(row.clone()))?;
            (self.events)(&Event::StatementStarted {
                step,
                number: index + 1,
            });
            if let Some(index_build) = &statement.index_build {
                // A failed or killed build leaves an INVALID index that `IF NOT EXISTS` would
                // keep: drop it and build again. A build that completed before a crash is kept.
                let state = self
                    .driver
                    .index_state(index_build)
                    .map_err(|e| failed(step, Some(index), e, true, 1))?;
                let resumed_here = step.resuming && index == step.resume_at;
                if state == IndexState::Invalid || (state == IndexState::Valid && resumed_here) {
                    (self.events)(&Event::IndexLeftover {
                        step,
                        index: index_build,
                        state,
                    });
                }
                match state {
                    IndexState::Valid if resumed_here => continue,
                    IndexState::Invalid => self
                        .driver
                        .drop_index(index_build)
                        .map_err(|e| failed(step, Some(index), e, true, 1))?,
                    _ => {}
                }
            }
            let outcome = match step.script.backfill_at(index) {
                Some(backfill) => self.run_backfill(step, index, backfill),
                None => self.execute_with_retries(step, statement, deadline),
            };
            if let Err((error, attempts)) = outcome {
                self.drop_invalid_leftover(step, statement);
                row.state = RowState::Failed;
                row.error = Some(error.to_string());
                row.execution_ms = elapsed_ms(started);
                self.write(&HistoryChange::Upsert(row))?;
                return Err(failed(step, Some(index), error, true, attempts));
            }
        }
        let execution_ms = elapsed_ms(started);
        match step.direction {
            Direction::Up => {
                row.state = RowState::Applied;
                row.statements_done = row.statement_count;
                row.error = None;
                row.execution_ms = execution_ms;
                self.write(&HistoryChange::Upsert(row))?;
            }
            Direction::Down => self.write(&HistoryChange::Delete(step.version))?,
        }
        Ok(Some(execution_ms))
    }

    /// One statement outside a transaction, retried like a transactional migration when its
    /// lock is not available. Returns the error and the number of attempts made.
    fn execute_with_retries(
        &mut self,
        step: &Step,
        statement: &Statement,
        deadline: Instant,
    ) -> Result<(), (DriverError, u32)> {
        let mut attempt = 1;
        loop {
            if attempt > 1 || !self.clear_at_start {
                self.preflight(step, &statement.locks, deadline)
                    .map_err(|e| match e {
                        Error::Driver { error, .. } => (error, attempt),
                        other => (DriverError::new(other.to_string()), attempt),
                    })?;
            }
            let events = &mut *self.events;
            let result = self
                .driver
                .execute_alone(statement, &mut |blockers, waited| {
                    events(&Event::StatementWaiting {
                        step,
                        blockers,
                        waited,
                    });
                });
            match result {
                Ok(()) => return Ok(()),
                Err(error) => {
                    if error.lock_not_available
                        && let Some(pause) = self.retry_pause(attempt, deadline)
                    {
                        self.announce_retry(step, attempt, pause, &error.blockers);
                        attempt += 1;
                        continue;
                    }
                    return Err((error, attempt));
                }
            }
        }
    }

    /// Runs a migration's backfill to completion (resuming where an earlier run stopped). Its
    /// batches retry lock timeouts themselves, each within the lock policy's budget.
    fn run_backfill(
        &mut self,
        step: &Step,
        index: usize,
        plan: &BackfillPlan,
    ) -> Result<(), (DriverError, u32)> {
        let Some(runner) = self.options.backfill_runner.clone() else {
            return Err((
                DriverError::new("this program was built without the backfill engine"),
                1,
            ));
        };
        let name = if step.script.generated {
            backfill_name(&step.label, &step.name, index + 1)
        } else {
            format!("{}_{}", step.label, step.name)
        };
        let job = BackfillJob {
            name,
            statement: plan.statement.clone(),
            options: plan.options.clone(),
            statement_checksum: step
                .script
                .statement_checksums
                .get(index)
                .cloned()
                .unwrap_or_default(),
        };
        runner
            .run(
                &mut *self.driver,
                &job,
                &self.options.lock_policy,
                &mut *self.events,
            )
            .map(drop)
            .map_err(|error| {
                (
                    DriverError::new(error.to_string()).with_hint(error.hint()),
                    1,
                )
            })
    }

    /// A failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index that slows every write and is
    /// never used: drop it now rather than leave it for `IF NOT EXISTS` to keep.
    fn drop_invalid_leftover(&mut self, step: &Step, statement: &Statement) {
        let Some(index) = statement.index_build.as_ref().filter(|i| i.concurrent) else {
            return;
        };
        if self.driver.index_state(index) == Ok(IndexState::Invalid) {
            match self.driver.drop_index(index) {
                Ok(()) => (self.events)(&Event::InvalidIndexDropped { step, index }),
                Err(error) => (self.events)(&Event::Warning {
                    message: format!(
                        "could not drop the invalid index {} left by the failed build: {error}",
                        index.name
                    ),
                }),
            }
        }
    }

    /// Whether, as the run begins, no transaction older than `lock_timeout` holds a lock that
    /// conflicts with the blocking locks of any step. Then the steps' first attempts skip their
    /// own check: one query for the whole run instead of one per migration. A transaction that
    /// gets in the way later still costs at most `lock_timeout`, and every retry checks again.
    fn clear_at_start(&mut self, plan: &Plan) -> Result<bool, Error> {
        let mut seen = HashSet::new();
        let locks: Vec<TableLock> = plan
            .steps
            .iter()
            .flat_map(|step| &step.script.statements)
            .flat_map(|statement| &statement.locks)
            .filter(|lock| lock.mode.blocks_reads_or_writes() && seen.insert(*lock))
            .cloned()
            .collect();
        if locks.is_empty() {
            return Ok(true);
        }
        let holders = self
            .driver
            .conflicting_holders(&locks, self.options.lock_policy.lock_timeout)
            .map_err(|error| Error::Driver {
                context: "checking for conflicting locks",
                error,
            })?;
        Ok(holders.is_empty())
    }

    /// Waits while transactions older than `lock_timeout` hold locks that conflict with the
    /// reads-or-writes-blocking `locks` the next attempt needs: queueing behind them would
    /// stall every reader and writer of those tables for as long as they stay open. The wait is
    /// bounded (`preflight_wait`, and the retry budget); then strata tries anyway, with the
    /// short lock timeout.
    fn preflight(
        &mut self,
        step: &Step,
        locks: &[TableLock],
        deadline: Instant,
    ) -> Result<(), Error> {
        let locks: Vec<TableLock> = locks
            .iter()
            .filter(|l| l.mode.blocks_reads_or_writes())
            .cloned()
            .collect();
        if locks.is_empty() {
            return Ok(());
        }
        let policy = self.options.lock_policy.clone();
        let started = Instant::now();
        let until = deadline.min(started + policy.preflight_wait);
        let mut last_report: Option<Instant> = None;
        loop {
            let holders = self
                .driver
                .conflicting_holders(&locks, policy.lock_timeout)
                .map_err(|error| Error::Driver {
                    context: "checking for conflicting locks",
                    error,
                })?;
            if holders.is_empty() || Instant::now() >= until {
                return Ok(());
            }
            if last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
                (self.events)(&Event::PreflightWaiting {
                    step,
                    blockers: &holders,
                    waited: started.elapsed(),
                });
                last_report = Some(Instant::now());
            }
            std::thread::sleep(PREFLIGHT_POLL);
        }
    }

    /// The pause before attempt `attempt + 1`: exponential with jitter, or `None` when the
    /// attempts or the budget are used up.
    fn retry_pause(&self, attempt: u32, deadline: Instant) -> Option<Duration> {
        self.options.lock_policy.retry_pause(attempt, deadline)
    }

    fn announce_retry(&mut self, step: &Step, attempt: u32, pause: Duration, blockers: &[Blocker]) {
        (self.events)(&Event::LockRetry {
            step,
            attempt,
            pause,
            blockers,
        });
        std::thread::sleep(pause);
    }
}

/// How often waiting is reported.
const REPORT_EVERY: Duration = Duration::from_secs(2);
const PREFLIGHT_POLL: Duration = Duration::from_millis(250);

fn check_order(
    statuses: &[MigrationStatus],
    set: &MigrationSet,
    allowed: bool,
) -> Result<(), Error> {
    if allowed {
        return Ok(());
    }
    let Some(newest) = statuses
        .iter()
        .filter(|s| s.history.is_some())
        .max_by_key(|s| s.version)
    else {
        return Ok(());
    };
    match statuses
        .iter()
        .find(|s| s.state == MigrationState::Pending && s.version < newest.version)
    {
        Some(pending) => Err(Error::OutOfOrder {
            pending: pending.version,
            pending_path: set
                .get(pending.version)
                .map(|m| m.up.path.clone())
                .unwrap_or_default(),
            newest_applied: newest.version,
            newest_name: newest.name.clone(),
        }),
        None => Ok(()),
    }
}

fn history_row(
    version: Version,
    name: &str,
    checksum: &Checksum,
    down_checksum: Option<&Checksum>,
    options: &RunOptions,
) -> AppliedMigration {
    AppliedMigration {
        version,
        name: name.to_owned(),
        checksum: checksum.clone(),
        down_checksum: down_checksum.cloned(),
        state: RowState::Applied,
        direction: Direction::Up,
        statement_checksums: Vec::new(),
        statements_done: 0,
        statement_count: 0,
        error: None,
        applied_at: String::new(),
        execution_ms: 0,
        applied_by: options.applied_by.clone(),
    }
}

fn failed(
    step: &Step,
    index: Option<usize>,
    error: DriverError,
    partial: bool,
    attempts: u32,
) -> Error {
    let line = index
        .and_then(|i| step.script.statements.get(i))
        .map_or(1, |statement| match step.script.generated {
            true => statement.line,
            false => statement.line + error_line_offset(&statement.sql, error.position),
        });
    Error::MigrationFailed {
        version: step.version,
        label: step.label.clone(),
        name: step.name.clone(),
        direction: step.direction,
        path: step.script.path.clone(),
        statement: index.map(|i| i + 1),
        line,
        error,
        partial,
        completed: Vec::new(),
        attempts,
    }
}

/// Lines between a statement's start and the character position the database's error points at.
fn error_line_offset(sql: &str, position: Option<u32>) -> u32 {
    let Some(position) = position.and_then(|p| usize::try_from(p).ok()) else {
        return 0;
    };
    count(
        sql.chars()
            .take(position.saturating_sub(1))
            .filter(|&c| c == '\n')
            .count(),
    )
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

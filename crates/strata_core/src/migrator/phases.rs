//! The phases of expand/contract migrations ([`crate::expand`]): `up` runs the expand phase like
//! any migration run statement by statement, with the expansion (and its whole plan) recorded
//! first; `complete` and `abort` run the stored plan's other phases, recording their progress in
//! the expansion, so a phase killed at any point resumes where it stopped.

use std::path::PathBuf;
use std::time::Instant;

use super::{Migrator, count, elapsed_ms, failed};
use crate::checksum::Checksum;
use crate::directive::BackfillOptions;
use crate::error::Error;
use crate::event::Event;
use crate::expand::{ExpandPhase, Expander, Expansion, ExpansionState};
use crate::history::{AppliedMigration, Direction, HistoryChange};
use crate::plan::{Script, Step};
use crate::version::Version;

/// What `complete` or `abort` did.
#[derive(Debug, Clone)]
pub struct PhaseOutcome {
    /// The expansion as it was when the phase ran (it is forgotten now).
    pub expansion: Expansion,
    pub phase: ExpandPhase,
    pub execution_ms: i64,
}

/// The two phases an expand/contract migration runs as, in order, with the SQL strata wrote
/// for them.
#[derive(Debug, Clone)]
pub struct ExpandPhases {
    /// What `strata up` runs.
    pub expand: Script,
    /// What `strata complete` runs afterwards.
    pub complete: Script,
}

impl Migrator<'_> {
    /// The phases `version` runs as when its file is an expand/contract migration on this
    /// database as it is now (the migrations before it applied), or `None` when `strata up`
    /// runs it as written: for the tracer, which runs each phase's statements itself.
    pub fn expand_phases(&mut self, version: Version) -> Result<Option<ExpandPhases>, Error> {
        let migration = self.file(version)?;
        let script = self.prepare(&migration.up)?;
        let expand = self.expand_script(migration, script)?;
        let Some(plan) = &expand.expand else {
            return Ok(None);
        };
        let complete = self.phase_script(&migration.up.path, &plan.complete, &migration.up)?;
        Ok(Some(ExpandPhases { expand, complete }))
    }

    /// Every open expand/contract migration; none where the database cannot expand.
    pub fn expansions(&mut self) -> Result<Vec<Expansion>, Error> {
        match self.driver.expander() {
            Some(expander) => expander.expansions().map_err(|error| Error::Driver {
                context: "reading the expansions table",
                error,
            }),
            None => Ok(Vec::new()),
        }
    }

    /// Drops the old shape of an expanded migration (`version`, or the only open one): validates
    /// its constraints, then swaps its columns and drops its views and triggers in one short
    /// transaction. Run it once no old application version is running.
    pub fn complete(&mut self, version: Option<Version>) -> Result<PhaseOutcome, Error> {
        self.with_lock(|this| {
            let history = this.read_history()?;
            let mut expansion = this.pick_expansion(version, "complete")?;
            let resume_at = match expansion.effective_state(&history) {
                ExpansionState::Expanded => 0,
                ExpansionState::Completing => expansion.statements_done as usize,
                _ => return Err(expansion_open(&expansion, &history, "completing it")),
            };
            expansion.state = ExpansionState::Completing;
            let execution_ms = this.run_phase(&mut expansion, ExpandPhase::Complete, resume_at)?;
            this.forget_expansion(expansion.version)?;
            Ok(PhaseOutcome {
                expansion,
                phase: ExpandPhase::Complete,
                execution_ms,
            })
        })
    }

    /// Undoes the expand of `version` (or of the only open expansion), wherever it stopped, and
    /// makes the migration pending again. The old columns were never changed, and the new
    /// application's writes reached them through the triggers, so no data is lost.
    pub fn abort(&mut self, version: Option<Version>) -> Result<PhaseOutcome, Error> {
        self.with_lock(|this| {
            let history = this.read_history()?;
            let mut expansion = this.pick_expansion(version, "abort")?;
            let resume_at = match expansion.effective_state(&history) {
                ExpansionState::Expanding | ExpansionState::Expanded => 0,
                ExpansionState::Aborting => expansion.statements_done as usize,
                ExpansionState::Completing => {
                    let swap = expansion.plan.complete.len().saturating_sub(1);
                    if expansion.error.is_none() && expansion.statements_done as usize >= swap {
                        return Err(Error::Expansion {
                            message: format!(
                                "the complete phase of {} ({}) was interrupted in its last step, which \
                                 swaps the columns in one transaction, so it may have committed",
                                expansion.label, expansion.name
                            ),
                            hint: "run `strata complete` to finish it (it does nothing twice)".into(),
                        });
                    }
                    0
                }
            };
            expansion.state = ExpansionState::Aborting;
            let execution_ms = this.run_phase(&mut expansion, ExpandPhase::Abort, resume_at)?;
            if history.iter().any(|row| row.version == expansion.version) {
                this.write(&HistoryChange::Delete(expansion.version))?;
            }
            this.forget_expansion(expansion.version)?;
            Ok(PhaseOutcome {
                expansion,
                phase: ExpandPhase::Abort,
                execution_ms,
            })
        })
    }

    /// Runs the expand phase of an expand/contract migration. The expansion, with its whole
    /// plan, is recorded before the first statement, so that `abort` can undo whatever part of
    /// the expand ran, and a resumed expand runs the same SQL.
    pub(super) fn run_expand(&mut self, step: &Step) -> Result<Option<i64>, Error> {
        let plan = step
            .script
            .expand
            .as_ref()
            .expect("an expand step carries its plan");
        let mut expansion = Expansion {
            version: step.version,
            label: step.label.clone(),
            name: step.name.clone(),
            state: ExpansionState::Expanding,
            checksum: step.checksum.as_str().to_owned(),
            plan: plan.clone(),
            statements_done: 0,
            error: None,
            started_at: String::new(),
        };
        self.write_expansion(&expansion)?;
        let outcome = self.run_statement_by_statement(step)?;
        expansion.state = ExpansionState::Expanded;
        self.write_expansion(&expansion)?;
        (self.events)(&Event::Expanded { step, plan });
        if self.options.complete_expansions {
            expansion.state = ExpansionState::Completing;
            self.run_phase(&mut expansion, ExpandPhase::Complete, 0)?;
            self.forget_expansion(expansion.version)?;
        }
        Ok(outcome)
    }

    /// Runs `phase` of the stored plan from statement `resume_at`, recording before each
    /// statement that it started, and the error if one fails.
    fn run_phase(
        &mut self,
        expansion: &mut Expansion,
        phase: ExpandPhase,
        resume_at: usize,
    ) -> Result<i64, Error> {
        let path = self.set.get(expansion.version).map_or_else(
            || PathBuf::from(format!("{}_{}", expansion.label, expansion.name)),
            |migration| migration.up.path.clone(),
        );
        let script = Script::phase(
            &path,
            expansion.plan.phase(phase),
            &BackfillOptions::default(),
            self.splitter,
            self.set.dialect,
        )?;
        let step = Step {
            version: expansion.version,
            label: expansion.label.clone(),
            name: expansion.name.clone(),
            direction: match phase {
                ExpandPhase::Abort => Direction::Down,
                _ => Direction::Up,
            },
            script,
            resume_at,
            resuming: resume_at > 0,
            prologues: Vec::new(),
            checksum: Checksum::from_stored(expansion.checksum.clone()),
            down_checksum: None,
        };
        (self.events)(&Event::PhaseStarted { step: &step, phase });
        let started = Instant::now();
        let deadline = started + self.options.lock_policy.retry_budget;
        for (index, statement) in step.script.statements.iter().enumerate().skip(resume_at) {
            expansion.statements_done = count(index);
            expansion.error = None;
            self.write_expansion(expansion)?;
            (self.events)(&Event::StatementStarted {
                step: &step,
                number: index + 1,
            });
            if let Err((error, attempts)) = self.execute_with_retries(&step, statement, deadline) {
                expansion.error = Some(error.to_string());
                self.write_expansion(expansion)?;
                let failure = failed(&step, Some(index), error, true, attempts);
                return Err(Error::Expansion {
                    message: format!("{} {failure}", phase.as_str()),
                    hint: format!(
                        "the statements before it stay done; fix the cause and run `strata {}` again to resume at \
                         statement {}{}",
                        phase.as_str(),
                        index + 1,
                        match phase {
                            ExpandPhase::Complete => ", or `strata abort` to undo the expand",
                            _ => "",
                        }
                    ),
                });
            }
        }
        expansion.statements_done = count(step.script.statements.len());
        let execution_ms = elapsed_ms(started);
        (self.events)(&Event::PhaseFinished {
            step: &step,
            phase,
            execution_ms,
        });
        Ok(execution_ms)
    }

    /// The open expansion of `version`, or the only open one.
    fn pick_expansion(&mut self, version: Option<Version>, verb: &str) -> Result<Expansion, Error> {
        let mut open = self.expansions()?;
        if let Some(version) = version {
            return open
                .into_iter()
                .find(|e| e.version == version)
                .ok_or_else(|| Error::Expansion {
                    message: format!("{version} is not an open expand/contract migration"),
                    hint: "`strata status` shows the open ones".into(),
                });
        }
        match open.len() {
            0 => Err(Error::Expansion {
                message: format!("there is no expand/contract migration to {verb}"),
                hint: "`strata up` runs the expand phase of such migrations; `strata status` shows their state"
                    .into(),
            }),
            1 => Ok(open.remove(0)),
            _ => Err(Error::Expansion {
                message: format!(
                    "several expand/contract migrations are open: {}",
                    open.iter()
                        .map(|e| format!("{} ({})", e.label, e.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                hint: format!("name one: `strata {verb} <version>`"),
            }),
        }
    }

    fn expander(&mut self) -> Result<&mut dyn Expander, Error> {
        let dialect = self.set.dialect;
        self.driver.expander().ok_or_else(|| Error::Expansion {
            message: format!("a {dialect} database cannot run expand/contract migrations"),
            hint: "expand/contract migrations need PostgreSQL".into(),
        })
    }

    fn write_expansion(&mut self, expansion: &Expansion) -> Result<(), Error> {
        self.expander()?
            .write_expansion(expansion)
            .map_err(|error| Error::Driver {
                context: "writing the expansions table",
                error,
            })
    }

    fn forget_expansion(&mut self, version: Version) -> Result<(), Error> {
        self.expander()?
            .delete_expansion(version)
            .map_err(|error| Error::Driver {
                context: "writing the expansions table",
                error,
            })
    }
}

/// The error for a command that an open expansion stands in the way of.
pub(super) fn expansion_open(
    expansion: &Expansion,
    history: &[AppliedMigration],
    doing: &str,
) -> Error {
    let state = expansion.effective_state(history);
    let hint = match state {
        ExpansionState::Expanding => {
            "run `strata up` to finish its expand phase, or `strata abort` to undo it".to_owned()
        }
        ExpansionState::Expanded => format!(
            "once no old application version is running, run `strata complete` (or `strata abort` to undo the expand) before {doing}"
        ),
        ExpansionState::Completing => "run `strata complete` to finish it".to_owned(),
        ExpansionState::Aborting => "run `strata abort` to finish it".to_owned(),
    };
    Error::Expansion {
        message: format!(
            "expand/contract migration {} ({}) is {}",
            expansion.label,
            expansion.name,
            state.as_str()
        ),
        hint,
    }
}

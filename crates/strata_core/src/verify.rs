//! `verify`: proves on a scratch database that every migration reverses cleanly.
//!
//! For each migration in order: snapshot, up, snapshot, down, compare with the snapshot before
//! the up, up again, compare with the snapshot after the first up. Execution goes through the
//! [`Migrator`], so a migration runs exactly as `strata up` and `strata down` would run it.

use crate::error::Error;
use crate::event::Event;
use crate::migrator::{DownTarget, Migrator, RunOptions};
use crate::schema::{Difference, SchemaDiff, SchemaDriver, SchemaSnapshot, SnapshotOptions};
use crate::source::{Migration, MigrationSet};
use crate::statement::Splitter;
use crate::status::MigrationState;
use crate::version::Version;

/// What `verify` concluded about one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Down restores the schema before the up, and up again gives the same schema.
    Reversible,
    /// `-- strata:irreversible`: not reverted, on purpose.
    DeclaredIrreversible,
    /// No down file, or one with no statements, and not declared irreversible.
    NoDown,
    DownFails,
    /// Down ran, but the schema differs from before the up.
    DownDiffers,
    ReupFails,
    /// Up after down gave another schema than the first up.
    ReupDiffers,
    /// Not checked, because an earlier migration failed.
    NotChecked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reversible => "reversible",
            Verdict::DeclaredIrreversible => "declared-irreversible",
            Verdict::NoDown => "no-down",
            Verdict::DownFails => "down-fails",
            Verdict::DownDiffers => "down-differs",
            Verdict::ReupFails => "reup-fails",
            Verdict::ReupDiffers => "reup-differs",
            Verdict::NotChecked => "not-checked",
        }
    }

    /// Whether the verdict makes `verify` fail.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Verdict::Reversible | Verdict::DeclaredIrreversible | Verdict::NotChecked
        )
    }
}

/// One migration's result.
#[derive(Debug, Clone)]
pub struct Verification {
    pub version: Version,
    pub label: String,
    pub name: String,
    pub verdict: Verdict,
    /// The error (with file and line) of a failed down or re-up, or why it was not checked.
    pub detail: Option<String>,
    /// What differs, object by object.
    pub differences: Vec<Difference>,
    /// Differences that cannot change behaviour (column order, function body formatting).
    pub notes: Vec<Difference>,
}

impl Verification {
    fn new(migration: &Migration, verdict: Verdict) -> Verification {
        Verification {
            version: migration.version,
            label: migration.label.clone(),
            name: migration.name.clone(),
            verdict,
            detail: None,
            differences: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn with_detail(mut self, detail: impl Into<String>) -> Verification {
        self.detail = Some(detail.into());
        self
    }

    fn add(&mut self, diff: SchemaDiff) {
        self.differences.extend(diff.differences);
        self.notes.extend(diff.notes);
    }
}

/// Settings of a `verify` run.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Apply the migrations before this version without checking them.
    pub from: Option<Version>,
    /// After a failure, check later migrations by continuing from the failed one's up state.
    pub keep_going: bool,
    pub run: RunOptions,
}

/// Every checked migration's result; `aborted` is set when an up itself failed (later
/// migrations are then `not-checked`).
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub migrations: Vec<Verification>,
    pub aborted: Option<Error>,
}

impl VerifyReport {
    /// Whether `verify` fails.
    pub fn failed(&self) -> bool {
        self.aborted.is_some() || self.failures() > 0
    }

    /// Migrations with a failing verdict.
    pub fn failures(&self) -> usize {
        self.migrations
            .iter()
            .filter(|m| m.verdict.is_failure())
            .count()
    }
}

/// Runs `verify` on a scratch database that holds no migrations yet.
pub struct Verifier<'a> {
    driver: &'a mut dyn SchemaDriver,
    splitter: &'a dyn Splitter,
    set: &'a MigrationSet,
    options: VerifyOptions,
}

/// After checking a migration: the scratch database is in its up state (with that schema), or
/// in a state later migrations cannot start from (and why).
enum Next {
    Continue(SchemaSnapshot),
    Stop(String),
}

impl<'a> Verifier<'a> {
    pub fn new(
        driver: &'a mut dyn SchemaDriver,
        splitter: &'a dyn Splitter,
        set: &'a MigrationSet,
        options: VerifyOptions,
    ) -> Self {
        Verifier {
            driver,
            splitter,
            set,
            options,
        }
    }

    /// Checks every migration (from `--from` on), reporting each result as soon as it is known.
    pub fn run(&mut self, on_result: &mut dyn FnMut(&Verification)) -> Result<VerifyReport, Error> {
        let set = self.set;
        if let Some(from) = self.options.from {
            if set.get(from).is_none() {
                return Err(Error::UnknownVersion(from.to_string()));
            }
            if let Some(previous) = set.migrations.iter().rev().find(|m| m.version < from) {
                let version = previous.version;
                self.migrate(|migrator| migrator.up(Some(version)))?;
            }
        }
        let mut report = VerifyReport::default();
        let mut before = self.snapshot()?;
        let mut stopped: Option<String> = None;
        let from = self.options.from;
        for migration in set
            .migrations
            .iter()
            .filter(|m| from.is_none_or(|from| m.version >= from))
        {
            let verification = match &stopped {
                Some(reason) => {
                    Verification::new(migration, Verdict::NotChecked).with_detail(reason.clone())
                }
                None => match self.check(migration, &before) {
                    Ok((verification, next)) => {
                        match next {
                            Next::Continue(snapshot) => before = snapshot,
                            Next::Stop(reason) => stopped = Some(reason),
                        }
                        if verification.verdict.is_failure() && !self.options.keep_going {
                            stopped.get_or_insert_with(|| {
                                format!(
                                    "{} ({}) failed; pass --keep-going to check later migrations",
                                    migration.label, migration.name
                                )
                            });
                        }
                        verification
                    }
                    Err(error) => {
                        stopped = Some(format!(
                            "the up of {} ({}) failed",
                            migration.label, migration.name
                        ));
                        report.aborted = Some(error);
                        continue;
                    }
                },
            };
            on_result(&verification);
            report.migrations.push(verification);
        }
        Ok(report)
    }

    /// Up, down, up again on one migration, comparing the schema after each step. An error is
    /// returned only when the first up fails (or the database cannot be read).
    fn check(
        &mut self,
        migration: &Migration,
        before: &SchemaSnapshot,
    ) -> Result<(Verification, Next), Error> {
        let version = migration.version;
        self.migrate(|migrator| migrator.up(Some(version)))?;
        let after_up = self.snapshot()?;
        if migration.is_irreversible() {
            let verification = Verification::new(migration, Verdict::DeclaredIrreversible);
            return Ok((verification, Next::Continue(after_up)));
        }

        let mut verification = match self.migrate(|migrator| migrator.down(DownTarget::Steps(1))) {
            Ok(_) => {
                let diff = self.snapshot()?.diff(before);
                let verdict = if diff.is_equivalent() {
                    Verdict::Reversible
                } else {
                    Verdict::DownDiffers
                };
                let mut verification = Verification::new(migration, verdict);
                verification.add(diff);
                verification
            }
            Err(Error::NotReversible(problems)) => {
                let why: Vec<String> = problems.into_iter().map(|(_, why)| why).collect();
                let verification =
                    Verification::new(migration, Verdict::NoDown).with_detail(why.join("; "));
                return Ok((verification, Next::Continue(after_up)));
            }
            Err(error @ Error::MigrationFailed { .. }) => {
                let verification =
                    Verification::new(migration, Verdict::DownFails).with_detail(error.to_string());
                let next = if self.is_applied(version)? {
                    Next::Continue(after_up)
                } else {
                    Next::Stop(format!(
                        "the failed down of {} ({}) stopped part-way",
                        migration.label, migration.name
                    ))
                };
                return Ok((verification, next));
            }
            Err(error) => return Err(error),
        };

        match self.migrate(|migrator| migrator.up(Some(version))) {
            Ok(_) => {}
            Err(error @ Error::MigrationFailed { .. }) => {
                let detail = error.to_string();
                if verification.verdict == Verdict::Reversible {
                    verification.verdict = Verdict::ReupFails;
                    verification.detail = Some(detail.clone());
                }
                let reason = format!(
                    "the up after the down of {} ({}) failed: {detail}",
                    migration.label, migration.name
                );
                return Ok((verification, Next::Stop(reason)));
            }
            Err(error) => return Err(error),
        }
        let after_reup = self.snapshot()?;
        let diff = after_reup.diff(&after_up);
        if verification.verdict == Verdict::Reversible && !diff.is_equivalent() {
            verification.verdict = Verdict::ReupDiffers;
        }
        if verification.verdict != Verdict::DownDiffers {
            verification.add(diff);
        }
        Ok((verification, Next::Continue(after_reup)))
    }

    fn is_applied(&mut self, version: Version) -> Result<bool, Error> {
        let statuses = self.migrate(|migrator| migrator.status())?;
        Ok(statuses
            .iter()
            .any(|s| s.version == version && s.state == MigrationState::Applied))
    }

    fn snapshot(&mut self) -> Result<SchemaSnapshot, Error> {
        self.driver
            .snapshot(&SnapshotOptions::default())
            .map_err(|error| Error::Driver {
                context: "reading the schema",
                error,
            })
    }

    /// Runs one command of the runner on the scratch database (its events are not shown: the
    /// verdicts say what happened).
    fn migrate<T>(
        &mut self,
        work: impl FnOnce(&mut Migrator) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut quiet = |_: &Event| {};
        let mut migrator = Migrator::new(
            &mut *self.driver,
            self.splitter,
            self.set,
            self.options.run.clone(),
            &mut quiet,
        );
        work(&mut migrator)
    }
}

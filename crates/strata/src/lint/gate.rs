//! The lint gate of `strata up`: pending migrations are linted before anything runs, and an
//! error-level finding stops the run unless `--allow-unsafe` overrides it.
//!
//! On PostgreSQL the gate always reads the live catalog: locking findings on tables below
//! `small_table_rows` drop to `info`, and so do findings about tables created earlier in the same
//! run (nothing can be using a table that did not exist when the run began).

use std::process::ExitCode;

use serde_json::{Value, json};
use strata_core::{
    AppliedMigration, Dialect, ExpandPlanError, ExpandRequest, MigrationSet, MigrationState,
    PlannedOperation, Version, compute_status,
};
use strata_lint::{Diagnostic, Severity, Summary, lint_run, report};

use super::{ByHistory, event_json, read_server, resolve_mysql_version, with_diagnostics};
use crate::args::Format;
use crate::commands::Context;
use crate::database::Database;
use crate::error::CliError;

/// What the gate found, kept to be reported with the run's result.
pub(crate) struct LintGate {
    diagnostics: Vec<Diagnostic>,
    errors: usize,
}

/// How `up` uses the gate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GateMode {
    /// `--dry-run`: report what would stop the run, stop nothing.
    pub(crate) dry_run: bool,
    /// `--allow-unsafe`: run despite error-level findings, saying so.
    pub(crate) allow_unsafe: bool,
}

impl LintGate {
    /// Lints what `up` to `target` would run, given the `history` read just before. Prints the
    /// findings (human: stderr); returns an error (exit 1, nothing applied) when one is an error
    /// and neither mode lets it through.
    pub(crate) fn check(
        context: &Context,
        database: &mut Database,
        set: &MigrationSet,
        history: &[AppliedMigration],
        target: Option<Version>,
        mode: GateMode,
    ) -> Result<LintGate, CliError> {
        let ByHistory { applied, pending } = ByHistory::new(set, history, target);
        if pending.is_empty() {
            // Nothing will run: no catalog to read, nothing to parse (a no-op `up` stays fast).
            return Ok(LintGate {
                diagnostics: Vec::new(),
                errors: 0,
            });
        }
        let config_file = context.settings.config_file.as_deref();
        let mut settings = context.settings.lint.to_settings(config_file)?;
        if set.dialect == Dialect::MySql && !context.settings.lint.sets_mysql_version() {
            let url = &context.settings.database_url;
            resolve_mysql_version(&mut settings, Some(database), url)?;
        }
        let diagnostics = match database.driver.catalog_reader() {
            Some(reader) => {
                let version_given = context.settings.lint.pg_version().is_some();
                let catalog = read_server(reader, &mut settings, version_given, true)?;
                lint_run(&[], &pending, &settings, catalog.as_ref())
            }
            None => lint_run(&applied, &pending, &settings, None),
        };
        let mut diagnostics = diagnostics;
        lower_expanded(database, set, history, &mut diagnostics)?;
        let gate = LintGate {
            errors: Summary::of(&diagnostics).errors,
            diagnostics,
        };
        gate.print(context.format);
        if gate.errors == 0 {
            return Ok(gate);
        }
        if mode.dry_run {
            if context.format != Format::Json {
                eprintln!(
                    "note: `strata up` would stop here: {}; --dry-run changes nothing",
                    gate.errors_found()
                );
            }
            return Ok(gate);
        }
        if mode.allow_unsafe {
            gate.announce_override(context.format);
            return Ok(gate);
        }
        Err(gate.stop())
    }

    /// `--format json`: the run's document with the findings added.
    pub(crate) fn annotate(&self, document: Value) -> Value {
        with_diagnostics(document, &self.diagnostics)
    }

    /// `up --dry-run` exits 1 when the real run would be stopped by the linter.
    pub(crate) fn dry_run_exit_code(&self) -> ExitCode {
        if self.errors == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn print(&self, format: Format) {
        let shown = self.diagnostics.iter().any(|d| d.severity > Severity::Info);
        if format != Format::Json && shown {
            eprint!("{}", report::render_human(&self.diagnostics, false));
        }
    }

    fn announce_override(&self, format: Format) {
        let errors: Vec<&Diagnostic> = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if format == Format::Json {
            let let_through: Vec<Diagnostic> = errors.into_iter().cloned().collect();
            eprintln!("{}", event_json("lint_overridden", &let_through));
            return;
        }
        eprintln!(
            "warning: --allow-unsafe: running despite {} lint error{}:",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        for diagnostic in errors {
            eprintln!(
                "  {} at {}:{}",
                diagnostic.rule, diagnostic.file, diagnostic.line
            );
        }
    }

    fn errors_found(&self) -> String {
        let plural = if self.errors == 1 { "" } else { "s" };
        format!(
            "lint found {} error{plural} in the pending migrations",
            self.errors
        )
    }

    fn stop(&self) -> CliError {
        CliError::failed(format!("{}; nothing was applied", self.errors_found()))
            .with_hint(
                "fix the migration, or allow the finding with `-- strata:allow <rule-id> <reason>` \
             above the statement, or set the rule's severity in strata.toml [lint.rules]; \
             `strata up --allow-unsafe` runs anyway",
            )
            .with_document(self.annotate(json!({"migrations": []})))
    }
}

/// Whether a file without `-- strata:expand` could be an expand/contract migration at all: every
/// operation is an `ALTER TABLE`. Spares splitting every file of a long run a second time.
fn may_expand(sql: &str) -> bool {
    sql.as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"ALTER"))
}

/// Findings on statements that `up` runs as expand/contract operations drop to `info`: the
/// operation is the safe, two-phase form of what the rule warns about. The operations come from
/// the plan `up` will make (or, for an expand that stopped part-way, the stored one).
fn lower_expanded(
    database: &mut Database,
    set: &MigrationSet,
    history: &[AppliedMigration],
    diagnostics: &mut [Diagnostic],
) -> Result<(), CliError> {
    let Database {
        driver, splitter, ..
    } = database;
    let Some(expander) = driver.expander() else {
        return Ok(());
    };
    let failed = |context: &'static str| {
        move |error| CliError::from(strata_core::Error::Driver { context, error })
    };
    let open = expander
        .expansions()
        .map_err(failed("reading the expansions table"))?;
    let mut operations: Vec<(String, PlannedOperation)> = Vec::new();
    for status in compute_status(set, history) {
        let Some(migration) = set.get(status.version) else {
            continue;
        };
        let path = migration.up.path.display().to_string();
        if let Some(expansion) = open.iter().find(|e| e.version == status.version) {
            operations.extend(
                expansion
                    .plan
                    .operations
                    .iter()
                    .map(|op| (path.clone(), op.clone())),
            );
            continue;
        }
        let directive = migration.up.directives.expand.as_ref();
        if status.state != MigrationState::Pending
            || directive.is_some_and(|d| !d.enabled)
            || (directive.is_none() && !may_expand(&migration.up.sql))
        {
            continue;
        }
        let Ok(statements) = splitter.split(&migration.up.sql) else {
            continue;
        };
        let request = ExpandRequest {
            version: migration.version,
            label: &migration.label,
            name: &migration.name,
            path: &migration.up.path,
            sql: &migration.up.sql,
            statements: &statements,
            forced: directive.is_some(),
        };
        match expander.plan_expand(&request) {
            Ok(Some(plan)) => {
                operations.extend(plan.operations.into_iter().map(|op| (path.clone(), op)));
            }
            // Asked for and impossible: that, not the findings, is what the author must fix.
            Err(ExpandPlanError::Refused {
                line,
                message,
                hint,
            }) if request.forced => {
                return Err(CliError::from(strata_core::Error::Script {
                    path: migration.up.path.clone(),
                    line,
                    message,
                    hint,
                }));
            }
            // Otherwise `up` says why it runs the file as written, and the findings stand.
            _ => {}
        }
    }
    for diagnostic in diagnostics.iter_mut() {
        let Some((_, operation)) = operations.iter().find(|(path, op)| {
            *path == diagnostic.file
                && op.line == diagnostic.line
                && op.rules.iter().any(|rule| rule == diagnostic.rule)
        }) else {
            continue;
        };
        diagnostic.severity = Severity::Info;
        diagnostic.note = Some(format!(
            "runs as expand/contract: {}; `strata complete` finishes it",
            operation.summary
        ));
    }
    Ok(())
}

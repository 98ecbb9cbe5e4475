//! Runs the rules over migrations: parse, walk statements while updating the schema model, then turn
//! findings into diagnostics (configuration, suppressions, catalog-based lowering, `unused-allow`).

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use strata_core::LineIndex;
use strata_core::directive::comment_body;
use strata_core::lexer::{Token, TokenKind, tokenize};

use crate::allow::{AllowComment, AllowScope, allow_comments};
use crate::facts::LockModeFacts;
use crate::input::{Catalog, Dialect, Migration, ObjectName, Settings, TransactionMode};
use crate::ir::{StatementKind, TransactionCommand};
use crate::parse::{self, ParsedStatement};
use crate::registry::{self, Rule};
use crate::report::{Diagnostic, Severity};
use crate::rules::common::{alter_of_existing_table, table_effects};
use crate::rules::{
    Check, FileState, Finding, LocatedStatement, Lowering, MigrationContext, MigrationFacts,
    StatementContext, syntax_error, unused_allow,
};
use crate::schema::Schema;

/// Lints migrations in version order; each one sees what the earlier ones created.
///
/// `catalog` (the live database, when the caller read it) seeds the schema model and gives table sizes for
/// lowering locking findings on small tables.
pub fn lint_directory(
    migrations: &[Migration],
    settings: &Settings,
    catalog: Option<&Catalog>,
) -> Vec<Diagnostic> {
    let mut linter = Linter::new(
        settings,
        catalog,
        migrations.first().map_or(Dialect::Postgres, |m| m.dialect),
    );
    migrations
        .iter()
        .flat_map(|migration| linter.lint(migration))
        .collect()
}

/// Lints one migration with the migrations before it (`earlier`, in version order) as context; only the
/// findings of `migration` are returned.
pub fn lint_one(
    migration: &Migration,
    earlier: &[Migration],
    settings: &Settings,
    catalog: Option<&Catalog>,
) -> Vec<Diagnostic> {
    let mut linter = Linter::new(settings, catalog, migration.dialect);
    for context in earlier {
        linter.lint(context);
    }
    linter.lint(migration)
}

/// Lints the pending migrations of an `up` run, in version order.
///
/// `applied` are replayed first as context (pass none when `catalog` is the live database, which already
/// holds what they created). Each pending migration sees what the earlier ones create, and findings about
/// tables created earlier in the run drop to `info`: nothing can be using a table that did not exist when the
/// run began, so setting up a fresh database from hundreds of migrations is not blocked by its history.
pub fn lint_run(
    applied: &[Migration],
    pending: &[Migration],
    settings: &Settings,
    catalog: Option<&Catalog>,
) -> Vec<Diagnostic> {
    let dialect = pending.first().map_or(Dialect::Postgres, |m| m.dialect);
    let mut linter = Linter::new(settings, catalog, dialect);
    for context in applied {
        linter.lint(context);
    }
    pending
        .iter()
        .flat_map(|migration| {
            let diagnostics = linter.lint(migration);
            linter
                .created_in_run
                .extend(linter.created_by_last.drain(..));
            diagnostics
        })
        .collect()
}

/// A finding made by running a migration (`strata trace`) rather than by reading it.
#[derive(Debug, Clone)]
pub struct TracedFinding {
    /// The registry's rule: a trace-only one, or the static rule the traced fact confirms.
    pub rule: &'static Rule,
    /// Index into the statement ranges given to [`diagnose_traced`].
    pub statement: usize,
    pub message: String,
    /// Replaces the rule's help when set.
    pub help: Option<String>,
    /// Why the finding drops to `info` (e.g. its table was created earlier in the traced run).
    pub lowered_because: Option<String>,
}

/// Turns traced findings into diagnostics exactly as the linter's own: located at their statement
/// (`statements` are the byte ranges of the migration's statements, in file order), suppressed by
/// `-- strata:allow` comments, with configured severities. Unused allows are the static linter's
/// business, so none are reported here.
pub fn diagnose_traced(
    migration: &Migration,
    statements: &[Range<usize>],
    findings: Vec<TracedFinding>,
    settings: &Settings,
) -> Vec<Diagnostic> {
    let sql = migration.sql.as_str();
    let lines = LineIndex::new(sql);
    let tokens = tokenize(sql, migration.dialect);
    let file = FileSource {
        migration,
        lines: &lines,
        tokens: &tokens,
    };
    let mut cursor = 0;
    let mut previous_end = 0;
    let comments_before: Vec<Vec<Range<usize>>> = statements
        .iter()
        .map(|range| {
            let comments = file.comments_directly_before(&mut cursor, previous_end, range.start);
            previous_end = range.end;
            comments
        })
        .collect();
    let raw = findings
        .into_iter()
        .map(|traced| RawFinding {
            rule: traced.rule,
            finding: Finding {
                message: traced.message,
                help: traced.help,
                table: None,
                severity: None,
                statement: Some(traced.statement),
            },
            statement: Some(traced.statement),
            lowered_because: traced.lowered_because,
        })
        .collect();
    file.diagnostics(raw, statements, &comments_before, settings, false)
}

struct Linter<'a> {
    settings: &'a Settings,
    schema: Schema,
    /// Tables created by earlier migrations of the `up` run being linted (see [`lint_run`]).
    created_in_run: BTreeSet<ObjectName>,
    /// Tables the migration linted last created (and did not drop or rename away).
    created_by_last: Vec<ObjectName>,
}

/// A finding with everything the engine needs to turn it into a diagnostic.
struct RawFinding {
    rule: &'static Rule,
    finding: Finding,
    /// Index into the located statements, or `None` for the file as a whole.
    statement: Option<usize>,
    lowered_because: Option<String>,
}

impl<'a> Linter<'a> {
    fn new(settings: &'a Settings, catalog: Option<&Catalog>, dialect: Dialect) -> Self {
        Linter {
            settings,
            schema: catalog
                .map(|c| Schema::from_catalog(c, dialect))
                .unwrap_or_default(),
            created_in_run: BTreeSet::new(),
            created_by_last: Vec::new(),
        }
    }

    fn lint(&mut self, migration: &Migration) -> Vec<Diagnostic> {
        let sql = migration.sql.as_str();
        let lines = LineIndex::new(sql);
        let tokens = tokenize(sql, migration.dialect);
        let parsed = match parse::parse(sql, &tokens, migration.dialect) {
            Ok(parsed) => parsed,
            Err(error) => {
                return vec![syntax_error::diagnostic(
                    migration,
                    &lines,
                    &error,
                    self.settings,
                )];
            }
        };
        let file = FileSource {
            migration,
            lines: &lines,
            tokens: &tokens,
        };
        let Flattened {
            statements,
            ranges,
            comments_before: allows_before,
        } = file.flatten(parsed);
        let facts = migration_facts(migration, &statements);

        let mut raw = Vec::new();
        let mut state = FileState::default();
        let rules = active_rules(migration.dialect, self.settings);
        let mut buffer = Vec::new();
        for (index, located) in statements.iter().enumerate() {
            let cx = StatementContext {
                statement: &located.statement,
                schema: &self.schema,
                file: &state,
                migration: &facts,
                settings: self.settings,
                backfill: located.backfill,
                existing_alter: alter_of_existing_table(&located.statement, &state),
            };
            for rule in &rules {
                let Check::Statement(check) = rule.check else {
                    continue;
                };
                check(&cx, &mut buffer);
                for finding in buffer.drain(..) {
                    let lowered_because = self.lowering_reason(rule, &finding);
                    raw.push(RawFinding {
                        rule,
                        finding,
                        statement: Some(index),
                        lowered_because,
                    });
                }
            }
            let line = lines.line(ranges[index].start);
            update_file_state(
                &mut state,
                &located.statement,
                &self.schema,
                &facts,
                self.settings,
                line,
            );
            self.schema.apply(&located.statement);
        }
        self.created_by_last = state.created_tables.iter().cloned().collect();
        let migration_cx = MigrationContext {
            statements: &statements,
            migration: &facts,
            created_tables: &state.created_tables,
        };
        for rule in &rules {
            let Check::Migration(check) = rule.check else {
                continue;
            };
            check(&migration_cx, &mut buffer);
            for finding in buffer.drain(..) {
                let lowered_because = self.lowering_reason(rule, &finding);
                let statement = finding.statement;
                raw.push(RawFinding {
                    rule,
                    finding,
                    statement,
                    lowered_because,
                });
            }
        }
        file.diagnostics(raw, &ranges, &allows_before, self.settings, true)
    }

    /// Why catalog facts lower a finding to `info`, if they do.
    fn lowering_reason(&self, rule: &Rule, finding: &Finding) -> Option<String> {
        let table = finding.table.as_ref()?;
        let rows = self.schema.table(table).and_then(|t| t.estimated_rows);
        let created_in_run = || {
            self.created_in_run
                .contains(table)
                .then(|| format!("`{table}` was created earlier in this run"))
        };
        match rule.lowering {
            Lowering::Never => None,
            Lowering::KnownEmpty => {
                (rows == Some(0.0)).then(|| format!("`{table}` is empty according to the catalog"))
            }
            Lowering::CreatedInRun => created_in_run(),
            Lowering::SmallTable => created_in_run().or_else(|| {
                #[allow(
                    clippy::cast_precision_loss,
                    reason = "row estimates are approximate anyway"
                )]
                let limit = self.settings.small_table_rows as f64;
                rows.filter(|&rows| rows < limit).map(|rows| {
                    format!(
                        "`{table}` has about {rows:.0} rows, below small_table_rows ({})",
                        self.settings.small_table_rows
                    )
                })
            }),
        }
    }
}

/// Rules that run on this dialect and server version, whatever their configured severity (a disabled rule
/// still runs so that an allow comment naming it is not reported as unused).
fn active_rules(dialect: Dialect, settings: &Settings) -> Vec<&'static Rule> {
    registry::RULES
        .iter()
        .copied()
        .filter(|rule| rule.dialects.contains(&dialect) && !rule.trace_only)
        .filter(|rule| {
            dialect != Dialect::Postgres
                || rule
                    .since_postgres
                    .is_none_or(|v| settings.postgres_version >= v)
        })
        .collect()
}

fn migration_facts(migration: &Migration, statements: &[LocatedStatement]) -> MigrationFacts {
    let top_level: Vec<&LocatedStatement> = statements.iter().filter(|s| !s.in_do_block).collect();
    let is_tx = |s: &LocatedStatement, command| matches!(s.statement.kind, StatementKind::Transaction(c) if c == command);
    let wrapped_in_begin_commit = top_level.len() >= 2
        && is_tx(top_level[0], TransactionCommand::Begin)
        && top_level
            .last()
            .is_some_and(|s| is_tx(s, TransactionCommand::Commit))
        && top_level[1..top_level.len() - 1]
            .iter()
            .all(|s| !matches!(s.statement.kind, StatementKind::Transaction(_)));
    let directives = migration.directives.clone();
    let in_transaction = match migration.transaction {
        TransactionMode::InTransaction => true,
        TransactionMode::OutsideTransaction => false,
        TransactionMode::Decide => directives.transaction.unwrap_or_else(|| {
            !statements
                .iter()
                .any(|s| s.statement.cannot_run_in_transaction())
        }),
    };
    MigrationFacts {
        dialect: migration.dialect,
        in_transaction,
        has_down: migration.has_down,
        directives,
        wrapped_in_begin_commit,
    }
}

fn update_file_state(
    state: &mut FileState,
    statement: &crate::ir::Statement,
    schema: &Schema,
    facts: &MigrationFacts,
    settings: &Settings,
    line: u32,
) {
    if facts.in_transaction && state.access_exclusive.is_none() {
        let locked = table_effects(statement, schema, settings.postgres_version)
            .into_iter()
            .find(|e| e.lock.blocks_reads() && !state.created_tables.contains(&e.table));
        state.access_exclusive = locked.map(|e| (e.table, line));
    }
    match &statement.kind {
        StatementKind::CreateTable(create) => {
            state.created_tables.insert(create.name.clone());
        }
        StatementKind::RenameTable { table, new_name } if state.created_tables.remove(table) => {
            state.created_tables.insert(ObjectName {
                schema: table.schema.clone(),
                name: new_name.clone(),
            });
        }
        StatementKind::AddEnumValue { type_name, value } => state
            .added_enum_values
            .push((type_name.clone(), value.clone())),
        StatementKind::CreateEnum { name, .. } => {
            state.created_types.insert(name.clone());
        }
        StatementKind::Transaction(TransactionCommand::Begin) => {
            state.in_explicit_transaction = true
        }
        StatementKind::Transaction(TransactionCommand::Commit | TransactionCommand::Rollback) => {
            state.in_explicit_transaction = false;
        }
        StatementKind::AlterTable(alter) => {
            for action in &alter.actions {
                if let crate::ir::AlterAction::AddConstraint(crate::ir::TableConstraint {
                    name: Some(name),
                    ..
                }) = action
                {
                    state
                        .added_constraints
                        .insert((alter.table.clone(), name.clone()));
                }
            }
        }
        _ => {}
    }
}

/// A file's statements with `DO` blocks flattened, each with its byte range and the comment block
/// directly above it (parallel vectors, indexed like the statements).
struct Flattened {
    statements: Vec<LocatedStatement>,
    ranges: Vec<Range<usize>>,
    comments_before: Vec<Vec<Range<usize>>>,
}

/// One file's text and tokens, for locating statements and reading the comments around them.
struct FileSource<'a> {
    migration: &'a Migration,
    lines: &'a LineIndex,
    tokens: &'a [Token],
}

impl FileSource<'_> {
    /// Flattens `DO` blocks (their statements follow the block, located at it) and finds, for each statement,
    /// the comment block directly above it.
    fn flatten(&self, parsed: Vec<ParsedStatement>) -> Flattened {
        let file_backfill = self.migration.directives.backfill.is_some();
        let mut statements = Vec::with_capacity(parsed.len());
        let mut ranges = Vec::with_capacity(parsed.len());
        let mut comments_before = Vec::with_capacity(parsed.len());
        let mut token_cursor = 0;
        let mut previous_end = 0;
        for ParsedStatement { range, statement } in parsed {
            let comments =
                self.comments_directly_before(&mut token_cursor, previous_end, range.start);
            previous_end = range.end;
            let backfill = file_backfill
                || comments.iter().any(|c| {
                    comment_body(&self.migration.sql[c.clone()]).starts_with("strata:backfill")
                });
            let body = match &statement.kind {
                StatementKind::Do { body, .. } => body.clone(),
                _ => Vec::new(),
            };
            statements.push(LocatedStatement {
                statement,
                in_do_block: false,
                backfill,
            });
            ranges.push(range.clone());
            comments_before.push(comments.clone());
            for inner in body {
                statements.push(LocatedStatement {
                    statement: inner,
                    in_do_block: true,
                    backfill,
                });
                ranges.push(range.clone());
                comments_before.push(comments.clone());
            }
        }
        Flattened {
            statements,
            ranges,
            comments_before,
        }
    }

    /// Comments between `from` and `statement_start` that form an unbroken block (no blank line) ending on the
    /// line above the statement, or on its own line.
    fn comments_directly_before(
        &self,
        cursor: &mut usize,
        from: usize,
        statement_start: usize,
    ) -> Vec<Range<usize>> {
        let mut between = Vec::new();
        while let Some(token) = self.tokens.get(*cursor) {
            if token.start >= statement_start {
                break;
            }
            if token.kind == TokenKind::Comment && token.start >= from {
                between.push(token.start..token.end);
            }
            *cursor += 1;
        }
        let mut expected_line = self.lines.line(statement_start);
        let mut block = Vec::new();
        for comment in between.into_iter().rev() {
            let end_line = self
                .lines
                .line(comment.end.saturating_sub(1).max(comment.start));
            if end_line + 1 < expected_line {
                break;
            }
            expected_line = self.lines.line(comment.start);
            block.push(comment);
        }
        block
    }

    fn diagnostics(
        &self,
        raw: Vec<RawFinding>,
        ranges: &[Range<usize>],
        comments_before: &[Vec<Range<usize>>],
        settings: &Settings,
        report_unused_allows: bool,
    ) -> Vec<Diagnostic> {
        let sql = self.migration.sql.as_str();
        let comments = allow_comments(sql, self.tokens);
        let mut allows = Allows::new(&comments);
        let expanded = self.migration.dialect == Dialect::Postgres
            && self
                .migration
                .directives
                .expand
                .as_ref()
                .is_some_and(|d| d.enabled);
        let mut diagnostics = Vec::with_capacity(raw.len());
        for RawFinding {
            rule,
            finding,
            statement,
            lowered_because,
        } in raw
        {
            let before = statement.map_or(&[][..], |i| comments_before[i].as_slice());
            if allows.suppress(rule.id, before) {
                continue;
            }
            let Some(configured) = settings.severity_of(rule) else {
                continue;
            };
            let mut severity = finding.severity.unwrap_or(configured);
            let mut note = None;
            let lowered_because = lowered_because.or_else(|| {
                (expanded && strata_core::expand::EXPAND_RULES.contains(&rule.id)).then(|| {
                    "`-- strata:expand` runs it as an expand/contract operation, and \
                     `strata complete` finishes it"
                        .to_owned()
                })
            });
            if let Some(reason) = lowered_because.filter(|_| severity > Severity::Info) {
                note = Some(format!("lowered from {severity}: {reason}"));
                severity = Severity::Info;
            }
            let range = statement.map_or(0..0, |i| ranges[i].clone());
            diagnostics.push(self.diagnostic(
                rule,
                severity,
                range,
                finding.message,
                finding.help.unwrap_or_else(|| rule.help.to_owned()),
                note,
            ));
        }
        if report_unused_allows {
            self.unused_allows(&allows, settings, &mut diagnostics);
        }
        diagnostics.sort_by_key(|d| (d.line, d.column));
        diagnostics
    }

    fn diagnostic(
        &self,
        rule: &'static Rule,
        severity: Severity,
        range: Range<usize>,
        message: String,
        help: String,
        note: Option<String>,
    ) -> Diagnostic {
        let sql = self.migration.sql.as_str();
        let (line, column) = self.lines.line_char_col(sql, range.start);
        Diagnostic {
            rule: rule.id,
            severity,
            file: self.migration.path.clone(),
            line,
            column,
            statement: sql[range.clone()].to_owned(),
            message,
            help,
            note,
            source_line: self.lines.line_text(sql, range.start).to_owned(),
        }
    }

    fn unused_allows(&self, allows: &Allows<'_>, settings: &Settings, out: &mut Vec<Diagnostic>) {
        let rule = &unused_allow::RULE;
        let Some(severity) = settings.severity_of(rule) else {
            return;
        };
        for (allow, used) in allows.comments.iter().zip(&allows.used) {
            for (id, was_used) in allow.ids.iter().zip(used) {
                let message = match registry::find(id) {
                    None => format!("`{id}` is not a lint rule"),
                    // Only `strata trace` can use an allow of a trace-only rule.
                    Some(rule) if !was_used && !rule.trace_only => {
                        format!("`{id}` is allowed here but reported nothing")
                    }
                    Some(_) => continue,
                };
                out.push(self.diagnostic(
                    rule,
                    severity,
                    allow.range.clone(),
                    message,
                    rule.help.to_owned(),
                    None,
                ));
            }
        }
    }
}

/// The allow comments of a file, indexed so that each finding is checked in constant time.
struct Allows<'a> {
    comments: &'a [AllowComment],
    /// Allow comment index by the comment's start offset (statement-scoped ones).
    by_start: HashMap<usize, usize>,
    file_wide: Vec<usize>,
    used: Vec<Vec<bool>>,
}

impl<'a> Allows<'a> {
    fn new(comments: &'a [AllowComment]) -> Self {
        let mut by_start = HashMap::new();
        let mut file_wide = Vec::new();
        for (index, allow) in comments.iter().enumerate() {
            match allow.scope {
                AllowScope::File => file_wide.push(index),
                AllowScope::Statement => {
                    by_start.insert(allow.range.start, index);
                }
            }
        }
        let used = comments.iter().map(|a| vec![false; a.ids.len()]).collect();
        Allows {
            comments,
            by_start,
            file_wide,
            used,
        }
    }

    /// Whether an allow comment directly before the statement, or a file-wide one, covers `rule_id`; marks
    /// the matching ids used.
    fn suppress(&mut self, rule_id: &str, comments_before: &[Range<usize>]) -> bool {
        let statement_allows = comments_before
            .iter()
            .filter_map(|c| self.by_start.get(&c.start).copied());
        let candidates: Vec<usize> = statement_allows
            .chain(self.file_wide.iter().copied())
            .collect();
        let mut suppressed = false;
        for index in candidates {
            for (id, used) in self.comments[index]
                .ids
                .iter()
                .zip(self.used[index].iter_mut())
            {
                if id == rule_id {
                    *used = true;
                    suppressed = true;
                }
            }
        }
        suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::RuleSetting;

    fn traced(rule_id: &str, statement: usize) -> TracedFinding {
        TracedFinding {
            rule: registry::find(rule_id).unwrap(),
            statement,
            message: format!("traced {rule_id}"),
            help: None,
            lowered_because: None,
        }
    }

    const SQL: &str = "CREATE INDEX a ON t (x);\n-- strata:allow table-rewrite measured: 20 rows\nALTER TABLE t ADD COLUMN y timestamptz DEFAULT clock_timestamp();\n";

    fn ranges() -> Vec<Range<usize>> {
        let second = SQL.find("ALTER").unwrap();
        vec![0..23, second..SQL.len() - 2]
    }

    #[test]
    fn traced_findings_are_located_allowed_and_configured_like_lint_findings() {
        let migration = Migration::new("1_x.up.sql", SQL, Dialect::Postgres);
        let findings = vec![
            traced("index-not-concurrent", 0),
            traced("table-rewrite", 1),
        ];
        let diagnostics = diagnose_traced(
            &migration,
            &ranges(),
            findings.clone(),
            &Settings::default(),
        );
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        assert_eq!(diagnostics[0].rule, "index-not-concurrent");
        assert_eq!(
            (diagnostics[0].line, diagnostics[0].severity),
            (1, Severity::Error)
        );

        let mut settings = Settings::default();
        settings
            .configure(
                "index-not-concurrent",
                RuleSetting::Severity(Severity::Warning),
            )
            .unwrap();
        let diagnostics = diagnose_traced(&migration, &ranges(), findings, &settings);
        assert_eq!(diagnostics[0].severity, Severity::Warning);
    }

    #[test]
    fn expand_files_lower_what_their_operations_make_safe() {
        let sql = "ALTER TABLE users RENAME COLUMN name TO full_name;\nTRUNCATE users;\n";
        let rules_and_severities = |sql: &str| -> Vec<(&'static str, Severity)> {
            let migration = Migration::new("2_x.up.sql", sql, Dialect::Postgres);
            lint_one(&migration, &[], &Settings::default(), None)
                .into_iter()
                .filter(|d| d.rule != "missing-down")
                .map(|d| (d.rule, d.severity))
                .collect()
        };
        let plain = rules_and_severities(sql);
        assert!(
            plain.contains(&("rename-column", Severity::Error)),
            "{plain:?}"
        );
        let expanded = rules_and_severities(&format!("-- strata:expand\n{sql}"));
        assert!(
            expanded.contains(&("rename-column", Severity::Info)),
            "{expanded:?}"
        );
        // Statements an operation does not cover keep their findings (`up` refuses them).
        assert!(
            expanded.contains(&("truncate", Severity::Error)),
            "{expanded:?}"
        );
    }

    #[test]
    fn a_lowered_traced_finding_becomes_info_with_its_reason() {
        let migration = Migration::new("1_x.up.sql", SQL, Dialect::Postgres);
        let mut finding = traced("index-not-concurrent", 0);
        finding.lowered_because = Some("`t` was created earlier in this trace".into());
        let diagnostics =
            diagnose_traced(&migration, &ranges(), vec![finding], &Settings::default());
        assert_eq!(diagnostics[0].severity, Severity::Info);
        assert!(
            diagnostics[0]
                .note
                .as_deref()
                .unwrap()
                .contains("earlier in this trace")
        );
    }
}

//! Expand/contract migrations on PostgreSQL ([`strata_core::expand`]): the statements of a file
//! are read as operations ([`request`]), checked against the live tables ([`table`]), and each
//! operation ([`operations`]) says what it adds to the three phases. This module assembles them
//! into the plan: every statement it writes is safe to run again (guarded by catalog checks, or
//! one atomic `DO` block), so a phase killed anywhere resumes by re-running where it stopped.
//!
//! During the window between expand and complete:
//! - the old application uses the tables as before (old columns, old names, old types);
//! - the new application sets `search_path = <schema>_<version>, <schema>`, where views show
//!   the tables in their new shape (renamed columns, new types, dropped columns left out); the
//!   views are simple, so PostgreSQL writes through them;
//! - a `BEFORE INSERT OR UPDATE` trigger per table keeps each shadow column and its old column in
//!   step: a session whose `search_path` starts with the version schema writes the new column,
//!   so the old one is computed from it, and every other session the other way round.

mod operations;
mod request;
mod shadow;
mod store;
mod table;

use std::collections::BTreeMap;

use strata_core::expand::backfill_name;
use strata_core::{
    DriverError, ExpandPlan, ExpandPlanError, ExpandRequest, Expander, Expansion, PhaseStatement,
    PlannedOperation, Statement, Version,
};
use tokio_postgres::Client;

use crate::driver::PgDriver;
use crate::errors::{quote_ident, sql_literal};
use operations::{Operation, ViewChange};
use request::{Request, TableRef};
use shadow::identifier;
use table::Table;

/// Why an operation cannot run in two phases, with what to do instead.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    message: String,
    hint: String,
}

impl Refusal {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal {
            message: message.into(),
            hint: hint.into(),
        }
    }

    fn missing_column(table: &Table, column: &str) -> Refusal {
        Refusal::new(
            format!("{} has no column {column}", table.qualified()),
            "check the column's name",
        )
    }

    fn at(self, line: u32) -> ExpandPlanError {
        ExpandPlanError::Refused {
            line,
            message: self.message,
            hint: self.hint,
        }
    }
}

impl Expander for PgDriver {
    fn plan_expand(
        &mut self,
        request: &ExpandRequest<'_>,
    ) -> Result<Option<ExpandPlan>, ExpandPlanError> {
        self.block_on(plan(self.client(), request))
    }

    fn expansions(&mut self) -> Result<Vec<Expansion>, DriverError> {
        self.block_on(store::read(self.client()))
    }

    fn write_expansion(&mut self, expansion: &Expansion) -> Result<(), DriverError> {
        self.block_on(store::write(self.client(), expansion))
    }

    fn delete_expansion(&mut self, version: Version) -> Result<(), DriverError> {
        self.block_on(store::delete(self.client(), version))
    }
}

/// A request located in the file.
struct Located {
    line: u32,
    table: TableRef,
    request: Request,
}

/// A table of the plan with its operations, in file order.
struct Planned {
    table: Table,
    operations: Vec<(u32, &'static [&'static str], Operation)>,
}

async fn plan(
    client: &Client,
    request: &ExpandRequest<'_>,
) -> Result<Option<ExpandPlan>, ExpandPlanError> {
    let Some(located) = read_requests(request)? else {
        return Ok(None);
    };
    let mut tables: Vec<Planned> = Vec::new();
    let mut table_of = Vec::with_capacity(located.len());
    let mut read: Vec<(&TableRef, usize)> = Vec::new();
    for item in &located {
        if let Some(&(_, index)) = read.iter().find(|(name, _)| **name == item.table) {
            table_of.push(index);
            continue;
        }
        let Some(table) =
            Table::read(client, item.table.schema.as_deref(), &item.table.name).await?
        else {
            // Created earlier in this run: no application can be using it yet.
            return Ok(None);
        };
        if table.kind != "r" {
            return Err(Refusal::new(
                format!("{} is not an ordinary table", table.qualified()),
                "expand/contract migrations change ordinary tables only",
            )
            .at(item.line));
        }
        let index = match tables
            .iter()
            .position(|p| p.table.schema == table.schema && p.table.name == table.name)
        {
            Some(index) => index,
            None => {
                tables.push(Planned {
                    table,
                    operations: Vec::new(),
                });
                tables.len() - 1
            }
        };
        read.push((&item.table, index));
        table_of.push(index);
    }
    let fills = fills(&located, &table_of);
    for (item, &index) in located.iter().zip(&table_of) {
        let planned = &tables[index];
        let table = &planned.table;
        let operation = match &item.request {
            Request::Fill { column, value } => {
                let Some(set_line) = located.iter().zip(&table_of).find_map(|(other, &i)| {
                    (i == index
                        && matches!(&other.request, Request::SetNotNull { column: c } if c == column))
                    .then_some(other.line)
                }) else {
                    return Err(Refusal::new(
                        format!("this UPDATE fills {}.{column}, which no SET NOT NULL in the file makes NOT NULL", table.qualified()),
                        "an expand/contract migration runs only the operations it can run in two phases: move the UPDATE to a `-- strata:backfill` migration",
                    )
                    .at(item.line));
                };
                Ok(Operation::new(format!(
                    "{value} for the NULLs of {}.{column}, in the backfill of line {set_line}'s SET NOT NULL",
                    table.qualified()
                )))
            }
            Request::RenameColumn { from, to } => operations::rename_column(table, from, to),
            Request::ChangeType {
                column,
                type_sql,
                using,
            } => operations::change_type(table, column, type_sql, using.as_deref()),
            Request::SetNotNull { column } => operations::set_not_null(
                table,
                column,
                fills.get(&(index, column.clone())).map(String::as_str),
            ),
            Request::AddForeignKey {
                name,
                columns,
                sql_template,
            } => operations::add_foreign_key(table, name.as_deref(), columns, sql_template),
            Request::DropColumn { column } => operations::drop_column(table, column),
        }
        .map_err(|refusal| refusal.at(item.line))?;
        let planned = &tables[index];
        if let Some(change) = &operation.view
            && let Some((line, _, _)) = planned.operations.iter().find(|(_, _, other)| {
                other
                    .view
                    .as_ref()
                    .is_some_and(|v| v.column() == change.column())
            })
        {
            return Err(Refusal::new(
                format!(
                    "line {line} already changes {}.{}; one operation per column in one migration",
                    table.qualified(),
                    change.column()
                ),
                "put the second change in a later migration",
            )
            .at(item.line));
        }
        tables[index]
            .operations
            .push((item.line, item.request.rules(), operation));
    }
    assemble(request, &tables).map(Some)
}

/// The file's statements as requests; `None` when the file is not an expand/contract
/// migration (only without `-- strata:expand`: then a statement that is not an operation, or
/// one whose lint finding is allowed in the file, means it runs as written).
fn read_requests(request: &ExpandRequest<'_>) -> Result<Option<Vec<Located>>, ExpandPlanError> {
    let mut located = Vec::new();
    for statement in request.statements {
        match request::read(&statement.sql) {
            Ok((table, requests)) => {
                for found in requests {
                    if !request.forced && allowed(request.sql, statement, found.rules()) {
                        return Ok(None);
                    }
                    located.push(Located {
                        line: statement.line,
                        table: table.clone(),
                        request: found,
                    });
                }
            }
            Err(_) if !request.forced => return Ok(None),
            Err(reason) => {
                return Err(ExpandPlanError::Refused {
                    line: statement.line,
                    message: format!(
                        "`-- strata:expand` cannot run this statement in two phases: {reason}"
                    ),
                    hint: "an expand/contract migration holds only RENAME COLUMN, ALTER COLUMN ... TYPE, \
                           SET NOT NULL (with its UPDATE ... WHERE ... IS NULL), ADD FOREIGN KEY and DROP COLUMN; \
                           move the statement to its own migration"
                        .into(),
                });
            }
        }
    }
    if located
        .iter()
        .all(|l| matches!(l.request, Request::Fill { .. }))
    {
        return match (request.forced, request.statements.first()) {
            (true, Some(first)) => Err(ExpandPlanError::Refused {
                line: first.line,
                message: "`-- strata:expand` marks a file with no operation to run in two phases"
                    .into(),
                hint: "remove the directive".into(),
            }),
            _ => Ok(None),
        };
    }
    Ok(Some(located))
}

/// Whether a `-- strata:allow` comment right above `statement`, or a `-- strata:allow-file`
/// anywhere, allows one of `rules`: the author chose to run the statement as written.
fn allowed(sql: &str, statement: &Statement, rules: &[&str]) -> bool {
    let names = |line: &str, directive: &str| {
        line.trim()
            .strip_prefix("--")
            .map(str::trim)
            .and_then(|body| body.strip_prefix(directive))
            .is_some_and(|rest| {
                rest.starts_with(char::is_whitespace)
                    && rest
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .any(|word| rules.contains(&word))
            })
    };
    if sql.split('\n').any(|line| names(line, "strata:allow-file")) {
        return true;
    }
    sql[..statement.offset.min(sql.len())]
        .split('\n')
        .rev()
        .skip(1)
        .take_while(|line| line.trim().is_empty() || line.trim().starts_with("--"))
        .any(|line| names(line, "strata:allow"))
}

/// The value each `SET NOT NULL` gives NULLs, from the file's `UPDATE ... WHERE ... IS NULL`s,
/// by (table, column).
fn fills(located: &[Located], table_of: &[usize]) -> BTreeMap<(usize, String), String> {
    located
        .iter()
        .zip(table_of)
        .filter_map(|(item, &index)| match &item.request {
            Request::Fill { column, value } => Some(((index, column.clone()), value.clone())),
            _ => None,
        })
        .collect()
}

/// Puts the operations' pieces together into the three phases.
fn assemble(
    request: &ExpandRequest<'_>,
    tables: &[Planned],
) -> Result<ExpandPlan, ExpandPlanError> {
    let first_line = tables
        .iter()
        .flat_map(|p| p.operations.iter().map(|(line, _, _)| *line))
        .min()
        .unwrap_or(1);
    let schema = &tables[0].table.schema;
    if let Some(other) = tables.iter().find(|p| &p.table.schema != schema) {
        return Err(Refusal::new(
            format!(
                "the operations change tables in two schemas ({schema} and {})",
                other.table.schema
            ),
            "one expand/contract migration per schema",
        )
        .at(first_line));
    }
    let version_schema =
        identifier(&format!("{schema}_{}", request.label)).map_err(|r| r.at(first_line))?;
    let trigger = format!("zz_strata_sync_{}", request.label);
    let mut expand = Vec::new();
    let mut builds = Vec::new();
    let mut backfills = Vec::new();
    let mut validate = Vec::new();
    let mut swap = vec![
        cancel_autovacuum(tables.iter().map(|planned| &planned.table)),
        drop_window(tables, &version_schema, &trigger, request.label),
    ];
    let mut undo = vec![drop_window(
        tables,
        &version_schema,
        &trigger,
        request.label,
    )];
    for (number, planned) in tables.iter().enumerate() {
        let table = &planned.table;
        let line = planned
            .operations
            .first()
            .map_or(first_line, |(l, _, _)| *l);
        let shadows: Vec<_> = planned
            .operations
            .iter()
            .filter_map(|(_, _, op)| op.shadow.as_ref())
            .collect();
        let mut block: Vec<String> = shadows.iter().flat_map(|s| s.add(table)).collect();
        block.extend(
            planned
                .operations
                .iter()
                .flat_map(|(_, _, op)| op.expand.clone()),
        );
        if !block.is_empty() {
            expand.push(phase(do_block(&block), line));
        }
        if !shadows.is_empty() {
            if table.primary_key.is_empty() {
                return Err(Refusal::new(
                    format!(
                        "{} has no primary key, which the backfill walks in batches",
                        table.qualified()
                    ),
                    "add a primary key first",
                )
                .at(line));
            }
            let function = format!(
                "{}.{}",
                quote_ident(&table.schema),
                quote_ident(&sync_function(request.label, number))
            );
            expand.push(phase(
                sync_function_sql(table, &function, &version_schema, &shadows),
                line,
            ));
            expand.push(phase(
                do_block(&[format!(
                    "IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = {} AND tgname = {}) THEN\n    \
                     CREATE TRIGGER {} BEFORE INSERT OR UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {function}();\n  END IF;",
                    table.regclass(),
                    sql_literal(&trigger),
                    quote_ident(&trigger),
                    table.qualified()
                )]),
                line,
            ));
            backfills.push(PhaseStatement {
                sql: format!(
                    "UPDATE {} SET {}",
                    table.qualified(),
                    shadows
                        .iter()
                        .map(|s| format!("{} = {}", quote_ident(&s.shadow), s.up))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                line,
                backfill: true,
            });
            builds.extend(
                shadows
                    .iter()
                    .flat_map(|s| &s.indexes)
                    .map(|index| phase(index.build_sql.clone(), line)),
            );
        }
        for (op_line, _, operation) in &planned.operations {
            if let Some(shadow) = &operation.shadow {
                validate.extend(shadow.validate(table).map(|sql| phase(sql, *op_line)));
                swap.push(shadow.swap(table));
                undo.push(shadow.drop(table));
            }
            validate.extend(
                operation
                    .validate
                    .iter()
                    .map(|sql| phase(sql.clone(), *op_line)),
            );
            swap.extend(operation.swap.iter().cloned());
            undo.extend(operation.undo.iter().cloned());
        }
    }
    expand.extend(backfills);
    expand.extend(builds);
    expand.push(phase(views_sql(tables, &version_schema), first_line));
    let backfill_names: Vec<String> = expand
        .iter()
        .enumerate()
        .filter(|(_, s)| s.backfill)
        .map(|(index, _)| sql_literal(&backfill_name(request.label, request.name, index + 1)))
        .collect();
    if !backfill_names.is_empty() {
        undo.push(format!(
            "IF to_regclass('strata_backfills') IS NOT NULL THEN\n    DELETE FROM strata_backfills WHERE name IN ({});\n  END IF;",
            backfill_names.join(", ")
        ));
    }
    let mut complete = validate;
    complete.push(phase(do_block(&swap), first_line));
    Ok(ExpandPlan {
        operations: tables
            .iter()
            .flat_map(|p| &p.operations)
            .map(|(line, rules, op)| PlannedOperation {
                line: *line,
                summary: op.summary.clone(),
                rules: rules.iter().map(|r| (*r).to_owned()).collect(),
            })
            .collect(),
        version_schema,
        expand,
        complete,
        abort: vec![phase(do_block(&undo), first_line)],
    })
}

fn phase(sql: String, line: u32) -> PhaseStatement {
    PhaseStatement {
        sql,
        line,
        backfill: false,
    }
}

/// The swap's first step. An autovacuum of the tables, which the backfill's updates are likely
/// to have started, holds a lock the swap's `ALTER TABLE` waits for, and every reader and writer
/// queues behind that wait until `deadlock_timeout` makes PostgreSQL cancel the autovacuum
/// (about 1 s). Cancelling it first, as PostgreSQL would, skips the stall; autovacuum comes back
/// later. A role that may not signal autovacuum workers leaves them be and waits as before.
fn cancel_autovacuum<'a>(tables: impl Iterator<Item = &'a Table>) -> String {
    let regclasses: Vec<String> = tables.map(Table::regclass).collect();
    format!(
        "BEGIN\n    PERFORM pg_cancel_backend(activity.pid) FROM pg_stat_activity AS activity \
         JOIN pg_stat_progress_vacuum AS vacuum USING (pid) \
         WHERE activity.backend_type = 'autovacuum worker' AND vacuum.relid IN ({});\n  \
         EXCEPTION WHEN insufficient_privilege THEN NULL;\n  END",
        regclasses.join(", ")
    )
}

/// Statements as one `DO` block: atomic, and so safe to run again when each part is guarded.
fn do_block(body: &[String]) -> String {
    let body: Vec<String> = body
        .iter()
        .map(|sql| {
            let sql = sql.trim_end();
            if sql.ends_with(';') {
                sql.to_owned()
            } else {
                format!("{sql};")
            }
        })
        .collect();
    format!("DO $strata$ BEGIN\n  {}\nEND $strata$", body.join("\n  "))
}

fn sync_function(label: &str, number: usize) -> String {
    format!("_strata_sync_{label}_{}", number + 1)
}

/// The trigger function that keeps a table's shadow columns and old columns in step.
fn sync_function_sql(
    table: &Table,
    function: &str,
    version_schema: &str,
    shadows: &[&shadow::Shadow],
) -> String {
    let to_old: Vec<String> = shadows.iter().map(|s| s.to_old()).collect();
    let to_new: Vec<String> = shadows.iter().map(|s| s.to_new(table)).collect();
    format!(
        "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $strata$\n\
         BEGIN\n  \
           -- The new application's search_path starts with the version schema.\n  \
           IF (current_schemas(false))[1] IS NOT DISTINCT FROM {} THEN\n    {}\n  \
           ELSE\n    {}\n  \
           END IF;\n  \
           RETURN NEW;\n\
         END\n$strata$",
        sql_literal(version_schema),
        to_old.join("\n    "),
        to_new.join("\n    ")
    )
}

/// The version schema with a view per changed table, its column defaults, and the table's
/// grants copied to the view (and to the schema).
fn views_sql(tables: &[Planned], version_schema: &str) -> String {
    let schema = quote_ident(version_schema);
    let mut body = vec![format!("CREATE SCHEMA IF NOT EXISTS {schema}")];
    for planned in tables {
        let table = &planned.table;
        let changes: Vec<&ViewChange> = planned
            .operations
            .iter()
            .filter_map(|(_, _, op)| op.view.as_ref())
            .collect();
        if changes.is_empty() {
            continue;
        }
        let view = format!("{schema}.{}", quote_ident(&table.name));
        let columns: Vec<String> = table
            .columns
            .iter()
            .filter_map(|column| {
                let name = quote_ident(&column.name);
                match changes.iter().find(|c| c.column() == column.name) {
                    None => Some(name),
                    Some(ViewChange::Rename { to, .. }) => {
                        Some(format!("{name} AS {}", quote_ident(to)))
                    }
                    Some(ViewChange::Replace { shadow, .. }) => {
                        Some(format!("{} AS {name}", quote_ident(shadow)))
                    }
                    Some(ViewChange::Hide { .. }) => None,
                }
            })
            .collect();
        let options = if table.server_version >= 150_000 {
            " WITH (security_invoker = true)"
        } else {
            ""
        };
        body.push(format!(
            "CREATE OR REPLACE VIEW {view}{options} AS SELECT {} FROM {}",
            columns.join(", "),
            table.qualified()
        ));
        for (_, _, operation) in &planned.operations {
            if let Some(shadow) = &operation.shadow
                && let Some(default) = &shadow.default
            {
                body.push(format!(
                    "ALTER VIEW {view} ALTER COLUMN {} SET DEFAULT {default}",
                    quote_ident(&shadow.column)
                ));
            }
        }
        body.push(format!(
            "FOR grant_row IN SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' \
             ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee \
             FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = {} \
             AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE') LOOP\n    \
             EXECUTE format('GRANT USAGE ON SCHEMA %s TO %s', {}, grant_row.grantee);\n    \
             EXECUTE format('GRANT %s ON %s TO %s', grant_row.privilege_type, {}, grant_row.grantee);\n  \
             END LOOP;",
            table.regclass(),
            sql_literal(&schema),
            sql_literal(&view)
        ));
    }
    format!(
        "DO $strata$ DECLARE grant_row record; BEGIN\n  {}\nEND $strata$",
        body.iter()
            .map(|sql| if sql.ends_with(';') {
                sql.clone()
            } else {
                format!("{sql};")
            })
            .collect::<Vec<_>>()
            .join("\n  ")
    )
}

/// What both complete and abort drop first: the version schema's views and the sync triggers.
fn drop_window(tables: &[Planned], version_schema: &str, trigger: &str, label: &str) -> String {
    let schema = quote_ident(version_schema);
    let mut sql = Vec::new();
    for (number, planned) in tables.iter().enumerate() {
        let table = &planned.table;
        sql.push(format!(
            "DROP VIEW IF EXISTS {schema}.{}",
            quote_ident(&table.name)
        ));
        if planned
            .operations
            .iter()
            .any(|(_, _, op)| op.shadow.is_some())
        {
            sql.push(format!(
                "DROP TRIGGER IF EXISTS {} ON {}",
                quote_ident(trigger),
                table.qualified()
            ));
            sql.push(format!(
                "DROP FUNCTION IF EXISTS {}.{}()",
                quote_ident(&table.schema),
                quote_ident(&sync_function(label, number))
            ));
        }
    }
    sql.push(format!("DROP SCHEMA IF EXISTS {schema}"));
    sql.join(";\n  ") + ";"
}

//! Splitting PostgreSQL files with PostgreSQL's own parser (`pg_query`, libpg_query).
//!
//! A file that does not parse is rejected before anything runs, naming the line of the
//! statement that fails. Each statement is classified from its syntax tree: whether it can run
//! inside a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`, a `DO` block that commits, ...
//! cannot), whether it is safe to run twice, and which index it builds.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, TransactionStmtKind};
use strata_core::lexer::{TokenKind, tokenize};

use crate::table_locks::table_locks;
use strata_core::{
    Dialect, IndexBuild, LineIndex, SplitError, Splitter, Statement, TransactionControl,
};

/// The PostgreSQL [`Splitter`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PgSplitter;

impl Splitter for PgSplitter {
    fn split(&self, sql: &str) -> Result<Vec<Statement>, SplitError> {
        let lines = LineIndex::new(sql);
        reject_psql_meta_commands(sql, &lines)?;
        let parsed =
            pg_query::parse(sql, 0).map_err(|error| locate_parse_error(sql, &lines, &error))?;
        let mut statements = Vec::with_capacity(parsed.protobuf.stmts.len());
        for raw in &parsed.protobuf.stmts {
            let start = usize::try_from(raw.stmt_location).unwrap_or(0);
            let end = match usize::try_from(raw.stmt_len).unwrap_or(0) {
                0 => sql.len(),
                len => start + len,
            };
            let Some((offset, text)) = trim_to_code(&sql[start..end]) else {
                continue;
            };
            let offset = start + offset;
            let mut statement = Statement::plain(text, offset, lines.line(offset));
            if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                classify(node, &mut statement).map_err(|message| SplitError {
                    line: statement.line,
                    message,
                })?;
            }
            statements.push(statement);
        }
        Ok(statements)
    }
}

/// The statement without leading comments and whitespace and without trailing ones:
/// `(offset within the slice, text)`, or `None` for a slice of comments only.
fn trim_to_code(slice: &str) -> Option<(usize, &str)> {
    let tokens = tokenize(slice, Dialect::Postgres);
    let first = tokens.iter().find(|t| t.is_significant())?;
    let last = tokens
        .iter()
        .rev()
        .find(|t| t.is_significant() && t.kind != TokenKind::Semicolon)?;
    Some((first.start, &slice[first.start..last.end]))
}

/// psql's backslash commands (`\connect`, `\set`, the `\.` ending COPY data) are not SQL.
fn reject_psql_meta_commands(sql: &str, lines: &LineIndex) -> Result<(), SplitError> {
    for token in tokenize(sql, Dialect::Postgres) {
        if token.text(sql) != "\\" {
            continue;
        }
        let (_, column) = lines.line_col(token.start);
        let line_start = token.start + 1 - column as usize;
        if !sql[line_start..token.start].trim().is_empty() {
            continue;
        }
        let command = sql[token.start..].split_whitespace().next().unwrap_or("\\");
        return Err(SplitError {
            line: lines.line(token.start),
            message: format!(
                "`{command}` is a psql command, not SQL (psql-style `COPY ... FROM stdin` with inline data is not \
                 supported: load data with INSERT, or with COPY from a file on the server)"
            ),
        });
    }
    Ok(())
}

/// pg_query reports a syntax error without a position in the file: find the first statement
/// (split at top-level `;`) that fails on its own, and name its line.
fn locate_parse_error(sql: &str, lines: &LineIndex, error: &pg_query::Error) -> SplitError {
    let message = match error {
        pg_query::Error::Parse(message) => message.clone(),
        other => other.to_string(),
    };
    let tokens = tokenize(sql, Dialect::Postgres);
    let mut piece_start = 0;
    for token in tokens.iter().filter(|t| t.kind == TokenKind::Semicolon) {
        let piece = &sql[piece_start..token.end];
        if let Some((offset, _)) = trim_to_code(piece)
            && pg_query::parse(piece, 0).is_err()
        {
            return SplitError {
                line: lines.line(piece_start + offset),
                message,
            };
        }
        piece_start = token.end;
    }
    let line = trim_to_code(&sql[piece_start..]).map_or(lines.line(sql.len()), |(offset, _)| {
        lines.line(piece_start + offset)
    });
    SplitError { line, message }
}

/// Records what the runner must know about a statement. Errors for statements strata refuses.
fn classify(node: &NodeEnum, statement: &mut Statement) -> Result<(), String> {
    statement.locks = table_locks(node);
    match node {
        NodeEnum::TransactionStmt(stmt) => {
            statement.transaction_control = Some(match TransactionStmtKind::try_from(stmt.kind) {
                Ok(TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart) => {
                    TransactionControl::Begin
                }
                Ok(TransactionStmtKind::TransStmtCommit) => TransactionControl::Commit,
                _ => TransactionControl::Other,
            });
        }
        NodeEnum::IndexStmt(stmt) => {
            statement.outside_transaction = stmt.concurrent;
            statement.concurrent = stmt.concurrent;
            statement.rerun_safe = stmt.if_not_exists;
            if !stmt.idxname.is_empty() {
                let schema = stmt
                    .relation
                    .as_ref()
                    .map(|r| r.schemaname.clone())
                    .filter(|s| !s.is_empty());
                statement.index_build = Some(IndexBuild {
                    schema,
                    name: stmt.idxname.clone(),
                    concurrent: stmt.concurrent,
                });
            }
        }
        NodeEnum::DropStmt(stmt) => {
            statement.outside_transaction = stmt.concurrent;
            statement.concurrent = stmt.concurrent;
            statement.rerun_safe = stmt.missing_ok;
        }
        NodeEnum::ReindexStmt(stmt) => {
            statement.outside_transaction = stmt.params.iter().any(|param| {
                matches!(&param.node, Some(NodeEnum::DefElem(def)) if def.defname == "concurrently")
            });
            statement.concurrent = statement.outside_transaction;
            statement.rerun_safe = true;
        }
        NodeEnum::VacuumStmt(stmt) => {
            statement.outside_transaction = stmt.is_vacuumcmd;
            statement.rerun_safe = true;
        }
        NodeEnum::AlterTableStmt(stmt) => {
            let commands = stmt.cmds.iter().filter_map(|cmd| match &cmd.node {
                Some(NodeEnum::AlterTableCmd(cmd)) => Some(cmd),
                _ => None,
            });
            let mut all_guarded = true;
            for cmd in commands {
                let detach_concurrently = cmd.subtype == AlterTableType::AtDetachPartition as i32
                    && matches!(cmd.def.as_deref().and_then(|d| d.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent);
                statement.outside_transaction |= detach_concurrently;
                statement.concurrent |= detach_concurrently;
                all_guarded &= cmd.missing_ok;
            }
            statement.rerun_safe = all_guarded && !stmt.cmds.is_empty();
        }
        NodeEnum::CreatedbStmt(_)
        | NodeEnum::DropdbStmt(_)
        | NodeEnum::AlterSystemStmt(_)
        | NodeEnum::CreateTableSpaceStmt(_)
        | NodeEnum::DropTableSpaceStmt(_) => statement.outside_transaction = true,
        NodeEnum::DoStmt(stmt) => {
            let body = stmt.args.iter().find_map(|arg| match &arg.node {
                Some(NodeEnum::DefElem(def)) if def.defname == "as" => {
                    match def.arg.as_deref().and_then(|a| a.node.as_ref()) {
                        Some(NodeEnum::String(text)) => Some(text.sval.clone()),
                        _ => None,
                    }
                }
                _ => None,
            });
            statement.outside_transaction = body.is_some_and(|body| controls_transactions(&body));
        }
        NodeEnum::CopyStmt(stmt)
            if stmt.is_from && !stmt.is_program && stmt.filename.is_empty() =>
        {
            return Err("`COPY ... FROM STDIN` needs data sent by the client, which a migration file cannot carry: \
                        use INSERT, or COPY from a file on the server"
                .into());
        }
        NodeEnum::CreateStmt(stmt) => statement.rerun_safe = stmt.if_not_exists,
        NodeEnum::CreateSchemaStmt(stmt) => statement.rerun_safe = stmt.if_not_exists,
        NodeEnum::CreateSeqStmt(stmt) => statement.rerun_safe = stmt.if_not_exists,
        NodeEnum::CreateExtensionStmt(stmt) => statement.rerun_safe = stmt.if_not_exists,
        NodeEnum::CreateFunctionStmt(stmt) => statement.rerun_safe = stmt.replace,
        NodeEnum::ViewStmt(stmt) => statement.rerun_safe = stmt.replace,
        NodeEnum::CreateTrigStmt(stmt) => statement.rerun_safe = stmt.replace,
        NodeEnum::AlterEnumStmt(stmt) => statement.rerun_safe = stmt.skip_if_new_val_exists,
        NodeEnum::CommentStmt(_) | NodeEnum::GrantStmt(_) | NodeEnum::VariableSetStmt(_) => {
            statement.rerun_safe = true
        }
        _ => {}
    }
    Ok(())
}

/// Whether a PL/pgSQL body (of a `DO` block) commits or rolls back, which it can only do outside
/// a transaction block.
fn controls_transactions(body: &str) -> bool {
    let tokens = tokenize(body, Dialect::Postgres);
    let mut previous = ";".to_owned();
    for token in tokens.iter().filter(|t| t.is_significant()) {
        let text = token.text(body).to_ascii_uppercase();
        let starts_statement =
            matches!(previous.as_str(), ";" | "BEGIN" | "LOOP" | "THEN" | "ELSE");
        if starts_statement && (text == "COMMIT" || text == "ROLLBACK") {
            return true;
        }
        previous = text;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Result<Vec<Statement>, SplitError> {
        PgSplitter.split(sql)
    }

    #[test]
    fn splits_with_real_parser_and_keeps_bodies_whole() {
        let sql = "-- create\nCREATE TABLE a (x text DEFAULT 'a;b'); /* c; */\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; -- ; \n $body$ LANGUAGE sql;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n\
                   INSERT INTO a VALUES (E'it\\'s; fine')";
        let statements = split(sql).unwrap();
        assert_eq!(statements.len(), 4);
        assert_eq!(statements[0].sql, "CREATE TABLE a (x text DEFAULT 'a;b')");
        assert_eq!(statements[0].line, 2);
        assert!(statements[1].sql.ends_with("LANGUAGE sql"));
        assert!(statements[2].sql.ends_with("END"));
        assert_eq!(
            statements[3].line, 6,
            "the function body spans lines 3 and 4"
        );
    }

    #[test]
    fn syntax_errors_name_the_failing_statement_line() {
        let err = split("CREATE TABLE a (x int);\n\nSELEC 1;\nSELECT 2;").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("syntax error"), "{err}");
        let err = split("CREATE TABLE a (x int);\nCREATE TABLE b (").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn classifies_statements_that_must_run_outside_a_transaction() {
        let statements = split(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (a);\nDROP INDEX CONCURRENTLY i;\nREINDEX INDEX CONCURRENTLY i;\n\
             VACUUM t;\nANALYZE t;\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;\nCREATE INDEX j ON t (a);\n\
             DO $$ BEGIN FOR i IN 1..2 LOOP UPDATE t SET a = i; COMMIT; END LOOP; END $$;\nDO $$ BEGIN PERFORM 1; END $$;",
        )
        .unwrap();
        let outside: Vec<bool> = statements.iter().map(|s| s.outside_transaction).collect();
        assert_eq!(
            outside,
            vec![true, true, true, true, false, true, false, true, false]
        );
        let index = statements[0].index_build.as_ref().unwrap();
        assert_eq!(
            (
                index.schema.as_deref(),
                index.name.as_str(),
                index.concurrent
            ),
            (Some("s"), "i", true)
        );
        assert!(statements[0].rerun_safe);
        assert!(!statements[6].rerun_safe);
    }

    #[test]
    fn transaction_control_and_rerun_safety() {
        let statements = split(
            "BEGIN; CREATE TABLE IF NOT EXISTS a (x int); ALTER TABLE a ADD COLUMN IF NOT EXISTS y int; \
             ALTER TABLE a ADD COLUMN z int; COMMIT;",
        )
        .unwrap();
        assert_eq!(
            statements[0].transaction_control,
            Some(TransactionControl::Begin)
        );
        assert!(statements[1].rerun_safe);
        assert!(statements[2].rerun_safe);
        assert!(!statements[3].rerun_safe);
        assert_eq!(
            statements[4].transaction_control,
            Some(TransactionControl::Commit)
        );
    }

    #[test]
    fn psql_copy_data_and_meta_commands_are_refused_clearly() {
        let err = split("CREATE TABLE t (a int);\nCOPY t FROM stdin;\n1\n2\n\\.\n").unwrap_err();
        assert!(err.message.contains("psql"), "{err}");
        let err = split("COPY t FROM STDIN;").unwrap_err();
        assert!(err.message.contains("COPY ... FROM STDIN"), "{err}");
        assert_eq!(split("\\connect other\nSELECT 1;").unwrap_err().line, 1);
        assert!(split("COPY t FROM '/tmp/data.csv';").is_ok());
    }

    #[test]
    fn comment_only_files_have_no_statements() {
        assert!(
            split("-- nothing here\n/* still nothing */\n")
                .unwrap()
                .is_empty()
        );
    }
}

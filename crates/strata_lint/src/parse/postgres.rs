//! PostgreSQL front end: the server's own grammar (`pg_query`), lowered into [`crate::ir`].

use std::ops::Range;

use pg_query::NodeEnum;
use pg_query::protobuf::{
    self, AlterTableType, ConstrType, Node, NullTestType, ObjectType, ReindexObjectType,
    TransactionStmtKind,
};
use strata_core::lexer::{Token, TokenKind, tokens};

use super::{ParsedStatement, read_tokens};
use crate::error::ParseError;
use crate::facts::lock_mode_from_pg_number;
use crate::input::{Dialect, ObjectName};
use crate::ir::{
    AlterAction, AlterTable, ColumnDef, ConstraintKind, CreateIndex, CreateTable, DdlVerb, Dml,
    ReindexTarget, Statement, StatementKind, TableConstraint, TransactionCommand, TypeName,
    Volatility,
};

/// Text parsed by one call to `pg_query`, at least. The decoded tree takes over a hundred times the
/// size of its text, so a file is parsed a chunk of whole statements at a time and each chunk's tree
/// is dropped once lowered: memory stays bounded whatever the file's size, while each call's fixed
/// cost (`pg_query` redirects stderr through a pipe) is paid only a few times per megabyte.
const CHUNK_BYTES: usize = 64 * 1024;

/// Parses a file. On a syntax error, the statement that fails is located by splitting the text with the
/// tokenizer and parsing the pieces one by one (the parser's own message carries no position).
///
/// `tokens` (the file lexed as PostgreSQL) choose where chunks end. The result is the parse of the
/// whole file: a chunk's end is accepted only when the server's grammar ends a statement there too,
/// and any doubt (a chunk that does not parse, a `;` inside a `BEGIN ATOMIC` body) parses the whole
/// file at once instead.
pub(crate) fn parse(sql: &str, tokens: &[Token]) -> Result<Vec<ParsedStatement>, ParseError> {
    let file = FileTokens { sql, tokens };
    let mut statements = Vec::new();
    for chunk in chunks(sql, tokens) {
        let Ok(parsed) = pg_query::parse(&sql[chunk.clone()], pg_query::ParserOptions::DEFAULT)
        else {
            return parse_whole(&file);
        };
        let raw_statements = &parsed.protobuf.stmts;
        if chunk.end < sql.len() && !ends_at_last_byte(raw_statements, chunk.len()) {
            return parse_whole(&file);
        }
        statements.extend(lower_raw(&file, chunk.start, raw_statements));
    }
    Ok(statements)
}

fn parse_whole(file: &FileTokens<'_>) -> Result<Vec<ParsedStatement>, ParseError> {
    let sql = file.sql;
    let result =
        pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).map_err(|error| ParseError {
            offset: failing_statement_offset(sql),
            message: parser_message(&error),
        })?;
    Ok(lower_raw(file, 0, &result.protobuf.stmts).collect())
}

/// Byte ranges of `sql` to parse one after the other: each but the last ends just after a `;` that
/// follows a statement, at least [`CHUNK_BYTES`] after the chunk's start.
fn chunks(sql: &str, tokens: &[Token]) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut after_statement = false;
    for token in tokens.iter().filter(|t| t.is_significant()) {
        let ends_statement = token.kind == TokenKind::Semicolon && after_statement;
        if ends_statement && token.end - start >= CHUNK_BYTES {
            chunks.push(start..token.end);
            start = token.end;
        }
        after_statement = token.kind != TokenKind::Semicolon;
    }
    if start < sql.len() || chunks.is_empty() {
        chunks.push(start..sql.len());
    }
    chunks
}

/// Whether the grammar ended the last statement of a chunk at the chunk's last byte, its `;`. The
/// lexer that chose that `;` could be wrong about it only where the grammar reads it otherwise (in a
/// comment, or inside a `BEGIN ATOMIC` body, which would not parse on its own); the statement would
/// then end elsewhere.
fn ends_at_last_byte(raw_statements: &[protobuf::RawStmt], chunk_len: usize) -> bool {
    raw_statements.last().is_some_and(|raw| {
        let end = i64::from(raw.stmt_location) + i64::from(raw.stmt_len);
        raw.stmt_len > 0 && usize::try_from(end).is_ok_and(|end| end + 1 == chunk_len)
    })
}

/// Lowers the statements `pg_query` read from the text starting at byte `base` of the file.
fn lower_raw<'a>(
    file: &'a FileTokens<'_>,
    base: usize,
    raw_statements: &'a [protobuf::RawStmt],
) -> impl Iterator<Item = ParsedStatement> + 'a {
    let sql = file.sql;
    raw_statements.iter().map(move |raw| {
        let location = base + usize::try_from(raw.stmt_location).unwrap_or(0);
        let start = file.skip_trivia(location);
        let end = match usize::try_from(raw.stmt_len).unwrap_or(0) {
            0 => sql.len(),
            len => (location + len).min(sql.len()),
        };
        let text = sql[start..end.max(start)].trim_end();
        let range = start..start + text.len();
        let node = raw.stmt.as_ref().and_then(|n| n.node.as_ref());
        let mut statement = node.map_or_else(|| Statement::new(StatementKind::Other), lower);
        match file.within(range.clone()) {
            Some(lexed) => read_tokens(&mut statement, sql, lexed.iter().copied()),
            None => read_tokens(&mut statement, text, tokens(text, Dialect::Postgres)),
        }
        ParsedStatement { range, statement }
    })
}

/// A file and its tokens, so that statements are not lexed again.
struct FileTokens<'a> {
    sql: &'a str,
    tokens: &'a [Token],
}

impl FileTokens<'_> {
    /// Index of the token starting at `offset`, if one does.
    fn token_at(&self, offset: usize) -> Option<usize> {
        let index = self.tokens.partition_point(|t| t.start < offset);
        self.tokens
            .get(index)
            .is_some_and(|t| t.start == offset)
            .then_some(index)
    }

    /// The tokens covering exactly `range`, unless a token crosses one of its ends.
    fn within(&self, range: Range<usize>) -> Option<&[Token]> {
        if range.is_empty() {
            return Some(&[]);
        }
        let first = self.token_at(range.start)?;
        let count = self.tokens[first..].partition_point(|t| t.end <= range.end);
        let last = self.tokens.get(first + count);
        last.is_none_or(|t| t.start >= range.end)
            .then(|| &self.tokens[first..first + count])
    }

    /// Byte offset of the first character at or after `from` that is neither whitespace nor part of a
    /// comment (or the text's end).
    fn skip_trivia(&self, from: usize) -> usize {
        match self.token_at(from) {
            Some(index) => self.tokens[index..]
                .iter()
                .find(|t| t.is_significant())
                .map_or(self.sql.len(), |t| t.start),
            None => skip_trivia(self.sql, from),
        }
    }
}

fn parser_message(error: &pg_query::Error) -> String {
    match error {
        pg_query::Error::Parse(message) | pg_query::Error::Split(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Byte offset of the first statement that does not parse on its own.
fn failing_statement_offset(sql: &str) -> usize {
    let mut start = 0;
    let ends = tokens(sql, Dialect::Postgres)
        .filter(|t| t.kind == TokenKind::Semicolon)
        .map(|t| t.start)
        .chain([sql.len()]);
    for end in ends {
        let piece = &sql[start..end];
        if !piece.trim().is_empty()
            && pg_query::parse(piece, pg_query::ParserOptions::DEFAULT).is_err()
        {
            return skip_trivia(sql, start);
        }
        start = end + 1;
    }
    0
}

/// Byte offset of the first character at or after `from` that is neither whitespace nor part of a comment
/// (or the text's end). Only the skipped trivia is lexed, so calling it once per statement stays linear.
fn skip_trivia(sql: &str, from: usize) -> usize {
    tokens(&sql[from..], Dialect::Postgres)
        .find(Token::is_significant)
        .map_or(sql.len(), |t| from + t.start)
}

fn name(range_var: &protobuf::RangeVar) -> ObjectName {
    ObjectName::new(
        Some(&range_var.schemaname),
        &range_var.relname,
        Dialect::Postgres,
    )
}

fn string_of(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

fn strings(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(string_of)
        .map(str::to_owned)
        .collect()
}

/// A qualified name given as a list of strings (`DROP TABLE`, `CREATE TYPE`, `ALTER TYPE`).
fn name_from_list(nodes: &[Node]) -> Option<ObjectName> {
    let parts = strings(nodes);
    let (last, rest) = parts.split_last()?;
    Some(ObjectName::new(
        rest.last().map(String::as_str),
        last,
        Dialect::Postgres,
    ))
}

fn range_vars(nodes: &[Node]) -> Vec<ObjectName> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::RangeVar(rv) => Some(name(rv)),
            _ => None,
        })
        .collect()
}

fn lower(node: &NodeEnum) -> Statement {
    Statement::new(lower_kind(node))
}

fn lower_kind(node: &NodeEnum) -> StatementKind {
    use StatementKind as K;
    match node {
        NodeEnum::CreateStmt(create) => K::CreateTable(lower_create_table(create)),
        NodeEnum::CreateTableAsStmt(create) => {
            match create.into.as_ref().and_then(|i| i.rel.as_ref()) {
                Some(rel) => K::CreateTable(CreateTable {
                    name: name(rel),
                    if_not_exists: create.if_not_exists,
                    columns: Vec::new(),
                    constraints: Vec::new(),
                    partitioned: false,
                }),
                None => K::OtherDdl {
                    verb: DdlVerb::Create,
                    guard: create.if_not_exists,
                },
            }
        }
        NodeEnum::AlterTableStmt(alter) => lower_alter_table(alter),
        NodeEnum::IndexStmt(index) => lower_create_index(index),
        NodeEnum::RenameStmt(rename) => lower_rename(rename),
        NodeEnum::DropStmt(drop) => lower_drop(drop),
        NodeEnum::DropdbStmt(drop) => K::DropDatabase {
            name: drop.dbname.clone(),
            if_exists: drop.missing_ok,
        },
        NodeEnum::TruncateStmt(truncate) => K::Truncate {
            tables: range_vars(&truncate.relations),
        },
        NodeEnum::UpdateStmt(update) => match &update.relation {
            Some(rel) => K::Update(lower_dml(rel, update.where_clause.as_deref())),
            None => K::Other,
        },
        NodeEnum::DeleteStmt(delete) => match &delete.relation {
            Some(rel) => K::Delete(lower_dml(rel, delete.where_clause.as_deref())),
            None => K::Other,
        },
        NodeEnum::InsertStmt(insert) => match &insert.relation {
            Some(rel) => K::Insert { table: name(rel) },
            None => K::Other,
        },
        NodeEnum::CreateEnumStmt(create) => match name_from_list(&create.type_name) {
            Some(type_name) => K::CreateEnum {
                name: type_name,
                values: strings(&create.vals),
            },
            None => K::Other,
        },
        NodeEnum::AlterEnumStmt(alter) => match name_from_list(&alter.type_name) {
            Some(type_name) if !alter.old_val.is_empty() => K::RenameEnumValue {
                type_name,
                old: alter.old_val.clone(),
                new: alter.new_val.clone(),
            },
            Some(type_name) => K::AddEnumValue {
                type_name,
                value: alter.new_val.clone(),
            },
            None => K::Other,
        },
        NodeEnum::VacuumStmt(vacuum) if vacuum.is_vacuumcmd => K::Vacuum {
            full: vacuum
                .options
                .iter()
                .any(|o| def_elem_name(o) == Some("full")),
            tables: vacuum
                .rels
                .iter()
                .filter_map(|r| match r.node.as_ref()? {
                    NodeEnum::VacuumRelation(rel) => rel.relation.as_ref().map(name),
                    _ => None,
                })
                .collect(),
        },
        NodeEnum::ClusterStmt(cluster) => K::Cluster {
            table: cluster.relation.as_ref().map(name),
        },
        NodeEnum::LockStmt(lock) => K::LockTable {
            tables: range_vars(&lock.relations),
            mode: lock_mode_from_pg_number(lock.mode),
        },
        NodeEnum::ReindexStmt(reindex) => lower_reindex(reindex),
        NodeEnum::TransactionStmt(tx) => K::Transaction(match tx.kind() {
            TransactionStmtKind::TransStmtBegin | TransactionStmtKind::TransStmtStart => {
                TransactionCommand::Begin
            }
            TransactionStmtKind::TransStmtCommit => TransactionCommand::Commit,
            TransactionStmtKind::TransStmtRollback => TransactionCommand::Rollback,
            _ => TransactionCommand::Other,
        }),
        NodeEnum::VariableSetStmt(set) => K::Set {
            name: set.name.to_ascii_lowercase(),
            value: set.args.iter().filter_map(constant_text).collect(),
        },
        NodeEnum::DoStmt(do_stmt) => lower_do(do_stmt),
        NodeEnum::CreatedbStmt(_) | NodeEnum::AlterSystemStmt(_) => K::NonTransactional,
        NodeEnum::CreateFunctionStmt(f) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: f.replace,
        },
        NodeEnum::ViewStmt(v) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: v.replace,
        },
        NodeEnum::CreateTrigStmt(t) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: t.replace,
        },
        NodeEnum::CreateSeqStmt(s) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: s.if_not_exists,
        },
        NodeEnum::CreateExtensionStmt(e) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: e.if_not_exists,
        },
        NodeEnum::CreateSchemaStmt(s) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: s.if_not_exists,
        },
        NodeEnum::CreateDomainStmt(_)
        | NodeEnum::CompositeTypeStmt(_)
        | NodeEnum::CreateRangeStmt(_)
        | NodeEnum::DefineStmt(_)
        | NodeEnum::CreatePolicyStmt(_)
        | NodeEnum::CreateStatsStmt(_)
        | NodeEnum::RuleStmt(_) => K::OtherDdl {
            verb: DdlVerb::Create,
            guard: false,
        },
        NodeEnum::AlterDomainStmt(_)
        | NodeEnum::AlterSeqStmt(_)
        | NodeEnum::AlterFunctionStmt(_)
        | NodeEnum::AlterTypeStmt(_)
        | NodeEnum::AlterObjectSchemaStmt(_)
        | NodeEnum::AlterOwnerStmt(_)
        | NodeEnum::AlterPolicyStmt(_)
        | NodeEnum::AlterExtensionStmt(_)
        | NodeEnum::CommentStmt(_)
        | NodeEnum::GrantStmt(_) => K::OtherDdl {
            verb: DdlVerb::Alter,
            guard: false,
        },
        _ => K::Other,
    }
}

fn def_elem_name(node: &Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::DefElem(def) => Some(&def.defname),
        _ => None,
    }
}

/// The text of a constant argument (`SET lock_timeout = 0` → `0`, `= '0s'` → `0s`).
fn constant_text(node: &Node) -> Option<String> {
    let NodeEnum::AConst(constant) = node.node.as_ref()? else {
        return None;
    };
    Some(match constant.val.as_ref()? {
        protobuf::a_const::Val::Ival(i) => i.ival.to_string(),
        protobuf::a_const::Val::Fval(f) => f.fval.clone(),
        protobuf::a_const::Val::Sval(s) => s.sval.clone(),
        protobuf::a_const::Val::Boolval(b) => b.boolval.to_string(),
        protobuf::a_const::Val::Bsval(b) => b.bsval.clone(),
    })
}

fn lower_create_table(create: &protobuf::CreateStmt) -> CreateTable {
    let mut columns = Vec::new();
    let mut constraints = Vec::new();
    for element in &create.table_elts {
        match element.node.as_ref() {
            Some(NodeEnum::ColumnDef(column)) => columns.push(lower_column(column)),
            Some(NodeEnum::Constraint(constraint)) => {
                constraints.extend(lower_constraint(constraint))
            }
            _ => {}
        }
    }
    CreateTable {
        name: create
            .relation
            .as_ref()
            .map_or_else(|| ObjectName::new(None, "", Dialect::Postgres), name),
        if_not_exists: create.if_not_exists,
        columns,
        constraints,
        partitioned: create.partspec.is_some(),
    }
}

fn lower_type(type_name: Option<&protobuf::TypeName>) -> TypeName {
    let Some(type_name) = type_name else {
        return TypeName::new("unknown", Vec::new(), false);
    };
    let names = strings(&type_name.names);
    let base = names.last().map_or("unknown", String::as_str);
    let modifiers = type_name
        .typmods
        .iter()
        .filter_map(|m| match m.node.as_ref()? {
            NodeEnum::AConst(protobuf::AConst {
                val: Some(protobuf::a_const::Val::Ival(i)),
                ..
            }) => Some(i64::from(i.ival)),
            _ => None,
        })
        .collect();
    TypeName::new(base, modifiers, !type_name.array_bounds.is_empty())
}

fn lower_column(column: &protobuf::ColumnDef) -> ColumnDef {
    let mut def = ColumnDef {
        name: column.colname.clone(),
        data_type: lower_type(column.type_name.as_ref()),
        not_null: column.is_not_null,
        primary_key: false,
        unique: false,
        default: column.raw_default.as_deref().map(volatility),
        generated_stored: false,
        identity: !column.identity.is_empty(),
        references: None,
    };
    for constraint in &column.constraints {
        let Some(NodeEnum::Constraint(c)) = constraint.node.as_ref() else {
            continue;
        };
        match c.contype() {
            ConstrType::ConstrNotnull => def.not_null = true,
            ConstrType::ConstrPrimary => {
                def.primary_key = true;
                def.not_null = true;
            }
            ConstrType::ConstrUnique => def.unique = true,
            ConstrType::ConstrDefault => def.default = c.raw_expr.as_deref().map(volatility),
            ConstrType::ConstrIdentity => def.identity = true,
            ConstrType::ConstrGenerated => def.generated_stored = c.generated_kind != "v",
            ConstrType::ConstrForeign => def.references = c.pktable.as_ref().map(name),
            _ => {}
        }
    }
    def
}

/// Functions whose result changes per row: a column default calling one rewrites the table.
const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "random_normal",
    "gen_random_uuid",
    "gen_random_bytes",
    "uuidv4",
    "uuidv7",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "currval",
    "lastval",
    "setval",
];

/// Built-in functions known to be immutable or stable (evaluated once for an `ADD COLUMN` default).
const NON_VOLATILE_FUNCTIONS: &[&str] = &[
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "current_setting",
    "lower",
    "upper",
    "concat",
    "length",
    "md5",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "array_fill",
    "make_interval",
    "make_date",
    "date_trunc",
    "to_char",
    "to_timestamp",
    "to_date",
    "coalesce",
    "abs",
    "round",
];

/// Classifies an expression by its most volatile part.
pub(crate) fn volatility(node: &Node) -> Volatility {
    let Some(node) = node.node.as_ref() else {
        return Volatility::NonVolatile;
    };
    let children: Vec<&Node> = match node {
        NodeEnum::AConst(_) | NodeEnum::SqlvalueFunction(_) | NodeEnum::ColumnRef(_) => {
            return Volatility::NonVolatile;
        }
        NodeEnum::FuncCall(call) => {
            let function = strings(&call.funcname).pop().unwrap_or_default();
            if VOLATILE_FUNCTIONS.contains(&function.as_str()) {
                return Volatility::Volatile(function);
            }
            if !NON_VOLATILE_FUNCTIONS.contains(&function.as_str()) {
                return Volatility::Unknown(function);
            }
            call.args.iter().collect()
        }
        NodeEnum::TypeCast(cast) => cast.arg.as_deref().into_iter().collect(),
        NodeEnum::AExpr(expr) => expr
            .lexpr
            .as_deref()
            .into_iter()
            .chain(expr.rexpr.as_deref())
            .collect(),
        NodeEnum::BoolExpr(expr) => expr.args.iter().collect(),
        NodeEnum::AArrayExpr(array) => array.elements.iter().collect(),
        NodeEnum::List(list) => list.items.iter().collect(),
        NodeEnum::CoalesceExpr(expr) => expr.args.iter().collect(),
        NodeEnum::NullTest(test) => test.arg.as_deref().into_iter().collect(),
        _ => return Volatility::Unknown("an expression".to_owned()),
    };
    children
        .into_iter()
        .map(volatility)
        .fold(Volatility::NonVolatile, |worst, next| {
            match (&worst, &next) {
                (Volatility::Volatile(_), _) => worst,
                (_, Volatility::Volatile(_))
                | (Volatility::NonVolatile, Volatility::Unknown(_)) => next,
                _ => worst,
            }
        })
}

fn key_columns(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref()? {
            NodeEnum::String(s) => Some(s.sval.clone()),
            NodeEnum::IndexElem(e) => Some(e.name.clone()),
            _ => None,
        })
        .collect()
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

fn lower_constraint(c: &protobuf::Constraint) -> Option<TableConstraint> {
    let kind = match c.contype() {
        ConstrType::ConstrPrimary => ConstraintKind::PrimaryKey {
            columns: key_columns(&c.keys),
            using_index: optional(&c.indexname),
        },
        ConstrType::ConstrUnique => ConstraintKind::Unique {
            columns: key_columns(&c.keys),
            using_index: optional(&c.indexname),
        },
        ConstrType::ConstrCheck => ConstraintKind::Check {
            not_null_column: c.raw_expr.as_deref().and_then(is_not_null_test),
        },
        ConstrType::ConstrForeign => ConstraintKind::ForeignKey {
            columns: key_columns(&c.fk_attrs),
            references: c.pktable.as_ref().map(name)?,
        },
        ConstrType::ConstrExclusion => ConstraintKind::Exclusion,
        _ => return None,
    };
    Some(TableConstraint {
        name: optional(&c.conname),
        kind,
        not_valid: c.skip_validation,
    })
}

/// `col IS NOT NULL` → `col`.
fn is_not_null_test(node: &Node) -> Option<String> {
    let NodeEnum::NullTest(test) = node.node.as_ref()? else {
        return None;
    };
    if test.nulltesttype() != NullTestType::IsNotNull {
        return None;
    }
    column_ref_name(test.arg.as_deref()?)
}

fn column_ref_name(node: &Node) -> Option<String> {
    let NodeEnum::ColumnRef(column) = node.node.as_ref()? else {
        return None;
    };
    column
        .fields
        .iter()
        .filter_map(string_of)
        .next_back()
        .map(str::to_owned)
}

fn lower_alter_table(alter: &protobuf::AlterTableStmt) -> StatementKind {
    let Some(relation) = alter.relation.as_ref() else {
        return StatementKind::Other;
    };
    if alter.objtype() != ObjectType::ObjectTable {
        return StatementKind::OtherDdl {
            verb: DdlVerb::Alter,
            guard: alter.missing_ok,
        };
    }
    let actions = alter
        .cmds
        .iter()
        .filter_map(|cmd| match cmd.node.as_ref()? {
            NodeEnum::AlterTableCmd(cmd) => Some(lower_alter_cmd(cmd)),
            _ => None,
        })
        .collect();
    StatementKind::AlterTable(AlterTable {
        table: name(relation),
        actions,
    })
}

fn lower_alter_cmd(cmd: &protobuf::AlterTableCmd) -> AlterAction {
    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
    let column = cmd.name.clone();
    match (cmd.subtype(), def) {
        (AlterTableType::AtAddColumn, Some(NodeEnum::ColumnDef(c))) => {
            AlterAction::AddColumn(lower_column(c))
        }
        (AlterTableType::AtDropColumn, _) => AlterAction::DropColumn { name: column },
        (AlterTableType::AtAlterColumnType, Some(NodeEnum::ColumnDef(c))) => {
            AlterAction::AlterColumnType {
                column,
                new_type: lower_type(c.type_name.as_ref()),
            }
        }
        (AlterTableType::AtSetNotNull, _) => AlterAction::SetNotNull { column },
        (AlterTableType::AtDropNotNull, _) => AlterAction::DropNotNull { column },
        (AlterTableType::AtAddConstraint, Some(NodeEnum::Constraint(c))) => {
            match lower_constraint(c) {
                Some(constraint) => AlterAction::AddConstraint(constraint),
                None => AlterAction::Other {
                    description: "ADD CONSTRAINT".to_owned(),
                },
            }
        }
        (AlterTableType::AtValidateConstraint, _) => {
            AlterAction::ValidateConstraint { name: column }
        }
        (AlterTableType::AtDropConstraint, _) => AlterAction::DropConstraint { name: column },
        (AlterTableType::AtDetachPartition, Some(NodeEnum::PartitionCmd(p))) => {
            AlterAction::DetachPartition {
                partition: p
                    .name
                    .as_ref()
                    .map_or_else(|| ObjectName::new(None, "", Dialect::Postgres), name),
                concurrently: p.concurrent,
            }
        }
        (AlterTableType::AtDisableTrigAll, _) => AlterAction::DisableTrigger { all: true },
        (AlterTableType::AtDisableTrig | AlterTableType::AtDisableTrigUser, _) => {
            AlterAction::DisableTrigger { all: false }
        }
        (other, _) => AlterAction::Other {
            description: format!("{other:?}"),
        },
    }
}

fn lower_create_index(index: &protobuf::IndexStmt) -> StatementKind {
    let Some(relation) = index.relation.as_ref() else {
        return StatementKind::Other;
    };
    StatementKind::CreateIndex(CreateIndex {
        name: optional(&index.idxname),
        table: name(relation),
        unique: index.unique,
        concurrently: index.concurrent,
        if_not_exists: index.if_not_exists,
        only: !relation.inh,
        columns: key_columns(&index.index_params),
    })
}

fn lower_rename(rename: &protobuf::RenameStmt) -> StatementKind {
    match (rename.rename_type(), rename.relation.as_ref()) {
        (ObjectType::ObjectTable, Some(rel)) => StatementKind::RenameTable {
            table: name(rel),
            new_name: rename.newname.clone(),
        },
        (ObjectType::ObjectColumn, Some(rel))
            if rename.relation_type() == ObjectType::ObjectTable =>
        {
            StatementKind::RenameColumn {
                table: name(rel),
                column: rename.subname.clone(),
                new_name: rename.newname.clone(),
            }
        }
        _ => StatementKind::OtherDdl {
            verb: DdlVerb::Alter,
            guard: rename.missing_ok,
        },
    }
}

fn lower_drop(drop: &protobuf::DropStmt) -> StatementKind {
    let names = || {
        drop.objects
            .iter()
            .filter_map(|o| match o.node.as_ref()? {
                NodeEnum::List(list) => name_from_list(&list.items),
                NodeEnum::String(s) => Some(ObjectName::new(None, &s.sval, Dialect::Postgres)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    match drop.remove_type() {
        ObjectType::ObjectTable => StatementKind::DropTable {
            tables: names(),
            if_exists: drop.missing_ok,
        },
        ObjectType::ObjectIndex => StatementKind::DropIndex {
            names: names(),
            concurrently: drop.concurrent,
            if_exists: drop.missing_ok,
        },
        ObjectType::ObjectSchema => StatementKind::DropSchema {
            names: names().into_iter().map(|n| n.name).collect(),
            if_exists: drop.missing_ok,
        },
        _ => StatementKind::OtherDdl {
            verb: DdlVerb::Drop,
            guard: drop.missing_ok,
        },
    }
}

fn lower_reindex(reindex: &protobuf::ReindexStmt) -> StatementKind {
    let concurrently = reindex
        .params
        .iter()
        .any(|p| def_elem_name(p) == Some("concurrently"));
    let target = match (reindex.kind(), reindex.relation.as_ref()) {
        (ReindexObjectType::ReindexObjectTable, Some(rel)) => ReindexTarget::Table(name(rel)),
        (ReindexObjectType::ReindexObjectIndex, Some(rel)) => ReindexTarget::Index(name(rel)),
        _ => ReindexTarget::Many,
    };
    StatementKind::Reindex {
        target,
        concurrently,
    }
}

fn lower_dml(relation: &protobuf::RangeVar, where_clause: Option<&Node>) -> Dml {
    let mut bounded_columns = Vec::new();
    if let Some(condition) = where_clause {
        collect_bounded_columns(condition, &mut bounded_columns);
    }
    Dml {
        table: name(relation),
        has_where: where_clause.is_some(),
        bounded_columns,
    }
}

/// Columns bounded by the conjuncts of a `WHERE` clause: `col = v`, `col < v`, `col IN (...)`,
/// `col BETWEEN a AND b`, and `col IN (SELECT ... LIMIT n)` (a batch).
fn collect_bounded_columns(node: &Node, out: &mut Vec<String>) {
    match node.node.as_ref() {
        Some(NodeEnum::BoolExpr(expr)) if expr.boolop() == protobuf::BoolExprType::AndExpr => {
            expr.args
                .iter()
                .for_each(|arg| collect_bounded_columns(arg, out));
        }
        Some(NodeEnum::AExpr(expr)) => {
            use protobuf::AExprKind as Kind;
            let operator = strings(&expr.name).pop().unwrap_or_default();
            let bounding = match expr.kind() {
                Kind::AexprOp => matches!(operator.as_str(), "=" | "<" | ">" | "<=" | ">="),
                Kind::AexprIn | Kind::AexprBetween | Kind::AexprBetweenSym | Kind::AexprOpAny => {
                    true
                }
                _ => false,
            };
            if !bounding {
                return;
            }
            let sides = [expr.lexpr.as_deref(), expr.rexpr.as_deref()];
            let columns: Vec<String> = sides
                .iter()
                .flatten()
                .filter_map(|side| column_ref_name(side))
                .collect();
            if columns.len() == 1 {
                out.extend(columns);
            }
        }
        Some(NodeEnum::SubLink(link))
            if link.sub_link_type() == protobuf::SubLinkType::AnySublink =>
        {
            let limited = matches!(
                link.subselect.as_deref().and_then(|s| s.node.as_ref()),
                Some(NodeEnum::SelectStmt(select)) if select.limit_count.is_some()
            );
            if limited {
                out.extend(link.testexpr.as_deref().and_then(column_ref_name));
            }
        }
        _ => {}
    }
}

/// A `DO` block: its body is PL/pgSQL, read through `parse_plpgsql` by wrapping it in a function. When that
/// fails, only whether it commits is found, from its tokens.
fn lower_do(do_stmt: &protobuf::DoStmt) -> StatementKind {
    let mut body_text = None;
    let mut language = "plpgsql".to_owned();
    for arg in &do_stmt.args {
        let Some(NodeEnum::DefElem(def)) = arg.node.as_ref() else {
            continue;
        };
        let value = def.arg.as_deref().and_then(string_of).map(str::to_owned);
        match def.defname.as_str() {
            "as" => body_text = value,
            "language" => language = value.unwrap_or(language),
            _ => {}
        }
    }
    let Some(body_text) = body_text.filter(|_| language.eq_ignore_ascii_case("plpgsql")) else {
        return StatementKind::Do {
            body: Vec::new(),
            commits: false,
        };
    };
    let wrapped = format!(
        "CREATE FUNCTION strata_do_block() RETURNS void LANGUAGE plpgsql AS $strata_do$ {body_text} $strata_do$"
    );
    match pg_query::parse_plpgsql(&wrapped) {
        Ok(json) => {
            let mut body = Vec::new();
            let mut commits = false;
            walk_plpgsql(&json, &mut body, &mut commits);
            StatementKind::Do { body, commits }
        }
        Err(_) => {
            let commits = tokens(&body_text, Dialect::Postgres).any(|t| {
                t.kind == TokenKind::Word && t.text(&body_text).eq_ignore_ascii_case("commit")
            });
            StatementKind::Do {
                body: Vec::new(),
                commits,
            }
        }
    }
}

fn walk_plpgsql(value: &serde_json::Value, body: &mut Vec<Statement>, commits: &mut bool) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                match key.as_str() {
                    "PLpgSQL_stmt_commit" | "PLpgSQL_stmt_rollback" => *commits = true,
                    "PLpgSQL_stmt_execsql" => {
                        let query = inner
                            .pointer("/sqlstmt/PLpgSQL_expr/query")
                            .and_then(serde_json::Value::as_str);
                        body.extend(query.and_then(parse_embedded));
                    }
                    _ => walk_plpgsql(inner, body, commits),
                }
            }
        }
        serde_json::Value::Array(items) => items
            .iter()
            .for_each(|item| walk_plpgsql(item, body, commits)),
        _ => {}
    }
}

fn parse_embedded(query: &str) -> Option<Statement> {
    let parsed = pg_query::parse(query, pg_query::ParserOptions::DEFAULT).ok()?;
    let raw = parsed.protobuf.stmts.first()?;
    let mut statement = lower(raw.stmt.as_ref()?.node.as_ref()?);
    read_tokens(&mut statement, query, tokens(query, Dialect::Postgres));
    Some(statement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
        super::parse(sql, &strata_core::lexer::tokenize(sql, Dialect::Postgres))
    }

    fn kinds(sql: &str) -> Vec<StatementKind> {
        parse(sql)
            .unwrap()
            .into_iter()
            .map(|p| p.statement.kind)
            .collect()
    }

    #[test]
    fn locates_statements_after_comments() {
        let sql = "-- header\nSELECT 1;\n/* c */ CREATE INDEX i ON t (a);  \n";
        let parsed = parse(sql).unwrap();
        assert_eq!(&sql[parsed[1].range.clone()], "CREATE INDEX i ON t (a)");
    }

    #[test]
    fn reports_the_failing_statement() {
        let sql = "SELECT 1;\nSELEC 2;\nSELECT 3;";
        let error = parse(sql).unwrap_err();
        assert_eq!(error.offset, sql.find("SELEC 2").unwrap());
        assert!(error.message.contains("SELEC"), "{}", error.message);
    }

    /// `SELECT 1;` lines filling a chunk but for `room` bytes, so that the next statement's `;` is
    /// where the first chunk ends.
    fn filling_a_chunk_but(room: usize) -> String {
        "SELECT 1;\n".repeat((CHUNK_BYTES - room) / 10)
    }

    fn whole(sql: &str) -> Vec<ParsedStatement> {
        let tokens = strata_core::lexer::tokenize(sql, Dialect::Postgres);
        parse_whole(&FileTokens {
            sql,
            tokens: &tokens,
        })
        .unwrap()
    }

    fn located(parsed: &[ParsedStatement]) -> Vec<(Range<usize>, String)> {
        parsed
            .iter()
            .map(|p| (p.range.clone(), format!("{:?}", p.statement)))
            .collect()
    }

    #[test]
    fn parsing_by_chunks_finds_what_parsing_the_whole_file_finds() {
        let statements = [
            "CREATE TABLE t (id bigint PRIMARY KEY, note varchar(20) DEFAULT 'a;b');",
            "-- a comment; with a semicolon\nALTER TABLE t ADD COLUMN \"x\" int;",
            "CREATE INDEX CONCURRENTLY i ON t (note);",
            "DO $$ BEGIN UPDATE t SET x = 1; END $$;",
            "ALTER TABLE t RENAME COLUMN x TO y;;",
        ];
        let sql = statements.join("\n").repeat(3 * CHUNK_BYTES / 200);
        let parsed = parse(&sql).unwrap();
        assert!(chunks(&sql, &strata_core::lexer::tokenize(&sql, Dialect::Postgres)).len() > 2);
        assert_eq!(located(&parsed), located(&whole(&sql)));
    }

    #[test]
    fn a_chunk_must_end_where_the_grammar_ends_its_last_statement() {
        let ends = |chunk: &str| {
            let parsed = pg_query::parse(chunk, pg_query::ParserOptions::DEFAULT).unwrap();
            ends_at_last_byte(&parsed.protobuf.stmts, chunk.len())
        };
        assert!(ends("SELECT 1; /* c */ SELECT 2;"));
        assert!(!ends("SELECT 1; SELECT 2 -- c;"));
        assert!(!ends("SELECT 1; -- c;"));
    }

    #[test]
    fn a_chunk_ending_inside_a_begin_atomic_body_falls_back_to_the_whole_file() {
        let sql = filling_a_chunk_but(10)
            + "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;";
        let parsed = parse(&sql).unwrap();
        assert_eq!(located(&parsed), located(&whole(&sql)));
        let function = &sql[parsed[parsed.len() - 2].range.clone()];
        assert!(function.starts_with("CREATE FUNCTION") && function.ends_with("END"));
    }

    #[test]
    fn a_chunk_end_the_lexer_misreads_falls_back_to_the_whole_file() {
        // The tokenizer ends the escape string at `\'`; the server reads `\'` as a quote inside it.
        let sql = filling_a_chunk_but(5) + "SELECT E'\\';';\nSELECT 2;";
        let parsed = parse(&sql).unwrap();
        assert_eq!(located(&parsed), located(&whole(&sql)));
        assert_eq!(
            &sql[parsed[parsed.len() - 2].range.clone()],
            "SELECT E'\\';'"
        );
    }

    #[test]
    fn reports_the_failing_statement_of_a_later_chunk() {
        let sql = filling_a_chunk_but(0) + "SELECT 2;\nSELEC 3;\nSELECT 4;";
        let error = parse(&sql).unwrap_err();
        assert_eq!(error.offset, sql.find("SELEC 3").unwrap());
    }

    #[test]
    fn reads_do_block_bodies() {
        let [StatementKind::Do { body, commits }] =
            &kinds("DO $$ BEGIN UPDATE t SET a = 1; COMMIT; END $$;")[..]
        else {
            panic!("expected one DO block");
        };
        assert!(*commits);
        assert!(matches!(
            body[..],
            [Statement {
                kind: StatementKind::Update(_),
                ..
            }]
        ));
    }

    #[test]
    fn classifies_default_volatility() {
        let [StatementKind::AlterTable(alter)] = &kinds(
            "ALTER TABLE t ADD a uuid DEFAULT gen_random_uuid(), ADD b timestamptz DEFAULT now(), ADD c int DEFAULT my_fn()",
        )[..] else {
            panic!("expected an ALTER TABLE");
        };
        let defaults: Vec<_> = alter
            .actions
            .iter()
            .map(|a| match a {
                AlterAction::AddColumn(c) => c.default.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(
            defaults,
            [
                Some(Volatility::Volatile("gen_random_uuid".into())),
                Some(Volatility::NonVolatile),
                Some(Volatility::Unknown("my_fn".into()))
            ]
        );
    }
}

//! Reading a migration's statements as the operations an expand/contract migration can run,
//! from PostgreSQL's own parse tree: `ALTER TABLE ... RENAME COLUMN`, `ALTER COLUMN ... TYPE`,
//! `ALTER COLUMN ... SET NOT NULL`, `ADD [CONSTRAINT ...] FOREIGN KEY`, `DROP COLUMN`, and the
//! `UPDATE t SET c = <value> WHERE c IS NULL` that gives a `SET NOT NULL` its value for NULLs.
//! Types and expressions are rendered back to SQL by the same library's deparser.

use pg_query::protobuf::{
    self, AlterTableType, ConstrType, DropBehavior, NullTestType, ObjectType,
};
use pg_query::{DeparseOptions, NodeEnum};

/// A table as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableRef {
    pub(super) schema: Option<String>,
    pub(super) name: String,
}

impl TableRef {
    fn of(relation: Option<&protobuf::RangeVar>) -> Option<TableRef> {
        let relation = relation?;
        Some(TableRef {
            schema: (!relation.schemaname.is_empty()).then(|| relation.schemaname.clone()),
            name: relation.relname.clone(),
        })
    }
}

/// One operation a statement asks for.
#[derive(Debug, Clone)]
pub(super) enum Request {
    RenameColumn {
        from: String,
        to: String,
    },
    ChangeType {
        column: String,
        /// The new type as SQL (`bigint`, `numeric(12,2)`).
        type_sql: String,
        /// The `USING` expression, over the table's columns.
        using: Option<String>,
    },
    SetNotNull {
        column: String,
    },
    AddForeignKey {
        /// The constraint's name, if the statement gives one.
        name: Option<String>,
        columns: Vec<String>,
        /// `ALTER TABLE <table> ADD CONSTRAINT <name> FOREIGN KEY ... NOT VALID`, with `{name}`
        /// where the constraint's name goes.
        sql_template: String,
    },
    DropColumn {
        column: String,
    },
    /// `UPDATE <table> SET <column> = <value> WHERE <column> IS NULL`: the value a `SET NOT
    /// NULL` of the same column gives the rows (old and new) that have none.
    Fill {
        column: String,
        value: String,
    },
}

impl Request {
    /// The lint rules whose findings on the statement this operation makes moot.
    /// Every operation also makes `statement-after-access-exclusive` moot: the phases never
    /// hold a lock that blocks reads or writes across statements.
    pub(super) fn rules(&self) -> &'static [&'static str] {
        const HELD: &str = "statement-after-access-exclusive";
        match self {
            Request::RenameColumn { .. } => &["rename-column", HELD],
            Request::ChangeType { .. } => &["change-column-type", "table-rewrite", HELD],
            Request::SetNotNull { .. } => &["set-not-null", HELD],
            Request::AddForeignKey { .. } => &["foreign-key-not-valid", HELD],
            Request::DropColumn { .. } => &["drop-column", HELD],
            Request::Fill { .. } => &["unbatched-update", "mixed-schema-and-data", HELD],
        }
    }
}

/// The operations of one statement, on one table; `Err` with the reason when the statement is
/// not one strata can run in two phases.
pub(super) fn read(sql: &str) -> Result<(TableRef, Vec<Request>), String> {
    let parsed = pg_query::parse(sql, 0).map_err(|e| e.to_string())?;
    let node = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|raw| raw.stmt.as_ref())
        .and_then(|node| node.node.as_ref())
        .ok_or("not a statement")?;
    match node {
        NodeEnum::RenameStmt(stmt)
            if stmt.rename_type == ObjectType::ObjectColumn as i32
                && stmt.relation_type == ObjectType::ObjectTable as i32 =>
        {
            let table = TableRef::of(stmt.relation.as_ref()).ok_or("no table")?;
            Ok((
                table,
                vec![Request::RenameColumn {
                    from: stmt.subname.clone(),
                    to: stmt.newname.clone(),
                }],
            ))
        }
        NodeEnum::AlterTableStmt(stmt) if stmt.objtype == ObjectType::ObjectTable as i32 => {
            let table = TableRef::of(stmt.relation.as_ref()).ok_or("no table")?;
            let mut requests = Vec::new();
            for cmd in &stmt.cmds {
                let Some(NodeEnum::AlterTableCmd(cmd)) = cmd.node.as_ref() else {
                    return Err("an ALTER TABLE subcommand strata cannot read".into());
                };
                requests.push(alter_table_cmd(sql, stmt, cmd)?);
            }
            Ok((table, requests))
        }
        NodeEnum::UpdateStmt(stmt) => fill(stmt),
        _ => {
            Err("not a column rename, type change, SET NOT NULL, foreign key or column drop".into())
        }
    }
}

fn alter_table_cmd(
    sql: &str,
    stmt: &protobuf::AlterTableStmt,
    cmd: &protobuf::AlterTableCmd,
) -> Result<Request, String> {
    let subtype = AlterTableType::try_from(cmd.subtype).map_err(|e| e.to_string())?;
    match subtype {
        AlterTableType::AtAlterColumnType => {
            let Some(NodeEnum::ColumnDef(def)) = cmd.def.as_ref().and_then(|d| d.node.as_ref())
            else {
                return Err("ALTER COLUMN TYPE without a type".into());
            };
            if def.coll_clause.is_some() {
                return Err("a type change with COLLATE".into());
            }
            let type_name = def
                .type_name
                .clone()
                .ok_or("ALTER COLUMN TYPE without a type")?;
            Ok(Request::ChangeType {
                column: cmd.name.clone(),
                type_sql: type_sql(type_name)?,
                using: def.raw_default.as_deref().map(expression_sql).transpose()?,
            })
        }
        AlterTableType::AtSetNotNull => Ok(Request::SetNotNull {
            column: cmd.name.clone(),
        }),
        AlterTableType::AtDropColumn => {
            if cmd.behavior == DropBehavior::DropCascade as i32 {
                return Err("DROP COLUMN ... CASCADE drops what depends on the column".into());
            }
            Ok(Request::DropColumn {
                column: cmd.name.clone(),
            })
        }
        AlterTableType::AtAddConstraint => {
            let Some(NodeEnum::Constraint(constraint)) =
                cmd.def.as_ref().and_then(|d| d.node.as_ref())
            else {
                return Err("ADD CONSTRAINT without a constraint".into());
            };
            if constraint.contype != ConstrType::ConstrForeign as i32 {
                return Err("a constraint other than a foreign key".into());
            }
            if constraint.skip_validation {
                return Err("a foreign key already added NOT VALID".into());
            }
            let columns = constraint
                .fk_attrs
                .iter()
                .filter_map(|n| match n.node.as_ref() {
                    Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                    _ => None,
                })
                .collect();
            Ok(Request::AddForeignKey {
                name: (!constraint.conname.is_empty()).then(|| constraint.conname.clone()),
                columns,
                sql_template: foreign_key_template(stmt, cmd, constraint)?,
            })
        }
        _ => Err(format!(
            "`{}` is not an ALTER TABLE strata can run in two phases",
            sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ")
        )),
    }
}

/// `UPDATE t SET c = v WHERE c IS NULL`, and nothing more.
fn fill(stmt: &protobuf::UpdateStmt) -> Result<(TableRef, Vec<Request>), String> {
    let refuse = || "an UPDATE other than `UPDATE t SET c = <value> WHERE c IS NULL`".to_owned();
    if !stmt.from_clause.is_empty() || stmt.returning_clause.is_some() || stmt.with_clause.is_some()
    {
        return Err(refuse());
    }
    let table = TableRef::of(stmt.relation.as_ref()).ok_or_else(refuse)?;
    let [target] = stmt.target_list.as_slice() else {
        return Err(refuse());
    };
    let Some(NodeEnum::ResTarget(target)) = target.node.as_ref() else {
        return Err(refuse());
    };
    let Some(NodeEnum::NullTest(test)) = stmt.where_clause.as_ref().and_then(|w| w.node.as_ref())
    else {
        return Err(refuse());
    };
    let tested = test
        .arg
        .as_deref()
        .and_then(column_name)
        .ok_or_else(refuse)?;
    if test.nulltesttype != NullTestType::IsNull as i32 || tested != target.name {
        return Err(refuse());
    }
    let value = target.val.as_deref().ok_or_else(refuse)?;
    Ok((
        table,
        vec![Request::Fill {
            column: target.name.clone(),
            value: expression_sql(value)?,
        }],
    ))
}

/// The column a `ColumnRef` names (its last part).
fn column_name(node: &protobuf::Node) -> Option<String> {
    let Some(NodeEnum::ColumnRef(column)) = node.node.as_ref() else {
        return None;
    };
    match column.fields.last()?.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.clone()),
        _ => None,
    }
}

/// The foreign key as `ALTER TABLE <table> ADD CONSTRAINT {name} ... NOT VALID`, deparsed.
fn foreign_key_template(
    stmt: &protobuf::AlterTableStmt,
    cmd: &protobuf::AlterTableCmd,
    constraint: &protobuf::Constraint,
) -> Result<String, String> {
    const PLACEHOLDER: &str = "strata_constraint_name_placeholder";
    let mut constraint = constraint.clone();
    constraint.conname = PLACEHOLDER.into();
    constraint.skip_validation = true;
    constraint.initially_valid = false;
    let mut cmd = cmd.clone();
    cmd.def = Some(Box::new(protobuf::Node {
        node: Some(NodeEnum::Constraint(Box::new(constraint))),
    }));
    let mut stmt = stmt.clone();
    stmt.cmds = vec![protobuf::Node {
        node: Some(NodeEnum::AlterTableCmd(Box::new(cmd))),
    }];
    let sql = deparse(NodeEnum::AlterTableStmt(stmt))?;
    Ok(sql.replace(PLACEHOLDER, "{name}"))
}

/// An expression as SQL: deparsed as `SELECT <expr>`, with the `SELECT ` taken off.
pub(super) fn expression_sql(node: &protobuf::Node) -> Result<String, String> {
    let mut select = select_template("SELECT 1")?;
    let target = select
        .target_list
        .first_mut()
        .and_then(|t| match t.node.as_mut() {
            Some(NodeEnum::ResTarget(target)) => Some(target),
            _ => None,
        })
        .ok_or("no target in the template")?;
    target.val = Some(Box::new(node.clone()));
    let sql = deparse(NodeEnum::SelectStmt(Box::new(select)))?;
    sql.strip_prefix("SELECT ")
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected deparse `{sql}`"))
}

/// A type name as SQL: deparsed as `SELECT NULL::<type>`, with the `SELECT NULL::` taken off.
fn type_sql(type_name: protobuf::TypeName) -> Result<String, String> {
    let mut select = select_template("SELECT NULL::int")?;
    let cast = select
        .target_list
        .first_mut()
        .and_then(|t| match t.node.as_mut() {
            Some(NodeEnum::ResTarget(target)) => target.val.as_deref_mut(),
            _ => None,
        })
        .and_then(|v| match v.node.as_mut() {
            Some(NodeEnum::TypeCast(cast)) => Some(cast),
            _ => None,
        })
        .ok_or("no cast in the template")?;
    cast.type_name = Some(type_name);
    let sql = deparse(NodeEnum::SelectStmt(Box::new(select)))?;
    sql.strip_prefix("SELECT NULL::")
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected deparse `{sql}`"))
}

fn select_template(sql: &str) -> Result<protobuf::SelectStmt, String> {
    match first_statement(sql)? {
        Some(NodeEnum::SelectStmt(select)) => Ok(*select),
        _ => Err("the template is not a SELECT".into()),
    }
}

/// The parse tree of the first statement of `sql`.
pub(super) fn first_statement(sql: &str) -> Result<Option<NodeEnum>, String> {
    let parsed = pg_query::parse(sql, 0).map_err(|e| e.to_string())?;
    Ok(parsed
        .protobuf
        .stmts
        .into_iter()
        .next()
        .and_then(|raw| raw.stmt)
        .and_then(|node| node.node))
}

fn deparse(node: NodeEnum) -> Result<String, String> {
    node.deparse(DeparseOptions::default())
        .map_err(|e| format!("cannot render the statement back to SQL: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> (TableRef, Request) {
        let (table, mut requests) = read(sql).unwrap();
        assert_eq!(requests.len(), 1, "{requests:?}");
        (table, requests.remove(0))
    }

    #[test]
    fn reads_renames_type_changes_and_drops() {
        let (table, request) = one("ALTER TABLE app.users RENAME COLUMN name TO full_name");
        assert_eq!(table.schema.as_deref(), Some("app"));
        assert_eq!(table.name, "users");
        assert!(
            matches!(request, Request::RenameColumn { from, to } if from == "name" && to == "full_name")
        );
        let (_, request) = one(
            "ALTER TABLE users ALTER COLUMN score TYPE numeric(12, 2) USING score::numeric / 100",
        );
        let Request::ChangeType {
            column,
            type_sql,
            using,
        } = request
        else {
            panic!("{request:?}")
        };
        assert_eq!(column, "score");
        assert_eq!(type_sql, "numeric(12, 2)");
        assert_eq!(using.as_deref(), Some("score::numeric / 100"));
        let (_, request) = one("ALTER TABLE users ALTER id SET DATA TYPE bigint");
        assert!(
            matches!(request, Request::ChangeType { using: None, ref type_sql, .. } if type_sql == "bigint")
        );
        assert!(matches!(
            one("ALTER TABLE users DROP COLUMN legacy").1,
            Request::DropColumn { column } if column == "legacy"
        ));
        assert!(read("ALTER TABLE users DROP COLUMN legacy CASCADE").is_err());
    }

    #[test]
    fn reads_foreign_keys_with_a_name_slot() {
        let (_, request) = one(
            "ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE",
        );
        let Request::AddForeignKey {
            name,
            columns,
            sql_template,
        } = request
        else {
            panic!("{request:?}")
        };
        assert_eq!(name, None);
        assert_eq!(columns, ["user_id"]);
        assert_eq!(
            sql_template,
            "ALTER TABLE orders ADD CONSTRAINT {name} FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID"
        );
        assert!(
            read(
                "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id) NOT VALID"
            )
            .is_err()
        );
        assert!(read("ALTER TABLE orders ADD CONSTRAINT c CHECK (a > 0)").is_err());
    }

    #[test]
    fn reads_fill_updates_only_in_their_exact_form() {
        let (_, request) = one("UPDATE users SET status = 'new' WHERE status IS NULL");
        assert!(
            matches!(request, Request::Fill { column, value } if column == "status" && value == "'new'")
        );
        assert!(read("UPDATE users SET status = 'new' WHERE other IS NULL").is_err());
        assert!(read("UPDATE users SET status = 'new'").is_err());
        assert!(read("UPDATE users SET status = 'new' WHERE status IS NOT NULL").is_err());
    }

    #[test]
    fn every_rule_an_operation_lowers_is_one_the_linter_lowers_for_expand_files() {
        for sql in [
            "ALTER TABLE t RENAME COLUMN a TO b",
            "ALTER TABLE t ALTER COLUMN a TYPE bigint",
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
            "ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u (id)",
            "ALTER TABLE t DROP COLUMN a",
            "UPDATE t SET a = 0 WHERE a IS NULL",
        ] {
            let (_, request) = one(sql);
            for rule in request.rules() {
                assert!(strata_core::expand::EXPAND_RULES.contains(rule), "{rule}");
            }
        }
    }

    #[test]
    fn several_subcommands_are_several_operations() {
        let (_, requests) =
            read("ALTER TABLE users ALTER COLUMN a SET NOT NULL, DROP COLUMN b").unwrap();
        assert_eq!(requests.len(), 2);
        assert!(read("ALTER TABLE users ALTER COLUMN a SET NOT NULL, ADD COLUMN c int").is_err());
        assert!(read("CREATE INDEX i ON users (a)").is_err());
    }
}

//! Which table locks a statement takes, read from its parse tree.
//!
//! The runner uses this to look, before it joins a lock queue, for old transactions holding a
//! conflicting lock (see `strata_core::locks`). Only the locks that can stall the application
//! matter there, so statements that take at most `ROW EXCLUSIVE` (plain DML) report nothing.
//! Where an `ALTER TABLE` mixes subcommands, the strongest lock wins, as in PostgreSQL.

use pg_query::NodeEnum;
use pg_query::protobuf::{AlterTableType, ConstrType, ObjectType, RangeVar};
use strata_core::{LockMode, TableLock};

/// The table locks `node` takes that block reads or writes, or that conflict with other DDL.
pub(crate) fn table_locks(node: &NodeEnum) -> Vec<TableLock> {
    match node {
        NodeEnum::AlterTableStmt(stmt) if stmt.objtype == ObjectType::ObjectTable as i32 => {
            let mut locks = Vec::new();
            let mut mode = LockMode::ShareUpdateExclusive;
            for cmd in stmt.cmds.iter().filter_map(|c| match &c.node {
                Some(NodeEnum::AlterTableCmd(cmd)) => Some(cmd),
                _ => None,
            }) {
                let (cmd_mode, referenced) = alter_command_lock(cmd);
                mode = mode.max(cmd_mode);
                locks.extend(referenced.map(|table| lock(table, LockMode::ShareRowExclusive)));
            }
            locks.extend(stmt.relation.as_ref().map(|table| lock(table, mode)));
            locks
        }
        NodeEnum::IndexStmt(stmt) => {
            let mode = if stmt.concurrent {
                LockMode::ShareUpdateExclusive
            } else {
                LockMode::Share
            };
            stmt.relation
                .iter()
                .map(|table| lock(table, mode))
                .collect()
        }
        NodeEnum::RenameStmt(stmt) => stmt
            .relation
            .iter()
            .map(|table| lock(table, LockMode::AccessExclusive))
            .collect(),
        NodeEnum::TruncateStmt(stmt) => relations(&stmt.relations, LockMode::AccessExclusive),
        NodeEnum::CreateTrigStmt(stmt) => stmt
            .relation
            .iter()
            .map(|table| lock(table, LockMode::ShareRowExclusive))
            .collect(),
        NodeEnum::LockStmt(stmt) => match lock_mode_number(stmt.mode) {
            Some(mode) => relations(&stmt.relations, mode),
            None => Vec::new(),
        },
        NodeEnum::ClusterStmt(stmt) => stmt
            .relation
            .iter()
            .map(|table| lock(table, LockMode::AccessExclusive))
            .collect(),
        NodeEnum::VacuumStmt(stmt) if is_vacuum_full(stmt) => {
            let tables = stmt.rels.iter().filter_map(|rel| match &rel.node {
                Some(NodeEnum::VacuumRelation(rel)) => rel.relation.as_ref(),
                _ => None,
            });
            tables
                .map(|table| lock(table, LockMode::AccessExclusive))
                .collect()
        }
        NodeEnum::DropStmt(stmt) if stmt.remove_type == ObjectType::ObjectTable as i32 => stmt
            .objects
            .iter()
            .filter_map(|object| match &object.node {
                Some(NodeEnum::List(list)) => qualified_name(&list.items),
                _ => None,
            })
            .map(|(schema, table)| TableLock {
                schema,
                table,
                mode: LockMode::AccessExclusive,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The lock one `ALTER TABLE` subcommand needs, and the table a new foreign key references.
fn alter_command_lock(cmd: &pg_query::protobuf::AlterTableCmd) -> (LockMode, Option<&RangeVar>) {
    let subtype = AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined);
    match subtype {
        AlterTableType::AtValidateConstraint
        | AlterTableType::AtSetStatistics
        | AlterTableType::AtClusterOn
        | AlterTableType::AtDropCluster
        | AlterTableType::AtAttachPartition => (LockMode::ShareUpdateExclusive, None),
        AlterTableType::AtEnableTrig
        | AlterTableType::AtDisableTrig
        | AlterTableType::AtEnableTrigAll
        | AlterTableType::AtDisableTrigAll
        | AlterTableType::AtEnableTrigUser
        | AlterTableType::AtDisableTrigUser => (LockMode::ShareRowExclusive, None),
        AlterTableType::AtAddConstraint => match cmd.def.as_deref().and_then(|d| d.node.as_ref()) {
            Some(NodeEnum::Constraint(c)) if c.contype == ConstrType::ConstrForeign as i32 => {
                (LockMode::ShareRowExclusive, c.pktable.as_ref())
            }
            _ => (LockMode::AccessExclusive, None),
        },
        _ => (LockMode::AccessExclusive, None),
    }
}

fn is_vacuum_full(stmt: &pg_query::protobuf::VacuumStmt) -> bool {
    stmt.is_vacuumcmd
        && stmt.options.iter().any(
            |option| matches!(&option.node, Some(NodeEnum::DefElem(def)) if def.defname == "full"),
        )
}

fn lock(table: &RangeVar, mode: LockMode) -> TableLock {
    TableLock {
        schema: Some(table.schemaname.clone()).filter(|s| !s.is_empty()),
        table: table.relname.clone(),
        mode,
    }
}

fn relations(nodes: &[pg_query::protobuf::Node], mode: LockMode) -> Vec<TableLock> {
    nodes
        .iter()
        .filter_map(|node| match &node.node {
            Some(NodeEnum::RangeVar(table)) => Some(lock(table, mode)),
            _ => None,
        })
        .collect()
}

/// `schema.table` or `table` from a list of name parts.
fn qualified_name(parts: &[pg_query::protobuf::Node]) -> Option<(Option<String>, String)> {
    let names: Vec<&str> = parts
        .iter()
        .filter_map(|part| match &part.node {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect();
    match names.as_slice() {
        [table] => Some((None, (*table).to_owned())),
        [.., schema, table] => Some((Some((*schema).to_owned()), (*table).to_owned())),
        [] => None,
    }
}

/// `LOCK TABLE`'s mode number (1 = ACCESS SHARE ... 8 = ACCESS EXCLUSIVE).
fn lock_mode_number(mode: i32) -> Option<LockMode> {
    usize::try_from(mode)
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|i| LockMode::ALL.get(i).copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locks(sql: &str) -> Vec<(String, LockMode)> {
        let parsed = pg_query::parse(sql, 0).unwrap();
        let node = parsed.protobuf.stmts[0]
            .stmt
            .as_ref()
            .unwrap()
            .node
            .as_ref()
            .unwrap()
            .clone();
        table_locks(&node)
            .into_iter()
            .map(|l| (l.qualified_name(), l.mode))
            .collect()
    }

    #[test]
    fn alter_table_takes_the_strongest_lock_of_its_subcommands() {
        use LockMode::*;
        assert_eq!(
            locks("ALTER TABLE s.t ADD COLUMN c int"),
            [("s.t".into(), AccessExclusive)]
        );
        assert_eq!(
            locks("ALTER TABLE t VALIDATE CONSTRAINT c"),
            [("t".into(), ShareUpdateExclusive)]
        );
        assert_eq!(
            locks("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID"),
            [
                ("u".into(), ShareRowExclusive),
                ("t".into(), ShareRowExclusive)
            ]
        );
        assert_eq!(
            locks("ALTER TABLE t VALIDATE CONSTRAINT c, ALTER COLUMN a SET NOT NULL"),
            [("t".into(), AccessExclusive)]
        );
    }

    #[test]
    fn other_statements() {
        use LockMode::*;
        assert_eq!(locks("CREATE INDEX i ON t (a)"), [("t".into(), Share)]);
        assert_eq!(
            locks("CREATE INDEX CONCURRENTLY i ON t (a)"),
            [("t".into(), ShareUpdateExclusive)]
        );
        assert_eq!(
            locks("ALTER TABLE t RENAME COLUMN a TO b"),
            [("t".into(), AccessExclusive)]
        );
        assert_eq!(
            locks("TRUNCATE a, b"),
            [("a".into(), AccessExclusive), ("b".into(), AccessExclusive)]
        );
        assert_eq!(locks("LOCK TABLE t IN SHARE MODE"), [("t".into(), Share)]);
        assert_eq!(locks("VACUUM FULL t"), [("t".into(), AccessExclusive)]);
        assert!(locks("VACUUM t").is_empty());
        assert_eq!(locks("DROP TABLE s.t"), [("s.t".into(), AccessExclusive)]);
        assert!(locks("UPDATE t SET a = 1").is_empty());
        assert!(locks("CREATE TABLE t (a int)").is_empty());
    }
}

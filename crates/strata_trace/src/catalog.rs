//! Snapshots of the tracing session's view of the catalog, and what changed between two of them:
//! the locks the session holds (`pg_locks` for its own backend), the storage of every relation
//! (`pg_class.relfilenode`, which a rewrite replaces), columns and constraints.
//!
//! Only the user's schemas count: `pg_catalog`, `information_schema`, TOAST and temporary schemas
//! are left out, which also leaves out the catalog locks of the snapshot queries themselves.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use strata_core::{DriverError, LockMode};

use crate::model::{
    Blocks, Change, ColumnChange, ColumnState, ConstraintChange, ConstraintKind, LockTaken,
    Relation, RelationAge, RelationKind,
};
use crate::session::Session;

/// The schemas a migration's objects can live in.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'";

/// The catalog at one moment, as the tracing session sees it.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    relations: HashMap<u32, RelationRow>,
    columns: BTreeMap<(u32, i16), ColumnRow>,
    constraints: BTreeMap<u32, ConstraintRow>,
    /// Relation locks the session holds: (relation OID, mode).
    locks: BTreeSet<(u32, LockMode)>,
}

#[derive(Debug)]
struct RelationRow {
    name: String,
    kind: RelationKind,
    filenode: u32,
}

#[derive(Debug)]
struct ColumnRow {
    name: String,
    state: ColumnState,
}

#[derive(Debug)]
struct ConstraintRow {
    table: u32,
    name: String,
    kind: ConstraintKind,
    validated: bool,
    definition: String,
    index: u32,
}

impl Snapshot {
    pub(crate) fn take(session: &Session) -> Result<Snapshot, DriverError> {
        let mut snapshot = Snapshot::default();
        let relations = format!(
            "SELECT c.oid, n.nspname || '.' || c.relname, c.relkind::text, c.relfilenode \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'i', 'I', 'm', 'v', 'S') AND {USER_SCHEMA}"
        );
        for row in session.query(&relations, &[])? {
            let relkind: String = row.get(2);
            let Some(kind) = RelationKind::from_relkind(&relkind) else {
                continue;
            };
            snapshot.relations.insert(
                row.get(0),
                RelationRow {
                    name: row.get(1),
                    kind,
                    filenode: row.get(3),
                },
            );
        }
        let columns = format!(
            "SELECT a.attrelid, a.attnum, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND {USER_SCHEMA}"
        );
        for row in session.query(&columns, &[])? {
            snapshot.columns.insert(
                (row.get(0), row.get(1)),
                ColumnRow {
                    name: row.get(2),
                    state: ColumnState {
                        data_type: row.get(3),
                        not_null: row.get(4),
                        default: row.get(5),
                    },
                },
            );
        }
        let constraints = format!(
            "SELECT co.oid, co.conrelid, co.conname::text, co.contype::text, co.convalidated, \
                    pg_get_constraintdef(co.oid), co.conindid \
             FROM pg_constraint co \
             JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {USER_SCHEMA}"
        );
        for row in session.query(&constraints, &[])? {
            let contype: String = row.get(3);
            let Some(kind) = ConstraintKind::from_contype(&contype) else {
                continue;
            };
            snapshot.constraints.insert(
                row.get(0),
                ConstraintRow {
                    table: row.get(1),
                    name: row.get(2),
                    kind,
                    validated: row.get(4),
                    definition: row.get(5),
                    index: row.get(6),
                },
            );
        }
        // A relation the transaction dropped has no pg_class row any more but is still locked:
        // keep locks without a row, named from an earlier snapshot.
        let locks = format!(
            "SELECT l.relation, l.mode FROM pg_locks l \
             LEFT JOIN pg_class c ON c.oid = l.relation \
             LEFT JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted \
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
               AND (c.oid IS NULL OR ({USER_SCHEMA}))"
        );
        for row in session.query(&locks, &[])? {
            let mode: String = row.get(1);
            if let Some(mode) = LockMode::ALL.into_iter().find(|m| m.pg_name() == mode) {
                snapshot.locks.insert((row.get(0), mode));
            }
        }
        Ok(snapshot)
    }

    /// The OIDs of every relation.
    pub(crate) fn relation_oids(&self) -> HashSet<u32> {
        self.relations.keys().copied().collect()
    }
}

/// Tells how old a relation is, for one migration.
pub(crate) struct Ages<'a> {
    /// Relations that existed when the migration began.
    pub(crate) before_migration: &'a HashSet<u32>,
    /// Relations earlier traced migrations created.
    pub(crate) created_by_trace: &'a HashSet<u32>,
}

impl Ages<'_> {
    pub(crate) fn of(&self, oid: u32) -> RelationAge {
        if !self.before_migration.contains(&oid) {
            RelationAge::CreatedInMigration
        } else if self.created_by_trace.contains(&oid) {
            RelationAge::CreatedEarlierInTrace
        } else {
            RelationAge::Existing
        }
    }
}

/// What one statement changed, from the snapshots before and after it.
#[derive(Debug, Default)]
pub(crate) struct StatementChanges {
    pub(crate) locks: Vec<LockTaken>,
    pub(crate) rewrites: Vec<Relation>,
    pub(crate) created: Vec<Relation>,
    pub(crate) dropped: Vec<Relation>,
    pub(crate) columns: Vec<ColumnChange>,
    pub(crate) constraints: Vec<ConstraintChange>,
    /// OIDs of the constraints the statement added.
    pub(crate) added_constraints: Vec<u32>,
}

/// Compares two snapshots of the same transaction (or of consecutive ones).
pub(crate) fn changes(before: &Snapshot, after: &Snapshot, ages: &Ages<'_>) -> StatementChanges {
    let relation = |oid: u32| -> Option<Relation> {
        let row = after
            .relations
            .get(&oid)
            .or_else(|| before.relations.get(&oid))?;
        Some(Relation {
            oid,
            name: row.name.clone(),
            kind: row.kind,
            age: ages.of(oid),
        })
    };
    let mut changes = StatementChanges::default();

    for &(oid, mode) in after.locks.difference(&before.locks) {
        if let Some(relation) = relation(oid) {
            changes.locks.push(LockTaken {
                relation,
                mode,
                blocks: Blocks::of(mode),
            });
        }
    }
    for (oid, row) in &after.relations {
        match before.relations.get(oid) {
            None => changes.created.extend(relation(*oid)),
            Some(old) if old.filenode != row.filenode && row.filenode != 0 => {
                changes.rewrites.extend(relation(*oid));
            }
            Some(_) => {}
        }
    }
    for oid in before.relations.keys() {
        if !after.relations.contains_key(oid) {
            changes.dropped.extend(relation(*oid));
        }
    }
    let created: HashSet<u32> = changes.created.iter().map(|r| r.oid).collect();
    for (&(table, attnum), column) in &after.columns {
        if created.contains(&table) {
            continue;
        }
        let old = before.columns.get(&(table, attnum));
        let change = match old {
            None => Change::Added,
            Some(old) if old.state != column.state || old.name != column.name => Change::Changed,
            Some(_) => continue,
        };
        changes.columns.extend(relation(table).map(|table| {
            ColumnChange {
                table,
                column: column.name.clone(),
                renamed_from: old
                    .filter(|old| old.name != column.name)
                    .map(|old| old.name.clone()),
                change,
                before: old.map(|o| o.state.clone()),
                after: Some(column.state.clone()),
            }
        }));
    }
    for (&(table, attnum), column) in &before.columns {
        if after.relations.contains_key(&table) && !after.columns.contains_key(&(table, attnum)) {
            changes
                .columns
                .extend(relation(table).map(|table| ColumnChange {
                    table,
                    column: column.name.clone(),
                    renamed_from: None,
                    change: Change::Dropped,
                    before: Some(column.state.clone()),
                    after: None,
                }));
        }
    }
    for (oid, constraint) in &after.constraints {
        let change = match before.constraints.get(oid) {
            None => Change::Added,
            Some(old)
                if old.validated != constraint.validated
                    || old.definition != constraint.definition =>
            {
                Change::Changed
            }
            Some(_) => continue,
        };
        if change == Change::Added {
            changes.added_constraints.push(*oid);
        }
        changes
            .constraints
            .extend(relation(constraint.table).map(|table| ConstraintChange {
                oid: *oid,
                table,
                name: constraint.name.clone(),
                kind: constraint.kind,
                change,
                validated: constraint.validated,
                definition: constraint.definition.clone(),
                built_index: change == Change::Added && created.contains(&constraint.index),
            }));
    }
    for (oid, constraint) in &before.constraints {
        if !after.constraints.contains_key(oid) && after.relations.contains_key(&constraint.table) {
            changes
                .constraints
                .extend(relation(constraint.table).map(|table| ConstraintChange {
                    oid: *oid,
                    table,
                    name: constraint.name.clone(),
                    kind: constraint.kind,
                    change: Change::Dropped,
                    validated: constraint.validated,
                    definition: constraint.definition.clone(),
                    built_index: false,
                }));
        }
    }
    for list in [
        &mut changes.rewrites,
        &mut changes.created,
        &mut changes.dropped,
    ] {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    changes
        .locks
        .sort_by(|a, b| (&a.relation.name, a.mode).cmp(&(&b.relation.name, b.mode)));
    changes
}

/// Of the foreign keys `constraints`, those whose referencing columns no index covers (as the
/// leading columns of a non-partial index), with those columns' names.
pub(crate) fn unindexed_foreign_keys(
    session: &Session,
    constraints: &[u32],
) -> Result<Vec<(u32, Vec<String>)>, DriverError> {
    if constraints.is_empty() {
        return Ok(Vec::new());
    }
    let sql = "SELECT co.oid, ARRAY(SELECT a.attname::text \
                   FROM unnest(co.conkey) WITH ORDINALITY AS k(attnum, position) \
                   JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.attnum \
                   ORDER BY k.position) \
               FROM pg_constraint co \
               WHERE co.oid = ANY($1) AND co.contype = 'f' AND NOT EXISTS ( \
                   SELECT 1 FROM pg_index i \
                   WHERE i.indrelid = co.conrelid AND i.indpred IS NULL \
                     AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(co.conkey)] \
                         @> co.conkey)";
    let oids: Vec<u32> = constraints.to_vec();
    Ok(session
        .query(sql, &[&oids])?
        .into_iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

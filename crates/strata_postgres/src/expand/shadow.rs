//! Shadow columns: how an operation that changes a column's values or type (a type change,
//! `SET NOT NULL`) keeps both shapes working. The new column is added beside the old one
//! (nullable, without a default, so adding it rewrites nothing), the table's sync trigger keeps
//! the two in step in both directions, a backfill fills it for the rows that were there, and
//! its indexes are built concurrently. On complete, the old column is dropped and the shadow
//! renamed into its place in one short transaction; on abort, the shadow is dropped.

use pg_query::NodeEnum;
use pg_query::protobuf;

use super::Refusal;
use super::table::{Column, Table};
use crate::errors::{quote_ident, sql_literal};

/// Longest identifier PostgreSQL keeps (`NAMEDATALEN - 1`).
pub(super) const MAX_IDENTIFIER: usize = 63;

/// A column's shadow.
#[derive(Debug, Clone)]
pub(super) struct Shadow {
    pub(super) column: String,
    pub(super) shadow: String,
    pub(super) type_sql: String,
    /// The old column's type: what the new application's writes are cast back to.
    pub(super) old_type_sql: String,
    /// The shadow's value, over the table's columns (the backfill's `SET`).
    pub(super) up: String,
    /// The final column is NOT NULL: a `NOT VALID` check on the shadow holds it for new rows,
    /// is validated without blocking writes on complete, and lets `SET NOT NULL` skip its scan.
    pub(super) not_null_check: Option<String>,
    pub(super) default: Option<String>,
    pub(super) owned_sequences: Vec<String>,
    pub(super) indexes: Vec<IndexCopy>,
}

/// An index of the old column, built again on the shadow.
#[derive(Debug, Clone)]
pub(super) struct IndexCopy {
    pub(super) original: String,
    pub(super) copy: String,
    /// The unique constraint the original backs, which the copy backs after the swap.
    pub(super) constraint: Option<String>,
    pub(super) build_sql: String,
}

impl Shadow {
    /// The shadow of `column` with type `type_sql`, filled with `up`. Refuses columns whose
    /// swap PostgreSQL would refuse or strata cannot reproduce: keys, identity and generated
    /// columns, columns that views, foreign keys, constraints or generated columns depend on.
    pub(super) fn new(
        table: &Table,
        column: &Column,
        type_sql: String,
        up: String,
        not_null: bool,
        default: Option<String>,
    ) -> Result<Shadow, Refusal> {
        let name = &column.name;
        let refuse = |what: String| {
            Refusal::new(
                format!("column {name} of {}: {what}", table.qualified()),
                "change it in steps by hand (add a column, backfill it, switch the application, drop the old one)",
            )
        };
        if column.identity || column.generated {
            return Err(refuse(
                "an identity or generated column cannot be swapped".into(),
            ));
        }
        if table.primary_key.iter().any(|c| c == name) {
            return Err(refuse("it is part of the primary key".into()));
        }
        if let Some(view) = column.dependent_views.first() {
            return Err(refuse(format!("view {view} uses it")));
        }
        if let Some(key) = column.referenced_by.first() {
            return Err(refuse(format!("foreign key {key} references it")));
        }
        if let Some(constraint) = column.constraints.first() {
            return Err(refuse(format!("it is part of constraint {constraint}")));
        }
        if let Some(generated) = column.generated_from.first() {
            return Err(refuse(format!(
                "generated column {generated} is computed from it"
            )));
        }
        let shadow = identifier(&format!("_strata_new_{name}"))?;
        let not_null_check = not_null
            .then(|| identifier(&format!("_strata_nn_{name}")))
            .transpose()?;
        let mut indexes = Vec::new();
        for index in table.indexes_on(name) {
            let copy = identifier(&format!("_strata_{}", index.name))?;
            let build_sql = copy_index(&index.definition, name, &shadow, &copy).map_err(|why| {
                refuse(format!(
                    "index {} cannot be copied to the new column: {why}",
                    index.name
                ))
            })?;
            indexes.push(IndexCopy {
                original: index.name.clone(),
                copy,
                constraint: index.constraint.clone(),
                build_sql,
            });
        }
        Ok(Shadow {
            column: name.clone(),
            shadow,
            type_sql,
            old_type_sql: column.type_sql.clone(),
            up,
            not_null_check,
            default,
            owned_sequences: column.owned_sequences.clone(),
            indexes,
        })
    }

    /// Expand, inside the table's `DO` block: the shadow column and its `NOT VALID` check.
    pub(super) fn add(&self, table: &Table) -> Vec<String> {
        let mut sql = vec![format!(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
            table.qualified(),
            quote_ident(&self.shadow),
            self.type_sql
        )];
        if let Some(check) = &self.not_null_check {
            sql.push(guard_constraint(
                table,
                check,
                &format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID",
                    table.qualified(),
                    quote_ident(check),
                    quote_ident(&self.shadow)
                ),
            ));
        }
        sql
    }

    /// The sync trigger's two directions: from the new application (which writes the shadow
    /// through the version schema's view) back to the old column, and from the old application
    /// (which writes the old column) to the shadow.
    pub(super) fn to_old(&self) -> String {
        format!(
            "NEW.{} := CAST(NEW.{} AS {});",
            quote_ident(&self.column),
            quote_ident(&self.shadow),
            self.old_type_sql
        )
    }

    pub(super) fn to_new(&self, table: &Table) -> String {
        format!(
            "NEW.{} := (SELECT {} FROM (SELECT NEW.*) AS {});",
            quote_ident(&self.shadow),
            self.up,
            quote_ident(&table.name)
        )
    }

    /// Complete, before the swap: validating the check scans the table without blocking writes.
    pub(super) fn validate(&self, table: &Table) -> Option<String> {
        self.not_null_check
            .as_ref()
            .map(|check| validate_constraint(table, check))
    }

    /// Complete, inside the swap's `DO` block, guarded by the shadow still existing (so a
    /// second run does nothing): the old column goes, the shadow takes its name, default,
    /// sequences, NOT NULL and indexes.
    pub(super) fn swap(&self, table: &Table) -> String {
        let qualified = table.qualified();
        let column = quote_ident(&self.column);
        let mut body = Vec::new();
        for sequence in &self.owned_sequences {
            body.push(format!(
                "ALTER SEQUENCE {sequence} OWNED BY {qualified}.{}",
                quote_ident(&self.shadow)
            ));
        }
        body.push(format!("ALTER TABLE {qualified} DROP COLUMN {column}"));
        body.push(format!(
            "ALTER TABLE {qualified} RENAME COLUMN {} TO {column}",
            quote_ident(&self.shadow)
        ));
        if let Some(default) = &self.default {
            body.push(format!(
                "ALTER TABLE {qualified} ALTER COLUMN {column} SET DEFAULT {default}"
            ));
        }
        if let Some(check) = &self.not_null_check {
            body.push(format!(
                "ALTER TABLE {qualified} ALTER COLUMN {column} SET NOT NULL"
            ));
            body.push(format!(
                "ALTER TABLE {qualified} DROP CONSTRAINT {}",
                quote_ident(check)
            ));
        }
        for index in &self.indexes {
            body.push(match &index.constraint {
                Some(constraint) => format!(
                    "ALTER TABLE {qualified} ADD CONSTRAINT {} UNIQUE USING INDEX {}",
                    quote_ident(constraint),
                    quote_ident(&index.copy)
                ),
                None => format!(
                    "ALTER INDEX {}.{} RENAME TO {}",
                    quote_ident(&table.schema),
                    quote_ident(&index.copy),
                    quote_ident(&index.original)
                ),
            });
        }
        format!(
            "IF {} THEN\n    {};\n  END IF;",
            column_exists(table, &self.shadow),
            body.join(";\n    ")
        )
    }

    /// Abort, inside its `DO` block: the shadow goes, and with it its check and index copies.
    pub(super) fn drop(&self, table: &Table) -> String {
        format!(
            "ALTER TABLE {} DROP COLUMN IF EXISTS {};",
            table.qualified(),
            quote_ident(&self.shadow)
        )
    }
}

/// `name` as an identifier PostgreSQL keeps whole; a longer one would be cut, and two cuts
/// could collide.
pub(super) fn identifier(name: &str) -> Result<String, Refusal> {
    if name.len() > MAX_IDENTIFIER {
        return Err(Refusal::new(
            format!("the name strata needs, {name}, is longer than PostgreSQL's 63 bytes"),
            "rename the column or index to something shorter first",
        ));
    }
    Ok(name.to_owned())
}

/// A SQL condition: the column exists (and was not dropped).
pub(super) fn column_exists(table: &Table, column: &str) -> String {
    format!(
        "EXISTS (SELECT FROM pg_attribute WHERE attrelid = {} AND attname = {} AND NOT attisdropped)",
        table.regclass(),
        sql_literal(column)
    )
}

/// `sql` (which adds the constraint) run only when the table has no constraint of that name.
pub(super) fn guard_constraint(table: &Table, constraint: &str, sql: &str) -> String {
    format!(
        "IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = {} AND conname = {}) THEN\n    {sql};\n  END IF;",
        table.regclass(),
        sql_literal(constraint)
    )
}

/// A `DO` block validating the constraint if it is there and not yet validated.
pub(super) fn validate_constraint(table: &Table, constraint: &str) -> String {
    format!(
        "DO $strata$ BEGIN\n  IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = {} AND conname = {} AND NOT convalidated) THEN\n    ALTER TABLE {} VALIDATE CONSTRAINT {};\n  END IF;\nEND $strata$",
        table.regclass(),
        sql_literal(constraint),
        table.qualified(),
        quote_ident(constraint)
    )
}

/// The index definition (`pg_get_indexdef`) rebuilt on the shadow, concurrently, under the name
/// `copy`. Only plain column references are rewritten; an expression or a predicate that uses
/// the column is refused rather than guessed at.
fn copy_index(definition: &str, column: &str, shadow: &str, copy: &str) -> Result<String, String> {
    let Some(NodeEnum::IndexStmt(mut index)) = super::request::first_statement(definition)? else {
        return Err("its definition is not a CREATE INDEX".into());
    };
    if index.where_clause.is_some() {
        return Err("it is a partial index".into());
    }
    let rename = |elements: &mut Vec<protobuf::Node>| -> Result<(), String> {
        for element in elements {
            match element.node.as_mut() {
                Some(NodeEnum::IndexElem(element)) if element.expr.is_some() => {
                    return Err("it indexes an expression".into());
                }
                Some(NodeEnum::IndexElem(element)) if element.name == column => {
                    element.name = shadow.to_owned();
                }
                _ => {}
            }
        }
        Ok(())
    };
    rename(&mut index.index_params)?;
    rename(&mut index.index_including_params)?;
    index.idxname = copy.to_owned();
    index.concurrent = true;
    index.if_not_exists = true;
    NodeEnum::IndexStmt(index)
        .deparse(pg_query::DeparseOptions::default())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_plain_indexes_onto_the_shadow() {
        let sql = copy_index(
            "CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email) INCLUDE (id)",
            "email",
            "_strata_new_email",
            "_strata_users_email_key",
        )
        .unwrap();
        assert_eq!(
            sql,
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS _strata_users_email_key ON public.users USING btree (_strata_new_email) INCLUDE (id)"
        );
        assert!(
            copy_index(
                "CREATE INDEX i ON public.users USING btree (lower(email))",
                "email",
                "s",
                "c"
            )
            .is_err()
        );
        assert!(
            copy_index(
                "CREATE INDEX i ON public.users USING btree (email) WHERE (active)",
                "email",
                "s",
                "c"
            )
            .is_err()
        );
    }

    #[test]
    fn long_names_are_refused_not_cut() {
        assert!(identifier(&"x".repeat(63)).is_ok());
        assert!(identifier(&"x".repeat(64)).is_err());
    }
}

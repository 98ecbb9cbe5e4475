//! `ALTER TABLE t DROP COLUMN c`: the new version's view leaves `c` out while the old
//! application keeps using it; complete drops it.

use super::super::Refusal;
use super::super::table::Table;
use super::{Operation, ViewChange};
use crate::errors::quote_ident;

pub(in crate::expand) fn drop_column(table: &Table, column: &str) -> Result<Operation, Refusal> {
    let Some(found) = table.column(column) else {
        return Err(Refusal::missing_column(table, column));
    };
    let refuse = |why: String, hint: &str| {
        Refusal::new(
            format!(
                "cannot drop {}.{column} in two phases: {why}",
                table.qualified()
            ),
            hint,
        )
    };
    if table.primary_key.iter().any(|c| c == column) {
        return Err(refuse(
            "it is part of the primary key".into(),
            "drop the primary key first",
        ));
    }
    if found.not_null && found.default.is_none() && !found.generated && !found.identity {
        return Err(refuse(
            "it is NOT NULL without a default, so the new application's inserts (which leave it out) would fail".into(),
            "give it a default (`ALTER TABLE ... ALTER COLUMN ... SET DEFAULT ...`) or drop NOT NULL in an earlier migration",
        ));
    }
    if let Some(view) = found.dependent_views.first() {
        return Err(refuse(
            format!("view {view} uses it"),
            "change the view first",
        ));
    }
    if let Some(key) = found.referenced_by.first() {
        return Err(refuse(
            format!("foreign key {key} references it"),
            "drop the foreign key first",
        ));
    }
    if let Some(generated) = found.generated_from.first() {
        return Err(refuse(
            format!("generated column {generated} is computed from it"),
            "drop the generated column first",
        ));
    }
    let mut operation = Operation::new(format!("drop column {}.{column}", table.qualified()));
    operation.view = Some(ViewChange::Hide {
        column: column.to_owned(),
    });
    operation.swap.push(format!(
        "ALTER TABLE {} DROP COLUMN IF EXISTS {};",
        table.qualified(),
        quote_ident(column)
    ));
    Ok(operation)
}

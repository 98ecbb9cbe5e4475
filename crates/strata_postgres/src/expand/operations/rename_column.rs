//! `ALTER TABLE t RENAME COLUMN a TO b`: the new version's view shows `a AS b` while the old
//! application keeps using `a`; complete renames the column itself.

use super::super::Refusal;
use super::super::shadow::column_exists;
use super::super::table::Table;
use super::{Operation, ViewChange};
use crate::errors::quote_ident;

pub(in crate::expand) fn rename_column(
    table: &Table,
    from: &str,
    to: &str,
) -> Result<Operation, Refusal> {
    if table.column(from).is_none() {
        return Err(Refusal::missing_column(table, from));
    }
    if table.column(to).is_some() {
        return Err(Refusal::new(
            format!("{} already has a column {to}", table.qualified()),
            "pick another name, or drop that column first",
        ));
    }
    let mut operation = Operation::new(format!(
        "rename column {}.{from} to {to}",
        table.qualified()
    ));
    operation.view = Some(ViewChange::Rename {
        from: from.to_owned(),
        to: to.to_owned(),
    });
    operation.swap.push(format!(
        "IF {} AND NOT {} THEN\n    ALTER TABLE {} RENAME COLUMN {} TO {};\n  END IF;",
        column_exists(table, from),
        column_exists(table, to),
        table.qualified(),
        quote_ident(from),
        quote_ident(to)
    ));
    Ok(operation)
}

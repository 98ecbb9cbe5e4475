//! `ALTER TABLE t ADD [CONSTRAINT k] FOREIGN KEY ...`: expand adds it `NOT VALID` (checked for
//! every new write at once, after a brief lock), complete validates the existing rows without
//! blocking writes, abort drops it.

use super::super::Refusal;
use super::super::shadow::{MAX_IDENTIFIER, guard_constraint, validate_constraint};
use super::super::table::Table;
use super::Operation;
use crate::errors::quote_ident;

pub(in crate::expand) fn add_foreign_key(
    table: &Table,
    name: Option<&str>,
    columns: &[String],
    sql_template: &str,
) -> Result<Operation, Refusal> {
    if let Some(missing) = columns.iter().find(|c| table.column(c).is_none()) {
        return Err(Refusal::missing_column(table, missing));
    }
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(&table.name, columns),
    };
    let mut operation = Operation::new(format!(
        "add foreign key {name} on {} ({}), validated on complete",
        table.qualified(),
        columns.join(", ")
    ));
    let add = sql_template.replace("{name}", &quote_ident(&name));
    operation.expand.push(guard_constraint(table, &name, &add));
    operation.validate.push(validate_constraint(table, &name));
    operation.undo.push(format!(
        "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {};",
        table.qualified(),
        quote_ident(&name)
    ));
    Ok(operation)
}

/// The name PostgreSQL would give it: `<table>_<columns>_fkey`, cut to 63 bytes.
fn default_name(table: &str, columns: &[String]) -> String {
    let mut name = format!("{table}_{}", columns.join("_"));
    let room = MAX_IDENTIFIER - "_fkey".len();
    if name.len() > room {
        let mut cut = room;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name + "_fkey"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_postgres() {
        assert_eq!(
            default_name("orders", &["user_id".into()]),
            "orders_user_id_fkey"
        );
        let long = default_name(&"t".repeat(70), &["c".into()]);
        assert_eq!(long.len(), 63);
        assert!(long.ends_with("_fkey"));
    }
}

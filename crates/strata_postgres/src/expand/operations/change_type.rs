//! `ALTER TABLE t ALTER COLUMN c TYPE new [USING expr]`: rewriting the column under an
//! `ACCESS EXCLUSIVE` lock blocks every read and write for as long as it takes. Instead a shadow
//! column of the new type is added and kept in sync (the `USING` expression, or a cast, from old
//! to new; a cast back from new to old), backfilled in batches, and swapped in on complete.

use super::super::Refusal;
use super::super::shadow::Shadow;
use super::super::table::Table;
use super::Operation;
use crate::errors::quote_ident;

pub(in crate::expand) fn change_type(
    table: &Table,
    column: &str,
    type_sql: &str,
    using: Option<&str>,
) -> Result<Operation, Refusal> {
    let Some(found) = table.column(column) else {
        return Err(Refusal::missing_column(table, column));
    };
    let up = match using {
        Some(expression) => format!("({expression})"),
        None => format!("CAST({} AS {type_sql})", quote_ident(column)),
    };
    // As `ALTER COLUMN ... TYPE` does, the default keeps its expression, which PostgreSQL
    // coerces to the new type when it is set.
    let shadow = Shadow::new(
        table,
        found,
        type_sql.to_owned(),
        up,
        found.not_null,
        found.default.clone(),
    )?;
    Ok(Operation::through_shadow(
        format!(
            "change the type of {}.{column} from {} to {type_sql}, through column {}",
            table.qualified(),
            found.type_sql,
            shadow.shadow
        ),
        shadow,
    ))
}

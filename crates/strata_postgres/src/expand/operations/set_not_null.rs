//! `ALTER TABLE t ALTER COLUMN c SET NOT NULL`: the plain statement scans the whole table under an
//! `ACCESS EXCLUSIVE` lock, and fails (or breaks the old application) where NULLs remain. Instead
//! a shadow column with a `NOT VALID` check takes `COALESCE(c, <value>)`, where the value comes
//! from an `UPDATE t SET c = <value> WHERE c IS NULL` in the same file or from the column's
//! default; old rows are backfilled, the check is validated without blocking writes, and the
//! column is swapped in with `SET NOT NULL` proven by the check (no scan). The old column keeps
//! its NULLs until complete, so an abort loses nothing.

use super::super::Refusal;
use super::super::shadow::Shadow;
use super::super::table::Table;
use super::Operation;
use crate::errors::quote_ident;

pub(in crate::expand) fn set_not_null(
    table: &Table,
    column: &str,
    fill: Option<&str>,
) -> Result<Operation, Refusal> {
    let Some(found) = table.column(column) else {
        return Err(Refusal::missing_column(table, column));
    };
    if found.not_null {
        return Err(Refusal::new(
            format!("{}.{column} is NOT NULL already", table.qualified()),
            "remove the statement",
        ));
    }
    let Some(value) = fill.map(str::to_owned).or_else(|| found.default.clone()) else {
        return Err(Refusal::new(
            format!(
                "{}.{column} has no value for its NULLs: old rows and the old application's writes need one",
                table.qualified()
            ),
            "put `UPDATE <table> SET <column> = <value> WHERE <column> IS NULL;` in the same file, or give the column a default first",
        ));
    };
    let up = format!("COALESCE({}, {value})", quote_ident(column));
    let shadow = Shadow::new(
        table,
        found,
        found.type_sql.clone(),
        up,
        true,
        found.default.clone(),
    )?;
    Ok(Operation::through_shadow(
        format!(
            "set {}.{column} NOT NULL (NULLs become {value}), through column {}",
            table.qualified(),
            shadow.shadow
        ),
        shadow,
    ))
}

//! One file per operation an expand/contract migration runs. Each checks its statement against
//! the table and says what it adds to each phase: the version schema's view, a shadow column,
//! SQL for the expand, the validations and swap of complete, and the undo of abort.

mod add_foreign_key;
mod change_type;
mod drop_column;
mod rename_column;
mod set_not_null;

pub(super) use add_foreign_key::add_foreign_key;
pub(super) use change_type::change_type;
pub(super) use drop_column::drop_column;
pub(super) use rename_column::rename_column;
pub(super) use set_not_null::set_not_null;

use super::shadow::Shadow;

/// How the new version's view shows one column of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ViewChange {
    /// `"from" AS "to"`.
    Rename { from: String, to: String },
    /// `"shadow" AS "column"`.
    Replace { column: String, shadow: String },
    /// Left out of the view.
    Hide { column: String },
}

impl ViewChange {
    /// The table's column this change is about.
    pub(super) fn column(&self) -> &str {
        match self {
            ViewChange::Rename { from, .. } => from,
            ViewChange::Replace { column, .. } | ViewChange::Hide { column } => column,
        }
    }
}

/// What one operation adds to the plan.
#[derive(Debug, Clone)]
pub(super) struct Operation {
    pub(super) summary: String,
    pub(super) view: Option<ViewChange>,
    pub(super) shadow: Option<Shadow>,
    /// Expand: SQL run inside the table's `DO` block, each safe to run again.
    pub(super) expand: Vec<String>,
    /// Complete: statements (whole `DO` blocks) run before the swap, without blocking writes.
    pub(super) validate: Vec<String>,
    /// Complete: SQL inside the swap's `DO` block, each safe to run again.
    pub(super) swap: Vec<String>,
    /// Abort: SQL inside the abort's `DO` block, each safe to run again.
    pub(super) undo: Vec<String>,
}

impl Operation {
    /// An operation whose new version shows `shadow` in place of its column.
    fn through_shadow(summary: String, shadow: Shadow) -> Operation {
        let mut operation = Operation::new(summary);
        operation.view = Some(ViewChange::Replace {
            column: shadow.column.clone(),
            shadow: shadow.shadow.clone(),
        });
        operation.shadow = Some(shadow);
        operation
    }

    /// An operation that adds nothing to the phases until its fields are filled in.
    pub(in crate::expand) fn new(summary: String) -> Operation {
        Operation {
            summary,
            view: None,
            shadow: None,
            expand: Vec::new(),
            validate: Vec::new(),
            swap: Vec::new(),
            undo: Vec::new(),
        }
    }
}

//! Rendering for people (aligned text) and for machines (`--format json`): one JSON document on
//! stdout, events as JSON lines on stderr.

mod adopt;
mod backfill;
mod events;
mod expansion;
mod plan;
mod status;
mod verify;

pub(crate) use adopt::{adopt_json, adopt_text};
pub(crate) use backfill::{backfill_json, backfills_text};
pub(crate) use events::EventPrinter;
pub(crate) use expansion::{expansion_json, expansions_text, phase_done_text};
pub(crate) use plan::{plan_json, plan_text};
pub(crate) use status::{status_json, status_table};
pub(crate) use verify::{
    differences_json, differences_text, summary_text, verification_text, verify_json,
};

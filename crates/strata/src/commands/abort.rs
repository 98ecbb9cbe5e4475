//! `strata abort [VERSION]`: undoes the expand of an expand/contract migration, wherever it
//! stopped; the migration becomes pending again.

use std::process::ExitCode;

use strata_core::ExpandPhase;

use super::Context;
use crate::error::CliError;

pub(crate) fn run(context: &Context, version: Option<&str>) -> Result<ExitCode, CliError> {
    super::run_expand_phase(context, version, ExpandPhase::Abort)
}

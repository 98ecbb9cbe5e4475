//! `strata complete [VERSION]`: the contract phase of an expand/contract migration, once no old
//! application version runs.

use std::process::ExitCode;

use strata_core::ExpandPhase;

use super::Context;
use crate::error::CliError;

pub(crate) fn run(context: &Context, version: Option<&str>) -> Result<ExitCode, CliError> {
    super::run_expand_phase(context, version, ExpandPhase::Complete)
}

//! `strata verify [--from V] [--keep-going]`: up, down and up again of every migration on a
//! scratch database, comparing schemas at each step.

use std::process::ExitCode;

use strata_core::{Verifier, VerifyOptions};

use super::Context;
use crate::args::VerifyArgs;
use crate::database;
use crate::error::CliError;
use crate::output::out;
use crate::report::{summary_text, verification_text, verify_json};

pub(crate) fn run(context: &Context, args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let from = args
        .from
        .as_deref()
        .map(|v| context.parse_version(v))
        .transpose()?;
    let set = context.load_migrations()?;
    if let Some(from) = from
        && set.get(from).is_none()
    {
        return Err(strata_core::Error::UnknownVersion(from.to_string()).into());
    }
    let mut scratch = database::open_scratch(&context.settings)?;
    let options = VerifyOptions {
        from,
        keep_going: args.keep_going,
        run: context.scratch_run_options(),
    };
    let database = &mut scratch.database;
    let mut verifier = Verifier::new(
        database.driver.as_mut(),
        database.splitter.as_ref(),
        &set,
        options,
    );
    let human = !context.is_json();
    let report = verifier.run(&mut |verification| {
        if human {
            out!("{}", verification_text(verification));
        }
    })?;
    drop(scratch);

    let document = verify_json(&report);
    if let Some(error) = report.aborted {
        let error = CliError::from(error);
        return Err(if human {
            error
        } else {
            error.with_document(document)
        });
    }
    if human {
        out!("{}", summary_text(&report));
    } else {
        context.print_json(&document);
    }
    Ok(if report.failures() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

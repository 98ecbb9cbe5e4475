//! `strata init`: writes `strata.toml` and `migrations/` in the working directory.

use std::process::ExitCode;

use crate::args::GlobalArgs;
use crate::config::{CONFIG_FILE, initial_config};
use crate::error::CliError;
use crate::output::outln;

pub(crate) fn run(global: &GlobalArgs) -> Result<ExitCode, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the working directory: {e}")))?;
    let config = cwd.join(CONFIG_FILE);
    if config.exists() {
        outln!("{CONFIG_FILE} already exists; left unchanged");
    } else {
        std::fs::write(&config, initial_config())
            .map_err(|e| CliError::failed(format!("cannot write {}: {e}", config.display())))?;
        outln!("wrote {CONFIG_FILE} (database: sqlite://strata.db)");
    }
    let dir = cwd.join(global.dir.as_deref().unwrap_or("migrations".as_ref()));
    if dir.is_dir() {
        outln!("{} already exists", dir.display());
    } else {
        std::fs::create_dir_all(&dir)
            .map_err(|e| CliError::failed(format!("cannot create {}: {e}", dir.display())))?;
        outln!(
            "created {}",
            dir.strip_prefix(&cwd).unwrap_or(&dir).display()
        );
    }
    outln!("next: strata new <description>, then strata up");
    Ok(ExitCode::SUCCESS)
}

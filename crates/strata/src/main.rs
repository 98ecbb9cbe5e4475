//! The `strata` command line: parses arguments, runs one command, renders errors.

mod args;
mod commands;
mod config;
mod database;
mod error;
mod interrupt;
mod lint;
mod output;
mod report;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::args::{Cli, Format};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.global.format;
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            if format == Format::Json {
                let mut document = error.document.clone().unwrap_or_else(|| json!({}));
                document["error"] = json!({
                    "message": error.message,
                    "file": error.location.as_ref().map(|(path, _)| path.display().to_string()),
                    "line": error.location.as_ref().map(|(_, line)| line),
                    "notes": error.notes,
                    "hint": error.hint,
                });
                output::outln!("{document}");
            }
            eprint!("{}", error.render());
            ExitCode::from(error.exit_code)
        }
    }
}

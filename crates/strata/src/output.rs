//! The commands' standard output, written so that a reader leaving early is not an error.
//!
//! `print!` panics when stdout is a pipe whose reader has gone (`strata status | head -1`).
//! [`out!`] and [`outln!`] drop the rest of the output instead and let the command carry on:
//! a migration run is never cut short, or turned into a panic, by its reader leaving. Any other
//! write error (a full disk behind a redirection) is reported once on stderr.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Writes `args` to stdout; see the module documentation for what happens on errors.
pub(crate) fn write(args: fmt::Arguments) {
    report(std::io::stdout().lock().write_fmt(args));
}

/// Lets `write` stream a large output to stdout through a buffer, with the same handling of
/// errors as [`out!`].
pub(crate) fn write_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    report(write(&mut out).and_then(|()| out.flush()));
}

/// Drops a closed pipe's error; says once what any other write error was.
fn report(result: std::io::Result<()>) {
    if let Err(error) = result
        && error.kind() != ErrorKind::BrokenPipe
        && !REPORTED.swap(true, Ordering::Relaxed)
    {
        eprintln!("strata: cannot write the output: {error}");
    }
}

/// `print!` that tolerates a closed stdout.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// `println!` that tolerates a closed stdout.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

//! The JSON document of the CLI contract: `{"diagnostics": [...], "summary": {...}}`.

use std::io;

use super::{Diagnostic, Summary};

#[derive(serde::Serialize)]
struct Document<'a> {
    diagnostics: &'a [Diagnostic],
    summary: Summary,
}

/// Renders the `--format json` document (infos included).
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let mut out = Vec::new();
    write_json(&mut out, diagnostics).expect("writing to a Vec does not fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes the `--format json` document to `out` as it is serialised: a large run's document
/// (tens of megabytes) is never held in memory whole.
pub fn write_json(out: impl io::Write, diagnostics: &[Diagnostic]) -> io::Result<()> {
    let document = Document {
        diagnostics,
        summary: Summary::of(diagnostics),
    };
    serde_json::to_writer_pretty(out, &document).map_err(io::Error::from)
}

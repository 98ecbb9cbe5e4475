//! The JSON document of the CLI contract: `{"diagnostics": [...], "summary": {...}}`.

use super::{Diagnostic, Summary};

#[derive(serde::Serialize)]
struct Document<'a> {
    diagnostics: &'a [Diagnostic],
    summary: Summary,
}

/// Renders the `--format json` document (infos included).
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let document = Document {
        diagnostics,
        summary: Summary::of(diagnostics),
    };
    serde_json::to_string_pretty(&document).expect("diagnostics serialise: all keys are strings")
}

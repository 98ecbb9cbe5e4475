//! GitHub Actions workflow commands: one `::error file=...,line=...,col=...,title=...::message` per finding.

use std::fmt::Write;

use super::{Diagnostic, Severity};

/// Renders one annotation per diagnostic (`info` becomes `notice`).
pub fn render_github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let message = format!("{}\nhelp: {}", d.message, d.help);
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},title={}::{}",
            escape_property(&d.file),
            d.line,
            d.column,
            escape_property(d.rule),
            escape_data(&message)
        );
    }
    out
}

/// Escaping of a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a workflow command's property values.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_properties_and_message() {
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(escape_data("x\ny:z"), "x%0Ay:z");
    }
}

//! The finding type every renderer consumes.

/// How serious a finding is. `error` blocks `strata up` unless allowed; `info` is shown only with
/// `--verbose` or in machine-readable output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run.
    Info,
    /// Reported; does not fail a run.
    Warning,
    /// Fails `strata lint` and stops `strata up`.
    Error,
}

impl Severity {
    /// Lower-case name as in JSON and `strata.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = crate::error::SettingsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(crate::error::SettingsError::UnknownSeverity {
                value: other.to_owned(),
            }),
        }
    }
}

/// One finding, located in a file. Serialises to the JSON shape of the CLI contract.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    /// Rule id (`index-not-concurrent`).
    pub rule: &'static str,
    /// Effective severity, after configuration, suppressions and catalog facts.
    pub severity: Severity,
    /// Path of the migration as given.
    pub file: String,
    /// 1-based line of the statement's first token.
    pub line: u32,
    /// 1-based column (in characters) of the statement's first token.
    pub column: u32,
    /// The statement's text.
    pub statement: String,
    /// What is wrong, about this statement.
    pub message: String,
    /// What to do instead.
    pub help: String,
    /// Why the severity differs from the rule's (e.g. lowered for a small table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The full source line at `line`, kept so that renderers never go back to the file.
    #[serde(skip)]
    pub source_line: String,
}

/// Counts per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of infos.
    pub infos: usize,
}

impl Summary {
    /// Counts `diagnostics`.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut summary = Summary::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
        }
        summary
    }
}

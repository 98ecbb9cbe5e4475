//! Typed errors of the linter's public API.

/// A configuration value the linter cannot accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// `strata.toml` or a flag names a rule id that does not exist.
    #[error("unknown lint rule `{id}` (see `strata explain` for the list of rules)")]
    UnknownRule {
        /// The id as written.
        id: String,
    },
    /// A severity other than `error`, `warning` or `info`.
    #[error("unknown severity `{value}` (expected error, warning or info)")]
    UnknownSeverity {
        /// The value as written.
        value: String,
    },
}

/// A migration file the parser rejected. It is reported as a `syntax-error` diagnostic; the type exists so
/// that the parsing front ends can say precisely where they failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub(crate) struct ParseError {
    /// Byte offset of the statement the parser could not read.
    pub(crate) offset: usize,
    /// The parser's message.
    pub(crate) message: String,
}

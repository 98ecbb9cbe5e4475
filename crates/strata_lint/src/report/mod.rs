//! Diagnostics and their renderers: human (rustc style), JSON (the CLI contract), SARIF 2.1.0 and GitHub
//! workflow annotations. Every renderer is a single pass over the diagnostics; the source line each one
//! needs was captured when the diagnostic was made.

mod diagnostic;
mod github;
mod human;
mod json;
mod sarif;

pub use diagnostic::{Diagnostic, Severity, Summary};
pub use github::render_github;
pub use human::render_human;
pub use json::{render_json, write_json};
pub use sarif::render_sarif;

//! Pre-generated bindings to libpg_query, served through the part of bindgen's API that the
//! `pg_query` crate's build script calls (`Builder::default().header(..).generate()?
//! .write_to_file(..)`).
//!
//! Real bindgen parses the C header with libclang at build time, so every machine building
//! strata would need libclang installed. The header only changes when `pg_query` is upgraded,
//! so its bindings are generated once (by `scripts/regenerate-pg-query-bindings`, with the real
//! bindgen) and committed under `bindings/`, the way `-sys` crates ship bundled bindings. The
//! workspace's `[patch.crates-io]` puts this crate in bindgen's place. A header whose contents
//! differ from every committed one is an error that says how to regenerate, never a silent
//! mismatch.

use std::error::Error;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

mod header_hash;

/// One committed set of bindings and the header contents they were generated from.
struct Pregenerated {
    /// SHA-256 over the header and every header it includes with `#include "..."`, in order.
    header_sha256: &'static str,
    /// The `pg_query` release whose header this is, for the error message.
    pg_query_version: &'static str,
    bindings: &'static str,
}

const PREGENERATED: &[Pregenerated] = &[Pregenerated {
    header_sha256: "14614adc316eecd4cad0c2534476c7d333e24655445ded5cfb87360860b1ee4b",
    pg_query_version: "18.1.0",
    bindings: include_str!("../bindings/pg_query-18.1.0.rs"),
}];

/// Collects what `pg_query`'s build script sets; only the header matters here.
#[derive(Debug, Default)]
pub struct Builder {
    header: Option<PathBuf>,
}

impl Builder {
    /// The header to bind (bindgen's signature, so the build script compiles unchanged).
    pub fn header<T: Into<String>>(mut self, header: T) -> Builder {
        self.header = Some(PathBuf::from(header.into()));
        self
    }

    /// Finds the committed bindings for the header's exact contents on this target.
    pub fn generate(self) -> Result<Bindings, BindgenError> {
        let header = self.header.ok_or(BindgenError::NoHeader)?;
        // A build script sees its target in CARGO_CFG_*; anywhere else the host is the target.
        check_target(
            &std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_else(|_| std::env::consts::OS.into()),
            &std::env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
                .unwrap_or_else(|_| usize::BITS.to_string()),
        )?;
        let sha256 = header_hash::header_sha256(&header)
            .map_err(|(path, source)| BindgenError::Read { path, source })?;
        PREGENERATED
            .iter()
            .find(|pregenerated| pregenerated.header_sha256 == sha256)
            .map(|pregenerated| Bindings {
                source: pregenerated.bindings,
            })
            .ok_or(BindgenError::UnknownHeader { header, sha256 })
    }
}

/// Bindings ready to be written where the build script includes them from.
#[derive(Debug)]
pub struct Bindings {
    source: &'static str,
}

impl Bindings {
    /// Writes the bindings to `path`.
    pub fn write_to_file<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        fs::write(path, self.source)
    }
}

/// Why no bindings could be served.
#[derive(Debug)]
pub enum BindgenError {
    /// The build script named no header.
    NoHeader,
    /// A header (or one it includes) could not be read.
    Read { path: PathBuf, source: io::Error },
    /// The header differs from every one the committed bindings were generated from.
    UnknownHeader { header: PathBuf, sha256: String },
    /// The committed bindings assume a 64-bit Unix data model (LP64): `long` is 64 bits.
    UnsupportedTarget { os: String, pointer_width: String },
}

impl fmt::Display for BindgenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HINT: &str = "run scripts/regenerate-pg-query-bindings (it needs libclang) and commit \
                            the file it writes under vendor/bindgen/bindings/";
        match self {
            BindgenError::NoHeader => write!(f, "no header given to bind"),
            BindgenError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            BindgenError::UnknownHeader { header, sha256 } => {
                let known: Vec<&str> = PREGENERATED
                    .iter()
                    .map(|pregenerated| pregenerated.pg_query_version)
                    .collect();
                write!(
                    f,
                    "{} (sha256 {sha256}) is not the header of any pg_query release with \
                     committed bindings (committed: {}); {HINT}",
                    header.display(),
                    known.join(", ")
                )
            }
            BindgenError::UnsupportedTarget { os, pointer_width } => write!(
                f,
                "the committed pg_query bindings are for 64-bit Unix targets, not \
                 {os} ({pointer_width}-bit); {HINT}"
            ),
        }
    }
}

impl Error for BindgenError {}

/// The committed bindings hold C type sizes (`long`, `size_t`) of a 64-bit Unix target.
fn check_target(os: &str, pointer_width: &str) -> Result<(), BindgenError> {
    if os == "windows" || pointer_width != "64" {
        return Err(BindgenError::UnsupportedTarget {
            os: os.to_owned(),
            pointer_width: pointer_width.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_header_says_how_to_regenerate() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("pg_query.h"), "int f(void);\n").unwrap();
        let error = Builder::default()
            .header(dir.path().join("pg_query.h").to_str().unwrap())
            .generate()
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("committed: 18.1.0"), "{message}");
        assert!(
            message.contains("scripts/regenerate-pg-query-bindings"),
            "{message}"
        );
    }

    #[test]
    fn only_64_bit_unix_targets_are_served() {
        assert!(check_target("linux", "64").is_ok());
        assert!(check_target("macos", "64").is_ok());
        assert!(check_target("windows", "64").is_err());
        assert!(check_target("linux", "32").is_err());
    }
}

//! The identity of a C header: a SHA-256 over its text and the headers it includes with
//! `#include "..."`. `scripts/regenerate-pg-query-bindings` compiles this same file to print
//! the hash of the header it generated bindings from.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// SHA-256 over `header` followed by the headers it includes with `#include "..."`
/// (depth first, each once), so a change in any of them is noticed.
pub(crate) fn header_sha256(header: &Path) -> Result<String, (PathBuf, io::Error)> {
    let mut hasher = Sha256::new();
    let mut seen = Vec::new();
    hash_header(header, &mut hasher, &mut seen)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn hash_header(
    path: &Path,
    hasher: &mut Sha256,
    seen: &mut Vec<PathBuf>,
) -> Result<(), (PathBuf, io::Error)> {
    if seen.iter().any(|done| done == path) {
        return Ok(());
    }
    seen.push(path.to_path_buf());
    let text = fs::read_to_string(path).map_err(|source| (path.to_path_buf(), source))?;
    hasher.update(text.as_bytes());
    let dir = path.parent().unwrap_or(Path::new("."));
    // C headers, not SQL: no line numbers are reported, so how a lone CR splits does not matter.
    for included in text.split('\n').filter_map(quoted_include) {
        hash_header(&dir.join(included), hasher, seen)?;
    }
    Ok(())
}

/// `postgres_deparse.h` from a line `#include "postgres_deparse.h"`.
fn quoted_include(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("include")?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.split_once('"').map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_includes_are_followed_and_system_ones_are_not() {
        assert_eq!(quoted_include("#include \"a.h\""), Some("a.h"));
        assert_eq!(
            quoted_include("  #  include   \"b/c.h\" // x"),
            Some("b/c.h")
        );
        assert_eq!(quoted_include("#include <stdint.h>"), None);
        assert_eq!(quoted_include("// #include \"a.h\""), None);
    }

    #[test]
    fn an_included_header_changes_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("top.h"),
            "#include \"inner.h\"\nint f(void);\n",
        )
        .unwrap();
        fs::write(dir.path().join("inner.h"), "int g(void);\n").unwrap();
        let before = header_sha256(&dir.path().join("top.h")).unwrap();
        fs::write(dir.path().join("inner.h"), "long g(void);\n").unwrap();
        let after = header_sha256(&dir.path().join("top.h")).unwrap();
        assert_ne!(before, after);
        assert_eq!(before.len(), 64);
    }
}

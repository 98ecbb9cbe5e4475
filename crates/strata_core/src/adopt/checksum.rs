//! Other tools' checksums of migration files, recomputed from the files to catch one edited
//! after the other tool applied it: sqlx's SHA-384 of the file's text (less the characters its
//! `sqlx.toml` ignores), Flyway's CRC-32 of its lines.

use std::path::Path;

use sha2::{Digest, Sha384};

/// A checksum as another tool stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignChecksum {
    /// sqlx: SHA-384 of the file's text, with `ignored_chars` (`sqlx.toml`'s
    /// `migrate.ignored-chars`, usually none) dropped first.
    Sha384 {
        digest: Vec<u8>,
        ignored_chars: Vec<char>,
    },
    /// Flyway: CRC-32 of the file's lines without their line breaks (and without a leading
    /// BOM), stored as a signed 32-bit integer.
    Crc32(i32),
}

impl ForeignChecksum {
    /// The same checksum of these bytes.
    fn of(&self, bytes: &[u8]) -> ForeignChecksum {
        match self {
            ForeignChecksum::Sha384 { ignored_chars, .. } => ForeignChecksum::Sha384 {
                digest: sqlx_sha384(bytes, ignored_chars),
                ignored_chars: ignored_chars.clone(),
            },
            ForeignChecksum::Crc32(_) => ForeignChecksum::Crc32(flyway_crc32(bytes)),
        }
    }

    /// Whether the file at `path` still has this checksum (an unreadable file has not).
    pub fn matches_file(&self, path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|bytes| self.of(&bytes) == *self)
    }
}

/// sqlx hashes the file read as text, without the ignored characters (a file that is not UTF-8
/// sqlx cannot read, and it then matches nothing).
fn sqlx_sha384(bytes: &[u8], ignored_chars: &[char]) -> Vec<u8> {
    if ignored_chars.is_empty() {
        return Sha384::digest(bytes).to_vec();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let kept: String = text
                .chars()
                .filter(|c| !ignored_chars.contains(c))
                .collect();
            Sha384::digest(kept.as_bytes()).to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Flyway reads a script line by line (`BufferedReader.readLine`, which drops `\n`, `\r` and
/// `\r\n`), strips a BOM from the first line and feeds each line's UTF-8 bytes to one CRC-32:
/// the CRC-32 of the file without its BOM and without any line-break byte.
fn flyway_crc32(bytes: &[u8]) -> i32 {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let mut hasher = crc32fast::Hasher::new();
    for line in bytes.split(|b| *b == b'\n' || *b == b'\r') {
        hasher.update(line);
    }
    i32::from_ne_bytes(hasher.finalize().to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flyway_checksum_ignores_line_breaks_and_the_bom() {
        // CRC-32 of "abc" is 0x352441c2.
        assert_eq!(flyway_crc32(b"abc"), 0x3524_41c2);
        assert_eq!(flyway_crc32(b"a\r\nb\nc\n"), flyway_crc32(b"abc"));
        assert_eq!(flyway_crc32("\u{feff}abc".as_bytes()), flyway_crc32(b"abc"));
        // Stored signed, as a Java int: the CRC-32 of "a" is 0xe8b7be43.
        assert_eq!(
            flyway_crc32(b"a"),
            i32::from_ne_bytes(0xe8b7_be43_u32.to_ne_bytes())
        );
        assert!(flyway_crc32(b"a") < 0);
    }

    #[test]
    fn sqlx_checksum_is_sha384_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1_a.up.sql");
        std::fs::write(&path, "SELECT 1;\n").unwrap();
        let stored = ForeignChecksum::Sha384 {
            digest: Sha384::digest(b"SELECT 1;\n").to_vec(),
            ignored_chars: Vec::new(),
        };
        assert!(stored.matches_file(&path));
        std::fs::write(&path, "SELECT 1; \n").unwrap();
        assert!(!stored.matches_file(&path));
    }

    #[test]
    fn sqlx_checksum_leaves_out_the_ignored_characters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1_a.up.sql");
        // Applied from a checkout with LF line breaks, read now from one with CRLF.
        std::fs::write(&path, "SELECT 1;\r\nSELECT 2;\r\n").unwrap();
        let applied = |ignored_chars: Vec<char>| ForeignChecksum::Sha384 {
            digest: Sha384::digest(b"SELECT 1;\nSELECT 2;\n").to_vec(),
            ignored_chars,
        };
        assert!(!applied(Vec::new()).matches_file(&path));
        assert!(applied(vec!['\r']).matches_file(&path));
        std::fs::write(&path, "SELECT 1;\r\nSELECT 3;\r\n").unwrap();
        assert!(!applied(vec!['\r']).matches_file(&path));
    }
}

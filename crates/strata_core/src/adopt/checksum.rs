//! Other tools' checksums of migration files, recomputed from the files to catch one edited
//! after the other tool applied it: sqlx's SHA-384 of the file's bytes, Flyway's CRC-32 of its
//! lines.

use std::path::Path;

use sha2::{Digest, Sha384};

/// A checksum as another tool stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignChecksum {
    /// sqlx: SHA-384 of the file's bytes.
    Sha384(Vec<u8>),
    /// Flyway: CRC-32 of the file's lines without their line breaks (and without a leading
    /// BOM), stored as a signed 32-bit integer.
    Crc32(i32),
}

impl ForeignChecksum {
    /// The same checksum of these bytes.
    fn of(&self, bytes: &[u8]) -> ForeignChecksum {
        match self {
            ForeignChecksum::Sha384(_) => ForeignChecksum::Sha384(Sha384::digest(bytes).to_vec()),
            ForeignChecksum::Crc32(_) => ForeignChecksum::Crc32(flyway_crc32(bytes)),
        }
    }

    /// Whether the file at `path` still has this checksum (an unreadable file has not).
    pub fn matches_file(&self, path: &Path) -> bool {
        std::fs::read(path).is_ok_and(|bytes| self.of(&bytes) == *self)
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
        let stored = ForeignChecksum::Sha384(Sha384::digest(b"SELECT 1;\n").to_vec());
        assert!(stored.matches_file(&path));
        std::fs::write(&path, "SELECT 1; \n").unwrap();
        assert!(!stored.matches_file(&path));
    }
}

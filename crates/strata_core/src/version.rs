//! Migration versions: the digits before the first `_` of a file name, compared by value.

use std::fmt;

/// A migration version. `001` and `1` are the same version; at most 18 digits, so every version
/// fits a signed 64-bit column in every database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(i64);

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("a version is digits only, got {0:?}")]
    NotDigits(String),
    #[error("a version has at most 18 digits, got {0} digits")]
    TooLong(usize),
}

impl Version {
    pub const MAX_DIGITS: usize = 18;

    /// Parses a version written as digits (leading zeros allowed).
    pub fn parse(digits: &str) -> Result<Version, VersionError> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VersionError::NotDigits(digits.to_owned()));
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > Self::MAX_DIGITS {
            return Err(VersionError::TooLong(significant.len()));
        }
        Ok(Version(significant.parse().unwrap_or(0)))
    }

    /// A version read back from a history table.
    pub fn from_i64(value: i64) -> Version {
        Version(value)
    }

    pub fn as_i64(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_value() {
        assert_eq!(Version::parse("001").unwrap(), Version::parse("1").unwrap());
        assert!(Version::parse("9").unwrap() < Version::parse("10").unwrap());
        assert_eq!(Version::parse("0").unwrap().as_i64(), 0);
        assert_eq!(
            Version::parse("999999999999999999").unwrap().as_i64(),
            999_999_999_999_999_999
        );
    }

    #[test]
    fn rejects_non_digits_and_overlong_versions() {
        assert!(matches!(
            Version::parse("12a"),
            Err(VersionError::NotDigits(_))
        ));
        assert!(matches!(
            Version::parse(""),
            Err(VersionError::NotDigits(_))
        ));
        assert_eq!(
            Version::parse("1234567890123456789"),
            Err(VersionError::TooLong(19))
        );
        assert!(Version::parse("0001234567890123456789").is_err());
        assert!(Version::parse("000123456789012345678").is_ok());
    }
}

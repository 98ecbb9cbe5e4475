//! Migration versions: the digits before the first `_` of a file name, compared by value; or a
//! Flyway version of dotted parts (`1.2.3`, `1_2`), compared part by part.
//!
//! Both kinds live in one signed 64-bit number, so every history table keeps its `bigint`
//! column. A native version is its value (at most 18 digits: below 10^18). A dotted version is
//! 10^18 plus an order-preserving code of its parts, each written as its digit count then its
//! digits, right-padded with zeros to 18 digits (`1.2.10` is `1 1 1 2 2 10` then zeros). Parts
//! compare numerically because a longer number has a larger count, a version sorts before its
//! extensions (`1.2` < `1.2.1`) because padding is zeros and a count never is, and trailing zero
//! parts are dropped first so that `1.0` is `1`, as Flyway has it.

use std::fmt;

/// A migration version. `001` and `1` are the same version; at most 18 digits, so every version
/// fits a signed 64-bit column in every database. Dotted versions sort among themselves as
/// Flyway sorts them (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(i64);

/// Where dotted versions start: above every native version.
const DOTTED_BASE: i64 = 1_000_000_000_000_000_000;
/// Digits of a dotted version's code.
const CODE_DIGITS: usize = 18;

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("a version is digits only, got {0:?}")]
    NotDigits(String),
    #[error("a version has at most 18 digits, got {0} digits")]
    TooLong(usize),
    #[error("a dotted version is numbers separated by `.` or `_`, got {0:?}")]
    NotDotted(String),
    #[error(
        "version {0:?} is too long to store: its parts' digits plus one per part (two for a part of 9 digits or more) may total 18"
    )]
    DottedTooLong(String),
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

    /// Parses a Flyway version: numbers separated by `.` or `_` (`1`, `1.2.3`, `2024_01_5`).
    /// Parts compare numerically, and trailing zero parts do not count (`1.0` is `1`).
    pub fn parse_dotted(text: &str) -> Result<Version, VersionError> {
        let parts: Vec<&str> = text.split(['.', '_']).collect();
        if parts
            .iter()
            .any(|part| part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(VersionError::NotDotted(text.to_owned()));
        }
        let mut significant: Vec<&str> = parts
            .iter()
            .map(|part| match part.trim_start_matches('0') {
                "" => "0",
                digits => digits,
            })
            .collect();
        while significant.len() > 1 && significant.last() == Some(&"0") {
            significant.pop();
        }
        let mut code = String::with_capacity(CODE_DIGITS);
        for part in significant {
            // Counts 1..=8 take one digit; 9 and more are `9` and the count less 9, which still
            // sorts above every shorter count.
            match part.len() {
                len @ 1..=8 => code.push(char::from(b'0' + len as u8)),
                len @ 9..=18 => {
                    code.push('9');
                    code.push(char::from(b'0' + (len - 9) as u8));
                }
                _ => return Err(VersionError::DottedTooLong(text.to_owned())),
            }
            code.push_str(part);
        }
        if code.len() > CODE_DIGITS {
            return Err(VersionError::DottedTooLong(text.to_owned()));
        }
        let padded = format!("{code:0<CODE_DIGITS$}");
        let value: i64 = padded.parse().expect("18 digits fit an i64");
        Ok(Version(DOTTED_BASE + value))
    }

    /// Whether this is a dotted (Flyway) version.
    pub fn is_dotted(self) -> bool {
        self.0 >= DOTTED_BASE
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
    /// A native version as its number; a dotted one as its parts joined by `.` (`1.2.3`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_dotted() {
            return write!(f, "{}", self.0);
        }
        let code = format!("{:0>CODE_DIGITS$}", self.0 - DOTTED_BASE);
        let mut rest = code.as_str();
        let mut first = true;
        while let Some(count) = rest.bytes().next().filter(|&b| b != b'0') {
            let (len, skip) = match count - b'0' {
                9 => (
                    9 + usize::from(rest.as_bytes().get(1).map_or(0, |b| b - b'0')),
                    2,
                ),
                len => (usize::from(len), 1),
            };
            let Some(part) = rest.get(skip..skip + len) else {
                break;
            };
            if !first {
                f.write_str(".")?;
            }
            f.write_str(part)?;
            first = false;
            rest = &rest[skip + len..];
        }
        Ok(())
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

    fn dotted(text: &str) -> Version {
        Version::parse_dotted(text).unwrap()
    }

    #[test]
    fn dotted_versions_order_part_by_part() {
        let ordered = [
            "0",
            "1",
            "1.0.1",
            "1.1",
            "1.2",
            "1.2.3",
            "1.10",
            "2",
            "9",
            "10",
            "2024.01.01",
            "99999999",
            "123456789",
            "20240101120000",
        ];
        for pair in ordered.windows(2) {
            assert!(
                dotted(pair[0]) < dotted(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
        assert_eq!(dotted("1.0"), dotted("1"));
        assert_eq!(dotted("1_2"), dotted("1.2"));
        assert_eq!(dotted("01.002"), dotted("1.2"));
        assert!(dotted("1") > Version::parse("999999999999999999").unwrap());
    }

    #[test]
    fn dotted_versions_display_their_parts() {
        for text in [
            "0",
            "1",
            "1.2.3",
            "1.0.1",
            "2024.1.1",
            "20240101120000",
            "123456789.5",
        ] {
            assert_eq!(dotted(text).to_string(), text);
            assert!(dotted(text).is_dotted());
        }
        assert_eq!(dotted("1_02.0").to_string(), "1.2");
        assert_eq!(Version::parse("000042").unwrap().to_string(), "42");
        assert!(!Version::parse("42").unwrap().is_dotted());
    }

    #[test]
    fn rejects_malformed_and_overlong_dotted_versions() {
        for bad in ["", "1..2", "1.", "a", "1.2b", "-1"] {
            assert!(
                matches!(Version::parse_dotted(bad), Err(VersionError::NotDotted(_))),
                "{bad}"
            );
        }
        assert!(Version::parse_dotted("1.2.3.4.5.6.7.8.9").is_ok());
        assert!(matches!(
            Version::parse_dotted("1.2.3.4.5.6.7.8.9.1"),
            Err(VersionError::DottedTooLong(_))
        ));
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

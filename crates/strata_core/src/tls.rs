//! libpq's `sslmode`, the one TLS vocabulary strata's URLs use for every server that speaks TLS
//! (PostgreSQL, MySQL, MariaDB), so a URL means the same thing whichever database it names.

use std::fmt;
use std::str::FromStr;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// Plaintext first; TLS (unverified) only if the server rejects the plaintext session.
    Allow,
    /// TLS (unverified) when the server offers it, else plaintext. The default.
    Prefer,
    /// TLS or fail; the certificate is not verified unless `sslrootcert` is given (then as `verify-ca`).
    Require,
    /// TLS, with the certificate chain checked against the trusted roots.
    VerifyCa,
    /// TLS, with the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `sslmode` value libpq does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown sslmode `{0}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
)]
pub struct UnknownSslMode(pub String);

impl FromStr for SslMode {
    type Err = UnknownSslMode;

    fn from_str(s: &str) -> Result<SslMode, UnknownSslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => return Err(UnknownSslMode(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_libpq_spelling_round_trips() {
        for mode in [
            SslMode::Disable,
            SslMode::Allow,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(mode.as_str().parse::<SslMode>(), Ok(mode));
        }
        let error = "verify_full".parse::<SslMode>().unwrap_err();
        assert!(error.to_string().contains("`verify_full`"), "{error}");
    }
}

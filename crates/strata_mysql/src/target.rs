//! `mysql://` and `mariadb://` URLs.

use mysql_async::{Opts, OptsBuilder};

/// Which server family a URL names; they differ in what lock information they expose and in
/// which changes run in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MySql,
    MariaDb,
}

/// A validated MySQL or MariaDB connection target. Never displays a password.
#[derive(Clone)]
pub struct MySqlTarget {
    opts: Opts,
    flavor: Flavor,
    redacted: String,
}

/// A URL strata cannot use; knowable before contacting a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MySQL URL {redacted}: {reason}")]
pub struct TargetError {
    pub redacted: String,
    pub reason: String,
}

impl MySqlTarget {
    /// Parses `mysql://user:password@host:port/database` (or `mariadb://...`).
    pub fn parse(url: &str) -> Result<MySqlTarget, TargetError> {
        let target = MySqlTarget::parse_server(url)?;
        if target.database().is_empty() {
            return Err(TargetError {
                redacted: target.redacted,
                reason: "the URL names no database (mysql://user@host/DATABASE)".into(),
            });
        }
        Ok(target)
    }

    /// Parses a URL that names a server, with or without a database: a replica, where strata
    /// only reads the replication status.
    pub fn parse_server(url: &str) -> Result<MySqlTarget, TargetError> {
        let (flavor, rest) = if let Some(rest) = url.strip_prefix("mariadb://") {
            (Flavor::MariaDb, rest)
        } else if let Some(rest) = url.strip_prefix("mysql://") {
            (Flavor::MySql, rest)
        } else {
            return Err(TargetError {
                redacted: redact(url),
                reason: "expected mysql:// or mariadb://".into(),
            });
        };
        let redacted = redact(url);
        if let Some(option) = tls_option(rest) {
            return Err(TargetError {
                redacted,
                reason: format!(
                    "`{option}` is not supported for MySQL/MariaDB: strata connects to them without \
                     TLS (reach the server over a trusted network or a tunnel)"
                ),
            });
        }
        let opts = Opts::from_url(&format!("mysql://{rest}")).map_err(|e| TargetError {
            redacted: redacted.clone(),
            reason: e.to_string(),
        })?;
        // Stay on the connection the URL names: the socket the server advertises may be another.
        let opts = Opts::from(OptsBuilder::from_opts(opts).prefer_socket(false));
        Ok(MySqlTarget {
            opts,
            flavor,
            redacted,
        })
    }

    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    pub fn database(&self) -> &str {
        self.opts.db_name().unwrap_or_default()
    }

    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    pub(crate) fn opts(&self) -> Opts {
        self.opts.clone()
    }

    /// The same server, another database (for scratch and test databases).
    pub fn with_database(&self, database: &str) -> MySqlTarget {
        let opts = Opts::from(OptsBuilder::from_opts(self.opts.clone()).db_name(Some(database)));
        let redacted = match self.redacted.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{database}"),
            None => self.redacted.clone(),
        };
        MySqlTarget {
            opts,
            flavor: self.flavor,
            redacted,
        }
    }
}

impl std::fmt::Debug for MySqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// The URL with its password replaced by `***` (and its query string dropped).
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<not a URL>".to_owned();
    };
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}/{path}")
}

/// The libpq TLS option a URL's query string asks for, if any. strata has no TLS for MySQL, and
/// silently connecting in plain text to a URL that asks for TLS would be worse than refusing.
fn tls_option(rest: &str) -> Option<&str> {
    let (_, query) = rest.split_once('?')?;
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
        .find(|key| matches!(*key, "sslmode" | "sslrootcert" | "ssl-mode" | "ssl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let target =
            MySqlTarget::parse("mariadb://app:s3cr%40t@db.example:3307/shop?prefer_socket=false")
                .unwrap();
        assert_eq!(target.redacted(), "mariadb://app:***@db.example:3307/shop");
        assert_eq!(target.database(), "shop");
        assert_eq!(target.flavor(), Flavor::MariaDb);
        assert_eq!(
            target.with_database("other").redacted(),
            "mariadb://app:***@db.example:3307/other"
        );
        assert_eq!(
            MySqlTarget::parse("mysql://root@127.0.0.1/test")
                .unwrap()
                .flavor(),
            Flavor::MySql
        );
    }

    #[test]
    fn a_url_asking_for_tls_is_refused_not_connected_in_plain_text() {
        for url in [
            "mysql://app:pw@db/shop?sslmode=require",
            "mariadb://app:pw@db/shop?prefer_socket=false&sslrootcert=/ca.pem",
        ] {
            let Err(error) = MySqlTarget::parse(url) else {
                panic!("accepted a URL that asks for TLS");
            };
            assert!(
                error.reason.contains("not supported for MySQL/MariaDB"),
                "{error}"
            );
            assert!(!error.to_string().contains("pw"), "{error}");
        }
    }

    #[test]
    fn rejects_urls_without_database_or_with_bad_ports() {
        let err = MySqlTarget::parse("mysql://root:pw@127.0.0.1:3306").unwrap_err();
        assert!(err.reason.contains("names no database"), "{err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
        assert!(MySqlTarget::parse("mysql://root:pw@127.0.0.1:notaport/x").is_err());
        let replica = MySqlTarget::parse_server("mysql://monitor:pw@replica1:3307").unwrap();
        assert_eq!(replica.redacted(), "mysql://monitor:***@replica1:3307/");
        assert_eq!(replica.database(), "");
        let err = MySqlTarget::parse_server("postgres://monitor:pw@replica1").unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
    }
}

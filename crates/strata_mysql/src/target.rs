//! `mysql://` and `mariadb://` URLs, and connecting to them with libpq's `sslmode` semantics
//! (the contract's one TLS vocabulary): `sslmode` and `sslrootcert` are taken out of the URL
//! here, the rest is mysql_async's.

use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use strata_core::SslMode;

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
    /// The connection without TLS.
    opts: Opts,
    ssl_mode: SslMode,
    /// What an encrypted attempt checks of the server's certificate; `None` with `disable`.
    ssl_opts: Option<SslOpts>,
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
        let invalid = |reason: String| TargetError {
            redacted: redacted.clone(),
            reason,
        };
        let (rest, tls) = take_tls_params(rest).map_err(invalid)?;
        let ssl_mode = match tls.sslmode {
            Some(mode) => mode
                .parse::<SslMode>()
                .map_err(|e| invalid(e.to_string()))?,
            None => SslMode::Prefer,
        };
        let ssl_opts = ssl_opts(ssl_mode, tls.sslrootcert.as_deref()).map_err(invalid)?;
        let opts =
            Opts::from_url(&format!("mysql://{rest}")).map_err(|e| invalid(e.to_string()))?;
        // Stay on the connection the URL names: the socket the server advertises may be another.
        // Affected rows count the rows an UPDATE matched, not only those whose values changed,
        // so a backfill reports every row its statement touched, as on PostgreSQL and SQLite.
        let opts = Opts::from(
            OptsBuilder::from_opts(opts)
                .prefer_socket(false)
                .client_found_rows(true),
        );
        Ok(MySqlTarget {
            opts,
            ssl_mode,
            ssl_opts,
            flavor,
            redacted,
        })
    }

    /// Opens a session with the URL's `sslmode`: `prefer` (the default) encrypts when the
    /// server offers TLS and falls back to plaintext when it does not or the handshake fails;
    /// `allow` tries plaintext first and encrypts only if the server refuses it; `require` and
    /// `verify-*` never send a byte of the login in plaintext.
    pub async fn connect(&self) -> Result<Conn, mysql_async::Error> {
        let plaintext = || Conn::new(self.opts.clone());
        let encrypted =
            || Conn::new(OptsBuilder::from_opts(self.opts.clone()).ssl_opts(self.ssl_opts.clone()));
        match self.ssl_mode {
            SslMode::Disable => plaintext().await,
            SslMode::Allow => match plaintext().await {
                Err(mysql_async::Error::Server(_)) => encrypted().await,
                other => other,
            },
            SslMode::Prefer => match encrypted().await {
                Err(error) if is_tls_failure(&error) => plaintext().await,
                other => other,
            },
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => encrypted().await,
        }
    }

    /// The `sslmode` in effect.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
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

    /// The same server, another database (for scratch and test databases).
    pub fn with_database(&self, database: &str) -> MySqlTarget {
        let opts = Opts::from(OptsBuilder::from_opts(self.opts.clone()).db_name(Some(database)));
        let redacted = match self.redacted.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{database}"),
            None => self.redacted.clone(),
        };
        MySqlTarget {
            opts,
            ssl_mode: self.ssl_mode,
            ssl_opts: self.ssl_opts.clone(),
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

/// The TLS parameters of a URL's query string, which mysql_async does not know.
#[derive(Default)]
struct TlsParams {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Splits `sslmode` and `sslrootcert` off the part of the URL after the scheme. The MySQL
/// client's own spellings are refused rather than ignored: silently connecting in plaintext to
/// a URL that asks for TLS would be worse.
fn take_tls_params(rest: &str) -> Result<(String, TlsParams), String> {
    let Some((base, query)) = rest.split_once('?') else {
        return Ok((rest.to_owned(), TlsParams::default()));
    };
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => params.sslmode = Some(value.to_owned()),
            "sslrootcert" => params.sslrootcert = Some(value.to_owned()),
            "ssl-mode" | "ssl" | "ssl-ca" | "ssl_ca" => {
                return Err(format!(
                    "`{key}` is the mysql client's spelling; strata's URLs use libpq's: \
                     sslmode=disable|prefer|require|verify-ca|verify-full and sslrootcert=FILE"
                ));
            }
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, params))
}

/// What an encrypted attempt checks, as libpq does: `prefer`, `allow` and `require` only
/// encrypt; `verify-ca` and `verify-full` check the chain against `sslrootcert` (else the
/// bundled Mozilla roots), and so does `require` when `sslrootcert` is given. The host name is
/// checked whenever the chain is: mysql_async's "skip domain validation" no longer recognises
/// rustls's name-mismatch error, so checking the chain alone is not possible here, and strata
/// fails closed (as `verify-full`) rather than accepting any certificate. The root file is read
/// now, so a bad path is a configuration error.
fn ssl_opts(mode: SslMode, root_file: Option<&str>) -> Result<Option<SslOpts>, String> {
    let roots = match (mode, root_file) {
        (SslMode::Disable, _) | (_, None | Some("system")) => None,
        (_, Some(file)) => Some(read_roots(file)?),
    };
    let unverified = SslOpts::default()
        .with_danger_accept_invalid_certs(true)
        .with_danger_skip_domain_validation(true);
    let verified = match roots {
        Some(pem) => SslOpts::default()
            .with_root_certs(vec![pem.into()])
            .with_disable_built_in_roots(true),
        None => SslOpts::default(),
    };
    Ok(match mode {
        SslMode::Disable => None,
        SslMode::Allow | SslMode::Prefer => Some(unverified),
        SslMode::Require if root_file.is_none() => Some(unverified),
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Some(verified),
    })
}

/// The PEM bytes of an `sslrootcert` file, checked to hold at least one certificate.
fn read_roots(file: &str) -> Result<Vec<u8>, String> {
    let failed = |why: String| format!("cannot use sslrootcert `{file}`: {why}");
    let pem = std::fs::read(file).map_err(|e| failed(e.to_string()))?;
    let mut certificates = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        certificate.map_err(|e| failed(format!("not PEM certificates ({e})")))?;
        certificates += 1;
    }
    if certificates == 0 {
        return Err(failed("it holds no PEM certificate".into()));
    }
    Ok(pem)
}

/// Whether an encrypted attempt failed for want of TLS rather than for the login: the server
/// does not offer it, or the handshake failed. `prefer` then connects in plaintext, as libpq.
pub(crate) fn is_tls_failure(error: &mysql_async::Error) -> bool {
    match error {
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => true,
        mysql_async::Error::Io(mysql_async::IoError::Tls(_)) => true,
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()),
        _ => false,
    }
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
    fn takes_libpq_tls_parameters_out_of_the_url() {
        let target = MySqlTarget::parse("mysql://app:pw@db/shop").unwrap();
        assert_eq!(target.ssl_mode(), SslMode::Prefer, "prefer is the default");
        let target =
            MySqlTarget::parse("mysql://app:pw@db/shop?sslmode=require&prefer_socket=false")
                .unwrap();
        assert_eq!(target.ssl_mode(), SslMode::Require);
        assert!(target.ssl_opts.as_ref().unwrap().accept_invalid_certs());
        let target = MySqlTarget::parse("mysql://app:pw@db/shop?sslmode=disable").unwrap();
        assert!(target.ssl_opts.is_none());
        let target =
            MySqlTarget::parse("mysql://app:pw@db/shop?sslmode=verify-full&sslrootcert=system")
                .unwrap();
        let opts = target.ssl_opts.unwrap();
        assert!(!opts.accept_invalid_certs() && !opts.skip_domain_validation());
        assert!(
            !opts.disable_built_in_roots(),
            "system means the bundled roots"
        );
    }

    #[test]
    fn verify_ca_and_require_with_a_root_check_the_certificate() {
        let dir = std::env::temp_dir().join(format!("strata-mysql-roots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("ca.pem");
        std::fs::write(&root, TEST_CERTIFICATE).unwrap();
        for mode in ["verify-ca", "require"] {
            let url = format!(
                "mysql://app:pw@db/shop?sslmode={mode}&sslrootcert={}",
                root.display()
            );
            let opts = MySqlTarget::parse(&url).unwrap().ssl_opts.unwrap();
            assert!(!opts.accept_invalid_certs(), "{mode}");
            assert!(
                !opts.skip_domain_validation(),
                "{mode}: fails closed, as verify-full"
            );
            assert!(
                opts.disable_built_in_roots(),
                "{mode}: only the given roots"
            );
            assert_eq!(opts.root_certs().len(), 1, "{mode}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_tls_parameters_are_refused_before_connecting() {
        let refused = |url: &str| {
            let Err(error) = MySqlTarget::parse(url) else {
                panic!("accepted {url}");
            };
            assert!(!error.to_string().contains("pw"), "{error}");
            error.reason
        };
        let reason = refused("mysql://app:pw@db/shop?sslmode=verify_full");
        assert!(reason.contains("unknown sslmode `verify_full`"), "{reason}");
        let reason = refused("mariadb://app:pw@db/shop?ssl-mode=REQUIRED");
        assert!(
            reason.contains("sslmode=disable|prefer|require"),
            "{reason}"
        );
        let reason =
            refused("mysql://app:pw@db/shop?sslmode=verify-ca&sslrootcert=/no/such/ca.pem");
        assert!(
            reason.contains("cannot use sslrootcert `/no/such/ca.pem`"),
            "{reason}"
        );
        let not_pem = std::env::temp_dir().join(format!("strata-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let reason = refused(&format!(
            "mysql://app:pw@db/shop?sslmode=verify-ca&sslrootcert={}",
            not_pem.display()
        ));
        std::fs::remove_file(&not_pem).unwrap();
        assert!(reason.contains("holds no PEM certificate"), "{reason}");
    }

    /// A self-signed certificate (CN localhost), only ever parsed here.
    const TEST_CERTIFICATE: &str = include_str!("../tests/fixtures/localhost.pem");

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

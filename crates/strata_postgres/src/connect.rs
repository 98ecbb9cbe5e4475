//! Connecting to PostgreSQL: URL parsing, libpq `sslmode` semantics over rustls.
//!
//! tokio-postgres parses libpq URLs, but not all of them the way libpq (and users) expect: it knows only the
//! `disable`/`prefer`/`require` sslmodes, has no `sslrootcert`, splits the credentials at the first `@`, and
//! needs a host. So [`PgTarget::parse`] takes the credentials and the TLS keys out of the URL itself, applies
//! libpq's environment defaults, and hands the rest to `tokio_postgres::Config`. [`connect`] then picks the
//! TLS connector per attempt, so that `prefer` can fall back to plaintext the way libpq does.
//!
//! Every message shows the URL as [`PgTarget::redacted`]: a password never reaches output.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode as WireSslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

pub use strata_core::SslMode;

use crate::tls::{self, Verification};

/// Shown in `pg_stat_activity` so a DBA can tell strata's sessions apart, unless the URL names another.
const DEFAULT_APPLICATION_NAME: &str = "strata";
/// Without a bound, an unroutable host would hang for the kernel's SYN retry budget (minutes).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Where libpq (Debian's build, then upstream's) looks for a server's socket when no host is given.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
const DEFAULT_PORT: u16 = 5432;

/// Why a connection could not be made. Each variant's message is complete and safe to print: it names the
/// target in redacted form and never contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL (or a `PG*` environment variable it relies on) cannot be used.
    #[error("invalid PostgreSQL URL: {reason}")]
    InvalidUrl { reason: String },
    /// `sslrootcert` names a file that cannot be read as PEM certificates.
    #[error("cannot use sslrootcert `{}`: {reason}", path.display())]
    RootCertificate { path: PathBuf, reason: String },
    /// No server answered: connection refused, timed out, or the host name did not resolve.
    #[error(
        "cannot reach PostgreSQL at {target}: {cause}; check that the server is running and that host and port are right"
    )]
    Unreachable { target: String, cause: String },
    /// TLS could not be set up, or the server's certificate was not accepted.
    #[error("TLS with {target} failed: {cause}")]
    Tls { target: String, cause: String },
    /// The server rejected the login (wrong password, no `pg_hba.conf` entry, unsupported method).
    #[error(
        "authentication as `{user}` failed at {target}: {reason}; check the user name and password in the database URL"
    )]
    AuthenticationFailed {
        target: String,
        user: String,
        reason: String,
    },
    /// The login worked but the database named in the URL does not exist.
    #[error(
        "database `{database}` does not exist on {target}; create it, or correct the database name in the URL"
    )]
    DatabaseDoesNotExist { target: String, database: String },
    /// The server refused the session for another reason (too many connections, shutting down, ...).
    #[error("{target} refused the connection: {message} (SQLSTATE {code})")]
    Server {
        target: String,
        code: String,
        message: String,
    },
    /// Something answered, but the PostgreSQL start-up exchange did not complete.
    #[error(
        "connecting to {target} failed during start-up: {cause}; is a PostgreSQL server listening there?"
    )]
    Startup { target: String, cause: String },
}

impl ConnectError {
    /// True for problems knowable without contacting the server; the CLI exits 2 for these and 1 otherwise.
    pub fn is_config_error(&self) -> bool {
        matches!(
            self,
            ConnectError::InvalidUrl { .. } | ConnectError::RootCertificate { .. }
        )
    }
}

fn invalid(reason: impl Into<String>) -> ConnectError {
    ConnectError::InvalidUrl {
        reason: reason.into(),
    }
}

/// A validated PostgreSQL connection target. Never displays a password: `Display` and `Debug` show
/// [`PgTarget::redacted`].
#[derive(Clone)]
pub struct PgTarget {
    config: Config,
    ssl_mode: SslMode,
    verification: Verification,
    /// Bounds a whole attempt (TCP, TLS, start-up), as libpq's `connect_timeout` does per host;
    /// tokio-postgres alone bounds only the TCP connect.
    attempt_timeout: Option<Duration>,
    user: String,
    database: String,
    redacted: String,
}

impl PgTarget {
    /// Parses a `postgres://` / `postgresql://` URL (libpq URI syntax incl. query parameters such as `sslmode`,
    /// `sslrootcert`, `application_name`, `connect_timeout`, `options`). What the URL leaves out comes from
    /// libpq's environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`,
    /// `PGCONNECT_TIMEOUT`, `PGSSLMODE`, `PGSSLROOTCERT`), then from defaults: the local socket directory or
    /// `localhost`, `sslmode=prefer`, `application_name=strata`, a 10 s `connect_timeout`.
    ///
    /// Unlike libpq, the credentials end at the *last* `@` before the host, so an unencoded `@` in a
    /// password works. `sslrootcert=system` selects the bundled Mozilla roots, which are also what
    /// `verify-ca`/`verify-full` use when neither `sslrootcert` nor `~/.postgresql/root.crt` exists.
    ///
    /// Fails only for problems knowable without contacting the server (bad URL, unknown sslmode,
    /// unreadable sslrootcert).
    pub fn parse(url: &str) -> Result<PgTarget, ConnectError> {
        PgTarget::parse_with_env(url, &|key| {
            std::env::var(key).ok().filter(|value| !value.is_empty())
        })
    }

    /// [`PgTarget::parse`] with the environment passed in, so tests need not change the process's.
    fn parse_with_env(
        url: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PgTarget, ConnectError> {
        let parts = UrlParts::split(url)?;
        let mut config =
            Config::from_str(&parts.tokio_postgres_url()).map_err(|e| invalid(error_causes(&e)))?;
        apply_env_defaults(&mut config, env)?;
        check_host_counts(&config)?;

        if config.get_application_name().is_none() {
            config.application_name(
                parts
                    .fallback_application_name
                    .as_deref()
                    .unwrap_or(DEFAULT_APPLICATION_NAME),
            );
        }
        let attempt_timeout = match (parts.connect_timeout_given, config.get_connect_timeout()) {
            (_, Some(timeout)) => Some(*timeout),
            // `connect_timeout=0` in the URL means "wait indefinitely", as in libpq.
            (true, None) => None,
            (false, None) => {
                config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
                Some(DEFAULT_CONNECT_TIMEOUT)
            }
        };

        let requested = match parts.sslmode.or_else(|| env("PGSSLMODE")) {
            Some(mode) => mode
                .parse::<SslMode>()
                .map_err(|e| invalid(e.to_string()))?,
            None => SslMode::Prefer,
        };
        let root_file = parts.sslrootcert.or_else(|| env("PGSSLROOTCERT"));
        let all_unix = config
            .get_hosts()
            .iter()
            .all(|host| !matches!(host, Host::Tcp(_)))
            && config.get_hostaddrs().is_empty();
        // PostgreSQL has no TLS on Unix sockets; libpq then ignores sslmode, and so do we.
        let ssl_mode = if all_unix {
            SslMode::Disable
        } else {
            requested
        };
        let verification = verification_for(ssl_mode, root_file.as_deref(), env)?;

        let user = config.get_user().unwrap_or_default().to_owned();
        let database = config.get_dbname().unwrap_or(&user).to_owned();
        let redacted = redact(&config, &database);
        Ok(PgTarget {
            config,
            ssl_mode,
            verification,
            attempt_timeout,
            user,
            database,
            redacted,
        })
    }

    /// `postgres://user:***@host:port/db` — the form every message uses.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The database connected to: the URL's, else (as PostgreSQL does) the user name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The user logged in as; empty when neither the URL nor the environment names one (tokio-postgres then
    /// uses the operating-system user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The sslmode in effect: the requested one, or `disable` for Unix-socket hosts.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The same server, another database (used for scratch/test databases).
    pub fn with_database(&self, db: &str) -> PgTarget {
        let mut target = self.clone();
        target.config.dbname(db);
        target.database = db.to_owned();
        target.redacted = redact(&target.config, db);
        target
    }
}

impl fmt::Display for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &self.redacted)
            .field("ssl_mode", &self.ssl_mode)
            .finish_non_exhaustive()
    }
}

/// The URL taken apart where tokio-postgres's parser falls short.
struct UrlParts {
    user: Option<String>,
    password: Option<Vec<u8>>,
    /// Hosts, ports and path exactly as written.
    hosts_and_path: String,
    /// Query parameters tokio-postgres understands, as written.
    kept_params: Vec<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    fallback_application_name: Option<String>,
    connect_timeout_given: bool,
}

impl UrlParts {
    fn split(url: &str) -> Result<UrlParts, ConnectError> {
        let rest = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .ok_or_else(|| invalid("expected a URL starting with postgres:// or postgresql://"))?;

        // The authority ends at the first `/` or `?`; within it, the credentials end at the last `@`
        // (libpq takes the first, which breaks on an unencoded `@` in a password).
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                let user = utf8(percent_decode(user, "user name")?, "user name")?;
                let password = password
                    .map(|password| percent_decode(password, "password"))
                    .transpose()?;
                (
                    Some(user).filter(|user| !user.is_empty()),
                    password.filter(|password| !password.is_empty()),
                )
            }
        };

        let (path, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (tail, None),
        };
        let mut parts = UrlParts {
            user,
            password,
            hosts_and_path: format!("{hosts}{path}"),
            kept_params: Vec::new(),
            sslmode: None,
            sslrootcert: None,
            fallback_application_name: None,
            connect_timeout_given: false,
        };
        for param in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').ok_or_else(|| {
                invalid(
                    "a query parameter has no `=value` (expected key=value pairs joined by `&`)",
                )
            })?;
            let key = utf8(percent_decode(key, "a parameter name")?, "a parameter name")?;
            let decoded = || -> Result<String, ConnectError> {
                let what = format!("the value of `{key}`");
                utf8(percent_decode(value, &what)?, &what)
            };
            match key.as_str() {
                "sslmode" => parts.sslmode = Some(decoded()?),
                "sslrootcert" => parts.sslrootcert = Some(decoded()?),
                "fallback_application_name" => {
                    parts.fallback_application_name = Some(decoded()?);
                }
                "connect_timeout" => {
                    parts.connect_timeout_given = true;
                    parts.kept_params.push(param.to_owned());
                }
                _ => parts.kept_params.push(param.to_owned()),
            }
        }
        Ok(parts)
    }

    /// The URL tokio-postgres gets: credentials re-encoded so that its first-`@` split finds them, and
    /// without the keys it would reject.
    fn tokio_postgres_url(&self) -> String {
        let mut url = String::from("postgres://");
        if self.user.is_some() || self.password.is_some() {
            url.push_str(&percent_encode(
                self.user.as_deref().unwrap_or_default().as_bytes(),
            ));
            if let Some(password) = &self.password {
                url.push(':');
                url.push_str(&percent_encode(password));
            }
            url.push('@');
        }
        url.push_str(&self.hosts_and_path);
        if !self.kept_params.is_empty() {
            url.push('?');
            url.push_str(&self.kept_params.join("&"));
        }
        url
    }
}

/// Decodes `%XX` escapes strictly (as libpq does), naming only `what` on error so no secret is echoed.
fn percent_decode(s: &str, what: &str) -> Result<Vec<u8>, ConnectError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let byte = bytes
                .get(i + 1..i + 3)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "malformed percent-encoding in {what} (write `%` as %25)"
                    ))
                })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, ConnectError> {
    String::from_utf8(bytes).map_err(|_| invalid(format!("{what} is not valid UTF-8")))
}

/// Encodes everything but RFC 3986's unreserved characters, so the result is one URL component.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// libpq's environment variables, for what the URL leaves out, then the local defaults.
fn apply_env_defaults(
    config: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConnectError> {
    if config.get_ports().is_empty()
        && let Some(ports) = env("PGPORT")
    {
        for port in ports.split(',') {
            let port = port
                .parse()
                .map_err(|_| invalid(format!("PGPORT `{port}` is not a port number")))?;
            config.port(port);
        }
    }
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        match env("PGHOST") {
            Some(hosts) => {
                for host in hosts.split(',') {
                    config.host(host);
                }
            }
            None => {
                let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
                config.host(default_host(port));
            }
        }
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER")
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"))
    {
        config.user(user);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = env("PGDATABASE")
    {
        config.dbname(dbname);
    }
    if config.get_application_name().is_none()
        && let Some(name) = env("PGAPPNAME")
    {
        config.application_name(name);
    }
    if config.get_connect_timeout().is_none()
        && let Some(seconds) = env("PGCONNECT_TIMEOUT")
    {
        let seconds: u64 = seconds.parse().map_err(|_| {
            invalid(format!(
                "PGCONNECT_TIMEOUT `{seconds}` is not a number of seconds"
            ))
        })?;
        if seconds > 0 {
            config.connect_timeout(Duration::from_secs(seconds));
        }
    }
    Ok(())
}

/// Where libpq would connect without a host: the first socket directory holding this port's socket,
/// else `localhost` over TCP (tokio-postgres has no compiled-in default and would refuse).
fn default_host(port: u16) -> String {
    DEFAULT_SOCKET_DIRS
        .iter()
        .find(|dir| Path::new(dir).join(format!(".s.PGSQL.{port}")).exists())
        .map_or_else(|| "localhost".to_owned(), |dir| (*dir).to_owned())
}

/// The checks tokio-postgres makes only when connecting, made here so they count as configuration errors.
fn check_host_counts(config: &Config) -> Result<(), ConnectError> {
    let (hosts, addrs) = (config.get_hosts().len(), config.get_hostaddrs().len());
    if hosts > 0 && addrs > 0 && hosts != addrs {
        return Err(invalid(format!(
            "{hosts} hosts but {addrs} hostaddrs (give one hostaddr per host)"
        )));
    }
    let ports = config.get_ports().len();
    let targets = hosts.max(addrs);
    if ports > 1 && ports != targets {
        return Err(invalid(format!(
            "{ports} ports for {targets} hosts (give one port, or one per host)"
        )));
    }
    Ok(())
}

/// Resolves which certificates a mode trusts, reading root files now so a bad path is a configuration error.
fn verification_for(
    mode: SslMode,
    root_file: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Verification, ConnectError> {
    let explicit_roots = match (mode, root_file) {
        (SslMode::Disable, _) | (_, None) => None,
        (_, Some(file)) => Some(load_roots(file)?),
    };
    Ok(match mode {
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => Verification::SignatureOnly,
        // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same as verify-ca".
        SslMode::Require => explicit_roots.map_or(Verification::SignatureOnly, Verification::Chain),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = match explicit_roots {
                Some(roots) => roots,
                None => default_roots(env)?,
            };
            if mode == SslMode::VerifyCa {
                Verification::Chain(roots)
            } else {
                Verification::Full(roots)
            }
        }
    })
}

/// libpq's default root file, `~/.postgresql/root.crt`, when it exists; else the bundled Mozilla roots
/// (where libpq would fail), which suit hosted servers with publicly signed certificates.
fn default_roots(env: &dyn Fn(&str) -> Option<String>) -> Result<Arc<RootCertStore>, ConnectError> {
    if let Some(home) = env("HOME") {
        let file = Path::new(&home).join(".postgresql/root.crt");
        if file.exists() {
            return load_roots(&file.to_string_lossy());
        }
    }
    Ok(system_roots())
}

fn system_roots() -> Arc<RootCertStore> {
    Arc::new(RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}

fn load_roots(file: &str) -> Result<Arc<RootCertStore>, ConnectError> {
    if file == "system" {
        return Ok(system_roots());
    }
    let failed = |reason: String| ConnectError::RootCertificate {
        path: PathBuf::from(file),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(file).map_err(|e| failed(e.to_string()))? {
        let cert = cert.map_err(|e| failed(e.to_string()))?;
        roots.add(cert).map_err(|e| failed(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(failed("the file holds no PEM certificate".to_owned()));
    }
    Ok(Arc::new(roots))
}

/// The URL shown in messages: credentials, hosts, ports and database; never the password or other parameters.
fn redact(config: &Config, database: &str) -> String {
    let mut url = String::from("postgres://");
    if let Some(user) = config.get_user() {
        url.push_str(&percent_encode(user.as_bytes()));
    }
    if config.get_password().is_some() {
        url.push_str(":***");
    }
    if config.get_user().is_some() || config.get_password().is_some() {
        url.push('@');
    }
    let ports = config.get_ports();
    let port = |i: usize| {
        ports
            .get(i)
            .or(ports.first())
            .copied()
            .unwrap_or(DEFAULT_PORT)
    };
    let bracketed = |host: &str| {
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    };
    let hosts = config.get_hosts();
    let all_unix = !hosts.is_empty() && hosts.iter().all(|host| !matches!(host, Host::Tcp(_)));
    let mut socket_dirs = Vec::new();
    let mut authority = Vec::new();
    if hosts.is_empty() {
        for (i, addr) in config.get_hostaddrs().iter().enumerate() {
            authority.push(format!("{}:{}", bracketed(&addr.to_string()), port(i)));
        }
    }
    for (i, host) in hosts.iter().enumerate() {
        match host {
            Host::Tcp(name) => authority.push(format!("{}:{}", bracketed(name), port(i))),
            #[cfg(unix)]
            Host::Unix(dir) if all_unix => {
                // Readable and still valid libpq syntax: `postgres://user@:5432/db?host=/run/postgresql`.
                socket_dirs.push(dir.display().to_string());
                authority.push(format!(":{}", port(i)));
            }
            #[cfg(unix)]
            Host::Unix(dir) => authority.push(format!(
                "{}:{}",
                percent_encode(dir.as_os_str().as_encoded_bytes()),
                port(i)
            )),
        }
    }
    url.push_str(&authority.join(","));
    if !database.is_empty() {
        url.push('/');
        url.push_str(&percent_encode(database.as_bytes()));
    }
    if !socket_dirs.is_empty() {
        url.push_str("?host=");
        url.push_str(&socket_dirs.join(","));
    }
    url
}

/// Connects with libpq `sslmode` semantics over rustls (ring provider), with `application_name` set in the
/// start-up packet. Returns the client and the spawned connection task: drop the client, then await the task,
/// so the server receives a Terminate instead of logging a reset connection.
pub async fn connect(target: &PgTarget) -> Result<(Client, JoinHandle<()>), ConnectError> {
    let attempt = match target.ssl_mode {
        SslMode::Disable => plaintext(target).await,
        // libpq retries with TLS whenever the plaintext session fails after reaching the server.
        SslMode::Allow => match plaintext(target).await {
            Err(Failure::Pg(e)) if e.as_db_error().is_some() => {
                encrypted(target, WireSslMode::Require).await
            }
            other => other,
        },
        // tokio-postgres falls back to plaintext only when the server declines TLS; libpq also does when the
        // handshake itself fails (old protocol versions, odd certificates), so `prefer` never fails on TLS.
        SslMode::Prefer => match encrypted(target, WireSslMode::Prefer).await {
            Err(Failure::Pg(e)) if is_tls_failure(&e) => plaintext(target).await,
            other => other,
        },
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            encrypted(target, WireSslMode::Require).await
        }
    };
    attempt.map_err(|failure| classify(target, failure))
}

/// Why one attempt failed, before it is explained to a person.
enum Failure {
    Pg(tokio_postgres::Error),
    /// The whole attempt outlived `connect_timeout` (times the number of hosts).
    TimedOut(Duration),
    /// The rustls configuration could not be built (not expected with the ring provider).
    TlsSetup(String),
}

async fn plaintext(target: &PgTarget) -> Result<(Client, JoinHandle<()>), Failure> {
    let mut config = target.config.clone();
    config.ssl_mode(WireSslMode::Disable);
    establish(&config, NoTls, target.attempt_limit()).await
}

async fn encrypted(
    target: &PgTarget,
    mode: WireSslMode,
) -> Result<(Client, JoinHandle<()>), Failure> {
    let tls =
        tls::client_config(&target.verification).map_err(|e| Failure::TlsSetup(e.to_string()))?;
    let mut config = target.config.clone();
    config.ssl_mode(mode);
    establish(&config, MakeRustlsConnect::new(tls), target.attempt_limit()).await
}

impl PgTarget {
    fn attempt_limit(&self) -> Option<Duration> {
        let hosts = self
            .config
            .get_hosts()
            .len()
            .max(self.config.get_hostaddrs().len())
            .max(1);
        self.attempt_timeout
            .map(|timeout| timeout * u32::try_from(hosts).unwrap_or(u32::MAX))
    }
}

/// One attempt. tokio-postgres connects its own sockets with TCP_NODELAY, which keeps the TLS handshake's
/// small writes from waiting ~40 ms on delayed ACKs; do not replace this with `connect_raw` on a socket
/// of our own without setting it too.
async fn establish<T>(
    config: &Config,
    tls: T,
    limit: Option<Duration>,
) -> Result<(Client, JoinHandle<()>), Failure>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let connecting = config.connect(tls);
    let connected = match limit {
        Some(limit) => tokio::time::timeout(limit, connecting)
            .await
            .map_err(|_| Failure::TimedOut(limit))?,
        None => connecting.await,
    };
    let (client, connection) = connected.map_err(Failure::Pg)?;
    let task = tokio::spawn(async move {
        // An error here means the session broke; the client's own calls report that as "connection closed",
        // where the caller has the context to explain it.
        let _ = connection.await;
    });
    Ok((client, task))
}

/// tokio-postgres exposes its error kinds only through `Display`; this is its TLS kind.
fn is_tls_failure(error: &tokio_postgres::Error) -> bool {
    error.to_string() == "error performing TLS handshake"
}

fn classify(target: &PgTarget, failure: Failure) -> ConnectError {
    let target_url = target.redacted.clone();
    let error = match failure {
        Failure::Pg(error) => error,
        Failure::TimedOut(limit) => {
            return ConnectError::Unreachable {
                target: target_url,
                cause: format!(
                    "no answer within {} s (connect_timeout)",
                    limit.as_secs_f32()
                ),
            };
        }
        Failure::TlsSetup(cause) => {
            return ConnectError::Tls {
                target: target_url,
                cause,
            };
        }
    };
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            ConnectError::AuthenticationFailed {
                target: target_url,
                user: target.user.clone(),
                reason: db.message().to_owned(),
            }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            ConnectError::DatabaseDoesNotExist {
                target: target_url,
                database: target.database.clone(),
            }
        } else {
            ConnectError::Server {
                target: target_url,
                code: code.code().to_owned(),
                message: db.message().to_owned(),
            }
        };
    }
    let cause = error_causes(&error);
    // These are tokio-postgres's `Display` texts for its error kinds (see `is_tls_failure`).
    match error.to_string().as_str() {
        "error connecting to server" => ConnectError::Unreachable {
            target: target_url,
            cause,
        },
        "error performing TLS handshake" => {
            let cause = match rustls_error(&error).and_then(tls::hint) {
                Some(hint) => format!("{cause}; {hint}"),
                None if cause == "server does not support TLS" => {
                    format!("{cause}; use sslmode=prefer or sslmode=disable, or turn ssl on")
                }
                None => cause,
            };
            ConnectError::Tls {
                target: target_url,
                cause,
            }
        }
        "authentication error" => ConnectError::AuthenticationFailed {
            target: target_url,
            user: target.user.clone(),
            reason: cause,
        },
        "invalid configuration" if cause == "password missing" => {
            ConnectError::AuthenticationFailed {
                target: target_url,
                user: target.user.clone(),
                reason: "the server asks for a password and the URL gives none".to_owned(),
            }
        }
        "invalid configuration" => invalid(cause),
        kind if cause.is_empty() => ConnectError::Startup {
            target: target_url,
            cause: kind.to_owned(),
        },
        kind => ConnectError::Startup {
            target: target_url,
            cause: format!("{kind}: {cause}"),
        },
    }
}

/// The messages under an error's own, joined with `: `. tokio-postgres's `Display` stops at the kind
/// ("error performing TLS handshake"); the reason a person can act on is in the sources.
fn error_causes(error: &dyn StdError) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        let message = source.to_string();
        if !messages.contains(&message) {
            messages.push(message);
        }
        next = source.source();
    }
    if messages.is_empty() {
        error.to_string()
    } else {
        messages.join(": ")
    }
}

/// The rustls error behind a failed handshake. tokio-rustls wraps it in an `io::Error`, whose `source()`
/// skips the wrapped error itself, so look inside with `get_ref`.
fn rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(found) = current
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(found);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(url: &str) -> PgTarget {
        PgTarget::parse_with_env(url, &no_env).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn parse_err(url: &str) -> ConnectError {
        match PgTarget::parse_with_env(url, &no_env) {
            Ok(target) => panic!("{url} parsed as {target:?}"),
            Err(e) => e,
        }
    }

    fn password(target: &PgTarget) -> Option<&[u8]> {
        target.config.get_password()
    }

    #[test]
    fn parses_a_plain_url() {
        let target = parse("postgres://app:secret@db.example.com:6543/shop");
        assert_eq!(
            target.redacted(),
            "postgres://app:***@db.example.com:6543/shop"
        );
        assert_eq!(target.database(), "shop");
        assert_eq!(target.user(), "app");
        assert_eq!(password(&target), Some(&b"secret"[..]));
        assert_eq!(target.ssl_mode(), SslMode::Prefer);
        assert_eq!(target.config.get_ports(), [6543]);
    }

    #[test]
    fn accepts_both_schemes_and_nothing_else() {
        let target = parse("postgresql://app@localhost/shop");
        assert_eq!(target.redacted(), "postgres://app@localhost:5432/shop");
        for url in ["mysql://app@localhost/shop", "localhost/shop", ""] {
            let error = parse_err(url);
            assert!(error.is_config_error());
            assert!(error.to_string().contains("postgres://"), "{error}");
        }
    }

    #[test]
    fn percent_encoded_password_is_decoded_and_never_shown() {
        let target = parse("postgres://app:p%40ss%3Aw%2Frd%25@localhost/shop");
        assert_eq!(password(&target), Some(&b"p@ss:w/rd%"[..]));
        assert_eq!(target.redacted(), "postgres://app:***@localhost:5432/shop");
        let shown = format!("{target} {target:?}");
        assert!(
            !shown.contains("p@ss") && !shown.contains("p%40ss"),
            "{shown}"
        );
    }

    #[test]
    fn raw_at_sign_and_colon_in_password() {
        let target = parse("postgres://app:p@ss:w@rd@db.example.com:5433/shop");
        assert_eq!(password(&target), Some(&b"p@ss:w@rd"[..]));
        assert_eq!(
            target.config.get_hosts(),
            [Host::Tcp("db.example.com".into())]
        );
        assert_eq!(target.config.get_ports(), [5433]);
        assert_eq!(
            target.redacted(),
            "postgres://app:***@db.example.com:5433/shop"
        );
    }

    #[test]
    fn password_in_a_query_parameter_is_redacted_too() {
        let target = parse("postgres://app@localhost/shop?password=hunter2");
        assert_eq!(password(&target), Some(&b"hunter2"[..]));
        assert_eq!(target.redacted(), "postgres://app:***@localhost:5432/shop");
    }

    #[test]
    fn errors_do_not_echo_the_password() {
        for url in [
            "postgres://app:hunter2@localhost:notaport/shop",
            "postgres://app:hunter2%zz@localhost/shop",
            "postgres://app:hunter2@localhost/shop?sslmode=sometimes",
            "postgres://app:hunter2@localhost/shop?bogus_option=1",
            "postgres://app:hunter2@localhost/shop?noequals",
        ] {
            let error = parse_err(url);
            assert!(error.is_config_error(), "{url}: {error}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn malformed_percent_encoding_names_the_component() {
        let error = parse_err("postgres://app:%4@localhost/shop");
        assert!(error.to_string().contains("password"), "{error}");
    }

    #[test]
    fn sslmode_values() {
        for (value, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
        ] {
            let target = parse(&format!("postgres://app@localhost/shop?sslmode={value}"));
            assert_eq!(target.ssl_mode(), mode);
            assert_eq!(mode.to_string(), value);
        }
        let error = parse_err("postgres://app@localhost/shop?sslmode=verify_full");
        assert!(matches!(error, ConnectError::InvalidUrl { .. }));
        assert!(error.to_string().contains("verify_full"), "{error}");
    }

    #[test]
    fn verification_follows_the_mode() {
        let verification = |url: &str| parse(url).verification;
        assert!(matches!(
            verification("postgres://a@h/d?sslmode=require"),
            Verification::SignatureOnly
        ));
        assert!(matches!(
            verification("postgres://a@h/d?sslmode=verify-ca&sslrootcert=system"),
            Verification::Chain(_)
        ));
        assert!(matches!(
            verification("postgres://a@h/d?sslmode=verify-full"),
            Verification::Full(_)
        ));
        // libpq: `require` with a root file verifies the chain.
        assert!(matches!(
            verification("postgres://a@h/d?sslmode=require&sslrootcert=system"),
            Verification::Chain(_)
        ));
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let env = |key: &str| {
            Some(
                match key {
                    "PGSSLMODE" => "require",
                    "PGHOST" => "db.internal",
                    "PGPORT" => "6000",
                    "PGUSER" => "envuser",
                    "PGPASSWORD" => "envsecret",
                    "PGDATABASE" => "envdb",
                    "PGAPPNAME" => "envapp",
                    _ => return None,
                }
                .to_owned(),
            )
        };
        let target = PgTarget::parse_with_env("postgres://", &env).unwrap();
        assert_eq!(target.ssl_mode(), SslMode::Require);
        assert_eq!(
            target.redacted(),
            "postgres://envuser:***@db.internal:6000/envdb"
        );
        assert_eq!(target.config.get_application_name(), Some("envapp"));

        let target =
            PgTarget::parse_with_env("postgres://app@h:1/shop?sslmode=disable", &env).unwrap();
        assert_eq!(target.ssl_mode(), SslMode::Disable);
        assert_eq!(target.redacted(), "postgres://app:***@h:1/shop");
    }

    #[test]
    fn sslrootcert_from_the_environment_is_read_at_parse_time() {
        let env = |key: &str| (key == "PGSSLROOTCERT").then(|| "/nonexistent/root.crt".to_owned());
        let error =
            PgTarget::parse_with_env("postgres://a@h/d?sslmode=verify-full", &env).unwrap_err();
        assert!(matches!(error, ConnectError::RootCertificate { .. }));
        assert!(error.is_config_error());
        assert!(
            error.to_string().contains("/nonexistent/root.crt"),
            "{error}"
        );
    }

    #[test]
    fn unusable_root_files_are_config_errors() {
        let not_pem = std::env::temp_dir().join(format!(
            "strata-connect-test-{}-not-a-cert.pem",
            std::process::id()
        ));
        std::fs::write(&not_pem, "just text\n").unwrap();
        let error = parse_err(&format!(
            "postgres://a@h/d?sslmode=verify-ca&sslrootcert={}",
            not_pem.display()
        ));
        std::fs::remove_file(&not_pem).unwrap();
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
        let error = parse_err("postgres://a@h/d?sslmode=verify-full&sslrootcert=/nonexistent");
        assert!(error.is_config_error(), "{error}");
    }

    #[test]
    fn unix_socket_hosts_use_plaintext() {
        for url in [
            "postgres://app@%2Fvar%2Frun%2Fpostgresql/shop?sslmode=require",
            "postgres://app@/shop?host=/var/run/postgresql&sslmode=verify-full",
        ] {
            let target = parse(url);
            assert_eq!(target.ssl_mode(), SslMode::Disable, "{url}");
            assert_eq!(
                target.redacted(),
                "postgres://app@:5432/shop?host=/var/run/postgresql"
            );
        }
        // A TCP host keeps the requested mode.
        assert_eq!(
            parse("postgres://app@localhost/shop?sslmode=require").ssl_mode(),
            SslMode::Require
        );
    }

    #[test]
    fn ipv6_hosts_and_host_lists_are_shown_bracketed() {
        let target = parse("postgres://app@[::1]:5433,db2/shop");
        assert_eq!(target.redacted(), "postgres://app@[::1]:5433,db2:5432/shop");
        let error = parse_err("postgres://app@a,b/shop?hostaddr=127.0.0.1");
        assert!(
            error.to_string().contains("2 hosts but 1 hostaddrs"),
            "{error}"
        );
    }

    #[test]
    fn application_name_defaults_to_strata() {
        let name = |url: &str| parse(url).config.get_application_name().map(str::to_owned);
        assert_eq!(name("postgres://a@h/d").as_deref(), Some("strata"));
        assert_eq!(
            name("postgres://a@h/d?application_name=deploy").as_deref(),
            Some("deploy")
        );
        assert_eq!(
            name("postgres://a@h/d?fallback_application_name=ci").as_deref(),
            Some("ci")
        );
    }

    #[test]
    fn connect_timeout_has_a_default_and_zero_means_none() {
        let timeout = |url: &str| parse(url).attempt_timeout;
        assert_eq!(timeout("postgres://a@h/d"), Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(
            timeout("postgres://a@h/d?connect_timeout=3"),
            Some(Duration::from_secs(3))
        );
        assert_eq!(timeout("postgres://a@h/d?connect_timeout=0"), None);
        let target = parse("postgres://a@h1,h2/d?connect_timeout=3");
        assert_eq!(target.attempt_limit(), Some(Duration::from_secs(6)));
    }

    #[test]
    fn options_and_other_parameters_reach_tokio_postgres() {
        let target = parse("postgres://a@h/d?options=-c%20search_path%3Dapp&keepalives=0");
        assert_eq!(target.config.get_options(), Some("-c search_path=app"));
        assert!(!target.config.get_keepalives());
    }

    #[test]
    fn database_defaults_to_the_user_name_and_can_be_swapped() {
        let target = parse("postgres://app:pw@localhost");
        assert_eq!(target.database(), "app");
        let scratch = target.with_database("strata_scratch_1");
        assert_eq!(scratch.database(), "strata_scratch_1");
        assert_eq!(
            scratch.redacted(),
            "postgres://app:***@localhost:5432/strata_scratch_1"
        );
        assert_eq!(password(&scratch), Some(&b"pw"[..]));
        assert_eq!(target.database(), "app");
    }

    #[test]
    fn percent_round_trip() {
        let bytes = "a b/c@d:e%f~g-h_i.j\u{e9}".as_bytes();
        let encoded = percent_encode(bytes);
        assert_eq!(percent_decode(&encoded, "test").unwrap(), bytes);
        assert!(
            encoded
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "%-._~".contains(c))
        );
    }
}

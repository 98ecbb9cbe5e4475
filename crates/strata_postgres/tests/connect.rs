//! `strata_postgres::connect` against a live server: every sslmode, and each failure a person must be able
//! to tell apart (unreachable, TLS, wrong password, missing database).
//!
//! The server is `STRATA_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), prepared by
//! `scripts/test-servers`: ssl on with Debian's snakeoil certificate (CN `localhost`), trust for `postgres`,
//! and a role `strata_pw` that must log in with a password. Without a server the tests skip, except under
//! `CI=true`, where a missing server is a failure.

use std::time::{Duration, Instant};

use strata_postgres::connect::{ConnectError, PgTarget, SslMode, connect};
use tokio_postgres::Client;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const PW_ROLE: &str = "strata_pw";
const PW_PASSWORD: &str = "strata-secret-pw";

fn base_url() -> String {
    std::env::var("STRATA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `base_url` with a query parameter string appended.
fn url_with(params: &str) -> String {
    let base = base_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{params}")
}

/// `base_url` with its host replaced (the certificate tests need `localhost` vs `127.0.0.1`).
fn url_on_host(host: &str, params: &str) -> String {
    let target = PgTarget::parse(&base_url()).expect("STRATA_TEST_PG_URL parses");
    format!(
        "postgres://{}@{host}:{}/{}?{params}",
        target.user(),
        port(),
        target.database()
    )
}

/// Fails the test, saying what to do, when the test server cannot be reached.
async fn require_server() {
    let target = PgTarget::parse(&url_with("sslmode=disable")).expect("test URL parses");
    match connect(&target).await {
        Ok((client, task)) => close(client, task).await,
        Err(error) => panic!("the test server is not usable ({error}); run scripts/test-servers"),
    }
}

/// Drops the client, then waits for the connection task, so the server gets a Terminate.
async fn close(client: Client, task: tokio::task::JoinHandle<()>) {
    drop(client);
    task.await.expect("connection task finished");
}

async fn connect_url(url: &str) -> Result<(Client, tokio::task::JoinHandle<()>), ConnectError> {
    connect(&PgTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))).await
}

/// Whether this session is encrypted, as the server sees it.
async fn session_uses_tls(url: &str) -> bool {
    let (client, task) = connect_url(url)
        .await
        .unwrap_or_else(|e| panic!("connecting with {url}: {e}"));
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0);
    close(client, task).await;
    ssl
}

fn assert_snakeoil_present() {
    assert!(
        std::path::Path::new(SNAKEOIL).exists(),
        "{SNAKEOIL} is missing: install ssl-cert (a dependency of postgresql) or run scripts/test-servers"
    );
}

#[tokio::test]
async fn disable_is_plaintext() {
    require_server().await;
    assert!(!session_uses_tls(&url_with("sslmode=disable")).await);
}

#[tokio::test]
async fn prefer_and_require_encrypt() {
    require_server().await;
    assert!(session_uses_tls(&url_with("sslmode=prefer")).await);
    assert!(session_uses_tls(&url_with("sslmode=require")).await);
    // prefer is the default.
    assert!(session_uses_tls(&base_url()).await);
}

#[tokio::test]
async fn verify_full_checks_the_host_name() {
    require_server().await;
    assert_snakeoil_present();
    let params = format!("sslmode=verify-full&sslrootcert={SNAKEOIL}");
    assert!(session_uses_tls(&url_on_host("localhost", &params)).await);

    let error = connect_url(&url_on_host("127.0.0.1", &params))
        .await
        .expect_err("the snakeoil certificate names localhost, not 127.0.0.1");
    assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("not valid for name") && message.contains("127.0.0.1"),
        "{message}"
    );
    assert!(message.contains("verify-ca"), "hint missing: {message}");
}

#[tokio::test]
async fn verify_ca_checks_only_the_chain() {
    require_server().await;
    assert_snakeoil_present();
    let params = format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}");
    assert!(session_uses_tls(&url_on_host("127.0.0.1", &params)).await);
}

#[tokio::test]
async fn verify_full_without_a_matching_root_fails() {
    require_server().await;
    for params in [
        "sslmode=verify-full&sslrootcert=system",
        "sslmode=verify-ca&sslrootcert=system",
    ] {
        let error = connect_url(&url_on_host("localhost", params))
            .await
            .expect_err("a self-signed certificate is not under the public roots");
        assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains("UnknownIssuer") && message.contains("sslrootcert"),
            "{message}"
        );
        assert!(!error.is_config_error());
    }
}

#[tokio::test]
async fn application_name_is_strata_unless_given() {
    require_server().await;
    for (url, expected) in [
        (base_url(), "strata"),
        (url_with("application_name=deploy-42"), "deploy-42"),
    ] {
        let (client, task) = connect_url(&url).await.expect("connects");
        let name: String = client
            .query_one("SELECT current_setting('application_name')", &[])
            .await
            .expect("application_name")
            .get(0);
        assert_eq!(name, expected);
        close(client, task).await;
    }
}

#[tokio::test]
async fn with_database_switches_database() {
    require_server().await;
    let target = PgTarget::parse(&base_url())
        .unwrap()
        .with_database("postgres");
    let (client, task) = connect(&target).await.expect("connects to postgres");
    let name: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "postgres");
    close(client, task).await;
}

#[tokio::test]
async fn unreachable_port() {
    let target = PgTarget::parse("postgres://postgres:hunter2@127.0.0.1:1/test").unwrap();
    let error = connect(&target)
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(!error.is_config_error());
    let message = error.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn unknown_host_is_unreachable() {
    let target = PgTarget::parse("postgres://postgres@no-such-host.invalid/test").unwrap();
    let error = connect(&target)
        .await
        .expect_err("`.invalid` never resolves");
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
}

/// A peer that accepts TCP but never speaks must not hang the caller: `connect_timeout` bounds the whole
/// attempt, not only the TCP connect.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let target = PgTarget::parse(&format!(
        "postgres://postgres@127.0.0.1:{port}/test?connect_timeout=1"
    ))
    .unwrap();
    let start = Instant::now();
    let error = connect(&target).await.expect_err("the peer never answers");
    let waited = start.elapsed();
    holder.abort();
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("connect_timeout"), "{error}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn password_role_logs_in_with_its_password() {
    require_server().await;
    // Over TLS (prefer) the login is SCRAM with channel binding; over plaintext it is plain SCRAM.
    for sslmode in ["prefer", "disable"] {
        let url = format!(
            "postgres://{PW_ROLE}:{PW_PASSWORD}@127.0.0.1:{}/test?sslmode={sslmode}",
            port()
        );
        let target = PgTarget::parse(&url).unwrap();
        assert_eq!(target.user(), PW_ROLE);
        let (client, task) = connect(&target)
            .await
            .unwrap_or_else(|e| panic!("{e}; run scripts/test-servers to create {PW_ROLE}"));
        close(client, task).await;
    }
}

#[tokio::test]
async fn wrong_password_is_an_authentication_failure() {
    require_server().await;
    let wrong = "not-the-pw:with@signs";
    let url = format!(
        "postgres://{PW_ROLE}:{}@127.0.0.1:{}/test",
        wrong.replace('@', "%40"),
        port()
    );
    let error = connect_url(&url)
        .await
        .expect_err("a wrong password must not log in (run scripts/test-servers)");
    match &error {
        ConnectError::AuthenticationFailed { user, .. } => assert_eq!(user, PW_ROLE),
        other => panic!("expected AuthenticationFailed, got {other:?}"),
    }
    assert!(!error.is_config_error());
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("not-the-pw"), "{shown}");
    assert!(shown.contains(":***@"), "{shown}");
}

#[tokio::test]
async fn missing_password_is_an_authentication_failure() {
    require_server().await;
    let url = format!("postgres://{PW_ROLE}@127.0.0.1:{}/test", port());
    let error = connect_url(&url)
        .await
        .expect_err("the role needs a password");
    assert!(
        matches!(error, ConnectError::AuthenticationFailed { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("gives none"), "{error}");
}

#[tokio::test]
async fn missing_database() {
    require_server().await;
    let target = PgTarget::parse(&base_url())
        .unwrap()
        .with_database("strata_no_such_database");
    let error = connect(&target)
        .await
        .expect_err("the database does not exist");
    match &error {
        ConnectError::DatabaseDoesNotExist { database, .. } => {
            assert_eq!(database, "strata_no_such_database");
        }
        other => panic!("expected DatabaseDoesNotExist, got {other:?}"),
    }
    assert!(error.to_string().contains("strata_no_such_database"));
}

#[tokio::test]
async fn unix_socket_ignores_sslmode() {
    require_server().await;
    let socket = format!("/var/run/postgresql/.s.PGSQL.{}", port());
    if !std::path::Path::new(&socket).exists() {
        // Only a server named explicitly elsewhere may lack the local socket.
        assert!(
            std::env::var("STRATA_TEST_PG_URL").is_ok(),
            "no local socket {socket}: the default test server runs on this machine; run scripts/test-servers"
        );
        return;
    }
    let url = format!(
        "postgres://postgres@/test?host=/var/run/postgresql&port={}&sslmode=require",
        port()
    );
    assert_eq!(PgTarget::parse(&url).unwrap().ssl_mode(), SslMode::Disable);
    assert!(!session_uses_tls(&url).await);
}

/// Guards against a ~40 ms stall per handshake (Nagle's algorithm meeting delayed ACKs, or a slow entropy
/// source): the median TLS connect + query + close must stay far below that, even in a debug build.
#[tokio::test]
async fn tls_connect_has_no_round_trip_stalls() {
    require_server().await;
    let target = PgTarget::parse(&url_with("sslmode=require")).unwrap();
    let mut times = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        let (client, task) = connect(&target).await.expect("connects");
        client.simple_query("SELECT 1").await.expect("SELECT 1");
        close(client, task).await;
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    assert!(
        median < Duration::from_millis(35),
        "median TLS connect+query+close took {median:?}: {times:?}"
    );
}

/// The port of the test server, for URLs that name another user or host.
fn port() -> String {
    let target = PgTarget::parse(&base_url()).unwrap();
    target
        .redacted()
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or("5432")
        .to_owned()
}

//! Connecting to MySQL/MariaDB with libpq's `sslmode` against the live test server, which
//! `scripts/test-servers` starts with TLS on and Debian's snakeoil certificate (CN `localhost`).

use mysql_async::prelude::Queryable;
use strata_core::SslMode;
use strata_mysql::{ConnectError, MySqlDriver, MySqlTarget};
use strata_test_support::mysql_server_url;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The test server's URL for `host`, with query parameters.
fn url_on_host(host: &str, params: &str) -> String {
    let base = mysql_server_url();
    let (scheme, rest) = base.split_once("://").expect("a URL");
    let (credentials, rest) = rest.rsplit_once('@').expect("user@host");
    let port_and_path = rest.split_once(':').map_or("3306/test", |(_, after)| after);
    format!("{scheme}://{credentials}@{host}:{port_and_path}?{params}")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The cipher of this session as the server sees it; empty when it is plaintext.
fn session_cipher(url: &str) -> String {
    let target = MySqlTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    runtime().block_on(async {
        let mut conn = target
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting with {url}: {e}"));
        let row: Option<(String, String)> = conn
            .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
            .await
            .expect("Ssl_cipher");
        conn.disconnect().await.expect("disconnect");
        row.map(|(_, cipher)| cipher).unwrap_or_default()
    })
}

fn connect_error(url: &str) -> ConnectError {
    let target = MySqlTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    match MySqlDriver::connect(&target) {
        Ok(_) => panic!("connected with {url}"),
        Err(error) => error,
    }
}

#[test]
fn prefer_is_the_default_and_encrypts_when_the_server_offers_tls() {
    let default = url_on_host("127.0.0.1", "prefer_socket=false");
    assert_eq!(
        MySqlTarget::parse(&default).unwrap().ssl_mode(),
        SslMode::Prefer
    );
    assert!(
        !session_cipher(&default).is_empty(),
        "the default session is plaintext"
    );
    assert!(!session_cipher(&url_on_host("127.0.0.1", "sslmode=require")).is_empty());
}

#[test]
fn disable_is_plaintext() {
    assert_eq!(
        session_cipher(&url_on_host("127.0.0.1", "sslmode=disable")),
        ""
    );
}

#[test]
fn verify_full_checks_the_certificate_and_the_host_name() {
    let params = format!("sslmode=verify-full&sslrootcert={SNAKEOIL}");
    assert!(!session_cipher(&url_on_host("localhost", &params)).is_empty());

    let error = connect_error(&url_on_host("127.0.0.1", &params));
    assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("not valid for name \"127.0.0.1\"")
            && message.contains("connect by a name the certificate lists"),
        "{message}"
    );
}

#[test]
fn verify_ca_fails_closed_on_a_name_it_cannot_skip() {
    let params = format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}");
    assert!(!session_cipher(&url_on_host("localhost", &params)).is_empty());
    let error = connect_error(&url_on_host("127.0.0.1", &params));
    assert!(matches!(error, ConnectError::Tls { .. }), "{error:?}");
}

#[test]
fn a_certificate_outside_the_trusted_roots_is_refused() {
    for mode in ["verify-full", "verify-ca"] {
        let url = url_on_host("localhost", &format!("sslmode={mode}&sslrootcert=system"));
        let error = connect_error(&url);
        assert!(
            matches!(error, ConnectError::Tls { .. }),
            "{mode}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("UnknownIssuer") && message.contains("sslrootcert"),
            "{mode}: {message}"
        );
        assert!(
            !message.contains("sslrootcert=system"),
            "query strings are not shown"
        );
    }
}

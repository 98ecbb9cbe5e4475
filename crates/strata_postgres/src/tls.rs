//! rustls client configurations for libpq's `sslmode` values.
//!
//! Everything here uses the ring provider explicitly instead of rustls's process-wide default: the default
//! panics when zero or two providers are compiled in, and aws-lc-rs (rustls's default choice) costs ~30 ms of
//! CPU per process seeding its DRBG from jitter entropy, which would dominate a short CLI run.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, NamedGroup, RootCertStore,
    SignatureScheme,
};

/// How much of the server's certificate is checked.
#[derive(Clone, Debug)]
pub(crate) enum Verification {
    /// `prefer` / `require`: the connection is encrypted, but anyone holding some key can be the server.
    /// The handshake signature is still checked against the presented certificate.
    SignatureOnly,
    /// `verify-ca`: the chain must end at one of these roots; the host name is not compared.
    Chain(Arc<RootCertStore>),
    /// `verify-full`: chain and host name.
    Full(Arc<RootCertStore>),
}

/// The ring provider, with P-256 offered first.
///
/// rustls sends a key share only for its first group. PostgreSQL up to 17 defaults to
/// `ssl_ecdh_curve = prime256v1`, so leading with X25519 (rustls's order) costs a HelloRetryRequest,
/// i.e. one extra round trip to a remote server. PostgreSQL 18 accepts both, so P-256 first is never worse.
fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    // A stable sort keeps the provider's order for the remaining groups.
    provider
        .kx_groups
        .sort_by_key(|group| group.name() != NamedGroup::secp256r1);
    Arc::new(provider)
}

/// Builds the client configuration for one connection attempt.
pub(crate) fn client_config(
    verification: &Verification,
) -> Result<ClientConfig, Box<dyn StdError + Send + Sync>> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let config = match verification {
        Verification::SignatureOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SignatureOnly {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Verification::Chain(roots) => {
            let inner =
                WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), provider).build()?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { inner }))
                .with_no_client_auth()
        }
        Verification::Full(roots) => builder
            .with_root_certificates(Arc::clone(roots))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Accepts any certificate, but still requires the server to prove it holds the certificate's key.
///
/// Skipping the signature check as well (as "accept all" verifiers commonly do) would let a passive
/// bug, not only an active attacker, go unnoticed: a handshake with a broken signature must fail.
#[derive(Debug)]
struct SignatureOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for SignatureOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// libpq's `verify-ca`: full WebPKI validation, except that a certificate for another name is accepted.
///
/// `WebPkiServerVerifier` checks the name only after the chain (and revocation) succeeded, so turning
/// exactly the name errors into success cannot let an untrusted chain through.
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl fmt::Debug for ChainOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainOnly").finish_non_exhaustive()
    }
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// What a person can do about a failed handshake, when the rustls reason says it.
pub(crate) fn hint(error: &Error) -> Option<&'static str> {
    match error {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => Some(
            "the server's certificate is not signed by a trusted root: name its CA with \
             sslrootcert=/path/to/root.crt, or use sslmode=require to encrypt without verifying",
        ),
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Some(
            "the certificate does not name the host in the URL: connect with a host name it lists, \
             or use sslmode=verify-ca to check only the chain",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p256_is_offered_first_and_no_group_is_lost() {
        let default = rustls::crypto::ring::default_provider();
        let ordered = provider();
        assert_eq!(ordered.kx_groups[0].name(), NamedGroup::secp256r1);
        assert_eq!(ordered.kx_groups.len(), default.kx_groups.len());
    }

    #[test]
    fn every_verification_builds_a_config() {
        let roots = Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
        for verification in [
            Verification::SignatureOnly,
            Verification::Chain(Arc::clone(&roots)),
            Verification::Full(roots),
        ] {
            assert!(client_config(&verification).is_ok(), "{verification:?}");
        }
    }

    #[test]
    fn signature_only_still_announces_real_schemes() {
        let verifier = SignatureOnly {
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        };
        assert!(
            verifier
                .supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
        );
    }
}

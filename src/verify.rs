//! How a client decides to trust the server's certificate.
//!
//! The handshake always checks that the server holds the private key of the certificate it
//! presents (the CertificateVerify or ServerKeyExchange signature). Whether that certificate
//! speaks for the server name is this trait's job. The built-in [`PinnedCertificates`] is
//! deliberately simple and honest about it: it trusts exactly the end-entity certificates it
//! was given. For Web PKI validation (chains, names, dates, revocation), implement
//! [`ServerCertVerifier`] over a full path validator.

use std::fmt;

use rustls_pki_types::CertificateDer;

use crate::time::Timestamp;

/// The server's certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The server sent no certificate.
    #[error("no certificate")]
    Missing,
    /// The certificate is not one the verifier trusts.
    #[error("certificate not trusted")]
    NotTrusted,
    /// The certificate could not be parsed or its key type is unsupported.
    #[error("unsupported or malformed certificate")]
    Unsupported,
    /// The certificate does not cover the server name.
    #[error("certificate not valid for this server name")]
    NotValidForName,
    /// The certificate is expired or not yet valid.
    #[error("certificate expired or not yet valid")]
    Expired,
}

/// Decides whether a server certificate chain speaks for `server_name`.
///
/// # Security contract
/// Return `Ok` only when the end-entity certificate is trusted for `server_name` at `now`. The
/// caller has not yet checked the handshake signature when this is called; it checks it
/// afterwards with the end-entity certificate's key, so an implementation need not.
pub trait ServerCertVerifier: Send + Sync + fmt::Debug {
    /// Checks `end_entity` (and, if the verifier builds paths, `intermediates`).
    ///
    /// # Errors
    /// The [`CertificateError`] that says why it is not trusted.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &str,
        now: Timestamp,
    ) -> Result<(), CertificateError>;
}

/// Trusts exactly the end-entity certificates it holds, byte for byte.
///
/// No chain is built and no name or validity date is checked: the pin itself is the trust
/// decision, as with SSH host keys. Suitable for tests, for services that know their peers'
/// certificates, and for learning; not a Web PKI validator.
#[derive(Debug, Clone, Default)]
pub struct PinnedCertificates {
    pinned: Vec<CertificateDer<'static>>,
}

impl PinnedCertificates {
    /// Trusts the given certificates.
    pub fn new(certificates: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        Self {
            pinned: certificates.into_iter().collect(),
        }
    }

    /// Adds one more certificate.
    pub fn add(&mut self, certificate: CertificateDer<'static>) {
        self.pinned.push(certificate);
    }
}

impl ServerCertVerifier for PinnedCertificates {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &str,
        _now: Timestamp,
    ) -> Result<(), CertificateError> {
        // Certificates are public: an ordinary comparison leaks nothing.
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            Ok(())
        } else {
            Err(CertificateError::NotTrusted)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertDescription;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn only_the_pinned_certificate_is_trusted() {
        let cert =
            CertificateDer::from_pem_slice(include_bytes!("../tests/data/pki/server.pem")).unwrap();
        let other =
            CertificateDer::from_pem_slice(include_bytes!("../tests/data/pki/server-p384.pem"))
                .unwrap();
        let verifier = PinnedCertificates::new([cert.clone()]);
        let now = Timestamp::EPOCH;
        assert_eq!(
            verifier.verify_server_cert(&cert, &[], "localhost", now),
            Ok(())
        );
        assert_eq!(
            verifier.verify_server_cert(&other, &[], "localhost", now),
            Err(CertificateError::NotTrusted)
        );
        assert_eq!(
            CertificateError::NotTrusted.alert(),
            AlertDescription::UnknownCa
        );
    }
}

//! `--ca FILE`: the server's certificate chain validated up to a CA certificate in FILE, for
//! the server name, at the connection's time, by rustls-webpki (a Web PKI path validator).

use std::time::Duration;

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use tls_resumption::time::Timestamp;
use tls_resumption::verify::{CertificateError, ServerCertVerifier};

/// Trusts chains that end at one of its anchors.
pub struct PathValidator {
    anchors: Vec<TrustAnchor<'static>>,
}

impl std::fmt::Debug for PathValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PathValidator({} anchors)", self.anchors.len())
    }
}

impl PathValidator {
    /// Anchors from CA certificates.
    pub fn new(cas: &[CertificateDer<'static>]) -> Result<Self, String> {
        let anchors = cas
            .iter()
            .map(|c| webpki::anchor_from_trusted_cert(c).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a usable CA certificate: {e}"))?;
        Ok(Self { anchors })
    }
}

impl ServerCertVerifier for PathValidator {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &str,
        now: Timestamp,
    ) -> Result<(), CertificateError> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|_| CertificateError::Unsupported)?;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs()));
        cert.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            intermediates,
            time,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| match e {
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                CertificateError::Expired
            }
            _ => CertificateError::NotTrusted,
        })?;
        let name =
            ServerName::try_from(server_name).map_err(|_| CertificateError::NotValidForName)?;
        cert.verify_is_valid_for_subject_name(&name)
            .map_err(|_| CertificateError::NotValidForName)
    }
}

//! Certificate (TLS 1.2 and 1.3 forms) and CertificateVerify (RFC 8446 §4.4.2, §4.4.3;
//! RFC 5246 §7.4.2, §7.4.8).

use super::enums::SignatureScheme;
use super::{encode_raw_extensions, read_all, read_raw_extensions, Codec, RawExtension};
use crate::codec::{InvalidMessage, Reader, Writer};

/// TLS 1.2 Certificate: `ASN.1Cert certificate_list<0..2^24-1>`, each
/// `opaque ASN.1Cert<1..2^24-1>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Certificate12 {
    /// DER certificates, end-entity first.
    pub(crate) certificates: Vec<Vec<u8>>,
}

impl Codec for Certificate12 {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u24_prefixed_with(|w| {
            self.certificates
                .iter()
                .try_for_each(|c| w.u24_prefixed_bytes(c))
        })
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let mut list = r.sub_u24("certificate_list")?;
        let certificates = read_all(&mut list, |r| {
            Ok(r.sub_u24_nonempty("ASN.1Cert")?.rest().to_vec())
        })?;
        Ok(Self { certificates })
    }
}

/// A TLS 1.3 `CertificateEntry`: the certificate and its extensions (kept raw: OCSP and SCT
/// are the certificate verifier's business).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertificateEntry {
    /// `opaque cert_data<1..2^24-1>`.
    pub(crate) cert_data: Vec<u8>,
    /// `Extension extensions<0..2^16-1>`.
    pub(crate) extensions: Vec<RawExtension>,
}

/// TLS 1.3 Certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Certificate13 {
    /// `opaque certificate_request_context<0..2^8-1>`, empty for a server's certificate.
    pub(crate) context: Vec<u8>,
    /// `CertificateEntry certificate_list<0..2^24-1>`.
    pub(crate) entries: Vec<CertificateEntry>,
}

impl Codec for Certificate13 {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u8_prefixed_bytes(&self.context)?;
        w.u24_prefixed_with(|w| {
            self.entries.iter().try_for_each(|e| {
                w.u24_prefixed_bytes(&e.cert_data)?;
                encode_raw_extensions(w, &e.extensions)
            })
        })
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let context = r.u8_prefixed("certificate_request_context")?.to_vec();
        let mut list = r.sub_u24("certificate_list")?;
        let entries = read_all(&mut list, |r| {
            let cert_data = r.sub_u24_nonempty("cert_data")?.rest().to_vec();
            let extensions = read_raw_extensions(r)?;
            Ok(CertificateEntry {
                cert_data,
                extensions,
            })
        })?;
        Ok(Self { context, entries })
    }
}

/// CertificateVerify; in TLS 1.2 the same bytes are the `digitally-signed` struct with its
/// `SignatureAndHashAlgorithm` (RFC 5246 §4.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertificateVerify {
    /// The signature algorithm.
    pub(crate) scheme: SignatureScheme,
    /// `opaque signature<0..2^16-1>`.
    pub(crate) signature: Vec<u8>,
}

impl Codec for CertificateVerify {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.scheme.encode(w);
        w.u16_prefixed_bytes(&self.signature)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let scheme = SignatureScheme::read(r)?;
        let signature = r.u16_prefixed("signature")?.to_vec();
        Ok(Self { scheme, signature })
    }
}

//! Just enough DER to find the subject public key of an X.509 certificate (RFC 5280 §4.1).
//!
//! Certificates come from the peer, so this reader is as strict as the codec: every length is
//! checked against what remains, only definite-length encodings are accepted, and nesting is
//! walked by a fixed path (no recursion driven by the input).

use super::CryptoError;

const SEQUENCE: u8 = 0x30;
const OID: u8 = 0x06;
const BIT_STRING: u8 = 0x03;
const CONTEXT_0: u8 = 0xa0;

/// The key types TLS server certificates carry here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpkiKind {
    EcP256,
    EcP384,
    Ed25519,
    Rsa,
}

/// A certificate's subject public key: its kind and the bytes ring's verifiers take (the
/// BIT STRING contents: an EC point, an Ed25519 key, or a DER RSAPublicKey).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SubjectPublicKey<'a> {
    pub(crate) kind: SpkiKind,
    pub(crate) key: &'a [u8],
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

struct Der<'a> {
    buf: &'a [u8],
}

impl<'a> Der<'a> {
    fn bad() -> CryptoError {
        CryptoError::Unspecified
    }

    /// The next element: (tag, contents).
    fn element(&mut self) -> Result<(u8, &'a [u8]), CryptoError> {
        let (&tag, rest) = self.buf.split_first().ok_or_else(Self::bad)?;
        let (&first, rest) = rest.split_first().ok_or_else(Self::bad)?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            // Long form: 1 to 3 length bytes are plenty for a certificate (16 MiB).
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 || rest.len() < n {
                return Err(Self::bad());
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if len > rest.len() {
            return Err(Self::bad());
        }
        let (contents, rest) = rest.split_at(len);
        self.buf = rest;
        Ok((tag, contents))
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8], CryptoError> {
        match self.element()? {
            (t, contents) if t == tag => Ok(contents),
            _ => Err(Self::bad()),
        }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.buf.first().copied()
    }
}

/// Finds the subject public key of a DER certificate.
///
/// # Errors
/// [`CryptoError::Unspecified`] for anything that is not a certificate with a P-256, P-384,
/// Ed25519 or RSA key.
pub(crate) fn subject_public_key(cert: &[u8]) -> Result<SubjectPublicKey<'_>, CryptoError> {
    let certificate = Der { buf: cert }.expect(SEQUENCE)?;
    let mut tbs = Der {
        buf: Der { buf: certificate }.expect(SEQUENCE)?,
    };
    if tbs.peek_tag() == Some(CONTEXT_0) {
        tbs.element()?; // version
    }
    for _ in 0..5 {
        // serialNumber, signature, issuer, validity, subject
        tbs.element()?;
    }
    let mut spki = Der {
        buf: tbs.expect(SEQUENCE)?,
    };
    let mut algorithm = Der {
        buf: spki.expect(SEQUENCE)?,
    };
    let bits = spki.expect(BIT_STRING)?;
    let key = match bits.split_first() {
        Some((0, key)) => key,
        _ => return Err(CryptoError::Unspecified),
    };
    let oid = algorithm.expect(OID)?;
    let kind = if oid == OID_EC_PUBLIC_KEY {
        match algorithm.expect(OID)? {
            curve if curve == OID_P256 => SpkiKind::EcP256,
            curve if curve == OID_P384 => SpkiKind::EcP384,
            _ => return Err(CryptoError::Unspecified),
        }
    } else if oid == OID_ED25519 {
        SpkiKind::Ed25519
    } else if oid == OID_RSA_ENCRYPTION {
        SpkiKind::Rsa
    } else {
        return Err(CryptoError::Unspecified);
    };
    Ok(SubjectPublicKey { kind, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test server certificate (P-256) from tests/data/pki, as DER.
    fn test_cert() -> Vec<u8> {
        let pem = include_str!("../../tests/data/pki/server.pem");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64_decode(&b64)
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes().filter(|&c| c != b'=') {
            let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
            acc = (acc << 6) | v;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        out
    }

    #[test]
    fn finds_the_p256_key_of_the_test_certificate() {
        let cert = test_cert();
        let spki = subject_public_key(&cert).unwrap();
        assert_eq!(spki.kind, SpkiKind::EcP256);
        assert_eq!(spki.key.len(), 65);
        assert_eq!(spki.key[0], 4);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_an_error_or_another_key_never_a_panic() {
        let cert = test_cert();
        for len in 0..cert.len() {
            assert!(subject_public_key(&cert[..len]).is_err());
        }
        for i in 0..cert.len() {
            let mut c = cert.clone();
            c[i] ^= 0x80;
            let _ = subject_public_key(&c);
        }
    }
}

//! Handshake signatures: signing with the server's private key and verifying the peer's
//! signature against its certificate (TLS 1.3 CertificateVerify, RFC 8446 §4.4.3; TLS 1.2
//! ServerKeyExchange, RFC 8422 §5.4).

use core::fmt;

use ring::rand::SecureRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;

use super::der::{subject_public_key, SpkiKind};
use super::CryptoError;

/// A signature scheme, by its TLS name (RFC 8446 §4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `ecdsa_secp256r1_sha256` (0x0403).
    EcdsaP256Sha256,
    /// `ecdsa_secp384r1_sha384` (0x0503).
    EcdsaP384Sha384,
    /// `ed25519` (0x0807).
    Ed25519,
    /// `rsa_pss_rsae_sha256` (0x0804).
    RsaPssSha256,
    /// `rsa_pss_rsae_sha384` (0x0805).
    RsaPssSha384,
    /// `rsa_pss_rsae_sha512` (0x0806).
    RsaPssSha512,
    /// `rsa_pkcs1_sha256` (0x0401): TLS 1.2 only; TLS 1.3 forbids PKCS#1 v1.5 in handshakes.
    RsaPkcs1Sha256,
    /// `rsa_pkcs1_sha384` (0x0501): TLS 1.2 only.
    RsaPkcs1Sha384,
}

impl SignatureAlgorithm {
    /// True for the RSA schemes (PSS and PKCS#1 v1.5): what a TLS 1.2 ECDHE_RSA suite signs
    /// with, where ECDHE_ECDSA covers ECDSA and Ed25519 (RFC 8422 §5.1.1).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::RsaPssSha256
                | Self::RsaPssSha384
                | Self::RsaPssSha512
                | Self::RsaPkcs1Sha256
                | Self::RsaPkcs1Sha384
        )
    }

    /// Every scheme, in this crate's order of preference.
    pub const ALL: [Self; 8] = [
        Self::EcdsaP256Sha256,
        Self::EcdsaP384Sha384,
        Self::Ed25519,
        Self::RsaPssSha256,
        Self::RsaPssSha384,
        Self::RsaPssSha512,
        Self::RsaPkcs1Sha256,
        Self::RsaPkcs1Sha384,
    ];

    /// The SignatureScheme code point.
    pub const fn code_point(self) -> u16 {
        match self {
            Self::EcdsaP256Sha256 => 0x0403,
            Self::EcdsaP384Sha384 => 0x0503,
            Self::Ed25519 => 0x0807,
            Self::RsaPssSha256 => 0x0804,
            Self::RsaPssSha384 => 0x0805,
            Self::RsaPssSha512 => 0x0806,
            Self::RsaPkcs1Sha256 => 0x0401,
            Self::RsaPkcs1Sha384 => 0x0501,
        }
    }

    /// The scheme with this code point, if supported.
    pub fn from_code_point(code_point: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code_point() == code_point)
    }

    /// Whether TLS 1.3 allows this scheme in CertificateVerify (RFC 8446 §4.2.3: no PKCS#1 v1.5).
    pub const fn allowed_in_tls13(self) -> bool {
        !matches!(self, Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384)
    }

    fn key_kind(self) -> SpkiKind {
        match self {
            Self::EcdsaP256Sha256 => SpkiKind::EcP256,
            Self::EcdsaP384Sha384 => SpkiKind::EcP384,
            Self::Ed25519 => SpkiKind::Ed25519,
            _ => SpkiKind::Rsa,
        }
    }

    fn verifier(self) -> &'static dyn signature::VerificationAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::Ed25519 => &signature::ED25519,
            Self::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::RsaPssSha384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::RsaPssSha512 => &signature::RSA_PSS_2048_8192_SHA512,
            Self::RsaPkcs1Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RsaPkcs1Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        }
    }
}

enum KeyPairKind {
    Ecdsa(EcdsaKeyPair, SignatureAlgorithm),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A server's private key, able to sign handshakes.
pub struct SigningKey {
    key: KeyPairKind,
}

impl SigningKey {
    /// Loads a private key: PKCS#8 for ECDSA (P-256, P-384) and Ed25519; PKCS#8 or PKCS#1 for
    /// RSA. SEC1 EC keys are not read: convert them with `openssl pkcs8 -topk8 -nocrypt`.
    ///
    /// # Errors
    /// [`CryptoError::Unspecified`] when the key is malformed or of an unsupported kind.
    pub fn from_der(key: &PrivateKeyDer<'_>, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let key = match key {
            PrivateKeyDer::Pkcs8(der) => {
                let der = der.secret_pkcs8_der();
                if let Ok(k) =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, der, rng)
                {
                    KeyPairKind::Ecdsa(k, SignatureAlgorithm::EcdsaP256Sha256)
                } else if let Ok(k) =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_ASN1_SIGNING, der, rng)
                {
                    KeyPairKind::Ecdsa(k, SignatureAlgorithm::EcdsaP384Sha384)
                } else if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    KeyPairKind::Ed25519(k)
                } else {
                    KeyPairKind::Rsa(
                        RsaKeyPair::from_pkcs8(der).map_err(|_| CryptoError::Unspecified)?,
                    )
                }
            }
            PrivateKeyDer::Pkcs1(der) => KeyPairKind::Rsa(
                RsaKeyPair::from_der(der.secret_pkcs1_der())
                    .map_err(|_| CryptoError::Unspecified)?,
            ),
            _ => return Err(CryptoError::Unspecified),
        };
        Ok(Self { key })
    }

    /// The schemes this key can sign with, most preferred first.
    pub fn algorithms(&self) -> &'static [SignatureAlgorithm] {
        match &self.key {
            KeyPairKind::Ecdsa(_, SignatureAlgorithm::EcdsaP256Sha256) => {
                &[SignatureAlgorithm::EcdsaP256Sha256]
            }
            KeyPairKind::Ecdsa(..) => &[SignatureAlgorithm::EcdsaP384Sha384],
            KeyPairKind::Ed25519(_) => &[SignatureAlgorithm::Ed25519],
            KeyPairKind::Rsa(_) => &[
                SignatureAlgorithm::RsaPssSha256,
                SignatureAlgorithm::RsaPssSha384,
                SignatureAlgorithm::RsaPssSha512,
                SignatureAlgorithm::RsaPkcs1Sha256,
                SignatureAlgorithm::RsaPkcs1Sha384,
            ],
        }
    }

    /// The first of this key's schemes the peer offered (`offered` are code points), limited
    /// to what TLS 1.3 allows when `tls13`.
    pub fn choose(&self, offered: &[u16], tls13: bool) -> Option<SignatureAlgorithm> {
        self.algorithms()
            .iter()
            .copied()
            .filter(|a| !tls13 || a.allowed_in_tls13())
            .find(|a| offered.contains(&a.code_point()))
    }

    /// Signs `message` with `algorithm`.
    ///
    /// # Errors
    /// [`CryptoError::Unspecified`] when the key cannot sign with `algorithm` or signing fails.
    pub fn sign(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        rng: &dyn SecureRandom,
    ) -> Result<Vec<u8>, CryptoError> {
        if !self.algorithms().contains(&algorithm) {
            return Err(CryptoError::Unspecified);
        }
        match &self.key {
            KeyPairKind::Ecdsa(k, _) => Ok(k.sign(rng, message)?.as_ref().to_vec()),
            KeyPairKind::Ed25519(k) => Ok(k.sign(message).as_ref().to_vec()),
            KeyPairKind::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match algorithm {
                    SignatureAlgorithm::RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    SignatureAlgorithm::RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    SignatureAlgorithm::RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    SignatureAlgorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    _ => &signature::RSA_PKCS1_SHA384,
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(padding, rng, message, &mut sig)?;
                Ok(sig)
            }
        }
    }

    /// The public key, as the certificate's BIT STRING holds it.
    pub fn public_key(&self) -> &[u8] {
        match &self.key {
            KeyPairKind::Ecdsa(k, _) => k.public_key().as_ref(),
            KeyPairKind::Ed25519(k) => k.public_key().as_ref(),
            KeyPairKind::Rsa(k) => k.public_key().as_ref(),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, [redacted])", self.algorithms()[0])
    }
}

/// Verifies `signature` over `message` with the subject public key of `certificate` (DER).
///
/// # Errors
/// [`CryptoError::Unspecified`] when the certificate cannot be read, its key does not fit
/// `algorithm`, or the signature does not verify — one error, so nothing is learned from which.
pub fn verify(
    certificate: &[u8],
    algorithm: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let spki = subject_public_key(certificate)?;
    if spki.kind != algorithm.key_kind() {
        return Err(CryptoError::Unspecified);
    }
    signature::UnparsedPublicKey::new(algorithm.verifier(), spki.key)
        .verify(message, signature)
        .map_err(|_| CryptoError::Unspecified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    fn load(name: &str) -> (SigningKey, CertificateDer<'static>) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/");
        let key = PrivateKeyDer::from_pem_file(format!("{dir}{name}.key")).unwrap();
        let cert = CertificateDer::from_pem_file(format!("{dir}{name}.pem")).unwrap();
        (
            SigningKey::from_der(&key, &SystemRandom::new()).unwrap(),
            cert,
        )
    }

    #[test]
    fn every_key_type_signs_and_verifies_against_its_certificate() {
        let rng = SystemRandom::new();
        let all: Vec<u16> = SignatureAlgorithm::ALL
            .iter()
            .map(|a| a.code_point())
            .collect();
        for (name, expected) in [
            ("server", SignatureAlgorithm::EcdsaP256Sha256),
            ("server-p384", SignatureAlgorithm::EcdsaP384Sha384),
            ("server-ed25519", SignatureAlgorithm::Ed25519),
            ("server-rsa", SignatureAlgorithm::RsaPssSha256),
        ] {
            let (key, cert) = load(name);
            let alg = key.choose(&all, true).unwrap();
            assert_eq!(alg, expected, "{name}");
            for &alg in key.algorithms() {
                let sig = key.sign(alg, b"transcript", &rng).unwrap();
                verify(&cert, alg, b"transcript", &sig).unwrap();
                assert!(verify(&cert, alg, b"transcripT", &sig).is_err(), "{name}");
            }
        }
    }

    #[test]
    fn a_signature_never_verifies_under_the_wrong_scheme_or_key() {
        let rng = SystemRandom::new();
        let (key, cert) = load("server");
        let (_, other_cert) = load("server-p384");
        let sig = key
            .sign(SignatureAlgorithm::EcdsaP256Sha256, b"m", &rng)
            .unwrap();
        assert!(verify(&cert, SignatureAlgorithm::EcdsaP384Sha384, b"m", &sig).is_err());
        assert!(verify(&other_cert, SignatureAlgorithm::EcdsaP256Sha256, b"m", &sig).is_err());
        assert!(key.sign(SignatureAlgorithm::Ed25519, b"m", &rng).is_err());
        assert_eq!(key.choose(&[0x0807, 0x0804], true), None);
        let (rsa, _) = load("server-rsa");
        // TLS 1.3 never picks PKCS#1 v1.5 (RFC 8446 §4.2.3); TLS 1.2 may.
        assert_eq!(rsa.choose(&[0x0401], true), None);
        assert_eq!(
            rsa.choose(&[0x0401], false),
            Some(SignatureAlgorithm::RsaPkcs1Sha256)
        );
    }

    #[test]
    fn ed25519_keys_sign() {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let der = PrivateKeyDer::Pkcs8(pkcs8.as_ref().to_vec().into());
        let key = SigningKey::from_der(&der, &rng).unwrap();
        let sig = key.sign(SignatureAlgorithm::Ed25519, b"m", &rng).unwrap();
        signature::UnparsedPublicKey::new(&signature::ED25519, key.public_key())
            .verify(b"m", &sig)
            .unwrap();
    }

    #[test]
    fn code_points_round_trip() {
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(
                SignatureAlgorithm::from_code_point(alg.code_point()),
                Some(alg)
            );
        }
    }
}

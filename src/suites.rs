//! The cipher suites of both versions, and the hash and AEAD each names: TLS 1.3
//! ([`CipherSuite`], RFC 8446 §B.4) and TLS 1.2 ([`Tls12CipherSuite`], ECDHE with an AEAD,
//! RFC 5289 and RFC 7905). A new suite is added here, then to the defaults in
//! [`crate::config`].

use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::HashAlgorithm;

/// The TLS 1.3 cipher suites (RFC 8446 §B.4) and the hash and AEAD each names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// TLS_AES_128_GCM_SHA256 (0x1301).
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302).
    Aes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
    ChaCha20Poly1305Sha256,
}

impl CipherSuite {
    /// The IANA name (RFC 8446 §B.4), as OpenSSL prints TLS 1.3 suites.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            Self::Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Self::ChaCha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
        }
    }

    /// The suite with this wire code point, if it is one of the three.
    pub fn from_u16(code: u16) -> Option<Self> {
        match code {
            0x1301 => Some(Self::Aes128GcmSha256),
            0x1302 => Some(Self::Aes256GcmSha384),
            0x1303 => Some(Self::ChaCha20Poly1305Sha256),
            _ => None,
        }
    }

    /// The wire code point (RFC 8446 §B.4).
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Aes128GcmSha256 => 0x1301,
            Self::Aes256GcmSha384 => 0x1302,
            Self::ChaCha20Poly1305Sha256 => 0x1303,
        }
    }

    /// The hash of the HKDF and the transcript.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::Aes256GcmSha384 => HashAlgorithm::Sha384,
            Self::Aes128GcmSha256 | Self::ChaCha20Poly1305Sha256 => HashAlgorithm::Sha256,
        }
    }

    /// The record protection AEAD.
    pub fn aead(self) -> AeadAlgorithm {
        match self {
            Self::Aes128GcmSha256 => AeadAlgorithm::Aes128Gcm,
            Self::Aes256GcmSha384 => AeadAlgorithm::Aes256Gcm,
            Self::ChaCha20Poly1305Sha256 => AeadAlgorithm::ChaCha20Poly1305,
        }
    }
}

/// A TLS 1.2 cipher suite: ECDHE key exchange with an AEAD (RFC 5289, RFC 7905).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tls12CipherSuite {
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xc02b).
    EcdheEcdsaAes128GcmSha256,
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (0xc02c).
    EcdheEcdsaAes256GcmSha384,
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (0xcca9).
    EcdheEcdsaChaCha20Poly1305Sha256,
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (0xc02f).
    EcdheRsaAes128GcmSha256,
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xc030).
    EcdheRsaAes256GcmSha384,
    /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (0xcca8).
    EcdheRsaChaCha20Poly1305Sha256,
}

impl Tls12CipherSuite {
    /// Every suite, in this crate's order of preference.
    pub const ALL: [Self; 6] = [
        Self::EcdheEcdsaAes128GcmSha256,
        Self::EcdheRsaAes128GcmSha256,
        Self::EcdheEcdsaAes256GcmSha384,
        Self::EcdheRsaAes256GcmSha384,
        Self::EcdheEcdsaChaCha20Poly1305Sha256,
        Self::EcdheRsaChaCha20Poly1305Sha256,
    ];

    /// The IANA code point.
    pub const fn to_u16(self) -> u16 {
        match self {
            Self::EcdheEcdsaAes128GcmSha256 => 0xc02b,
            Self::EcdheEcdsaAes256GcmSha384 => 0xc02c,
            Self::EcdheEcdsaChaCha20Poly1305Sha256 => 0xcca9,
            Self::EcdheRsaAes128GcmSha256 => 0xc02f,
            Self::EcdheRsaAes256GcmSha384 => 0xc030,
            Self::EcdheRsaChaCha20Poly1305Sha256 => 0xcca8,
        }
    }

    /// The suite with this code point, if it is one of ours.
    pub fn from_u16(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.to_u16() == code)
    }

    /// The OpenSSL name, as `openssl s_server -www` prints it in its `Cipher is` line.
    pub const fn name(self) -> &'static str {
        match self {
            Self::EcdheEcdsaAes128GcmSha256 => "ECDHE-ECDSA-AES128-GCM-SHA256",
            Self::EcdheEcdsaAes256GcmSha384 => "ECDHE-ECDSA-AES256-GCM-SHA384",
            Self::EcdheEcdsaChaCha20Poly1305Sha256 => "ECDHE-ECDSA-CHACHA20-POLY1305",
            Self::EcdheRsaAes128GcmSha256 => "ECDHE-RSA-AES128-GCM-SHA256",
            Self::EcdheRsaAes256GcmSha384 => "ECDHE-RSA-AES256-GCM-SHA384",
            Self::EcdheRsaChaCha20Poly1305Sha256 => "ECDHE-RSA-CHACHA20-POLY1305",
        }
    }

    /// The PRF and transcript hash (RFC 5246 §5; RFC 5289 §3 for the SHA-384 suites).
    pub const fn hash(self) -> HashAlgorithm {
        match self {
            Self::EcdheEcdsaAes256GcmSha384 | Self::EcdheRsaAes256GcmSha384 => {
                HashAlgorithm::Sha384
            }
            _ => HashAlgorithm::Sha256,
        }
    }

    /// The record AEAD.
    pub const fn aead(self) -> AeadAlgorithm {
        match self {
            Self::EcdheEcdsaAes128GcmSha256 | Self::EcdheRsaAes128GcmSha256 => {
                AeadAlgorithm::Aes128Gcm
            }
            Self::EcdheEcdsaAes256GcmSha384 | Self::EcdheRsaAes256GcmSha384 => {
                AeadAlgorithm::Aes256Gcm
            }
            _ => AeadAlgorithm::ChaCha20Poly1305,
        }
    }

    /// True for ECDHE_RSA suites (the server signs with RSA), false for ECDHE_ECDSA (ECDSA
    /// or Ed25519, RFC 8422 §5.1.1).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::EcdheRsaAes128GcmSha256
                | Self::EcdheRsaAes256GcmSha384
                | Self::EcdheRsaChaCha20Poly1305Sha256
        )
    }
}

impl core::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::fmt::Display for Tls12CipherSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

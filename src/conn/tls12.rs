//! What TLS 1.2 client and server share: the suites, the downgrade sentinel, the transcript,
//! the ServerKeyExchange signed content, key installation and key-log lines.

use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::{HashAlgorithm, Hasher};
use crate::kdf::tls12::{KeyMaterial, MasterSecret, WriteIv};
use crate::keylog::KeyLog;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload, Version};
use crate::record::RecordProtection;
use crate::{Error, Side};

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

impl core::fmt::Display for Tls12CipherSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The last 8 bytes of ServerHello.random of a TLS 1.3-capable server that negotiates TLS 1.2
/// (RFC 8446 §4.1.3): "DOWNGRD" and 0x01.
pub(crate) const DOWNGRADE_TLS12: [u8; 8] = [0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01];

/// A TLS 1.2 handshake message as received: decoded with the 1.2 forms of Certificate and
/// NewSessionTicket, and its bytes for the transcript.
pub(crate) fn decode(bytes: Vec<u8>) -> Result<super::Message, Error> {
    let decoded = HandshakeMessage::decode(&bytes, Version::Tls12)?;
    Ok(super::Message {
        payload: decoded.payload,
        bytes,
    })
}

/// The TLS 1.2 transcript: every handshake message of the connection (RFC 5246 §7.4.9),
/// hashed with the suite's PRF hash.
#[derive(Clone)]
pub(crate) struct Transcript12 {
    hasher: Hasher,
}

impl Transcript12 {
    pub(crate) fn new(hash: HashAlgorithm) -> Self {
        Self {
            hasher: Hasher::new(hash),
        }
    }

    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    pub(crate) fn current(&self) -> ring::digest::Digest {
        self.hasher.current()
    }
}

/// Encodes a handshake message, queues it and adds it to the transcript.
pub(crate) fn send(
    core: &mut super::core::Core,
    transcript: &mut Transcript12,
    payload: HandshakePayload,
) -> Result<(), Error> {
    let message = HandshakeMessage { payload }.encode()?;
    core.send_handshake(&message)?;
    transcript.add(&message);
    Ok(())
}

/// What the server signs in ServerKeyExchange (RFC 8422 §5.4; RFC 5246 §7.4.3):
/// `client_random ‖ server_random ‖ ServerECDHParams`.
pub(crate) fn signed_params(
    client_random: &[u8; 32],
    server_random: &[u8; 32],
    params: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + params.len());
    out.extend_from_slice(client_random);
    out.extend_from_slice(server_random);
    out.extend_from_slice(params);
    out
}

/// The record protection `writer` uses, from the key block of this connection's randoms
/// (RFC 5246 §6.3): a resumed connection reuses the master secret, never these keys.
pub(crate) fn protection(keys: &KeyMaterial, writer: Side) -> Result<RecordProtection, Error> {
    let w = keys.write_keys(writer);
    let iv: &[u8] = match &w.iv {
        WriteIv::GcmSalt(salt) => salt.expose_secret(),
        WriteIv::ChaCha(iv) => iv.expose_secret(),
    };
    Ok(RecordProtection::tls12(
        keys.aead,
        w.key.expose_secret(),
        iv,
    )?)
}

/// Logs `CLIENT_RANDOM <client_random> <master_secret>` (the NSS key-log line for TLS 1.2).
pub(crate) fn log_master_secret(key_log: &dyn KeyLog, client_random: &[u8; 32], ms: &MasterSecret) {
    if key_log.will_log("CLIENT_RANDOM") {
        key_log.log("CLIENT_RANDOM", client_random, ms.expose_secret());
    }
}

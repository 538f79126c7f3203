//! What TLS 1.2 client and server share: the downgrade sentinel, the transcript,
//! the ServerKeyExchange signed content, key installation and key-log lines.

use crate::error::Error;
use crate::kdf::tls12::{KeyMaterial, MasterSecret, WriteIv};
use crate::kdf::Side;
use crate::keylog::KeyLog;
use crate::msgs::handshake::{HandshakeMessage, Version};
use crate::record::RecordProtection;
pub use crate::suites::Tls12CipherSuite;

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

//! What TLS 1.2 client and server share: the downgrade sentinel, the ServerKeyExchange
//! signed content, the master secret, ChangeCipherSpec and Finished, key installation,
//! key-log lines, and the renegotiation-refusing connected state.

use super::core::Core;
use super::Transcript;
use crate::alert::AlertDescription;
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls12::{self as kdf, KeyMaterial, MasterSecret, WriteIv};
use crate::kdf::Side;
use crate::keylog::KeyLog;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload, Version};
use crate::record::RecordProtection;
use crate::suites::Tls12CipherSuite;

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

/// Sends change_cipher_spec, switching to `keys` for writing, then this side's Finished
/// (RFC 5246 §7.1, §7.4.9).
pub(crate) fn send_finished(
    core: &mut Core,
    transcript: &mut Transcript,
    suite: Tls12CipherSuite,
    ms: &MasterSecret,
    keys: &KeyMaterial,
    side: Side,
) -> Result<(), Error> {
    core.send_change_cipher_spec(protection(keys, side)?)?;
    let verify_data =
        kdf::finished_verify_data(suite.hash(), ms, side, transcript.current().as_ref())?;
    crate::conn::send(
        core,
        transcript,
        HandshakePayload::Finished(verify_data.to_vec()),
    )
}

/// The master secret of a full handshake: the extended one over the session hash (the
/// transcript through the ClientKeyExchange, RFC 7627 §4) when negotiated, else the
/// RFC 5246 §8.1 one over the randoms.
pub(crate) fn master_secret(
    suite: Tls12CipherSuite,
    pre_master: &[u8],
    ems: bool,
    session_hash: &Transcript,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<MasterSecret, Error> {
    if ems {
        Ok(kdf::extended_master_secret(
            suite.hash(),
            pre_master,
            session_hash.current().as_ref(),
        )?)
    } else {
        Ok(kdf::master_secret(
            suite.hash(),
            pre_master,
            client_random,
            server_random,
        ))
    }
}

/// How many renegotiation requests are answered with a warning before the connection ends.
const MAX_RENEGOTIATION_ATTEMPTS: usize = 4;

/// A TLS 1.2 connection past its handshake, on either side. Renegotiation is refused: a
/// request for it (a HelloRequest to a client, a ClientHello to a server) gets a
/// `no_renegotiation` warning (RFC 5746 §4.4, RFC 5246 §7.2.2), and the connection ends after
/// a few; any other handshake message is unexpected.
pub(crate) struct Connected12 {
    renegotiation_attempts: usize,
}

impl Connected12 {
    /// The only way in: the peer's Finished verified.
    pub(crate) fn new(_peer_finished: kdf::FinishedVerified) -> Self {
        Self {
            renegotiation_attempts: 0,
        }
    }

    /// Handles a handshake message; `renegotiation` says whether it is the peer's request
    /// to renegotiate.
    pub(crate) fn handle(&mut self, core: &mut Core, renegotiation: bool) -> Result<(), Error> {
        if !renegotiation {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        self.renegotiation_attempts += 1;
        if self.renegotiation_attempts > MAX_RENEGOTIATION_ATTEMPTS {
            return Err(PeerIncompatible::Renegotiation.into());
        }
        core.send_warning(AlertDescription::NoRenegotiation)
    }
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

//! What both sides of a connection share: the record layer ([`core`]), the front that drives
//! a side's state ([`front`]), the handshake kind,
//! the transcript hash, and the TLS 1.3 rules both sides compute alike (CertificateVerify
//! content, the HelloRetryRequest `message_hash`, key-log lines).

pub(crate) mod core;
pub(crate) mod finished;
pub(crate) mod front;
mod kind;
pub(crate) mod tls12;

pub use kind::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};

use crate::crypto::{HashAlgorithm, Hasher};
use crate::kdf::tls13::{ApplicationSecrets, TrafficSecret, TrafficSecrets};
use crate::msgs::handshake::KeyUpdateRequest;

use self::core::Core;
use crate::error::Error;
use crate::keylog::KeyLog;
use crate::msgs::enums::HandshakeType;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload, Version};
use crate::suites::CipherSuite;

/// A handshake message as received: decoded, and its exact bytes for the transcript.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) payload: HandshakePayload,
    pub(crate) bytes: Vec<u8>,
}

impl Message {
    /// Decodes a whole TLS 1.3 handshake message.
    pub(crate) fn decode(bytes: Vec<u8>) -> Result<Self, Error> {
        let decoded = HandshakeMessage::decode(&bytes, Version::Tls13)?;
        Ok(Self {
            payload: decoded.payload,
            bytes,
        })
    }
}

/// The running transcript hash of either version: every handshake message so far, hashed with
/// the suite's hash (RFC 8446 §4.4.1; RFC 5246 §7.4.9, where it is the PRF hash).
#[derive(Clone)]
pub(crate) struct Transcript {
    hasher: Hasher,
    hash: HashAlgorithm,
}

impl Transcript {
    pub(crate) fn new(hash: HashAlgorithm) -> Self {
        Self {
            hasher: Hasher::new(hash),
            hash,
        }
    }

    /// The hash this transcript runs.
    pub(crate) fn algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// A transcript that starts after a HelloRetryRequest: the first ClientHello is replaced
    /// by `message_hash` = `254 ‖ 00 00 Hash.length ‖ Hash(ClientHello1)` (RFC 8446 §4.4.1).
    pub(crate) fn after_retry(hash: HashAlgorithm, client_hello1: &[u8]) -> Self {
        let mut first = Hasher::new(hash);
        first.update(client_hello1);
        Self::after_retry_hash(hash, first.current().as_ref())
    }

    /// [`Self::after_retry`] from `Hash(ClientHello1)` alone (a stateless server's cookie
    /// carries it).
    pub(crate) fn after_retry_hash(hash: HashAlgorithm, digest: &[u8]) -> Self {
        let mut t = Self::new(hash);
        // Hash lengths (32, 48) fit the one length byte used.
        t.add(&[
            u8::from(HandshakeType::MessageHash),
            0,
            0,
            hash.output_len() as u8,
        ]);
        t.add(digest);
        t
    }

    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// The hash of everything added so far.
    pub(crate) fn current(&self) -> ring::digest::Digest {
        self.hasher.current()
    }

    /// The hash of everything so far followed by `more`, without adding `more`.
    pub(crate) fn hash_with(&self, more: &[u8]) -> ring::digest::Digest {
        let mut fork = self.hasher.clone();
        fork.update(more);
        fork.current()
    }
}

/// Encodes a handshake message, queues it and adds it to the transcript.
pub(crate) fn send(
    core: &mut Core,
    transcript: &mut Transcript,
    payload: HandshakePayload,
) -> Result<(), Error> {
    let bytes = HandshakeMessage { payload }.encode()?;
    core.send_handshake(&bytes)?;
    transcript.add(&bytes);
    Ok(())
}

/// Encodes and queues a handshake message that no transcript covers: the TLS 1.3
/// post-handshake messages, NewSessionTicket and KeyUpdate (RFC 8446 §4.6).
pub(crate) fn send_untracked(core: &mut Core, payload: HandshakePayload) -> Result<(), Error> {
    let bytes = HandshakeMessage { payload }.encode()?;
    core.send_handshake(&bytes)
}

/// The content a TLS 1.3 server signs in CertificateVerify (RFC 8446 §4.4.3): 64 spaces,
/// the context string, a zero byte, and the transcript hash.
pub(crate) fn server_signed_content(transcript_hash: &[u8]) -> Vec<u8> {
    const CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";
    let mut content = Vec::with_capacity(64 + CONTEXT.len() + 1 + transcript_hash.len());
    content.resize(64, 0x20);
    content.extend_from_slice(CONTEXT);
    content.push(0);
    content.extend_from_slice(transcript_hash);
    content
}

/// Writes one NSS key-log line, if the key log wants it.
pub(crate) fn log_secret(
    key_log: &dyn KeyLog,
    label: &str,
    client_random: &[u8; 32],
    secret: &TrafficSecret,
) {
    if key_log.will_log(label) {
        key_log.log(label, client_random, secret.secret().expose_secret());
    }
}

/// Logs both handshake traffic secrets (RFC 8446 §7.1), as either side derives them.
pub(crate) fn log_handshake_secrets(
    key_log: &dyn KeyLog,
    client_random: &[u8; 32],
    secrets: &TrafficSecrets,
) {
    log_secret(
        key_log,
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        client_random,
        &secrets.client,
    );
    log_secret(
        key_log,
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        client_random,
        &secrets.server,
    );
}

/// Logs both application traffic secrets and the exporter secret (RFC 8446 §7.1, §7.5).
pub(crate) fn log_application_secrets(
    key_log: &dyn KeyLog,
    client_random: &[u8; 32],
    app: &ApplicationSecrets,
) {
    log_secret(
        key_log,
        "CLIENT_TRAFFIC_SECRET_0",
        client_random,
        &app.traffic.client,
    );
    log_secret(
        key_log,
        "SERVER_TRAFFIC_SECRET_0",
        client_random,
        &app.traffic.server,
    );
    if key_log.will_log("EXPORTER_SECRET") {
        key_log.log(
            "EXPORTER_SECRET",
            client_random,
            app.exporter_master_secret.expose_secret(),
        );
    }
}

/// Answers a KeyUpdate (RFC 8446 §4.6.3): the peer's next read secret, and ours too when
/// asked. Returns (peer's secret, own secret).
pub(crate) fn key_update(
    core: &mut Core,
    suite: CipherSuite,
    peer: TrafficSecret,
    own: TrafficSecret,
    request: KeyUpdateRequest,
) -> Result<(TrafficSecret, TrafficSecret), Error> {
    let peer = peer.into_next_generation();
    core.set_read_keys(&peer.traffic_keys(suite.aead()))?;
    let own = match request {
        KeyUpdateRequest::NotRequested => own,
        KeyUpdateRequest::Requested => {
            send_untracked(
                core,
                HandshakePayload::KeyUpdate(KeyUpdateRequest::NotRequested),
            )?;
            let own = own.into_next_generation();
            core.set_write_keys(Some(&own.traffic_keys(suite.aead())))?;
            own
        }
    };
    Ok((peer, own))
}

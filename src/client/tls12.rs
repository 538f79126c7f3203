//! The TLS 1.2 client handshake (RFC 5246 §7.3) with ECDHE (RFC 8422), the extended master
//! secret (RFC 7627), and resumption by session ID or RFC 5077 ticket.
//!
//! ```text
//! ServerHello ─(full)──► ExpectCertificate ─► ExpectServerKeyExchange ─► ExpectServerHelloDone
//!             │          ─► ClientKeyExchange, CCS, Finished ─► [ExpectNewSessionTicket]
//!             │          ─► ExpectFinished ─► Connected
//!             └(resumed)─► [ExpectNewSessionTicket] ─► ExpectFinished ─► CCS, Finished
//!                        ─► Connected
//! ```
//!
//! The client offers the one stored TLS 1.2 session: its ticket in `session_ticket` with a
//! fresh random session ID (RFC 5077 §3.4: an echo of that ID is how acceptance shows), or
//! its session ID; with [`ConnectOptions`](super::ConnectOptions) asking, its own ID beside
//! its ticket. Renegotiation is never performed: a HelloRequest is answered with a
//! `no_renegotiation` warning (RFC 5246 §7.4.1.1), and the connection ends after a few.

use rustls_pki_types::CertificateDer;

use crate::config::ClientConfig;
use crate::conn::core::Incoming;
use crate::conn::tls12::{
    self as common, log_master_secret, master_secret, protection, send_finished, signed_params,
    Connected12, DOWNGRADE_TLS12,
};
use crate::conn::{EarlyDataStatus, HandshakeKind, Message, ResumptionMechanism, Transcript};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::sign::{verify, SignatureAlgorithm};
use crate::error::Error;
use crate::error::{PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls12::{self as kdf, KeyMaterial, MasterSecret};
use crate::kdf::Side;
use crate::msgs::enums::{ExtensionType, HandshakeType, ProtocolVersion};
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::key_exchange::ClientKeyExchange;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::ServerHello;
use crate::msgs::Codec;
use crate::session::Tls12Session;
use crate::store::ClientTls12Session;
use crate::suites::Tls12CipherSuite;

use super::hello::Sent;
use super::Context;

/// The client's TLS 1.2 states.
pub(super) enum State {
    ExpectCertificate(Box<Handshaking>),
    ExpectServerKeyExchange(Box<Handshaking>, CertificateDer<'static>),
    ExpectServerHelloDone(Box<Handshaking>, KxGroup, Vec<u8>),
    ExpectNewSessionTicket(Box<Handshaking>, MasterKeys),
    ExpectFinished(Box<Handshaking>, MasterKeys),
    Connected(Connected12),
}

impl State {
    pub(super) fn is_handshaking(&self) -> bool {
        !matches!(self, Self::Connected(_))
    }

    pub(super) fn handle(self, cx: &mut Context<'_>, incoming: Incoming) -> Result<Self, Error> {
        let bytes = match (self, incoming) {
            (Self::Connected(s), Incoming::ApplicationData(data)) => {
                cx.core.plaintext.extend_from_slice(&data);
                return Ok(Self::Connected(s));
            }
            (_, Incoming::ApplicationData(_)) => {
                return Err(PeerMisbehaved::UnexpectedMessage.into())
            }
            (state, Incoming::Handshake(bytes)) => (state, bytes),
        };
        let (state, bytes) = bytes;
        let message = common::decode(bytes)?;
        match state {
            Self::ExpectCertificate(s) => s.certificate(cx, message),
            Self::ExpectServerKeyExchange(s, cert) => s.server_key_exchange(cx, message, cert),
            Self::ExpectServerHelloDone(s, group, public) => {
                s.server_hello_done(cx, message, group, &public)
            }
            Self::ExpectNewSessionTicket(s, keys) => s.new_session_ticket(cx, message, keys),
            Self::ExpectFinished(s, keys) => s.finished(cx, message, keys),
            Self::Connected(mut s) => {
                let hello_request = matches!(
                    message.payload,
                    HandshakePayload::Unknown {
                        typ: HandshakeType::HelloRequest,
                        ..
                    }
                );
                s.handle(cx.core, hello_request)?;
                Ok(Self::Connected(s))
            }
        }
    }
}

/// Everything the handshake carries from state to state.
pub(super) struct Handshaking {
    /// The first ClientHello.
    sent: Sent,
    /// The TLS 1.2 session it offered.
    session: Option<ClientTls12Session>,
    transcript: Transcript,
    suite: Tls12CipherSuite,
    server_random: [u8; 32],
    server_session_id: Vec<u8>,
    ems: bool,
    expect_ticket: bool,
    /// Set when resuming: the mechanism of the session reused.
    resumed: Option<ResumptionMechanism>,
    new_ticket: Option<(Vec<u8>, u32)>,
}

/// The master secret once known, and, in an abbreviated handshake, the keys the client's
/// Finished still goes out under (after the server's).
pub(super) struct MasterKeys {
    master_secret: MasterSecret,
    finish_with: Option<KeyMaterial>,
}

/// What a TLS 1.2 ServerHello chose.
struct Chosen {
    suite: Tls12CipherSuite,
    ems: bool,
    expect_ticket: bool,
    resumed: Option<ResumptionMechanism>,
}

/// Checks a TLS 1.2 ServerHello against the offer (RFC 5246 §7.4.1.3, RFC 5746, RFC 7627
/// §5.3, RFC 8446 §4.1.3's downgrade sentinel) and reads what it chose.
fn check_server_hello(
    config: &ClientConfig,
    sent: &Sent,
    session: Option<&ClientTls12Session>,
    sh: &ServerHello,
) -> Result<Chosen, Error> {
    if !config.versions.tls12 || sh.legacy_version != ProtocolVersion::Tls12 {
        return Err(PeerIncompatible::NoCommonVersion.into());
    }
    // RFC 8446 §4.1.3: a TLS 1.3 client must detect a server that was pushed down.
    if config.versions.tls13 && sh.random[24..] == DOWNGRADE_TLS12 {
        return Err(PeerMisbehaved::IllegalParameter("TLS 1.3 downgrade sentinel").into());
    }
    let suite = Tls12CipherSuite::from_u16(u16::from(sh.cipher_suite))
        .filter(|s| config.tls12_suites.contains(s))
        .ok_or(PeerMisbehaved::SelectedUnoffered("cipher suite"))?;
    if sh.compression_method != 0 {
        return Err(PeerMisbehaved::SelectedUnoffered("compression method").into());
    }
    // RFC 5746 §3.4: an empty renegotiation_info; without it the server might renegotiate
    // insecurely, so the handshake ends.
    match sh.extension(ExtensionType::RenegotiationInfo) {
        Some(ServerExtension::RenegotiationInfo(data)) if data.is_empty() => {}
        _ => return Err(PeerIncompatible::Renegotiation.into()),
    }
    let ems = sh.extension(ExtensionType::ExtendedMasterSecret).is_some();
    let expect_ticket = sh.extension(ExtensionType::SessionTicket).is_some();
    if expect_ticket && !config.tls12_tickets {
        return Err(PeerMisbehaved::SelectedUnoffered("session_ticket").into());
    }
    let echoed = !sent.session_id.is_empty() && sh.session_id == sent.session_id;
    let resumed = match (session, echoed) {
        (Some(session), true) => {
            // RFC 7627 §5.3: the resumed session and this handshake agree on EMS, or abort.
            if session.state.extended_master_secret != ems {
                return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
            }
            if session.state.cipher_suite != suite.to_u16() {
                return Err(PeerMisbehaved::IllegalParameter("suite of a resumed session").into());
            }
            Some(if session.ticket.is_some() && config.tls12_tickets {
                ResumptionMechanism::Ticket
            } else {
                ResumptionMechanism::SessionId
            })
        }
        _ => None,
    };
    if !ems && config.require_ems {
        return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
    }
    Ok(Chosen {
        suite,
        ems,
        expect_ticket,
        resumed,
    })
}

/// The protocol a TLS 1.2 ServerHello selected, if any (RFC 7301 §3.1).
fn selected_alpn(sh: &ServerHello) -> Option<&[u8]> {
    match sh.extension(ExtensionType::Alpn) {
        Some(ServerExtension::Alpn(p)) => Some(p),
        _ => None,
    }
}

/// Handles the ServerHello that chose TLS 1.2 (RFC 5246 §7.4.1.3), after the first
/// ClientHello `sent`, which offered `session`.
pub(super) fn start(
    cx: &mut Context<'_>,
    sent: Sent,
    session: Option<ClientTls12Session>,
    message: Message,
) -> Result<State, Error> {
    let HandshakePayload::ServerHello(sh) = &message.payload else {
        return Err(PeerMisbehaved::UnexpectedMessage.into());
    };
    cx.core.set_tls12();
    // Early data written for a TLS 1.3 ticket is moot: back to plaintext records.
    cx.core.set_write_keys(None)?;
    let Chosen {
        suite,
        ems,
        expect_ticket,
        resumed,
    } = check_server_hello(cx.config, &sent, session.as_ref(), sh)?;
    let mut transcript = Transcript::new(suite.hash());
    transcript.add(&sent.hello_bytes);
    transcript.add(&message.bytes);
    cx.outcome.tls12_suite = Some(suite);
    cx.outcome.alpn = super::check_selected_alpn(cx.config, selected_alpn(sh))?;
    let hs = Box::new(Handshaking {
        transcript,
        suite,
        server_random: sh.random,
        server_session_id: sh.session_id.clone(),
        ems,
        expect_ticket,
        resumed,
        new_ticket: None,
        sent,
        session,
    });
    cx.outcome.auth_time = Some(match (&hs.session, resumed) {
        (Some(s), Some(_)) => s.state.issued_at,
        _ => cx.now,
    });
    let Some(mechanism) = resumed else {
        cx.outcome.kind = Some(HandshakeKind::Full);
        return Ok(State::ExpectCertificate(hs));
    };
    cx.outcome.kind = Some(HandshakeKind::Resumed {
        mechanism,
        early_data: EarlyDataStatus::NotOffered,
    });
    let session = hs
        .session
        .as_ref()
        .ok_or(Error::InvalidState("resumed without a session"))?;
    let ms = session.state.master_secret.duplicate();
    log_master_secret(cx.config.key_log.as_ref(), &hs.sent.random, &ms);
    let keys = KeyMaterial::derive(
        suite.hash(),
        suite.aead(),
        &ms,
        &hs.server_random,
        &hs.sent.random,
    );
    cx.core
        .expect_change_cipher_spec(protection(&keys, Side::Server)?);
    let master = MasterKeys {
        master_secret: ms,
        finish_with: Some(keys),
    };
    Ok(hs.expect_server_finish(master))
}

impl Handshaking {
    fn certificate(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
    ) -> Result<State, Error> {
        let HandshakePayload::Certificate12(certs) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let end_entity = super::verify_server_chain(
            cx.config,
            certs.certificates.iter().map(Vec::as_slice),
            &self.sent.server_name,
            cx.now,
        )?;
        self.transcript.add(&message.bytes);
        Ok(State::ExpectServerKeyExchange(self, end_entity))
    }

    /// Checks the ServerKeyExchange signature over both randoms and the parameters
    /// (RFC 8422 §5.4) with the certificate's key.
    fn server_key_exchange(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
        cert: CertificateDer<'static>,
    ) -> Result<State, Error> {
        let HandshakePayload::ServerKeyExchange(ske) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let group = KxGroup::from_code_point(u16::from(ske.params.group))
            .filter(|g| cx.config.groups.contains(g))
            .ok_or(PeerMisbehaved::SelectedUnoffered("group"))?;
        let algorithm = SignatureAlgorithm::from_code_point(u16::from(ske.signed.scheme))
            .ok_or(PeerMisbehaved::SelectedUnoffered("signature scheme"))?;
        if algorithm.is_rsa() != self.suite.is_rsa() {
            return Err(
                PeerMisbehaved::IllegalParameter("signature scheme of another suite").into(),
            );
        }
        let content = signed_params(
            &self.sent.random,
            &self.server_random,
            &ske.params.to_bytes()?,
        );
        verify(cert.as_ref(), algorithm, &content, &ske.signed.signature)
            .map_err(|_| PeerMisbehaved::BadCertificateVerify)?;
        self.transcript.add(&message.bytes);
        cx.outcome.group = Some(group);
        let public = ske.params.public.clone();
        Ok(State::ExpectServerHelloDone(self, group, public))
    }

    /// Sends ClientKeyExchange, change_cipher_spec and Finished (RFC 5246 §7.4.7–7.4.9).
    fn server_hello_done(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
        group: KxGroup,
        server_public: &[u8],
    ) -> Result<State, Error> {
        if !matches!(message.payload, HandshakePayload::ServerHelloDone) {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        self.transcript.add(&message.bytes);
        let share = KeyShare::generate(group, cx.config.rng.as_ref())?;
        let public = share.public_key().to_vec();
        let pre_master = share
            .agree(server_public)
            .map_err(|_| PeerMisbehaved::IllegalParameter("server ECDHE public key"))?;
        crate::conn::send(
            cx.core,
            &mut self.transcript,
            HandshakePayload::ClientKeyExchange(ClientKeyExchange { public }),
        )?;
        let suite = self.suite;
        // RFC 7627 §4: the session hash covers the messages up to the ClientKeyExchange.
        let ms = master_secret(
            suite,
            pre_master.expose_secret(),
            self.ems,
            &self.transcript,
            &self.sent.random,
            &self.server_random,
        )?;
        log_master_secret(cx.config.key_log.as_ref(), &self.sent.random, &ms);
        let keys = KeyMaterial::derive(
            suite.hash(),
            suite.aead(),
            &ms,
            &self.server_random,
            &self.sent.random,
        );
        send_finished(
            cx.core,
            &mut self.transcript,
            suite,
            &ms,
            &keys,
            Side::Client,
        )?;
        cx.core
            .expect_change_cipher_spec(protection(&keys, Side::Server)?);
        Ok(self.expect_server_finish(MasterKeys {
            master_secret: ms,
            finish_with: None,
        }))
    }

    /// What comes next once the master secret is known: the server's NewSessionTicket when
    /// it announced one, else its Finished.
    fn expect_server_finish(self: Box<Self>, master: MasterKeys) -> State {
        if self.expect_ticket {
            State::ExpectNewSessionTicket(self, master)
        } else {
            State::ExpectFinished(self, master)
        }
    }

    /// RFC 5077 §3.3: the ticket comes after the client's Finished (full handshake) or right
    /// after the ServerHello (abbreviated), before the server's change_cipher_spec.
    fn new_session_ticket(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
        master: MasterKeys,
    ) -> Result<State, Error> {
        if cx.core.read_switched() {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        let HandshakePayload::NewSessionTicket12(ticket) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        self.transcript.add(&message.bytes);
        self.new_ticket = Some((ticket.ticket.clone(), ticket.lifetime_hint));
        Ok(State::ExpectFinished(self, master))
    }

    fn finished(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
        master: MasterKeys,
    ) -> Result<State, Error> {
        let HandshakePayload::Finished(verify_data) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        if !cx.core.read_switched() {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        crate::conn::finished::check_length(verify_data, kdf::VERIFY_DATA_LEN)?;
        let suite = self.suite;
        let ms = master.master_secret;
        let proof = kdf::verify_finished(
            suite.hash(),
            &ms,
            Side::Server,
            self.transcript.current().as_ref(),
            verify_data,
        )?;
        self.transcript.add(&message.bytes);
        if let Some(keys) = master.finish_with {
            send_finished(
                cx.core,
                &mut self.transcript,
                suite,
                &ms,
                &keys,
                Side::Client,
            )?;
        }
        self.store(cx, ms);
        Ok(State::Connected(Connected12::new(proof)))
    }

    /// Keeps the session for the next connection (sessions without EMS are never resumed,
    /// RFC 7627 §5.3). A resumed session goes back with its original issue time.
    fn store(self: Box<Self>, cx: &mut Context<'_>, ms: MasterSecret) {
        let Some(store) = &cx.config.session_store else {
            return;
        };
        let this = *self;
        if !this.ems {
            return;
        }
        let resumed = this.resumed.is_some();
        let previous = this.session.filter(|_| resumed);
        let (issued_at, old_ticket) = match &previous {
            Some(p) => (p.state.issued_at, p.ticket.clone()),
            None => (cx.now, None),
        };
        // A new ticket's hint counts from its arrival (RFC 5077 §3.3); the session's lifetime
        // counts from `issued_at`, its first full handshake.
        let since = cx.now.saturating_duration_since(issued_at).as_secs();
        let (ticket, lifetime) = match this.new_ticket {
            Some((ticket, hint))
                if !ticket.is_empty() && ticket.len() <= super::MAX_STORED_TICKET_LEN =>
            {
                let from_now = match hint {
                    0 => 0,
                    hint => {
                        u32::try_from(since.saturating_add(u64::from(hint))).unwrap_or(u32::MAX)
                    }
                };
                (Some(ticket), from_now)
            }
            _ => (
                old_ticket,
                previous.as_ref().map_or(0, |p| p.state.lifetime_secs),
            ),
        };
        // Session IDs have no announced lifetime; a day bounds how long one is offered.
        let lifetime_secs = if lifetime == 0 { 24 * 3600 } else { lifetime };
        let session_id = match &previous {
            Some(p) if p.ticket.is_none() => p.session_id.clone(),
            _ => this.server_session_id.clone(),
        };
        // RFC 5077 §3.4: with a ticket, the server's echo of our random ID means nothing later
        // (the session's own ID sent beside its ticket stays).
        let random_echo = !this.sent.id_with_ticket && session_id == this.sent.session_id;
        let session_id = if ticket.is_some() && random_echo {
            Vec::new()
        } else {
            session_id
        };
        if ticket.is_none() && session_id.is_empty() {
            return;
        }
        let state = Tls12Session {
            protocol_version: u16::from(ProtocolVersion::Tls12),
            cipher_suite: this.suite.to_u16(),
            master_secret: ms,
            extended_master_secret: true,
            server_name: Some(this.sent.server_name.clone()),
            alpn: cx.outcome.alpn.clone(),
            issued_at,
            lifetime_secs,
        };
        // What names the session if this connection must take it back (RFC 5246 §7.2.2).
        let name = ticket.clone().unwrap_or_else(|| session_id.clone());
        // A store failure only means the next connection makes a full handshake.
        let stored = store.set_tls12_session(
            &this.sent.server_name,
            ClientTls12Session {
                session_id,
                ticket,
                state,
            },
        );
        if stored.is_ok() {
            cx.outcome.stored_tls12 = Some(name);
        }
    }
}

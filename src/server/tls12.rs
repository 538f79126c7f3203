//! The TLS 1.2 server handshake (RFC 5246 §7.3) with ECDHE (RFC 8422), the extended master
//! secret (RFC 7627), and resumption by session ID or RFC 5077 ticket.
//!
//! ```text
//! full:        ClientHello ─► ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
//!              ExpectClientKeyExchange ─► ExpectFinished (after the client's CCS)
//!              ─► [NewSessionTicket], CCS, Finished ─► Connected
//! abbreviated: ClientHello ─► ServerHello, [NewSessionTicket], CCS, Finished
//!              ExpectResumedFinished (after the client's CCS) ─► Connected
//! ```
//!
//! Renegotiation is never performed: the server sends an empty `renegotiation_info`
//! (RFC 5746 §3.6) and answers a ClientHello on an established connection with a
//! `no_renegotiation` warning (RFC 5246 §7.2.2), closing after a few such attempts.

use crate::config::{KeyDomain, ServerConfig, TicketMode, VirtualHost};
use crate::conn::core::Incoming;
use crate::conn::tls12::{
    self as common, log_master_secret, master_secret, protection, send_finished, signed_params,
    Connected12, DOWNGRADE_TLS12,
};
use crate::conn::{HandshakeKind, Message, Transcript};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::error::{PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls12::{self as kdf, FinishedVerified, KeyMaterial, MasterSecret};
use crate::kdf::Side;
use crate::msgs::certificate::{Certificate12, CertificateVerify};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{self, ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::key_exchange::{EcdheParams, ServerKeyExchange};
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::ServerHello;
use crate::msgs::Codec;
use crate::session::{SessionState, Tls12Session};
use crate::suites::Tls12CipherSuite;

use super::hello::{choose_alpn, choose_group, choose_scheme, Hello};
use super::lookup::keep;
use super::Context;

mod resume;

use resume::{find_session, lookup_keys, resume, send_ticket, ticket_session, SESSION_ID_LEN};

/// The server's TLS 1.2 states.
pub(super) enum State {
    /// The ClientHello, waiting for a pending session lookup (`lookup.rs`); answered again
    /// from the start once it is in.
    ExpectLookup(Box<Hello>),
    ExpectClientKeyExchange(Box<ExpectClientKeyExchange>),
    ExpectFinished(Box<ExpectFinished>),
    ExpectResumedFinished(Box<ExpectResumedFinished>),
    Connected(Connected12),
}

impl State {
    pub(super) fn is_handshaking(&self) -> bool {
        !matches!(self, Self::Connected(_))
    }

    /// Whether the state waits for a pending session lookup.
    pub(super) fn is_waiting(&self) -> bool {
        matches!(self, Self::ExpectLookup(_))
    }

    /// The lookup answered: the ClientHello is answered with it.
    pub(super) fn wake(self, cx: &mut Context<'_>) -> Result<Self, Error> {
        match self {
            Self::ExpectLookup(hello) => start(cx, *hello),
            other => Ok(other),
        }
    }

    pub(super) fn handle(self, cx: &mut Context<'_>, incoming: Incoming) -> Result<Self, Error> {
        match (self, incoming) {
            (Self::Connected(s), Incoming::ApplicationData(data)) => {
                cx.core.plaintext.extend_from_slice(&data);
                Ok(Self::Connected(s))
            }
            (Self::ExpectLookup(_), _) => Err(Error::InvalidState("session lookup pending")),
            (_, Incoming::ApplicationData(_)) => Err(PeerMisbehaved::UnexpectedMessage.into()),
            (state, Incoming::Handshake(bytes)) => {
                let message = common::decode(bytes)?;
                match state {
                    Self::ExpectLookup(_) => Err(Error::InvalidState("session lookup pending")),
                    Self::ExpectClientKeyExchange(s) => s.handle(cx, message),
                    Self::ExpectFinished(s) => s.handle(cx, message),
                    Self::ExpectResumedFinished(s) => s.handle(cx, message),
                    Self::Connected(mut s) => {
                        // RFC 5746 §4.4: a ClientHello here asks to renegotiate.
                        let hello = matches!(message.payload, HandshakePayload::ClientHello(_));
                        s.handle(cx.core, hello)?;
                        Ok(Self::Connected(s))
                    }
                }
            }
        }
    }
}

/// Answers the ClientHello (RFC 5246 §7.4.1.3), with an abbreviated handshake when the
/// offered session is usable. With pending lookups, a session ID to look up parks the hello
/// first (nothing is sent before that); the front calls this again once the lookup is
/// answered.
pub(super) fn start(cx: &mut Context<'_>, parsed: Hello) -> Result<State, Error> {
    // No cookie takes a TLS 1.2 hello past a change_cipher_spec before it.
    super::hello::check_change_cipher_spec_before_hello(cx.core, false)?;
    let hello = &parsed.hello;
    cx.core.set_tls12();
    let config = cx.config;
    if !hello.compression_methods.contains(&0) {
        return Err(PeerMisbehaved::IllegalParameter("no null compression").into());
    }
    // RFC 5746 §3.6: an initial ClientHello carries an empty renegotiation_info or the SCSV.
    let secure_renegotiation = match hello.extension(ExtensionType::RenegotiationInfo) {
        Some(ClientExtension::RenegotiationInfo(data)) if !data.is_empty() => {
            return Err(PeerIncompatible::Renegotiation.into())
        }
        Some(_) => true,
        None => hello
            .cipher_suites
            .contains(&enums::CipherSuite::EmptyRenegotiationInfoScsv),
    };
    if let Some(ClientExtension::EcPointFormats(formats)) =
        hello.extension(ExtensionType::EcPointFormats)
    {
        // RFC 8422 §5.1.2: uncompressed points must be supported by every client.
        if !formats.contains(&0) {
            return Err(PeerMisbehaved::IllegalParameter("no uncompressed points").into());
        }
    }
    let ems = hello
        .extension(ExtensionType::ExtendedMasterSecret)
        .is_some();
    // RFC 7301 §3.1: negotiated on every handshake, abbreviated ones too.
    cx.outcome.alpn = choose_alpn(config, &parsed)?;

    let ticket = ticket_session(cx, hello);
    let wanted = lookup_keys(cx, hello, ticket.is_some());
    if cx
        .outcome
        .lookup
        .ask(config, cx.host, KeyDomain::SessionId, wanted)
    {
        return Ok(State::ExpectLookup(Box::new(parsed)));
    }
    let resumable = find_session(cx, hello, ems, ticket)?;
    if !ems && config.require_ems {
        return Err(PeerIncompatible::ExtendedMasterSecretRequired.into());
    }

    let mut server_random = [0u8; 32];
    config
        .rng
        .fill(&mut server_random)
        .map_err(|_| CryptoError::Random)?;
    if config.versions.tls13 {
        // RFC 8446 §4.1.3: a TLS 1.3 server negotiating TLS 1.2 says so in its random.
        server_random[24..].copy_from_slice(&DOWNGRADE_TLS12);
    }
    let offered_ticket = hello.extension(ExtensionType::SessionTicket).is_some();
    let sealer = match &cx.host.tickets {
        TicketMode::Stateless(sealer) => Some(sealer.clone()),
        _ => None,
    };

    match resumable {
        Some(r) => resume(cx, &parsed, r, server_random, secure_renegotiation, ems),
        None => {
            let suite = choose_suite(config, cx.host, hello)?;
            let issue_ticket = ems && offered_ticket && sealer.is_some();
            let mut session_id = Vec::new();
            if ems && cx.host.session_cache.is_some() {
                session_id = vec![0u8; SESSION_ID_LEN];
                config
                    .rng
                    .fill(&mut session_id)
                    .map_err(|_| CryptoError::Random)?;
            }
            full(
                cx,
                &parsed,
                FullParams {
                    suite,
                    server_random,
                    session_id,
                    issue_ticket,
                    secure_renegotiation,
                    ems,
                },
            )
        }
    }
}

/// The server's most preferred suite the client offers and the host's key can sign for.
fn choose_suite(
    config: &ServerConfig,
    host: &VirtualHost,
    hello: &ClientHello,
) -> Result<Tls12CipherSuite, Error> {
    let rsa_key = host.key.algorithms().iter().any(|a| a.is_rsa());
    config
        .tls12_suites
        .iter()
        .copied()
        .filter(|s| s.is_rsa() == rsa_key)
        .find(|s| hello.cipher_suites.contains(&enums::CipherSuite::from(*s)))
        .ok_or_else(|| PeerIncompatible::NoCommonSuite.into())
}

fn server_hello(
    random: [u8; 32],
    session_id: Vec<u8>,
    suite: Tls12CipherSuite,
    extensions: Vec<ServerExtension>,
) -> HandshakePayload {
    HandshakePayload::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::Tls12,
        random,
        session_id,
        cipher_suite: enums::CipherSuite::from(suite),
        compression_method: 0,
        empty_extensions_block: extensions.is_empty(),
        extensions,
    })
}

/// The ServerHello's extensions; the one place a TLS 1.2 server extension is answered.
fn hello_extensions(
    hello: &ClientHello,
    secure_renegotiation: bool,
    ems: bool,
    ticket: bool,
    alpn: Option<&[u8]>,
) -> Vec<ServerExtension> {
    let mut extensions = Vec::new();
    if secure_renegotiation {
        extensions.push(ServerExtension::RenegotiationInfo(Vec::new()));
    }
    if ems {
        extensions.push(ServerExtension::ExtendedMasterSecret);
    }
    if hello.extension(ExtensionType::EcPointFormats).is_some() {
        extensions.push(ServerExtension::EcPointFormats(vec![0]));
    }
    if ticket {
        extensions.push(ServerExtension::SessionTicket);
    }
    if let Some(protocol) = alpn {
        extensions.push(ServerExtension::Alpn(protocol.to_vec()));
    }
    extensions
}

struct FullParams {
    suite: Tls12CipherSuite,
    server_random: [u8; 32],
    session_id: Vec<u8>,
    issue_ticket: bool,
    secure_renegotiation: bool,
    ems: bool,
}

/// The full handshake's first flight (RFC 5246 §7.3; RFC 8422 §5.4).
fn full(cx: &mut Context<'_>, parsed: &Hello, p: FullParams) -> Result<State, Error> {
    let config = cx.config;
    let hello = &parsed.hello;
    let suite = p.suite;
    let host = cx.host;
    let scheme = choose_scheme(host, parsed, false)?;
    // RFC 8422 §4: without supported_groups any curve may be used; P-256 is the safe one.
    let p256 = [NamedGroup::from(KxGroup::Secp256r1.code_point())];
    let group = choose_group(config, parsed.groups().unwrap_or(&p256))?;

    let mut transcript = Transcript::new(suite.hash());
    transcript.add(&parsed.bytes);
    let extensions = hello_extensions(
        hello,
        p.secure_renegotiation,
        p.ems,
        p.issue_ticket,
        cx.outcome.alpn.as_deref(),
    );
    crate::conn::send(
        cx.core,
        &mut transcript,
        server_hello(p.server_random, p.session_id.clone(), suite, extensions),
    )?;
    crate::conn::send(
        cx.core,
        &mut transcript,
        HandshakePayload::Certificate12(Certificate12 {
            certificates: host
                .cert_chain
                .iter()
                .map(|c| c.as_ref().to_vec())
                .collect(),
        }),
    )?;
    let share = KeyShare::generate(group, config.rng.as_ref())?;
    let params = EcdheParams {
        group: NamedGroup::from(group.code_point()),
        public: share.public_key().to_vec(),
    };
    let content = signed_params(&hello.random, &p.server_random, &params.to_bytes()?);
    let signature = host.key.sign(scheme, &content, config.rng.as_ref())?;
    crate::conn::send(
        cx.core,
        &mut transcript,
        HandshakePayload::ServerKeyExchange(ServerKeyExchange {
            params,
            signed: CertificateVerify {
                scheme: enums::SignatureScheme::from(scheme.code_point()),
                signature,
            },
        }),
    )?;
    crate::conn::send(cx.core, &mut transcript, HandshakePayload::ServerHelloDone)?;
    cx.outcome.kind = Some(HandshakeKind::Full);
    cx.outcome.auth_time = Some(cx.now);
    cx.outcome.tls12_suite = Some(suite);
    Ok(State::ExpectClientKeyExchange(Box::new(
        ExpectClientKeyExchange {
            transcript,
            suite,
            share,
            client_random: hello.random,
            server_random: p.server_random,
            session_id: p.session_id,
            issue_ticket: p.issue_ticket,
            ems: p.ems,
        },
    )))
}

/// Waiting for the client's ECDHE public key (RFC 8422 §5.7).
pub(super) struct ExpectClientKeyExchange {
    transcript: Transcript,
    suite: Tls12CipherSuite,
    share: KeyShare,
    client_random: [u8; 32],
    server_random: [u8; 32],
    session_id: Vec<u8>,
    issue_ticket: bool,
    ems: bool,
}

impl ExpectClientKeyExchange {
    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::ClientKeyExchange(cke) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        self.transcript.add(&message.bytes);
        let suite = self.suite;
        let pre_master = self
            .share
            .agree(&cke.public)
            .map_err(|_| PeerMisbehaved::IllegalParameter("client ECDHE public key"))?;
        // RFC 7627 §4: the session hash covers the messages up to the ClientKeyExchange.
        let ms = master_secret(
            suite,
            pre_master.expose_secret(),
            self.ems,
            &self.transcript,
            &self.client_random,
            &self.server_random,
        )?;
        log_master_secret(cx.config.key_log.as_ref(), &self.client_random, &ms);
        let keys = KeyMaterial::derive(
            suite.hash(),
            suite.aead(),
            &ms,
            &self.server_random,
            &self.client_random,
        );
        cx.core
            .expect_change_cipher_spec(protection(&keys, Side::Client)?);
        Ok(State::ExpectFinished(Box::new(ExpectFinished {
            transcript: self.transcript,
            suite,
            master_secret: ms,
            keys,
            session_id: self.session_id,
            issue_ticket: self.issue_ticket,
            ems: self.ems,
        })))
    }
}

/// Checks the client's Finished, which must follow its change_cipher_spec (RFC 5246 §7.1,
/// §7.4.9), and adds it to the transcript: the proof both handshakes need to connect.
fn client_finished(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    suite: Tls12CipherSuite,
    master_secret: &MasterSecret,
    message: &Message,
) -> Result<FinishedVerified, Error> {
    let HandshakePayload::Finished(verify_data) = &message.payload else {
        return Err(PeerMisbehaved::UnexpectedMessage.into());
    };
    // CCS must come first (RFC 5246 §7.1): until it does, the read keys are the old ones.
    if !cx.core.read_switched() {
        return Err(PeerMisbehaved::UnexpectedMessage.into());
    }
    crate::conn::finished::check_length(verify_data, kdf::VERIFY_DATA_LEN)?;
    let proof = kdf::verify_finished(
        suite.hash(),
        master_secret,
        Side::Client,
        transcript.current().as_ref(),
        verify_data,
    )?;
    transcript.add(&message.bytes);
    Ok(proof)
}

/// A full handshake waiting for the client's change_cipher_spec and Finished (RFC 5246
/// §7.4.9); the server's own Finished follows the client's, after the session is stored
/// (`session_id`, empty when no cache keeps it) or sent in a ticket (`issue_ticket`).
pub(super) struct ExpectFinished {
    transcript: Transcript,
    suite: Tls12CipherSuite,
    master_secret: MasterSecret,
    keys: KeyMaterial,
    session_id: Vec<u8>,
    issue_ticket: bool,
    ems: bool,
}

impl ExpectFinished {
    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let suite = self.suite;
        let proof = client_finished(
            cx,
            &mut self.transcript,
            suite,
            &self.master_secret,
            &message,
        )?;
        let session = Tls12Session {
            protocol_version: u16::from(ProtocolVersion::Tls12),
            cipher_suite: suite.to_u16(),
            master_secret: self.master_secret.duplicate(),
            extended_master_secret: self.ems,
            server_name: cx.outcome.server_name.clone(),
            alpn: cx.outcome.alpn.clone(),
            issued_at: cx.now,
            lifetime_secs: u32::try_from(cx.config.tls12_session_lifetime.as_secs())
                .unwrap_or(u32::MAX),
        };
        let state = SessionState::Tls12(session);
        if self.issue_ticket {
            send_ticket(cx, &mut self.transcript, &state)?;
        }
        if !self.session_id.is_empty() {
            if let Some(cache) = &cx.host.session_cache {
                // A store failure only means the session cannot be resumed by ID.
                let _ = keep(
                    cx.config,
                    cx.host,
                    cache.as_ref(),
                    &mut cx.outcome.stores,
                    (KeyDomain::SessionId, &self.session_id),
                    &state,
                    state.expires_at(),
                );
                let ids = &mut cx.outcome.resumable.session_ids;
                ids.push(self.session_id);
            }
        }
        send_finished(
            cx.core,
            &mut self.transcript,
            suite,
            &self.master_secret,
            &self.keys,
            Side::Server,
        )?;
        Ok(State::Connected(Connected12::new(proof)))
    }
}

/// An abbreviated handshake waiting for the client's change_cipher_spec and Finished, the
/// server's having gone first (RFC 5246 §7.3).
pub(super) struct ExpectResumedFinished {
    transcript: Transcript,
    suite: Tls12CipherSuite,
    master_secret: MasterSecret,
    /// The ID the session was resumed by (empty for a ticket): it becomes this connection's
    /// to forget (RFC 5246 §7.2.2) only once the client's Finished verified, as anyone who
    /// saw the ID could send a bad Finished before that.
    session_id: Vec<u8>,
}

impl ExpectResumedFinished {
    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let proof = client_finished(
            cx,
            &mut self.transcript,
            self.suite,
            &self.master_secret,
            &message,
        )?;
        if !self.session_id.is_empty() {
            cx.outcome.resumable.session_ids.push(self.session_id);
        }
        Ok(State::Connected(Connected12::new(proof)))
    }
}

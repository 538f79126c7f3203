//! The TLS 1.3 server handshake (RFC 8446 §2, §4): one state per message expected next, each
//! consumed by the message that moves it on.
//!
//! ```text
//! ExpectClientHello ──(HelloRetryRequest)──► ExpectClientHello (retry)
//!        │ ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished
//!        ├──(0-RTT accepted)──► ExpectEarlyData ──EndOfEarlyData──┐
//!        └───────────────────────────────────────────────────────► ExpectFinished
//!                                               Finished, NewSessionTickets ─► Connected
//! ```

use crate::config::{KeyDomain, TicketMode};
use subtle::ConstantTimeEq;

use crate::conn::core::Incoming;
use crate::conn::{
    key_update, log_application_secrets, log_handshake_secrets, log_secret, send, send_untracked,
    server_signed_content, EarlyDataStatus, HandshakeKind, Message, ResumptionMechanism,
    Transcript,
};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::secret::Secret;
use crate::crypto::sign::SignatureAlgorithm;
use crate::crypto::CryptoError;
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls13::{
    ApplicationSecrets, FinishedVerified, HandshakeSecret, KeySchedule, MasterSecret,
    TrafficSecret, TrafficSecrets,
};
use crate::msgs::certificate::{Certificate13, CertificateEntry, CertificateVerify};
use crate::msgs::enums::{self, ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::{ClientExtension, KeyShareEntry};
use crate::msgs::handshake::{HandshakePayload, Version};
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::ServerHello;
use crate::suites::CipherSuite;

use super::hello::{choose_alpn, choose_group, choose_scheme, Hello};
use super::psk::{self, Accepted};
use super::retry::{kept_extensions, send_retry, skip_refused_early_data, stateless_retry, Retry};
use super::Context;

/// The server's TLS 1.3 states.
pub(super) enum State {
    ExpectClientHello(ExpectClientHello),
    /// A ClientHello waiting for a pending lookup of its stateful tickets (`lookup.rs`),
    /// with the state that answers it once the lookup is in.
    ExpectLookup(Box<(ExpectClientHello, Hello)>),
    ExpectEarlyData(ExpectEarlyData),
    ExpectFinished(ExpectFinished),
    Connected(Connected),
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
            Self::ExpectLookup(parked) => {
                let (step, hello) = *parked;
                step.handle(cx, hello)
            }
            other => Ok(other),
        }
    }

    pub(super) fn handle(self, cx: &mut Context<'_>, incoming: Incoming) -> Result<Self, Error> {
        match (self, incoming) {
            (Self::ExpectLookup(_), _) => Err(Error::InvalidState("session lookup pending")),
            (Self::ExpectEarlyData(s), Incoming::ApplicationData(data)) => s.early_data(cx, &data),
            (Self::Connected(s), Incoming::ApplicationData(data)) => {
                cx.core.plaintext.extend_from_slice(&data);
                Ok(Self::Connected(s))
            }
            (_, Incoming::ApplicationData(_)) => Err(PeerMisbehaved::UnexpectedMessage.into()),
            // The second ClientHello (after a HelloRetryRequest) is decoded by the same code
            // as the first, in its TLS 1.3 form.
            (Self::ExpectClientHello(s), Incoming::Handshake(bytes)) => {
                s.handle(cx, Hello::decode(bytes, Version::Tls13)?)
            }
            (state, Incoming::Handshake(bytes)) => {
                let message = Message::decode(bytes)?;
                match state {
                    Self::ExpectClientHello(_) => Err(PeerMisbehaved::UnexpectedMessage.into()),
                    Self::ExpectLookup(_) => Err(Error::InvalidState("session lookup pending")),
                    Self::ExpectEarlyData(s) => s.handle(cx, message),
                    Self::ExpectFinished(s) => s.handle(cx, message),
                    Self::Connected(s) => s.handle(cx, message),
                }
            }
        }
    }
}

/// Answers the first ClientHello, which the front chose TLS 1.3 for.
pub(super) fn start(cx: &mut Context<'_>, hello: Hello) -> Result<State, Error> {
    let retry = stateless_retry(cx, &hello)?;
    super::hello::check_change_cipher_spec_before_hello(cx.core, retry.is_some())?;
    ExpectClientHello { retry }.handle(cx, hello)
}

/// Waiting for a ClientHello (the first, or the second after a HelloRetryRequest).
pub(super) struct ExpectClientHello {
    retry: Option<Retry>,
}

/// Accepted 0-RTT: the client's early traffic secret and the most early data the ticket
/// allows (its own max_early_data_size, RFC 8446 §4.2.10).
struct AcceptedEarly {
    secret: TrafficSecret,
    limit: u32,
}

/// What the key schedule gave for the handshake, up to the server's Finished.
struct Keys {
    handshake: HandshakeSecret,
    secrets: TrafficSecrets,
    early_traffic: Option<AcceptedEarly>,
    early_status: EarlyDataStatus,
    kind: HandshakeKind,
}

impl ExpectClientHello {
    /// RFC 8446 §4.1.2–4.2: suite and key share, resumption, then the server's flight.
    fn handle(self, cx: &mut Context<'_>, hello: Hello) -> Result<State, Error> {
        // The front hands TLS 1.2 hellos to the TLS 1.2 half; what arrives here must offer 1.3.
        if !hello.offers_tls13() {
            return Err(PeerIncompatible::NoCommonVersion.into());
        }
        let suite = self.choose_suite(cx, &hello)?;
        self.check_retry(&hello)?;
        // RFC 8446 §4.1.2: the second ClientHello keeps the first's server name, which chose
        // the host (`hello.rs`); another name would pair its certificate with other sessions.
        if self.retry.is_some() && hello.server_name != cx.outcome.server_name {
            return Err(PeerMisbehaved::IllegalParameter("server_name changed after retry").into());
        }
        let share = match self.key_share(cx, &hello, suite)? {
            ShareStep::Use(share) => share,
            ShareStep::Retried(retry) => {
                return Ok(State::ExpectClientHello(Self { retry: Some(retry) }))
            }
        };
        let psk_only = share.is_none();
        // RFC 8446 §4.1.2: TLS 1.3 has no compression.
        if hello.hello.compression_methods != [0] {
            return Err(PeerMisbehaved::IllegalParameter("compression methods").into());
        }
        // Chosen before the PSK: 0-RTT depends on it (RFC 8446 §4.2.10).
        cx.outcome.alpn = choose_alpn(cx.config, &hello)?;
        // Nothing went out for this hello yet: with pending lookups it waits here, and all
        // of the above runs again on it once the lookup is in.
        let wanted = psk::lookup_keys(cx, &hello, !psk_only)?;
        if cx
            .outcome
            .lookup
            .ask(cx.config, cx.host, KeyDomain::Ticket, wanted)
        {
            return Ok(State::ExpectLookup(Box::new((self, hello))));
        }
        let offered_early_before_retry = self.retry.as_ref().is_some_and(|r| r.offered_early);
        let mut transcript = match self.retry {
            Some(retry) => retry.transcript,
            None => Transcript::new(suite.hash()),
        };
        // The hello is hashed once: up to its binders (what a binder covers), then the rest.
        let (before_binders, binders) = hello
            .bytes
            .split_at(hello.binder_prefix().map_or(0, <[u8]>::len));
        transcript.add(before_binders);
        let resumed = psk::accept(cx, &hello, suite, &transcript, !psk_only)?;
        transcript.add(binders);
        if psk_only && resumed.is_none() {
            // No PSK to use and nothing to key an (EC)DHE exchange with (RFC 8446 §4.1.1).
            return Err(PeerIncompatible::NoCommonGroup.into());
        }
        let scheme = match resumed {
            Some(_) => None,
            None => Some(choose_scheme(cx.host, &hello, true)?),
        };
        let resuming = resumed.is_some();
        let ticket_early_limit = resumed.as_ref().map_or(0, |r| r.max_early_data());
        cx.outcome.auth_time = Some(resumed.as_ref().map_or(cx.now, |r| r.auth_time()));
        let offered_early = hello.has(ExtensionType::EarlyData);
        let client_hello_hash = transcript.current();
        let use_dhe = resumed.as_ref().is_none_or(|r| r.dhe());
        let shared = emit_server_hello(cx, &mut transcript, &hello, suite, resumed.as_ref(), {
            share.filter(|_| use_dhe)
        })?;
        let early_offered = offered_early || offered_early_before_retry;
        let keys = schedule(
            cx,
            &hello.hello.random,
            suite,
            resumed,
            shared,
            early_offered,
            client_hello_hash.as_ref(),
            &transcript,
        )?;
        cx.core
            .set_write_keys(Some(&keys.secrets.server.traffic_keys(suite.aead())))?;
        emit_encrypted_extensions(cx, &mut transcript, keys.early_status, resuming)?;
        if let Some(scheme) = scheme {
            emit_certificate(cx, &mut transcript, scheme)?;
        }
        emit_finished(cx, &mut transcript, &keys.secrets.server)?;
        let master = keys.handshake.into_master_secret();
        let app = master.application_secrets(transcript.current().as_ref())?;
        log_application_secrets(cx.config.key_log.as_ref(), &hello.hello.random, &app);
        cx.core
            .set_write_keys(Some(&app.traffic.server.traffic_keys(suite.aead())))?;
        cx.outcome.kind = Some(keys.kind);
        cx.outcome.suite = Some(suite);
        let finished = ExpectFinished {
            transcript,
            suite,
            client_handshake: keys.secrets.client,
            master,
            app,
            resumed: resuming,
        };
        finished.expect_client_flight(cx, keys.early_traffic, offered_early, ticket_early_limit)
    }

    /// The client's key share to use, `None` for a hello offering a PSK with neither
    /// key_share nor supported_groups (RFC 8446 §9.2), which only `psk_ke` can serve
    /// (§4.2.9); or, with no usable share, the HelloRetryRequest sent (§4.1.4).
    fn key_share<'h>(
        &self,
        cx: &mut Context<'_>,
        hello: &'h Hello,
        suite: CipherSuite,
    ) -> Result<ShareStep<'h>, Error> {
        if self.retry.is_none() && is_psk_only(hello) {
            return Ok(ShareStep::Use(None));
        }
        let Some((group, client_share)) = choose_key_share(cx, hello)? else {
            if self.retry.is_some() {
                return Err(PeerMisbehaved::IllegalParameter("no key share after retry").into());
            }
            let client_groups = hello
                .groups()
                .ok_or(PeerMisbehaved::MissingExtension("supported_groups"))?;
            let group = choose_group(cx.config, client_groups)?;
            return Ok(ShareStep::Retried(send_retry(cx, hello, suite, group)?));
        };
        if let Some(retry) = &self.retry {
            // Early data of the first flight came before this second ClientHello: from here on
            // a record that fails to decrypt is an error again, not something to skip.
            cx.core.set_skip_budget(0);
            if retry.group != group {
                return Err(PeerMisbehaved::IllegalParameter("key share of another group").into());
            }
        }
        Ok(ShareStep::Use(Some((group, client_share))))
    }

    /// The server's most preferred suite the client offers; after a retry, the one the
    /// HelloRetryRequest named, which the second ClientHello must still offer.
    fn choose_suite(&self, cx: &Context<'_>, hello: &Hello) -> Result<CipherSuite, Error> {
        let offered = &hello.hello.cipher_suites;
        match &self.retry {
            Some(retry) if offered.contains(&enums::CipherSuite::from(retry.suite)) => {
                Ok(retry.suite)
            }
            Some(_) => Err(PeerMisbehaved::IllegalParameter("suite changed after retry").into()),
            None => cx
                .config
                .suites
                .iter()
                .copied()
                .find(|s| offered.contains(&enums::CipherSuite::from(*s)))
                .ok_or_else(|| PeerIncompatible::NoCommonSuite.into()),
        }
    }

    /// After a HelloRetryRequest: the cookie is echoed, early data is not offered again, and
    /// the other extensions are the first hello's, in its order (RFC 8446 §4.1.2, §4.2.2,
    /// §4.2.10).
    fn check_retry(&self, hello: &Hello) -> Result<(), Error> {
        let Some(retry) = &self.retry else {
            return Ok(());
        };
        let cookie = match hello.hello.extension(ExtensionType::Cookie) {
            Some(ClientExtension::Cookie(c)) => c.as_slice(),
            _ => &[],
        };
        if !bool::from(cookie.ct_eq(retry.cookie.as_slice())) {
            return Err(PeerMisbehaved::IllegalParameter("cookie not echoed").into());
        }
        if hello.has(ExtensionType::EarlyData) {
            return Err(PeerMisbehaved::IllegalParameter("early_data after retry").into());
        }
        if retry
            .first_extensions
            .as_ref()
            .is_some_and(|first| *first != kept_extensions(hello))
        {
            return Err(PeerMisbehaved::IllegalParameter("extensions changed after retry").into());
        }
        Ok(())
    }
}

/// What the key share step decided. Returned once and taken apart at once, so the retry
/// state stays inline rather than boxed.
#[allow(clippy::large_enum_variant)]
enum ShareStep<'h> {
    /// The share to use (`None`: a PSK-only hello).
    Use(Option<(KxGroup, &'h KeyShareEntry)>),
    /// A HelloRetryRequest went out.
    Retried(Retry),
}

/// Whether the hello offers a PSK with neither key_share nor supported_groups (RFC 8446 §9.2).
fn is_psk_only(hello: &Hello) -> bool {
    hello.hello.offered_psks().is_some()
        && !hello.has(ExtensionType::KeyShare)
        && !hello.has(ExtensionType::SupportedGroups)
}

/// The client's key share in the server's most preferred group it sent one for; `None`
/// means a HelloRetryRequest (RFC 8446 §4.2.8). Both extensions are required (§9.2).
fn choose_key_share<'h>(
    cx: &Context<'_>,
    hello: &'h Hello,
) -> Result<Option<(KxGroup, &'h KeyShareEntry)>, Error> {
    let shares: &[KeyShareEntry] = match hello.hello.extension(ExtensionType::KeyShare) {
        Some(ClientExtension::KeyShare(s)) => s,
        _ => return Err(PeerMisbehaved::MissingExtension("key_share").into()),
    };
    if hello.groups().is_none() {
        return Err(PeerMisbehaved::MissingExtension("supported_groups").into());
    }
    Ok(cx.config.groups.iter().find_map(|g| {
        shares
            .iter()
            .find(|s| u16::from(s.group) == g.code_point())
            .map(|s| (*g, s))
    }))
}

/// Sends the ServerHello (RFC 8446 §4.1.3) with our key share when (EC)DHE is used, and
/// returns the shared secret.
fn emit_server_hello(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    hello: &Hello,
    suite: CipherSuite,
    resumed: Option<&Accepted>,
    dhe: Option<(KxGroup, &KeyShareEntry)>,
) -> Result<Option<Secret>, Error> {
    let mut extensions = vec![ServerExtension::SupportedVersions(ProtocolVersion::Tls13)];
    let mut shared = None;
    if let Some((group, client_share)) = dhe {
        let ours = KeyShare::generate(group, cx.config.rng.as_ref())?;
        extensions.push(ServerExtension::KeyShare(KeyShareEntry {
            group: NamedGroup::from(group.code_point()),
            key_exchange: ours.public_key().to_vec(),
        }));
        // RFC 8446 §4.2.8: a share that is not a valid point of its group is the peer's fault.
        shared = Some(
            ours.agree(&client_share.key_exchange)
                .map_err(|_| PeerMisbehaved::IllegalParameter("key share"))?,
        );
    }
    if let Some(accepted) = resumed {
        extensions.push(ServerExtension::PreSharedKey(accepted.index()));
    }
    let mut random = [0u8; 32];
    cx.config
        .rng
        .fill(&mut random)
        .map_err(|_| CryptoError::Random)?;
    send(
        cx.core,
        transcript,
        HandshakePayload::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random,
            session_id: hello.hello.session_id.clone(),
            cipher_suite: enums::CipherSuite::from(suite),
            compression_method: 0,
            extensions,
            empty_extensions_block: false,
        }),
    )?;
    // After a HelloRetryRequest the dummy record already went out; this sends nothing then.
    if hello.wants_compat_ccs() {
        cx.core.send_compat_change_cipher_spec()?;
    }
    Ok(shared)
}

/// The key schedule up to the handshake traffic secrets (RFC 8446 §7.1): from the accepted
/// PSK or none, with the (EC)DHE secret or none; the early traffic secret when 0-RTT is
/// accepted. Logs what it derives.
#[allow(clippy::too_many_arguments)] // each input is a distinct piece of the RFC 8446 §7.1 schedule
fn schedule(
    cx: &Context<'_>,
    client_random: &[u8; 32],
    suite: CipherSuite,
    resumed: Option<Accepted>,
    shared: Option<Secret>,
    early_offered: bool,
    client_hello_hash: &[u8],
    transcript: &Transcript,
) -> Result<Keys, Error> {
    let key_log = cx.config.key_log.as_ref();
    let (handshake, early_traffic, early_status, kind) = match resumed {
        Some(accepted) => {
            let early_ok = accepted.early_data();
            let limit = accepted.max_early_data();
            let dhe = shared.is_some();
            let early = accepted.into_early_secret();
            let early_traffic = if early_ok {
                let secret = early.client_early_traffic_secret(client_hello_hash)?;
                log_secret(
                    key_log,
                    "CLIENT_EARLY_TRAFFIC_SECRET",
                    client_random,
                    &secret,
                );
                Some(AcceptedEarly { secret, limit })
            } else {
                None
            };
            let handshake = match &shared {
                Some(shared) => early.psk_dhe_ke(shared.expose_secret()),
                None => early.psk_ke(),
            };
            let status = match (early_offered, early_ok) {
                (_, true) => EarlyDataStatus::Accepted,
                (true, false) => EarlyDataStatus::Rejected,
                (false, false) => EarlyDataStatus::NotOffered,
            };
            let kind = HandshakeKind::Resumed {
                mechanism: ResumptionMechanism::Tls13Psk { dhe },
                early_data: status,
            };
            (handshake, early_traffic, status, kind)
        }
        None => {
            let shared = shared.ok_or(PeerMisbehaved::UnexpectedMessage)?;
            let handshake = KeySchedule::full_handshake(suite.hash(), shared.expose_secret());
            let status = if early_offered {
                EarlyDataStatus::Rejected
            } else {
                EarlyDataStatus::NotOffered
            };
            (handshake, None, status, HandshakeKind::Full)
        }
    };
    let secrets = handshake.traffic_secrets(transcript.current().as_ref())?;
    log_handshake_secrets(key_log, client_random, &secrets);
    Ok(Keys {
        handshake,
        secrets,
        early_traffic,
        early_status,
        kind,
    })
}

/// EncryptedExtensions (RFC 8446 §4.3.1): 0-RTT accepted, server name acknowledged, the
/// application protocol selected (RFC 7301 §3.1). The one place a TLS 1.3 server extension
/// is answered.
fn emit_encrypted_extensions(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    early_status: EarlyDataStatus,
    resuming: bool,
) -> Result<(), Error> {
    let mut encrypted = Vec::new();
    if early_status == EarlyDataStatus::Accepted {
        encrypted.push(ServerExtension::EarlyData);
    }
    if cx.outcome.server_name.is_some() && !resuming {
        encrypted.push(ServerExtension::ServerName);
    }
    if let Some(protocol) = &cx.outcome.alpn {
        encrypted.push(ServerExtension::Alpn(protocol.clone()));
    }
    send(
        cx.core,
        transcript,
        HandshakePayload::EncryptedExtensions(encrypted),
    )
}

/// Certificate and CertificateVerify of a full handshake (RFC 8446 §4.4.2, §4.4.3).
fn emit_certificate(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    scheme: SignatureAlgorithm,
) -> Result<(), Error> {
    let host = cx.host;
    let entries = host
        .cert_chain
        .iter()
        .map(|c| CertificateEntry {
            cert_data: c.as_ref().to_vec(),
            extensions: Vec::new(),
        })
        .collect();
    send(
        cx.core,
        transcript,
        HandshakePayload::Certificate13(Certificate13 {
            context: Vec::new(),
            entries,
        }),
    )?;
    let content = server_signed_content(transcript.current().as_ref());
    let signature = host.key.sign(scheme, &content, cx.config.rng.as_ref())?;
    send(
        cx.core,
        transcript,
        HandshakePayload::CertificateVerify(CertificateVerify {
            scheme: enums::SignatureScheme::from(scheme.code_point()),
            signature,
        }),
    )
}

/// The server's Finished (RFC 8446 §4.4.4).
fn emit_finished(
    cx: &mut Context<'_>,
    transcript: &mut Transcript,
    server_handshake: &TrafficSecret,
) -> Result<(), Error> {
    let verify_data = server_handshake.finished_verify_data(transcript.current().as_ref())?;
    send(
        cx.core,
        transcript,
        HandshakePayload::Finished(verify_data.as_ref().to_vec()),
    )
}

/// Waiting for 0-RTT data and EndOfEarlyData (RFC 8446 §4.5).
pub(super) struct ExpectEarlyData {
    finished: ExpectFinished,
    received: usize,
    /// The ticket's max_early_data_size.
    limit: u32,
}

impl ExpectEarlyData {
    fn early_data(mut self, cx: &mut Context<'_>, data: &[u8]) -> Result<State, Error> {
        self.received += data.len();
        // RFC 8446 §4.2.10: more than the ticket's max_early_data_size is unexpected_message.
        if self.received > self.limit as usize {
            return Err(PeerMisbehaved::TooMany("early data bytes").into());
        }
        cx.outcome.early_data.extend_from_slice(data);
        Ok(State::ExpectEarlyData(self))
    }

    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        if !matches!(message.payload, HandshakePayload::EndOfEarlyData) {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        self.finished.transcript.add(&message.bytes);
        let suite = self.finished.suite;
        cx.core
            .set_read_keys(&self.finished.client_handshake.traffic_keys(suite.aead()))?;
        Ok(State::ExpectFinished(self.finished))
    }
}

/// Waiting for the client's Finished (RFC 8446 §4.4.4).
pub(super) struct ExpectFinished {
    transcript: Transcript,
    suite: CipherSuite,
    client_handshake: TrafficSecret,
    master: MasterSecret,
    app: ApplicationSecrets,
    resumed: bool,
}

impl ExpectFinished {
    /// Installs the read keys for what the client sends next: 0-RTT data under the early
    /// traffic secret when accepted, else its handshake flight (skipping refused early data,
    /// as much as the resumed ticket's `ticket_early_limit` allowed its client, 0 for none).
    fn expect_client_flight(
        self,
        cx: &mut Context<'_>,
        early_traffic: Option<AcceptedEarly>,
        offered_early: bool,
        ticket_early_limit: u32,
    ) -> Result<State, Error> {
        let suite = self.suite;
        match early_traffic {
            Some(early) => {
                cx.core
                    .set_read_keys(&early.secret.traffic_keys(suite.aead()))?;
                Ok(State::ExpectEarlyData(ExpectEarlyData {
                    finished: self,
                    received: 0,
                    limit: early.limit,
                }))
            }
            None => {
                cx.core
                    .set_read_keys(&self.client_handshake.traffic_keys(suite.aead()))?;
                if offered_early {
                    skip_refused_early_data(cx, ticket_early_limit);
                }
                Ok(State::ExpectFinished(self))
            }
        }
    }

    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::Finished(verify_data) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        crate::conn::finished::check_length(verify_data, self.suite.hash().output_len())?;
        let proof = self
            .client_handshake
            .verify_finished(self.transcript.current().as_ref(), verify_data)?;
        self.transcript.add(&message.bytes);
        let suite = self.suite;
        cx.core
            .set_read_keys(&self.app.traffic.client.traffic_keys(suite.aead()))?;
        let resumption = self
            .master
            .into_resumption_master_secret(self.transcript.current().as_ref())?;
        let count = if self.resumed {
            cx.config.tickets_after_resumption
        } else {
            cx.config.tickets_after_full
        };
        let tickets = psk::issue_tickets(
            cx.config,
            cx.host,
            &mut cx.outcome.stores,
            &resumption,
            count,
            &psk::TicketContext {
                suite,
                server_name: cx.outcome.server_name.as_deref(),
                alpn: cx.outcome.alpn.as_deref(),
                auth_time: cx.outcome.auth_time.filter(|_| self.resumed),
                now: cx.now,
            },
        );
        for ticket in tickets {
            if matches!(cx.host.tickets, TicketMode::Stateful { .. }) {
                // RFC 5246 §7.2.2: a fatal alert on this connection takes these back.
                cx.outcome.resumable.tickets.push(ticket.ticket.clone());
            }
            send_untracked(cx.core, HandshakePayload::NewSessionTicket13(ticket))?;
        }
        Ok(State::Connected(Connected::new(
            proof,
            suite,
            self.app.traffic,
        )))
    }
}

/// The handshake is done; application data flows.
pub(super) struct Connected {
    suite: CipherSuite,
    client_traffic: TrafficSecret,
    server_traffic: TrafficSecret,
}

impl Connected {
    /// The only way in: the client's Finished verified.
    fn new(_client_finished: FinishedVerified, suite: CipherSuite, app: TrafficSecrets) -> Self {
        Self {
            suite,
            client_traffic: app.client,
            server_traffic: app.server,
        }
    }

    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        match message.payload {
            HandshakePayload::KeyUpdate(request) => {
                let (client, server) = key_update(
                    cx.core,
                    self.suite,
                    self.client_traffic,
                    self.server_traffic,
                    request,
                )?;
                self.client_traffic = client;
                self.server_traffic = server;
                Ok(State::Connected(self))
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

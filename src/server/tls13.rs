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

use crate::config::ServerConfig;
use crate::conn::core::{Core, Incoming};
use crate::conn::{
    key_update, log_secret, server_signed_content, EarlyDataStatus, HandshakeKind, Message,
    ResumptionMechanism, Transcript,
};
use crate::crypto::kx::KeyShare;
use crate::error::Error;
use crate::error::{PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls13::{
    ApplicationSecrets, CipherSuite, KeySchedule, MasterSecret, TrafficSecret,
};
use crate::msgs::certificate::{Certificate13, CertificateEntry, CertificateVerify};
use crate::msgs::client_hello::binder_transcript_prefix;
use crate::msgs::enums::{self, NamedGroup, ProtocolVersion, PskKeyExchangeMode};
use crate::msgs::extensions::{ClientExtension, KeyShareEntry};
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::ServerHello;
use crate::time::Timestamp;

use super::psk;
use super::retry::{send_retry, server_name, wire_suite, Retry};
use crate::conn::send;

/// What the states share for one step.
pub(super) struct Context<'a> {
    pub(super) config: &'a ServerConfig,
    pub(super) core: &'a mut Core,
    pub(super) now: Timestamp,
    pub(super) outcome: &'a mut Outcome,
}

/// What the handshake decided, as the connection reports it.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) kind: Option<HandshakeKind>,
    pub(super) suite: Option<CipherSuite>,
    pub(super) server_name: Option<String>,
    pub(super) early_data: Vec<u8>,
}

/// The server's states.
pub(super) enum State {
    ExpectClientHello(ExpectClientHello),
    ExpectEarlyData(ExpectEarlyData),
    ExpectFinished(ExpectFinished),
    Connected(Connected),
}

impl State {
    pub(super) fn initial() -> Self {
        Self::ExpectClientHello(ExpectClientHello { retry: None })
    }

    pub(super) fn is_handshaking(&self) -> bool {
        !matches!(self, Self::Connected(_))
    }

    pub(super) fn handle(self, cx: &mut Context<'_>, incoming: Incoming) -> Result<Self, Error> {
        match (self, incoming) {
            (Self::ExpectEarlyData(s), Incoming::ApplicationData(data)) => s.early_data(cx, &data),
            (Self::Connected(s), Incoming::ApplicationData(data)) => {
                cx.core.plaintext.extend_from_slice(&data);
                Ok(Self::Connected(s))
            }
            (_, Incoming::ApplicationData(_)) => Err(PeerMisbehaved::UnexpectedMessage.into()),
            (state, Incoming::Handshake(bytes)) => {
                let message = Message::decode(bytes)?;
                match state {
                    Self::ExpectClientHello(s) => s.handle(cx, message),
                    Self::ExpectEarlyData(s) => s.handle(cx, message),
                    Self::ExpectFinished(s) => s.handle(cx, message),
                    Self::Connected(s) => s.handle(cx, message),
                }
            }
        }
    }
}

/// Waiting for a ClientHello (the first, or the second after a HelloRetryRequest).
pub(super) struct ExpectClientHello {
    retry: Option<Retry>,
}

/// The most early data bytes skipped when 0-RTT is refused, if the configuration allows less
/// (RFC 8446 §4.2.10: a server that does not take early data skips it).
pub(super) const MIN_EARLY_DATA_SKIP: usize = 16384;

/// Per-record overhead a skipped early-data record may carry beyond its plaintext (content
/// type, AEAD tag, some padding).
pub(super) const SKIP_SLACK: usize = 4096;

impl ExpectClientHello {
    pub(super) fn after_retry(retry: Retry) -> Self {
        Self { retry: Some(retry) }
    }

    fn handle(self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::ClientHello(hello) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        // The front hands TLS 1.2 hellos to the TLS 1.2 half; what arrives here must offer 1.3.
        let versions = match hello.extension(enums::ExtensionType::SupportedVersions) {
            Some(ClientExtension::SupportedVersions(v)) => v.clone(),
            _ => Vec::new(),
        };
        if !versions.contains(&ProtocolVersion::Tls13) {
            return Err(PeerIncompatible::NoCommonVersion.into());
        }
        let config = cx.config;
        let suite = match &self.retry {
            Some(retry) => {
                if !hello.cipher_suites.contains(&wire_suite(retry.suite)) {
                    return Err(
                        PeerMisbehaved::IllegalParameter("suite changed after retry").into(),
                    );
                }
                retry.suite
            }
            None => config
                .suites
                .iter()
                .copied()
                .find(|s| hello.cipher_suites.contains(&wire_suite(*s)))
                .ok_or(PeerIncompatible::NoCommonSuite)?,
        };
        if let Some(retry) = &self.retry {
            let cookie = match hello.extension(enums::ExtensionType::Cookie) {
                Some(ClientExtension::Cookie(c)) => c.as_slice(),
                _ => &[],
            };
            if cookie != retry.cookie.as_slice() {
                return Err(PeerMisbehaved::IllegalParameter("cookie not echoed").into());
            }
            if hello.extension(enums::ExtensionType::EarlyData).is_some() {
                return Err(PeerMisbehaved::IllegalParameter("early_data after retry").into());
            }
        }
        let shares: &[KeyShareEntry] = match hello.extension(enums::ExtensionType::KeyShare) {
            Some(ClientExtension::KeyShare(s)) => s,
            _ => return Err(PeerMisbehaved::MissingExtension("key_share").into()),
        };
        let client_groups: &[NamedGroup] =
            match hello.extension(enums::ExtensionType::SupportedGroups) {
                Some(ClientExtension::SupportedGroups(g)) => g,
                _ => return Err(PeerMisbehaved::MissingExtension("supported_groups").into()),
            };
        let share = config.groups.iter().find_map(|g| {
            shares
                .iter()
                .find(|s| u16::from(s.group) == g.code_point())
                .map(|s| (*g, s))
        });
        let Some((group, client_share)) = share else {
            if self.retry.is_some() {
                return Err(PeerMisbehaved::IllegalParameter("no key share after retry").into());
            }
            let group = config
                .groups
                .iter()
                .copied()
                .find(|g| client_groups.contains(&NamedGroup::from(g.code_point())))
                .ok_or(PeerIncompatible::NoCommonGroup)?;
            return send_retry(cx, hello, &message.bytes, suite, group);
        };
        if let Some(retry) = &self.retry {
            // Early data of the first flight came before this second ClientHello: from here on
            // a record that fails to decrypt is an error again, not something to skip.
            cx.core.set_skip_budget(0);
            if retry.group != group {
                return Err(PeerMisbehaved::IllegalParameter("key share of another group").into());
            }
        }
        // RFC 8446 §4.1.2: TLS 1.3 has no compression.
        if hello.compression_methods != [0] {
            return Err(PeerMisbehaved::IllegalParameter("compression methods").into());
        }
        cx.outcome.server_name = server_name(hello);
        let offered_early_before_retry = self.retry.as_ref().is_some_and(|r| r.offered_early);
        let mut transcript = match self.retry {
            Some(retry) => retry.transcript,
            None => Transcript::new(suite.hash()),
        };

        // Resumption: find a usable PSK, then check its binder (RFC 8446 §4.2.11).
        let modes: &[PskKeyExchangeMode] =
            match hello.extension(enums::ExtensionType::PskKeyExchangeModes) {
                Some(ClientExtension::PskKeyExchangeModes(m)) => m,
                // RFC 8446 §4.2.9: a client offering a PSK must say how it may be used.
                _ if hello.offered_psks().is_some() => {
                    return Err(PeerMisbehaved::MissingExtension("psk_key_exchange_modes").into())
                }
                _ => &[],
            };
        let dhe_mode = modes.contains(&PskKeyExchangeMode::PskDheKe);
        let ke_mode =
            !dhe_mode && config.allow_psk_ke && modes.contains(&PskKeyExchangeMode::PskKe);
        let offered_early = hello.extension(enums::ExtensionType::EarlyData).is_some();
        let mut resumed = None;
        if let Some(offered) = hello.offered_psks().filter(|_| dhe_mode || ke_mode) {
            let name = cx.outcome.server_name.as_deref();
            if let Some(candidate) = psk::find(config, offered, suite, name, cx.now) {
                let prefix = binder_transcript_prefix(&message.bytes)?
                    .ok_or(PeerMisbehaved::UnexpectedMessage)?;
                let binder_hash = transcript.hash_with(prefix);
                let (early, proof) =
                    psk::verify_binder(&candidate, offered, suite, binder_hash.as_ref())?;
                // Another handshake may have taken this stateful ticket first: then this one
                // is a full handshake.
                if psk::claim(config, &candidate, &proof) {
                    let early_ok = offered_early
                        && psk::accept_early_data(config, &candidate, suite, cx.now, &proof);
                    resumed = Some((candidate.index, early, early_ok));
                }
            }
        }
        let resuming = resumed.is_some();
        let scheme = if resuming {
            None
        } else {
            let offered: Vec<u16> = match hello.extension(enums::ExtensionType::SignatureAlgorithms)
            {
                Some(ClientExtension::SignatureAlgorithms(s)) => {
                    s.iter().map(|s| u16::from(*s)).collect()
                }
                _ => return Err(PeerMisbehaved::MissingExtension("signature_algorithms").into()),
            };
            Some(
                config
                    .key
                    .choose(&offered, true)
                    .ok_or(PeerIncompatible::NoCommonSignatureScheme)?,
            )
        };
        let use_dhe = !(resuming && ke_mode);

        transcript.add(&message.bytes);
        let client_hello_hash = transcript.current();
        let client_random = hello.random;

        // ServerHello (RFC 8446 §4.1.3).
        let mut extensions = vec![ServerExtension::SupportedVersions(ProtocolVersion::Tls13)];
        let mut shared = None;
        if use_dhe {
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
        if let Some((index, ..)) = &resumed {
            // At most MAX_IDENTITIES_TRIED, so the index fits.
            extensions.push(ServerExtension::PreSharedKey(*index as u16));
        }
        let mut random = [0u8; 32];
        cx.config
            .rng
            .fill(&mut random)
            .map_err(|_| crate::crypto::CryptoError::Random)?;
        let server_hello = Message::encode(HandshakePayload::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random,
            session_id: hello.session_id.clone(),
            cipher_suite: wire_suite(suite),
            compression_method: 0,
            extensions,
            empty_extensions_block: false,
        }))?;
        cx.core.send_handshake(&server_hello.bytes)?;
        transcript.add(&server_hello.bytes);

        // The key schedule (RFC 8446 §7.1).
        let key_log = cx.config.key_log.as_ref();
        let (handshake, early_traffic, early_status, kind) = match resumed {
            Some((_, early, early_ok)) => {
                let early_traffic = if early_ok {
                    let secret = early.client_early_traffic_secret(client_hello_hash.as_ref())?;
                    log_secret(
                        key_log,
                        "CLIENT_EARLY_TRAFFIC_SECRET",
                        &client_random,
                        &secret,
                    );
                    Some(secret)
                } else {
                    None
                };
                let handshake = match &shared {
                    Some(shared) => early.psk_dhe_ke(shared.expose_secret()),
                    None => early.psk_ke(),
                };
                let status = match (offered_early || offered_early_before_retry, early_ok) {
                    (_, true) => EarlyDataStatus::Accepted,
                    (true, false) => EarlyDataStatus::Rejected,
                    (false, false) => EarlyDataStatus::NotOffered,
                };
                let kind = HandshakeKind::Resumed {
                    mechanism: ResumptionMechanism::Tls13Psk { dhe: use_dhe },
                    early_data: status,
                };
                (handshake, early_traffic, status, kind)
            }
            None => {
                let shared = shared.ok_or(PeerMisbehaved::UnexpectedMessage)?;
                let handshake = KeySchedule::full_handshake(suite.hash(), shared.expose_secret());
                let status = if offered_early || offered_early_before_retry {
                    EarlyDataStatus::Rejected
                } else {
                    EarlyDataStatus::NotOffered
                };
                (handshake, None, status, HandshakeKind::Full)
            }
        };
        let hs = handshake.traffic_secrets(transcript.current().as_ref())?;
        log_secret(
            key_log,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            &client_random,
            &hs.client,
        );
        log_secret(
            key_log,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            &client_random,
            &hs.server,
        );
        cx.core
            .set_write_keys(Some(&hs.server.traffic_keys(suite.aead())))?;

        // EncryptedExtensions, then the certificate for a full handshake (RFC 8446 §4.3–4.4).
        let mut encrypted = Vec::new();
        if early_status == EarlyDataStatus::Accepted {
            encrypted.push(ServerExtension::EarlyData);
        }
        if cx.outcome.server_name.is_some() && !resuming {
            encrypted.push(ServerExtension::ServerName);
        }
        send(
            cx.core,
            &mut transcript,
            HandshakePayload::EncryptedExtensions(encrypted),
        )?;
        if let Some(scheme) = scheme {
            let entries = cx
                .config
                .cert_chain
                .iter()
                .map(|c| CertificateEntry {
                    cert_data: c.as_ref().to_vec(),
                    extensions: Vec::new(),
                })
                .collect();
            send(
                cx.core,
                &mut transcript,
                HandshakePayload::Certificate13(Certificate13 {
                    context: Vec::new(),
                    entries,
                }),
            )?;
            let content = server_signed_content(transcript.current().as_ref());
            let signature = cx
                .config
                .key
                .sign(scheme, &content, cx.config.rng.as_ref())?;
            send(
                cx.core,
                &mut transcript,
                HandshakePayload::CertificateVerify(CertificateVerify {
                    scheme: enums::SignatureScheme::from(scheme.code_point()),
                    signature,
                }),
            )?;
        }
        let verify_data = hs
            .server
            .finished_verify_data(transcript.current().as_ref())?;
        send(
            cx.core,
            &mut transcript,
            HandshakePayload::Finished(verify_data.as_ref().to_vec()),
        )?;

        let master = handshake.into_master_secret();
        let app = master.application_secrets(transcript.current().as_ref())?;
        log_secret(
            key_log,
            "CLIENT_TRAFFIC_SECRET_0",
            &client_random,
            &app.traffic.client,
        );
        log_secret(
            key_log,
            "SERVER_TRAFFIC_SECRET_0",
            &client_random,
            &app.traffic.server,
        );
        if key_log.will_log("EXPORTER_SECRET") {
            key_log.log(
                "EXPORTER_SECRET",
                &client_random,
                app.exporter_master_secret.expose_secret(),
            );
        }
        cx.core
            .set_write_keys(Some(&app.traffic.server.traffic_keys(suite.aead())))?;
        cx.outcome.kind = Some(kind);
        cx.outcome.suite = Some(suite);

        let finished = ExpectFinished {
            transcript,
            suite,
            client_handshake: hs.client,
            master,
            app,
            resumed: resuming,
        };
        match early_traffic {
            Some(early) => {
                cx.core.set_read_keys(&early.traffic_keys(suite.aead()))?;
                Ok(State::ExpectEarlyData(ExpectEarlyData {
                    finished,
                    received: 0,
                }))
            }
            None => {
                cx.core
                    .set_read_keys(&finished.client_handshake.traffic_keys(suite.aead()))?;
                if offered_early {
                    let budget = (cx.config.max_early_data as usize).max(MIN_EARLY_DATA_SKIP);
                    cx.core.set_skip_budget(budget + SKIP_SLACK);
                }
                Ok(State::ExpectFinished(finished))
            }
        }
    }
}

/// Waiting for 0-RTT data and EndOfEarlyData (RFC 8446 §4.5).
pub(super) struct ExpectEarlyData {
    finished: ExpectFinished,
    received: usize,
}

impl ExpectEarlyData {
    fn early_data(mut self, cx: &mut Context<'_>, data: &[u8]) -> Result<State, Error> {
        self.received += data.len();
        // RFC 8446 §4.2.10: more than max_early_data_size is unexpected_message.
        if self.received > cx.config.max_early_data as usize {
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
    fn handle(mut self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::Finished(verify_data) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let _proof = self
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
            &resumption,
            count,
            &psk::TicketContext {
                suite,
                server_name: cx.outcome.server_name.as_deref(),
                now: cx.now,
            },
        );
        for ticket in tickets {
            let message = Message::encode(HandshakePayload::NewSessionTicket13(ticket))?;
            cx.core.send_handshake(&message.bytes)?;
        }
        Ok(State::Connected(Connected {
            suite,
            client_traffic: self.app.traffic.client,
            server_traffic: self.app.traffic.server,
        }))
    }
}

/// The handshake is done; application data flows.
pub(super) struct Connected {
    suite: CipherSuite,
    client_traffic: TrafficSecret,
    server_traffic: TrafficSecret,
}

impl Connected {
    fn handle(self, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        match message.payload {
            HandshakePayload::KeyUpdate(request) => {
                let (client, server) = key_update(
                    cx.core,
                    self.suite,
                    self.client_traffic,
                    self.server_traffic,
                    request,
                )?;
                Ok(State::Connected(Connected {
                    suite: self.suite,
                    client_traffic: client,
                    server_traffic: server,
                }))
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

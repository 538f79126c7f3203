//! The TLS 1.3 client handshake (RFC 8446 §2, §4): one state per message expected next.
//!
//! ```text
//! ExpectServerHello ──HelloRetryRequest──► ExpectServerHello (second ClientHello sent)
//!        │ ServerHello
//! ExpectEncryptedExtensions ──(PSK)──────────────────────────────┐
//!        └─► ExpectCertificate ─► ExpectCertificateVerify ─► ExpectFinished
//!                      [EndOfEarlyData], Finished ─► Connected (NewSessionTicket, KeyUpdate)
//! ```

use rustls_pki_types::CertificateDer;

use super::hello::{self, HelloParams, Offer};
use super::Context;
use crate::conn::core::Incoming;
use crate::conn::{
    key_update, log_application_secrets, log_handshake_secrets, send, server_signed_content,
    EarlyDataStatus, HandshakeKind, Message, ResumptionMechanism, Transcript,
};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::sign::{verify, SignatureAlgorithm};
use crate::error::Error;
use crate::error::{PeerIncompatible, PeerMisbehaved};
use crate::kdf::tls13::{
    FinishedVerified, HandshakeSecret, KeySchedule, ResumptionMasterSecret, TrafficSecret,
    TrafficSecrets,
};
use crate::msgs::enums::{ExtensionType, ProtocolVersion};
use crate::msgs::handshake::HandshakePayload;
use crate::msgs::server_extensions::ServerExtension;
use crate::msgs::server_hello::ServerHello;
use crate::session::{Tls13Session, MAX_TLS13_LIFETIME_SECS};
use crate::store::ClientTls13Ticket;
use crate::suites::CipherSuite;

/// How many of the tickets it stored a connection remembers, to drop them again if it
/// ends with a fatal alert (RFC 5246 §7.2.2).
const MAX_TICKETS_REMEMBERED: usize = 16;

/// The client's states.
pub(super) enum State {
    ExpectServerHello(Box<ExpectServerHello>),
    ExpectEncryptedExtensions(Box<ExpectEncryptedExtensions>),
    ExpectCertificate(Box<Handshaking>),
    ExpectCertificateVerify(Box<Handshaking>, CertificateDer<'static>),
    ExpectFinished(Box<Handshaking>),
    Connected(Box<Connected>),
}

impl State {
    pub(super) fn is_handshaking(&self) -> bool {
        !matches!(self, Self::Connected(_))
    }

    pub(super) fn handle(self, cx: &mut Context<'_>, incoming: Incoming) -> Result<Self, Error> {
        let (state, bytes) = match (self, incoming) {
            (Self::Connected(s), Incoming::ApplicationData(data)) => {
                cx.core.plaintext.extend_from_slice(&data);
                return Ok(Self::Connected(s));
            }
            (_, Incoming::ApplicationData(_)) => {
                return Err(PeerMisbehaved::UnexpectedMessage.into())
            }
            (state, Incoming::Handshake(bytes)) => (state, bytes),
        };
        let message = Message::decode(bytes)?;
        match state {
            Self::ExpectServerHello(s) => s.handle(cx, message),
            Self::ExpectEncryptedExtensions(s) => s.handle(cx, message),
            Self::ExpectCertificate(s) => s.certificate(cx, message),
            Self::ExpectCertificateVerify(s, cert) => s.certificate_verify(cx, message, cert),
            Self::ExpectFinished(s) => s.finished(cx, message),
            Self::Connected(s) => s.handle(cx, message),
        }
    }
}

/// The first flight is out (and maybe a second after a HelloRetryRequest); waiting for the
/// ServerHello or HelloRetryRequest.
pub(super) struct ExpectServerHello {
    offer: Offer,
    /// After a HelloRetryRequest: the transcript so far and the suite it fixed.
    retry: Option<(Transcript, CipherSuite)>,
}

impl ExpectServerHello {
    /// The transcript through the ClientHello last sent (after any retry exchange), in
    /// `suite`'s hash: the one the PSK binder hashed when it is that hash, else hashed now.
    fn hello_transcript(&mut self, suite: CipherSuite) -> Transcript {
        let retry = self.retry.take();
        match self.offer.sent.hello_transcript.take() {
            Some(t) if t.algorithm() == suite.hash() => t,
            _ => {
                let mut t = match retry {
                    Some((t, _)) => t,
                    None => Transcript::new(suite.hash()),
                };
                t.add(&self.offer.sent.hello_bytes);
                t
            }
        }
    }

    /// Handles the first ServerHello, which the front found is not a TLS 1.2 one.
    pub(super) fn first(
        cx: &mut Context<'_>,
        offer: Offer,
        message: Message,
    ) -> Result<State, Error> {
        Box::new(Self { offer, retry: None }).handle(cx, message)
    }

    fn handle(mut self: Box<Self>, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::ServerHello(sh) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let retried = self.retry.is_some();
        let suite = self.check_server_hello(cx, sh)?;
        if sh.is_retry_request() {
            return self.retry(cx, sh, &message.bytes, suite);
        }

        let mut transcript = self.hello_transcript(suite);
        transcript.add(&message.bytes);

        let group = self.offer.share.as_ref().map(KeyShare::group);
        let (handshake, psk_selected, dhe) = self.handshake_secret(cx, sh, suite)?;
        cx.outcome.group = group.filter(|_| dhe);
        let hs = handshake.traffic_secrets(transcript.current().as_ref())?;
        log_handshake_secrets(cx.config.key_log.as_ref(), &self.offer.sent.random, &hs);
        cx.core
            .set_read_keys(&hs.server.traffic_keys(suite.aead()))?;
        cx.outcome.suite = Some(suite);
        cx.outcome.auth_time = Some(match (&self.offer.ticket, psk_selected) {
            (Some(t), true) => t.state.auth_time(),
            _ => cx.now,
        });
        // Early data can only be accepted for the ticket's own suite (RFC 8446 §4.2.10).
        let ticket_suite = self
            .offer
            .ticket
            .as_ref()
            .and_then(|t| CipherSuite::from_u16(t.state.cipher_suite));
        let early_traffic = self
            .offer
            .early_traffic
            .take()
            .filter(|_| psk_selected && ticket_suite == Some(suite));
        if early_traffic.is_none() && self.offer.early_data_offered && !retried {
            // Early data cannot be accepted; stop writing under the early keys.
            cx.core.set_write_keys(None)?;
        }
        Ok(State::ExpectEncryptedExtensions(Box::new(
            ExpectEncryptedExtensions {
                handshaking: Handshaking {
                    server_name: self.offer.sent.server_name,
                    random: self.offer.sent.random,
                    transcript,
                    suite,
                    handshake,
                    hs,
                    early_accepted: false,
                },
                resumed: psk_selected.then_some(dhe),
                // Early data sent before a HelloRetryRequest was offered, and lost: rejected.
                early_data_offered: self.offer.early_data_offered,
                early_traffic,
                early_alpn: self
                    .offer
                    .ticket
                    .as_ref()
                    .and_then(|t| t.state.alpn.clone()),
            },
        )))
    }

    /// The ServerHello's (or HelloRetryRequest's) echo of our session ID, its version and
    /// its suite, which must be one offered and, after a retry, the one the retry named.
    fn check_server_hello(&self, cx: &Context<'_>, sh: &ServerHello) -> Result<CipherSuite, Error> {
        if sh.session_id != self.offer.sent.session_id {
            return Err(PeerMisbehaved::IllegalParameter("session_id not echoed").into());
        }
        match sh.extension(ExtensionType::SupportedVersions) {
            Some(ServerExtension::SupportedVersions(ProtocolVersion::Tls13)) => {}
            Some(_) => return Err(PeerMisbehaved::SelectedUnoffered("version").into()),
            // A ServerHello without supported_versions chose TLS 1.2; the front only gets here
            // when TLS 1.2 was not offered or a HelloRetryRequest already chose TLS 1.3.
            None => return Err(PeerIncompatible::NoCommonVersion.into()),
        }
        let suite = CipherSuite::from_u16(sh.cipher_suite.into())
            .filter(|s| cx.config.suites.contains(s))
            .ok_or(PeerMisbehaved::SelectedUnoffered("cipher suite"))?;
        if let Some((_, retry_suite)) = &self.retry {
            if *retry_suite != suite {
                return Err(PeerMisbehaved::IllegalParameter("suite changed after retry").into());
            }
        }
        Ok(suite)
    }

    /// The Handshake Secret (RFC 8446 §7.1) from what the ServerHello selected: the offered
    /// PSK or none, with the (EC)DHE share or none. Returns it, whether the PSK was selected,
    /// and whether (EC)DHE was used.
    fn handshake_secret(
        &mut self,
        cx: &Context<'_>,
        sh: &ServerHello,
        suite: CipherSuite,
    ) -> Result<(HandshakeSecret, bool, bool), Error> {
        let psk_selected = match sh.extension(ExtensionType::PreSharedKey) {
            Some(ServerExtension::PreSharedKey(0)) if self.offer.early.is_some() => true,
            Some(_) => return Err(PeerMisbehaved::SelectedUnoffered("PSK").into()),
            None => false,
        };
        let server_share = match sh.extension(ExtensionType::KeyShare) {
            Some(ServerExtension::KeyShare(entry)) => {
                if Some(u16::from(entry.group))
                    != self.offer.share.as_ref().map(|s| s.group().code_point())
                {
                    return Err(PeerMisbehaved::SelectedUnoffered("key share group").into());
                }
                Some(entry.key_exchange.clone())
            }
            Some(_) => return Err(PeerMisbehaved::UnexpectedMessage.into()),
            None => None,
        };
        let ticket_suite = self
            .offer
            .ticket
            .as_ref()
            .and_then(|t| CipherSuite::from_u16(t.state.cipher_suite));
        let handshake: HandshakeSecret = match (psk_selected, server_share, self.offer.early.take())
        {
            (true, share, Some(early)) => {
                if ticket_suite.map(|s| s.hash()) != Some(suite.hash()) {
                    return Err(PeerMisbehaved::IllegalParameter("PSK of another hash").into());
                }
                match share {
                    Some(share) => early.psk_dhe_ke(
                        self.offer
                            .share
                            .take()
                            .ok_or(PeerMisbehaved::UnexpectedMessage)?
                            .agree(&share)
                            .map_err(|_| PeerMisbehaved::IllegalParameter("key share"))?
                            .expose_secret(),
                    ),
                    None if cx.config.psk_ke => early.psk_ke(),
                    None => return Err(PeerMisbehaved::MissingExtension("key_share").into()),
                }
            }
            (false, Some(share), _) => {
                let shared = self
                    .offer
                    .share
                    .take()
                    .ok_or(PeerMisbehaved::UnexpectedMessage)?
                    .agree(&share)
                    .map_err(|_| PeerMisbehaved::IllegalParameter("key share"))?;
                KeySchedule::full_handshake(suite.hash(), shared.expose_secret())
            }
            _ => return Err(PeerMisbehaved::MissingExtension("key_share").into()),
        };
        let dhe = sh.extension(ExtensionType::KeyShare).is_some();
        Ok((handshake, psk_selected, dhe))
    }

    /// A HelloRetryRequest (RFC 8446 §4.1.4): a second ClientHello with a share for the group
    /// asked for, the cookie echoed, no early data, and binders over the new transcript.
    fn retry(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        hrr: &ServerHello,
        hrr_bytes: &[u8],
        suite: CipherSuite,
    ) -> Result<State, Error> {
        if self.retry.is_some() {
            return Err(PeerMisbehaved::IllegalParameter("second HelloRetryRequest").into());
        }
        let group = match hrr.extension(ExtensionType::KeyShare) {
            Some(ServerExtension::KeyShareRetry(g)) => KxGroup::from_code_point((*g).into())
                .filter(|g| {
                    cx.config.groups.contains(g)
                        && Some(*g) != self.offer.share.as_ref().map(KeyShare::group)
                })
                .ok_or(PeerMisbehaved::IllegalParameter("retry group"))?,
            _ => {
                return Err(
                    PeerMisbehaved::IllegalParameter("retry without a key share group").into(),
                )
            }
        };
        let cookie = match hrr.extension(ExtensionType::Cookie) {
            Some(ServerExtension::Cookie(c)) => Some(c.clone()),
            _ => None,
        };
        let mut transcript = match self.offer.sent.hello_transcript.take() {
            Some(t) if t.algorithm() == suite.hash() => {
                Transcript::after_retry_hash(t.algorithm(), t.current().as_ref())
            }
            _ => Transcript::after_retry(suite.hash(), &self.offer.sent.hello_bytes),
        };
        transcript.add(hrr_bytes);
        // Early data sent with the first hello is lost (RFC 8446 §4.2.10); the second hello
        // goes unprotected.
        if self.offer.early_traffic.take().is_some() {
            cx.core.set_write_keys(None)?;
        }
        let ticket = self.offer.ticket.take().filter(|t| {
            CipherSuite::from_u16(t.state.cipher_suite).is_some_and(|s| s.hash() == suite.hash())
        });
        let params = HelloParams {
            config: cx.config,
            server_name: &self.offer.sent.server_name,
            random: self.offer.sent.random,
            session_id: &self.offer.sent.session_id,
            now: cx.now,
            tls12: self.offer.tls12.as_ref(),
        };
        let hello = hello::build(
            &params,
            group,
            ticket.as_ref(),
            Some(&transcript),
            cookie.as_deref(),
            false,
        )?;
        if cx.config.middlebox_compat {
            // RFC 8446 §D.4: the dummy record goes before the second flight.
            cx.core.send_compat_change_cipher_spec()?;
        }
        cx.core.send_handshake(&hello.bytes)?;
        self.offer.sent.hello_bytes = hello.bytes;
        self.offer.sent.hello_transcript = hello.transcript;
        self.offer.share = hello.share;
        self.offer.early = hello.early;
        self.offer.ticket = ticket;
        self.retry = Some((transcript, suite));
        Ok(State::ExpectServerHello(self))
    }
}

/// Waiting for EncryptedExtensions (RFC 8446 §4.3.1): whether 0-RTT was accepted decides
/// what happens to the early traffic secret, and whether a PSK was accepted decides whether
/// a certificate follows.
pub(super) struct ExpectEncryptedExtensions {
    handshaking: Handshaking,
    /// `Some(dhe)` when a PSK was accepted.
    resumed: Option<bool>,
    early_data_offered: bool,
    early_traffic: Option<TrafficSecret>,
    /// The application protocol of the ticket the early data was sent under.
    early_alpn: Option<Vec<u8>>,
}

/// The protocol an EncryptedExtensions selected, if any.
fn selected_alpn(extensions: &[ServerExtension]) -> Option<&[u8]> {
    extensions.iter().find_map(|e| match e {
        ServerExtension::Alpn(p) => Some(p.as_slice()),
        _ => None,
    })
}

impl ExpectEncryptedExtensions {
    fn handle(self: Box<Self>, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        let HandshakePayload::EncryptedExtensions(extensions) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let Self {
            mut handshaking,
            resumed,
            early_data_offered,
            early_traffic,
            early_alpn,
        } = *self;
        let early_accepted = extensions
            .iter()
            .any(|e| matches!(e, ServerExtension::EarlyData));
        if early_accepted && early_traffic.is_none() {
            return Err(PeerMisbehaved::SelectedUnoffered("early data").into());
        }
        let alpn = super::check_selected_alpn(cx.config, selected_alpn(extensions))?;
        // RFC 8446 §4.2.10: 0-RTT accepted under another protocol than the ticket's (whose
        // protocol the early data was written for) ends the handshake.
        if early_accepted && alpn != early_alpn {
            return Err(PeerMisbehaved::IllegalParameter("application protocol of 0-RTT").into());
        }
        cx.outcome.alpn = alpn;
        handshaking.transcript.add(&message.bytes);
        handshaking.early_accepted = early_accepted;
        cx.outcome.kind = Some(match resumed {
            Some(dhe) => HandshakeKind::Resumed {
                mechanism: ResumptionMechanism::Tls13Psk { dhe },
                early_data: match (early_data_offered, early_accepted) {
                    (_, true) => EarlyDataStatus::Accepted,
                    (true, false) => EarlyDataStatus::Rejected,
                    (false, false) => EarlyDataStatus::NotOffered,
                },
            },
            None => HandshakeKind::Full,
        });
        if !early_accepted && early_traffic.is_some() {
            cx.core.set_write_keys(None)?;
        }
        let handshaking = Box::new(handshaking);
        Ok(if resumed.is_some() {
            State::ExpectFinished(handshaking)
        } else {
            State::ExpectCertificate(handshaking)
        })
    }
}

/// The handshake after EncryptedExtensions: handshake keys in place, the rest of the
/// server's flight arriving.
pub(super) struct Handshaking {
    server_name: String,
    random: [u8; 32],
    transcript: Transcript,
    suite: CipherSuite,
    handshake: HandshakeSecret,
    hs: TrafficSecrets,
    /// Whether 0-RTT was accepted: EndOfEarlyData then precedes the client's Finished.
    early_accepted: bool,
}

impl Handshaking {
    fn certificate(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
    ) -> Result<State, Error> {
        let HandshakePayload::Certificate13(certificate) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        if !certificate.context.is_empty() {
            return Err(PeerMisbehaved::IllegalParameter("certificate_request_context").into());
        }
        let end_entity = super::verify_server_chain(
            cx.config,
            certificate.entries.iter().map(|e| e.cert_data.as_slice()),
            &self.server_name,
            cx.now,
        )?;
        self.transcript.add(&message.bytes);
        Ok(State::ExpectCertificateVerify(self, end_entity))
    }

    fn certificate_verify(
        mut self: Box<Self>,
        _cx: &mut Context<'_>,
        message: Message,
        end_entity: CertificateDer<'static>,
    ) -> Result<State, Error> {
        let HandshakePayload::CertificateVerify(cv) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let algorithm = SignatureAlgorithm::from_code_point(cv.scheme.into())
            .filter(|a| a.allowed_in_tls13())
            .ok_or(PeerMisbehaved::SelectedUnoffered("signature scheme"))?;
        let content = server_signed_content(self.transcript.current().as_ref());
        verify(&end_entity, algorithm, &content, &cv.signature)
            .map_err(|_| PeerMisbehaved::BadCertificateVerify)?;
        self.transcript.add(&message.bytes);
        Ok(State::ExpectFinished(self))
    }

    fn finished(
        mut self: Box<Self>,
        cx: &mut Context<'_>,
        message: Message,
    ) -> Result<State, Error> {
        let HandshakePayload::Finished(verify_data) = &message.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        crate::conn::finished::check_length(verify_data, self.suite.hash().output_len())?;
        let proof = self
            .hs
            .server
            .verify_finished(self.transcript.current().as_ref(), verify_data)?;
        self.transcript.add(&message.bytes);
        let suite = self.suite;
        let master = self.handshake.into_master_secret();
        let app = master.application_secrets(self.transcript.current().as_ref())?;
        log_application_secrets(cx.config.key_log.as_ref(), &self.random, &app);
        cx.core
            .set_read_keys(&app.traffic.server.traffic_keys(suite.aead()))?;
        if cx.config.middlebox_compat {
            // RFC 8446 §D.4: before the encrypted flight (sends nothing if it went out after
            // the first or before the second ClientHello).
            cx.core.send_compat_change_cipher_spec()?;
        }
        if self.early_accepted {
            // RFC 8446 §4.5: EndOfEarlyData, under the early keys, ends 0-RTT.
            send(
                cx.core,
                &mut self.transcript,
                HandshakePayload::EndOfEarlyData,
            )?;
        }
        cx.core
            .set_write_keys(Some(&self.hs.client.traffic_keys(suite.aead())))?;
        let client_finished = self
            .hs
            .client
            .finished_verify_data(self.transcript.current().as_ref())?;
        send(
            cx.core,
            &mut self.transcript,
            HandshakePayload::Finished(client_finished.as_ref().to_vec()),
        )?;
        cx.core
            .set_write_keys(Some(&app.traffic.client.traffic_keys(suite.aead())))?;
        let resumption =
            master.into_resumption_master_secret(self.transcript.current().as_ref())?;
        Ok(State::Connected(Box::new(Connected::new(
            proof,
            self.server_name,
            suite,
            resumption,
            app.traffic,
        ))))
    }
}

/// The handshake is done: application data, NewSessionTickets and KeyUpdates.
pub(super) struct Connected {
    server_name: String,
    suite: CipherSuite,
    resumption: ResumptionMasterSecret,
    client_traffic: TrafficSecret,
    server_traffic: TrafficSecret,
}

impl Connected {
    /// The only way in: the server's Finished verified.
    fn new(
        _server_finished: FinishedVerified,
        server_name: String,
        suite: CipherSuite,
        resumption: ResumptionMasterSecret,
        app: TrafficSecrets,
    ) -> Self {
        Self {
            server_name,
            suite,
            resumption,
            client_traffic: app.client,
            server_traffic: app.server,
        }
    }

    fn handle(mut self: Box<Self>, cx: &mut Context<'_>, message: Message) -> Result<State, Error> {
        match message.payload {
            HandshakePayload::NewSessionTicket13(nst) => {
                // RFC 8446 §4.6.1: a lifetime of zero means "do not use"; over seven days is
                // illegal.
                if nst.lifetime > MAX_TLS13_LIFETIME_SECS {
                    return Err(PeerMisbehaved::IllegalParameter("ticket lifetime").into());
                }
                cx.outcome.tickets_received += 1;
                let keep = nst.lifetime > 0 && nst.ticket.len() <= super::MAX_STORED_TICKET_LEN;
                if let (Some(store), true) = (&cx.config.session_store, keep) {
                    let psk = self.resumption.resumption_psk(&nst.nonce)?;
                    let max_early_data = nst.max_early_data_size().unwrap_or(0);
                    let ticket = ClientTls13Ticket {
                        ticket: nst.ticket,
                        state: Tls13Session {
                            cipher_suite: self.suite.to_u16(),
                            resumption_psk: psk,
                            ticket_age_add: nst.age_add,
                            lifetime_secs: nst.lifetime,
                            max_early_data,
                            server_name: Some(self.server_name.clone()),
                            alpn: cx.outcome.alpn.clone(),
                            issued_at: cx.now,
                            // RFC 8446 §4.6.1: a resumed connection's tickets belong to the
                            // authentication of the full handshake its chain started with.
                            auth_time: cx
                                .outcome
                                .auth_time
                                .filter(|_| cx.outcome.kind.is_some_and(|k| k.is_resumed())),
                        },
                    };
                    // A store that cannot keep the ticket only costs a later resumption.
                    let stored = ticket.ticket.clone();
                    if store.insert_tls13_ticket(&self.server_name, ticket).is_ok() {
                        // Bounded: a server sending tickets without end must not grow this
                        // list; the oldest are the first any store has evicted already.
                        let remembered = &mut cx.outcome.stored_tickets;
                        if remembered.len() == MAX_TICKETS_REMEMBERED {
                            remembered.remove(0);
                        }
                        remembered.push(stored);
                    }
                }
                Ok(State::Connected(self))
            }
            HandshakePayload::KeyUpdate(request) => {
                let (server, client) = key_update(
                    cx.core,
                    self.suite,
                    self.server_traffic,
                    self.client_traffic,
                    request,
                )?;
                self.server_traffic = server;
                self.client_traffic = client;
                Ok(State::Connected(self))
            }
            _ => Err(PeerMisbehaved::UnexpectedMessage.into()),
        }
    }
}

//! The client's first flight, for both versions: the stored TLS 1.3 ticket and TLS 1.2
//! session taken and offered together, the ClientHello built (its PSK binder computed over
//! the hello's own truncated encoding, RFC 8446 §4.1.2, §4.2.11.2), 0-RTT keys installed;
//! and the one test the front needs to dispatch the ServerHello to a version's half.

use crate::config::ClientConfig;
use crate::conn::core::Core;
use crate::conn::{log_secret, Transcript};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::sign::SignatureAlgorithm;
use crate::error::Error;
use crate::error::PeerIncompatible;
use crate::kdf::tls13::{BinderKind, EarlySecret, KeySchedule, TrafficSecret};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{
    self, ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use crate::msgs::extensions::{
    ClientExtension, KeyShareEntry, OfferedPsks, PskIdentity, ServerNameEntry,
};
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload};
use crate::store::{ClientTls12Session, ClientTls13Ticket};
use crate::suites::{CipherSuite, Tls12CipherSuite};
use crate::time::Timestamp;

/// What the first ClientHello was, as both versions' halves need it.
pub(super) struct Sent {
    pub(super) server_name: String,
    pub(super) random: [u8; 32],
    pub(super) session_id: Vec<u8>,
    /// True when `session_id` is the stored TLS 1.2 session's own ID sent beside its ticket
    /// ([`ConnectOptions::with_tls12_session_id_with_ticket`](super::ConnectOptions)).
    pub(super) id_with_ticket: bool,
    pub(super) hello_bytes: Vec<u8>,
    /// The transcript through this hello (after any retry exchange), when a PSK binder
    /// already hashed it: the hash it was taken with, and the running hash.
    pub(super) hello_transcript: Option<Transcript>,
}

/// What the first flight offered: what either version's half needs once the ServerHello
/// says which one it is. The TLS 1.2 half takes `sent` and `tls12` by move; the rest is the
/// TLS 1.3 half's.
pub(super) struct Offer {
    pub(super) sent: Sent,
    /// The private half of the TLS 1.3 key share sent.
    pub(super) share: Option<KeyShare>,
    /// The TLS 1.3 ticket offered, and the Early Secret of its PSK.
    pub(super) ticket: Option<ClientTls13Ticket>,
    pub(super) early: Option<EarlySecret>,
    pub(super) early_data_offered: bool,
    /// The early traffic secret, while 0-RTT data may be written under it.
    pub(super) early_traffic: Option<TrafficSecret>,
    /// The TLS 1.2 session offered too, for a server that answers with TLS 1.2.
    pub(super) tls12: Option<ClientTls12Session>,
}

/// Builds and queues the first ClientHello, offering the newest stored TLS 1.3 ticket and
/// the stored TLS 1.2 session, and installs the 0-RTT keys when early data is offered.
pub(super) fn start(
    config: &ClientConfig,
    core: &mut Core,
    server_name: &str,
    now: Timestamp,
    options: super::ConnectOptions,
) -> Result<Offer, Error> {
    // The random, then the legacy_session_id (RFC 8446 §D.4: non-empty for middlebox
    // compatibility, cleared below when that mode is off and no TLS 1.2 session needs it),
    // drawn in that order in one call.
    let mut drawn = [0u8; 64];
    config
        .rng
        .fill(&mut drawn)
        .map_err(|_| crate::crypto::CryptoError::Random)?;
    let (random_part, session_id_part) = drawn.split_at(32);
    let mut random = [0u8; 32];
    random.copy_from_slice(random_part);
    let mut session_id = session_id_part.to_vec();
    let tls12 = take_tls12_session(config, server_name, now, &mut session_id);
    let id_with_ticket = options.tls12_session_id_with_ticket()
        && config.tls12_tickets
        && tls12
            .as_ref()
            .is_some_and(|s| s.ticket.is_some() && !s.session_id.is_empty());
    if let (true, Some(s)) = (id_with_ticket, &tls12) {
        session_id.clone_from(&s.session_id);
    }
    if !config.middlebox_compat && tls12.is_none() {
        session_id.clear();
    }
    let ticket = take_tls13_ticket(config, server_name, now);
    let early_data_offered = config.early_data
        && ticket
            .as_ref()
            .is_some_and(|t| t.state.max_early_data > 0 && early_alpn_ok(config, &t.state));
    let group = *config
        .groups
        .first()
        .ok_or(PeerIncompatible::NoCommonGroup)?;
    let params = HelloParams {
        config,
        server_name,
        random,
        session_id: &session_id,
        now,
        tls12: tls12.as_ref(),
    };
    let hello = build(
        &params,
        group,
        ticket.as_ref(),
        None,
        None,
        early_data_offered,
    )?;
    core.send_handshake(&hello.bytes)?;
    if config.middlebox_compat && early_data_offered {
        // RFC 8446 §D.4: with early data, the dummy record follows the first ClientHello.
        core.send_compat_change_cipher_spec()?;
    }
    let mut early_traffic = None;
    if let (true, Some(early), Some(t)) = (early_data_offered, &hello.early, &ticket) {
        let suite = CipherSuite::from_u16(t.state.cipher_suite)
            .ok_or(Error::InvalidState("ticket of an unknown suite"))?;
        let hash = match &hello.transcript {
            Some(t) if t.algorithm() == suite.hash() => t.current(),
            _ => Transcript::new(suite.hash()).hash_with(&hello.bytes),
        };
        let secret = early.client_early_traffic_secret(hash.as_ref())?;
        log_secret(
            config.key_log.as_ref(),
            "CLIENT_EARLY_TRAFFIC_SECRET",
            &random,
            &secret,
        );
        core.set_write_keys(Some(&secret.traffic_keys(suite.aead())))?;
        early_traffic = Some(secret);
    }
    Ok(Offer {
        sent: Sent {
            server_name: server_name.to_owned(),
            random,
            session_id,
            id_with_ticket,
            hello_bytes: hello.bytes,
            hello_transcript: hello.transcript,
        },
        share: hello.share,
        ticket,
        early: hello.early,
        early_data_offered,
        early_traffic,
        tls12,
    })
}

/// RFC 8446 §4.2.10: early data goes only under the application protocol of the ticket's
/// connection, so a ticket that had one allows 0-RTT only while that protocol is still
/// offered (the server must then select it again, which `tls13.rs` checks).
fn early_alpn_ok(config: &ClientConfig, ticket: &crate::session::Tls13Session) -> bool {
    match &ticket.alpn {
        Some(protocol) => config.alpn_protocols.contains(protocol),
        None => true,
    }
}

/// The newest stored TLS 1.3 ticket for `server_name` of a suite still configured, if TLS 1.3
/// is enabled (a TLS 1.2-only client keeps its TLS 1.3 tickets for later).
fn take_tls13_ticket(
    config: &ClientConfig,
    server_name: &str,
    now: Timestamp,
) -> Option<ClientTls13Ticket> {
    let store = config
        .session_store
        .as_ref()
        .filter(|_| config.versions.tls13)?;
    store
        .take_tls13_ticket(server_name, now)
        .ok()
        .flatten()
        .filter(|t| {
            CipherSuite::from_u16(t.state.cipher_suite).is_some_and(|s| config.suites.contains(&s))
        })
}

/// Takes the stored TLS 1.2 session for `server_name`, if TLS 1.2 is enabled. Offered by ID
/// (no ticket), it sets `session_id`; with a ticket the random `session_id` stays.
fn take_tls12_session(
    config: &ClientConfig,
    server_name: &str,
    now: Timestamp,
    session_id: &mut Vec<u8>,
) -> Option<ClientTls12Session> {
    if !config.versions.tls12 {
        return None;
    }
    let store = config.session_store.as_ref()?;
    // A store failure only means there is nothing to resume.
    let session = store.take_tls12_session(server_name, now).ok().flatten()?;
    let usable = Tls12CipherSuite::from_u16(session.state.cipher_suite)
        .is_some_and(|s| config.tls12_suites.contains(&s))
        && session.state.extended_master_secret;
    if !usable {
        return None;
    }
    match (&session.ticket, config.tls12_tickets) {
        (Some(_), true) => {}
        _ if !session.session_id.is_empty() => session_id.clone_from(&session.session_id),
        _ => return None,
    }
    Some(session)
}

/// True when a ServerHello selects TLS 1.2: no supported_versions (RFC 8446 §4.1.3).
pub(super) fn is_tls12_server_hello(payload: &HandshakePayload) -> bool {
    matches!(payload, HandshakePayload::ServerHello(sh)
        if !sh.is_retry_request() && sh.extension(ExtensionType::SupportedVersions).is_none())
}

/// What one ClientHello offered.
pub(super) struct Hello {
    /// The encoded message, binders filled in.
    pub(super) bytes: Vec<u8>,
    /// The private half of the key share sent (none when TLS 1.3 is not offered: TLS 1.2 makes
    /// its ECDHE share only after the ServerKeyExchange).
    pub(super) share: Option<KeyShare>,
    /// The Early Secret of the PSK offered, if one was.
    pub(super) early: Option<EarlySecret>,
    /// With a PSK offered: the transcript through this hello (after the binder's `prefix`),
    /// in the hash of the PSK's suite, which the binder hashed on the way.
    pub(super) transcript: Option<Transcript>,
}

/// The parts of a ClientHello that stay the same across a HelloRetryRequest.
pub(super) struct HelloParams<'a> {
    pub(super) config: &'a ClientConfig,
    pub(super) server_name: &'a str,
    pub(super) random: [u8; 32],
    pub(super) session_id: &'a [u8],
    pub(super) now: Timestamp,
    /// The TLS 1.2 session offered alongside (its ticket goes in `session_ticket`).
    pub(super) tls12: Option<&'a ClientTls12Session>,
}

/// Builds a ClientHello with a share for `group`, offering `ticket` (when given) with its
/// binder over `prefix` (the transcript before this hello: empty, or `message_hash` and the
/// HelloRetryRequest) followed by this hello up to its binders.
pub(super) fn build(
    p: &HelloParams<'_>,
    group: KxGroup,
    ticket: Option<&ClientTls13Ticket>,
    prefix: Option<&Transcript>,
    cookie: Option<&[u8]>,
    early_data: bool,
) -> Result<Hello, Error> {
    let config = p.config;
    let share = if config.versions.tls13 {
        Some(KeyShare::generate(group, config.rng.as_ref())?)
    } else {
        None
    };
    let mut extensions = common_extensions(p);
    if let Some(share) = &share {
        extensions.push(ClientExtension::KeyShare(vec![KeyShareEntry {
            group: NamedGroup::from(group.code_point()),
            key_exchange: share.public_key().to_vec(),
        }]));
    }
    if let Some(cookie) = cookie {
        extensions.push(ClientExtension::Cookie(cookie.to_vec()));
    }
    if early_data {
        extensions.push(ClientExtension::EarlyData);
    }
    let ticket_suite = ticket.and_then(|t| CipherSuite::from_u16(t.state.cipher_suite));
    let psk = ticket.zip(ticket_suite);
    if let Some((ticket, suite)) = psk {
        extensions.push(psk_offer(p.now, ticket, suite));
    }
    let bytes = encode(p, extensions)?;
    match psk {
        Some((ticket, suite)) => {
            let (bytes, early, transcript) = fill_binder(bytes, ticket, suite, prefix)?;
            Ok(Hello {
                bytes,
                share,
                early: Some(early),
                transcript: Some(transcript),
            })
        }
        None => Ok(Hello {
            bytes,
            share,
            early: None,
            transcript: None,
        }),
    }
}

/// The extensions that do not change across a HelloRetryRequest: server name, groups,
/// signature schemes, application protocols, the TLS 1.2 ones when TLS 1.2 is offered,
/// versions and PSK modes. The one place a client extension is offered.
fn common_extensions(p: &HelloParams<'_>) -> Vec<ClientExtension> {
    let config = p.config;
    // Room for every extension a hello carries, so the list is allocated once.
    let mut extensions = Vec::with_capacity(16);
    if !p.server_name.is_empty() && p.server_name.parse::<std::net::IpAddr>().is_err() {
        extensions.push(ClientExtension::ServerName(vec![ServerNameEntry {
            name_type: 0,
            name: p.server_name.as_bytes().to_vec(),
        }]));
    }
    extensions.push(ClientExtension::SupportedGroups(
        config
            .groups
            .iter()
            .map(|g| NamedGroup::from(g.code_point()))
            .collect(),
    ));
    extensions.push(ClientExtension::SignatureAlgorithms(
        SignatureAlgorithm::ALL
            .iter()
            .filter(|a| config.versions.tls12 || a.allowed_in_tls13())
            .map(|a| SignatureScheme::from(a.code_point()))
            .collect(),
    ));
    if !config.alpn_protocols.is_empty() {
        extensions.push(ClientExtension::Alpn(config.alpn_protocols.clone()));
    }
    let mut versions = Vec::new();
    if config.versions.tls13 {
        versions.push(ProtocolVersion::Tls13);
    }
    if config.versions.tls12 {
        versions.push(ProtocolVersion::Tls12);
        tls12_extensions(config, p.tls12, &mut extensions);
    }
    extensions.push(ClientExtension::SupportedVersions(versions));
    let mode = if config.psk_ke {
        PskKeyExchangeMode::PskKe
    } else {
        PskKeyExchangeMode::PskDheKe
    };
    extensions.push(ClientExtension::PskKeyExchangeModes(vec![mode]));
    extensions
}

/// The TLS 1.2 extensions of the ClientHello (RFC 5746, RFC 7627, RFC 8422, RFC 5077).
fn tls12_extensions(
    config: &ClientConfig,
    session: Option<&ClientTls12Session>,
    extensions: &mut Vec<ClientExtension>,
) {
    extensions.push(ClientExtension::EcPointFormats(vec![0]));
    extensions.push(ClientExtension::ExtendedMasterSecret);
    extensions.push(ClientExtension::RenegotiationInfo(Vec::new()));
    if config.tls12_tickets {
        let ticket = session.and_then(|s| s.ticket.clone()).unwrap_or_default();
        extensions.push(ClientExtension::SessionTicket(ticket));
    }
}

/// The pre_shared_key extension offering `ticket`, its binder a placeholder of the right
/// length (RFC 8446 §4.2.11).
fn psk_offer(now: Timestamp, ticket: &ClientTls13Ticket, suite: CipherSuite) -> ClientExtension {
    // RFC 8446 §4.2.11.1: the ticket's age in milliseconds plus ticket_age_add, mod 2^32.
    let age_ms = now
        .saturating_duration_since(ticket.state.issued_at)
        .as_millis();
    let obfuscated = (age_ms as u32).wrapping_add(ticket.state.ticket_age_add);
    ClientExtension::PreSharedKey(OfferedPsks {
        identities: vec![PskIdentity {
            identity: ticket.ticket.clone(),
            obfuscated_ticket_age: obfuscated,
        }],
        binders: vec![vec![0; suite.hash().output_len()]],
    })
}

/// Encodes the ClientHello: the suites of each version offered, and `extensions`.
fn encode(p: &HelloParams<'_>, extensions: Vec<ClientExtension>) -> Result<Vec<u8>, Error> {
    let config = p.config;
    let mut suites: Vec<enums::CipherSuite> = config
        .suites
        .iter()
        .filter(|_| config.versions.tls13)
        .map(|s| enums::CipherSuite::from(*s))
        .collect();
    if config.versions.tls12 {
        suites.extend(
            config
                .tls12_suites
                .iter()
                .map(|s| enums::CipherSuite::from(*s)),
        );
    }
    let payload = HandshakePayload::ClientHello(ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: p.random,
        session_id: p.session_id.to_vec(),
        cipher_suites: suites,
        compression_methods: vec![0],
        extensions,
        empty_extensions_block: false,
    });
    Ok(HandshakeMessage { payload }.encode()?)
}

/// Computes the binder of the one PSK offered over `prefix` and the encoded hello up to its
/// binders, and writes it over the placeholder. Returns the hello, the PSK's Early Secret and
/// the transcript through the whole hello (the part before the binders hashed once).
fn fill_binder(
    mut bytes: Vec<u8>,
    ticket: &ClientTls13Ticket,
    suite: CipherSuite,
    prefix: Option<&Transcript>,
) -> Result<(Vec<u8>, EarlySecret, Transcript), Error> {
    let hash = suite.hash();
    let early = KeySchedule::with_psk(hash, ticket.state.resumption_psk.expose_secret());
    // The binders list is last: a u16 length, then one u8-prefixed binder.
    let binder_len = hash.output_len();
    let cut = bytes.len() - (2 + 1 + binder_len);
    let mut transcript = match prefix {
        Some(t) => t.clone(),
        None => Transcript::new(hash),
    };
    transcript.add(&bytes[..cut]);
    let binder = early
        .binder_key(BinderKind::Resumption)
        .binder(transcript.current().as_ref())?;
    let at = bytes.len() - binder_len;
    bytes[at..].copy_from_slice(binder.as_ref());
    transcript.add(&bytes[cut..]);
    Ok((bytes, early, transcript))
}

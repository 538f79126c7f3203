//! Building the client's ClientHello, with the PSK binder computed over the hello's own
//! truncated encoding (RFC 8446 §4.1.2, §4.2.11.2).

use crate::config::ClientConfig;
use crate::conn::{Message, Transcript};
use crate::crypto::kx::{KeyShare, KxGroup};
use crate::crypto::sign::SignatureAlgorithm;
use crate::error::Error;
use crate::kdf::tls13::{BinderKind, CipherSuite, EarlySecret, KeySchedule};
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::{self, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme};
use crate::msgs::extensions::{
    ClientExtension, KeyShareEntry, OfferedPsks, PskIdentity, ServerNameEntry,
};
use crate::msgs::handshake::HandshakePayload;
use crate::store::{ClientTls12Session, ClientTls13Ticket};
use crate::time::Timestamp;

/// What one ClientHello offered.
pub(super) struct Hello {
    /// The encoded message, binders filled in.
    pub(super) bytes: Vec<u8>,
    /// The private half of the key share sent (none when TLS 1.3 is not offered: TLS 1.2 makes
    /// its ECDHE share only after the ServerKeyExchange).
    pub(super) share: Option<KeyShare>,
    /// The Early Secret of the PSK offered, if one was.
    pub(super) early: Option<EarlySecret>,
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
    let mut extensions = Vec::new();
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
    let mut versions = Vec::new();
    if config.versions.tls13 {
        versions.push(ProtocolVersion::Tls13);
    }
    if config.versions.tls12 {
        versions.push(ProtocolVersion::Tls12);
        super::tls12::hello_extensions(config, p.tls12, &mut extensions);
    }
    extensions.push(ClientExtension::SupportedVersions(versions));
    let mode = if config.psk_ke {
        PskKeyExchangeMode::PskKe
    } else {
        PskKeyExchangeMode::PskDheKe
    };
    extensions.push(ClientExtension::PskKeyExchangeModes(vec![mode]));
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
        // RFC 8446 §4.2.11.1: the ticket's age in milliseconds plus ticket_age_add, mod 2^32.
        let age_ms = p
            .now
            .saturating_duration_since(ticket.state.issued_at)
            .as_millis();
        let obfuscated = (age_ms as u32).wrapping_add(ticket.state.ticket_age_add);
        extensions.push(ClientExtension::PreSharedKey(OfferedPsks {
            identities: vec![PskIdentity {
                identity: ticket.ticket.clone(),
                obfuscated_ticket_age: obfuscated,
            }],
            // A placeholder of the right length, replaced once the prefix is known.
            binders: vec![vec![0; suite.hash().output_len()]],
        }));
    }
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
    let hello = Message::encode(HandshakePayload::ClientHello(ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: p.random,
        session_id: p.session_id.to_vec(),
        cipher_suites: suites,
        compression_methods: vec![0],
        extensions,
        empty_extensions_block: false,
    }))?;
    let mut bytes = hello.bytes;
    let early = match psk {
        Some((ticket, suite)) => {
            let hash = suite.hash();
            let early = KeySchedule::with_psk(hash, ticket.state.resumption_psk.expose_secret());
            // The binders list is last: a u16 length, then one u8-prefixed binder.
            let binder_len = hash.output_len();
            let cut = bytes.len() - (2 + 1 + binder_len);
            let transcript_hash = match prefix {
                Some(t) => t.hash_with(&bytes[..cut]),
                None => Transcript::new(hash).hash_with(&bytes[..cut]),
            };
            let binder = early
                .binder_key(BinderKind::Resumption)
                .binder(transcript_hash.as_ref())?;
            let at = bytes.len() - binder_len;
            bytes[at..].copy_from_slice(binder.as_ref());
            Some(early)
        }
        None => None,
    };
    Ok(Hello {
        bytes,
        share,
        early,
    })
}

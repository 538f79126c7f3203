//! The version-neutral start of the server: the ClientHello decoded once, with its exact bytes
//! and the slice a PSK binder covers; the protocol version chosen from it; and the extension
//! negotiation both versions share (server name, groups, signature schemes, application
//! protocol). Each half then
//! takes the parsed hello and answers it.

use std::sync::Arc;

use crate::config::ServerConfig;
use crate::config::TlsVersion;
use crate::config::VirtualHost;
use crate::conn::core::Core;
use crate::crypto::kx::KxGroup;
use crate::crypto::sign::SignatureAlgorithm;
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::msgs::client_hello::{binder_prefix_of, ClientHello};
use crate::msgs::enums::{CipherSuite, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::ClientExtension;
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload, Version};

/// A ClientHello as received: decoded once, its bytes kept for the transcript and binders.
pub(super) struct Hello {
    pub(super) hello: ClientHello,
    pub(super) bytes: Vec<u8>,
    /// The host name the client asked for, read once.
    pub(super) server_name: Option<String>,
}

impl Hello {
    /// Decodes a handshake message that must be a ClientHello. `version` picks the forms of
    /// the messages that differ between versions (the ClientHello does not): the first
    /// flight is read as TLS 1.2, the second ClientHello after a HelloRetryRequest as 1.3.
    ///
    /// # Errors
    /// The decoding error, or `unexpected_message` for any other message.
    pub(super) fn decode(bytes: Vec<u8>, version: Version) -> Result<Self, Error> {
        // The type first: another message is unexpected whether or not its body would decode
        // as a ClientHello (RFC 8446 §4).
        if bytes.first().copied() != Some(u8::from(HandshakeType::ClientHello)) {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        }
        let decoded = HandshakeMessage::decode(&bytes, version)?;
        let HandshakePayload::ClientHello(hello) = decoded.payload else {
            return Err(PeerMisbehaved::UnexpectedMessage.into());
        };
        let server_name = hello.server_name();
        Ok(Self {
            hello,
            bytes,
            server_name,
        })
    }

    /// The bytes a PSK binder covers (RFC 8446 §4.2.11.2): the message up to its binders.
    pub(super) fn binder_prefix(&self) -> Option<&[u8]> {
        binder_prefix_of(&self.hello, &self.bytes)
    }

    /// The versions in supported_versions, if the extension is present.
    pub(super) fn supported_versions(&self) -> Option<&[ProtocolVersion]> {
        match self.hello.extension(ExtensionType::SupportedVersions) {
            Some(ClientExtension::SupportedVersions(v)) => Some(v),
            _ => None,
        }
    }

    /// Whether the client offers TLS 1.3 (in supported_versions, RFC 8446 §4.2.1).
    pub(super) fn offers_tls13(&self) -> bool {
        self.supported_versions()
            .is_some_and(|v| v.contains(&ProtocolVersion::Tls13))
    }

    /// The groups of supported_groups, if present.
    pub(super) fn groups(&self) -> Option<&[NamedGroup]> {
        match self.hello.extension(ExtensionType::SupportedGroups) {
            Some(ClientExtension::SupportedGroups(g)) => Some(g),
            _ => None,
        }
    }

    /// The wire codes of signature_algorithms, if present.
    pub(super) fn signature_schemes(&self) -> Option<Vec<u16>> {
        match self.hello.extension(ExtensionType::SignatureAlgorithms) {
            Some(ClientExtension::SignatureAlgorithms(s)) => {
                Some(s.iter().map(|s| u16::from(*s)).collect())
            }
            _ => None,
        }
    }

    /// The protocols of application_layer_protocol_negotiation, if present.
    pub(super) fn alpn_protocols(&self) -> Option<&[Vec<u8>]> {
        match self.hello.extension(ExtensionType::Alpn) {
            Some(ClientExtension::Alpn(p)) => Some(p),
            _ => None,
        }
    }

    /// Whether the server answers in middlebox compatibility mode: the client sent a
    /// non-empty legacy_session_id, so one dummy change_cipher_spec follows the server's
    /// first handshake message, ServerHello or HelloRetryRequest (RFC 8446 §D.4).
    pub(super) fn wants_compat_ccs(&self) -> bool {
        !self.hello.session_id.is_empty()
    }

    /// Whether the client sent an extension of this type.
    pub(super) fn has(&self, typ: ExtensionType) -> bool {
        self.hello.extension(typ).is_some()
    }
}

/// The host this ClientHello is served by: the virtual host of its server name (RFC 6066
/// §3), else the default. Resolved once, here; the halves get its certificate, key, tickets
/// and session cache and nothing else of the other hosts.
pub(super) fn resolve_host(config: &ServerConfig, hello: &Hello) -> Arc<VirtualHost> {
    config.resolve_host(hello.server_name.as_deref()).clone()
}

/// A stateless-retry server takes a dummy change_cipher_spec before a ClientHello it has not
/// seen (`ServerConnection::new`), as that hello may answer another connection's
/// HelloRetryRequest (RFC 8446 §D.4). Only such a hello, `retried` with a valid cookie, may
/// follow one: before any other first ClientHello it is unexpected (RFC 8446 §5).
///
/// # Errors
/// `unexpected_message` for a change_cipher_spec before a first ClientHello not `retried`.
pub(super) fn check_change_cipher_spec_before_hello(
    core: &Core,
    retried: bool,
) -> Result<(), Error> {
    if !retried && core.change_cipher_specs_received() > 0 {
        return Err(PeerMisbehaved::UnexpectedMessage.into());
    }
    Ok(())
}

/// The version this ClientHello gets: TLS 1.3 when both sides have it, else TLS 1.2 when
/// both have that (RFC 8446 §4.2.1, RFC 5246 §E.1); then TLS_FALLBACK_SCSV (RFC 7507 §3).
///
/// # Errors
/// [`PeerIncompatible::NoCommonVersion`] (`protocol_version`),
/// [`PeerIncompatible::InappropriateFallback`].
pub(super) fn choose_version(config: &ServerConfig, hello: &Hello) -> Result<TlsVersion, Error> {
    // RFC 8446 §D.5: a ClientHello.legacy_version of 0x0300 or less is protocol_version,
    // whatever supported_versions offers.
    if u16::from(hello.hello.legacy_version) <= 0x0300 {
        return Err(PeerIncompatible::NoCommonVersion.into());
    }
    let version = common_version(config, hello)?;
    // Only a version both sides have can be a fallback (RFC 7507 §3).
    check_fallback(config, hello)?;
    Ok(version)
}

/// The highest version both sides enable.
fn common_version(config: &ServerConfig, hello: &Hello) -> Result<TlsVersion, Error> {
    if config.versions.tls13 && hello.offers_tls13() {
        return Ok(TlsVersion::Tls13);
    }
    let offers12 = match hello.supported_versions() {
        Some(v) => v.contains(&ProtocolVersion::Tls12),
        None => u16::from(hello.hello.legacy_version) >= u16::from(ProtocolVersion::Tls12),
    };
    if config.versions.tls12 && offers12 {
        return Ok(TlsVersion::Tls12);
    }
    Err(PeerIncompatible::NoCommonVersion.into())
}

/// RFC 7507 §3: a ClientHello with TLS_FALLBACK_SCSV whose highest version is below the
/// server's highest is a downgrade (a client retrying after a failed connection, or an
/// attacker provoking that): `inappropriate_fallback`.
///
/// # Errors
/// [`PeerIncompatible::InappropriateFallback`].
fn check_fallback(config: &ServerConfig, hello: &Hello) -> Result<(), Error> {
    let scsv = u16::from(CipherSuite::FallbackScsv);
    if !hello
        .hello
        .cipher_suites
        .iter()
        .any(|s| u16::from(*s) == scsv)
    {
        return Ok(());
    }
    // The client's highest version: the largest of supported_versions (GREASE and
    // unknown values above TLS 1.3 left out), else legacy_version, which says at most
    // TLS 1.2 (RFC 8446 §4.2.1: without supported_versions, TLS 1.3 is not offered).
    let tls13 = u16::from(ProtocolVersion::Tls13);
    let client_max = match hello.supported_versions() {
        Some(v) => v
            .iter()
            .map(|v| u16::from(*v))
            .filter(|&v| v <= tls13)
            .max()
            .unwrap_or(0),
        None => u16::from(hello.hello.legacy_version).min(u16::from(ProtocolVersion::Tls12)),
    };
    let server_max = if config.versions.tls13 {
        ProtocolVersion::Tls13
    } else {
        ProtocolVersion::Tls12
    };
    if client_max < u16::from(server_max) {
        return Err(PeerIncompatible::InappropriateFallback.into());
    }
    Ok(())
}

/// The server's most preferred group among `client_groups`.
///
/// # Errors
/// [`PeerIncompatible::NoCommonGroup`].
pub(super) fn choose_group(
    config: &ServerConfig,
    client_groups: &[NamedGroup],
) -> Result<KxGroup, Error> {
    config
        .groups
        .iter()
        .copied()
        .find(|g| client_groups.contains(&NamedGroup::from(g.code_point())))
        .ok_or_else(|| PeerIncompatible::NoCommonGroup.into())
}

/// The signature scheme for the host's key among those the client offers. TLS 1.3 requires
/// signature_algorithms (RFC 8446 §4.2.3); in TLS 1.2 its absence implies SHA-1
/// (RFC 5246 §7.4.1.4.1), which this server never signs with.
///
/// # Errors
/// `missing_extension` for a TLS 1.3 hello without the extension;
/// [`PeerIncompatible::NoCommonSignatureScheme`] when nothing fits.
pub(super) fn choose_scheme(
    host: &VirtualHost,
    hello: &Hello,
    tls13: bool,
) -> Result<SignatureAlgorithm, Error> {
    let offered = match hello.signature_schemes() {
        Some(offered) => offered,
        None if tls13 => {
            return Err(PeerMisbehaved::MissingExtension("signature_algorithms").into())
        }
        None => Vec::new(),
    };
    host.key
        .choose(&offered, tls13)
        .ok_or_else(|| PeerIncompatible::NoCommonSignatureScheme.into())
}

/// The application protocol (RFC 7301 §3.2): the server's most preferred one among those the
/// client offers; `None` when either side lists none. Malformed lists (empty, or with an
/// empty name) never get here: decoding refuses them with `decode_error` (§3.1).
///
/// # Errors
/// [`PeerIncompatible::NoApplicationProtocol`] (`no_application_protocol`) when both list
/// protocols and none is common.
pub(super) fn choose_alpn(config: &ServerConfig, hello: &Hello) -> Result<Option<Vec<u8>>, Error> {
    let Some(offered) = hello.alpn_protocols() else {
        return Ok(None);
    };
    if config.alpn_protocols.is_empty() {
        return Ok(None);
    }
    config
        .alpn_protocols
        .iter()
        .find(|p| offered.contains(p))
        .map(|p| Some(p.clone()))
        .ok_or_else(|| PeerIncompatible::NoApplicationProtocol.into())
}

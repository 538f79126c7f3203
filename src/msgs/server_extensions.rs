//! Extensions a server sends: in a ServerHello (both versions), a HelloRetryRequest, TLS 1.3
//! EncryptedExtensions, and a TLS 1.3 NewSessionTicket.
//!
//! The same type code has different bodies in different messages (key_share is an entry in a
//! ServerHello, a bare group in a HelloRetryRequest), so each block is decoded in its
//! [`ServerContext`]. A recognised extension in a message that may not carry it is
//! `illegal_parameter` (RFC 8446 §4.2).

use super::enums::{ExtensionType, NamedGroup, ProtocolVersion};
use super::extensions::{encode_alpn, read_alpn, KeyShareEntry};
use super::{read_all, read_raw_extension, Codec, RawExtension, SeenExtensions};
use crate::codec::{InvalidMessage, Reader, Writer};

/// Which message an extension block belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerContext {
    /// A ServerHello of either version (the TLS 1.2 extensions and the three TLS 1.3 ones).
    ServerHello,
    /// A HelloRetryRequest (RFC 8446 §4.1.4).
    HelloRetryRequest,
    /// TLS 1.3 EncryptedExtensions (RFC 8446 §4.3.1).
    EncryptedExtensions,
    /// A TLS 1.3 NewSessionTicket (RFC 8446 §4.6.1).
    NewSessionTicket,
}

impl ServerContext {
    /// Whether a recognised extension type may appear in this message (RFC 8446 §4.2's table
    /// for TLS 1.3, RFC 5246/5077/5746/7627/8422 for the TLS 1.2 ServerHello).
    fn allows(self, typ: ExtensionType) -> bool {
        use ExtensionType as T;
        match self {
            Self::ServerHello => matches!(
                typ,
                T::ServerName
                    | T::EcPointFormats
                    | T::Alpn
                    | T::ExtendedMasterSecret
                    | T::SessionTicket
                    | T::RenegotiationInfo
                    | T::KeyShare
                    | T::PreSharedKey
                    | T::SupportedVersions
            ),
            Self::HelloRetryRequest => {
                matches!(typ, T::KeyShare | T::Cookie | T::SupportedVersions)
            }
            Self::EncryptedExtensions => matches!(
                typ,
                T::ServerName | T::SupportedGroups | T::Alpn | T::EarlyData
            ),
            Self::NewSessionTicket => matches!(typ, T::EarlyData),
        }
    }
}

/// An extension sent by a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServerExtension {
    /// server_name, empty: the server used the name (RFC 6066 §3).
    ServerName,
    /// supported_groups in EncryptedExtensions (RFC 8446 §4.2.7).
    SupportedGroups(Vec<NamedGroup>),
    /// ec_point_formats (RFC 8422 §5.1.2).
    EcPointFormats(Vec<u8>),
    /// ALPN: the one protocol selected, sent as a list of one (RFC 7301 §3.1).
    Alpn(Vec<u8>),
    /// extended_master_secret, empty (RFC 7627 §5.1).
    ExtendedMasterSecret,
    /// session_ticket, empty: a NewSessionTicket will follow (RFC 5077 §3.2).
    SessionTicket,
    /// renegotiation_info (RFC 5746 §3.2).
    RenegotiationInfo(Vec<u8>),
    /// key_share of a ServerHello: the server's share (RFC 8446 §4.2.8).
    KeyShare(KeyShareEntry),
    /// key_share of a HelloRetryRequest: the group the client should use.
    KeyShareRetry(NamedGroup),
    /// pre_shared_key of a ServerHello: the index of the PSK selected (RFC 8446 §4.2.11).
    PreSharedKey(u16),
    /// supported_versions of a ServerHello or HelloRetryRequest: the version selected.
    SupportedVersions(ProtocolVersion),
    /// cookie of a HelloRetryRequest (RFC 8446 §4.2.2).
    Cookie(Vec<u8>),
    /// early_data: empty in EncryptedExtensions (accepted).
    EarlyData,
    /// early_data in a NewSessionTicket: `uint32 max_early_data_size` (RFC 8446 §4.2.10).
    MaxEarlyDataSize(u32),
    /// Any other extension, kept as sent.
    Unknown(RawExtension),
}

impl ServerExtension {
    /// The extension's type.
    pub(crate) fn typ(&self) -> ExtensionType {
        use ExtensionType as T;
        match self {
            Self::ServerName => T::ServerName,
            Self::SupportedGroups(_) => T::SupportedGroups,
            Self::EcPointFormats(_) => T::EcPointFormats,
            Self::Alpn(_) => T::Alpn,
            Self::ExtendedMasterSecret => T::ExtendedMasterSecret,
            Self::SessionTicket => T::SessionTicket,
            Self::RenegotiationInfo(_) => T::RenegotiationInfo,
            Self::KeyShare(_) | Self::KeyShareRetry(_) => T::KeyShare,
            Self::PreSharedKey(_) => T::PreSharedKey,
            Self::SupportedVersions(_) => T::SupportedVersions,
            Self::Cookie(_) => T::Cookie,
            Self::EarlyData | Self::MaxEarlyDataSize(_) => T::EarlyData,
            Self::Unknown(raw) => T::from(raw.typ),
        }
    }

    /// Writes the extension, type and length included.
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.typ().encode(w);
        w.u16_prefixed_with(|w| match self {
            Self::ServerName | Self::ExtendedMasterSecret | Self::SessionTicket => Ok(()),
            Self::EarlyData => Ok(()),
            Self::SupportedGroups(groups) => {
                w.u16_prefixed(|w| groups.iter().for_each(|g| g.encode(w)))
            }
            Self::EcPointFormats(formats) => w.u8_prefixed_bytes(formats),
            Self::Alpn(protocol) => encode_alpn(w, core::slice::from_ref(protocol)),
            Self::RenegotiationInfo(info) => w.u8_prefixed_bytes(info),
            Self::KeyShare(entry) => entry.encode(w),
            Self::KeyShareRetry(group) => {
                group.encode(w);
                Ok(())
            }
            Self::PreSharedKey(index) => {
                w.u16(*index);
                Ok(())
            }
            Self::SupportedVersions(version) => {
                version.encode(w);
                Ok(())
            }
            Self::Cookie(cookie) => w.u16_prefixed_bytes(cookie),
            Self::MaxEarlyDataSize(size) => {
                w.u32(*size);
                Ok(())
            }
            Self::Unknown(raw) => {
                w.bytes(&raw.body);
                Ok(())
            }
        })
    }

    /// Reads one extension in `context`.
    pub(crate) fn read(r: &mut Reader<'_>, context: ServerContext) -> Result<Self, InvalidMessage> {
        let (typ, mut body) = read_raw_extension(r)?;
        let known = ExtensionType::from(typ);
        if !matches!(known, ExtensionType::Unknown(_)) && !context.allows(known) {
            return Err(InvalidMessage::ExtensionNotAllowed(typ));
        }
        let b = &mut body;
        let ext = match known {
            ExtensionType::ServerName => Self::ServerName,
            ExtensionType::SupportedGroups => {
                let mut list = b.sub_u16_nonempty("named_group_list")?;
                Self::SupportedGroups(read_all(&mut list, NamedGroup::read)?)
            }
            ExtensionType::EcPointFormats => {
                Self::EcPointFormats(b.sub_u8_nonempty("ec_point_format_list")?.rest().to_vec())
            }
            ExtensionType::Alpn => {
                let mut protocols = read_alpn(b)?;
                // RFC 7301 §3.1: the server's list "MUST contain exactly one" protocol.
                if protocols.len() != 1 {
                    return Err(InvalidMessage::LengthOutOfRange {
                        what: "selected ALPN protocol list",
                        len: protocols.len(),
                    });
                }
                Self::Alpn(protocols.remove(0))
            }
            ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
            ExtensionType::SessionTicket => Self::SessionTicket,
            ExtensionType::RenegotiationInfo => {
                Self::RenegotiationInfo(b.u8_prefixed("renegotiated_connection")?.to_vec())
            }
            ExtensionType::KeyShare if context == ServerContext::HelloRetryRequest => {
                Self::KeyShareRetry(NamedGroup::read(b)?)
            }
            ExtensionType::KeyShare => Self::KeyShare(KeyShareEntry::read(b)?),
            ExtensionType::PreSharedKey => Self::PreSharedKey(b.u16("selected_identity")?),
            ExtensionType::SupportedVersions => Self::SupportedVersions(ProtocolVersion::read(b)?),
            ExtensionType::Cookie => Self::Cookie(b.sub_u16_nonempty("cookie")?.rest().to_vec()),
            ExtensionType::EarlyData if context == ServerContext::NewSessionTicket => {
                Self::MaxEarlyDataSize(b.u32("max_early_data_size")?)
            }
            ExtensionType::EarlyData => Self::EarlyData,
            // Recognised types a server never sends are refused by `allows` above.
            ExtensionType::SignatureAlgorithms
            | ExtensionType::PskKeyExchangeModes
            | ExtensionType::Unknown(_) => Self::Unknown(RawExtension {
                typ,
                body: b.take_rest().to_vec(),
            }),
        };
        body.expect_empty("extension data")?;
        Ok(ext)
    }
}

/// Reads an extension block (`Extension extensions<0..2^16-1>`) in `context`, rejecting
/// duplicates (RFC 8446 §4.2).
pub(crate) fn read_server_extensions(
    r: &mut Reader<'_>,
    context: ServerContext,
) -> Result<Vec<ServerExtension>, InvalidMessage> {
    let mut list = r.sub_u16("extensions")?;
    let mut seen = SeenExtensions::new();
    read_all(&mut list, |r| {
        let ext = ServerExtension::read(r, context)?;
        seen.insert(ext.typ().into())?;
        Ok(ext)
    })
}

/// Writes an extension block.
pub(crate) fn encode_server_extensions(
    w: &mut Writer,
    list: &[ServerExtension],
) -> Result<(), InvalidMessage> {
    w.u16_prefixed_with(|w| list.iter().try_for_each(|e| e.encode(w)))
}

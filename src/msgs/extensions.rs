//! ClientHello extensions (RFC 8446 §4.2 and the RFCs named on each variant), and the item
//! types servers echo back.

use super::enums::{
    ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use super::{read_all, Codec};
use crate::codec::{InvalidMessage, Reader, Writer};

/// One `ServerName` of the `server_name` extension (RFC 6066 §3). Every name type is read as
/// a u16-prefixed opaque, as host_name (0), the only type defined, is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerNameEntry {
    /// `name_type`; 0 is host_name.
    pub(crate) name_type: u8,
    /// `HostName<1..2^16-1>`.
    pub(crate) name: Vec<u8>,
}

/// A `KeyShareEntry` (RFC 8446 §4.2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyShareEntry {
    /// The group of the share.
    pub(crate) group: NamedGroup,
    /// `opaque key_exchange<1..2^16-1>`.
    pub(crate) key_exchange: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.group.encode(w);
        w.u16_prefixed_bytes(&self.key_exchange)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let group = NamedGroup::read(r)?;
        let key_exchange = r.sub_u16_nonempty("key_exchange")?.rest().to_vec();
        Ok(Self {
            group,
            key_exchange,
        })
    }
}

/// A `PskIdentity` (RFC 8446 §4.2.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PskIdentity {
    /// `opaque identity<1..2^16-1>`: for resumption, the ticket.
    pub(crate) identity: Vec<u8>,
    /// The ticket age in milliseconds plus `ticket_age_add`, mod 2^32.
    pub(crate) obfuscated_ticket_age: u32,
}

/// The shortest and longest binder any TLS 1.3 suite produces: SHA-256 and SHA-384 outputs.
pub(crate) const BINDER_LENGTHS: [usize; 2] = [32, 48];

/// `OfferedPsks` (RFC 8446 §4.2.11): identities and binders, equal in number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OfferedPsks {
    /// `PskIdentity identities<7..2^16-1>`.
    pub(crate) identities: Vec<PskIdentity>,
    /// `PskBinderEntry binders<33..2^16-1>`, each `opaque PskBinderEntry<32..255>`.
    pub(crate) binders: Vec<Vec<u8>>,
}

impl OfferedPsks {
    /// The encoded length of the binders list with its u16 prefix: how many bytes at the end
    /// of the ClientHello the binder transcript leaves out (RFC 8446 §4.2.11.2).
    pub(crate) fn binders_encoded_len(&self) -> usize {
        2 + self.binders.iter().map(|b| 1 + b.len()).sum::<usize>()
    }

    pub(crate) fn encode_identities(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u16_prefixed_with(|w| {
            self.identities.iter().try_for_each(|id| {
                w.u16_prefixed_bytes(&id.identity)?;
                w.u32(id.obfuscated_ticket_age);
                Ok(())
            })
        })
    }

    pub(crate) fn encode_binders(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u16_prefixed_with(|w| self.binders.iter().try_for_each(|b| w.u8_prefixed_bytes(b)))
    }
}

impl Codec for OfferedPsks {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.encode_identities(w)?;
        self.encode_binders(w)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let mut ids = r.sub_u16_nonempty("PSK identities")?;
        let identities = read_all(&mut ids, |r| {
            let identity = r.sub_u16_nonempty("PSK identity")?.rest().to_vec();
            let obfuscated_ticket_age = r.u32("obfuscated_ticket_age")?;
            Ok(PskIdentity {
                identity,
                obfuscated_ticket_age,
            })
        })?;
        let mut list = r.sub_u16_nonempty("PSK binders")?;
        let binders = read_all(&mut list, |r| {
            let binder = r.u8_prefixed("PSK binder")?;
            if binder.len() < BINDER_LENGTHS[0] {
                return Err(InvalidMessage::LengthOutOfRange {
                    what: "PSK binder",
                    len: binder.len(),
                });
            }
            if !BINDER_LENGTHS.contains(&binder.len()) {
                return Err(InvalidMessage::PskBinderLength(binder.len()));
            }
            Ok(binder.to_vec())
        })?;
        if identities.len() != binders.len() {
            return Err(InvalidMessage::PskBinderCountMismatch {
                identities: identities.len(),
                binders: binders.len(),
            });
        }
        Ok(Self {
            identities,
            binders,
        })
    }
}

/// An extension of a ClientHello. Extensions of other types are kept raw in
/// [`ClientExtension::Unknown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientExtension {
    /// server_name: `ServerName server_name_list<1..2^16-1>` (RFC 6066 §3).
    ServerName(Vec<ServerNameEntry>),
    /// supported_groups: `NamedGroup named_group_list<2..2^16-1>` (RFC 8446 §4.2.7).
    SupportedGroups(Vec<NamedGroup>),
    /// ec_point_formats: `ECPointFormat ec_point_format_list<1..2^8-1>` (RFC 8422 §5.1.2).
    EcPointFormats(Vec<u8>),
    /// signature_algorithms: `SignatureScheme supported_signature_algorithms<2..2^16-2>`.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// ALPN: `ProtocolName protocol_name_list<2..2^16-1>` (RFC 7301 §3.1).
    Alpn(Vec<Vec<u8>>),
    /// extended_master_secret, empty (RFC 7627 §5.1).
    ExtendedMasterSecret,
    /// session_ticket: empty to ask for a ticket, or the ticket (RFC 5077 §3.2).
    SessionTicket(Vec<u8>),
    /// pre_shared_key (RFC 8446 §4.2.11); must be the last extension.
    PreSharedKey(OfferedPsks),
    /// early_data, empty in a ClientHello (RFC 8446 §4.2.10).
    EarlyData,
    /// supported_versions: `ProtocolVersion versions<2..254>` (RFC 8446 §4.2.1).
    SupportedVersions(Vec<ProtocolVersion>),
    /// cookie: `opaque cookie<1..2^16-1>` (RFC 8446 §4.2.2).
    Cookie(Vec<u8>),
    /// psk_key_exchange_modes: `PskKeyExchangeMode ke_modes<1..255>` (RFC 8446 §4.2.9).
    PskKeyExchangeModes(Vec<PskKeyExchangeMode>),
    /// key_share: `KeyShareEntry client_shares<0..2^16-1>` (RFC 8446 §4.2.8); may be empty
    /// to ask for a HelloRetryRequest.
    KeyShare(Vec<KeyShareEntry>),
    /// renegotiation_info: `opaque renegotiated_connection<0..255>` (RFC 5746 §3.2).
    RenegotiationInfo(Vec<u8>),
    /// Any other extension, kept as sent.
    Unknown(super::RawExtension),
}

impl ClientExtension {
    /// The extension's type.
    pub(crate) fn typ(&self) -> ExtensionType {
        match self {
            Self::ServerName(_) => ExtensionType::ServerName,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::EcPointFormats(_) => ExtensionType::EcPointFormats,
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::Alpn(_) => ExtensionType::Alpn,
            Self::ExtendedMasterSecret => ExtensionType::ExtendedMasterSecret,
            Self::SessionTicket(_) => ExtensionType::SessionTicket,
            Self::PreSharedKey(_) => ExtensionType::PreSharedKey,
            Self::EarlyData => ExtensionType::EarlyData,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::Cookie(_) => ExtensionType::Cookie,
            Self::PskKeyExchangeModes(_) => ExtensionType::PskKeyExchangeModes,
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::RenegotiationInfo(_) => ExtensionType::RenegotiationInfo,
            Self::Unknown(raw) => ExtensionType::from(raw.typ),
        }
    }

    fn encode_body(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        match self {
            Self::ServerName(names) => w.u16_prefixed_with(|w| {
                names.iter().try_for_each(|n| {
                    w.u8(n.name_type);
                    w.u16_prefixed_bytes(&n.name)
                })
            }),
            Self::SupportedGroups(groups) => {
                w.u16_prefixed(|w| groups.iter().for_each(|g| g.encode(w)))
            }
            Self::EcPointFormats(formats) => w.u8_prefixed_bytes(formats),
            Self::SignatureAlgorithms(schemes) => {
                w.u16_prefixed(|w| schemes.iter().for_each(|s| s.encode(w)))
            }
            Self::Alpn(protocols) => encode_alpn(w, protocols),
            Self::ExtendedMasterSecret | Self::EarlyData => Ok(()),
            Self::SessionTicket(ticket) => {
                w.bytes(ticket);
                Ok(())
            }
            Self::PreSharedKey(psks) => psks.encode(w),
            Self::SupportedVersions(versions) => {
                w.u8_prefixed(|w| versions.iter().for_each(|v| v.encode(w)))
            }
            Self::Cookie(cookie) => w.u16_prefixed_bytes(cookie),
            Self::PskKeyExchangeModes(modes) => {
                w.u8_prefixed(|w| modes.iter().for_each(|m| m.encode(w)))
            }
            Self::KeyShare(shares) => {
                w.u16_prefixed_with(|w| shares.iter().try_for_each(|s| s.encode(w)))
            }
            Self::RenegotiationInfo(info) => w.u8_prefixed_bytes(info),
            Self::Unknown(raw) => {
                w.bytes(&raw.body);
                Ok(())
            }
        }
    }

    /// Decodes the body of an extension of type `typ`; `body` must be consumed entirely.
    fn read_body(typ: u16, body: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match ExtensionType::from(typ) {
            ExtensionType::ServerName => {
                let mut list = body.sub_u16_nonempty("server_name_list")?;
                Self::ServerName(read_all(&mut list, |r| {
                    let name_type = r.u8("server name type")?;
                    let name = r.sub_u16_nonempty("server name")?.rest().to_vec();
                    Ok(ServerNameEntry { name_type, name })
                })?)
            }
            ExtensionType::SupportedGroups => {
                let mut list = body.sub_u16_nonempty("named_group_list")?;
                Self::SupportedGroups(read_all(&mut list, NamedGroup::read)?)
            }
            ExtensionType::EcPointFormats => Self::EcPointFormats(
                body.sub_u8_nonempty("ec_point_format_list")?
                    .rest()
                    .to_vec(),
            ),
            ExtensionType::SignatureAlgorithms => {
                let mut list = body.sub_u16_nonempty("supported_signature_algorithms")?;
                Self::SignatureAlgorithms(read_all(&mut list, SignatureScheme::read)?)
            }
            ExtensionType::Alpn => Self::Alpn(read_alpn(body)?),
            ExtensionType::ExtendedMasterSecret => Self::ExtendedMasterSecret,
            ExtensionType::SessionTicket => Self::SessionTicket(body.take_rest().to_vec()),
            ExtensionType::PreSharedKey => Self::PreSharedKey(OfferedPsks::read(body)?),
            ExtensionType::EarlyData => Self::EarlyData,
            ExtensionType::SupportedVersions => {
                let mut list = body.sub_u8_nonempty("supported_versions")?;
                Self::SupportedVersions(read_all(&mut list, ProtocolVersion::read)?)
            }
            ExtensionType::Cookie => Self::Cookie(body.sub_u16_nonempty("cookie")?.rest().to_vec()),
            ExtensionType::PskKeyExchangeModes => {
                let mut list = body.sub_u8_nonempty("ke_modes")?;
                Self::PskKeyExchangeModes(read_all(&mut list, PskKeyExchangeMode::read)?)
            }
            ExtensionType::KeyShare => {
                let mut list = body.sub_u16("client_shares")?;
                Self::KeyShare(read_all(&mut list, KeyShareEntry::read)?)
            }
            ExtensionType::RenegotiationInfo => {
                Self::RenegotiationInfo(body.u8_prefixed("renegotiated_connection")?.to_vec())
            }
            ExtensionType::Unknown(_) => Self::Unknown(super::RawExtension {
                typ,
                body: body.take_rest().to_vec(),
            }),
        })
    }
}

impl Codec for ClientExtension {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.typ().encode(w);
        w.u16_prefixed_with(|w| self.encode_body(w))
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, mut body) = super::read_raw_extension(r)?;
        let ext = Self::read_body(typ, &mut body)?;
        body.expect_empty("extension data")?;
        Ok(ext)
    }
}

/// Reads `ProtocolName protocol_name_list<2..2^16-1>`, each `opaque ProtocolName<1..2^8-1>`
/// (RFC 7301 §3.1).
pub(crate) fn read_alpn(body: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    let mut list = body.sub_u16_nonempty("protocol_name_list")?;
    read_all(&mut list, |r| {
        Ok(r.sub_u8_nonempty("protocol name")?.rest().to_vec())
    })
}

/// Writes `protocol_name_list`.
pub(crate) fn encode_alpn(w: &mut Writer, protocols: &[Vec<u8>]) -> Result<(), InvalidMessage> {
    w.u16_prefixed_with(|w| protocols.iter().try_for_each(|p| w.u8_prefixed_bytes(p)))
}

//! The ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) and the slice of it a PSK binder
//! covers (RFC 8446 §4.2.11.2).

use super::enums::{CipherSuite, ExtensionType, HandshakeType, ProtocolVersion};
use super::extensions::{ClientExtension, OfferedPsks};
use super::{read_all, Codec, SeenExtensions};
use crate::codec::{InvalidMessage, Reader, Writer};

/// `opaque legacy_session_id<0..32>`.
pub(crate) const MAX_SESSION_ID_LEN: usize = 32;

/// Reads `opaque legacy_session_id<0..32>` (also the ServerHello's echo).
pub(crate) fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = r.u8_prefixed("legacy_session_id")?;
    if id.len() > MAX_SESSION_ID_LEN {
        return Err(InvalidMessage::LengthOutOfRange {
            what: "legacy_session_id",
            len: id.len(),
        });
    }
    Ok(id.to_vec())
}

/// A ClientHello body (without the handshake header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientHello {
    /// `legacy_version`: 0x0303 from a TLS 1.3 client, the highest version from a TLS 1.2 one.
    pub(crate) legacy_version: ProtocolVersion,
    /// `Random random`.
    pub(crate) random: [u8; 32],
    /// `opaque legacy_session_id<0..32>`: a TLS 1.2 session ID to resume, or compatibility
    /// bytes.
    pub(crate) session_id: Vec<u8>,
    /// `CipherSuite cipher_suites<2..2^16-2>`.
    pub(crate) cipher_suites: Vec<CipherSuite>,
    /// `opaque legacy_compression_methods<1..2^8-1>`.
    pub(crate) compression_methods: Vec<u8>,
    /// The extensions, in the order sent.
    pub(crate) extensions: Vec<ClientExtension>,
    /// True when an extensions block of length zero was sent. TLS 1.2 allows the block to be
    /// absent or empty (RFC 5246 §7.4.1.2); the two encode differently, so the form is kept.
    pub(crate) empty_extensions_block: bool,
}

impl ClientHello {
    /// The extension of type `typ`, if present.
    pub(crate) fn extension(&self, typ: ExtensionType) -> Option<&ClientExtension> {
        self.extensions.iter().find(|e| e.typ() == typ)
    }

    /// The host name the client asked for (RFC 6066 §3): the first `host_name` entry of
    /// server_name, when it is UTF-8.
    pub(crate) fn server_name(&self) -> Option<String> {
        match self.extension(ExtensionType::ServerName) {
            Some(ClientExtension::ServerName(names)) => names
                .iter()
                .find(|n| n.name_type == 0)
                .and_then(|n| String::from_utf8(n.name.clone()).ok()),
            _ => None,
        }
    }

    /// The offered PSKs, if the last extension is pre_shared_key.
    pub(crate) fn offered_psks(&self) -> Option<&OfferedPsks> {
        match self.extensions.last() {
            Some(ClientExtension::PreSharedKey(psks)) => Some(psks),
            _ => None,
        }
    }
}

impl Codec for ClientHello {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.legacy_version.encode(w);
        w.bytes(&self.random);
        w.u8_prefixed_bytes(&self.session_id)?;
        w.u16_prefixed(|w| self.cipher_suites.iter().for_each(|s| s.encode(w)))?;
        w.u8_prefixed_bytes(&self.compression_methods)?;
        if !self.extensions.is_empty() || self.empty_extensions_block {
            w.u16_prefixed_with(|w| self.extensions.iter().try_for_each(|e| e.encode(w)))?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        let random = r.array("random")?;
        let session_id = read_session_id(r)?;
        let mut suites = r.sub_u16_nonempty("cipher_suites")?;
        let cipher_suites = read_all(&mut suites, CipherSuite::read)?;
        let compression_methods = r
            .sub_u8_nonempty("legacy_compression_methods")?
            .rest()
            .to_vec();
        // RFC 5246 §7.4.1.2: the extensions block may be absent altogether.
        let (extensions, empty_extensions_block) = if r.is_empty() {
            (Vec::new(), false)
        } else {
            let mut list = r.sub_u16("extensions")?;
            let empty = list.is_empty();
            (read_client_extensions(&mut list)?, empty)
        };
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suites,
            compression_methods,
            extensions,
            empty_extensions_block,
        })
    }
}

/// Reads the extensions of a ClientHello: no duplicates (RFC 8446 §4.2), and pre_shared_key,
/// if present, last (RFC 8446 §4.2.11).
fn read_client_extensions(list: &mut Reader<'_>) -> Result<Vec<ClientExtension>, InvalidMessage> {
    let mut seen = SeenExtensions::new();
    let mut psk_seen = false;
    read_all(list, |r| {
        if psk_seen {
            return Err(InvalidMessage::PreSharedKeyNotLast);
        }
        let ext = ClientExtension::read(r)?;
        seen.insert(ext.typ().into())?;
        psk_seen = matches!(ext, ClientExtension::PreSharedKey(_));
        Ok(ext)
    })
}

/// The bytes of a ClientHello handshake message (4-byte header included) that a PSK binder's
/// transcript hash covers: everything up to, and excluding, the binders list — length prefix
/// included in what is left out (RFC 8446 §4.2.11.2). The slice is taken from `message`
/// itself, never re-encoded, so what is hashed is exactly what the peer sent.
///
/// Returns `Ok(None)` for a valid ClientHello without pre_shared_key.
///
/// # Errors
/// Whatever decoding the ClientHello fails with; a message of another type is
/// [`InvalidMessage::UnexpectedHandshakeType`].
pub(crate) fn binder_transcript_prefix(message: &[u8]) -> Result<Option<&[u8]>, InvalidMessage> {
    let mut r = Reader::new(message);
    let typ = HandshakeType::read(&mut r)?;
    if typ != HandshakeType::ClientHello {
        return Err(InvalidMessage::UnexpectedHandshakeType(typ.into()));
    }
    let body = r.u24_prefixed("ClientHello")?;
    r.expect_empty("ClientHello")?;
    let hello = ClientHello::from_bytes(body)?;
    Ok(binder_prefix_of(&hello, message))
}

/// [`binder_transcript_prefix`] for a ClientHello already decoded from `message`: no second
/// decoding. `message` must be the exact bytes `hello` was decoded from.
pub(crate) fn binder_prefix_of<'m>(hello: &ClientHello, message: &'m [u8]) -> Option<&'m [u8]> {
    let psks = hello.offered_psks()?;
    // pre_shared_key is the last extension and the binders its last field, so the binders
    // list ends where the message ends. Decoding checked every length on the way.
    let cut = message.len().checked_sub(psks.binders_encoded_len())?;
    message.get(..cut)
}

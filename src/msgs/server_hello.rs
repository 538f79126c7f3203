//! The ServerHello of both versions and its HelloRetryRequest form (RFC 8446 §4.1.3, §4.1.4;
//! RFC 5246 §7.4.1.3).

use super::client_hello::read_session_id;
use super::enums::{CipherSuite, ExtensionType, ProtocolVersion};
use super::server_extensions::{
    encode_server_extensions, read_server_extensions, ServerContext, ServerExtension,
};
use super::Codec;
use crate::codec::{InvalidMessage, Reader, Writer};

/// The `random` that marks a ServerHello as a HelloRetryRequest: SHA-256 of
/// "HelloRetryRequest" (RFC 8446 §4.1.3).
pub(crate) const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A ServerHello or HelloRetryRequest body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// `legacy_version` (0x0303 from a TLS 1.3 server).
    pub(crate) legacy_version: ProtocolVersion,
    /// `Random random`; [`HELLO_RETRY_REQUEST_RANDOM`] for a HelloRetryRequest.
    pub(crate) random: [u8; 32],
    /// `legacy_session_id_echo<0..32>`, or the TLS 1.2 session ID.
    pub(crate) session_id: Vec<u8>,
    /// The suite selected.
    pub(crate) cipher_suite: CipherSuite,
    /// `legacy_compression_method`.
    pub(crate) compression_method: u8,
    /// The extensions, in the order sent.
    pub(crate) extensions: Vec<ServerExtension>,
    /// True when an extensions block of length zero was sent (TLS 1.2 may omit it).
    pub(crate) empty_extensions_block: bool,
}

impl ServerHello {
    /// True for the HelloRetryRequest form.
    pub(crate) fn is_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }

    /// The extension of type `typ`, if present.
    pub(crate) fn extension(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        self.extensions.iter().find(|e| e.typ() == typ)
    }
}

impl Codec for ServerHello {
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        self.legacy_version.encode(w);
        w.bytes(&self.random);
        w.u8_prefixed_bytes(&self.session_id)?;
        self.cipher_suite.encode(w);
        w.u8(self.compression_method);
        if !self.extensions.is_empty() || self.empty_extensions_block {
            encode_server_extensions(w, &self.extensions)?;
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        let random = r.array("random")?;
        let session_id = read_session_id(r)?;
        let cipher_suite = CipherSuite::read(r)?;
        let compression_method = r.u8("legacy_compression_method")?;
        let context = if random == HELLO_RETRY_REQUEST_RANDOM {
            ServerContext::HelloRetryRequest
        } else {
            ServerContext::ServerHello
        };
        let (extensions, empty_extensions_block) = if r.is_empty() {
            (Vec::new(), false)
        } else {
            let empty = r.rest().get(..2) == Some(&[0, 0]);
            (read_server_extensions(r, context)?, empty)
        };
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
            empty_extensions_block,
        })
    }
}

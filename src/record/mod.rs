//! The record layer: deframing, handshake-message joining and record protection.
//!
//! Bytes from the peer go through a [`Deframer`] (one record at a time, the size limit checked
//! from the header), then, once keys are in place, through [`RecordProtection::open`], and
//! handshake records through a [`HandshakeJoiner`], which reassembles messages split across
//! records and splits records that pack several.

mod deframer;
mod joiner;
mod protect;

pub(crate) use deframer::Deframer;
pub(crate) use joiner::HandshakeJoiner;
pub(crate) use protect::RecordProtection;

use crate::codec::{InvalidMessage, Writer};
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// Bytes of a record header: type (1), legacy_record_version (2), length (2).
pub(crate) const HEADER_LEN: usize = 5;

/// The most plaintext a record may carry: 2^14 bytes (RFC 8446 §5.1, RFC 5246 §6.2.1).
pub(crate) const MAX_PLAINTEXT_LEN: usize = 1 << 14;

/// The most ciphertext a record may carry: 2^14 + 256 bytes (RFC 8446 §5.2). TLS 1.2 allows
/// 2^14 + 2048 (RFC 5246 §6.2.3), but its AEAD suites never need more than 2^14 + 24, so the
/// tighter limit holds for both versions.
pub(crate) const MAX_CIPHERTEXT_LEN: usize = MAX_PLAINTEXT_LEN + 256;

/// One record as it travels: plaintext before keys are in place, ciphertext after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The (outer) content type.
    pub(crate) typ: ContentType,
    /// `legacy_record_version`, kept as received because TLS 1.2 and TLS 1.3 both
    /// authenticate the header bytes.
    pub(crate) version: ProtocolVersion,
    /// The fragment.
    pub(crate) payload: Vec<u8>,
}

impl Record {
    /// The record's bytes, header included.
    ///
    /// # Errors
    /// [`InvalidMessage::TooLongToEncode`] for a payload over 2^16 - 1 bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, InvalidMessage> {
        let mut w = Writer::with_capacity(HEADER_LEN + self.payload.len());
        self.typ.encode(&mut w);
        self.version.encode(&mut w);
        w.u16_prefixed_bytes(&self.payload)?;
        Ok(w.into_vec())
    }
}

/// A record after protection was removed: the true content type and the plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlainMessage {
    /// The content type (for TLS 1.3, the inner one).
    pub(crate) typ: ContentType,
    /// The plaintext.
    pub(crate) payload: Vec<u8>,
}

#[cfg(test)]
mod tests;

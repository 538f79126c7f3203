//! Reassembles handshake messages from handshake records (RFC 8446 §5.1): a message may span
//! several records, and a record may carry several messages.

use super::MAX_PLAINTEXT_LEN;
use crate::codec::InvalidMessage;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::handshake::HANDSHAKE_HEADER_LEN;

/// The default limit on one handshake message: 64 KiB, room for a long certificate chain.
pub(crate) const DEFAULT_MAX_HANDSHAKE_MESSAGE_LEN: usize = 64 * 1024;

/// The largest ClientHello body the wire format allows (RFC 8446 §4.1.2): legacy_version,
/// random, a 32-byte session ID, up to 2^16-2 bytes of cipher suites, up to 255 compression
/// methods and up to 2^16-1 bytes of extensions, with their length prefixes. A ClientHello
/// may be this long whatever the limit for other messages (tlsfuzzer's, and real clients'
/// long lists of signature schemes or padding, pass 64 KiB).
pub(crate) const MAX_CLIENT_HELLO_LEN: usize =
    2 + 32 + (1 + 32) + (2 + 0xfffe) + (1 + 0xff) + (2 + 0xffff);

/// Joins handshake record payloads into whole messages (header included, as the transcript
/// hash needs them).
///
/// A message longer than the configured maximum (for a ClientHello, at least
/// [`MAX_CLIENT_HELLO_LEN`]) is refused as soon as its 4-byte header is
/// complete, so its body is never buffered; at most one maximum-size message plus one record
/// is ever held.
#[derive(Debug)]
pub(crate) struct HandshakeJoiner {
    buf: Vec<u8>,
    max_message_len: usize,
}

impl Default for HandshakeJoiner {
    fn default() -> Self {
        Self::new()
    }
}

impl HandshakeJoiner {
    /// A joiner with the default limit, [`DEFAULT_MAX_HANDSHAKE_MESSAGE_LEN`].
    pub(crate) fn new() -> Self {
        Self::with_max_message_len(DEFAULT_MAX_HANDSHAKE_MESSAGE_LEN)
    }

    /// A joiner refusing messages whose body is over `max_message_len` bytes.
    pub(crate) fn with_max_message_len(max_message_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_message_len,
        }
    }

    /// True when no partial message is held. RFC 8446 §5.1: handshake messages must not span
    /// a key change, so the connection checks this before switching keys.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Adds the payload of one handshake record. On error nothing is kept from `fragment`.
    ///
    /// # Errors
    /// [`InvalidMessage::EmptyFragment`] for a zero-length record (RFC 8446 §5.1),
    /// [`InvalidMessage::RecordOverflow`] for a payload over 2^14 bytes, and
    /// [`InvalidMessage::HandshakeMessageTooLarge`] for a message header announcing more than
    /// the maximum ([`InvalidMessage::LengthOutOfRange`] for a ClientHello longer than any can
    /// be, [`MAX_CLIENT_HELLO_LEN`]).
    pub(crate) fn push(&mut self, fragment: &[u8]) -> Result<(), InvalidMessage> {
        if fragment.is_empty() {
            return Err(InvalidMessage::EmptyFragment(ContentType::Handshake.into()));
        }
        if fragment.len() > MAX_PLAINTEXT_LEN {
            return Err(InvalidMessage::RecordOverflow {
                len: fragment.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let before = self.buf.len();
        self.buf.extend_from_slice(fragment);
        if let Err(e) = self.check_headers() {
            self.buf.truncate(before);
            return Err(e);
        }
        Ok(())
    }

    /// Checks the length in every complete header buffered. Each step moves past one header,
    /// so the walk ends after at most `buf.len() / 4` steps.
    fn check_headers(&self) -> Result<(), InvalidMessage> {
        let mut pos = 0;
        while let Some(header) = self.buf.get(pos..pos + HANDSHAKE_HEADER_LEN) {
            let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
            let client_hello = header[0] == u8::from(HandshakeType::ClientHello);
            if client_hello && len > MAX_CLIENT_HELLO_LEN {
                // No ClientHello is this long: a malformed message (RFC 8446 §6).
                return Err(InvalidMessage::LengthOutOfRange {
                    what: "ClientHello",
                    len,
                });
            }
            let max = if client_hello {
                self.max_message_len.max(MAX_CLIENT_HELLO_LEN)
            } else {
                self.max_message_len
            };
            if len > max {
                return Err(InvalidMessage::HandshakeMessageTooLarge { len, max });
            }
            pos += HANDSHAKE_HEADER_LEN + len;
        }
        Ok(())
    }

    /// The next whole message, header included, or `None` until more records arrive.
    pub(crate) fn pop(&mut self) -> Option<Vec<u8>> {
        let header = self.buf.get(..HANDSHAKE_HEADER_LEN)?;
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let total = HANDSHAKE_HEADER_LEN + len;
        if self.buf.len() < total {
            return None;
        }
        let rest = self.buf.split_off(total);
        Some(core::mem::replace(&mut self.buf, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(typ: u8, len: usize) -> Vec<u8> {
        let mut m = vec![typ];
        m.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        m.extend((0..len).map(|i| i as u8));
        m
    }

    #[test]
    fn a_message_split_over_records_is_joined() {
        let m = message(11, 40_000);
        let mut j = HandshakeJoiner::new();
        for chunk in m.chunks(MAX_PLAINTEXT_LEN) {
            assert_eq!(j.pop(), None);
            j.push(chunk).unwrap();
        }
        assert_eq!(j.pop(), Some(m));
        assert!(j.is_empty());
    }

    #[test]
    fn messages_packed_into_one_record_are_split() {
        let (a, b, c) = (message(2, 5), message(8, 0), message(20, 32));
        let mut record = a.clone();
        record.extend_from_slice(&b);
        record.extend_from_slice(&c[..10]);
        let mut j = HandshakeJoiner::new();
        j.push(&record).unwrap();
        assert_eq!(j.pop(), Some(a));
        assert_eq!(j.pop(), Some(b));
        assert_eq!(j.pop(), None);
        assert!(!j.is_empty());
        j.push(&c[10..]).unwrap();
        assert_eq!(j.pop(), Some(c));
    }

    #[test]
    fn an_oversized_message_is_refused_from_its_header_alone() {
        let mut j = HandshakeJoiner::with_max_message_len(1000);
        j.push(&message(11, 1000)).unwrap();
        assert_eq!(j.pop().map(|m| m.len()), Some(1004));
        // A u24 length of 0xFFFFFF: refused with four bytes buffered, not 16 MiB.
        let err = j.push(&[11, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(
            err,
            InvalidMessage::HandshakeMessageTooLarge {
                len: 0xff_ffff,
                max: 1000
            }
        );
        assert!(j.is_empty(), "nothing of the refused record is kept");
        // The header may itself arrive split.
        j.push(&[11, 0x00]).unwrap();
        assert!(j.push(&[0x03, 0xe9]).is_err());
    }

    #[test]
    fn the_default_limit_is_64_kib() {
        let mut j = HandshakeJoiner::new();
        j.push(&[11, 0x01, 0x00, 0x00]).unwrap();
        let mut j = HandshakeJoiner::new();
        assert!(j.push(&[11, 0x01, 0x00, 0x01]).is_err());
    }

    #[test]
    fn a_client_hello_may_be_as_long_as_its_wire_format_allows_and_no_longer() {
        let header = |len: usize| {
            let mut h = vec![1];
            h.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
            h
        };
        let mut j = HandshakeJoiner::new();
        j.push(&header(MAX_CLIENT_HELLO_LEN)).unwrap();
        let mut j = HandshakeJoiner::new();
        // Longer than any ClientHello can be: malformed, decode_error (RFC 8446 §6), where a
        // message over the configured limit is refused with illegal_parameter.
        let err = j.push(&header(MAX_CLIENT_HELLO_LEN + 1)).unwrap_err();
        assert_eq!(err.alert(), crate::alert::AlertDescription::DecodeError);
        // A tighter configured limit does not shrink it below that.
        let mut j = HandshakeJoiner::with_max_message_len(1000);
        j.push(&header(MAX_CLIENT_HELLO_LEN)).unwrap();
    }

    #[test]
    fn empty_and_oversized_fragments_are_refused() {
        let mut j = HandshakeJoiner::new();
        assert_eq!(j.push(&[]), Err(InvalidMessage::EmptyFragment(22)));
        let err = j.push(&vec![0; MAX_PLAINTEXT_LEN + 1]).unwrap_err();
        assert_eq!(err.alert(), crate::alert::AlertDescription::RecordOverflow);
    }
}

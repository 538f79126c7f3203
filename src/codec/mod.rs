//! Byte-level reading and writing of TLS structures (RFC 8446 §3).
//!
//! [`Reader`] never reads past its end, checks every length prefix against what remains before
//! anything is allocated, and [`Reader::expect_empty`] rejects trailing bytes. [`Writer`] writes
//! u8/u16/u24 length-prefixed blocks by back-patching the length, so callers never compute a
//! length by hand.

mod error;

pub use error::InvalidMessage;

/// Reads TLS structures from a borrowed buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Fails with [`InvalidMessage::TrailingBytes`] unless everything was read.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), InvalidMessage> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(InvalidMessage::TrailingBytes(what))
        }
    }

    /// The next `len` bytes.
    pub fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        if len > self.remaining() {
            return Err(InvalidMessage::Truncated(what));
        }
        let out = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], InvalidMessage> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// All unread bytes.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, InvalidMessage> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, InvalidMessage> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian 24-bit integer.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        let b: [u8; 3] = self.array(what)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// A big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, InvalidMessage> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// The body of an `opaque x<0..2^8-1>`: a u8 length, then that many bytes.
    pub fn u8_prefixed(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = usize::from(self.u8(what)?);
        self.take(len, what)
    }

    /// The body of an `opaque x<0..2^16-1>`.
    pub fn u16_prefixed(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = usize::from(self.u16(what)?);
        self.take(len, what)
    }

    /// The body of an `opaque x<0..2^24-1>`.
    pub fn u24_prefixed(&mut self, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        let len = self.u24(what)? as usize;
        self.take(len, what)
    }

    /// A sub-reader over a u8-prefixed block (for lists: the list is bounded by its prefix).
    pub fn sub_u8(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        self.u8_prefixed(what).map(Reader::new)
    }

    /// A sub-reader over a u16-prefixed block.
    pub fn sub_u16(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        self.u16_prefixed(what).map(Reader::new)
    }

    /// A sub-reader over a u24-prefixed block.
    pub fn sub_u24(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        self.u24_prefixed(what).map(Reader::new)
    }

    /// A sub-reader over a u8-prefixed list the RFC declares non-empty (`<1..2^8-1>`).
    ///
    /// # Errors
    /// [`InvalidMessage::EmptyList`] for a zero length, as well as the errors of
    /// [`Self::sub_u8`].
    pub fn sub_u8_nonempty(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        non_empty(self.sub_u8(what)?, what)
    }

    /// A sub-reader over a u16-prefixed list the RFC declares non-empty.
    pub fn sub_u16_nonempty(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        non_empty(self.sub_u16(what)?, what)
    }

    /// A sub-reader over a u24-prefixed list the RFC declares non-empty.
    pub fn sub_u24_nonempty(&mut self, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        non_empty(self.sub_u24(what)?, what)
    }
}

fn non_empty<'a>(r: Reader<'a>, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
    if r.is_empty() {
        Err(InvalidMessage::EmptyList(what))
    } else {
        Ok(r)
    }
}

/// Writes TLS structures into a growing buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// The bytes written.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian 24-bit integer; the top byte of `v` must be zero.
    #[cfg(test)]
    pub fn u24(&mut self, v: u32) {
        debug_assert!(v < 1 << 24);
        self.bytes(&v.to_be_bytes()[1..]);
    }

    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// `opaque x<0..2^8-1>` from bytes.
    pub fn u8_prefixed_bytes(&mut self, bytes: &[u8]) -> Result<(), InvalidMessage> {
        self.u8_prefixed(|w| w.bytes(bytes))
    }

    /// `opaque x<0..2^16-1>` from bytes.
    pub fn u16_prefixed_bytes(&mut self, bytes: &[u8]) -> Result<(), InvalidMessage> {
        self.u16_prefixed(|w| w.bytes(bytes))
    }

    /// `opaque x<0..2^24-1>` from bytes.
    pub fn u24_prefixed_bytes(&mut self, bytes: &[u8]) -> Result<(), InvalidMessage> {
        self.u24_prefixed(|w| w.bytes(bytes))
    }

    /// A block with a u8 length prefix; `body` writes the contents.
    ///
    /// # Errors
    /// [`InvalidMessage::TooLongToEncode`] when the body does not fit the prefix.
    pub fn u8_prefixed(&mut self, body: impl FnOnce(&mut Self)) -> Result<(), InvalidMessage> {
        self.prefixed(1, body)
    }

    /// A block with a u16 length prefix.
    pub fn u16_prefixed(&mut self, body: impl FnOnce(&mut Self)) -> Result<(), InvalidMessage> {
        self.prefixed(2, body)
    }

    /// A block with a u24 length prefix.
    pub fn u24_prefixed(&mut self, body: impl FnOnce(&mut Self)) -> Result<(), InvalidMessage> {
        self.prefixed(3, body)
    }

    /// A block with a u16 length prefix whose body may itself fail to encode (a nested block
    /// too long for its own prefix); the first error wins and nothing of the block is kept.
    pub fn u16_prefixed_with(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), InvalidMessage>,
    ) -> Result<(), InvalidMessage> {
        self.try_prefixed(2, body)
    }

    /// A block with a u24 length prefix whose body may fail, as [`Self::u16_prefixed_with`].
    pub fn u24_prefixed_with(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), InvalidMessage>,
    ) -> Result<(), InvalidMessage> {
        self.try_prefixed(3, body)
    }

    fn prefixed(
        &mut self,
        width: usize,
        body: impl FnOnce(&mut Self),
    ) -> Result<(), InvalidMessage> {
        self.try_prefixed(width, |w| {
            body(w);
            Ok(())
        })
    }

    fn try_prefixed(
        &mut self,
        width: usize,
        body: impl FnOnce(&mut Self) -> Result<(), InvalidMessage>,
    ) -> Result<(), InvalidMessage> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 4][..width]);
        if let Err(e) = body(self) {
            self.buf.truncate(start);
            return Err(e);
        }
        let len = self.buf.len() - start - width;
        if len >= 1 << (8 * width) {
            self.buf.truncate(start);
            return Err(InvalidMessage::TooLongToEncode);
        }
        let be = (len as u32).to_be_bytes();
        self.buf[start..start + width].copy_from_slice(&be[4 - width..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_blocks_round_trip() {
        let mut w = Writer::new();
        w.u8_prefixed_bytes(b"ab").unwrap();
        w.u16_prefixed(|w| w.u24(0x010203)).unwrap();
        w.u24_prefixed_bytes(b"xyz").unwrap();
        w.u64(7);
        let bytes = w.into_vec();
        assert_eq!(
            bytes,
            [2, b'a', b'b', 0, 3, 1, 2, 3, 0, 0, 3, b'x', b'y', b'z', 0, 0, 0, 0, 0, 0, 0, 7]
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8_prefixed("a").unwrap(), b"ab");
        let mut sub = r.sub_u16("b").unwrap();
        assert_eq!(sub.u24("c").unwrap(), 0x010203);
        sub.expect_empty("b").unwrap();
        assert_eq!(r.u24_prefixed("d").unwrap(), b"xyz");
        assert_eq!(r.u64("e").unwrap(), 7);
        r.expect_empty("all").unwrap();
    }

    #[test]
    fn lengths_are_checked_before_use() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 1]);
        assert_eq!(r.u24_prefixed("x"), Err(InvalidMessage::Truncated("x")));
        let r = Reader::new(&[1]);
        assert_eq!(r.expect_empty("y"), Err(InvalidMessage::TrailingBytes("y")));
    }

    #[test]
    fn a_body_too_long_for_its_prefix_is_refused() {
        let mut w = Writer::new();
        assert_eq!(
            w.u8_prefixed_bytes(&[0u8; 256]),
            Err(InvalidMessage::TooLongToEncode)
        );
        assert!(w.is_empty());
    }

    #[test]
    fn a_failing_nested_block_leaves_nothing_behind() {
        let mut w = Writer::new();
        w.u8(9);
        let r = w.u16_prefixed_with(|w| {
            w.u8(1);
            w.u8_prefixed_bytes(&[0u8; 300])
        });
        assert_eq!(r, Err(InvalidMessage::TooLongToEncode));
        assert_eq!(w.as_slice(), [9]);
    }

    #[test]
    fn empty_lists_declared_non_empty_are_refused() {
        let mut r = Reader::new(&[0, 0, 1, 7]);
        assert_eq!(
            r.sub_u16_nonempty("l").map(|r| r.remaining()),
            Err(InvalidMessage::EmptyList("l"))
        );
        assert_eq!(r.sub_u8_nonempty("m").unwrap().rest(), [7]);
        assert_eq!(
            Reader::new(&[0, 0, 0])
                .sub_u24_nonempty("n")
                .map(|r| r.remaining()),
            Err(InvalidMessage::EmptyList("n"))
        );
    }
}

//! Typed handshake messages and extensions for TLS 1.2 and 1.3.
//!
//! Every decoder here is strict: lengths are checked against what remains before anything is
//! allocated, no structure may leave trailing bytes, and the RFC 8446 rules that can be checked
//! from one message alone (no duplicate extensions, `pre_shared_key` last, as many binders as
//! identities, non-empty lists where the syntax says `<1..>`) are enforced with a typed
//! [`InvalidMessage`]. Because decoding is strict and extensions of unknown types are kept raw,
//! re-encoding a decoded message gives back the exact bytes it came from.

pub(crate) mod alert;
pub(crate) mod certificate;
pub(crate) mod client_hello;
pub(crate) mod enums;
pub(crate) mod extensions;
pub(crate) mod handshake;
pub(crate) mod key_exchange;
pub(crate) mod server_extensions;
pub(crate) mod server_hello;
pub(crate) mod ticket;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use crate::codec::{InvalidMessage, Reader, Writer};

/// A wire structure that decodes from and encodes to its exact TLS bytes.
pub(crate) trait Codec: Sized {
    /// Appends the encoding.
    ///
    /// # Errors
    /// [`InvalidMessage::TooLongToEncode`] when a field does not fit its length prefix.
    fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage>;

    /// Reads one value from the front of `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;

    /// The encoding as a new buffer.
    fn to_bytes(&self) -> Result<Vec<u8>, InvalidMessage> {
        let mut w = Writer::new();
        self.encode(&mut w)?;
        Ok(w.into_vec())
    }

    /// Decodes exactly `bytes`: trailing bytes are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let value = Self::read(&mut r)?;
        r.expect_empty(core::any::type_name::<Self>())?;
        Ok(value)
    }
}

/// Which extension types a block has carried so far (RFC 8446 §4.2: "There MUST NOT be more
/// than one extension of the same type"). The first [`SeenExtensions::INLINE`] types are kept
/// in a small inline list, which covers every honest block without allocating; a block with
/// more moves to a bitmap over all 2^16 types, so the duplicate check costs the same for the
/// last of 16 000 extensions as for the first.
pub(crate) struct SeenExtensions {
    inline: [u16; Self::INLINE],
    len: usize,
    bitmap: Option<Box<[u64; 1024]>>,
}

impl SeenExtensions {
    /// How many types are checked by a scan of the inline list before the bitmap takes over.
    const INLINE: usize = 24;

    pub(crate) fn new() -> Self {
        Self {
            inline: [0; Self::INLINE],
            len: 0,
            bitmap: None,
        }
    }

    /// Records `typ`, failing if it was seen before.
    pub(crate) fn insert(&mut self, typ: u16) -> Result<(), InvalidMessage> {
        if self.bitmap.is_none() {
            if self.inline[..self.len].contains(&typ) {
                return Err(InvalidMessage::DuplicateExtension(typ));
            }
            if self.len < Self::INLINE {
                self.inline[self.len] = typ;
                self.len += 1;
                return Ok(());
            }
            let mut bits = Box::new([0u64; 1024]);
            for seen in self.inline {
                set_bit(&mut bits, seen);
            }
            self.bitmap = Some(bits);
        }
        let fresh = self.bitmap.as_mut().is_some_and(|bits| set_bit(bits, typ));
        if !fresh {
            return Err(InvalidMessage::DuplicateExtension(typ));
        }
        Ok(())
    }
}

/// Sets `typ`'s bit; false when it was already set.
fn set_bit(bits: &mut [u64; 1024], typ: u16) -> bool {
    let (word, bit) = (usize::from(typ / 64), typ % 64);
    let fresh = bits[word] & (1 << bit) == 0;
    bits[word] |= 1 << bit;
    fresh
}

/// Reads a list of items until `r` is exhausted. The list's length prefix bounds the loop, so
/// it ends after at most `r.remaining()` iterations (each item reads at least one byte). The
/// first allocation has room for up to 16 items, never more than the bytes left could hold.
pub(crate) fn read_all<T>(
    r: &mut Reader<'_>,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T, InvalidMessage>,
) -> Result<Vec<T>, InvalidMessage> {
    let mut out = Vec::with_capacity(r.remaining().min(16));
    while !r.is_empty() {
        out.push(item(r)?);
    }
    Ok(out)
}

/// Reads an unknown or raw extension body as `(type, body)`.
pub(crate) fn read_raw_extension<'a>(
    r: &mut Reader<'a>,
) -> Result<(u16, Reader<'a>), InvalidMessage> {
    let typ = r.u16("extension type")?;
    let body = r.sub_u16("extension data")?;
    Ok((typ, body))
}

/// An extension kept as the bytes it arrived as: every type this crate does not decode, so a
/// message re-encodes byte for byte whatever a peer put in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawExtension {
    /// The extension type.
    pub(crate) typ: u16,
    /// The `extension_data` bytes.
    pub(crate) body: Vec<u8>,
}

impl RawExtension {
    pub(crate) fn encode(&self, w: &mut Writer) -> Result<(), InvalidMessage> {
        w.u16(self.typ);
        w.u16_prefixed_bytes(&self.body)
    }
}

/// Reads an extension block (`Extension extensions<0..2^16-1>`) of raw extensions, rejecting
/// duplicates. Used where no extension is decoded (TLS 1.3 CertificateEntry).
pub(crate) fn read_raw_extensions(r: &mut Reader<'_>) -> Result<Vec<RawExtension>, InvalidMessage> {
    let mut list = r.sub_u16("extensions")?;
    let mut seen = SeenExtensions::new();
    read_all(&mut list, |r| {
        let (typ, body) = read_raw_extension(r)?;
        seen.insert(typ)?;
        Ok(RawExtension {
            typ,
            body: body.rest().to_vec(),
        })
    })
}

/// Writes a list of raw extensions inside its u16 length prefix.
pub(crate) fn encode_raw_extensions(
    w: &mut Writer,
    list: &[RawExtension],
) -> Result<(), InvalidMessage> {
    w.u16_prefixed_with(|w| list.iter().try_for_each(|e| e.encode(w)))
}

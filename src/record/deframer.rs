//! Cuts a byte stream into records (RFC 8446 §5.1).

use super::{Record, HEADER_LEN, MAX_CIPHERTEXT_LEN};
use crate::codec::{InvalidMessage, Reader};
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// The most bytes the deframer holds: two whole records of the largest size, so a record can
/// always complete while the next one starts arriving.
pub(crate) const MAX_BUFFERED: usize = 2 * (HEADER_LEN + MAX_CIPHERTEXT_LEN);

/// Splits incoming bytes into records. Its memory is bounded by [`MAX_BUFFERED`]: it takes
/// only what fits and the caller offers the rest again once records were popped. Errors are
/// sticky: after one, every call reports it again.
#[derive(Debug, Default)]
pub(crate) struct Deframer {
    buf: Vec<u8>,
    failed: Option<InvalidMessage>,
}

impl Deframer {
    /// An empty deframer.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes as many bytes of `data` as fit and returns how many it took.
    pub(crate) fn push(&mut self, data: &[u8]) -> usize {
        let room = MAX_BUFFERED.saturating_sub(self.buf.len());
        let taken = room.min(data.len());
        self.buf.extend_from_slice(&data[..taken]);
        taken
    }

    // The TLS 1.2 handshake checks it at ChangeCipherSpec.
    #[allow(dead_code)]
    /// True when no partial record is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next complete record, `Ok(None)` when more bytes are needed.
    ///
    /// # Errors
    /// [`InvalidMessage::UnknownContentType`] (unexpected_message, RFC 8446 §5) and
    /// [`InvalidMessage::RecordOverflow`] (record_overflow, RFC 8446 §5.2) — both decided from
    /// the header alone, before the body is waited for.
    pub(crate) fn pop(&mut self) -> Result<Option<Record>, InvalidMessage> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.next_record() {
            Err(e) => {
                self.buf = Vec::new();
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn next_record(&mut self) -> Result<Option<Record>, InvalidMessage> {
        let mut r = Reader::new(&self.buf);
        let Ok(header) = r.take(HEADER_LEN, "record header") else {
            return Ok(None);
        };
        let mut h = Reader::new(header);
        let typ = ContentType::read(&mut h)?;
        if let ContentType::Unknown(t) = typ {
            return Err(InvalidMessage::UnknownContentType(t));
        }
        let version = ProtocolVersion::read(&mut h)?;
        let len = usize::from(h.u16("record length")?);
        if len > MAX_CIPHERTEXT_LEN {
            return Err(InvalidMessage::RecordOverflow {
                len,
                max: MAX_CIPHERTEXT_LEN,
            });
        }
        let Ok(payload) = r.take(len, "record") else {
            return Ok(None);
        };
        let record = Record {
            typ,
            version,
            payload: payload.to_vec(),
        };
        self.buf.drain(..HEADER_LEN + len);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u8, len: usize) -> Vec<u8> {
        let mut out = vec![typ, 3, 3];
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend(std::iter::repeat_n(0xab, len));
        out
    }

    #[test]
    fn records_arriving_byte_by_byte_come_out_whole() {
        let mut stream = record(22, 3);
        stream.extend(record(23, 0));
        let mut d = Deframer::new();
        let mut out = Vec::new();
        for b in &stream {
            assert_eq!(d.push(core::slice::from_ref(b)), 1);
            while let Some(r) = d.pop().unwrap() {
                out.push(r);
            }
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].typ, ContentType::Handshake);
        assert_eq!(out[0].payload, [0xab; 3]);
        assert_eq!(out[1].typ, ContentType::ApplicationData);
        assert!(d.is_empty());
    }

    #[test]
    fn record_of_the_maximum_length_is_accepted_and_one_byte_more_overflows() {
        let mut d = Deframer::new();
        d.push(&record(23, MAX_CIPHERTEXT_LEN));
        assert_eq!(d.pop().unwrap().unwrap().payload.len(), MAX_CIPHERTEXT_LEN);
        let mut d = Deframer::new();
        // Only the header: the overflow is reported before the body arrives.
        d.push(&record(23, MAX_CIPHERTEXT_LEN + 1)[..HEADER_LEN]);
        let err = d.pop().unwrap_err();
        assert_eq!(
            err,
            InvalidMessage::RecordOverflow {
                len: MAX_CIPHERTEXT_LEN + 1,
                max: MAX_CIPHERTEXT_LEN
            }
        );
        assert_eq!(err.alert(), crate::alert::AlertDescription::RecordOverflow);
        assert_eq!(d.pop(), Err(err), "errors are sticky");
    }

    #[test]
    fn unknown_content_type_is_unexpected_message() {
        let mut d = Deframer::new();
        d.push(&record(24, 1));
        let err = d.pop().unwrap_err();
        assert_eq!(err, InvalidMessage::UnknownContentType(24));
        assert_eq!(
            err.alert(),
            crate::alert::AlertDescription::UnexpectedMessage
        );
    }

    #[test]
    fn the_buffer_never_grows_past_its_bound() {
        let mut d = Deframer::new();
        let garbage = vec![0x17u8; 16 << 20];
        let taken = d.push(&garbage);
        assert_eq!(taken, MAX_BUFFERED);
        assert_eq!(d.push(&garbage), 0);
        assert!(d.buf.capacity() <= 2 * MAX_BUFFERED);
    }
}

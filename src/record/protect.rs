//! Record protection with AEADs: TLS 1.3 (RFC 8446 §5.2–§5.4) and TLS 1.2 AEAD suites
//! (RFC 5246 §6.2.3.3 with RFC 5288 for AES-GCM and RFC 7905 for ChaCha20-Poly1305).

use super::{PlainMessage, Record, HEADER_LEN, MAX_CIPHERTEXT_LEN, MAX_PLAINTEXT_LEN};
use crate::codec::{InvalidMessage, Writer};
use crate::crypto::aead::{xor_nonce, AeadAlgorithm, AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretArray;
use crate::crypto::CryptoError;
use crate::error::Error;
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// TLS 1.2 AES-GCM's implicit part of the nonce, the `salt` (RFC 5288 §3).
const GCM_FIXED_IV_LEN: usize = 4;
/// TLS 1.2 AES-GCM's explicit part of the nonce, sent in each record (RFC 5288 §3).
const GCM_EXPLICIT_NONCE_LEN: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Nonce = IV xor sequence number; content type inside the ciphertext.
    Tls13,
    /// Nonce = 4-byte salt ‖ 8-byte explicit nonce carried in the record.
    Tls12Gcm,
    /// Nonce = IV xor sequence number (RFC 7905 §2), nothing explicit.
    Tls12Chacha,
}

/// The protection of one direction of a connection: an AEAD key, its IV, and the sequence
/// number of the next record. A connection holds one for reading and one for writing.
///
/// The IV is derived from a traffic secret: it is zeroized on drop, and `Debug` does not print
/// it (a `SecretArray` prints as redacted).
#[derive(Debug)]
pub(crate) struct RecordProtection {
    key: AeadKey,
    /// For TLS 1.2 AES-GCM only the first four bytes (the salt) are used.
    iv: SecretArray<NONCE_LEN>,
    mode: Mode,
    pub(super) sequence_number: u64,
}

impl RecordProtection {
    /// TLS 1.3 protection from a traffic key and a 12-byte IV (RFC 8446 §7.3).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] for a key or IV of the wrong length.
    pub(crate) fn tls13(alg: AeadAlgorithm, key: &[u8], iv: &[u8]) -> Result<Self, CryptoError> {
        Self::build(alg, key, iv, Mode::Tls13, NONCE_LEN)
    }

    /// TLS 1.2 protection from the key block's write key and write IV: a 4-byte salt for
    /// AES-GCM (RFC 5288 §3), a 12-byte IV for ChaCha20-Poly1305 (RFC 7905 §2).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] for a key or IV of the wrong length.
    pub(crate) fn tls12(alg: AeadAlgorithm, key: &[u8], iv: &[u8]) -> Result<Self, CryptoError> {
        match alg {
            AeadAlgorithm::Aes128Gcm | AeadAlgorithm::Aes256Gcm => {
                Self::build(alg, key, iv, Mode::Tls12Gcm, GCM_FIXED_IV_LEN)
            }
            AeadAlgorithm::ChaCha20Poly1305 => {
                Self::build(alg, key, iv, Mode::Tls12Chacha, NONCE_LEN)
            }
        }
    }

    fn build(
        alg: AeadAlgorithm,
        key: &[u8],
        iv: &[u8],
        mode: Mode,
        iv_len: usize,
    ) -> Result<Self, CryptoError> {
        if iv.len() != iv_len {
            return Err(CryptoError::InvalidLength {
                expected: iv_len,
                got: iv.len(),
            });
        }
        let key = AeadKey::new(alg, key)?;
        let mut padded = SecretArray::<NONCE_LEN>::zeroed();
        padded.expose_secret_mut()[..iv_len].copy_from_slice(iv);
        Ok(Self {
            key,
            iv: padded,
            mode,
            sequence_number: 0,
        })
    }

    // For a KeyUpdate before the sequence number runs out, and for tests.
    #[allow(dead_code)]
    /// The sequence number the next record will use.
    pub(crate) fn sequence_number(&self) -> u64 {
        self.sequence_number
    }

    /// Takes the next sequence number. RFC 8446 §5.3: a sequence number must never wrap; the
    /// connection must rekey or close first, so the last value is refused.
    pub(super) fn next_sequence_number(&mut self) -> Result<u64, Error> {
        let seq = self.sequence_number;
        self.sequence_number = seq.checked_add(1).ok_or(CryptoError::Unspecified)?;
        Ok(seq)
    }

    /// Protects `plaintext` of type `typ` and returns the whole record, header included.
    /// `padding` zero bytes are added inside a TLS 1.3 record (RFC 8446 §5.4) and ignored for
    /// TLS 1.2, which has no padding for AEAD suites.
    ///
    /// # Errors
    /// [`InvalidMessage::TooLongToEncode`] when the plaintext (plus padding) is over the
    /// record limit; a crypto error if sealing fails.
    pub(crate) fn seal(
        &mut self,
        typ: ContentType,
        plaintext: &[u8],
        padding: usize,
    ) -> Result<Vec<u8>, Error> {
        match self.mode {
            Mode::Tls13 => {
                if plaintext.len() + padding > MAX_PLAINTEXT_LEN {
                    return Err(InvalidMessage::TooLongToEncode.into());
                }
                // Built in place after room for the header: one buffer for the whole record.
                let mut record =
                    Vec::with_capacity(HEADER_LEN + plaintext.len() + 1 + padding + TAG_LEN);
                record.resize(HEADER_LEN, 0);
                record.extend_from_slice(plaintext);
                record.push(typ.into());
                record.resize(record.len() + padding, 0);
                self.seal_tls13_record(record)
            }
            Mode::Tls12Gcm | Mode::Tls12Chacha => self.seal_tls12(typ, plaintext),
        }
    }

    /// Seals an already built `TLSInnerPlaintext` (RFC 8446 §5.2) as an application_data
    /// record. Exposed to the crate so the fuzz entry point can make records whose inner
    /// plaintext is malformed.
    pub(crate) fn seal_tls13_inner(&mut self, inner: Vec<u8>) -> Result<Vec<u8>, Error> {
        let mut record = Vec::with_capacity(HEADER_LEN + inner.len() + TAG_LEN);
        record.resize(HEADER_LEN, 0);
        record.extend_from_slice(&inner);
        self.seal_tls13_record(record)
    }

    /// Seals the `TLSInnerPlaintext` that follows `HEADER_LEN` placeholder bytes in `record`:
    /// writes the header over them and appends the tag.
    fn seal_tls13_record(&mut self, mut record: Vec<u8>) -> Result<Vec<u8>, Error> {
        let len = record.len() - HEADER_LEN + TAG_LEN;
        if len > MAX_CIPHERTEXT_LEN {
            return Err(InvalidMessage::TooLongToEncode.into());
        }
        let header = record_header(ContentType::ApplicationData, ProtocolVersion::Tls12, len);
        let seq = self.next_sequence_number()?;
        let nonce = xor_nonce(self.iv.expose_secret(), seq);
        record[..HEADER_LEN].copy_from_slice(&header);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, &header, &mut record[HEADER_LEN..])?;
        record.extend_from_slice(&tag);
        Ok(record)
    }

    fn seal_tls12(&mut self, typ: ContentType, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(InvalidMessage::TooLongToEncode.into());
        }
        let seq = self.next_sequence_number()?;
        let version = ProtocolVersion::Tls12;
        let aad = tls12_aad(seq, typ, version, plaintext.len());
        let (nonce, explicit): (_, &[u8]) = match self.mode {
            Mode::Tls12Gcm => (
                gcm_nonce(self.iv.expose_secret(), seq.to_be_bytes()),
                &seq.to_be_bytes(),
            ),
            _ => (xor_nonce(self.iv.expose_secret(), seq), &[]),
        };
        let len = explicit.len() + plaintext.len() + TAG_LEN;
        let mut out = Vec::with_capacity(HEADER_LEN + len);
        out.extend_from_slice(&record_header(typ, version, len));
        out.extend_from_slice(explicit);
        let body_start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, &aad, &mut out[body_start..])?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Removes the protection of `record`.
    ///
    /// # Errors
    /// - [`CryptoError::DecryptFailed`] (bad_record_mac) when the record does not
    ///   authenticate, including records too short to hold a tag;
    /// - [`InvalidMessage::RecordOverflow`] (record_overflow) for ciphertext over 2^14 + 256
    ///   bytes or plaintext over 2^14 bytes (RFC 8446 §5.2, §5.4; RFC 5246 §6.2.3);
    /// - TLS 1.3: [`InvalidMessage::UnexpectedProtectedType`] for an outer type other than
    ///   application_data or an inner change_cipher_spec, [`InvalidMessage::MissingContentType`]
    ///   for an all-zero inner plaintext, [`InvalidMessage::UnknownContentType`] for an inner
    ///   type TLS does not define (all unexpected_message, RFC 8446 §5, §5.4).
    pub(crate) fn open(&mut self, record: Record) -> Result<PlainMessage, Error> {
        if record.payload.len() > MAX_CIPHERTEXT_LEN {
            return Err(InvalidMessage::RecordOverflow {
                len: record.payload.len(),
                max: MAX_CIPHERTEXT_LEN,
            }
            .into());
        }
        match self.mode {
            Mode::Tls13 => self.open_tls13(record),
            Mode::Tls12Gcm | Mode::Tls12Chacha => self.open_tls12(record),
        }
    }

    fn open_tls13(&mut self, record: Record) -> Result<PlainMessage, Error> {
        if record.typ != ContentType::ApplicationData {
            return Err(InvalidMessage::UnexpectedProtectedType(record.typ.into()).into());
        }
        let header = record_header(record.typ, record.version, record.payload.len());
        let nonce = xor_nonce(self.iv.expose_secret(), self.sequence_number);
        let mut payload = record.payload;
        let len = self.key.open_in_place(nonce, &header, &mut payload)?.len();
        self.next_sequence_number()?;
        payload.truncate(len);
        // RFC 8446 §5.4: TLSInnerPlaintext is at most 2^14 + 1 bytes before padding is removed.
        if payload.len() > MAX_PLAINTEXT_LEN + 1 {
            return Err(InvalidMessage::RecordOverflow {
                len: payload.len(),
                max: MAX_PLAINTEXT_LEN + 1,
            }
            .into());
        }
        let type_at = payload
            .iter()
            .rposition(|&b| b != 0)
            .ok_or(InvalidMessage::MissingContentType)?;
        let typ = ContentType::from(payload[type_at]);
        payload.truncate(type_at);
        match typ {
            ContentType::Handshake | ContentType::Alert | ContentType::ApplicationData => {
                Ok(PlainMessage { typ, payload })
            }
            ContentType::ChangeCipherSpec => {
                Err(InvalidMessage::UnexpectedProtectedType(typ.into()).into())
            }
            ContentType::Unknown(t) => Err(InvalidMessage::UnknownContentType(t).into()),
        }
    }

    fn open_tls12(&mut self, record: Record) -> Result<PlainMessage, Error> {
        let explicit_len = match self.mode {
            Mode::Tls12Gcm => GCM_EXPLICIT_NONCE_LEN,
            _ => 0,
        };
        // Too short to hold the explicit nonce and a tag: it cannot authenticate, and saying
        // so with anything but bad_record_mac would tell an attacker more.
        let Some(plaintext_len) = record.payload.len().checked_sub(explicit_len + TAG_LEN) else {
            return Err(CryptoError::DecryptFailed.into());
        };
        let seq = self.sequence_number;
        let nonce = match self.mode {
            Mode::Tls12Gcm => {
                let mut explicit = [0u8; GCM_EXPLICIT_NONCE_LEN];
                explicit.copy_from_slice(&record.payload[..GCM_EXPLICIT_NONCE_LEN]);
                gcm_nonce(self.iv.expose_secret(), explicit)
            }
            _ => xor_nonce(self.iv.expose_secret(), seq),
        };
        let aad = tls12_aad(seq, record.typ, record.version, plaintext_len);
        let mut payload = record.payload;
        self.key
            .open_in_place(nonce, &aad, &mut payload[explicit_len..])?;
        self.next_sequence_number()?;
        payload.truncate(explicit_len + plaintext_len);
        payload.drain(..explicit_len);
        if payload.len() > MAX_PLAINTEXT_LEN {
            return Err(InvalidMessage::RecordOverflow {
                len: payload.len(),
                max: MAX_PLAINTEXT_LEN,
            }
            .into());
        }
        Ok(PlainMessage {
            typ: record.typ,
            payload,
        })
    }
}

/// A record header; also the additional data of a TLS 1.3 record (RFC 8446 §5.2).
fn record_header(typ: ContentType, version: ProtocolVersion, len: usize) -> [u8; HEADER_LEN] {
    let v = u16::from(version).to_be_bytes();
    // Callers pass lengths already checked against MAX_CIPHERTEXT_LEN, below 2^16.
    let l = (len as u16).to_be_bytes();
    [typ.into(), v[0], v[1], l[0], l[1]]
}

/// TLS 1.2 additional data: `seq_num ‖ type ‖ version ‖ length` (RFC 5246 §6.2.3.3).
fn tls12_aad(seq: u64, typ: ContentType, version: ProtocolVersion, len: usize) -> [u8; 13] {
    let mut w = Writer::with_capacity(13);
    w.u64(seq);
    typ.encode(&mut w);
    version.encode(&mut w);
    w.u16(len as u16);
    let mut aad = [0u8; 13];
    aad.copy_from_slice(w.as_slice());
    aad
}

/// `salt ‖ nonce_explicit` (RFC 5288 §3).
fn gcm_nonce(iv: &[u8; NONCE_LEN], explicit: [u8; GCM_EXPLICIT_NONCE_LEN]) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..GCM_FIXED_IV_LEN].copy_from_slice(&iv[..GCM_FIXED_IV_LEN]);
    nonce[GCM_FIXED_IV_LEN..].copy_from_slice(&explicit);
    nonce
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    /// Key material hygiene: the record IV (the per-direction nonce base) is derived from a
    /// traffic secret; printing it would help an observer of logs predict nonces.
    #[test]
    fn debug_output_of_record_protection_prints_no_iv_bytes() {
        let iv = [0xa7u8; NONCE_LEN];
        let tls13 = RecordProtection::tls13(AeadAlgorithm::Aes128Gcm, &[1; 16], &iv).unwrap();
        let chacha =
            RecordProtection::tls12(AeadAlgorithm::ChaCha20Poly1305, &[2; 32], &iv).unwrap();
        let gcm = RecordProtection::tls12(AeadAlgorithm::Aes128Gcm, &[3; 16], &iv[..4]).unwrap();
        for p in [tls13, chacha, gcm] {
            let shown = format!("{p:?}");
            assert!(!shown.contains("167"), "IV bytes printed: {shown}");
            assert!(!shown.contains("a7"), "IV bytes printed: {shown}");
            assert!(shown.contains("sequence_number"), "{shown}");
        }
    }
}

//! TLS 1.3 key derivation (RFC 8446 §7).
//!
//! Two layers:
//!
//! - free functions that mirror the RFC's formulas one to one, over plain secrets:
//!   [`hkdf_extract`], [`hkdf_expand`], [`hkdf_expand_label`], [`derive_secret`], [`early_secret`],
//!   [`binder_key`], [`psk_binder`], [`verify_psk_binder`], [`resumption_psk`];
//! - the typed key schedule ([`KeySchedule`] → [`EarlySecret`] → [`HandshakeSecret`] →
//!   [`MasterSecret`] → [`ResumptionMasterSecret`]), where each stage is consumed to make the
//!   next, so a handshake cannot reach back to a secret the RFC says it is done with.
//!
//! HKDF here is built on HMAC (RFC 5869 §2) rather than on an opaque HKDF object, because TLS
//! needs the intermediate secrets themselves (for PSKs, key logs and tests against RFC 8448).

mod schedule;

// Public API re-export: users of the key schedule name the suite `kdf::tls13::CipherSuite`
// (this module's docs, examples/key_schedule.rs); the crate itself imports `crate::suites`.
pub use crate::suites::CipherSuite;
pub use schedule::{
    ApplicationSecrets, BinderKey, EarlySecret, FinishedVerified, HandshakeSecret, KeySchedule,
    MasterSecret, ResumptionMasterSecret, TrafficKeys, TrafficSecret, TrafficSecrets,
};

use core::fmt;
use std::sync::OnceLock;

use ring::hmac;

use crate::crypto::secret::{Secret, MAX_INLINE_SECRET};
use crate::crypto::{hmac_key, hmac_sign_parts, CryptoError, HashAlgorithm};
use crate::error::Error;
use crate::error::PeerMisbehaved;

/// Every TLS 1.3 label starts with this (RFC 8446 §7.1).
const LABEL_PREFIX: &[u8] = b"tls13 ";

/// The longest label [`hkdf_expand_label`] accepts without its `"tls13 "` prefix: the
/// `HkdfLabel.label` vector holds at most 255 bytes (RFC 8446 §7.1).
pub const MAX_LABEL_LEN: usize = 255 - LABEL_PREFIX.len();

/// The longest context [`hkdf_expand_label`] accepts (`opaque context<0..255>`, RFC 8446
/// §7.1), which also bounds a ticket nonce (RFC 8446 §4.6.1).
pub const MAX_CONTEXT_LEN: usize = 255;

/// Which PSK a binder is for; the two get different binder keys so a binder for one kind can
/// never pass as the other (RFC 8446 §7.1, §4.2.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinderKind {
    /// A PSK from a NewSessionTicket: label `"res binder"`.
    Resumption,
    /// A PSK provisioned outside TLS: label `"ext binder"`.
    External,
}

impl BinderKind {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Resumption => b"res binder",
            Self::External => b"ext binder",
        }
    }
}

/// An HMAC output sent on the wire: a PSK binder or a TLS 1.3 Finished verify_data. Not a
/// secret (the peer sees it), so it can be read freely; comparisons with a received value go
/// through the constant-time `verify_*` functions, which is why `Tag` has no `PartialEq`.
#[derive(Clone, Copy)]
pub struct Tag {
    buf: [u8; MAX_INLINE_SECRET],
    len: u8,
}

impl Tag {
    fn from_hmac(tag: &hmac::Tag) -> Self {
        let bytes = tag.as_ref();
        let mut buf = [0u8; MAX_INLINE_SECRET];
        buf[..bytes.len()].copy_from_slice(bytes);
        // HMAC outputs are at most 64 bytes (SHA-512), so the length fits.
        Self {
            buf,
            len: bytes.len() as u8,
        }
    }
}

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(")?;
        for b in self.as_ref() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Proof that a PSK binder verified. Only [`verify_psk_binder`] (and
/// [`BinderKey::verify`]) make one, so a step that accepts a PSK can demand it.
#[derive(Debug)]
pub struct BinderVerified(());

/// HKDF-Extract (RFC 5869 §2.2): `HMAC(salt, ikm)`. An empty salt is the same as a salt of
/// hash-length zeros (HMAC pads keys with zeros), as RFC 5869 and RFC 8446 §7.1 intend.
pub fn hkdf_extract(hash: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Secret {
    let key = hmac_key(hash, salt);
    secret_from_tag(&hmac_sign_parts(&key, &[ikm]))
}

/// HKDF-Expand-Label (RFC 8446 §7.1): HKDF-Expand(secret, HkdfLabel, out.len()), where
///
/// ```text
/// struct {
///     uint16 length = out.len();
///     opaque label<7..255> = "tls13 " + label;
///     opaque context<0..255> = context;
/// } HkdfLabel;
/// ```
///
/// The label is fed to HMAC in pieces; nothing is allocated.
///
/// # Errors
/// - [`CryptoError::OutputTooLong`] when `out` is longer than 255 × the hash length (RFC 5869
///   §2.3).
/// - [`CryptoError::InvalidLength`] when `label` is empty or longer than [`MAX_LABEL_LEN`], or
///   `context` is longer than [`MAX_CONTEXT_LEN`].
pub fn hkdf_expand_label(
    hash: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let key = hmac_key(hash, secret);
    expand_label(&key, label, context, out)
}

/// [`hkdf_expand_label`] with the PRK's HMAC key already set up, so several labels expanded
/// from one secret pay for the key setup once.
pub(crate) fn expand_label(
    key: &hmac::Key,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let hash_len = key.algorithm().digest_algorithm().output_len();
    let max = 255 * hash_len;
    if out.len() > max {
        return Err(CryptoError::OutputTooLong {
            requested: out.len(),
            max,
        });
    }
    if label.is_empty() || label.len() > MAX_LABEL_LEN {
        return Err(CryptoError::InvalidLength {
            expected: MAX_LABEL_LEN,
            got: label.len(),
        });
    }
    if context.len() > MAX_CONTEXT_LEN {
        return Err(CryptoError::InvalidLength {
            expected: MAX_CONTEXT_LEN,
            got: context.len(),
        });
    }
    // The HkdfLabel is assembled on the stack: one HMAC update of a few dozen bytes is
    // cheaper than six updates of its pieces. Lengths were checked above: out ≤ 255 × 64 <
    // 2^16, label ≤ 249 and context ≤ 255 bytes.
    let mut info = [0u8; MAX_HKDF_LABEL_LEN];
    let mut at = 0;
    for piece in [
        &(out.len() as u16).to_be_bytes()[..],
        &[(LABEL_PREFIX.len() + label.len()) as u8],
        LABEL_PREFIX,
        label,
        &[context.len() as u8],
        context,
    ] {
        info[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    }
    expand_parts(key, &info[..at], out);
    Ok(())
}

/// The longest encoded HkdfLabel: length (2), label (1 + 255), context (1 + 255).
const MAX_HKDF_LABEL_LEN: usize = 2 + 1 + 255 + 1 + MAX_CONTEXT_LEN;

/// HKDF-Expand (RFC 5869 §2.3): `T(1) ‖ T(2) ‖ …` truncated to `out.len()`, with
/// `T(i) = HMAC(prk, T(i-1) ‖ info ‖ i)` and `T(0)` empty. Unlike [`hkdf_expand_label`], whose
/// label encodes the output length, a shorter output here is a prefix of a longer one.
///
/// # Errors
/// [`CryptoError::OutputTooLong`] when `out` is longer than 255 × the hash length.
pub fn hkdf_expand(
    hash: HashAlgorithm,
    prk: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let max = 255 * hash.output_len();
    if out.len() > max {
        return Err(CryptoError::OutputTooLong {
            requested: out.len(),
            max,
        });
    }
    expand_parts(&hmac_key(hash, prk), info, out);
    Ok(())
}

/// HKDF-Expand. The caller has checked `out.len() ≤ 255 × HashLen`.
fn expand_parts(key: &hmac::Key, info: &[u8], out: &mut [u8]) {
    let hash_len = key.algorithm().digest_algorithm().output_len();
    let mut previous: Option<hmac::Tag> = None;
    for (i, chunk) in out.chunks_mut(hash_len).enumerate() {
        let mut ctx = hmac::Context::with_key(key);
        if let Some(t) = &previous {
            ctx.update(t.as_ref());
        }
        ctx.update(info);
        // At most 255 chunks, checked by the caller; the counter starts at 1.
        ctx.update(&[(i + 1) as u8]);
        let t = ctx.sign();
        chunk.copy_from_slice(&t.as_ref()[..chunk.len()]);
        previous = Some(t);
    }
}

/// A hash-length HKDF-Expand-Label into a [`Secret`].
pub(crate) fn expand_label_secret(
    key: &hmac::Key,
    label: &[u8],
    context: &[u8],
) -> Result<Secret, CryptoError> {
    let mut out = Secret::zeroed(key.algorithm().digest_algorithm().output_len())?;
    expand_label(key, label, context, out.expose_secret_mut())?;
    Ok(out)
}

/// Derive-Secret (RFC 8446 §7.1): `HKDF-Expand-Label(secret, label, transcript_hash,
/// Hash.length)`, where `transcript_hash` is `Transcript-Hash(Messages)`, already computed by
/// the caller (a handshake keeps a running hash, not the messages).
///
/// # Errors
/// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length, or `label` is
/// empty or too long.
pub fn derive_secret(
    hash: HashAlgorithm,
    secret: &[u8],
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<Secret, CryptoError> {
    check_hash_len(hash, transcript_hash)?;
    expand_label_secret(&hmac_key(hash, secret), label, transcript_hash)
}

/// The Early Secret (RFC 8446 §7.1): `HKDF-Extract(0, PSK)`, with a PSK of hash-length zeros
/// when there is none (a full handshake).
pub fn early_secret(hash: HashAlgorithm, psk: Option<&[u8]>) -> Secret {
    let zeros = [0u8; MAX_INLINE_SECRET];
    let ikm = psk.unwrap_or(&zeros[..hash.output_len()]);
    secret_from_tag(&hmac_sign_parts(zero_salt_key(hash), &[ikm]))
}

/// The HMAC key of the all-zero salt, the same for every early secret of a hash: set up once
/// per process rather than once per handshake.
fn zero_salt_key(hash: HashAlgorithm) -> &'static hmac::Key {
    static SHA256: OnceLock<hmac::Key> = OnceLock::new();
    static SHA384: OnceLock<hmac::Key> = OnceLock::new();
    let cell = match hash {
        HashAlgorithm::Sha256 => &SHA256,
        HashAlgorithm::Sha384 => &SHA384,
    };
    cell.get_or_init(|| hmac_key(hash, &[]))
}

/// The binder key (RFC 8446 §7.1): `Derive-Secret(early_secret, "res binder" | "ext binder",
/// "")`.
///
/// # Errors
/// Only if `early_secret` is longer than a [`Secret`] holds, which a value from
/// [`early_secret`] never is.
pub fn binder_key(
    hash: HashAlgorithm,
    early_secret: &Secret,
    kind: BinderKind,
) -> Result<Secret, CryptoError> {
    derive_secret(
        hash,
        early_secret.expose_secret(),
        kind.label(),
        hash.empty_hash(),
    )
}

/// A PSK binder (RFC 8446 §4.2.11): the Finished computation over the binder key,
/// `HMAC(HKDF-Expand-Label(binder_key, "finished", "", Hash.length), transcript_hash)`, with
/// `transcript_hash` the hash of the ClientHello truncated before the binders list (and, after
/// a HelloRetryRequest, the messages before it).
///
/// # Errors
/// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
pub fn psk_binder(
    hash: HashAlgorithm,
    binder_key: &Secret,
    transcript_hash: &[u8],
) -> Result<Tag, CryptoError> {
    finished_mac(
        hash,
        &hmac_key(hash, binder_key.expose_secret()),
        transcript_hash,
    )
}

/// Checks a received binder against [`psk_binder`] in constant time (RFC 8446 §4.2.11).
///
/// # Errors
/// [`PeerMisbehaved::BadPskBinder`] (alert `decrypt_error`) when it does not match;
/// [`CryptoError::InvalidLength`] for a wrong-length `transcript_hash`.
pub fn verify_psk_binder(
    hash: HashAlgorithm,
    binder_key: &Secret,
    transcript_hash: &[u8],
    received: &[u8],
) -> Result<BinderVerified, Error> {
    let expected = psk_binder(hash, binder_key, transcript_hash)?;
    if ct_eq_tag(&expected, received) {
        Ok(BinderVerified(()))
    } else {
        Err(PeerMisbehaved::BadPskBinder.into())
    }
}

/// The PSK of a ticket (RFC 8446 §4.6.1): `HKDF-Expand-Label(resumption_master_secret,
/// "resumption", ticket_nonce, Hash.length)`.
///
/// # Errors
/// [`CryptoError::InvalidLength`] when `ticket_nonce` is over 255 bytes.
pub fn resumption_psk(
    hash: HashAlgorithm,
    resumption_master_secret: &Secret,
    ticket_nonce: &[u8],
) -> Result<Secret, CryptoError> {
    expand_label_secret(
        &hmac_key(hash, resumption_master_secret.expose_secret()),
        b"resumption",
        ticket_nonce,
    )
}

/// `HMAC(finished_key, transcript_hash)` with `finished_key = HKDF-Expand-Label(base_key,
/// "finished", "", Hash.length)`: Finished (RFC 8446 §4.4.4) and binders (§4.2.11) alike.
fn finished_mac(
    hash: HashAlgorithm,
    base_key: &hmac::Key,
    transcript_hash: &[u8],
) -> Result<Tag, CryptoError> {
    check_hash_len(hash, transcript_hash)?;
    let finished_key = expand_label_secret(base_key, b"finished", &[])?;
    let key = hmac_key(hash, finished_key.expose_secret());
    Ok(Tag::from_hmac(&hmac_sign_parts(&key, &[transcript_hash])))
}

fn ct_eq_tag(expected: &Tag, received: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // Lengths are public; the bytes are compared in constant time.
    expected.as_ref().ct_eq(received).into()
}

fn secret_from_tag(tag: &hmac::Tag) -> Secret {
    // An HMAC output is at most 64 bytes, what a `Secret` holds.
    Secret::from_slice(tag.as_ref()).unwrap_or_else(|_| unreachable!())
}

fn check_hash_len(hash: HashAlgorithm, value: &[u8]) -> Result<(), CryptoError> {
    if value.len() == hash.output_len() {
        Ok(())
    } else {
        Err(CryptoError::InvalidLength {
            expected: hash.output_len(),
            got: value.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::AeadAlgorithm;

    #[test]
    fn expand_label_rejects_too_long_output_without_panicking() {
        let mut out = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            hkdf_expand_label(HashAlgorithm::Sha256, &[1; 32], b"key", &[], &mut out),
            Err(CryptoError::OutputTooLong {
                requested: 255 * 32 + 1,
                max: 255 * 32
            })
        );
        out.truncate(255 * 32);
        assert!(hkdf_expand_label(HashAlgorithm::Sha256, &[1; 32], b"key", &[], &mut out).is_ok());
    }

    #[test]
    fn hkdf_expand_rejects_too_long_output_and_fills_the_longest_allowed() {
        let mut out = vec![0u8; 255 * 48 + 1];
        assert!(matches!(
            hkdf_expand(HashAlgorithm::Sha384, &[1; 48], b"info", &mut out),
            Err(CryptoError::OutputTooLong { .. })
        ));
        out.truncate(255 * 48);
        assert!(hkdf_expand(HashAlgorithm::Sha384, &[1; 48], b"info", &mut out).is_ok());
        // The last block is the 255th: a counter that wrapped would repeat the first block.
        assert_ne!(&out[..48], &out[254 * 48..]);
    }

    #[test]
    fn expand_label_rejects_bad_label_and_context_lengths() {
        let mut out = [0u8; 16];
        let h = HashAlgorithm::Sha256;
        assert!(hkdf_expand_label(h, &[1; 32], b"", &[], &mut out).is_err());
        assert!(hkdf_expand_label(h, &[1; 32], &[b'a'; 250], &[], &mut out).is_err());
        assert!(hkdf_expand_label(h, &[1; 32], &[b'a'; 249], &[], &mut out).is_ok());
        assert!(hkdf_expand_label(h, &[1; 32], b"k", &[0; 256], &mut out).is_err());
        assert!(hkdf_expand_label(h, &[1; 32], b"k", &[0; 255], &mut out).is_ok());
    }

    #[test]
    fn expand_label_equals_hkdf_expand_over_the_encoded_label() {
        // Short and longest labels and contexts, one- and multi-block outputs, checked
        // against HKDF-Expand over the HkdfLabel built by hand.
        for (label_len, context_len, out_len) in
            [(7, 32, 32), (12, 48, 48), (13, 48, 16), (249, 255, 100)]
        {
            let label = vec![b'l'; label_len];
            let context = vec![0xc5; context_len];
            let mut info = (out_len as u16).to_be_bytes().to_vec();
            info.push((6 + label_len) as u8);
            info.extend_from_slice(b"tls13 ");
            info.extend_from_slice(&label);
            info.push(context_len as u8);
            info.extend_from_slice(&context);
            let h = HashAlgorithm::Sha384;
            let (mut a, mut b) = (vec![0u8; out_len], vec![0u8; out_len]);
            hkdf_expand_label(h, &[9; 48], &label, &context, &mut a).unwrap();
            hkdf_expand(h, &[9; 48], &info, &mut b).unwrap();
            assert_eq!(a, b, "label {label_len}, context {context_len}");
        }
    }

    #[test]
    fn full_handshake_equals_a_zero_psk_schedule() {
        for h in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
            let zeros = [0u8; 48];
            let shared = [0x42u8; 32];
            let long_way = KeySchedule::with_psk(h, &zeros[..h.output_len()]).psk_dhe_ke(&shared);
            let cached = KeySchedule::full_handshake(h, &shared);
            assert!(long_way.secret().ct_eq(cached.secret()));
        }
    }

    #[test]
    fn suites_map_to_their_hash_and_aead() {
        for code in 0x1301..=0x1303 {
            let suite = CipherSuite::from_u16(code).unwrap();
            assert_eq!(suite.to_u16(), code);
        }
        assert_eq!(CipherSuite::from_u16(0x1304), None);
        assert_eq!(CipherSuite::Aes256GcmSha384.hash(), HashAlgorithm::Sha384);
        assert_eq!(
            CipherSuite::ChaCha20Poly1305Sha256.aead(),
            AeadAlgorithm::ChaCha20Poly1305
        );
    }

    #[test]
    fn binder_verification_accepts_only_the_matching_binder() {
        let h = HashAlgorithm::Sha256;
        let early = early_secret(h, Some(&[7; 32]));
        let res = binder_key(h, &early, BinderKind::Resumption).unwrap();
        let ext = binder_key(h, &early, BinderKind::External).unwrap();
        let th = [1u8; 32];
        let binder = psk_binder(h, &res, &th).unwrap();
        assert!(verify_psk_binder(h, &res, &th, binder.as_ref()).is_ok());
        assert_eq!(
            verify_psk_binder(h, &ext, &th, binder.as_ref()).unwrap_err(),
            Error::from(PeerMisbehaved::BadPskBinder)
        );
        assert!(verify_psk_binder(h, &res, &th, &binder.as_ref()[..31]).is_err());
        assert!(verify_psk_binder(h, &res, &th[..31], binder.as_ref()).is_err());
    }
}

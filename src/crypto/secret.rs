//! Secret newtypes.
//!
//! Every secret this crate derives or stores lives in one of these types. They share four
//! promises:
//!
//! - the bytes are overwritten with zeros when the value is dropped (`zeroize`);
//! - `Debug` prints the type name and length, never the bytes;
//! - there is no `PartialEq`: equality is [`ct_eq`](Secret::ct_eq), which takes the same time
//!   wherever the first difference is (`subtle`);
//! - the bytes are reachable only through a method named `expose_secret`, so every place that
//!   touches key material is easy to find.
//!
//! Three shapes: [`SecretArray`] for fixed-length values (a TLS 1.2 master secret is always 48
//! bytes), [`Secret`] for hash-length values of up to 64 bytes held inline (TLS 1.3 secrets are
//! 32 or 48 bytes depending on the suite's hash, and live on hot paths where an allocation per
//! secret would show), and [`SecretVec`] for anything longer or of arbitrary length (key blocks,
//! pre-master secrets).

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CryptoError;

/// A secret of exactly `N` bytes.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretArray<const N: usize>([u8; N]);

impl<const N: usize> SecretArray<N> {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` in.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `bytes` is not `N` bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; N] = bytes.try_into().map_err(|_| CryptoError::InvalidLength {
            expected: N,
            got: bytes.len(),
        })?;
        Ok(Self(array))
    }

    /// A secret of zeros, to be filled through [`expose_secret_mut`](Self::expose_secret_mut).
    pub fn zeroed() -> Self {
        Self([0u8; N])
    }

    /// The secret's bytes.
    pub fn expose_secret(&self) -> &[u8; N] {
        &self.0
    }

    /// The secret's bytes, writable.
    pub fn expose_secret_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }

    /// Always `N`.
    pub const fn len(&self) -> usize {
        N
    }

    /// True only for `N == 0`.
    pub const fn is_empty(&self) -> bool {
        N == 0
    }

    /// Constant-time equality of the two secrets' bytes.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Constant-time comparison with bytes received from elsewhere (a MAC, a binder). A length
    /// mismatch answers `false` at once: lengths are public.
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        self.0[..].ct_eq(other).into()
    }

    /// A copy. Named rather than `Clone` so each copy of key material is a visible decision.
    pub fn duplicate(&self) -> Self {
        Self(self.0)
    }
}

impl<const N: usize> fmt::Debug for SecretArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretArray<{N}>([redacted])")
    }
}

/// The longest [`Secret`]: enough for SHA-512 outputs, more than any TLS 1.3 suite needs.
pub const MAX_INLINE_SECRET: usize = 64;

/// A secret of up to [`MAX_INLINE_SECRET`] bytes held inline (no allocation): hash-length
/// values such as TLS 1.3 traffic secrets, PSKs and binder keys.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    buf: [u8; MAX_INLINE_SECRET],
    len: u8,
}

impl Secret {
    /// Copies `bytes` in.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `bytes` is longer than [`MAX_INLINE_SECRET`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() > MAX_INLINE_SECRET {
            return Err(CryptoError::InvalidLength {
                expected: MAX_INLINE_SECRET,
                got: bytes.len(),
            });
        }
        let mut buf = [0u8; MAX_INLINE_SECRET];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Self {
            buf,
            len: bytes.len() as u8,
        })
    }

    /// A secret of `len` zero bytes, to be filled through
    /// [`expose_secret_mut`](Self::expose_secret_mut).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `len` is over [`MAX_INLINE_SECRET`].
    pub fn zeroed(len: usize) -> Result<Self, CryptoError> {
        if len > MAX_INLINE_SECRET {
            return Err(CryptoError::InvalidLength {
                expected: MAX_INLINE_SECRET,
                got: len,
            });
        }
        Ok(Self {
            buf: [0u8; MAX_INLINE_SECRET],
            len: len as u8,
        })
    }

    /// The secret's bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The secret's bytes, writable.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..usize::from(self.len)]
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True for a zero-length secret.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Constant-time equality of the two secrets' bytes (different lengths are unequal).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.ct_eq_bytes(other.expose_secret())
    }

    /// Constant-time comparison with bytes received from elsewhere (a MAC, a binder).
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        self.expose_secret().ct_eq(other).into()
    }

    /// A copy. Named rather than `Clone` so each copy of key material is a visible decision.
    pub fn duplicate(&self) -> Self {
        Self {
            buf: self.buf,
            len: self.len,
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(len={}, [redacted])", self.len)
    }
}

/// A secret of any length, on the heap.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretVec(Vec<u8>);

impl SecretVec {
    /// Takes ownership of `bytes`; they are zeroized when this value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes` in.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// `len` zero bytes, to be filled through [`expose_secret_mut`](Self::expose_secret_mut).
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0u8; len])
    }

    /// The secret's bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// The secret's bytes, writable.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a zero-length secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality of the two secrets' bytes (different lengths are unequal).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.ct_eq_bytes(&other.0)
    }

    /// Constant-time comparison with bytes received from elsewhere.
    pub fn ct_eq_bytes(&self, other: &[u8]) -> bool {
        self.0[..].ct_eq(other).into()
    }

    /// A copy. Named rather than `Clone` so each copy of key material is a visible decision.
    pub fn duplicate(&self) -> Self {
        Self(self.0.clone())
    }
}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretVec(len={}, [redacted])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    proptest! {
        #[test]
        fn ct_eq_agrees_with_byte_equality(a in proptest::collection::vec(any::<u8>(), 0..64),
                                           b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let (sa, sb) = (Secret::from_slice(&a).unwrap(), Secret::from_slice(&b).unwrap());
            prop_assert_eq!(sa.ct_eq(&sb), a == b);
            prop_assert!(sa.ct_eq(&sa.duplicate()));
            let (va, vb) = (SecretVec::from_slice(&a), SecretVec::from_slice(&b));
            prop_assert_eq!(va.ct_eq(&vb), a == b);
        }

        #[test]
        fn fixed_ct_eq_agrees_with_byte_equality(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assert_eq!(SecretArray::new(a).ct_eq(&SecretArray::new(b)), a == b);
            prop_assert!(SecretArray::new(a).ct_eq_bytes(&a));
        }

        #[test]
        fn debug_never_shows_the_bytes(a in proptest::collection::vec(any::<u8>(), 4..64)) {
            let shown = [
                format!("{:?}", Secret::from_slice(&a).unwrap()),
                format!("{:?}", SecretVec::from_slice(&a)),
                format!("{:#?}", SecretVec::from_slice(&a)),
            ];
            let as_list = format!("{a:?}");
            for s in shown {
                prop_assert!(!s.contains(&hex(&a)));
                prop_assert!(!s.contains(&as_list));
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        assert!(SecretArray::<48>::from_slice(&[0u8; 47]).is_err());
        assert!(Secret::from_slice(&[0u8; 65]).is_err());
        assert!(Secret::zeroed(65).is_err());
        assert_eq!(Secret::zeroed(48).unwrap().len(), 48);
    }

    #[test]
    fn fixed_debug_is_redacted() {
        let s = SecretArray::new([0xabu8; 16]);
        assert_eq!(format!("{s:?}"), "SecretArray<16>([redacted])");
    }
}

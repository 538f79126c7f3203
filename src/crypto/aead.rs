//! Authenticated encryption: the AEADs TLS 1.2 and 1.3 suites use, and that the ticket sealer
//! uses for session tickets.
//!
//! This is a thin layer over `ring::aead` that takes nonces as plain 12-byte arrays (TLS builds
//! them from an IV and a sequence number, see [`xor_nonce`]) and reports failures as
//! [`CryptoError`].

use core::fmt;

use ring::aead;

use super::CryptoError;

/// Every AEAD here uses a 12-byte nonce.
pub const NONCE_LEN: usize = 12;
/// Every AEAD here appends a 16-byte tag.
pub const TAG_LEN: usize = 16;

/// An AEAD algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeadAlgorithm {
    /// AES-128 in Galois/Counter Mode.
    Aes128Gcm,
    /// AES-256 in Galois/Counter Mode.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    fn ring(self) -> &'static aead::Algorithm {
        match self {
            Self::Aes128Gcm => &aead::AES_128_GCM,
            Self::Aes256Gcm => &aead::AES_256_GCM,
            Self::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// An AEAD key ready for use. The key bytes are held only inside `ring`'s expanded key
/// schedule, which this type never exposes.
pub struct AeadKey {
    key: aead::LessSafeKey,
}

impl AeadKey {
    /// Builds a key.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `key` is not [`AeadAlgorithm::key_len`] bytes.
    pub fn new(algorithm: AeadAlgorithm, key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != algorithm.key_len() {
            return Err(CryptoError::InvalidLength {
                expected: algorithm.key_len(),
                got: key.len(),
            });
        }
        let unbound = aead::UnboundKey::new(algorithm.ring(), key)?;
        Ok(Self {
            key: aead::LessSafeKey::new(unbound),
        })
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> AeadAlgorithm {
        let alg = self.key.algorithm();
        if alg == &aead::AES_128_GCM {
            AeadAlgorithm::Aes128Gcm
        } else if alg == &aead::AES_256_GCM {
            AeadAlgorithm::Aes256Gcm
        } else {
            AeadAlgorithm::ChaCha20Poly1305
        }
    }

    /// Encrypts `in_out` in place and appends the tag.
    ///
    /// # Errors
    /// [`CryptoError::Unspecified`] if the input is longer than the AEAD allows.
    pub fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        self.key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            in_out,
        )?;
        Ok(())
    }

    /// Encrypts `in_out` in place and returns the tag separately (for callers that place the
    /// tag themselves and must not reallocate).
    ///
    /// # Errors
    /// [`CryptoError::Unspecified`] if the input is longer than the AEAD allows.
    pub fn seal_in_place_separate_tag(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let tag = self.key.seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(aad),
            in_out,
        )?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts `in_out` (ciphertext followed by the tag) in place and returns the plaintext,
    /// a prefix of `in_out`.
    ///
    /// # Errors
    /// [`CryptoError::DecryptFailed`] when the tag does not verify or the input is shorter than
    /// a tag. Nothing else is said about why.
    pub fn open_in_place<'a>(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], CryptoError> {
        self.key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                in_out,
            )
            .map_err(|_| CryptoError::DecryptFailed)
    }
}

impl fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AeadKey({:?}, [redacted])", self.algorithm())
    }
}

/// The per-record nonce of TLS 1.3 (RFC 8446 §5.3) and of TLS 1.2 ChaCha20-Poly1305
/// (RFC 7905 §2): the 64-bit sequence number, big-endian and left-padded to the IV's length,
/// XORed with the IV.
pub fn xor_nonce(iv: &[u8; NONCE_LEN], sequence_number: u64) -> [u8; NONCE_LEN] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(sequence_number.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_detects_tampering() {
        for alg in [
            AeadAlgorithm::Aes128Gcm,
            AeadAlgorithm::Aes256Gcm,
            AeadAlgorithm::ChaCha20Poly1305,
        ] {
            let key = AeadKey::new(alg, &vec![7u8; alg.key_len()]).unwrap();
            assert_eq!(key.algorithm(), alg);
            let mut buf = b"hello".to_vec();
            key.seal_in_place([1; 12], b"aad", &mut buf).unwrap();
            assert_eq!(buf.len(), 5 + TAG_LEN);
            let mut tampered = buf.clone();
            tampered[0] ^= 1;
            assert_eq!(
                key.open_in_place([1; 12], b"aad", &mut tampered),
                Err(CryptoError::DecryptFailed)
            );
            assert_eq!(key.open_in_place([1; 12], b"aad", &mut buf).unwrap(), b"hello");
        }
    }

    #[test]
    fn wrong_key_length_is_an_error() {
        assert!(AeadKey::new(AeadAlgorithm::Aes128Gcm, &[0u8; 32]).is_err());
    }

    #[test]
    fn xor_nonce_follows_rfc8446_section_5_3() {
        let iv = [0xffu8; 12];
        let n = xor_nonce(&iv, 1);
        assert_eq!(&n[..11], &[0xff; 11]);
        assert_eq!(n[11], 0xfe);
        assert_eq!(xor_nonce(&iv, 0), iv);
    }
}

//! Hash functions, HMAC and HKDF parameters for the suites TLS 1.2 and 1.3 use.

use ring::{digest, hkdf, hmac};

/// The hash a cipher suite is built on. It fixes the PRF (TLS 1.2), the HKDF (TLS 1.3), the
/// length of every derived secret and the transcript hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (32-byte output).
    Sha256,
    /// SHA-384 (48-byte output).
    Sha384,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    pub(crate) fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }

    pub(crate) fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
        }
    }

    pub(crate) fn hkdf_algorithm(self) -> hkdf::Algorithm {
        match self {
            Self::Sha256 => hkdf::HKDF_SHA256,
            Self::Sha384 => hkdf::HKDF_SHA384,
        }
    }
}

/// An HMAC key for `alg`.
pub(crate) fn hmac_key(alg: HashAlgorithm, key: &[u8]) -> hmac::Key {
    hmac::Key::new(alg.hmac_algorithm(), key)
}

/// A running hash, e.g. of a handshake transcript. Cloning forks the running state, so the
/// transcript hash "up to here" can be taken without ending it.
#[derive(Clone)]
pub(crate) struct Hasher {
    ctx: digest::Context,
}

impl Hasher {
    pub(crate) fn new(alg: HashAlgorithm) -> Self {
        Self {
            ctx: digest::Context::new(alg.digest_algorithm()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The hash of everything so far; the running state continues.
    pub(crate) fn current(&self) -> digest::Digest {
        self.ctx.clone().finish()
    }
}

/// HMAC over the concatenation of `parts`, fed piece by piece so callers never build the
/// concatenation in a buffer.
pub(crate) fn hmac_sign_parts(key: &hmac::Key, parts: &[&[u8]]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    for part in parts {
        ctx.update(part);
    }
    ctx.sign()
}

/// SHA-256 of the empty string.
const SHA256_OF_EMPTY: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// SHA-384 of the empty string.
const SHA384_OF_EMPTY: [u8; 48] = [
    0x38, 0xb0, 0x60, 0xa7, 0x51, 0xac, 0x96, 0x38, 0x4c, 0xd9, 0x32, 0x7e, 0xb1, 0xb1, 0xe3, 0x6a,
    0x21, 0xfd, 0xb7, 0x11, 0x14, 0xbe, 0x07, 0x43, 0x4c, 0x0c, 0xc7, 0xbf, 0x63, 0xf6, 0xe1, 0xda,
    0x27, 0x4e, 0xde, 0xbf, 0xe7, 0x6f, 0x65, 0xfb, 0xd5, 0x1a, 0xd2, 0xf1, 0x48, 0x98, 0xb9, 0x5b,
];

impl HashAlgorithm {
    /// The hash of the empty string, which the TLS 1.3 key schedule hashes at every "derived"
    /// step (RFC 8446 §7.1); a constant saves a hash computation per step.
    pub(crate) fn empty_hash(self) -> &'static [u8] {
        match self {
            Self::Sha256 => &SHA256_OF_EMPTY,
            Self::Sha384 => &SHA384_OF_EMPTY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hash_constants_match_the_hash_of_nothing() {
        for alg in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
            assert_eq!(
                alg.empty_hash(),
                digest::digest(alg.digest_algorithm(), b"").as_ref()
            );
        }
    }

    #[test]
    fn hmac_of_parts_equals_hmac_of_their_concatenation() {
        let key = hmac_key(HashAlgorithm::Sha256, b"key");
        let whole = hmac::sign(&key, b"abcdef");
        let parts = hmac_sign_parts(&key, &[b"ab", b"", b"cdef"]);
        assert_eq!(whole.as_ref(), parts.as_ref());
    }
}

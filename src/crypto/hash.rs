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

/// The hash of `data`.
pub(crate) fn hash(alg: HashAlgorithm, data: &[u8]) -> digest::Digest {
    digest::digest(alg.digest_algorithm(), data)
}

/// An HMAC key for `alg`.
pub(crate) fn hmac_key(alg: HashAlgorithm, key: &[u8]) -> hmac::Key {
    hmac::Key::new(alg.hmac_algorithm(), key)
}

/// HMAC of `data` under `key` in one call.
pub(crate) fn hmac_sign(key: &hmac::Key, data: &[u8]) -> hmac::Tag {
    hmac::sign(key, data)
}

/// A running hash, e.g. of a handshake transcript. Cloning forks the running state, so the
/// transcript hash "up to here" can be taken without ending it.
#[derive(Clone)]
pub(crate) struct Hasher {
    ctx: digest::Context,
}

#[allow(dead_code)] // Used by the handshake layers.
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

//! The only code in the crate that calls `ring`: hashes, HMAC, HKDF and AEADs, and the secret
//! newtypes every derived secret lives in.

pub mod aead;
mod der;
mod hash;
pub mod kx;
pub mod secret;
pub mod sign;

pub use hash::HashAlgorithm;
pub(crate) use hash::Hasher;
pub(crate) use hash::{hmac_key, hmac_sign_parts};

/// A cryptographic operation failed, or was asked for something it cannot give.
///
/// Failures of the primitives carry no detail an attacker could learn from (as ring's own
/// `Unspecified`); misuse by the caller (a wrong length) says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key, secret, random or nonce had the wrong length.
    #[error("wrong length: expected {expected} bytes, got {got}")]
    InvalidLength {
        /// The length (or maximum length) that was expected.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// More output was requested than the function can produce (HKDF: 255 × hash length).
    #[error("requested output of {requested} bytes exceeds the maximum of {max}")]
    OutputTooLong {
        /// The length asked for.
        requested: usize,
        /// The most the function can give.
        max: usize,
    },
    /// Authenticated decryption failed: wrong key, wrong nonce, or the data was altered.
    #[error("authenticated decryption failed")]
    DecryptFailed,
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// A primitive failed for a reason it does not disclose.
    #[error("cryptographic operation failed")]
    Unspecified,
}

impl From<ring::error::Unspecified> for CryptoError {
    fn from(_: ring::error::Unspecified) -> Self {
        Self::Unspecified
    }
}

//! [`AeadSealer`]: tickets under one key.

use std::time::Duration;

use super::key::{TicketKey, TicketKeyMaterial, KEY_NAME_LEN};
use super::{Opened, TicketError, TicketSealer, MAX_TICKET_LEN, MIN_TICKET_LEN};
use crate::crypto::aead::{AeadAlgorithm, NONCE_LEN};
use crate::crypto::secret::SecretVec;

const HEADER_LEN: usize = KEY_NAME_LEN + NONCE_LEN;

/// Seals `plaintext` under `key`: `key_name ‖ nonce ‖ ciphertext ‖ tag`, key name as AAD.
pub(crate) fn seal_with(key: &TicketKey, plaintext: &[u8]) -> Result<Vec<u8>, TicketError> {
    if plaintext.len() > MAX_TICKET_LEN - MIN_TICKET_LEN {
        return Err(TicketError::PlaintextTooLong);
    }
    let nonce = key.nonce_for(plaintext);
    let mut out = Vec::with_capacity(MIN_TICKET_LEN + plaintext.len());
    out.extend_from_slice(key.name());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .aead()
        .seal_in_place_separate_tag(nonce, key.name(), &mut out[HEADER_LEN..])
        .map_err(|_| TicketError::PlaintextTooLong)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The key name of a ticket of plausible length.
pub(crate) fn key_name_of(ticket: &[u8]) -> Result<&[u8; KEY_NAME_LEN], TicketError> {
    if ticket.len() < MIN_TICKET_LEN || ticket.len() > MAX_TICKET_LEN {
        return Err(TicketError::BadLength);
    }
    ticket[..KEY_NAME_LEN]
        .try_into()
        .map_err(|_| TicketError::BadLength)
}

/// Opens a ticket whose key name matched `key`.
pub(crate) fn open_with(key: &TicketKey, ticket: &[u8]) -> Result<SecretVec, TicketError> {
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&ticket[KEY_NAME_LEN..HEADER_LEN]);
    // Decrypt in a buffer that is zeroized on drop, whatever happens: it will hold the
    // session's secrets. The tag's bytes stay in its spare capacity, which zeroizing covers.
    let mut buf = zeroize::Zeroizing::new(ticket[HEADER_LEN..].to_vec());
    let len = key
        .aead()
        .open_in_place(nonce, key.name(), &mut buf)
        .map_err(|_| TicketError::TagMismatch)?
        .len();
    let mut plaintext = core::mem::take(&mut *buf);
    plaintext.truncate(len);
    Ok(SecretVec::new(plaintext))
}

/// A [`TicketSealer`] with one key, AES-256-GCM by default (ChaCha20-Poly1305 selectable).
/// For keys that change over time use [`RotatingSealer`](super::RotatingSealer).
pub struct AeadSealer {
    key: TicketKey,
    lifetime: Duration,
}

impl core::fmt::Debug for AeadSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AeadSealer")
            .field("name", self.key.name())
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl AeadSealer {
    /// An AES-256-GCM sealer under `material`, announcing `lifetime`.
    ///
    /// # Errors
    /// [`TicketError::Random`] when the key cannot be derived.
    pub fn new(material: TicketKeyMaterial, lifetime: Duration) -> Result<Self, TicketError> {
        Self::with_algorithm(material, AeadAlgorithm::Aes256Gcm, lifetime)
    }

    /// A sealer with the given AEAD.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_algorithm(
        material: TicketKeyMaterial,
        algorithm: AeadAlgorithm,
        lifetime: Duration,
    ) -> Result<Self, TicketError> {
        Ok(Self {
            key: TicketKey::new(material, algorithm)?,
            lifetime,
        })
    }

    /// The key's name.
    pub fn key_name(&self) -> &[u8; KEY_NAME_LEN] {
        self.key.name()
    }
}

impl TicketSealer for AeadSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, TicketError> {
        seal_with(&self.key, plaintext)
    }

    fn open(&self, ticket: &[u8]) -> Result<Opened, TicketError> {
        if key_name_of(ticket)? != self.key.name() {
            return Err(TicketError::UnknownKeyName);
        }
        Ok(Opened {
            plaintext: open_with(&self.key, ticket)?,
            renew: false,
        })
    }

    fn lifetime(&self) -> Duration {
        self.lifetime
    }
}

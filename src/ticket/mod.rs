//! Session-ticket sealing under session-ticket encryption keys (STEKs).
//!
//! A ticket (RFC 5077 §4, RFC 8446 §4.6.1) is this crate's encoded session state, encrypted so
//! that only the servers holding the STEK can read it:
//!
//! ```text
//! key_name (16) ‖ nonce (12) ‖ AEAD ciphertext of the state ‖ tag (16)
//! ```
//!
//! with the key name as additional data. The AEAD key is derived from a master key by HKDF
//! ([`TicketKeyMaterial`]), so the ticket carries no key material, only a public name. The
//! nonce is synthetic, an HMAC of the plaintext under a second derived key, so that a sealer
//! copied by `fork()` or a VM snapshot cannot repeat a nonce (the `key` module's docs give the
//! construction and why it was chosen); the layout is the same as before it, and
//! opening reads the nonce from the ticket, so tickets sealed with earlier counter nonces
//! still open until their key is erased.
//!
//! - [`AeadSealer`]: one key.
//! - [`RotatingSealer`]: a ring of keys moving staged → active → decrypt-only → erased on a
//!   schedule, with an [`Exposure`] report.
//! - [`keyfile`]: nginx `ssl_session_ticket_key` import and this crate's own key-file format.
//!
//! Whoever holds a STEK can open every ticket sealed under it, and with it recover the master
//! secret (TLS 1.2) or the resumption PSK (TLS 1.3) of each recorded connection that issued one.
//! Forward secrecy for those connections therefore lasts only from the moment the STEK is
//! erased: [`RotatingSealer::exposure`] says how long that is for each key held now.

mod aead_sealer;
mod key;
pub mod keyfile;
mod rotating;

pub use aead_sealer::AeadSealer;
pub use key::{TicketKeyMaterial, KEY_NAME_LEN};
pub use keyfile::KeyFileError;
pub use rotating::{
    Exposure, KeyExposure, KeySource, KeyState, RotatingSealer, Schedule, CLOCK_STEP_REPORTED,
    MAX_RING_KEYS,
};

use std::time::Duration;

use crate::crypto::aead::{NONCE_LEN, TAG_LEN};
use crate::crypto::secret::SecretVec;
use crate::session::{SessionError, SessionState};
use crate::time::Timestamp;

/// The shortest possible ticket: key name, nonce and tag around an empty plaintext.
pub const MIN_TICKET_LEN: usize = KEY_NAME_LEN + NONCE_LEN + TAG_LEN;
/// The longest ticket accepted: a TLS ticket travels in a u16-length field (RFC 5077 §3.3,
/// RFC 8446 §4.6.1).
pub const MAX_TICKET_LEN: usize = u16::MAX as usize;

/// A ticket was rejected. A server turns every rejection into a full handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// The ticket's length cannot hold a key name, nonce and tag (or exceeds 65,535 bytes).
    #[error("ticket has an impossible length")]
    BadLength,
    /// No key held has the ticket's key name (never issued here, or erased).
    #[error("ticket key name unknown")]
    UnknownKeyName,
    /// The AEAD tag did not verify: the ticket was altered or forged.
    #[error("ticket failed authentication")]
    TagMismatch,
    /// The ticket opened but the session state inside has expired.
    #[error("ticket expired")]
    Expired,
    /// The ticket opened but its contents are not valid session state.
    #[error("ticket plaintext undecodable: {0}")]
    Undecodable(SessionError),
    /// No key is active, so nothing can be sealed.
    #[error("no active ticket key")]
    NoActiveKey,
    /// The plaintext is too long to fit a ticket.
    #[error("plaintext too long for a ticket")]
    PlaintextTooLong,
    /// The key's nonce space is spent; a new key is needed. This crate's sealers derive
    /// synthetic nonces and never return it; it remains for sealers with counted nonces.
    #[error("ticket key exhausted its nonces")]
    NonceExhausted,
    /// A key with this name is already in the ring.
    #[error("duplicate ticket key name")]
    DuplicateKeyName,
    /// The ring holds [`MAX_RING_KEYS`] keys that are all still needed; nothing more can be
    /// imported until the oldest is erased.
    #[error("ticket key ring full")]
    RingFull,
    /// The schedule's decrypt window needs more keys held at once than a ring can hold
    /// ([`Schedule::keys_needed`] over [`MAX_RING_KEYS`]).
    #[error("schedule needs {0} ticket keys at once, more than a ring holds")]
    ScheduleNeedsTooManyKeys(usize),
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
}

/// A ticket that opened.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext (encoded session state), zeroized on drop.
    pub plaintext: SecretVec,
    /// True when the key that opened it no longer encrypts (decrypt-only): the server should
    /// issue a fresh ticket so the client moves to the current key.
    pub renew: bool,
}

/// Seals session state into tickets and opens them.
///
/// # Security contract
/// An implementation must:
/// - give tickets confidentiality and integrity: `open` returns only plaintext that this
///   sealer (or one sharing its keys) sealed, unaltered;
/// - put no key material in the ticket, only a public key name;
/// - never reuse a nonce under one key, even in a copy of the process (after `fork()`, or a
///   restored VM snapshot);
/// - erase (zeroize) keys when they retire, so tickets issued under them can no longer be
///   opened by anyone;
/// - report every failure as a [`TicketError`] and never panic on any input to `open`.
pub trait TicketSealer: Send + Sync {
    /// Encrypts `plaintext` into a ticket under the current key.
    ///
    /// # Errors
    /// [`TicketError::NoActiveKey`], [`TicketError::PlaintextTooLong`]; sealers of other
    /// designs may return [`TicketError::NonceExhausted`].
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, TicketError>;

    /// Decrypts a ticket.
    ///
    /// # Errors
    /// [`TicketError::BadLength`], [`TicketError::UnknownKeyName`],
    /// [`TicketError::TagMismatch`]; each means "full handshake".
    fn open(&self, ticket: &[u8]) -> Result<Opened, TicketError>;

    /// How long a ticket sealed now stays openable: the `ticket_lifetime_hint` (RFC 5077 §3.3)
    /// or `ticket_lifetime` (RFC 8446 §4.6.1) to send, and the bound to give the state inside.
    fn lifetime(&self) -> Duration;

    /// The keys held and how long recorded connections stay recoverable, for sealers that
    /// can say ([`RotatingSealer`] does); `None` otherwise. Lets code holding only a
    /// `dyn TicketSealer` report forward-secrecy exposure.
    fn exposure_report(&self) -> Option<Exposure> {
        None
    }
}

/// Encodes `state` and seals it.
///
/// # Errors
/// [`TicketError::Undecodable`] when the state cannot be encoded, or the sealer's error.
pub fn seal_session(
    sealer: &dyn TicketSealer,
    state: &SessionState,
) -> Result<Vec<u8>, TicketError> {
    let encoded = state.encode().map_err(TicketError::Undecodable)?;
    sealer.seal(encoded.expose_secret())
}

/// Opens a ticket and decodes the session state inside, rejecting expired state.
///
/// Returns the state and whether to renew the ticket ([`Opened::renew`]).
///
/// # Errors
/// Every rejection is its own variant: [`TicketError::BadLength`],
/// [`TicketError::UnknownKeyName`], [`TicketError::TagMismatch`],
/// [`TicketError::Undecodable`], [`TicketError::Expired`].
pub fn open_session(
    sealer: &dyn TicketSealer,
    ticket: &[u8],
    now: Timestamp,
) -> Result<(SessionState, bool), TicketError> {
    let opened = sealer.open(ticket)?;
    let state =
        SessionState::decode(opened.plaintext.expose_secret()).map_err(TicketError::Undecodable)?;
    if state.is_expired(now) {
        return Err(TicketError::Expired);
    }
    Ok((state, opened.renew))
}

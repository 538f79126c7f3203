//! Ticket keys: the shareable material (name and master secret) and the derived AEAD key.
//!
//! # Nonces: synthetic, so a copied process cannot repeat one
//! Each ticket's nonce is the first 12 bytes of `HMAC-SHA256(nonce_key, count ‖ plaintext)`,
//! where `nonce_key` is derived from the master secret like the AEAD key (its own HKDF label)
//! and `count` is a per-thread count of tickets sealed. This is the synthetic-IV idea (RFC
//! 5297): a nonce repeats only when the same count and the same plaintext are sealed again,
//! and then the whole ticket repeats, which reveals only that the two plaintexts were equal;
//! two different plaintexts get independent nonces whatever the count. Nothing in it relies
//! on this process being unique, which a counter or a nonce base drawn once cannot promise:
//! after `fork()` in a prefork server, or in two VMs restored from one snapshot, both copies
//! continue the same sequence. (Session state carries a fresh secret per session, so equal
//! plaintexts do not occur in practice.)
//!
//! The count is per thread so that sealing shares no cache line between threads; it only
//! separates equal plaintexts and need not be unique.
//!
//! Bound: nonces are 96-bit pseudorandom values, so among `n` tickets under one key two
//! collide with probability below n² / 2^97 — 2^-33 at 2^32 tickets, more than a key sealing
//! a million tickets a second for an hour issues.
//!
//! Cost: one HMAC over the plaintext per seal (three SHA-256 blocks for a typical TLS 1.3
//! state), and no system call. The alternative, a per-ticket key derived from a salt read
//! from the OS for every ticket, costs a system call and an HKDF plus an AES key schedule on
//! both seal and open.
//!
//! Tickets carry their nonce, so opening does not depend on how it was made: tickets sealed
//! by earlier versions (counter nonces) keep opening under their key until it is erased.

use std::cell::Cell;

use ring::rand::SecureRandom;
use ring::{hkdf, hmac};

use super::TicketError;
use crate::crypto::aead::{AeadAlgorithm, AeadKey, NONCE_LEN};
use crate::crypto::secret::{Secret, SecretArray, MAX_INLINE_SECRET};
use crate::crypto::HashAlgorithm;

/// Length of a key name: the public prefix of every ticket that selects the key.
pub const KEY_NAME_LEN: usize = 16;

/// The master secret length this crate generates.
const GENERATED_SECRET_LEN: usize = 32;

/// What a fleet shares to open each other's tickets: a public 16-byte key name and a secret
/// master key (1 to 64 bytes) from which the AEAD key is derived.
///
/// The AEAD key is `HKDF-Expand(HKDF-Extract(salt = key_name, IKM = master),
/// "tls-resumption stek " ‖ algorithm, key_len)` (RFC 5869 §2), so each name gives an
/// independent key, the two algorithms never share a key, and imported key bytes (nginx
/// files) are used only as HKDF input, never directly.
pub struct TicketKeyMaterial {
    name: [u8; KEY_NAME_LEN],
    secret: Secret,
}

impl core::fmt::Debug for TicketKeyMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TicketKeyMaterial")
            .field("name", &self.name)
            .field("secret", &self.secret)
            .finish()
    }
}

impl TicketKeyMaterial {
    /// From a name and master secret bytes; `None` for a secret that is empty or longer than
    /// 64 bytes.
    pub fn new(name: [u8; KEY_NAME_LEN], secret: &[u8]) -> Option<Self> {
        if secret.is_empty() || secret.len() > MAX_INLINE_SECRET {
            return None;
        }
        Some(Self {
            name,
            secret: Secret::from_slice(secret).ok()?,
        })
    }

    /// A fresh random name and 32-byte master secret.
    ///
    /// # Errors
    /// [`TicketError::Random`] when the generator fails.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, TicketError> {
        let mut name = [0u8; KEY_NAME_LEN];
        rng.fill(&mut name).map_err(|_| TicketError::Random)?;
        let mut secret = SecretArray::<GENERATED_SECRET_LEN>::zeroed();
        rng.fill(secret.expose_secret_mut())
            .map_err(|_| TicketError::Random)?;
        Self::new(name, secret.expose_secret()).ok_or(TicketError::Random)
    }

    /// The key name (public: it is the first 16 bytes of every ticket).
    pub fn name(&self) -> &[u8; KEY_NAME_LEN] {
        &self.name
    }

    /// The master secret.
    pub fn expose_secret(&self) -> &[u8] {
        self.secret.expose_secret()
    }

    /// A copy; named rather than `Clone` because this is key material.
    pub fn duplicate(&self) -> Self {
        Self {
            name: self.name,
            secret: self.secret.duplicate(),
        }
    }
}

/// Output length for ring's HKDF.
struct OkmLen(usize);

impl hkdf::KeyType for OkmLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn algorithm_label(alg: AeadAlgorithm) -> &'static [u8] {
    match alg {
        AeadAlgorithm::Aes128Gcm => b"aes128gcm",
        AeadAlgorithm::Aes256Gcm => b"aes256gcm",
        AeadAlgorithm::ChaCha20Poly1305 => b"chacha20poly1305",
    }
}

/// A key ready to seal and open: the derived AEAD key and the derived nonce key.
///
/// Dropping it zeroizes the master secret and the derived key bytes this crate held; the
/// expanded key schedules inside `ring` are freed, but `ring` does not promise to overwrite
/// them.
///
/// Nonces are synthetic (module docs).
pub(crate) struct TicketKey {
    pub(crate) material: TicketKeyMaterial,
    aead: AeadKey,
    nonce_key: hmac::Key,
}

/// The HKDF label of the nonce key (the AEAD key's is `"tls-resumption stek " ‖ algorithm`).
const NONCE_KEY_LABEL: &[u8] = b"tls-resumption stek nonce";

thread_local! {
    /// Tickets sealed on this thread, under any key: the `count` of the synthetic nonce.
    static SEALED_HERE: Cell<u64> = const { Cell::new(0) };
}

impl TicketKey {
    pub(crate) fn new(
        material: TicketKeyMaterial,
        alg: AeadAlgorithm,
    ) -> Result<Self, TicketError> {
        let prk = hkdf::Salt::new(HashAlgorithm::Sha256.hkdf_algorithm(), &material.name)
            .extract(material.secret.expose_secret());
        let mut key_bytes = SecretArray::<32>::zeroed();
        let out = &mut key_bytes.expose_secret_mut()[..alg.key_len()];
        let info = [b"tls-resumption stek ".as_slice(), algorithm_label(alg)];
        prk.expand(&info, OkmLen(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| TicketError::Random)?;
        let aead = AeadKey::new(alg, out).map_err(|_| TicketError::Random)?;
        let mut nonce_key_bytes = SecretArray::<32>::zeroed();
        prk.expand(&[NONCE_KEY_LABEL], OkmLen(32))
            .and_then(|okm| okm.fill(nonce_key_bytes.expose_secret_mut()))
            .map_err(|_| TicketError::Random)?;
        let nonce_key = hmac::Key::new(hmac::HMAC_SHA256, nonce_key_bytes.expose_secret());
        Ok(Self {
            material,
            aead,
            nonce_key,
        })
    }

    pub(crate) fn name(&self) -> &[u8; KEY_NAME_LEN] {
        &self.material.name
    }

    pub(crate) fn aead(&self) -> &AeadKey {
        &self.aead
    }

    /// The synthetic nonce for sealing `plaintext` (type docs).
    pub(crate) fn nonce_for(&self, plaintext: &[u8]) -> [u8; NONCE_LEN] {
        let count = SEALED_HERE.with(|c| {
            let n = c.get();
            c.set(n.wrapping_add(1));
            n
        });
        let mut ctx = hmac::Context::with_key(&self.nonce_key);
        ctx.update(&count.to_be_bytes());
        ctx.update(plaintext);
        let tag = ctx.sign();
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&tag.as_ref()[..NONCE_LEN]);
        nonce
    }
}

//! Ticket keys: the shareable material (name and master secret) and the derived AEAD key.

use std::sync::atomic::{AtomicU64, Ordering};

use ring::hkdf;
use ring::rand::SecureRandom;

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

/// A key ready to seal and open: the derived AEAD key and this process's nonce sequence.
///
/// Dropping it zeroizes the master secret and the derived key bytes this crate held; the
/// expanded key schedule inside `ring` is freed, but `ring` does not promise to overwrite it.
///
/// # Nonces
/// Each nonce is `base + counter`: `base` is 12 random bytes drawn once when the key is
/// loaded into this process, `counter` an atomic count of tickets sealed here (the low 8 bytes
/// of `base` are added to it modulo 2^64, the high 4 are kept). Within one process a nonce
/// cannot repeat before 2^63 tickets, where sealing stops ([`TicketError::NonceExhausted`]).
/// Servers sharing a key each draw their own `base`; two of them collide only if their
/// sequences overlap, which for `k` servers sealing `n` tickets each happens with probability
/// below k²·n / 2^95 (e.g. 2^-45 for 1,000 servers each sealing 2^30 tickets under one key).
/// No random number is drawn per ticket, so sealing makes no system call.
pub(crate) struct TicketKey {
    pub(crate) material: TicketKeyMaterial,
    aead: AeadKey,
    nonce_high: [u8; 4],
    nonce_low: u64,
    counter: AtomicU64,
}

impl TicketKey {
    pub(crate) fn new(
        material: TicketKeyMaterial,
        alg: AeadAlgorithm,
        rng: &dyn SecureRandom,
    ) -> Result<Self, TicketError> {
        let mut key_bytes = SecretArray::<32>::zeroed();
        let out = &mut key_bytes.expose_secret_mut()[..alg.key_len()];
        let info = [b"tls-resumption stek ".as_slice(), algorithm_label(alg)];
        hkdf::Salt::new(HashAlgorithm::Sha256.hkdf_algorithm(), &material.name)
            .extract(material.secret.expose_secret())
            .expand(&info, OkmLen(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| TicketError::Random)?;
        let aead = AeadKey::new(alg, out).map_err(|_| TicketError::Random)?;
        let mut base = [0u8; NONCE_LEN];
        rng.fill(&mut base).map_err(|_| TicketError::Random)?;
        let mut high = [0u8; 4];
        high.copy_from_slice(&base[..4]);
        let mut low = [0u8; 8];
        low.copy_from_slice(&base[4..]);
        Ok(Self {
            material,
            aead,
            nonce_high: high,
            nonce_low: u64::from_be_bytes(low),
            counter: AtomicU64::new(0),
        })
    }

    pub(crate) fn name(&self) -> &[u8; KEY_NAME_LEN] {
        &self.material.name
    }

    pub(crate) fn aead(&self) -> &AeadKey {
        &self.aead
    }

    pub(crate) fn next_nonce(&self) -> Result<[u8; NONCE_LEN], TicketError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        if n >= 1 << 63 {
            return Err(TicketError::NonceExhausted);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..4].copy_from_slice(&self.nonce_high);
        nonce[4..].copy_from_slice(&self.nonce_low.wrapping_add(n).to_be_bytes());
        Ok(nonce)
    }
}

//! TLS 1.2 key derivation (RFC 5246 §5, §6.3, §7.4.9, §8.1; RFC 7627 §4).
//!
//! Everything here is the PRF of RFC 5246 §5 with a different label and seed:
//!
//! | derivation | secret | label | seed |
//! |---|---|---|---|
//! | [`master_secret`] | pre-master secret | `"master secret"` | client_random ‖ server_random |
//! | [`extended_master_secret`] | pre-master secret | `"extended master secret"` | session_hash |
//! | [`key_block`] | master secret | `"key expansion"` | server_random ‖ client_random |
//! | [`finished_verify_data`] | master secret | `"client finished"` / `"server finished"` | handshake hash |
//!
//! A resumed session (RFC 5246 §7.3, abbreviated handshake) keeps its master secret but runs
//! [`key_block`] over the new connection's randoms, so its traffic keys are new.

use ring::hmac;

use crate::crypto::aead::{xor_nonce, AeadAlgorithm, AeadKey, NONCE_LEN};
use crate::crypto::secret::{Secret, SecretArray, SecretVec};
use crate::crypto::{hmac_key, hmac_sign_parts, CryptoError, HashAlgorithm};
use crate::error::Error;
use crate::error::PeerMisbehaved;
use crate::kdf::Side;

/// A ClientHello or ServerHello random (RFC 5246 §7.4.1.2): always 32 bytes.
pub type Random = [u8; 32];

/// Length of the TLS 1.2 master secret (RFC 5246 §8.1).
pub const MASTER_SECRET_LEN: usize = 48;

/// Length of TLS 1.2 Finished verify_data for every suite this crate supports (RFC 5246
/// §7.4.9).
pub const VERIFY_DATA_LEN: usize = 12;

/// The most [`key_block`] gives. The largest block any TLS 1.2 suite needs is two 48-byte MAC
/// keys, two 32-byte encryption keys and two 16-byte IVs (192 bytes); the cap keeps a
/// caller-supplied length from turning into a large allocation.
pub const MAX_KEY_BLOCK_LEN: usize = 256;

/// The TLS 1.2 master secret (RFC 5246 §8.1), the value a resumed session carries over.
pub type MasterSecret = SecretArray<MASTER_SECRET_LEN>;

/// The PRF of RFC 5246 §5: `P_hash(secret, label ‖ seed)` truncated to `out.len()` bytes.
///
/// `P_hash(secret, seed) = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ‖ …` with
/// `A(0) = seed` and `A(i) = HMAC(secret, A(i-1))`. The HMAC key is set up once per call and
/// `label ‖ seed` is fed to HMAC in pieces, so the PRF allocates nothing.
///
/// The PRF has no length limit; any `out` is filled.
pub fn prf(hash: HashAlgorithm, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac_key(hash, secret);
    prf_with_key(&key, label, seed, out);
}

/// [`prf`] with the HMAC key already set up, and a seed in two pieces (the randoms).
fn prf_with_key(key: &hmac::Key, label: &[u8], seed: &[u8], out: &mut [u8]) {
    prf_with_key_parts(key, label, &[seed], out);
}

fn prf_with_key_parts(key: &hmac::Key, label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    // Every TLS 1.2 derivation's `label ‖ seed` fits in a short stack buffer (the longest is
    // "extended master secret" and a SHA-384 hash, 70 bytes); feeding HMAC one slice instead
    // of three or four saves a measurable share of a short PRF. Longer seeds go in pieces.
    let mut joined = [0u8; 128];
    let total = label.len() + seed.iter().map(|piece| piece.len()).sum::<usize>();
    if total <= joined.len() {
        let mut at = 0;
        for piece in core::iter::once(&label).chain(seed) {
            joined[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        }
        p_hash(key, &[&joined[..total]], out);
    } else {
        let mut pieces: [&[u8]; 4] = [&[]; 4];
        pieces[0] = label;
        // At most three seed pieces are ever passed.
        for (slot, piece) in pieces[1..].iter_mut().zip(seed) {
            *slot = piece;
        }
        p_hash(key, &pieces, out);
    }
}

/// P_hash (RFC 5246 §5) with its seed in pieces.
fn p_hash(key: &hmac::Key, seed: &[&[u8]], out: &mut [u8]) {
    // A(1) = HMAC(secret, seed).
    let mut a = hmac_sign_parts(key, seed);
    let mut chunks = out
        .chunks_mut(key.algorithm().digest_algorithm().output_len())
        .peekable();
    while let Some(chunk) = chunks.next() {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(a.as_ref());
        for piece in seed {
            ctx.update(piece);
        }
        let block = ctx.sign();
        chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        // A(i+1) only when another block follows: an unused one would cost a whole HMAC.
        if chunks.peek().is_some() {
            a = hmac_sign_parts(key, &[a.as_ref()]);
        }
    }
}

/// The master secret of a full handshake without extended master secret (RFC 5246 §8.1):
/// `PRF(pre_master_secret, "master secret", client_random ‖ server_random)[0..48]`.
///
/// Prefer [`extended_master_secret`] whenever the peer offers RFC 7627: without it, a
/// resumed session is not bound to the handshake that created it (the triple-handshake attack).
pub fn master_secret(
    hash: HashAlgorithm,
    pre_master_secret: &[u8],
    client_random: &Random,
    server_random: &Random,
) -> MasterSecret {
    let key = hmac_key(hash, pre_master_secret);
    let mut ms = MasterSecret::zeroed();
    prf_with_key_parts(
        &key,
        b"master secret",
        &[client_random, server_random],
        ms.expose_secret_mut(),
    );
    ms
}

/// The extended master secret (RFC 7627 §4):
/// `PRF(pre_master_secret, "extended master secret", session_hash)[0..48]`, where
/// `session_hash` is the hash of the handshake messages up to and including the
/// ClientKeyExchange (RFC 7627 §3).
///
/// # Errors
/// [`CryptoError::InvalidLength`] when `session_hash` is not as long as `hash`'s output.
pub fn extended_master_secret(
    hash: HashAlgorithm,
    pre_master_secret: &[u8],
    session_hash: &[u8],
) -> Result<MasterSecret, CryptoError> {
    check_hash_len(hash, session_hash)?;
    let key = hmac_key(hash, pre_master_secret);
    let mut ms = MasterSecret::zeroed();
    prf_with_key(
        &key,
        b"extended master secret",
        session_hash,
        ms.expose_secret_mut(),
    );
    Ok(ms)
}

/// The key block (RFC 5246 §6.3):
/// `PRF(master_secret, "key expansion", server_random ‖ client_random)[0..len]`.
///
/// Note the order of the randoms: the server's first, unlike [`master_secret`]. For the AEAD
/// suites [`KeyMaterial::derive`] splits the block into typed keys and IVs.
///
/// # Errors
/// [`CryptoError::OutputTooLong`] when `len` exceeds [`MAX_KEY_BLOCK_LEN`].
pub fn key_block(
    hash: HashAlgorithm,
    master_secret: &MasterSecret,
    server_random: &Random,
    client_random: &Random,
    len: usize,
) -> Result<SecretVec, CryptoError> {
    if len > MAX_KEY_BLOCK_LEN {
        return Err(CryptoError::OutputTooLong {
            requested: len,
            max: MAX_KEY_BLOCK_LEN,
        });
    }
    let mut block = SecretVec::zeroed(len);
    key_block_into(
        hash,
        master_secret,
        server_random,
        client_random,
        block.expose_secret_mut(),
    );
    Ok(block)
}

fn key_block_into(
    hash: HashAlgorithm,
    master_secret: &MasterSecret,
    server_random: &Random,
    client_random: &Random,
    out: &mut [u8],
) {
    let key = hmac_key(hash, master_secret.expose_secret());
    prf_with_key_parts(&key, b"key expansion", &[server_random, client_random], out);
}

/// The Finished message's verify_data (RFC 5246 §7.4.9):
/// `PRF(master_secret, finished_label, handshake_hash)[0..12]`, with finished_label
/// `"client finished"` or `"server finished"` for the side that sends it.
///
/// Finished is not secret (it proves knowledge of the master secret), so it is a plain array.
///
/// # Errors
/// [`CryptoError::InvalidLength`] when `handshake_hash` is not as long as `hash`'s output.
pub fn finished_verify_data(
    hash: HashAlgorithm,
    master_secret: &MasterSecret,
    sender: Side,
    handshake_hash: &[u8],
) -> Result<[u8; VERIFY_DATA_LEN], CryptoError> {
    check_hash_len(hash, handshake_hash)?;
    let label: &[u8] = match sender {
        Side::Client => b"client finished",
        Side::Server => b"server finished",
    };
    let mut out = [0u8; VERIFY_DATA_LEN];
    prf(
        hash,
        master_secret.expose_secret(),
        label,
        handshake_hash,
        &mut out,
    );
    Ok(out)
}

/// Proof that a peer's TLS 1.2 Finished verified. Only [`verify_finished`] makes one.
#[derive(Debug)]
pub struct FinishedVerified(());

/// Checks a received Finished verify_data in constant time (RFC 5246 §7.4.9).
///
/// # Errors
/// [`PeerMisbehaved::BadFinished`] (alert `decrypt_error`) when it does not match, and
/// [`CryptoError::InvalidLength`] for a wrong-length `handshake_hash`.
pub fn verify_finished(
    hash: HashAlgorithm,
    master_secret: &MasterSecret,
    sender: Side,
    handshake_hash: &[u8],
    received: &[u8],
) -> Result<FinishedVerified, Error> {
    let expected = SecretArray::new(finished_verify_data(
        hash,
        master_secret,
        sender,
        handshake_hash,
    )?);
    if expected.ct_eq_bytes(received) {
        Ok(FinishedVerified(()))
    } else {
        Err(PeerMisbehaved::BadFinished.into())
    }
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

/// The per-direction IV of a TLS 1.2 AEAD suite, which differs in length by suite.
pub enum WriteIv {
    /// AES-GCM (RFC 5288 §3): the 4-byte implicit salt. The other 8 nonce bytes are the
    /// explicit nonce, sent in each record.
    GcmSalt(SecretArray<4>),
    /// ChaCha20-Poly1305 (RFC 7905 §2): a 12-byte IV, XORed with the sequence number.
    ChaCha(SecretArray<NONCE_LEN>),
}

impl WriteIv {
    /// The nonce of one record. For AES-GCM, `value` is the 8-byte explicit nonce (sent on the
    /// wire; senders use the sequence number, RFC 5288 §3 requires it be unique per key); for
    /// ChaCha20-Poly1305 it is the sequence number.
    pub fn nonce(&self, value: u64) -> [u8; NONCE_LEN] {
        match self {
            Self::GcmSalt(salt) => {
                let mut nonce = [0u8; NONCE_LEN];
                nonce[..4].copy_from_slice(salt.expose_secret());
                nonce[4..].copy_from_slice(&value.to_be_bytes());
                nonce
            }
            Self::ChaCha(iv) => xor_nonce(iv.expose_secret(), value),
        }
    }

    /// The length the key block gives this IV (4 or 12).
    pub fn len(&self) -> usize {
        match self {
            Self::GcmSalt(_) => 4,
            Self::ChaCha(_) => NONCE_LEN,
        }
    }

    /// Never true: an IV has 4 or 12 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl core::fmt::Debug for WriteIv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "WriteIv(len={}, [redacted])", self.len())
    }
}

/// One direction's write key and IV.
#[derive(Debug)]
pub struct WriteKeys {
    /// The `*_write_key` of RFC 5246 §6.3.
    pub key: Secret,
    /// The `*_write_IV` of RFC 5246 §6.3.
    pub iv: WriteIv,
}

impl WriteKeys {
    /// An AEAD key for `algorithm` from [`key`](Self::key).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `algorithm` is not the one these keys were made for.
    pub fn aead_key(&self, algorithm: AeadAlgorithm) -> Result<AeadKey, CryptoError> {
        AeadKey::new(algorithm, self.key.expose_secret())
    }
}

/// The key block of an AEAD suite, split as RFC 5246 §6.3 lays it out:
/// `client_write_key ‖ server_write_key ‖ client_write_IV ‖ server_write_IV` (AEAD suites have
/// no MAC keys).
#[derive(Debug)]
pub struct KeyMaterial {
    /// The AEAD the keys are for.
    pub aead: AeadAlgorithm,
    /// What the client encrypts with and the server decrypts with.
    pub client: WriteKeys,
    /// What the server encrypts with and the client decrypts with.
    pub server: WriteKeys,
}

/// The length of one direction's IV in a TLS 1.2 key block.
pub const fn iv_len(aead: AeadAlgorithm) -> usize {
    match aead {
        // RFC 5288 §3: SecurityParameters.fixed_iv_length = 4.
        AeadAlgorithm::Aes128Gcm | AeadAlgorithm::Aes256Gcm => 4,
        // RFC 7905 §2: fixed_iv_length = 12.
        AeadAlgorithm::ChaCha20Poly1305 => NONCE_LEN,
    }
}

/// The length of the key block an AEAD suite needs.
pub const fn key_block_len(aead: AeadAlgorithm) -> usize {
    2 * (aead.key_len() + iv_len(aead))
}

impl KeyMaterial {
    /// Runs [`key_block`] for `aead` and splits it (RFC 5246 §6.3). Nothing is allocated: the
    /// block lives on the stack and is wiped when this returns.
    pub fn derive(
        hash: HashAlgorithm,
        aead: AeadAlgorithm,
        master_secret: &MasterSecret,
        server_random: &Random,
        client_random: &Random,
    ) -> Self {
        // The largest AEAD key block: ChaCha20-Poly1305, 2 × (32 + 12).
        let mut block = SecretArray::<88>::zeroed();
        let len = key_block_len(aead);
        let block_bytes = &mut block.expose_secret_mut()[..len];
        key_block_into(
            hash,
            master_secret,
            server_random,
            client_random,
            block_bytes,
        );
        Self::split_unchecked(aead, block_bytes)
    }

    /// Splits a key block made elsewhere (e.g. by [`key_block`]).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `block` is not [`key_block_len`]`(aead)` bytes.
    pub fn split(aead: AeadAlgorithm, block: &SecretVec) -> Result<Self, CryptoError> {
        let block = block.expose_secret();
        if block.len() != key_block_len(aead) {
            return Err(CryptoError::InvalidLength {
                expected: key_block_len(aead),
                got: block.len(),
            });
        }
        Ok(Self::split_unchecked(aead, block))
    }

    fn split_unchecked(aead: AeadAlgorithm, block: &[u8]) -> Self {
        let (k, i) = (aead.key_len(), iv_len(aead));
        let (client_key, rest) = block.split_at(k);
        let (server_key, rest) = rest.split_at(k);
        let (client_iv, server_iv) = rest.split_at(i);
        let iv = |bytes: &[u8]| -> WriteIv {
            let mut out = match aead {
                AeadAlgorithm::Aes128Gcm | AeadAlgorithm::Aes256Gcm => {
                    WriteIv::GcmSalt(SecretArray::zeroed())
                }
                AeadAlgorithm::ChaCha20Poly1305 => WriteIv::ChaCha(SecretArray::zeroed()),
            };
            match &mut out {
                WriteIv::GcmSalt(s) => s.expose_secret_mut().copy_from_slice(bytes),
                WriteIv::ChaCha(s) => s.expose_secret_mut().copy_from_slice(bytes),
            }
            out
        };
        // Key lengths are 16 or 32, within `Secret`'s inline capacity.
        let key = |bytes: &[u8]| Secret::from_slice(bytes).unwrap_or_else(|_| unreachable!());
        Self {
            aead,
            client: WriteKeys {
                key: key(client_key),
                iv: iv(client_iv),
            },
            server: WriteKeys {
                key: key(server_key),
                iv: iv(server_iv),
            },
        }
    }

    /// The keys `side` writes with.
    pub fn write_keys(&self, side: Side) -> &WriteKeys {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_of_zero_length_fills_nothing_and_does_not_panic() {
        let mut out = [];
        prf(HashAlgorithm::Sha256, b"s", b"l", b"", &mut out);
    }

    #[test]
    fn key_block_over_the_cap_is_an_error() {
        let ms = MasterSecret::zeroed();
        assert_eq!(
            key_block(HashAlgorithm::Sha256, &ms, &[0; 32], &[0; 32], 257).unwrap_err(),
            CryptoError::OutputTooLong {
                requested: 257,
                max: MAX_KEY_BLOCK_LEN
            }
        );
    }

    #[test]
    fn wrong_length_hashes_are_errors() {
        let ms = MasterSecret::zeroed();
        assert!(extended_master_secret(HashAlgorithm::Sha384, b"pms", &[0; 32]).is_err());
        assert!(finished_verify_data(HashAlgorithm::Sha256, &ms, Side::Client, &[0; 31]).is_err());
        let block = SecretVec::zeroed(39);
        assert!(KeyMaterial::split(AeadAlgorithm::Aes128Gcm, &block).is_err());
    }

    #[test]
    fn derived_key_material_matches_the_split_key_block() {
        let ms = MasterSecret::new([3; 48]);
        for aead in [
            AeadAlgorithm::Aes128Gcm,
            AeadAlgorithm::Aes256Gcm,
            AeadAlgorithm::ChaCha20Poly1305,
        ] {
            let kb = key_block(
                HashAlgorithm::Sha256,
                &ms,
                &[1; 32],
                &[2; 32],
                key_block_len(aead),
            )
            .unwrap();
            let a = KeyMaterial::split(aead, &kb).unwrap();
            let b = KeyMaterial::derive(HashAlgorithm::Sha256, aead, &ms, &[1; 32], &[2; 32]);
            assert!(a.client.key.ct_eq(&b.client.key));
            assert!(a.server.key.ct_eq(&b.server.key));
            assert_eq!(a.server.iv.nonce(9), b.server.iv.nonce(9));
            assert_eq!(a.client.iv.nonce(9), b.client.iv.nonce(9));
            let k = aead.key_len();
            assert_eq!(
                a.write_keys(Side::Server).key.expose_secret(),
                &kb.expose_secret()[k..2 * k]
            );
        }
    }

    #[test]
    fn finished_verification_accepts_the_right_value_only() {
        let ms = MasterSecret::new([5; 48]);
        let h = [9u8; 32];
        let good = finished_verify_data(HashAlgorithm::Sha256, &ms, Side::Server, &h).unwrap();
        assert!(verify_finished(HashAlgorithm::Sha256, &ms, Side::Server, &h, &good).is_ok());
        let err = verify_finished(HashAlgorithm::Sha256, &ms, Side::Client, &h, &good).unwrap_err();
        assert_eq!(err, Error::from(PeerMisbehaved::BadFinished));
        assert!(
            verify_finished(HashAlgorithm::Sha256, &ms, Side::Server, &h, &good[..11]).is_err()
        );
    }
}

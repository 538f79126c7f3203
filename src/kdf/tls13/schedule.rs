//! The TLS 1.3 key schedule as typed stages (RFC 8446 §7.1).
//!
//! ```text
//!              PSK or 0 ─► Early Secret ──► binder key, client_early_traffic_secret, early exporter
//!                              │ Derive-Secret(., "derived", "")
//!     (EC)DHE or 0 ─► Handshake Secret ──► client/server handshake traffic secrets
//!                              │ Derive-Secret(., "derived", "")
//!                0 ─►  Master Secret ──► client/server application traffic secrets, exporter
//!                              └───────► resumption_master_secret ─► PSK per ticket nonce
//! ```
//!
//! Each arrow down consumes the stage above, so a state machine that holds a
//! [`HandshakeSecret`] cannot still derive early secrets, and no secret is copied to move on.

use std::sync::OnceLock;

use ring::hmac;

use super::{
    check_hash_len, ct_eq_tag, expand_label, expand_label_secret, finished_mac, hkdf_extract,
    secret_from_tag, BinderKind, BinderVerified, Tag,
};
use crate::crypto::aead::{xor_nonce, AeadAlgorithm, AeadKey, NONCE_LEN};
use crate::crypto::secret::{Secret, SecretArray, MAX_INLINE_SECRET};
use crate::crypto::{hmac_key, hmac_sign_parts, CryptoError, HashAlgorithm};
use crate::error::Error;
use crate::error::PeerMisbehaved;
use crate::kdf::Side;

/// A stage's secret with its HMAC key set up once. Every derivation from a stage is an HMAC
/// keyed by the stage's secret, and setting up an HMAC key costs about as much as one short
/// HMAC, so a stage that derives three values would otherwise pay for the key three times.
///
/// The key schedule held by `ring` is not wiped on drop (ring offers no way to), as for every
/// HMAC computed with ring; the secret bytes themselves are.
struct Keyed {
    hash: HashAlgorithm,
    secret: Secret,
    key: hmac::Key,
}

impl Keyed {
    fn new(hash: HashAlgorithm, secret: Secret) -> Self {
        let key = hmac_key(hash, secret.expose_secret());
        Self { hash, secret, key }
    }

    /// A hash-length HKDF-Expand-Label of this secret.
    fn expand(&self, label: &[u8], context: &[u8]) -> Result<Secret, CryptoError> {
        expand_label_secret(&self.key, label, context)
    }
}

impl core::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?} {:?}", self.hash, self.secret)
    }
}

/// Where a key schedule starts: with a PSK (resumption, external PSK) or without (a full
/// handshake). The key exchange mode follows from the constructor and the next call:
///
/// | mode | calls |
/// |---|---|
/// | full handshake | [`KeySchedule::full_handshake`] |
/// | `psk_dhe_ke` (RFC 8446 §4.2.9) | [`KeySchedule::with_psk`] then [`EarlySecret::psk_dhe_ke`] |
/// | `psk_ke` (not forward secret) | [`KeySchedule::with_psk`] then [`EarlySecret::psk_ke`] |
#[derive(Debug)]
pub struct KeySchedule(());

impl KeySchedule {
    /// The Early Secret of a PSK handshake: `HKDF-Extract(0, psk)` (RFC 8446 §7.1).
    pub fn with_psk(hash: HashAlgorithm, psk: &[u8]) -> EarlySecret {
        EarlySecret(Keyed::new(hash, super::early_secret(hash, Some(psk))))
    }

    /// A full handshake: the Early Secret from a zero PSK, then the (EC)DHE shared secret into
    /// the Handshake Secret (RFC 8446 §7.1). No early data and no binders exist without a PSK,
    /// so the early stage is skipped.
    pub fn full_handshake(hash: HashAlgorithm, ecdhe_shared_secret: &[u8]) -> HandshakeSecret {
        let secret = secret_from_tag(&hmac_sign_parts(
            zero_psk_derived_key(hash),
            &[ecdhe_shared_secret],
        ));
        HandshakeSecret(Keyed::new(hash, secret))
    }
}

/// The HMAC key of `Derive-Secret(Early Secret, "derived", "")` for a zero PSK: a constant of
/// the hash (the Early Secret of every full handshake is the same), so it is derived once per
/// process rather than once per handshake.
fn zero_psk_derived_key(hash: HashAlgorithm) -> &'static hmac::Key {
    static SHA256: OnceLock<hmac::Key> = OnceLock::new();
    static SHA384: OnceLock<hmac::Key> = OnceLock::new();
    let cell = match hash {
        HashAlgorithm::Sha256 => &SHA256,
        HashAlgorithm::Sha384 => &SHA384,
    };
    cell.get_or_init(|| {
        let early = Keyed::new(hash, super::early_secret(hash, None));
        let derived = infallible(early.expand(b"derived", hash.empty_hash()));
        hmac_key(hash, derived.expose_secret())
    })
}

/// Expands the two traffic secrets of one stage from one HMAC key.
fn both_traffic_secrets(
    stage: &Keyed,
    client_label: &[u8],
    server_label: &[u8],
    transcript_hash: &[u8],
) -> Result<TrafficSecrets, CryptoError> {
    check_hash_len(stage.hash, transcript_hash)?;
    Ok(TrafficSecrets {
        client: TrafficSecret(Keyed::new(
            stage.hash,
            stage.expand(client_label, transcript_hash)?,
        )),
        server: TrafficSecret(Keyed::new(
            stage.hash,
            stage.expand(server_label, transcript_hash)?,
        )),
    })
}

/// `HKDF-Extract(Derive-Secret(secret, "derived", ""), ikm)`: the step between two stages.
fn next_stage(stage: &Keyed, ikm: &[u8]) -> Result<Keyed, CryptoError> {
    let derived = stage.expand(b"derived", stage.hash.empty_hash())?;
    let secret = hkdf_extract(stage.hash, derived.expose_secret(), ikm);
    Ok(Keyed::new(stage.hash, secret))
}

/// Hash-length zeros: the IKM where RFC 8446 §7.1 writes "0".
fn zeros(hash: HashAlgorithm) -> ([u8; MAX_INLINE_SECRET], usize) {
    ([0u8; MAX_INLINE_SECRET], hash.output_len())
}

/// Unwraps a derivation whose inputs are all fixed by this module: hash-length outputs (at
/// most 48 bytes, within a `Secret`), constant labels, empty or hash-length contexts. Such a
/// derivation has no error path in practice; reaching this arm is a bug here, not bad input.
fn infallible<T>(result: Result<T, CryptoError>) -> T {
    match result {
        Ok(value) => value,
        Err(_) => unreachable!("a fixed-input derivation failed"),
    }
}

/// The Early Secret (RFC 8446 §7.1), from a PSK.
#[derive(Debug)]
pub struct EarlySecret(Keyed);

impl EarlySecret {
    /// The secret itself (for key logs and tests).
    pub fn secret(&self) -> &Secret {
        &self.0.secret
    }

    /// The hash of this schedule.
    pub fn hash(&self) -> HashAlgorithm {
        self.0.hash
    }

    /// The binder key for a PSK of `kind` (RFC 8446 §7.1).
    pub fn binder_key(&self, kind: BinderKind) -> BinderKey {
        BinderKey {
            hash: self.0.hash,
            secret: infallible(self.0.expand(kind.label(), self.0.hash.empty_hash())),
        }
    }

    /// `client_early_traffic_secret = Derive-Secret(., "c e traffic", ClientHello)` (RFC 8446
    /// §7.1), the key of 0-RTT data.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `client_hello_hash` is not hash-length.
    pub fn client_early_traffic_secret(
        &self,
        client_hello_hash: &[u8],
    ) -> Result<TrafficSecret, CryptoError> {
        check_hash_len(self.0.hash, client_hello_hash)?;
        let secret = self.0.expand(b"c e traffic", client_hello_hash)?;
        Ok(TrafficSecret(Keyed::new(self.0.hash, secret)))
    }

    /// `early_exporter_master_secret = Derive-Secret(., "e exp master", ClientHello)` (RFC 8446
    /// §7.1).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `client_hello_hash` is not hash-length.
    pub fn early_exporter_master_secret(
        &self,
        client_hello_hash: &[u8],
    ) -> Result<Secret, CryptoError> {
        check_hash_len(self.0.hash, client_hello_hash)?;
        self.0.expand(b"e exp master", client_hello_hash)
    }

    /// `psk_dhe_ke` (RFC 8446 §4.2.9): the Handshake Secret from this Early Secret and a fresh
    /// (EC)DHE shared secret, which makes the connection's keys forward secret even though the
    /// PSK is reused.
    pub fn psk_dhe_ke(self, ecdhe_shared_secret: &[u8]) -> HandshakeSecret {
        self.into_handshake(ecdhe_shared_secret)
    }

    /// `psk_ke` (RFC 8446 §4.2.9): the Handshake Secret from the PSK alone (a zero (EC)DHE
    /// input). Whoever learns the PSK can decrypt the connection: not forward secret.
    pub fn psk_ke(self) -> HandshakeSecret {
        let (zeros, len) = zeros(self.0.hash);
        self.into_handshake(&zeros[..len])
    }

    fn into_handshake(self, ikm: &[u8]) -> HandshakeSecret {
        HandshakeSecret(infallible(next_stage(&self.0, ikm)))
    }
}

/// A binder key (RFC 8446 §7.1), and the binders it makes (§4.2.11).
#[derive(Debug)]
pub struct BinderKey {
    hash: HashAlgorithm,
    secret: Secret,
}

impl BinderKey {
    /// The secret itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The binder over `transcript_hash` (the truncated ClientHello's hash).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
    pub fn binder(&self, transcript_hash: &[u8]) -> Result<Tag, CryptoError> {
        super::psk_binder(self.hash, &self.secret, transcript_hash)
    }

    /// Checks a received binder in constant time.
    ///
    /// # Errors
    /// [`PeerMisbehaved::BadPskBinder`] when it does not match.
    pub fn verify(&self, transcript_hash: &[u8], received: &[u8]) -> Result<BinderVerified, Error> {
        super::verify_psk_binder(self.hash, &self.secret, transcript_hash, received)
    }
}

/// The Handshake Secret (RFC 8446 §7.1).
#[derive(Debug)]
pub struct HandshakeSecret(Keyed);

impl HandshakeSecret {
    /// The secret itself.
    pub fn secret(&self) -> &Secret {
        &self.0.secret
    }

    /// `{client,server}_handshake_traffic_secret = Derive-Secret(., "{c,s} hs traffic",
    /// ClientHello...ServerHello)` (RFC 8446 §7.1).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
    pub fn traffic_secrets(&self, transcript_hash: &[u8]) -> Result<TrafficSecrets, CryptoError> {
        both_traffic_secrets(&self.0, b"c hs traffic", b"s hs traffic", transcript_hash)
    }

    /// The Master Secret: `HKDF-Extract(Derive-Secret(., "derived", ""), 0)` (RFC 8446 §7.1).
    pub fn into_master_secret(self) -> MasterSecret {
        let (zeros, len) = zeros(self.0.hash);
        MasterSecret(infallible(next_stage(&self.0, &zeros[..len])))
    }
}

/// The Master Secret (RFC 8446 §7.1).
#[derive(Debug)]
pub struct MasterSecret(Keyed);

/// What the Master Secret gives at the server Finished (RFC 8446 §7.1).
#[derive(Debug)]
pub struct ApplicationSecrets {
    /// `client_application_traffic_secret_0` and `server_application_traffic_secret_0`.
    pub traffic: TrafficSecrets,
    /// `exporter_master_secret` (RFC 8446 §7.5).
    pub exporter_master_secret: Secret,
}

impl MasterSecret {
    /// The secret itself.
    pub fn secret(&self) -> &Secret {
        &self.0.secret
    }

    /// The application traffic secrets and the exporter master secret, all
    /// `Derive-Secret(., label, ClientHello...server Finished)` (RFC 8446 §7.1).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
    pub fn application_secrets(
        &self,
        transcript_hash: &[u8],
    ) -> Result<ApplicationSecrets, CryptoError> {
        let traffic =
            both_traffic_secrets(&self.0, b"c ap traffic", b"s ap traffic", transcript_hash)?;
        Ok(ApplicationSecrets {
            traffic,
            exporter_master_secret: self.0.expand(b"exp master", transcript_hash)?,
        })
    }

    /// `resumption_master_secret = Derive-Secret(., "res master", ClientHello...client
    /// Finished)` (RFC 8446 §7.1): the last thing the Master Secret is needed for, so this
    /// consumes it.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
    pub fn into_resumption_master_secret(
        self,
        transcript_hash: &[u8],
    ) -> Result<ResumptionMasterSecret, CryptoError> {
        check_hash_len(self.0.hash, transcript_hash)?;
        Ok(ResumptionMasterSecret {
            hash: self.0.hash,
            secret: self.0.expand(b"res master", transcript_hash)?,
        })
    }
}

/// The resumption master secret (RFC 8446 §7.1), from which each ticket's PSK comes.
#[derive(Debug)]
pub struct ResumptionMasterSecret {
    hash: HashAlgorithm,
    secret: Secret,
}

impl ResumptionMasterSecret {
    /// The secret itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The PSK of the ticket with `ticket_nonce` (RFC 8446 §4.6.1). Each ticket of a
    /// connection has its own nonce, hence its own PSK.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `ticket_nonce` is over 255 bytes.
    pub fn resumption_psk(&self, ticket_nonce: &[u8]) -> Result<Secret, CryptoError> {
        super::resumption_psk(self.hash, &self.secret, ticket_nonce)
    }
}

/// The client's and the server's traffic secret of one stage.
#[derive(Debug)]
pub struct TrafficSecrets {
    /// What the client writes with.
    pub client: TrafficSecret,
    /// What the server writes with.
    pub server: TrafficSecret,
}

impl TrafficSecrets {
    /// The secret `side` writes with.
    pub fn for_side(&self, side: Side) -> &TrafficSecret {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

/// A traffic secret (RFC 8446 §7.1): early, handshake or application, of one direction.
#[derive(Debug)]
pub struct TrafficSecret(Keyed);

impl TrafficSecret {
    /// The secret itself (for key logs and tests).
    pub fn secret(&self) -> &Secret {
        &self.0.secret
    }

    /// The write key and IV for `aead` (RFC 8446 §7.3): `HKDF-Expand-Label(secret, "key", "",
    /// key_length)` and `HKDF-Expand-Label(secret, "iv", "", 12)`.
    pub fn traffic_keys(&self, aead: AeadAlgorithm) -> TrafficKeys {
        let mut keys = TrafficKeys {
            aead,
            // `key_len` is at most 32, within a `Secret`.
            key: Secret::zeroed(aead.key_len()).unwrap_or_else(|_| unreachable!()),
            iv: SecretArray::zeroed(),
        };
        // Labels and lengths are fixed and valid, so these expansions cannot fail.
        let _ = expand_label(&self.0.key, b"key", &[], keys.key.expose_secret_mut());
        let _ = expand_label(&self.0.key, b"iv", &[], keys.iv.expose_secret_mut());
        keys
    }

    /// Finished verify_data (RFC 8446 §4.4.4): `HMAC(finished_key, transcript_hash)` with
    /// `finished_key = HKDF-Expand-Label(secret, "finished", "", Hash.length)`. The server's
    /// Finished uses its handshake traffic secret over ClientHello...CertificateVerify; the
    /// client's uses its own over ClientHello...server Finished.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `transcript_hash` is not hash-length.
    pub fn finished_verify_data(&self, transcript_hash: &[u8]) -> Result<Tag, CryptoError> {
        finished_mac(self.0.hash, &self.0.key, transcript_hash)
    }

    /// Checks a received Finished in constant time (RFC 8446 §4.4.4).
    ///
    /// # Errors
    /// [`PeerMisbehaved::BadFinished`] (alert `decrypt_error`) when it does not match.
    pub fn verify_finished(
        &self,
        transcript_hash: &[u8],
        received: &[u8],
    ) -> Result<FinishedVerified, Error> {
        let expected = self.finished_verify_data(transcript_hash)?;
        if ct_eq_tag(&expected, received) {
            Ok(FinishedVerified(()))
        } else {
            Err(PeerMisbehaved::BadFinished.into())
        }
    }

    /// The next generation after a KeyUpdate (RFC 8446 §7.2):
    /// `HKDF-Expand-Label(secret, "traffic upd", "", Hash.length)`. Consumes this one: the
    /// RFC asks that the old secret be deleted.
    pub fn into_next_generation(self) -> TrafficSecret {
        let secret = infallible(self.0.expand(b"traffic upd", &[]));
        TrafficSecret(Keyed::new(self.0.hash, secret))
    }
}

/// Proof that a peer's TLS 1.3 Finished verified. Only [`TrafficSecret::verify_finished`]
/// makes one.
#[derive(Debug)]
pub struct FinishedVerified(());

/// A write key and IV (RFC 8446 §7.3).
#[derive(Debug)]
pub struct TrafficKeys {
    aead: AeadAlgorithm,
    /// The write key.
    pub key: Secret,
    /// The write IV.
    pub iv: SecretArray<NONCE_LEN>,
}

impl TrafficKeys {
    /// The AEAD these keys are for.
    pub fn aead(&self) -> AeadAlgorithm {
        self.aead
    }

    /// The key, ready to seal and open records.
    ///
    /// # Errors
    /// Only if the AEAD rejects the key, which a key of the right length never is.
    pub fn aead_key(&self) -> Result<AeadKey, CryptoError> {
        AeadKey::new(self.aead, self.key.expose_secret())
    }

    /// The nonce of record `sequence_number` (RFC 8446 §5.3).
    pub fn nonce(&self, sequence_number: u64) -> [u8; NONCE_LEN] {
        xor_nonce(self.iv.expose_secret(), sequence_number)
    }
}

//! Ephemeral (EC)DH key exchange over the groups TLS 1.2 ECDHE and TLS 1.3 use: X25519,
//! secp256r1 and secp384r1.
//!
//! Every key share is used once: [`KeyShare::agree`] consumes it, so a private key can never
//! serve two handshakes. Peer public keys are validated by ring (points on the curve, in the
//! uncompressed form TLS requires for the NIST curves, RFC 8446 §4.2.8.2); an X25519 exchange
//! that yields the all-zero secret is refused (RFC 7748 §6.1, RFC 8446 §7.4.2).

use core::fmt;

use ring::agreement;
use ring::rand::SecureRandom;

use super::secret::Secret;
use super::CryptoError;

/// A key-exchange group, by its TLS name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KxGroup {
    /// X25519 (RFC 7748); code point 0x001d.
    X25519,
    /// NIST P-256; code point 0x0017.
    Secp256r1,
    /// NIST P-384; code point 0x0018.
    Secp384r1,
}

impl KxGroup {
    /// Every group, in this crate's order of preference.
    pub const ALL: [Self; 3] = [Self::X25519, Self::Secp256r1, Self::Secp384r1];

    /// The NamedGroup code point (RFC 8446 §4.2.7).
    pub const fn code_point(self) -> u16 {
        match self {
            Self::X25519 => 0x001d,
            Self::Secp256r1 => 0x0017,
            Self::Secp384r1 => 0x0018,
        }
    }

    /// The group with this code point, if supported.
    pub fn from_code_point(code_point: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.code_point() == code_point)
    }

    /// Length of a public key share in bytes (uncompressed points for the NIST curves).
    pub const fn public_key_len(self) -> usize {
        match self {
            Self::X25519 => 32,
            Self::Secp256r1 => 65,
            Self::Secp384r1 => 97,
        }
    }

    fn ring(self) -> &'static agreement::Algorithm {
        match self {
            Self::X25519 => &agreement::X25519,
            Self::Secp256r1 => &agreement::ECDH_P256,
            Self::Secp384r1 => &agreement::ECDH_P384,
        }
    }
}

/// One side's ephemeral key pair for one exchange.
pub struct KeyShare {
    group: KxGroup,
    private: agreement::EphemeralPrivateKey,
    public: agreement::PublicKey,
}

impl KeyShare {
    /// A fresh key pair drawn from `rng`.
    ///
    /// # Errors
    /// [`CryptoError::Random`] when the generator fails.
    pub fn generate(group: KxGroup, rng: &dyn SecureRandom) -> Result<Self, CryptoError> {
        let private = agreement::EphemeralPrivateKey::generate(group.ring(), rng)
            .map_err(|_| CryptoError::Random)?;
        let public = private.compute_public_key()?;
        Ok(Self {
            group,
            private,
            public,
        })
    }

    /// The group.
    pub fn group(&self) -> KxGroup {
        self.group
    }

    /// The public key share to send to the peer.
    pub fn public_key(&self) -> &[u8] {
        self.public.as_ref()
    }

    /// Combines this private key with the peer's public share, consuming the key pair.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] when `peer_public` has the wrong length for the group;
    /// [`CryptoError::Unspecified`] when it is not a valid point or the result is all zeros.
    pub fn agree(self, peer_public: &[u8]) -> Result<Secret, CryptoError> {
        if peer_public.len() != self.group.public_key_len() {
            return Err(CryptoError::InvalidLength {
                expected: self.group.public_key_len(),
                got: peer_public.len(),
            });
        }
        let peer = agreement::UnparsedPublicKey::new(self.group.ring(), peer_public);
        agreement::agree_ephemeral(self.private, &peer, Secret::from_slice)
            .map_err(|_| CryptoError::Unspecified)?
    }
}

impl fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn both_sides_agree_in_every_group() {
        let rng = SystemRandom::new();
        for group in KxGroup::ALL {
            let a = KeyShare::generate(group, &rng).unwrap();
            let b = KeyShare::generate(group, &rng).unwrap();
            assert_eq!(a.public_key().len(), group.public_key_len());
            let (pa, pb) = (a.public_key().to_vec(), b.public_key().to_vec());
            let sa = a.agree(&pb).unwrap();
            let sb = b.agree(&pa).unwrap();
            assert!(sa.ct_eq(&sb));
            assert_eq!(KxGroup::from_code_point(group.code_point()), Some(group));
        }
    }

    #[test]
    fn invalid_peer_shares_are_refused() {
        let rng = SystemRandom::new();
        // The all-zero X25519 point has small order: the shared secret would be zero.
        let a = KeyShare::generate(KxGroup::X25519, &rng).unwrap();
        assert_eq!(a.agree(&[0u8; 32]).unwrap_err(), CryptoError::Unspecified);
        // Not a point on P-256.
        let mut bogus = [0u8; 65];
        bogus[0] = 4;
        let b = KeyShare::generate(KxGroup::Secp256r1, &rng).unwrap();
        assert_eq!(b.agree(&bogus).unwrap_err(), CryptoError::Unspecified);
        let c = KeyShare::generate(KxGroup::Secp384r1, &rng).unwrap();
        assert!(matches!(
            c.agree(&[4u8; 65]),
            Err(CryptoError::InvalidLength {
                expected: 97,
                got: 65
            })
        ));
    }
}

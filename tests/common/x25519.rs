//! X25519 from a known private key, for the RFC 8448 trace. ring draws ephemeral keys from a
//! `SecureRandom`; its test generator that returns fixed bytes hands it the trace's key.

#![allow(deprecated)] // ring keeps its fixed-bytes generator under a deprecated name.

use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::test::rand::FixedSliceRandom;

fn private_key(scalar: &[u8; 32]) -> EphemeralPrivateKey {
    EphemeralPrivateKey::generate(&agreement::X25519, &FixedSliceRandom { bytes: scalar })
        .expect("fixed scalar")
}

/// The X25519 public key of `scalar`.
pub fn public_key(scalar: &[u8; 32]) -> [u8; 32] {
    let public = private_key(scalar)
        .compute_public_key()
        .expect("public key");
    public.as_ref().try_into().expect("32 bytes")
}

/// X25519(`scalar`, `u`): the shared secret with the peer's public key `u`.
pub fn x25519(scalar: &[u8; 32], u: &[u8; 32]) -> [u8; 32] {
    agreement::agree_ephemeral(
        private_key(scalar),
        &UnparsedPublicKey::new(&agreement::X25519, u),
        |s| <[u8; 32]>::try_from(s).expect("32 bytes"),
    )
    .expect("valid public key")
}

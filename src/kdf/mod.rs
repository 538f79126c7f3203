//! Key derivation for TLS 1.2 ([`tls12`]) and TLS 1.3 ([`tls13`]), public so that every secret
//! a resumed connection uses can be recomputed and checked by hand.

pub mod tls12;
pub mod tls13;

pub use crate::crypto::HashAlgorithm;
pub use crate::Side;

//! Key derivation for TLS 1.2 ([`tls12`]) and TLS 1.3 ([`tls13`]), public so that every secret
//! a resumed connection uses can be recomputed and checked by hand.
//!
//! A resumed TLS 1.3 connection (RFC 8446 §2.2, `psk_dhe_ke`) from the server's side:
//!
//! ```
//! use tls_resumption::kdf::tls13::{BinderKind, CipherSuite, KeySchedule};
//!
//! # fn main() -> Result<(), tls_resumption::Error> {
//! let suite = CipherSuite::Aes128GcmSha256;
//! # let psk = [7u8; 32]; let ecdhe_shared_secret = [9u8; 32];
//! # let truncated_client_hello_hash = [1u8; 32]; let client_hello_to_server_hello = [2u8; 32];
//! # let through_server_finished = [3u8; 32]; let through_client_finished = [4u8; 32];
//! # let received_binder = KeySchedule::with_psk(suite.hash(), &psk)
//! #     .binder_key(BinderKind::Resumption).binder(&truncated_client_hello_hash)?;
//! // The PSK comes from the ticket the client presented.
//! let early = KeySchedule::with_psk(suite.hash(), &psk);
//! let _proof = early
//!     .binder_key(BinderKind::Resumption)
//!     .verify(&truncated_client_hello_hash, received_binder.as_ref())?;
//!
//! // A fresh (EC)DHE shared secret enters here; the early stage is consumed.
//! let handshake = early.psk_dhe_ke(&ecdhe_shared_secret);
//! let handshake_traffic = handshake.traffic_secrets(&client_hello_to_server_hello)?;
//! let server_write = handshake_traffic.server.traffic_keys(suite.aead());
//! let _record_key = server_write.aead_key()?;
//!
//! let master = handshake.into_master_secret();
//! let application = master.application_secrets(&through_server_finished)?;
//! let resumption = master.into_resumption_master_secret(&through_client_finished)?;
//! let next_ticket_psk = resumption.resumption_psk(&[0, 1])?;
//! # let _ = (application, next_ticket_psk);
//! # Ok(())
//! # }
//! ```

pub mod tls12;
pub mod tls13;

pub use crate::crypto::HashAlgorithm;

/// Which end of a connection: the one that sent the ClientHello, or the one that answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that sends the ClientHello.
    Client,
    /// The side that answers it.
    Server,
}

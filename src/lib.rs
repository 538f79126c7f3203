//! # tls-resumption
//!
//! TLS session resumption for TLS 1.2 and TLS 1.3, built in layers:
//!
//! - [`kdf`]: every key derivation resumption depends on — the TLS 1.2 PRF, master secret,
//!   extended master secret (RFC 7627), key block and Finished; the TLS 1.3 key schedule,
//!   PSK binders and resumption PSKs (RFC 8446 §7). All public, all checked against published
//!   traces (RFC 8448) and against OpenSSL.
//! - [`crypto`]: the secret newtypes (zeroized on drop, constant-time equality, opaque `Debug`)
//!   and the AEAD wrapper used for records and tickets.
//! - [`session`], [`store`], [`ticket`], [`antireplay`], [`time`]: session state, server
//!   session-ID caches, client session stores, STEK ticket sealing with rotation, 0-RTT
//!   anti-replay, and an injected clock.
//!
//! ## Does resumption reuse the encryption keys?
//!
//! No. TLS 1.2 resumption reuses the *master secret*, but every connection's traffic keys come
//! from the PRF over that connection's fresh client and server randoms
//! ([`kdf::tls12::key_block`]). TLS 1.3 resumption with `psk_dhe_ke` feeds a fresh (EC)DHE
//! shared secret into the key schedule, so not even the resumption secret alone determines the
//! keys. The long-lived key that *can* undo forward secrecy is the session-ticket encryption key
//! (STEK): whoever holds it can open recorded tickets and recover their secrets. That is why the
//! ticket layer rotates keys and reports their exposure.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod antireplay;
mod client;
pub(crate) mod codec;
pub mod config;
pub(crate) mod conn;
pub mod crypto;
pub mod error;
pub mod kdf;
pub mod keylog;
pub(crate) mod msgs;
pub(crate) mod record;
#[cfg(feature = "rustls")]
pub mod rustls_adapter;
mod server;
pub mod session;
pub mod store;
pub mod ticket;
pub mod time;
pub mod verify;

#[doc(hidden)]
pub mod fuzzing;

pub use alert::AlertDescription;
pub use client::ClientConnection;
pub use config::{ClientConfig, ServerConfig, TicketMode, TlsVersion};
pub use conn::{EarlyDataStatus, HandshakeKind, ResumptionMechanism, Tls12CipherSuite};
pub use error::Error;
pub use server::ServerConnection;

/// Which end of a connection: the one that sent the ClientHello, or the one that answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that sends the ClientHello.
    Client,
    /// The side that answers it.
    Server,
}

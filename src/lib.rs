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
//! [`architecture`] is the map: the layers and which may import which, a resumed handshake
//! of each version followed through the source, and where a new extension, suite, store
//! backend or fuzz target goes.
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
//!
//! ## Handshakes
//!
//! [`ClientConnection`] and [`ServerConnection`] speak TLS 1.3 (RFC 8446) and TLS 1.2
//! (RFC 5246), preferring TLS 1.3 when both sides have it, sans-IO: bytes in with `read_tls`,
//! `process(now)`, bytes out with `write_tls`. Full handshakes with X25519/P-256/P-384 and
//! ECDSA, Ed25519 or RSA-PSS certificates. TLS 1.3 resumption with `psk_dhe_ke` (or opt-in
//! `psk_ke`) from stateless or stateful tickets, and 0-RTT behind a replay guard. TLS 1.2 with
//! ECDHE and AEAD suites only, the extended master secret (RFC 7627) required by default, and
//! resumption by session ID or RFC 5077 ticket; renegotiation is refused.
//! The client's trust check is an exact match of the server's certificate against the
//! configured ones ([`verify::PinnedCertificates`]), or any [`verify::ServerCertVerifier`].
//!
//! A full handshake, then a resumed one, in memory — and the proof that the resumed
//! connection has keys of its own, from the key log:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use rustls_pki_types::pem::PemObject;
//! use rustls_pki_types::{CertificateDer, PrivateKeyDer};
//! use tls_resumption::keylog::KeyLog;
//! use tls_resumption::time::Timestamp;
//! use tls_resumption::verify::PinnedCertificates;
//! use tls_resumption::*;
//!
//! /// Keeps the client's application traffic secrets (a debugging aid: never in production).
//! #[derive(Debug, Default)]
//! struct TrafficSecrets(Mutex<Vec<Vec<u8>>>);
//! impl KeyLog for TrafficSecrets {
//!     fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
//!         if label == "CLIENT_TRAFFIC_SECRET_0" {
//!             self.0.lock().unwrap().push(secret.to_vec());
//!         }
//!     }
//! }
//!
//! let cert = CertificateDer::from_pem_slice(include_bytes!("../tests/data/pki/server.pem")).unwrap();
//! let key = PrivateKeyDer::from_pem_slice(include_bytes!("../tests/data/pki/server.key")).unwrap();
//! let server_config = Arc::new(ServerConfig::new(vec![cert.clone()], &key).unwrap());
//! let secrets = Arc::new(TrafficSecrets::default());
//! let client_config = Arc::new(
//!     ClientConfig::new(Arc::new(PinnedCertificates::new([cert]))).with_key_log(secrets.clone()),
//! );
//! let now = Timestamp::from_secs(1_700_000_000);
//!
//! let mut kinds = Vec::new();
//! for _ in 0..2 {
//!     let mut client = ClientConnection::new(client_config.clone(), "localhost", now).unwrap();
//!     let mut server = ServerConnection::new(server_config.clone());
//!     // Move bytes until both sides are quiet (tickets arrive after the handshake).
//!     loop {
//!         let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
//!         client.write_tls(&mut to_server);
//!         server.read_tls(&to_server);
//!         server.process(now).unwrap();
//!         server.write_tls(&mut to_client);
//!         client.read_tls(&to_client);
//!         client.process(now).unwrap();
//!         if to_server.is_empty() && to_client.is_empty() {
//!             break;
//!         }
//!     }
//!     kinds.push(server.handshake_kind().unwrap());
//! }
//! assert_eq!(kinds[0], HandshakeKind::Full);
//! assert_eq!(
//!     kinds[1],
//!     HandshakeKind::Resumed {
//!         mechanism: ResumptionMechanism::Tls13Psk { dhe: true },
//!         early_data: EarlyDataStatus::NotOffered,
//!     }
//! );
//! // Resumed, yet with traffic secrets of its own.
//! let secrets = secrets.0.lock().unwrap();
//! assert_eq!(secrets.len(), 2);
//! assert_ne!(secrets[0], secrets[1]);
//! ```
//!
//! ## Seeing it, measuring it
//!
//! `cargo run --release --example resume_demo` runs every resumption mode in memory and prints
//! a row per connection: which secret is reused (fingerprinted) and that each connection's
//! keys are new, then the ticket keys the server holds and how long they expose recorded
//! sessions. `cargo bench --bench handshake` times whole handshakes, ours against rustls's, and
//! prints where criterion's HTML report is.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod alert;
pub mod antireplay;
pub mod architecture;
mod client;
pub(crate) mod codec;
pub mod config;
pub(crate) mod conn;
pub mod crypto;
pub mod error;
#[cfg(feature = "redis")]
pub mod fleet;
pub mod kdf;
pub mod keylog;
pub(crate) mod msgs;
#[cfg(doctest)]
mod readme;
pub(crate) mod record;
#[cfg(feature = "rustls")]
pub mod rustls_adapter;
mod server;
pub mod session;
pub mod store;
pub mod suites;
pub mod ticket;
pub mod time;
pub mod verify;

#[doc(hidden)]
pub mod fuzzing;

pub use alert::AlertDescription;
pub use client::{ClientConnection, ConnectOptions};
pub use config::{ClientConfig, ServerConfig, TicketMode, TlsVersion, VirtualHost};
pub use conn::{EarlyDataStatus, HandshakeKind, ResumptionMechanism};
pub use error::Error;
pub use kdf::Side;
pub use server::{LookupError, PendingStore, ServerConnection};
// Public API re-export (users write `tls_resumption::Tls12CipherSuite` for
// `with_tls12_suites`); the crate itself imports `crate::suites`.
pub use suites::Tls12CipherSuite;

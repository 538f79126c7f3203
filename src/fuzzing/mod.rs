//! Entry points shared by the fuzz targets in `fuzz/` and by `tests/fuzz_corpus.rs`, which
//! replays every committed seed (`fuzz/seeds/`) through them so the seeds are checked without a
//! nightly toolchain. Not part of the public API: each function takes arbitrary bytes and must
//! never panic, allocate without bound or loop without bound, whatever they are.

mod conn;
mod state;
mod wire;

pub use conn::{
    client_connection, client_connection_tls12, server_connection, server_connection_tls12,
};
pub use state::{session_state, ticket_open};
pub use wire::{client_hello, deframer, handshake_message, record_open};

/// A fuzz entry point: takes any bytes, never panics.
pub type Target = fn(&[u8]);

/// Every target by name, for the seed replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("deframer", deframer),
    ("handshake_message", handshake_message),
    ("client_hello", client_hello),
    ("record_open", record_open),
    ("ticket_open", ticket_open),
    ("session_state", session_state),
    ("server_connection", server_connection),
    ("client_connection", client_connection),
    ("server_connection_tls12", server_connection_tls12),
    ("client_connection_tls12", client_connection_tls12),
];

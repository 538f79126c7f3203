//! Typed handshake messages and extensions for TLS 1.2 and 1.3.

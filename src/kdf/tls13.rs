//! TLS 1.3 key derivation (RFC 8446 §7).
